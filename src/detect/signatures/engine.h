// The matching engine. Built once from a RuleSet (immutable afterwards, shared by all
// workers); each worker owns a Scratch and calls inspect() per packet or transaction.
//
//   candidates = Hyperscan prefilter over each buffer present (one database per rule group
//                and buffer, holding each rule's fast_pattern) + rules without a pattern
//   alerts     = candidates whose header, flow, buffer and state checks all pass, in
//                Suricata's order (pass first, flowbit setters before readers, priority)
#pragma once
#include <hs/hs.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/event.h"
#include "detect/signatures/inspect.h"
#include "detect/signatures/ruleset.h"

namespace komainu::sig {

struct FlowVars {
  std::vector<uint64_t> bits;
  std::vector<int64_t> ints;
  std::vector<uint8_t> int_set;
  bool isset(uint32_t b) const { return b / 64 < bits.size() && (bits[b / 64] >> (b % 64)) & 1; }
  void set(uint32_t b) { bits[b / 64] |= uint64_t(1) << (b % 64); }
  void unset(uint32_t b) { bits[b / 64] &= ~(uint64_t(1) << (b % 64)); }
};

// The stream prefilter's memory of one flow direction. A chunk is inspected as lookback +
// new bytes; scanning the lookback again for the rules' fast patterns would cost ~35% more
// bytes per segment. Instead each chunk scans its new bytes (and the few bytes before them a
// pattern can start in) and remembers which rules' fast patterns it found; a later chunk
// re-checks only those rules' patterns against its lookback (memmem over <= 512 bytes), so
// the candidates are exactly those of a scan of the whole window. Bounded: over kMax hits
// the memory is dropped and the next chunk scans its whole window (counted).
struct StreamHits {
  static constexpr size_t kMax = 128;
  uint32_t pos = 0;     // new stream bytes inspected so far (wraps; compared as differences)
  bool rescan = false;  // memory dropped: scan the next window whole
  struct Hit {
    uint32_t sig;
    uint32_t end;        // `pos` after the chunk in which the rule's fast pattern was found
    uint32_t match_end;  // where the occurrence Hyperscan reported ends (same scale)
  };
  std::vector<Hit> hits;
};

class Scratch;

struct EngineStats {
  size_t signatures = 0;
  size_t prefiltered = 0;   // rules with a fast pattern in some group
  size_t always = 0;        // rules inspected for every packet of their group
  size_t addr_indexed = 0;  // rules without a pattern found through the address index
  size_t databases = 0;
  size_t patterns = 0;
  size_t database_bytes = 0;
  size_t databases_cached = 0;  // read from the Hyperscan cache instead of compiled
  size_t cache_errors = 0;      // cache files unreadable/unwritable (compiled instead)
  double compile_seconds = 0;
};

struct BuildOptions {
  // Directory of compiled Hyperscan databases, keyed by a SHA-256 of everything that goes
  // into a compile (Hyperscan version, mode, patterns, flags, ids): a restart with the same
  // rules deserializes instead of compiling (Suricata 8's sgh-mpm-caching). Empty: off.
  std::string hs_cache_dir;
};

struct ScratchCounters {
  uint64_t inspected = 0, candidates = 0, alerts = 0, suppressed_by_threshold = 0, pcre_limit = 0,
           recursion_limit = 0, threshold_evictions = 0, xbit_evictions = 0,
           stream_rescans = 0;  // StreamHits over its bound: a window scanned whole
};

class Engine {
 public:
  // Compiles the prefilter databases. False with `err` when Hyperscan rejects them.
  static std::unique_ptr<Engine> build(RuleSet rules, std::string& err,
                                       const BuildOptions& opt = {});
  ~Engine();

  std::unique_ptr<Scratch> new_scratch() const;
  std::unique_ptr<FlowVars> new_flow_vars() const;

  // Runs every rule that can apply to this packet; returns the ones that alert (valid until
  // the next call with the same scratch). Pass and noalert rules never appear here.
  std::span<const Signature* const> inspect(const InspectContext& ctx, Scratch& s) const;

  const std::vector<Signature>& signatures() const { return sigs_; }
  const RuleSet& rules() const { return rules_; }
  const EngineStats& stats() const { return stats_; }

  struct Variant {
    uint16_t buffer;
    std::vector<Transform> transforms;
  };
  struct PrefilterDb {
    uint16_t variant;
    hs_database_t* db = nullptr;
    std::vector<std::vector<uint32_t>> sigs_of_pattern;  // pattern id -> signature indexes
    // Packet payload sizes for which some rule here can pass its dsize checks; outside
    // them (or on a stream chunk, which has no dsize) the database is not scanned.
    int64_t dsize_lo = 0, dsize_hi = INT64_MAX;
    bool dsize_bounded() const { return dsize_lo > 0 || dsize_hi < INT64_MAX; }
    size_t max_pattern = 0;  // longest pattern: how far before new stream bytes one can start
  };
  // Rules without a fast pattern whose address side is narrow (IP reputation lists):
  // found by a stabbing query with the packet's addresses instead of checked every time.
  struct AddrIndexEntry {
    IpRanges::U128 lo, hi;
    uint32_t sig;
  };
  struct Group {
    std::vector<PrefilterDb> dbs;
    std::vector<uint32_t> always;               // rules without a usable fast pattern
    std::vector<AddrIndexEntry> by_addr;        // sorted by lo
    std::vector<IpRanges::U128> by_addr_maxhi;  // prefix max of hi
  };

 private:
  Engine() = default;
  bool evaluate(const Signature& s, const InspectContext& ctx, Scratch& sc) const;
  bool header_match(const Signature& s, const InspectContext& c, Scratch& sc) const;
  // Whether the packet's source (dst = false) or destination address is in address set `id`,
  // looked up once per inspection and set: most rules share $HOME_NET / $EXTERNAL_NET.
  bool in_set(uint32_t id, bool dst, Scratch& sc) const;
  // Stream chunk: adds the remembered rules whose fast pattern lies wholly in the first
  // `lookback` bytes (not scanned now) to the candidates, then remembers this chunk's raw
  // payload hits (candidates from hits_begin on).
  void remember_stream_hits(const InspectContext& c, StreamHits& h, size_t hits_begin,
                            size_t lookback, Scratch& sc) const;
  // Whether rule `sig`'s fast pattern occurs in data[0, len).
  bool fast_pattern_in(uint32_t sig, const uint8_t* data, size_t len) const;

  static constexpr uint32_t kAnySet = UINT32_MAX;
  static constexpr int kPacketLayer = 0, kAppLayer = 1, kStreamLayer = 2, kLayers = 3;
  static constexpr int kTcp = 0;  // transport index of TCP (transport_of)
  // Per signature (same index as sigs_), derived once at build.
  struct SigMeta {
    uint32_t src_set = kAnySet, dst_set = kAnySet;  // ids into addr_sets_
    bool stream_rule = false;  // inspected on the reassembled stream (see evaluate)
    uint32_t fp_len = 0;       // length of the fast pattern as prefiltered (chopped)
  };
  std::vector<SigMeta> meta_;
  std::vector<const IpRanges*> addr_sets_;  // distinct compiled address sets

  RuleSet rules_;
  std::vector<Signature>& sigs_ = rules_.sigs;
  std::vector<Variant> variants_;
  std::vector<uint16_t> transformed_variants_;  // the variants with a transform chain
  // [layer][transport][direction]: layer packet (rules on the payload and headers only),
  // app (rules with an app-layer buffer) or stream (TCP payload rules that run on the
  // reassembled stream); transport tcp, udp, icmp, other; direction to_server, to_client.
  Group groups_[kLayers][4][2];
  EngineStats stats_;
  size_t max_captures_ = 1;
};

class Scratch {
 public:
  ~Scratch();
  const ScratchCounters& counters() const { return counters_; }

 private:
  friend class Engine;
  friend struct Evaluator;
  hs_scratch_t* hs = nullptr;
  std::vector<uint32_t> mark;
  uint32_t stamp = 0;
  std::vector<uint32_t> candidates;
  std::vector<uint32_t> hit_ends;  // stream chunk: where each remembered candidate's match ends
  std::vector<const Signature*> alerts;
  // Address-set results for the last two addresses seen: [set * 2 + slot], valid when
  // addr_stamp equals the slot's epoch. A flow's packets (both directions) and their stream
  // chunks share one address pair, so most inspections look no set up again.
  std::vector<uint32_t> addr_stamp;
  std::vector<uint8_t> addr_val;
  IpAddr addr[2];
  IpRanges::U128 addr_key[2] = {0, 0};
  uint32_t addr_epoch[2] = {1, 2};  // changes when a slot takes another address
  uint32_t addr_epoch_next = 3;
  uint8_t addr_slot[2] = {0, 1};         // this inspection's slots: [0] source, [1] destination
  std::vector<std::string> transformed;  // per variant
  std::vector<uint32_t> transformed_stamp;
  std::vector<bool> transformed_present;
  std::string b64;
  pcre2_match_data* md = nullptr;
  pcre2_match_context* mctx = nullptr;
  pcre2_jit_stack* jit_stack = nullptr;
  int64_t vars[16] = {};
  struct ThresholdEntry {
    TimeNs first = 0;
    uint64_t count = 0;
    uint64_t next = 0;  // backoff: the count that alerts next
  };
  std::unordered_map<std::string, ThresholdEntry> thresholds;
  std::unordered_map<std::string, TimeNs> xbits;  // key -> expiry (data time)
  std::string threshold_key;
  ScratchCounters counters_;
};

// Builds the EVE alert fields of a signature (action, gid, sid, rev, msg, category,
// severity, metadata) as Suricata renders them.
AlertInfo alert_info(const Signature& s);

// Fills an EVE alert record for a signature that fired on this packet or transaction: the
// alert fields, the data time, the flow (may be null: then src_ip/dest_ip come from the
// packet) and the direction. (alert.source/alert.target of the `target` keyword need a
// place in core's AlertInfo first; not rendered yet.)
void fill_alert_record(const Signature& s, const InspectContext& c, const FlowContext* flow,
                       AlertRecord& out);

}  // namespace komainu::sig
