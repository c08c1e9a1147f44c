#include "detect/behaviour/lateral_movement/lateral_movement.h"

#include <gtest/gtest.h>

#include "detect/behaviour/test_sink.h"

namespace komainu {
namespace {
using testing::ip;

TEST(LateralMovement, VpnPoolNeedsFewerHosts) {
  testing::AlertSink out;
  LateralConfig c;
  c.vpn_pool_cidrs.push_back(*Cidr::parse("10.8.0.0/16"));
  LateralMovementDetector d(c, nullptr, &out);
  for (int i = 0; i < 5; ++i)
    d.on_conn(i * kNsPerSec, ip("10.8.3.17"), IpAddr::v4(0x0a140000 + i), 3389, false, "");
  ASSERT_EQ(out.alerts.size(), 1u);
  EXPECT_EQ(out.alerts[0].ts, 4 * kNsPerSec);
  for (int i = 0; i < 9; ++i)
    d.on_conn(i * kNsPerSec, ip("10.30.1.1"), IpAddr::v4(0x0a140000 + i), 3389, false, "");
  EXPECT_EQ(out.alerts.size(), 1u);  // an ordinary source needs 10
  d.on_conn(9 * kNsPerSec, ip("10.30.1.1"), IpAddr::v4(0x0a140009), 3389, false, "");
  EXPECT_EQ(out.alerts.size(), 2u);
}

TEST(LateralMovement, NewServerAfterLearning) {
  testing::AlertSink out;
  LateralConfig c;
  c.vpn_pool_cidrs.push_back(*Cidr::parse("10.8.0.0/16"));
  LateralMovementDetector d(c, nullptr, &out);
  d.on_conn(0, ip("10.30.1.1"), ip("10.30.0.5"), 445, true, "");  // learning starts
  d.on_conn(100 * kNsPerSec, ip("10.8.1.1"), ip("10.20.7.44"), 445, true,
            "U\\x");  // learning: quiet
  EXPECT_TRUE(out.alerts.empty());
  d.on_conn(700 * kNsPerSec, ip("10.8.1.2"), ip("10.30.0.5"), 445, true, "");  // known server
  EXPECT_TRUE(out.alerts.empty());
  d.on_conn(800 * kNsPerSec, ip("10.8.3.17"), ip("10.20.7.45"), 445, true, "R\\jdoe");
  ASSERT_EQ(out.alerts.size(), 1u);
  EXPECT_EQ(out.alerts[0].alert.signature_id, LateralMovementDetector::kSidNewHost);
  // Not admin ports, or internet destinations: ignored.
  d.on_conn(900 * kNsPerSec, ip("10.8.3.17"), ip("10.20.7.46"), 8080, true, "");
  d.on_conn(900 * kNsPerSec, ip("10.8.3.17"), ip("8.8.8.8"), 22, true, "");
  EXPECT_EQ(out.alerts.size(), 1u);
}

}  // namespace
}  // namespace komainu
