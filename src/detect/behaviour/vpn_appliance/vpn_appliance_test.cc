#include "detect/behaviour/vpn_appliance/vpn_appliance.h"

#include <gtest/gtest.h>

#include "detect/behaviour/test_sink.h"

namespace komainu {
namespace {
using testing::ip;

TEST(VpnAppliance, AdminAndInternet) {
  testing::AlertSink out;
  VpnApplianceConfig c;
  c.addresses = {ip("198.51.100.10"), ip("10.0.0.10")};
  VpnApplianceDetector d(c, nullptr, &out);
  d.on_conn(1, {ip("10.0.0.10"), ip("10.30.0.10"), 40000, 636, 6}, "SF");       // LDAPS: fine
  d.on_conn(2, {ip("198.51.100.10"), ip("198.18.0.53"), 40000, 53, 17}, "SF");  // DNS: allowed
  EXPECT_TRUE(out.alerts.empty());
  d.on_conn(3, {ip("10.0.0.10"), ip("10.30.0.10"), 40001, 445, 6}, "RSTO");
  d.on_conn(4, {ip("198.51.100.10"), ip("192.0.2.77"), 40002, 80, 6}, "SF");
  d.on_conn(5, {ip("198.51.100.10"), ip("192.0.2.77"), 40003, 80, 6}, "SF");  // same: once
  d.on_conn(6, {ip("10.30.1.1"), ip("192.0.2.77"), 40003, 80, 6}, "SF");      // not the appliance
  ASSERT_EQ(out.alerts.size(), 2u);
  EXPECT_EQ(out.alerts[0].alert.signature_id, VpnApplianceDetector::kSidAdmin);
  EXPECT_EQ(out.alerts[1].alert.signature_id, VpnApplianceDetector::kSidInternet);
  EXPECT_EQ(out.alerts[1].ts, 4);
}

}  // namespace
}  // namespace komainu
