#include <gtest/gtest.h>

#include "logs/model/test_util.h"

namespace komainu::logs {
namespace {
using namespace testing;

LogEvent vpn(const std::string& user, TimeNs ts, const std::string& ip, bool ok) {
  LogEvent ev;
  ev.kind = "fortigate";
  ev.cls = EventClass::kVpnAuth;
  ev.ts = ts;
  ev.user = user;
  set_ip(ev, ip);
  ev.outcome = ok ? Outcome::kSuccess : Outcome::kFailure;
  return ev;
}

TEST(VpnAuth, BruteForceFromOneSource) {
  DetectorHarness h("vpn_auth");
  for (int i = 0; i < 12; ++i)
    h.feed(vpn("u" + std::to_string(i % 3), at(0, 1, 0, i), "198.51.100.7", false));
  EXPECT_EQ(h.sink.count_sid(2000060), 1u);
  EXPECT_EQ(h.sink.count_sid(2000061), 0u);
}

TEST(VpnAuth, NewRangeAfterHistoryAndUnusualHour) {
  DetectorHarness h("vpn_auth", "hours_min_history: 6\n");
  for (int i = 0; i < 6; ++i) h.feed(vpn("alice", at(i, 9), "203.0.113.10", true));
  EXPECT_TRUE(h.sink.items.empty());
  h.feed(vpn("alice", at(7, 3), "198.51.100.20", true));
  EXPECT_EQ(h.sink.count_sid(2000062), 1u);
  EXPECT_EQ(h.sink.count_sid(2000064), 1u);
  // Back home at the usual hour: quiet.
  h.feed(vpn("alice", at(8, 9), "203.0.113.11", true));
  EXPECT_EQ(h.sink.items.size(), 2u);
}

}  // namespace
}  // namespace komainu::logs
