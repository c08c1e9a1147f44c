#include "detect/behaviour/dns_tunnel/dns_tunnel.h"

#include <gtest/gtest.h>

#include "detect/behaviour/test_sink.h"

namespace komainu {
namespace {
using testing::ip;

TEST(DnsTunnel, RegisteredDomain) {
  EXPECT_EQ(registered_domain("a.b.dataflux-cdn.example"), "dataflux-cdn.example");
  EXPECT_EQ(registered_domain("www.bbc.co.uk."), "bbc.co.uk");
  EXPECT_EQ(registered_domain("example"), "example");
  EXPECT_EQ(registered_domain(""), "");
}

TEST(DnsTunnel, LongLabelsAlertAtFifthQuery) {
  testing::AlertSink out;
  DnsTunnelDetector d(DnsTunnelConfig{}, &out);
  for (int i = 0; i < 20; ++i)
    d.on_query(i * kNsPerSec, ip("10.20.5.88"), ip("10.20.0.2"),
               "mzxw6ytboi3dqnrxgu4tanjsgm2dkmbuhe3tqnzqgy2tkojzgaydcmrt" + std::to_string(i) +
                   ".s" + std::to_string(i) + ".dataflux-cdn.example",
               16);
  ASSERT_GE(out.alerts.size(), 1u);
  EXPECT_EQ(out.alerts[0].ts, 4 * kNsPerSec);
  EXPECT_LE(out.alerts.size(), 4u);
}

TEST(DnsTunnel, OrdinaryNamesAreQuiet) {
  testing::AlertSink out;
  DnsTunnelDetector d(DnsTunnelConfig{}, &out);
  const char* names[] = {"www.example.com", "mail.corp.example", "wpad.corp.example",
                         "api.github.com", "login.microsoftonline.com"};
  for (int i = 0; i < 500; ++i)
    d.on_query(i * kNsPerSec, ip("10.30.1.1"), ip("10.30.0.2"), names[i % 5], 1);
  EXPECT_TRUE(out.alerts.empty());
}

// iodine's raw mode and VPNs on port 53: a conversation that is not DNS.
TEST(DnsTunnel, NonDnsOnPort53AlertsOncePerPairThenDoubles) {
  testing::AlertSink out;
  DnsTunnelDetector d(DnsTunnelConfig{}, &out);
  // Under the packet floor: quiet.
  d.on_non_dns_flow(0, kNsPerSec, ip("172.22.0.3"), ip("172.22.0.2"), 17, 9, 900, 900);
  EXPECT_TRUE(out.alerts.empty());
  // The pair's second flow reaches it (a tunnel may change source ports).
  d.on_non_dns_flow(2 * kNsPerSec, 3 * kNsPerSec, ip("172.22.0.3"), ip("172.22.0.2"), 17, 2, 80,
                    80);
  ASSERT_EQ(out.alerts.size(), 1u);
  EXPECT_EQ(out.alerts[0].alert.signature_id, DnsTunnelDetector::kNonDnsSid);
  EXPECT_EQ(out.alerts[0].ts, 3 * kNsPerSec);
  // Same pair, not yet double: no new alert; doubled: one update.
  d.on_non_dns_flow(4 * kNsPerSec, 5 * kNsPerSec, ip("172.22.0.3"), ip("172.22.0.2"), 17, 5, 1, 1);
  EXPECT_EQ(out.alerts.size(), 1u);
  d.on_non_dns_flow(6 * kNsPerSec, 7 * kNsPerSec, ip("172.22.0.3"), ip("172.22.0.2"), 17, 10, 1, 1);
  ASSERT_EQ(out.alerts.size(), 2u);
  EXPECT_NE(out.alerts[1].alert.signature.find("(update)"), std::string::npos);
  // Updates are bounded.
  for (int i = 0; i < 40; ++i)
    d.on_non_dns_flow(8 * kNsPerSec, 9 * kNsPerSec, ip("172.22.0.3"), ip("172.22.0.2"), 17,
                      uint64_t(1) << i % 30, 1, 1);
  EXPECT_LE(out.alerts.size(), 2u + DnsTunnelConfig{}.max_updates);
}

TEST(DnsTunnel, OneSidedPort53FlowsAreQuiet) {
  testing::AlertSink out;
  DnsTunnelDetector d(DnsTunnelConfig{}, &out);
  // Probes and scans of port 53: no payload back.
  for (int i = 0; i < 100; ++i)
    d.on_non_dns_flow(i * kNsPerSec, i * kNsPerSec, ip("203.0.113.9"), ip("10.0.0.53"), 6, 50, 4000,
                      0);
  EXPECT_TRUE(out.alerts.empty());
}

TEST(DnsTunnel, NonDnsRuleNeedsAnalyzers) {
  testing::AlertSink out;
  DnsTunnelDetector on(DnsTunnelConfig{}, &out, true), off(DnsTunnelConfig{}, &out, false);
  EXPECT_TRUE(on.wants("flow"));
  EXPECT_FALSE(off.wants("flow"));  // without analyzers no flow has a service
  EXPECT_TRUE(off.wants("dns"));
  DnsTunnelConfig c;
  c.non_dns_min_packets = 0;
  EXPECT_FALSE(DnsTunnelDetector(c, &out, true).wants("flow"));
}

}  // namespace
}  // namespace komainu
