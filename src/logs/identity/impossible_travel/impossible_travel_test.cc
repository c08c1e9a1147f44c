#include <gtest/gtest.h>

#include "logs/model/test_util.h"

namespace komainu::logs {
namespace {
using namespace testing;

LogEvent sydney(const std::string& user, TimeNs ts) {
  LogEvent ev = signin(user, ts, "1.120.3.4");
  ev.country = "AU";
  ev.city = "Sydney";
  ev.lat = -33.8688;
  ev.lon = 151.2093;
  return ev;
}

TEST(ImpossibleTravel, ParisThenSydneyFortyMinutesLater) {
  DetectorHarness h("impossible_travel");
  h.feed(signin("a@x.com", at(0, 9)));
  h.feed(sydney("a@x.com", at(0, 9, 40)));
  ASSERT_EQ(h.sink.count_sid(2000010), 1u);
  EXPECT_EQ(h.sink.items[0].ts, at(0, 9, 40));
  EXPECT_NE(h.sink.items[0].eve.find("\"distance_km\":169"), std::string::npos);
}

TEST(ImpossibleTravel, PlausibleFlightOrNearbyOrFailureIsQuiet) {
  DetectorHarness h("impossible_travel");
  h.feed(signin("a@x.com", at(0, 9)));
  h.feed(sydney("a@x.com", at(1, 9)));  // 24 h later: ~707 km/h
  h.feed(signin("b@x.com", at(0, 9)));
  LogEvent lyon = signin("b@x.com", at(0, 9, 5));
  lyon.lat = 45.76;
  lyon.lon = 4.83;  // ~390 km: below min_distance_km
  h.feed(lyon);
  h.feed(signin("c@x.com", at(0, 9)));
  LogEvent f = sydney("c@x.com", at(0, 9, 10));
  f.outcome = Outcome::kFailure;
  h.feed(f);
  EXPECT_TRUE(h.sink.items.empty());
}

}  // namespace
}  // namespace komainu::logs
