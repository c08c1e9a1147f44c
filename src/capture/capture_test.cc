#include <gtest/gtest.h>
#include <pcap/pcap.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "capture/source.h"

using namespace komainu;

namespace {
std::string temp_path(const char* name) {
  return (std::filesystem::temp_directory_path() /
          (std::string("komainu-capture-") + std::to_string(getpid()) + "-" + name))
      .string();
}

// Writes a pcap whose frames carry their timestamp (seconds) as the first byte.
void write_pcap(const std::string& path, const std::vector<int>& seconds) {
  pcap_t* dead = pcap_open_dead(DLT_EN10MB, 65535);
  pcap_dumper_t* d = pcap_dump_open(dead, path.c_str());
  ASSERT_NE(d, nullptr);
  for (int s : seconds) {
    u_char frame[60] = {0};
    frame[0] = static_cast<u_char>(s);
    struct pcap_pkthdr h {};
    h.ts.tv_sec = 1700000000 + s;
    h.caplen = h.len = sizeof frame;
    pcap_dump(reinterpret_cast<u_char*>(d), &h, frame);
  }
  pcap_dump_close(d);
  pcap_close(dead);
}
}  // namespace

TEST(FileSource, MergesFilesInTimestampOrder) {
  auto a = temp_path("a.pcap"), b = temp_path("b.pcap");
  write_pcap(a, {1, 4, 5, 9});
  write_pcap(b, {2, 3, 7});
  FileSource src;
  ASSERT_TRUE(src.open({a, b})) << src.error();
  RawFrame f;
  std::vector<int> order;
  TimeNs last = 0;
  while (src.next(f) == SourceStatus::kFrame) {
    order.push_back(f.data[0]);
    EXPECT_GE(f.ts, last);
    last = f.ts;
    EXPECT_EQ(f.linktype, DLT_EN10MB);
  }
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3, 4, 5, 7, 9}));
  EXPECT_EQ(src.frames(), 7u);
  EXPECT_TRUE(src.warnings().empty());
  std::filesystem::remove(a);
  std::filesystem::remove(b);
}

TEST(FileSource, MissingFileIsNamed) {
  FileSource src;
  EXPECT_FALSE(src.open({"/nonexistent/x.pcap"}));
  EXPECT_NE(src.error().find("/nonexistent/x.pcap"), std::string::npos);
}

TEST(FileSource, TruncatedFileKeepsFramesAndWarns) {
  auto a = temp_path("t.pcap");
  write_pcap(a, {1, 2, 3});
  std::filesystem::resize_file(a, std::filesystem::file_size(a) - 20);
  FileSource src;
  ASSERT_TRUE(src.open({a}));
  RawFrame f;
  int n = 0;
  while (src.next(f) == SourceStatus::kFrame) ++n;
  EXPECT_EQ(n, 2);
  ASSERT_EQ(src.warnings().size(), 1u);
  EXPECT_NE(src.warnings()[0].find("after packet 2"), std::string::npos) << src.warnings()[0];
  std::filesystem::remove(a);
}

TEST(FileSource, ReadsPcapngFromCorpus) {
  std::string path =
      std::string(KOMAINU_SHARED_DIR) + "/corpus/zeek/traces/pcapng-multi-interface.pcapng";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "corpus not present: " << path;
  FileSource src;
  ASSERT_TRUE(src.open({path})) << src.error();
  RawFrame f;
  uint64_t n = 0;
  while (src.next(f) == SourceStatus::kFrame) ++n;
  EXPECT_GT(n, 0u);
}
