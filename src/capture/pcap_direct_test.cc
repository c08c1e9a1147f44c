// DirectPcapReader against libpcap: every file, healthy or damaged, must give the same frames,
// the same timestamps and the same warnings whichever reads it.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "capture/source.h"

using namespace komainu;

namespace {

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          ("komainu-direct-" + std::to_string(getpid()) + "-" + name))
      .string();
}

void put32(std::string& s, uint32_t v) {
  s.append(reinterpret_cast<const char*>(&v), 4);
}

std::string file_header(uint32_t magic, uint32_t snaplen, uint32_t linktype = 1, uint16_t major = 2,
                        uint16_t minor = 4) {
  std::string s;
  put32(s, magic);
  s.append(reinterpret_cast<const char*>(&major), 2);
  s.append(reinterpret_cast<const char*>(&minor), 2);
  put32(s, 0);
  put32(s, 0);
  put32(s, snaplen);
  put32(s, linktype);
  return s;
}

void record(std::string& s, uint32_t sec, uint32_t frac, uint32_t caplen, uint32_t len,
            uint8_t fill) {
  put32(s, sec);
  put32(s, frac);
  put32(s, caplen);
  put32(s, len);
  for (uint32_t i = 0; i < caplen; ++i) s.push_back(char(fill + i));
}

struct Frame {
  TimeNs ts;
  uint64_t number;
  uint32_t caplen, wirelen;
  int linktype;
  std::string data;
  bool operator==(const Frame&) const = default;
};

struct ReadResult {
  std::vector<Frame> frames;
  std::vector<std::string> warnings;
  uint64_t consumed = 0;
};

ReadResult read_all(const std::vector<std::string>& paths, bool direct) {
  FileSource src;
  src.set_direct_read(direct);
  ReadResult r;
  if (!src.open(paths)) {
    r.warnings.push_back("open: " + src.error());
    return r;
  }
  RawFrame f;
  while (src.next(f) == SourceStatus::kFrame)
    r.frames.push_back({f.ts, f.number, f.caplen, f.wirelen, f.linktype,
                        std::string(reinterpret_cast<const char*>(f.data), f.caplen)});
  r.warnings = src.warnings();
  r.consumed = src.consumed_file_bytes();
  return r;
}

void expect_same(const std::string& content, const char* what, size_t min_frames = 0) {
  auto path = temp_path("f.pcap");
  {
    std::ofstream f(path, std::ios::binary);
    f.write(content.data(), std::streamsize(content.size()));
  }
  ReadResult a = read_all({path}, true), b = read_all({path}, false);
  EXPECT_EQ(a.frames.size(), b.frames.size()) << what;
  EXPECT_TRUE(a.frames == b.frames) << what;
  EXPECT_EQ(a.warnings, b.warnings) << what;
  EXPECT_GE(a.frames.size(), min_frames) << what;
  std::filesystem::remove(path);
}

}  // namespace

TEST(DirectPcapReader, TakesOnlyPlainClassicPcap) {
  bool nano = false;
  EXPECT_TRUE(DirectPcapReader::eligible(
      reinterpret_cast<const uint8_t*>(file_header(0xa1b2c3d4, 65535).data()), nano));
  EXPECT_FALSE(nano);
  EXPECT_TRUE(DirectPcapReader::eligible(
      reinterpret_cast<const uint8_t*>(file_header(0xa1b23c4d, 65535).data()), nano));
  EXPECT_TRUE(nano);
  for (const std::string& h :
       {file_header(0xd4c3b2a1, 65535), file_header(0x4d3cb2a1, 65535),
        file_header(0xa1b2cd34, 65535), file_header(0xa1b2c3d4, 65535, 1, 2, 3),
        file_header(0xa1b2c3d4, 65535, 1, 1, 4), file_header(0x0a0d0d0a, 65535)})
    EXPECT_FALSE(DirectPcapReader::eligible(reinterpret_cast<const uint8_t*>(h.data()), nano));
}

TEST(DirectPcapReader, SameFramesAsLibpcapOnHealthyFiles) {
  for (uint32_t magic : {0xa1b2c3d4u, 0xa1b23c4du}) {
    std::string s = file_header(magic, 65535);
    // Timestamps with the high bit set, fractions past one second, empty records.
    record(s, 1700000000, 123456, 60, 60, 1);
    record(s, 0x80000001u, 999999, 0, 40, 2);
    record(s, 0xffffffffu, 0xffffffffu, 14, 1514, 3);
    record(s, 5, 1500000, 100, 100, 4);
    expect_same(s, "small", 4);
  }
  // Several MiB of mixed sizes: records straddle the reader's buffer refills.
  std::string s = file_header(0xa1b2c3d4, 262144);
  uint64_t x = 12345;
  for (int i = 0; i < 4000; ++i) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    uint32_t caplen = uint32_t(x >> 33) % (i % 97 == 0 ? 262145 : 1600);
    record(s, 1700000000 + i, uint32_t(i), caplen, caplen + 4, uint8_t(i));
  }
  expect_same(s, "large", 4000);
}

TEST(DirectPcapReader, DamagedFilesGoBackToLibpcap) {
  std::string base = file_header(0xa1b2c3d4, 1500);
  record(base, 1, 0, 60, 60, 1);
  record(base, 2, 0, 60, 60, 2);
  // Cut in a record header, in record data, and right after a record.
  for (size_t cut : {base.size() - 70, base.size() - 30, base.size() - 76, base.size()})
    expect_same(base.substr(0, cut), "truncated", 1);
  // Larger than the snapshot length (libpcap cuts it), larger than any (libpcap stops).
  std::string s = base;
  record(s, 3, 0, 2000, 2000, 3);
  record(s, 4, 0, 60, 60, 4);
  expect_same(s, "over snaplen", 4);
  s = base;
  record(s, 3, 0, 300000, 300000, 3);
  record(s, 4, 0, 60, 60, 4);
  expect_same(s, "over maximum", 2);
  // Snapshot length 0 in the header: libpcap takes its maximum.
  s = file_header(0xa1b2c3d4, 0);
  record(s, 1, 0, 5000, 5000, 1);
  expect_same(s, "snaplen 0", 1);
  // Other byte order and other versions: libpcap all the way.
  s = file_header(0xd4c3b2a1, 0xffff0000);
  expect_same(s, "swapped");
  s = file_header(0xa1b2c3d4, 1500, 1, 2, 2);
  record(s, 1, 0, 60, 50, 1);
  expect_same(s, "version 2.2", 1);
  expect_same(file_header(0xa1b2c3d4, 1500).substr(0, 20), "short header");
}

TEST(DirectPcapReader, MergesAndReportsProgress) {
  std::string a = file_header(0xa1b2c3d4, 1500), b = file_header(0xa1b23c4d, 1500);
  for (int i = 0; i < 50; ++i) {
    record(a, 100 + 2 * i, 0, 60, 60, uint8_t(i));
    record(b, 101 + 2 * i, 7, 70, 70, uint8_t(i));
  }
  auto pa = temp_path("a.pcap"), pb = temp_path("b.pcap");
  std::ofstream(pa, std::ios::binary).write(a.data(), std::streamsize(a.size()));
  std::ofstream(pb, std::ios::binary).write(b.data(), std::streamsize(b.size()));
  ReadResult d = read_all({pa, pb}, true), l = read_all({pa, pb}, false);
  EXPECT_EQ(d.frames.size(), 100u);
  EXPECT_TRUE(d.frames == l.frames);
  EXPECT_EQ(d.consumed, a.size() + b.size());
  std::filesystem::remove(pa);
  std::filesystem::remove(pb);
}

TEST(DirectPcapReader, CorpusFilesReadTheSame) {
  std::string dir = std::string(KOMAINU_SHARED_DIR) + "/corpus";
  if (!std::filesystem::exists(dir)) GTEST_SKIP() << "corpus not present: " << dir;
  size_t files = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    auto ext = e.path().extension().string();
    if (ext != ".pcap" && ext != ".pcapng" && ext != ".trace" && ext != ".cap") continue;
    if (e.file_size() > (8u << 20)) continue;  // unit tests stay fast
    const std::string p = e.path().string();
    ReadResult a = read_all({p}, true), b = read_all({p}, false);
    ASSERT_TRUE(a.frames == b.frames) << p;
    ASSERT_EQ(a.warnings, b.warnings) << p;
    ++files;
  }
  EXPECT_GT(files, 10u);
}
