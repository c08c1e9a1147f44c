// Zeek smtp.log parity: every corpus trace with an smtp.log baseline through the real
// pipeline, with its weird.log and files.log. File ids are random in the baselines, so
// smtp.log's fuids and files.log's fuid compare by count; rcptto/to/cc are sets whose order
// is Zeek's hash order. Remaining differences are listed in docs/parity.md.
#include <gtest/gtest.h>

#include "support/zeek_manifest_parity.h"

namespace komainu {
namespace {

TEST(ZeekParity, Smtp) {
  const std::string dir = std::string(KOMAINU_SHARED_DIR) + "/corpus/zeek/";
  if (!std::ifstream(dir + "manifest.json"))
    GTEST_SKIP() << "public corpus not found at " << KOMAINU_SHARED_DIR;
  std::string table;
  testing::RowCompare how;
  how.unordered = {"rcptto", "to", "cc"};
  how.counted = {"fuids", "fuid"};
  auto totals = testing::zeek_manifest_parity(dir, {"smtp"}, table, how);
  std::string smtp_table;
  auto other =
      testing::zeek_manifest_parity(dir, {"files", "weird"}, smtp_table, how, "protocols.smtp.");
  table += "\n" + smtp_table;
  printf("%s", table.c_str());
  if (const char* out = getenv("KOMAINU_PARITY_OUT")) std::ofstream(out) << table;
  const auto& t = totals["smtp"];
  ASSERT_GT(t.baseline, 10u);
  // Every row, http-connect's too (SMTP inside an HTTP CONNECT tunnel).
  EXPECT_EQ(t.identical, t.baseline);
  EXPECT_EQ(t.produced, t.baseline);
  EXPECT_EQ(other["files"].identical, other["files"].baseline);
  EXPECT_EQ(other["weird"].identical, other["weird"].baseline);
  EXPECT_EQ(other["weird"].produced, other["weird"].baseline);
}

// SMTP STARTTLS handed to the TLS analyzer: a session recorded on loopback (openssl s_client
// -starttls smtp against a Python server with a self-signed certificate, data/README.md).
TEST(SmtpStartTls, TheTlsAfterStartTlsIsAnalysed) {
  testing::CollectingSink sink;
  {
    PipelineConfig cfg;
    Pipeline pipe(cfg, &sink);
    FileSource src;
    ASSERT_TRUE(
        src.open({std::string(KOMAINU_SOURCE_DIR) + "/tests/parity_smtp/data/smtp-starttls.pcap"}));
    RawFrame f;
    while (src.next(f) == SourceStatus::kFrame) pipe.process(f);
    pipe.finish();
  }
  ASSERT_EQ(sink.zeek["conn"].size(), 1u);
  EXPECT_NE(sink.zeek["conn"][0].find("\tsmtp,ssl\t"), std::string::npos) << sink.zeek["conn"][0];
  ASSERT_EQ(sink.zeek["smtp"].size(), 1u);
  auto smtp = testing::split_tabs(sink.zeek["smtp"][0]);
  EXPECT_EQ(smtp[smtp.size() - 2], "T");  // tls
  ASSERT_EQ(sink.zeek["ssl"].size(), 1u);
  EXPECT_NE(sink.zeek["ssl"][0].find("\tmail.example.test\t"), std::string::npos);
}

}  // namespace
}  // namespace komainu
