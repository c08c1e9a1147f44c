// A session hands its connection to another protocol (AppSession::hand_off) and the flow
// stage probes what follows: the TLS after SMTP's STARTTLS and after an HTTP proxy's
// CONNECT gets its ssl.log row, and conn.log names both services as Zeek does.
#include <gtest/gtest.h>

#include <string>

#include "analyzers/analyzer_testing.h"
#include "capture/source.h"
#include "pipeline/pipeline.h"

namespace komainu {
namespace {

testing::CollectingSink run(const std::string& name) {
  testing::CollectingSink sink;
  PipelineConfig cfg;
  Pipeline pipe(cfg, &sink);
  FileSource src;
  EXPECT_TRUE(src.open({std::string(KOMAINU_SOURCE_DIR) + "/tests/handover/data/" + name}));
  RawFrame f;
  while (src.next(f) == SourceStatus::kFrame) pipe.process(f);
  pipe.finish();
  return sink;
}

bool has(const std::string& row, const std::string& field) {
  return row.find("\t" + field + "\t") != std::string::npos;
}

TEST(Handover, TlsAfterSmtpStartTls) {
  auto sink = run("smtp-starttls.pcap");
  ASSERT_EQ(sink.zeek["conn"].size(), 1u);
  EXPECT_TRUE(has(sink.zeek["conn"][0], "smtp,ssl")) << sink.zeek["conn"][0];
  ASSERT_EQ(sink.zeek["smtp"].size(), 1u);
  auto smtp = testing::split_tabs(sink.zeek["smtp"][0]);
  EXPECT_EQ(smtp[smtp.size() - 2], "T");  // tls
  ASSERT_EQ(sink.zeek["ssl"].size(), 1u);
  EXPECT_TRUE(has(sink.zeek["ssl"][0], "mail.example.test"));
}

TEST(Handover, TlsThroughAnHttpProxyConnect) {
  auto sink = run("http-connect-tls.pcap");
  ASSERT_EQ(sink.zeek["conn"].size(), 1u);
  EXPECT_TRUE(has(sink.zeek["conn"][0], "http,ssl")) << sink.zeek["conn"][0];
  ASSERT_EQ(sink.zeek["http"].size(), 1u);
  EXPECT_TRUE(has(sink.zeek["http"][0], "CONNECT"));
  ASSERT_EQ(sink.zeek["ssl"].size(), 1u);
  EXPECT_TRUE(has(sink.zeek["ssl"][0], "www.example.test"));
}

}  // namespace
}  // namespace komainu
