#include "capture/pcap_direct.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace komainu {

namespace {

constexpr uint32_t kMagicMicro = 0xa1b2c3d4;
constexpr uint32_t kMagicNano = 0xa1b23c4d;
constexpr size_t kRecordHeader = 16;

inline uint32_t host32(const uint8_t* p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}

}  // namespace

bool DirectPcapReader::eligible(const uint8_t header[24], bool& nano) {
  // The magic read in host order: a file written in the other byte order (libpcap swaps its
  // fields and some link-layer pseudo-headers) is left to libpcap, as are versions before
  // 2.4 (whose caplen and len may be swapped) and modified formats with longer headers.
  uint32_t magic = host32(header);
  uint16_t major, minor;
  memcpy(&major, header + 4, 2);
  memcpy(&minor, header + 6, 2);
  if (major != 2 || minor != 4) return false;
  if (magic == kMagicMicro) {
    nano = false;
    return true;
  }
  if (magic == kMagicNano) {
    nano = true;
    return true;
  }
  return false;
}

DirectPcapReader::DirectPcapReader(int fd, uint64_t offset, bool nano, int snapshot)
    : fd_(fd),
      nano_(nano),
      limit_(snapshot > 0 && uint32_t(snapshot) < kMaxCaplen ? uint32_t(snapshot) : kMaxCaplen),
      buf_(new uint8_t[kBufferSize]),
      file_offset_(offset) {}

void DirectPcapReader::refill(size_t need) {
  if (eof_) return;
  // Keep the unread tail at the front, then read after it.
  size_t keep = end_ - pos_;
  if (keep && pos_) memmove(buf_.get(), buf_.get() + pos_, keep);
  file_offset_ += pos_;
  pos_ = 0;
  end_ = keep;
  while (end_ < need) {
    size_t want = std::min(kBufferSize - end_, std::max(kReadChunk, need - end_));
    ssize_t n = pread(fd_, buf_.get() + end_, want, off_t(file_offset_ + end_));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      // End of file, or an error libpcap will name when it reads the same place.
      eof_ = true;
      return;
    }
    end_ += size_t(n);
  }
}

DirectPcapReader::Status DirectPcapReader::next(struct pcap_pkthdr& hdr, const uint8_t*& data) {
  if (end_ - pos_ < kRecordHeader) {
    refill(kRecordHeader);
    if (end_ == pos_) return Status::kEnd;
    if (end_ - pos_ < kRecordHeader) return Status::kHandOff;  // truncated header
  }
  const uint8_t* p = buf_.get() + pos_;
  const uint32_t caplen = host32(p + 8);
  if (caplen > limit_) return Status::kHandOff;
  if (end_ - pos_ < kRecordHeader + caplen) {
    refill(kRecordHeader + caplen);
    p = buf_.get() + pos_;
    if (end_ - pos_ < kRecordHeader + caplen) return Status::kHandOff;  // truncated data
  }
  // libpcap's on-disk timestamp fields are signed 32-bit; microseconds are scaled up when
  // nanoseconds were asked for, as libpcap does.
  const int32_t sec = int32_t(host32(p));
  const int32_t frac = int32_t(host32(p + 4));
  hdr.ts.tv_sec = sec;
  hdr.ts.tv_usec = nano_ ? frac : static_cast<suseconds_t>(frac) * 1000;
  hdr.caplen = caplen;
  hdr.len = host32(p + 12);
  data = p + kRecordHeader;
  pos_ += kRecordHeader + caplen;
  return Status::kRecord;
}

}  // namespace komainu
