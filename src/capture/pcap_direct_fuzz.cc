// Differential fuzz target: a file read through DirectPcapReader must give exactly the frames
// and warnings libpcap alone gives. The input is a pcap file body; the first byte picks the
// header (so most inputs reach the record reader instead of failing libpcap's header check).
#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "capture/source.h"

using namespace komainu;

namespace {

struct Frame {
  komainu::TimeNs ts;
  uint64_t number;
  uint32_t caplen, wirelen;
  std::string data;
  bool operator==(const Frame&) const = default;
};

bool read_all(const std::string& path, bool direct, std::vector<Frame>& frames,
              std::vector<std::string>& warnings) {
  FileSource src;
  src.set_direct_read(direct);
  if (!src.open({path})) return false;
  RawFrame f;
  while (src.next(f) == SourceStatus::kFrame)
    frames.push_back({f.ts, f.number, f.caplen, f.wirelen,
                      std::string(reinterpret_cast<const char*>(f.data), f.caplen)});
  warnings = src.warnings();
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  static const uint32_t kMagic[] = {0xa1b2c3d4, 0xa1b23c4d, 0xd4c3b2a1, 0};
  static const uint32_t kSnap[] = {65535, 1500, 0, 262144, 64, 300000, 16, 0x7fffffff};
  std::string file;
  uint8_t pick = data[0];
  if (kMagic[pick & 3]) {
    uint32_t hdr[6] = {kMagic[pick & 3],         0x00040002u, 0, 0, kSnap[(pick >> 2) & 7],
                       (pick & 0x20) ? 101u : 1u};
    file.assign(reinterpret_cast<const char*>(hdr), sizeof hdr);
  }
  file.append(reinterpret_cast<const char*>(data + 1), size - 1);

  int fd = memfd_create("pcap", 0);
  if (fd < 0) return 0;
  if (write(fd, file.data(), file.size()) != ssize_t(file.size())) {
    close(fd);
    return 0;
  }
  std::string path = "/proc/self/fd/" + std::to_string(fd);
  std::vector<Frame> fa, fb;
  std::vector<std::string> wa, wb;
  bool oa = read_all(path, true, fa, wa);
  bool ob = read_all(path, false, fb, wb);
  close(fd);
  if (oa != ob || !(fa == fb) || wa != wb) abort();
  return 0;
}
