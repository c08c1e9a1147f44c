#include "analyzers/dcerpc/dcerpc.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "analyzers/analyzer_testing.h"

namespace komainu::dcerpc {
namespace {

struct Sink : EventSink {
  std::vector<DceRpcRecord> recs;
  size_t anomalies = 0;
  void publish(const Record& r) override {
    if (auto* d = dynamic_cast<const DceRpcRecord*>(&r)) recs.push_back(*d);
    if (r.event_type() == "anomaly") ++anomalies;
  }
};

void put16(std::vector<uint8_t>& v, uint16_t x) {
  v.push_back(uint8_t(x));
  v.push_back(uint8_t(x >> 8));
}
void put32(std::vector<uint8_t>& v, uint32_t x) {
  put16(v, uint16_t(x));
  put16(v, uint16_t(x >> 16));
}
std::vector<uint8_t> header(uint8_t ptype, uint32_t call_id) {
  std::vector<uint8_t> v = {5, 0, ptype, 0x03, 0x10, 0, 0, 0};
  put16(v, 0);  // frag length, patched
  put16(v, 0);
  put32(v, call_id);
  return v;
}
void finish(std::vector<uint8_t>& v) {
  v[8] = uint8_t(v.size());
  v[9] = uint8_t(v.size() >> 8);
}
// BIND of svcctl (367abb81-9844-35f1-ad32-98f038001003 v2.0) as context 0.
std::vector<uint8_t> bind_svcctl() {
  auto v = header(11, 1);
  put16(v, 4280), put16(v, 4280), put32(v, 0);
  v.insert(v.end(), {1, 0, 0, 0});
  put16(v, 0);
  v.insert(v.end(), {1, 0});
  const uint8_t uuid[16] = {0x81, 0xbb, 0x7a, 0x36, 0x44, 0x98, 0xf1, 0x35,
                            0xad, 0x32, 0x98, 0xf0, 0x38, 0x00, 0x10, 0x03};
  v.insert(v.end(), uuid, uuid + 16);
  put16(v, 2), put16(v, 0);
  v.insert(v.end(), 20, 0x04);  // transfer syntax
  finish(v);
  return v;
}
std::vector<uint8_t> request(uint16_t opnum, uint32_t call_id) {
  auto v = header(0, call_id);
  put32(v, 8), put16(v, 0), put16(v, opnum);
  v.insert(v.end(), 8, 0xaa);
  finish(v);
  return v;
}

TEST(DceRpc, BindThenRequestsInPieces) {
  Sink sink;
  FlowContext flow;
  AnomalyReporter an("dcerpc", "DCE_RPC");
  DceRpcParser p(SessionContext{&sink, &flow}, an);
  auto b = bind_svcctl();
  auto r1 = request(15, 2), r2 = request(12, 3);
  std::vector<uint8_t> all = b;
  all.insert(all.end(), r1.begin(), r1.end());
  all.insert(all.end(), r2.begin(), r2.end());
  for (size_t i = 0; i < all.size(); i += 7)  // split headers and bodies anywhere
    p.data(Direction::kToServer, std::span(all).subspan(i, std::min<size_t>(7, all.size() - i)), 1);
  ASSERT_EQ(sink.recs.size(), 3u);
  EXPECT_FALSE(sink.recs[0].request);
  ASSERT_EQ(sink.recs[0].interfaces.size(), 1u);
  EXPECT_EQ(sink.recs[0].interfaces[0].uuid, "367abb81-9844-35f1-ad32-98f038001003");
  EXPECT_EQ(sink.recs[1].endpoint, "svcctl");
  EXPECT_EQ(sink.recs[1].operation, "OpenSCManagerW");
  EXPECT_EQ(sink.recs[2].operation, "CreateServiceW");
  EXPECT_EQ(sink.recs[2].stub_len, 8u);
  EXPECT_EQ(sink.anomalies, 0u);
}

TEST(DceRpc, GarbageAndOversizedAreAnomalies) {
  Sink sink;
  FlowContext flow;
  AnomalyReporter an("dcerpc", "DCE_RPC");
  DceRpcParser p(SessionContext{&sink, &flow}, an, DceRpcLimits{.max_pdu = 64});
  auto big = request(1, 1);
  big.insert(big.end(), 100, 0);
  finish(big);
  p.data(Direction::kToServer, big, 1);
  EXPECT_EQ(an.count("dcerpc_pdu_too_large"), 1u);
  auto r = request(19, 2);
  p.data(Direction::kToServer, r, 2);  // framing kept after the skipped PDU
  ASSERT_EQ(sink.recs.size(), 1u);
  EXPECT_EQ(sink.recs[0].opnum, 19);
  std::vector<uint8_t> junk(40, 0x41);
  p.data(Direction::kToServer, junk, 3);
  EXPECT_EQ(an.count("dcerpc_bad_header"), 1u);
  p.data(Direction::kToServer, r, 4);  // direction lost: ignored, never fatal
  EXPECT_EQ(sink.recs.size(), 1u);
}

TEST(DceRpc, Probe) {
  auto b = bind_svcctl();
  EXPECT_EQ(probe_dcerpc(b, Direction::kToServer, 135), ProbeResult::kYes);
  EXPECT_EQ(probe_dcerpc(b, Direction::kToClient, 135), ProbeResult::kNo);
  EXPECT_EQ(probe_dcerpc(std::span(b).first(5), Direction::kToServer, 135), ProbeResult::kMaybe);
  auto r = request(1, 1);
  EXPECT_EQ(probe_dcerpc(r, Direction::kToServer, 135), ProbeResult::kNo);
}

// Zerologon over TCP: the Netlogon calls of the exploit are visible by name.
TEST(DceRpcCorpus, ZerologonNetlogonCalls) {
  std::string f = std::string(KOMAINU_SHARED_DIR) +
                  "/corpus/pcap/smb-lateral-movement/"
                  "CVE-2020-1472_Zerologon_RPC_NetLogon_NullChallenge_SecChan_6_from_nonDC_to_DC."
                  "pcapng";
  if (!std::filesystem::exists(f)) GTEST_SKIP() << "public corpus not found: " << f;
  const AnalyzerApi* api = Registry<AnalyzerApi>::find("dce_rpc");
  ASSERT_NE(api, nullptr);
  testing::PcapPayloads pl;
  ASSERT_TRUE(testing::load_pcap_payloads(f, pl)) << pl.error;
  testing::CollectingSink sink;
  testing::run_analyzer(*api, pl, sink);
  size_t auth3 = 0;
  for (const auto& row : sink.zeek["dce_rpc"])
    if (row.find("\tnetlogon\tNetrServerAuthenticate3") != std::string::npos) ++auth3;
  EXPECT_GT(auth3, 100u);
}

}  // namespace
}  // namespace komainu::dcerpc
