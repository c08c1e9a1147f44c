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

const uint8_t kMac[6] = {0x08, 0x00, 0x27, 0x12, 0x34, 0x56};

TEST(Scan, ArpSweepAtThresholdThenUpdatesOnDoubling) {
  testing::AlertSink out;
  ScanDetector d(ScanConfig{}, &out);
  IpAddr me = ip("192.168.1.10");
  // Each address asked twice (nmap retries): distinct targets count, not requests.
  for (int i = 0; i < 31; ++i)
    for (int k = 0; k < 2; ++k)
      d.on_arp(i * 10 * kNsPerMs, 1, me, kMac, IpAddr::v4(0xc0a80100 + 20 + i));
  EXPECT_TRUE(out.alerts.empty());  // 31 < 32
  d.on_arp(400 * kNsPerMs, 1, me, kMac, IpAddr::v4(0xc0a80100 + 60));
  ASSERT_EQ(out.alerts.size(), 1u);
  const auto& a = out.alerts[0];
  EXPECT_EQ(a.alert.signature_id, ScanDetector::kSidArpSweep);
  EXPECT_EQ(a.ts, 400 * kNsPerMs);
  EXPECT_EQ(a.src_ip, "192.168.1.10");
  bool technique = false;
  for (const auto& [k, v] : a.alert.metadata)
    technique = technique || (k == "mitre_technique_id" && v[0] == "T1018");
  EXPECT_TRUE(technique);
  EXPECT_NE(a.extra_json[0].second.find("\"sender_mac\":\"08:00:27:12:34:56\""), std::string::npos);
  // The rest of the /24: updates at 64 and 128 only.
  for (int i = 0; i < 254; ++i)
    d.on_arp(kNsPerSec + i * kNsPerMs, 1, me, kMac, IpAddr::v4(0xc0a80101 + i));
  EXPECT_EQ(out.alerts.size(), 3u);
}

TEST(Scan, ArpProbesGratuitousRepliesAndSlowSendersDoNotSweep) {
  testing::AlertSink out;
  ScanDetector d(ScanConfig{}, &out);
  for (int i = 0; i < 100; ++i) {
    IpAddr t = IpAddr::v4(0x0a000100 + i);
    d.on_arp(i * kNsPerMs, 1, ip("0.0.0.0"), kMac, t);   // RFC 5227 probes (DHCP clients)
    d.on_arp(i * kNsPerMs, 1, t, kMac, t);               // gratuitous announcements
    d.on_arp(i * kNsPerMs, 2, ip("10.0.1.1"), kMac, t);  // replies from the gateway
  }
  // A router asking for 31 hosts every 30 s, for an hour.
  for (int r = 0; r < 120; ++r)
    for (int i = 0; i < 31; ++i)
      d.on_arp(r * 31 * kNsPerSec + i * kNsPerMs, 1, ip("10.0.1.1"), kMac,
               IpAddr::v4(0x0a000200 + i));
  EXPECT_TRUE(out.alerts.empty());
  // 40 addresses over 80 s: never 32 in one 30 s window.
  for (int i = 0; i < 40; ++i)
    d.on_arp(10000 * kNsPerSec + i * 2 * kNsPerSec, 1, ip("10.0.1.7"), kMac,
             IpAddr::v4(0x0a000300 + i));
  EXPECT_TRUE(out.alerts.empty());
}

TEST(Scan, ArpSendersAreCapped) {
  testing::AlertSink out;
  ScanConfig c;
  c.max_sources = 3;
  c.max_targets_per_source = 40;
  ScanDetector d(c, &out);
  for (int i = 0; i < 10; ++i)
    d.on_arp(i * kNsPerMs, 1, IpAddr::v4(0x0a000000 + i), kMac, ip("10.0.0.254"));
  std::string s;
  JsonWriter w(s);
  w.begin_object();
  d.write_stats(w);
  w.end_object();
  EXPECT_NE(s.find("\"arp_senders\":3"), std::string::npos) << s;
  EXPECT_NE(s.find("\"arp_sender_evictions\":7"), std::string::npos) << s;
  // Past the target cap a sweep keeps counting (and updating) without remembering.
  for (int i = 0; i < 200; ++i)
    d.on_arp(kNsPerSec + i * kNsPerMs, 1, ip("10.9.0.1"), kMac, IpAddr::v4(0x0a090000 + 2 + i));
  EXPECT_EQ(out.alerts.size(), 3u);  // 32, 64, 128
}

}  // namespace
}  // namespace komainu
