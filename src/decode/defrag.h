// IP fragment reassembly, IPv4 and IPv6 alike, with bounded memory.
//
// Slots and their buffers are pooled: a buffer grows once and is reused by later datagrams,
// so steady-state reassembly allocates nothing. Total buffer memory stays under `memcap`;
// over it the oldest datagrams are evicted (counted). Overlapping fragments keep the bytes
// that arrived first (first-wins); differing overlap bytes are reported as an inconsistency.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/addr.h"
#include "core/time.h"

namespace komainu {

struct FragLimits {
  size_t memcap = 32u << 20;
  uint32_t max_datagram = 65535;  // reassembled payload bytes (after the IP header)
  uint32_t max_datagrams = 4096;
  uint16_t max_pieces = 128;
  TimeNs timeout = 60 * kNsPerSec;
};

struct FragKey {
  IpAddr src, dst;
  uint32_t id = 0;
  uint8_t proto = 0;  // IPv4 only: part of the RFC 791 key
  uint8_t version = 4;
  uint16_t vlan = 0;
  uint8_t depth = 0;  // tunnel depth: inner and outer datagrams never mix

  friend bool operator==(const FragKey&, const FragKey&) = default;
};

// Anomalies the table reports; the decoder maps them to its weird names.
enum class FragEvent : uint8_t {
  kOverlap,
  kInconsistent,
  kTooLarge,
  kTooManyPieces,
  kSizeInconsistent,
  kMemcap,
};

class FragmentTable {
 public:
  enum class Status : uint8_t { kHeld, kComplete, kDropped };
  // A completed datagram: header (patched to describe the whole) followed by the payload.
  struct Datagram {
    const uint8_t* data = nullptr;
    uint32_t len = 0;
    int slot = -1;  // hand back with release() once the datagram is no longer used
  };
  using Reporter = void (*)(void* ctx, FragEvent e);

  explicit FragmentTable(const FragLimits& limits);

  // Adds one fragment. `hdr`/`hdr_len` is the IP header to rebuild the datagram with (only
  // taken from the fragment at offset 0); `offset` and `len` are in payload bytes.
  Status add(const FragKey& key, TimeNs ts, const uint8_t* hdr, uint32_t hdr_len, uint32_t offset,
             bool more, const uint8_t* data, uint32_t len, Datagram& out, Reporter report,
             void* ctx);
  void release(int slot);
  // Drops datagrams whose first fragment is older than the timeout; returns how many.
  uint64_t expire(TimeNs now);

  size_t memory() const { return memory_; }
  size_t in_progress() const { return used_; }
  uint64_t evicted() const { return evicted_; }
  uint64_t timed_out() const { return timed_out_; }

 private:
  static constexpr uint32_t kHeadroom = 64;  // room for the rebuilt header before the payload
  struct Range {
    uint32_t begin, end;
  };
  struct Slot {
    FragKey key;
    TimeNs first_ts = 0;
    bool used = false;
    bool pending = false;  // complete and handed out, waiting for release()
    bool have_last = false;
    uint32_t total = 0;  // payload length, known once the last fragment arrived
    uint8_t hdr[kHeadroom];
    uint32_t hdr_len = 0;
    std::vector<uint8_t> buf;
    std::vector<Range> ranges;
    int32_t hnext = -1;
    int32_t older = -1, newer = -1;
  };

  int find(const FragKey& k, size_t bucket) const;
  int allocate(const FragKey& k, size_t bucket, TimeNs ts);
  void free_slot(int i, bool drop_buffer);
  bool reserve(Slot& s, uint32_t bytes, int self);
  size_t bucket_of(const FragKey& k) const;

  FragLimits lim_;
  std::vector<Slot> slots_;
  std::vector<int32_t> buckets_;
  std::vector<int32_t> free_;
  int32_t oldest_ = -1, newest_ = -1;
  size_t used_ = 0;
  size_t memory_ = 0;
  uint64_t evicted_ = 0, timed_out_ = 0;
};

}  // namespace komainu
