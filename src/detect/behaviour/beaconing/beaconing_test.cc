#include "detect/behaviour/beaconing/beaconing.h"

#include <gtest/gtest.h>

#include <random>

#include "detect/behaviour/test_sink.h"

namespace komainu {
namespace {
using testing::ip;

TEST(Beaconing, RegularBeaconScoresHighRandomLow) {
  std::mt19937 rng(1);
  std::vector<TimeNs> t, r;
  std::vector<uint64_t> s, rs;
  TimeNs now = 0, rnow = 0;
  for (int i = 0; i < 40; ++i) {
    now += 60 * kNsPerSec + std::uniform_int_distribution<int>(-1500, 1500)(rng) * kNsPerMs;
    t.push_back(now);
    s.push_back(350 + rng() % 10);
    rnow += std::exponential_distribution<double>(1.0 / 60)(rng) * kNsPerSec;
    r.push_back(rnow);
    rs.push_back(200 + rng() % 50000);
  }
  EXPECT_GT(beacon_score(t, s, 24).score, 0.9);
  EXPECT_LT(beacon_score(r, rs, 24).score, 0.75);
}

TEST(Beaconing, AlertsOnceAfterMinConnections) {
  testing::AlertSink out;
  BeaconingDetector d(BeaconConfig{}, nullptr, &out);
  IpAddr dst = ip("192.0.2.200");
  for (int i = 0; i < 30; ++i)
    d.on_event(i * 60 * kNsPerSec, ip("10.20.7.44"), &dst, "api.example", 350, false);
  ASSERT_EQ(out.alerts.size(), 1u);
  EXPECT_EQ(out.alerts[0].ts, 9 * 60 * kNsPerSec);  // the 10th connection
}

TEST(Beaconing, InternalDestinationsAndBurstsIgnored) {
  testing::AlertSink out;
  BeaconingDetector d(BeaconConfig{}, nullptr, &out);
  IpAddr dst = ip("10.30.0.9");
  for (int i = 0; i < 30; ++i)
    d.on_event(i * 60 * kNsPerSec, ip("10.20.7.44"), &dst, "x", 350, false);
  IpAddr ext = ip("192.0.2.1");
  for (int i = 0; i < 30; ++i) d.on_event(i * kNsPerMs, ip("10.20.7.45"), &ext, "y", 350, false);
  EXPECT_TRUE(out.alerts.empty());
}

}  // namespace
}  // namespace komainu
