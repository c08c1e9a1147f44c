#include "detect/behaviour/beaconing/beaconing.h"

#include <gtest/gtest.h>

#include <random>
#include <set>
#include <unordered_map>

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

TEST(Beaconing, ExternalOnlyIgnoresInternalDestinationsAndBursts) {
  testing::AlertSink out;
  BeaconConfig c;
  c.external_only = true;
  BeaconingDetector d(c, nullptr, &out);
  IpAddr dst = ip("10.30.0.9");
  for (int i = 0; i < 30; ++i)
    d.on_event(i * 60 * kNsPerSec, ip("10.20.7.44"), &dst, "x", 350, false);
  IpAddr ext = ip("192.0.2.1");
  for (int i = 0; i < 30; ++i) d.on_event(i * kNsPerMs, ip("10.20.7.45"), &ext, "y", 350, false);
  EXPECT_TRUE(out.alerts.empty());
}

// Internal C2 (a redirector or a lab C2 server on a private address): scored by default
// with a stricter threshold; the alert says so and is one severity lower.
TEST(Beaconing, InternalDestinationsNeedStricterScore) {
  std::mt19937 rng(7);
  testing::AlertSink out;
  BeaconingDetector d(BeaconConfig{}, nullptr, &out);
  IpAddr c2 = ip("172.18.0.2");
  TimeNs now = 0;
  for (int i = 0; i < 24; ++i) {  // jittered 30-60 s, as Caldera's agents sleep
    now += (30 + rng() % 31) * kNsPerSec;
    d.on_event(now, ip("172.18.0.3"), &c2, "172.18.0.2:8888", 900 + rng() % 40, false);
  }
  // Irregular internal traffic (a user's file server sessions) stays quiet.
  IpAddr fs = ip("10.30.0.9");
  now = 0;
  for (int i = 0; i < 40; ++i) {
    now += std::exponential_distribution<double>(1.0 / 60)(rng) * kNsPerSec + 3 * kNsPerSec;
    d.on_event(now, ip("10.20.7.44"), &fs, "10.30.0.9:445", 200 + rng() % 90000, false);
  }
  ASSERT_EQ(out.alerts.size(), 1u);
  EXPECT_EQ(out.alerts[0].alert.severity, 2);
  EXPECT_EQ(out.alerts[0].src_ip, "172.18.0.3");
}

// Beacons as requests on one kept-alive HTTP connection: scored per request.
TEST(Beaconing, HttpRequestsOnOneConnection) {
  testing::AlertSink out;
  BeaconingDetector d(BeaconConfig{}, nullptr, &out);
  IpAddr c2 = ip("198.51.100.7");
  for (int i = 0; i < 12; ++i)
    d.on_event(i * 45 * kNsPerSec, ip("10.1.1.1"), &c2, "http://198.51.100.7:8888", 1200, false,
               true);
  ASSERT_EQ(out.alerts.size(), 1u);
  EXPECT_EQ(out.alerts[0].alert.signature_id, BeaconingDetector::kSidHttp);
}

// The flat map and set that key detector state by integers (detector.h), against the
// standard containers under random inserts and erases.
TEST(DetectorState, FlatMapAndU64SetMatchStandardContainers) {
  struct V {
    uint64_t n = 0;
    TimeNs last = 0;
  };
  struct H {
    size_t operator()(uint64_t k) const { return size_t(k % 97); }  // long probe runs
  };
  FlatMap<uint64_t, V, H> m;
  std::unordered_map<uint64_t, uint64_t> ref;
  U64Set set;
  std::set<uint64_t> ref_set;
  std::mt19937_64 rng(3);
  for (int i = 0; i < 20000; ++i) {
    uint64_t k = rng() % 3000;
    if (rng() % 3 == 0) {
      m.erase(k);
      ref.erase(k);
    } else if (V* v = m.find(k)) {
      ++v->n;
      ++ref[k];
    } else {
      m.insert(k).n = 1;
      ref[k] = 1;
    }
    uint64_t sk = rng() % 5000;  // 0 included
    EXPECT_EQ(set.insert(sk), ref_set.insert(sk).second);
  }
  ASSERT_EQ(m.size(), ref.size());
  for (const auto& [k, n] : ref) {
    V* v = m.find(k);
    ASSERT_NE(v, nullptr) << k;
    EXPECT_EQ(v->n, n);
  }
  size_t seen = 0;
  m.for_each([&](uint64_t, V&) { ++seen; });
  EXPECT_EQ(seen, ref.size());
  EXPECT_EQ(set.size(), ref_set.size());
  for (uint64_t k = 0; k < 5000; ++k) EXPECT_EQ(set.contains(k), ref_set.count(k) == 1);
  set.clear();
  EXPECT_EQ(set.size(), 0u);
  EXPECT_FALSE(set.contains(0));
}

// Pairs beyond max_pairs evict the least recently seen one, counted.
TEST(Beaconing, PairsAreCappedAndEvictionsCounted) {
  testing::AlertSink out;
  BeaconConfig c;
  c.max_pairs = 8;
  BeaconingDetector d(c, nullptr, &out);
  IpAddr dst = ip("192.0.2.200");
  for (int i = 0; i < 100; ++i)
    d.on_event(i * kNsPerSec, ip("10.20.7.44"), &dst, "n" + std::to_string(i) + ".example", 350,
               false);
  std::string s;
  JsonWriter w(s);
  w.begin_object();
  d.write_stats(w);
  w.end_object();
  EXPECT_NE(s.find("\"pairs\":8"), std::string::npos) << s;
  EXPECT_NE(s.find("\"pair_evictions\":92"), std::string::npos) << s;
  // A beacon among one-off contacts keeps its pair (it is always the most recent).
  for (int i = 0; i < 30; ++i) {
    d.on_event((200 + i * 60) * kNsPerSec, ip("10.20.7.44"), &dst, "c2.example", 350, false);
    d.on_event((200 + i * 60) * kNsPerSec, ip("10.20.7.44"), &dst,
               "m" + std::to_string(i) + ".example", 350, false);
  }
  EXPECT_EQ(out.alerts.size(), 1u);
}

}  // namespace
}  // namespace komainu
