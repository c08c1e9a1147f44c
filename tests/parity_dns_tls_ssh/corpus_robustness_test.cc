// Every capture of the public corpus through the DNS, TLS (and DTLS, QUIC, RDP) and SSH analyzers
// (test harness flow extraction, content probing as the flow stage does). Nothing may crash; under
// ASan/UBSan (KOMAINU_SANITIZE or KOMAINU_FUZZ builds) nothing may be reported. Prints what
// was produced, so a silent analyzer shows up too.
#include <gtest/gtest.h>

#include <filesystem>

#include "analyzers/analyzer_testing.h"

namespace komainu {
namespace {

TEST(CorpusRobustness, DnsTlsSshOverEveryCapture) {
  std::string corpus = std::string(KOMAINU_SHARED_DIR) + "/corpus";
  if (!std::filesystem::exists(corpus)) GTEST_SKIP() << "public corpus not found: " << corpus;
  size_t files = 0;
  std::map<std::string, size_t> eve, zeek;
  for (const auto& e : std::filesystem::recursive_directory_iterator(corpus)) {
    std::string p = e.path().string();
    if (!e.is_regular_file() ||
        (p.find(".pcap") == std::string::npos && p.find(".cap") == std::string::npos))
      continue;
    testing::PcapPayloads pl;
    if (!testing::load_pcap_payloads(p, pl)) continue;
    ++files;
    for (const char* name : {"dns", "ssl", "ssh", "dtls", "quic", "rdp"}) {
      const AnalyzerApi* api = Registry<AnalyzerApi>::find(name);
      if (!api && (std::string_view(name) == "quic" || std::string_view(name) == "rdp"))
        continue;  // built without that analyzer
      ASSERT_NE(api, nullptr) << name;
      testing::CollectingSink sink;
      testing::run_analyzer(*api, pl, sink);
      for (const auto& ev : sink.eve) ++eve[ev.event_type];
      for (const auto& [log, rows] : sink.zeek) zeek[log] += rows.size();
      EXPECT_EQ(sink.schema_mismatches, 0) << p;
    }
  }
  printf("[corpus] %zu captures\n", files);
  for (const auto& [k, n] : eve) printf("[corpus] EVE %s: %zu\n", k.c_str(), n);
  for (const auto& [k, n] : zeek) printf("[corpus] %s.log: %zu rows\n", k.c_str(), n);
  EXPECT_GT(files, 100u);
  EXPECT_GT(eve["dns"], 0u);
  EXPECT_GT(eve["tls"], 0u);
  EXPECT_GT(eve["ssh"], 0u);
  if (Registry<AnalyzerApi>::find("quic")) {
    EXPECT_GT(zeek["quic"], 0u);
  }
}

}  // namespace
}  // namespace komainu
