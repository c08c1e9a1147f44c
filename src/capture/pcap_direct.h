// Classic pcap records read straight from the file: a megabyte per pread(2), each record
// handed out in place. libpcap reads a record with two freads through stdio and copies it
// into its own buffer, which cost about a fifth of a whole run on the benchmark capture.
//
// The reader only takes the common case and gives back everything else: FileSource lets
// libpcap open and validate the file, uses this reader when the file is a regular classic
// pcap file in host byte order, version 2.4, and hands the stream back to libpcap at the
// first record it does not take (truncated, larger than the snapshot length, read error), so
// libpcap's behaviour and messages for damaged files stay exactly as they were.
#pragma once
#include <pcap/pcap.h>

#include <cstdint>
#include <memory>

namespace komainu {

class DirectPcapReader {
 public:
  enum class Status { kRecord, kEnd, kHandOff };

  // Largest record taken: libpcap refuses or cuts anything larger than the file's snapshot
  // length or 262144 bytes (its smallest per-link-type maximum).
  static constexpr uint32_t kMaxCaplen = 262144;
  static constexpr size_t kBufferSize = 1 << 20;  // holds the largest record and its header
  // Bytes asked of each read: small enough that the records are still in L2 cache when the
  // decoder gets to them (the buffer's front is reused, so the kernel copies into warm lines).
  static constexpr size_t kReadChunk = 128 << 10;

  // Whether the 24-byte file header describes a file this reader can take; sets `nano`.
  static bool eligible(const uint8_t header[24], bool& nano);

  // fd stays owned by the caller; records start at `offset`. `snapshot` is libpcap's
  // (pcap_snapshot: already corrected for 0 or oversized header values).
  DirectPcapReader(int fd, uint64_t offset, bool nano, int snapshot);

  // kRecord: hdr (timestamp in nanoseconds, as libpcap gives with nanosecond precision) and
  // data are set; data stays valid until the next call. kHandOff: offset() is where the
  // record that was not taken starts.
  Status next(struct pcap_pkthdr& hdr, const uint8_t*& data);
  uint64_t offset() const { return file_offset_ + pos_; }

 private:
  // Reads until at least `need` unread bytes are buffered or the file ends.
  void refill(size_t need);

  int fd_;
  bool nano_;
  uint32_t limit_;
  std::unique_ptr<uint8_t[]> buf_;
  size_t pos_ = 0, end_ = 0;  // unread bytes are buf_[pos_, end_)
  uint64_t file_offset_ = 0;  // file offset of buf_[0]
  bool eof_ = false;
};

}  // namespace komainu
