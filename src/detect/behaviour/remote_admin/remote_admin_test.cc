#include "detect/behaviour/remote_admin/remote_admin.h"

#include <gtest/gtest.h>

#include "detect/behaviour/test_sink.h"

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

}  // namespace
}  // namespace komainu
