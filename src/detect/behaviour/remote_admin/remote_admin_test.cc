#include "detect/behaviour/remote_admin/remote_admin.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <memory>

#include "analyzers/smb/smb_record.h"
#include "detect/behaviour/test_sink.h"
#include "flow/flow.h"

namespace komainu {
namespace {
using testing::ip;

uint32_t sid(const AlertRecord& a) {
  return a.alert.signature_id;
}

TEST(RemoteAdmin, ServiceCreationOncePerPair) {
  testing::AlertSink out;
  RemoteAdminDetector d(RemoteAdminConfig{}, &out);
  IpAddr a = ip("10.0.0.5"), b = ip("10.0.0.9");
  d.on_rpc(1, a, b, "svcctl", 15, "OpenSCManagerW", "", "");
  EXPECT_TRUE(out.alerts.empty());  // opening the SCM is what consoles do
  d.on_rpc(2, a, b, "svcctl", 12, "CreateServiceW", "", "");
  d.on_rpc(3, a, b, "svcctl", 12, "CreateServiceW", "", "");
  ASSERT_EQ(out.alerts.size(), 1u);
  EXPECT_EQ(sid(out.alerts[0]), RemoteAdminDetector::kServiceCreate);
  EXPECT_EQ(out.alerts[0].ts, 2);
  d.on_rpc(4, a, ip("10.0.0.10"), "svcctl", 12, "CreateServiceW", "svcctl", "D\\u");
  ASSERT_EQ(out.alerts.size(), 2u);  // another target: another alert
  // Over a named pipe the alert also carries T1021.002 (SMB/Windows admin shares).
  bool smb = false;
  for (const auto& [k, v] : out.alerts[1].alert.metadata)
    for (const auto& x : v) smb = smb || (k == "mitre_technique_id" && x == "T1021.002");
  EXPECT_TRUE(smb);
}

TEST(RemoteAdmin, ZerologonNeedsManyAttempts) {
  testing::AlertSink out;
  RemoteAdminDetector d(RemoteAdminConfig{}, &out);
  IpAddr a = ip("10.0.0.5"), dc = ip("10.0.0.1");
  for (int i = 0; i < 3; ++i) d.on_rpc(i, a, dc, "netlogon", 26, "NetrServerAuthenticate3", "", "");
  EXPECT_TRUE(out.alerts.empty());  // a machine's secure channel set-up
  // Attempts spread over more than the window never add up.
  for (int i = 0; i < 30; ++i)
    d.on_rpc(TimeNs(i) * 61 * kNsPerSec + kNsPerSec * 1000, a, dc, "netlogon", 26, "", "", "");
  EXPECT_TRUE(out.alerts.empty());
  for (int i = 0; i < 20; ++i)
    d.on_rpc(kNsPerSec * 5000 + i * kNsPerMs, a, dc, "netlogon", 26, "", "", "");
  ASSERT_EQ(out.alerts.size(), 1u);
  EXPECT_EQ(sid(out.alerts[0]), RemoteAdminDetector::kZerologon);
}

TEST(RemoteAdmin, DcSyncExceptFromDomainControllers) {
  testing::AlertSink out;
  RemoteAdminConfig c;
  c.replication_sources.push_back(*Cidr::parse("10.0.0.2/32"));
  RemoteAdminDetector d(c, &out);
  d.on_rpc(1, ip("10.0.0.2"), ip("10.0.0.1"), "drsuapi", 3, "DRSGetNCChanges", "", "");
  EXPECT_TRUE(out.alerts.empty());
  d.on_rpc(2, ip("10.0.0.77"), ip("10.0.0.1"), "drsuapi", 3, "DRSGetNCChanges", "", "");
  ASSERT_EQ(out.alerts.size(), 1u);
  EXPECT_EQ(sid(out.alerts[0]), RemoteAdminDetector::kDcSync);
}

TEST(RemoteAdmin, PrintingIsNotPrintNightmare) {
  testing::AlertSink out;
  RemoteAdminDetector d(RemoteAdminConfig{}, &out);
  d.on_rpc(1, ip("10.0.0.5"), ip("10.0.0.3"), "spoolss", 69, "RpcOpenPrinterEx", "spoolss", "");
  EXPECT_TRUE(out.alerts.empty());
  d.on_rpc(2, ip("10.0.0.5"), ip("10.0.0.3"), "spoolss", 89, "RpcAddPrinterDriverEx", "spoolss",
           "");
  ASSERT_EQ(out.alerts.size(), 1u);
  EXPECT_EQ(sid(out.alerts[0]), RemoteAdminDetector::kPrintNightmare);
}

TEST(RemoteAdmin, DcomActivationOfCommandRunningObjects) {
  testing::AlertSink out;
  RemoteAdminDetector d(RemoteAdminConfig{}, &out);
  IpAddr a = ip("10.0.0.5"), b = ip("10.0.0.9");
  // WMI's login object and unknown classes: remote activation is what management tools do.
  d.on_activation(1, a, b, "8bc3f05e-d86b-11d0-a075-00c04fb68820", "WbemLevel1Login",
                  "RemoteCreateInstance", "");
  d.on_activation(2, a, b, "11111111-2222-3333-4444-555555555555", "", "RemoteCreateInstance", "");
  EXPECT_TRUE(out.alerts.empty());
  d.on_activation(3, a, b, "49b2791a-b1ae-4c90-9b8e-e860ba07f889", "MMC20.Application",
                  "RemoteGetClassObject", "D\\admin");
  d.on_activation(4, a, b, "49b2791a-b1ae-4c90-9b8e-e860ba07f889", "MMC20.Application",
                  "RemoteGetClassObject", "");
  ASSERT_EQ(out.alerts.size(), 1u);  // one per pair; the repeat is counted
  EXPECT_EQ(sid(out.alerts[0]), RemoteAdminDetector::kDcomActivation);
  EXPECT_EQ(out.alerts[0].alert.severity, 1);
  EXPECT_NE(out.alerts[0].alert.signature.find("MMC20.Application"), std::string::npos)
      << out.alerts[0].alert.signature;
}

TEST(RemoteAdmin, ShareEnumerationNeedsManyHosts) {
  testing::AlertSink out;
  RemoteAdminDetector d(RemoteAdminConfig{}, &out);
  for (int i = 0; i < 4; ++i)
    d.on_rpc(i, ip("10.0.0.5"), IpAddr::v4(0x0a000100 + i), "srvsvc", 15, "NetrShareEnum", "srvsvc",
             "");
  EXPECT_TRUE(out.alerts.empty());  // Explorer browsing a few servers
  d.on_rpc(5, ip("10.0.0.5"), IpAddr::v4(0x0a000120), "srvsvc", 15, "NetrShareEnum", "srvsvc", "");
  ASSERT_EQ(out.alerts.size(), 1u);
  EXPECT_EQ(sid(out.alerts[0]), RemoteAdminDetector::kShareDiscovery);
}

TEST(RemoteAdmin, AdminShareToolTransferAndOutputPolling) {
  testing::AlertSink out;
  RemoteAdminDetector d(RemoteAdminConfig{}, &out);
  IpAddr a = ip("10.0.0.5"), b = ip("10.0.0.9");
  d.on_smb_file(1, a, b, "\\\\srv\\data", "tools\\x.exe", 'w', "");
  EXPECT_TRUE(out.alerts.empty());  // not an admin share
  d.on_smb_file(2, a, b, "\\\\10.0.0.9\\ADMIN$", "PSEXESVC.exe", 'w', "D\\admin");
  ASSERT_EQ(out.alerts.size(), 1u);
  EXPECT_EQ(sid(out.alerts[0]), RemoteAdminDetector::kToolTransfer);
  // One read-then-delete of a root file is a cleanup; the second is polling.
  for (int round = 0; round < 2; ++round) {
    d.on_smb_file(10 + round, a, b, "\\\\10.0.0.9\\C$", "__output", 'c', "");
    d.on_smb_file(10 + round, a, b, "\\\\10.0.0.9\\C$", "__output", 'r', "");
    d.on_smb_file(10 + round, a, b, "\\\\10.0.0.9\\C$", "__output", 'd', "");
    EXPECT_EQ(out.alerts.size(), 1u + round);
  }
  EXPECT_EQ(sid(out.alerts[1]), RemoteAdminDetector::kOutputPolling);
  d.on_smb_file(20, a, b, "\\\\10.0.0.9\\IPC$", "PSEXESVC", 'c', "");
  ASSERT_EQ(out.alerts.size(), 3u);
  EXPECT_EQ(sid(out.alerts[2]), RemoteAdminDetector::kExecToolPipe);
}

TEST(RemoteAdmin, BoundedKeys) {
  testing::AlertSink out;
  RemoteAdminConfig c;
  c.max_keys = 16;
  RemoteAdminDetector d(c, &out);
  for (int i = 0; i < 100; ++i)
    d.on_rpc(i, IpAddr::v4(0x0a000000 + i), ip("10.9.9.9"), "svcctl", 12, "", "", "");
  EXPECT_EQ(out.alerts.size(), 100u);
  std::string stats;
  JsonWriter w(stats);
  w.begin_object();
  d.write_stats(w);
  w.end_object();
  EXPECT_NE(stats.find("\"keys\":16"), std::string::npos) << stats;
}

// --- SMBGhost (CVE-2020-0796) ---------------------------------------------------------

std::string meta(const AlertRecord& a, const std::string& key) {
  std::string out;
  for (const auto& [k, v] : a.alert.metadata)
    if (k == key)
      for (const auto& x : v) out += (out.empty() ? "" : ",") + x;
  return out;
}

std::string evidence(const AlertRecord& a) {
  for (const auto& [k, v] : a.extra_json)
    if (k == "evidence") return v;
  return "";
}

FlowContext smb_flow(const char* src, const char* dst, uint64_t id, uint16_t dport = 445) {
  FlowContext f;
  f.flow_id = id;
  f.uid = "CSmb" + std::to_string(id);
  f.tuple.src = ip(src);
  f.tuple.dst = ip(dst);
  f.tuple.sport = 50000;
  f.tuple.dport = dport;
  f.tuple.proto = 6;
  return f;
}

smb::SmbCompressionRecord compression(const FlowContext& f, std::string_view anomaly,
                                      bool to_client = false) {
  smb::SmbCompressionRecord r;
  r.ts = 5 * kNsPerSec;
  r.flow = &f;
  r.to_client = to_client;
  r.anomaly = anomaly;
  r.original_size = 0xffffffffu;
  r.algorithm = 1;
  r.offset = 16;
  r.pdu_length = 51;
  r.dialect = "3.11";
  r.negotiated = true;
  r.compression_accepted = {"LZNT1"};
  r.max_transact = r.max_read = r.max_write = 8 << 20;
  r.size_limit = (8 << 20) + 272;
  return r;
}

TEST(RemoteAdmin, SmbGhostSizeOverflow) {
  testing::AlertSink out;
  RemoteAdminDetector d(RemoteAdminConfig{}, &out);
  FlowContext f = smb_flow("10.0.0.5", "10.0.0.9", 1);
  // Other malformed headers are counted anomalies, not this alert.
  d.publish(compression(f, "smb3_compression_size_too_large"));
  d.publish(compression(f, "smb3_bad_compression_offset"));
  d.publish(compression(f, "smb3_compression_not_negotiated"));
  EXPECT_TRUE(out.alerts.empty());
  d.publish(compression(f, "smb3_compression_size_overflow"));
  d.publish(compression(f, "smb3_compression_size_overflow"));
  ASSERT_EQ(out.alerts.size(), 1u);  // once per pair
  const AlertRecord& a = out.alerts[0];
  EXPECT_EQ(sid(a), RemoteAdminDetector::kSmbGhost);
  EXPECT_EQ(a.alert.gid, 9000001u);
  EXPECT_EQ(a.alert.severity, 1);
  EXPECT_EQ(a.ts, 5 * kNsPerSec);
  EXPECT_EQ(meta(a, "mitre_tactic_id"), "TA0008");  // another host: remote exploitation
  EXPECT_EQ(meta(a, "mitre_technique_id"), "T1210");
  EXPECT_EQ(meta(a, "ip"), "10.0.0.5,10.0.0.9");
  EXPECT_EQ(meta(a, "cve"), "CVE-2020-0796");
  EXPECT_EQ(a.src_ip, "10.0.0.5");
  std::string ev = evidence(a);
  EXPECT_NE(ev.find("\"uid\":\"CSmb1\""), std::string::npos) << ev;
  EXPECT_NE(ev.find("\"original_compressed_segment_size\":4294967295"), std::string::npos) << ev;
  EXPECT_NE(ev.find("\"offset\":16"), std::string::npos) << ev;
  EXPECT_NE(ev.find("\"compression_algorithm\":\"LZNT1\""), std::string::npos) << ev;
  EXPECT_NE(ev.find("\"size_plus_offset_32bit\":15"), std::string::npos) << ev;
  EXPECT_NE(ev.find("\"size_limit\":8388880"), std::string::npos) << ev;

  // Sent by the server: the server attacks the client (the client-side flaw).
  FlowContext g = smb_flow("10.0.0.7", "10.0.0.8", 2);
  d.publish(compression(g, "smb3_compression_size_overflow", true));
  ASSERT_EQ(out.alerts.size(), 2u);
  EXPECT_EQ(out.alerts[1].src_ip, "10.0.0.8");
  EXPECT_NE(evidence(out.alerts[1]).find("\"direction\":\"to_client\""), std::string::npos);
}

TEST(RemoteAdmin, SmbGhostOnOneHostIsPrivilegeEscalation) {
  for (auto [src, dst] : {std::pair{"127.0.0.1", "127.0.0.1"}, std::pair{"127.0.0.1", "127.0.0.2"},
                          std::pair{"::1", "::1"}, std::pair{"10.0.0.5", "10.0.0.5"}}) {
    testing::AlertSink out;
    RemoteAdminDetector d(RemoteAdminConfig{}, &out);
    FlowContext f = smb_flow(src, dst, 3);
    d.publish(compression(f, "smb3_compression_size_overflow"));
    ASSERT_EQ(out.alerts.size(), 1u) << src;
    EXPECT_EQ(meta(out.alerts[0], "mitre_tactic_id"), "TA0004") << src;
    EXPECT_EQ(meta(out.alerts[0], "mitre_technique_id"), "T1068") << src;
    EXPECT_NE(out.alerts[0].alert.signature.find("local privilege escalation"), std::string::npos);
  }
}

// The SMB records and the end of one flow, as the pipeline publishes them.
struct SmbFlow {
  SmbFlow(const char* src, const char* dst, uint64_t id, uint16_t dport = 445)
      : ctx(smb_flow(src, dst, id, dport)) {
    flow.ctx = ctx;
  }
  smb::SmbRecord negotiate(std::vector<std::string> offered, std::string dialect = "3.11",
                           uint64_t client_bytes = 196) {
    smb::SmbRecord r;
    r.ts = 10 * kNsPerSec;
    r.flow = &ctx;
    r.command = "SMB2_COMMAND_NEGOTIATE_PROTOCOL";
    r.dialect = std::move(dialect);
    r.compression_offered = std::move(offered);
    r.compression_accepted = {"LZNT1"};
    r.client_guid_zero = true;
    r.client_bytes = client_bytes;
    return r;
  }
  smb::SmbRecord command(const char* name) {
    smb::SmbRecord r;
    r.ts = 11 * kNsPerSec;
    r.flow = &ctx;
    r.command = name;
    return r;
  }
  ConnRecord end(const char* history, uint64_t orig_bytes = 196) {
    std::snprintf(flow.history, sizeof flow.history, "%s", history);
    flow.hist_len = uint8_t(std::strlen(history));
    flow.last = 12 * kNsPerSec;
    ConnRecord c;
    c.ts = 9 * kNsPerSec;
    c.flow = &ctx;
    c.f = &flow;
    c.orig_bytes = orig_bytes;
    return c;
  }
  FlowContext ctx;
  Flow flow;
};

TEST(RemoteAdmin, SmbGhostScannerNegotiateOnly) {
  testing::AlertSink out;
  RemoteAdminDetector d(RemoteAdminConfig{}, &out);
  SmbFlow f("10.0.0.1", "10.0.0.133", 1);
  d.publish(f.negotiate({"LZNT1"}));
  d.publish(f.end("ShADdFar"));
  ASSERT_EQ(out.alerts.size(), 1u);
  const AlertRecord& a = out.alerts[0];
  EXPECT_EQ(sid(a), RemoteAdminDetector::kSmbGhostScan);
  EXPECT_EQ(a.alert.severity, 3);
  EXPECT_EQ(a.ts, 12 * kNsPerSec);                  // when the client closed
  EXPECT_EQ(meta(a, "mitre_tactic_id"), "TA0007");  // from inside: discovery
  EXPECT_EQ(meta(a, "mitre_technique_id"), "T1046");
  std::string ev = evidence(a);
  EXPECT_NE(ev.find("\"compression_offered\":[\"LZNT1\"]"), std::string::npos) << ev;
  EXPECT_NE(ev.find("\"closed_by\":\"client FIN\""), std::string::npos) << ev;
  EXPECT_NE(ev.find("\"client_guid_zero\":true"), std::string::npos) << ev;
  // The same scanner on the next host: counted, not alerted again.
  SmbFlow g("10.0.0.1", "10.0.0.134", 2);
  d.publish(g.negotiate({"LZNT1"}));
  d.publish(g.end("ShADdRa"));
  EXPECT_EQ(out.alerts.size(), 1u);
  // From the internet: reconnaissance.
  SmbFlow x("93.184.216.34", "10.0.0.133", 3);
  d.publish(x.negotiate({"LZNT1", "LZ77"}));
  d.publish(x.end("ShADdRa"));
  ASSERT_EQ(out.alerts.size(), 2u);
  EXPECT_EQ(meta(out.alerts[1], "mitre_tactic_id"), "TA0043");
  EXPECT_EQ(meta(out.alerts[1], "mitre_technique_id"), "T1595.002");
}

TEST(RemoteAdmin, ClientsThatGoOnAreNotScanners) {
  testing::AlertSink out;
  RemoteAdminDetector d(RemoteAdminConfig{}, &out);
  uint64_t id = 10;
  auto quiet = [&](SmbFlow& f, std::vector<smb::SmbRecord> records, const char* history,
                   uint64_t orig_bytes = 196) {
    for (auto& r : records) d.publish(r);
    d.publish(f.end(history, orig_bytes));
    EXPECT_TRUE(out.alerts.empty()) << history;
  };
  {  // a Windows client: SESSION_SETUP follows
    SmbFlow f("10.0.0.2", "10.0.0.9", ++id);
    quiet(f, {f.negotiate({"LZ77", "LZNT1"}), f.command("SMB2_COMMAND_SESSION_SETUP")}, "ShADadFf",
          4000);
  }
  {  // the client sent more (a SESSION_SETUP the server never answered)
    SmbFlow f("10.0.0.2", "10.0.0.9", ++id);
    quiet(f, {f.negotiate({"LZNT1"})}, "ShADdFa", 900);
  }
  {  // no compression offered (Windows before 1903, Samba, nmap's smb2 scripts)
    SmbFlow f("10.0.0.2", "10.0.0.9", ++id);
    quiet(f, {f.negotiate({})}, "ShADdFa");
  }
  {  // another dialect was chosen
    SmbFlow f("10.0.0.2", "10.0.0.9", ++id);
    quiet(f, {f.negotiate({"LZNT1"}, "3.02")}, "ShADdFa");
  }
  {  // SMB1 multi-protocol negotiate first, then SMB2's: a client's sequence
    SmbFlow f("10.0.0.2", "10.0.0.9", ++id);
    smb::SmbRecord smb1 = f.command("SMB1_COMMAND_NEGOTIATE_PROTOCOL");
    smb1.dialect = "2.??";
    quiet(f, {smb1, f.negotiate({"LZNT1"})}, "ShADdFa");
  }
  {  // NetBIOS transport: clients close and reconnect after negotiating (MS-SMB2 3.2.5.2)
    SmbFlow f("10.0.0.2", "10.0.0.9", ++id, 139);
    quiet(f, {f.negotiate({"LZNT1"})}, "ShADdFa");
  }
  {  // the capture (or a timeout) ended the flow, not the client
    SmbFlow f("10.0.0.2", "10.0.0.9", ++id);
    quiet(f, {f.negotiate({"LZNT1"})}, "ShADd");
    SmbFlow g("10.0.0.2", "10.0.0.9", ++id);
    quiet(g, {g.negotiate({"LZNT1"})}, "ShADdfr");  // the server closed
    SmbFlow h("10.0.0.2", "10.0.0.9", ++id);
    quiet(h, {h.negotiate({"LZNT1"})}, "ShADdfFa");  // the server first, the client followed
  }
  {  // a compressed message followed (the exploit itself has its own rule)
    SmbFlow f("10.0.0.2", "10.0.0.9", ++id);
    d.publish(f.negotiate({"LZNT1"}));
    d.publish(compression(f.ctx, "smb3_compression_size_too_large"));
    d.publish(f.end("ShADdFa"));
    EXPECT_TRUE(out.alerts.empty());
  }
}

TEST(RemoteAdmin, NegotiateStateIsBounded) {
  testing::AlertSink out;
  RemoteAdminConfig c;
  c.max_keys = 16;
  RemoteAdminDetector d(c, &out);
  std::vector<std::unique_ptr<SmbFlow>> flows;
  for (uint64_t i = 0; i < 100; ++i) {
    flows.push_back(std::make_unique<SmbFlow>("10.0.0.2", "10.0.0.9", 1000 + i));
    d.publish(flows.back()->negotiate({"LZNT1"}));
  }
  std::string stats;
  JsonWriter w(stats);
  w.begin_object();
  d.write_stats(w);
  w.end_object();
  // 84 from the per-flow SMB state, 84 from the negotiate state: both hold 16.
  EXPECT_NE(stats.find("\"evictions\":168"), std::string::npos) << stats;
  // The newest flows are still remembered.
  d.publish(flows.back()->end("ShADdFa"));
  EXPECT_EQ(out.alerts.size(), 1u);
}

}  // namespace
}  // namespace komainu
