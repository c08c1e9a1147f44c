#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "analyzers/analyzer_testing.h"
#include "analyzers/rdp/rdp_analyzer.h"
#include "core/registry.h"

namespace komainu::rdp {
namespace {

using Bytes = std::vector<uint8_t>;
const std::string kZeek = std::string(KOMAINU_SHARED_DIR) + "/corpus/zeek/";

Bytes tpkt(const Bytes& x224) {
  Bytes b = {3, 0, uint8_t((x224.size() + 4) >> 8), uint8_t(x224.size() + 4)};
  b.insert(b.end(), x224.begin(), x224.end());
  return b;
}

Bytes connection_request() {
  std::string cookie = "Cookie: mstshash=alice\r\n";
  Bytes x{uint8_t(6 + cookie.size() + 8), 0xe0, 0, 0, 0, 0, 0};
  x.insert(x.end(), cookie.begin(), cookie.end());
  Bytes neg = {1, 0, 8, 0, 3, 0, 0, 0};  // requests SSL | HYBRID
  x.insert(x.end(), neg.begin(), neg.end());
  return tpkt(x);
}

Bytes connection_confirm(uint32_t protocol) {
  return tpkt({14, 0xd0, 0, 0, 0x12, 0x34, 0, 2, 0, 8, 0, uint8_t(protocol), 0, 0, 0});
}

TEST(RdpParser, RequestAndConfirm) {
  ConnectionRequest cr;
  Bytes req = connection_request();
  ASSERT_TRUE(parse_connection_request(req, cr));
  EXPECT_EQ(cr.cookie, "alice");
  EXPECT_TRUE(cr.has_neg);
  EXPECT_EQ(cr.requested_protocols, 3u);
  ConnectionConfirm cc;
  ASSERT_TRUE(parse_connection_confirm(connection_confirm(2), cc));
  EXPECT_EQ(cc.selected_protocol, 2u);
  EXPECT_EQ(security_protocol_name(cc.selected_protocol), "HYBRID");
  EXPECT_FALSE(parse_connection_confirm(req, cc));  // a CR is not a CC
  size_t len = 0;
  EXPECT_EQ(tpkt_frame(Bytes{3, 0, 0}, len), Tpkt::kNeedMore);
  EXPECT_EQ(tpkt_frame(Bytes{0x16, 3, 1}, len), Tpkt::kNotTpkt);
  EXPECT_EQ(probe(req, Direction::kToServer, 3389), ProbeResult::kYes);
  EXPECT_EQ(probe(req, Direction::kToClient, 3389), ProbeResult::kNo);
  EXPECT_EQ(probe(Bytes{3}, Direction::kToServer, 3389), ProbeResult::kMaybe);
}

TEST(RdpSession, EnhancedSecurityHandsTheConnectionToTls) {
  testing::CollectingSink sink;
  FlowContext f;
  f.tuple.proto = 6;
  RdpSession s({&sink, &f});
  s.on_data(Direction::kToServer, connection_request(), 1);
  s.on_data(Direction::kToClient, connection_confirm(1), 2);
  EXPECT_TRUE(s.tls_started());
  // A TLS ClientHello record (truncated body is fine: the TLS session sees it).
  Bytes hello = {0x16, 3, 1, 0, 4, 1, 0, 0, 0};
  s.on_data(Direction::kToServer, hello, 3);
  s.on_close(4);
  ASSERT_EQ(sink.zeek["ssl"].size(), 1u);
  EXPECT_EQ(s.anomalies().total(), 0u);
}

TEST(RdpSession, MalformedConnectResponseIsANamedAnomaly) {
  testing::CollectingSink sink;
  FlowContext f;
  f.tuple.proto = 6;
  RdpSession s({&sink, &f});
  s.on_data(Direction::kToServer, connection_request(), 1);
  s.on_data(Direction::kToClient, connection_confirm(0), 2);
  // X.224 data, MCS Connect-Response tag, then a length that runs past the PDU.
  s.on_data(Direction::kToClient, tpkt({2, 0xf0, 0x80, 0x7f, 0x66, 0x82, 0x05, 0x71, 0x0a}), 3);
  EXPECT_EQ(s.anomalies().count("RDP_bad_connect_response"), 1u);
  s.on_close(4);
  EXPECT_TRUE(sink.zeek["x509"].empty());
}

// Zeek's scripts.base.protocols.rdp.rdp-x509: standard RDP security with an X.509 chain of
// two certificates in the server's security data (one subject with CR LF in it).
TEST(RdpCorpus, ZeekX509Parity) {
  const std::string pcap = kZeek + "traces/rdp/rdp-x509.pcap";
  if (!std::filesystem::exists(pcap)) GTEST_SKIP() << "public corpus not found: " << pcap;
  const AnalyzerApi* api = Registry<AnalyzerApi>::find("rdp");
  ASSERT_NE(api, nullptr);
  auto r = testing::parity_case(*api, pcap,
                                kZeek + "baselines/scripts.base.protocols.rdp.rdp-x509/x509.log",
                                "x509", "rdp-x509");
  EXPECT_EQ(r.identical, 2u);
  EXPECT_EQ(r.produced, 2u);
}

// The other RDP traces: proprietary certificates (no x509 rows), nothing malformed.
TEST(RdpCorpus, ProprietaryCertificatesGiveNoX509Rows) {
  for (const char* name : {"rdp-proprietary-encryption.pcap", "rdp-unknown-keyboard.pcap"}) {
    const std::string pcap = kZeek + "traces/rdp/" + name;
    if (!std::filesystem::exists(pcap)) GTEST_SKIP() << "public corpus not found: " << pcap;
    testing::PcapPayloads pl;
    ASSERT_TRUE(testing::load_pcap_payloads(pcap, pl)) << pl.error;
    testing::CollectingSink sink;
    testing::run_analyzer(*Registry<AnalyzerApi>::find("rdp"), pl, sink);
    EXPECT_TRUE(sink.zeek["x509"].empty()) << name;
    EXPECT_TRUE(sink.zeek["weird"].empty()) << name;
  }
}

}  // namespace
}  // namespace komainu::rdp
