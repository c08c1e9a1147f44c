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

}  // namespace
}  // namespace komainu
