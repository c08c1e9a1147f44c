#include <gtest/gtest.h>

#include "logs/model/test_util.h"

namespace komainu::logs {
namespace {
using namespace testing;

LogEvent tunnel(bool up, const std::string& user, TimeNs ts, const std::string& pub,
                const std::string& tip) {
  LogEvent ev;
  ev.kind = "fortigate";
  ev.cls = up ? EventClass::kVpnSessionStart : EventClass::kVpnSessionEnd;
  ev.ts = ts;
  ev.user = user;
  set_ip(ev, pub);
  ev.tunnel_ip = tip;
  ev.host = "fw1";
  ev.outcome = Outcome::kSuccess;
  return ev;
}

TEST(VpnSessions, StartAndEndRecordsMapTunnelIpToUser) {
  DetectorHarness h("vpn_sessions");
  h.feed(tunnel(true, "alice", at(0, 9), "203.0.113.10", "10.212.134.5"));
  h.feed(tunnel(false, "alice", at(0, 10), "203.0.113.10", "10.212.134.5"));
  ASSERT_EQ(h.sink.items.size(), 2u);
  EXPECT_EQ(h.sink.items[0].event_type, "vpn_session");
  EXPECT_NE(h.sink.items[0].eve.find("\"state\":\"start\""), std::string::npos);
  EXPECT_NE(h.sink.items[1].eve.find("\"tunnel_ip\":\"10.212.134.5\""), std::string::npos);
  EXPECT_NE(h.sink.items[1].eve.find("\"duration_s\":3600"), std::string::npos);
}

TEST(VpnSessions, ConcurrentSessionsFromDifferentNetworks) {
  DetectorHarness h("vpn_sessions");
  h.feed(tunnel(true, "bob", at(0, 9), "203.0.113.10", "10.212.134.6"));
  h.feed(tunnel(true, "bob", at(0, 9, 5), "203.0.113.99", "10.212.134.7"));  // same /16: quiet
  EXPECT_EQ(h.sink.count_sid(2000063), 0u);
  h.feed(tunnel(true, "bob", at(0, 9, 10), "198.51.100.4", "10.212.134.8"));
  EXPECT_EQ(h.sink.count_sid(2000063), 1u);
  h.det->finish(h.ctx);
  size_t open = 0;
  for (const auto& i : h.sink.items) open += i.eve.find("\"state\":\"open\"") != std::string::npos;
  EXPECT_EQ(open, 3u);
}

}  // namespace
}  // namespace komainu::logs
