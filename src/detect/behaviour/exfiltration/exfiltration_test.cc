#include "detect/behaviour/exfiltration/exfiltration.h"

#include <gtest/gtest.h>

#include "detect/behaviour/test_sink.h"

namespace komainu {
namespace {
using testing::ip;

TEST(Exfiltration, LargeUploadToFirstSeenDestination) {
  testing::AlertSink out;
  ExfiltrationDetector d(ExfilConfig{}, nullptr, &out);
  d.on_conn(0, 5 * kNsPerSec, ip("10.20.7.44"), ip("203.0.113.150"), 443, 4000000, 5000,
            "up.example");
  ASSERT_EQ(out.alerts.size(), 1u);
  EXPECT_EQ(out.alerts[0].alert.signature_id, ExfiltrationDetector::kSidRareUpload);
  EXPECT_EQ(out.alerts[0].ts, 5 * kNsPerSec);
  // The same destination again is no longer first-seen.
  d.on_conn(10 * kNsPerSec, 20 * kNsPerSec, ip("10.20.7.44"), ip("203.0.113.150"), 443, 4000000,
            5000, "");
  EXPECT_EQ(out.alerts.size(), 1u);
  // Downloads and internal destinations never count.
  d.on_conn(0, 1, ip("10.20.7.45"), ip("203.0.113.151"), 443, 9000, 900000, "");
  d.on_conn(0, 1, ip("10.20.7.45"), ip("10.30.0.5"), 445, 9000000, 0, "");
  EXPECT_EQ(out.alerts.size(), 1u);
}

TEST(Exfiltration, VolumeOverBaseline) {
  testing::AlertSink out;
  ExfilConfig c;
  c.floor_bytes = 50 << 20;
  c.window = 3600 * kNsPerSec;
  c.rare_upload_bytes = UINT64_MAX;
  ExfiltrationDetector d(c, nullptr, &out);
  // Five hours of 20 MiB/h to a known destination: baseline 20 MiB, limit 100 MiB.
  for (int h = 0; h < 5; ++h)
    d.on_conn(h * 3600 * kNsPerSec, h * 3600 * kNsPerSec + 1, ip("10.20.1.1"), ip("198.18.0.9"),
              443, 20 << 20, 0, "");
  EXPECT_TRUE(out.alerts.empty());
  for (int k = 0; k < 6; ++k)
    d.on_conn((5 * 3600 + k) * kNsPerSec, (5 * 3600 + k) * kNsPerSec, ip("10.20.1.1"),
              ip("198.18.0.9"), 443, 20 << 20, 0, "");
  ASSERT_EQ(out.alerts.size(), 1u);
  EXPECT_EQ(out.alerts[0].alert.signature_id, ExfiltrationDetector::kSidVolume);
}

}  // namespace
}  // namespace komainu
