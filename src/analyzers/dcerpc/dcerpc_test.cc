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
std::vector<uint8_t> request_with_stub(uint16_t opnum, const std::vector<uint8_t>& stub,
                                       uint32_t call_id = 6) {
  auto v = header(0, call_id);
  put32(v, uint32_t(stub.size())), put16(v, 0), put16(v, opnum);
  v.insert(v.end(), stub.begin(), stub.end());
  finish(v);
  return v;
}
std::vector<uint8_t> request(uint16_t opnum, uint32_t call_id) {
  return request_with_stub(opnum, std::vector<uint8_t>(8, 0xaa), call_id);
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
  EXPECT_NE(sink.recs[2].zeek_schema(), nullptr);
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

TEST(DceRpc, GapThenResynchronisesOnAHeader) {
  Sink sink;
  FlowContext flow;
  AnomalyReporter an("dcerpc", "DCE_RPC");
  DceRpcParser p(SessionContext{&sink, &flow}, an);
  p.data(Direction::kToServer, bind_svcctl(), 1);
  auto r = request(12, 2);
  p.data(Direction::kToServer, std::span(r).first(10), 2);
  p.gap(Direction::kToServer);  // the rest of that call is lost
  std::vector<uint8_t> tail(r.begin() + 10, r.end());
  p.data(Direction::kToServer, tail, 3);  // mid-PDU bytes: still lost
  EXPECT_EQ(sink.recs.size(), 1u);
  p.data(Direction::kToServer, request(24, 3), 4);  // a segment opening with a header
  ASSERT_EQ(sink.recs.size(), 2u);
  EXPECT_EQ(sink.recs[1].operation, "CreateServiceA");  // contexts survive the gap
  EXPECT_EQ(p.resyncs(), 1u);
  // After a bad header the direction is not DCE-RPC: no resynchronisation.
  std::vector<uint8_t> junk(40, 0x41);
  p.data(Direction::kToServer, junk, 5);
  p.data(Direction::kToServer, request(24, 4), 6);
  EXPECT_EQ(sink.recs.size(), 2u);
  EXPECT_EQ(an.count("dcerpc_bad_header"), 1u);
}

TEST(DceRpc, Probe) {
  auto b = bind_svcctl();
  EXPECT_EQ(probe_dcerpc(b, Direction::kToServer, 135), ProbeResult::kYes);
  EXPECT_EQ(probe_dcerpc(b, Direction::kToClient, 135), ProbeResult::kNo);
  EXPECT_EQ(probe_dcerpc(std::span(b).first(5), Direction::kToServer, 135), ProbeResult::kMaybe);
  // A capture that starts after the BIND: a well-formed first fragment of a REQUEST.
  auto r = request(1, 1);
  EXPECT_EQ(probe_dcerpc(r, Direction::kToServer, 135), ProbeResult::kYes);
  auto middle = r;
  middle[3] = 0x02;  // a later fragment: no call starts here
  EXPECT_EQ(probe_dcerpc(middle, Direction::kToServer, 135), ProbeResult::kNo);
  auto drep = r;
  drep[6] = 0x41;  // the data representation's reserved bytes are zero
  EXPECT_EQ(probe_dcerpc(drep, Direction::kToServer, 135), ProbeResult::kNo);
  auto auth = r;
  auth[10] = 200;  // an auth trailer longer than the fragment
  EXPECT_EQ(probe_dcerpc(auth, Direction::kToServer, 135), ProbeResult::kNo);
}

// GUID text → NDR little-endian bytes.
void put_guid(std::vector<uint8_t>& v, const char* text) {
  unsigned a, b, c, d[8];
  sscanf(text, "%8x-%4x-%4x-%2x%2x-%2x%2x%2x%2x%2x%2x", &a, &b, &c, &d[0], &d[1], &d[2], &d[3],
         &d[4], &d[5], &d[6], &d[7]);
  put32(v, a), put16(v, uint16_t(b)), put16(v, uint16_t(c));
  for (unsigned x : d) v.push_back(uint8_t(x));
}
void put_type_header(std::vector<uint8_t>& v, uint32_t len) {
  v.insert(v.end(), {0x01, 0x10, 0x08, 0x00, 0xcc, 0xcc, 0xcc, 0xcc});
  put32(v, len), put32(v, 0);
}
// A RemoteCreateInstance stub as MS-DCOM lays it out: ORPCTHIS, then the activation
// properties (OBJREF_CUSTOM of CLSID_ActivationPropertiesIn) holding SpecialSystemProperties
// and InstantiationInfo (whose data opens with the class to create).
std::vector<uint8_t> activation_stub(const char* clsid,
                                     const char* iid = "000001a2-0000-0000-c000-000000000046") {
  std::vector<uint8_t> blob;  // CustomHeader and the two properties
  put_type_header(blob, 96);
  put32(blob, 0), put32(blob, 112), put32(blob, 0), put32(blob, 2), put32(blob, 2);
  blob.insert(blob.end(), 16, 0);
  put32(blob, 0x20000), put32(blob, 0x20004), put32(blob, 0);
  put32(blob, 2);
  put_guid(blob, "000001b9-0000-0000-c000-000000000046");
  put_guid(blob, "000001ab-0000-0000-c000-000000000046");
  put32(blob, 2), put32(blob, 24), put32(blob, 40);
  while (blob.size() < 112) blob.push_back(0);
  put_type_header(blob, 8);
  blob.insert(blob.end(), 8, 0);
  put_type_header(blob, 24);
  put_guid(blob, clsid);
  blob.insert(blob.end(), 8, 0);
  std::vector<uint8_t> v = {5, 0, 7, 0};
  v.insert(v.end(), 28, 0);  // flags, reserved, causality id, no extensions
  std::vector<uint8_t> objref = {'M', 'E', 'O', 'W'};
  put32(objref, 4);
  put_guid(objref, iid);
  put_guid(objref, "00000338-0000-0000-c000-000000000046");
  put32(objref, 0), put32(objref, uint32_t(blob.size() + 8));
  put32(objref, uint32_t(blob.size())), put32(objref, 0);
  objref.insert(objref.end(), blob.begin(), blob.end());
  put32(v, 0x20000), put32(v, uint32_t(objref.size())), put32(v, uint32_t(objref.size()));
  v.insert(v.end(), objref.begin(), objref.end());
  return v;
}

TEST(DceRpc, ActivationWithoutBindNamesTheClass) {
  Sink sink;
  FlowContext flow;
  AnomalyReporter an("dcerpc", "DCE_RPC");
  DceRpcParser p(SessionContext{&sink, &flow}, an);
  auto act = request_with_stub(4, activation_stub("49b2791a-b1ae-4c90-9b8e-e860ba07f889"));
  p.data(Direction::kToServer, act, 1);
  ASSERT_EQ(sink.recs.size(), 1u);
  EXPECT_EQ(sink.recs[0].activated_clsid, "49b2791a-b1ae-4c90-9b8e-e860ba07f889");
  EXPECT_EQ(sink.recs[0].activated_class, "MMC20.Application");
  EXPECT_EQ(sink.recs[0].endpoint, "IRemoteSCMActivator");
  EXPECT_EQ(sink.recs[0].operation, "RemoteCreateInstance");
  EXPECT_TRUE(sink.recs[0].interface_from_stub);
  EXPECT_TRUE(sink.recs[0].midstream);
  EXPECT_EQ(sink.recs[0].zeek_schema(), nullptr);  // EVE only, as Zeek logs no such call
  {
    std::string out;
    JsonWriter w(out);
    w.begin_object();
    sink.recs[0].write_eve(w);
    w.end_object();
    EXPECT_NE(out.find("\"class\":\"MMC20.Application\""), std::string::npos) << out;
  }
  // The same opnum with any other stub (ept_map on the endpoint mapper, another
  // interface's call) names nothing: the interface stays unknown.
  auto other = request_with_stub(3, std::vector<uint8_t>(600, 0x4d));
  p.data(Direction::kToServer, other, 2);
  auto wrong_iid = request_with_stub(3, activation_stub("49b2791a-b1ae-4c90-9b8e-e860ba07f889",
                                                        "00000131-0000-0000-c000-000000000046"));
  p.data(Direction::kToServer, wrong_iid, 3);
  ASSERT_EQ(sink.recs.size(), 3u);
  for (size_t i = 1; i < 3; ++i) {
    EXPECT_TRUE(sink.recs[i].activated_clsid.empty());
    EXPECT_TRUE(sink.recs[i].endpoint.empty());
  }
}

TEST(DceRpc, ActivationBlobTruncatedOrLying) {
  auto stub = activation_stub("9ba05972-f6a8-11cf-a442-00a0c90a8f39");
  EXPECT_EQ(activation_clsid(stub, true), "9ba05972-f6a8-11cf-a442-00a0c90a8f39");
  // Every truncation before the class id's end (8 filler bytes follow it) is a clean "no
  // class", never a read past the end.
  for (size_t n = 0; n < stub.size() - 8; ++n)
    EXPECT_EQ(activation_clsid(std::span(stub).first(n), true), "") << n;
  auto lying = stub;
  lying[32 + 12 + 56 + 16 + 4] = 0xff;  // headerSize points far past the stub
  EXPECT_EQ(activation_clsid(lying, true), "");
}

// The dce_rpc analyzer over every connection of a capture.
void run_dcerpc(const std::string& pcap, testing::CollectingSink& sink) {
  const AnalyzerApi* api = Registry<AnalyzerApi>::find("dce_rpc");
  ASSERT_NE(api, nullptr);
  testing::PcapPayloads pl;
  ASSERT_TRUE(testing::load_pcap_payloads(pcap, pl)) << pl.error;
  testing::run_analyzer(*api, pl, sink);
}

// Zerologon over TCP: the Netlogon calls of the exploit are visible by name.
TEST(DceRpcCorpus, ZerologonNetlogonCalls) {
  std::string f = std::string(KOMAINU_SHARED_DIR) +
                  "/corpus/pcap/smb-lateral-movement/"
                  "CVE-2020-1472_Zerologon_RPC_NetLogon_NullChallenge_SecChan_6_from_nonDC_to_DC."
                  "pcapng";
  if (!std::filesystem::exists(f)) GTEST_SKIP() << "public corpus not found: " << f;
  testing::CollectingSink sink;
  ASSERT_NO_FATAL_FAILURE(run_dcerpc(f, sink));
  size_t auth3 = 0;
  for (const auto& row : sink.zeek["dce_rpc"])
    if (row.find("\tnetlogon\tNetrServerAuthenticate3") != std::string::npos) ++auth3;
  EXPECT_GT(auth3, 100u);
}

// DCOM lateral movement with MMC20.Application: the capture starts after the BIND of both
// connections; the clear activation request on 135 still names the class.
TEST(DceRpcCorpus, Mmc20ActivationWithoutBind) {
  std::string f = std::string(KOMAINU_SHARED_DIR) +
                  "/corpus/pcap/smb-lateral-movement/LM_dcom_mmc20.application_dcerpc.pcapng";
  if (!std::filesystem::exists(f)) GTEST_SKIP() << "public corpus not found: " << f;
  testing::CollectingSink sink;
  ASSERT_NO_FATAL_FAILURE(run_dcerpc(f, sink));
  size_t activations = 0;
  for (const auto& e : sink.eve)
    if (e.json.find("\"class\":\"MMC20.Application\"") != std::string::npos) ++activations;
  EXPECT_EQ(activations, 1u);
}

}  // namespace
}  // namespace komainu::dcerpc
