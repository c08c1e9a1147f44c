#include "detect/behaviour/scan/scan.h"

#include <gtest/gtest.h>

#include "detect/behaviour/test_sink.h"

namespace komainu {
namespace {
using testing::ip;

TEST(Scan, HorizontalAtThresholdThenUpdatesOnDoubling) {
  testing::AlertSink out;
  ScanConfig c;
  ScanDetector d(c, &out);
  for (int i = 0; i < 7; ++i)
    d.on_conn(i * kNsPerSec, ip("10.8.3.17"), IpAddr::v4(0x0a140000 + i), 445, true);
  EXPECT_TRUE(out.alerts.empty());  // 7 < 8
  d.on_conn(7 * kNsPerSec, ip("10.8.3.17"), IpAddr::v4(0x0a140007), 445, true);
  ASSERT_EQ(out.alerts.size(), 1u);
  EXPECT_EQ(out.alerts[0].alert.signature_id, ScanDetector::kSidHorizontal);
  EXPECT_EQ(out.alerts[0].ts, 7 * kNsPerSec);  // data time of the 8th probe
  for (int i = 8; i < 40; ++i)
    d.on_conn(i * kNsPerSec, ip("10.8.3.17"), IpAddr::v4(0x0a140000 + i), 445, true);
  EXPECT_EQ(out.alerts.size(), 3u);  // updates at 16 and 32 only
}

TEST(Scan, SuccessfulConnectionsDoNotScan) {
  testing::AlertSink out;
  ScanDetector d(ScanConfig{}, &out);
  // A busy client: many hosts on 443, all answered.
  for (int i = 0; i < 50; ++i)
    d.on_conn(i * kNsPerSec, ip("10.30.1.1"), IpAddr::v4(0xc6120000 + i), 443, false);
  EXPECT_TRUE(out.alerts.empty());
  // Failed ratio: 20 answered then 10 probes -> ratio 1/3 < 0.5.
  for (int i = 0; i < 20; ++i)
    d.on_conn(i * kNsPerSec, ip("10.30.1.2"), IpAddr::v4(0xc6120000 + i), 80, false);
  for (int i = 0; i < 10; ++i)
    d.on_conn(i * kNsPerSec, ip("10.30.1.2"), IpAddr::v4(0xc6130000 + i), 80, true);
  EXPECT_TRUE(out.alerts.empty());
}

TEST(Scan, WindowExpiresAndVertical) {
  testing::AlertSink out;
  ScanDetector d(ScanConfig{}, &out);
  // 8 hosts, but spread over more than the 300 s window: no alert.
  for (int i = 0; i < 8; ++i)
    d.on_conn(i * 100 * kNsPerSec, ip("10.8.3.17"), IpAddr::v4(0x0a140000 + i), 22, true);
  EXPECT_TRUE(out.alerts.empty());
  // A clock jump backwards (merged captures) does not reset or crash.
  d.on_conn(0, ip("10.8.3.17"), IpAddr::v4(0x0a140100), 22, true);
  for (int p = 1; p <= 12; ++p)
    d.on_conn(5000 * kNsPerSec, ip("10.9.9.9"), ip("10.20.0.5"), uint16_t(p), true);
  ASSERT_EQ(out.alerts.size(), 1u);
  EXPECT_EQ(out.alerts[0].alert.signature_id, ScanDetector::kSidVertical);
}

TEST(Scan, SourcesAreCappedAndEvictionsCounted) {
  testing::AlertSink out;
  ScanConfig c;
  c.max_sources = 4;
  ScanDetector d(c, &out);
  for (int i = 0; i < 10; ++i)
    d.on_conn(i * kNsPerSec, IpAddr::v4(0x0a000000 + i), ip("10.20.0.5"), 445, true);
  std::string s;
  JsonWriter w(s);
  w.begin_object();
  d.write_stats(w);
  w.end_object();
  EXPECT_NE(s.find("\"sources\":4"), std::string::npos) << s;
  EXPECT_NE(s.find("\"source_evictions\":6"), std::string::npos) << s;
}

TEST(Scan, EndpointMapperEnumerationOncePerPair) {
  testing::AlertSink out;
  ScanDetector d(ScanConfig{}, &out);
  for (int i = 0; i < 300; ++i) d.on_epm_lookup(i * kNsPerMs, ip("10.0.2.17"), ip("10.0.2.18"));
  ASSERT_EQ(out.alerts.size(), 1u);
  EXPECT_EQ(out.alerts[0].alert.signature_id, ScanDetector::kSidEndpointMapper);
  EXPECT_EQ(out.alerts[0].ts, 0);
  d.on_epm_lookup(kNsPerSec, ip("10.0.2.17"), ip("10.0.2.19"));
  EXPECT_EQ(out.alerts.size(), 2u);
}

}  // namespace
}  // namespace komainu
