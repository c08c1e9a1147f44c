#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "analyzers/analyzer_testing.h"
#include "analyzers/quic/quic_analyzer.h"
#include "core/registry.h"

namespace komainu::quic {
namespace {

const std::string kShared = KOMAINU_SHARED_DIR;

std::string hex(std::span<const uint8_t> b) {
  std::string s;
  char t[3];
  for (uint8_t c : b) {
    snprintf(t, sizeof t, "%02x", c);
    s += t;
  }
  return s;
}

TEST(QuicParser, VarintsOfRfc9000AppendixA) {
  const uint8_t v8[] = {0xc2, 0x19, 0x7c, 0x5e, 0xff, 0x14, 0xe8, 0x8c};
  const uint8_t v4[] = {0x9d, 0x7f, 0x3e, 0x7d};
  const uint8_t v2[] = {0x7b, 0xbd};
  const uint8_t v1[] = {0x25};
  auto rd = [](std::span<const uint8_t> b) {
    const uint8_t* p = b.data();
    uint64_t v = 0;
    EXPECT_TRUE(read_varint(p, b.data() + b.size(), v));
    EXPECT_EQ(p, b.data() + b.size());
    return v;
  };
  EXPECT_EQ(rd(v8), 151288809941952652u);
  EXPECT_EQ(rd(v4), 494878333u);
  EXPECT_EQ(rd(v2), 15293u);
  EXPECT_EQ(rd(v1), 37u);
  const uint8_t* p = v8;
  uint64_t v;
  EXPECT_FALSE(read_varint(p, v8 + 7, v));  // truncated
}

// RFC 9001 Appendix A.1 and RFC 9369 Appendix A.1: keys from DCID 0x8394c8f03e515708.
TEST(QuicParser, InitialKeysOfTheRfcTestVectors) {
  const uint8_t dcid[] = {0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08};
  InitialKeys c, s;
  ASSERT_TRUE(derive_initial_keys(kVersion1, dcid, false, c));
  ASSERT_TRUE(derive_initial_keys(kVersion1, dcid, true, s));
  EXPECT_EQ(hex(c.key), "1f369613dd76d5467730efcbe3b1a22d");
  EXPECT_EQ(hex(c.iv), "fa044b2f42a3fd3b46fb255c");
  EXPECT_EQ(hex(c.hp), "9f50449e04a0e810283a1e9933adedd2");
  EXPECT_EQ(hex(s.key), "cf3a5331653c364c88f0f379b6067e37");
  EXPECT_EQ(hex(s.iv), "0ac1493ca1905853b0bba03e");
  EXPECT_EQ(hex(s.hp), "c206b8d9b9f0f37644430b490eeaa314");
  ASSERT_TRUE(derive_initial_keys(kVersion2, dcid, false, c));
  EXPECT_EQ(hex(c.key), "8b1a0bc121284290a29e0971b5cd045d");
  EXPECT_EQ(hex(c.iv), "91f73e2351d8fa91660e909f");
  EXPECT_EQ(hex(c.hp), "45b95e15235d6f45a6b19cbcb0294ba9");
  EXPECT_FALSE(derive_initial_keys(0x0a0a0a0a, dcid, false, c));
  EXPECT_FALSE(c.ready);
}

TEST(QuicParser, VersionNamesAsZeek) {
  EXPECT_EQ(version_name(kVersion1), "1");
  EXPECT_EQ(version_name(kVersion2), "quicv2");
  EXPECT_EQ(version_name(kDraft29), "draft-29");
  EXPECT_EQ(version_name(0x0a1a2a3a), "unknown-a1a2a3a");
}

TEST(QuicProbe, InitialOfVersion1Or2FromTheClient) {
  const uint8_t v1[] = {0xc3, 0, 0, 0, 1, 8, 1, 2};
  const uint8_t v2[] = {0xd3, 0x6b, 0x33, 0x43, 0xcf, 8, 1, 2};
  const uint8_t v2_as_v1_type[] = {0xc3, 0x6b, 0x33, 0x43, 0xcf, 8, 1, 2};
  const uint8_t dns[] = {0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0};
  EXPECT_EQ(probe(v1, Direction::kToServer, 443), ProbeResult::kYes);
  EXPECT_EQ(probe(v2, Direction::kToServer, 4433), ProbeResult::kYes);
  EXPECT_EQ(probe(v1, Direction::kToClient, 443), ProbeResult::kNo);
  EXPECT_EQ(probe(v2_as_v1_type, Direction::kToServer, 443), ProbeResult::kNo);
  EXPECT_EQ(probe(dns, Direction::kToServer, 443), ProbeResult::kNo);
}

TEST(QuicSession, GarbageAndTruncatedInitialsAreNamedAnomalies) {
  testing::CollectingSink sink;
  FlowContext f;
  f.tuple.proto = 17;
  QuicSession s({&sink, &f});
  // A v1 Initial header whose length runs past the datagram.
  const uint8_t cut[] = {0xc3, 0, 0, 0, 1, 4, 1, 2, 3, 4, 0, 0, 0x44, 0xd0, 1, 2, 3};
  s.on_data(Direction::kToServer, cut, 1);
  EXPECT_EQ(s.anomalies().count("QUIC_malformed_packet"), 1u);
  // A well-formed header with a payload that does not authenticate.
  std::vector<uint8_t> bad = {0xc3, 0, 0, 0, 1, 4, 1, 2, 3, 4, 0, 0, 0x40, 40};
  bad.resize(bad.size() + 40, 0x5a);
  s.on_data(Direction::kToServer, bad, 2);
  EXPECT_EQ(s.anomalies().count("QUIC_initial_decryption_failed"), 1u);
  s.on_close(3);
  ASSERT_EQ(sink.zeek["quic"].size(), 1u);
  EXPECT_NE(sink.zeek["quic"][0].find("\t1\t01020304\t(empty)\t-\t-\t-\tI"), std::string::npos)
      << sink.zeek["quic"][0];
}

// Zeek's scripts.base.protocols.quic.quicv2-http3-443: the QUIC v2 Initials decrypted,
// quic.log's row and the ssl.log row built from the ClientHello/ServerHello in them.
TEST(QuicCorpus, ZeekQuicV2Parity) {
  const std::string dir = kShared + "/corpus/zeek/";
  const std::string pcap = dir + "traces/quic/quicv2-http3-443.pcap";
  if (!std::filesystem::exists(pcap)) GTEST_SKIP() << "public corpus not found: " << pcap;
  const AnalyzerApi* api = Registry<AnalyzerApi>::find("quic");
  ASSERT_NE(api, nullptr);
  const std::string base = dir + "baselines/scripts.base.protocols.quic.quicv2-http3-443/";
  auto q = testing::parity_case(*api, pcap, base + "quic.log", "quic", "quicv2-http3-443");
  EXPECT_EQ(q.identical, 1u);
  EXPECT_EQ(q.produced, 1u);
  auto s = testing::parity_case(*api, pcap, base + "ssl.log", "ssl", "quicv2-http3-443");
  EXPECT_EQ(s.identical, 1u);
  EXPECT_EQ(s.produced, 1u);
}

testing::CollectingSink run_pcap(const std::string& pcap) {
  testing::CollectingSink sink;
  testing::PcapPayloads pl;
  // Suricata-verify captures carry offloaded (unset) UDP checksums.
  EXPECT_TRUE(testing::load_pcap_payloads(pcap, pl, false)) << pl.error;
  testing::run_analyzer(*Registry<AnalyzerApi>::find("quic"), pl, sink);
  return sink;
}

// suricata-verify quic-v2: the quic event lists the ClientHello's extensions in order.
TEST(QuicCorpus, SuricataQuicV2EveExtensions) {
  const std::string pcap = kShared + "/corpus/suricata-verify/quic-v2/input.pcap";
  if (!std::filesystem::exists(pcap)) GTEST_SKIP() << "public corpus not found: " << pcap;
  auto sink = run_pcap(pcap);
  int quic = 0;
  for (const auto& e : sink.eve) {
    if (e.event_type != "quic") continue;
    ++quic;
    EXPECT_NE(e.json.find(R"("version":"6b3343cf")"), std::string::npos) << e.json;
    EXPECT_NE(e.json.find(R"("extensions":[{"name":"status_request","type":5})"), std::string::npos)
        << e.json;
    EXPECT_NE(e.json.find(R"({"name":"alpn","type":16,"values":["h3"]})"), std::string::npos)
        << e.json;
  }
  EXPECT_EQ(quic, 1);
  for (const auto& e : sink.eve) EXPECT_NE(e.event_type, "tls");  // QUIC's TLS has no tls event
}

// suricata-verify quic-ietf-ja3: QUIC v1 Initials decrypted; the server resumed with a PSK
// (JA3S "771,4866,43-51-41").
TEST(QuicCorpus, Version1ServerHelloFromInitials) {
  const std::string pcap = kShared + "/corpus/suricata-verify/quic-ietf-ja3/input.pcap";
  if (!std::filesystem::exists(pcap)) GTEST_SKIP() << "public corpus not found: " << pcap;
  auto sink = run_pcap(pcap);
  ASSERT_EQ(sink.zeek["ssl"].size(), 1u);
  const std::string& row = sink.zeek["ssl"][0];
  EXPECT_NE(row.find("\tTLSv13\tTLS_AES_256_GCM_SHA384\t"), std::string::npos) << row;
  EXPECT_NE(row.find("\tT\t"), std::string::npos) << row;  // resumed
  ASSERT_EQ(sink.zeek["quic"].size(), 1u);
  EXPECT_NE(sink.zeek["quic"][0].find("\t1\t"), std::string::npos) << sink.zeek["quic"][0];
}

}  // namespace
}  // namespace komainu::quic
