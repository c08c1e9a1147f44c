#include "detect/behaviour/mass_file_access/mass_file_access.h"

#include <gtest/gtest.h>

#include "detect/behaviour/test_sink.h"

namespace komainu {
namespace {
using testing::ip;

TEST(MassFileAccess, TenThousandFilesFewAlerts) {
  testing::AlertSink out;
  MassFileAccessDetector d(MassFileConfig{}, &out);
  for (int i = 0; i < 10000; ++i)
    d.on_file(i * kNsPerMs * 50, ip("10.8.3.17"), ip("10.20.0.5"), "\\\\fs1\\projects",
              "RESEARCH\\jdoe", "dir\\file" + std::to_string(i) + ".docx", 1000);
  ASSERT_GE(out.alerts.size(), 1u);
  EXPECT_LE(out.alerts.size(), 9u);                 // first + at most 8 updates
  EXPECT_EQ(out.alerts[0].ts, 24 * kNsPerMs * 50);  // the 25th file
  bool user = false, share = false;
  for (const auto& [k, v] : out.alerts[0].alert.metadata) {
    user = user || (k == "user" && v[0] == "RESEARCH\\jdoe");
    share = share || (k == "share" && v[0] == "\\\\fs1\\projects");
  }
  EXPECT_TRUE(user && share);
}

TEST(MassFileAccess, SameFileRepeatedIsNotCollection) {
  testing::AlertSink out;
  MassFileAccessDetector d(MassFileConfig{}, &out);
  for (int i = 0; i < 1000; ++i)
    d.on_file(i * kNsPerSec, ip("10.30.1.1"), ip("10.30.0.5"), "\\\\bfs1\\shared", "",
              "report.xlsx", 0);
  EXPECT_TRUE(out.alerts.empty());
}

TEST(MassFileAccess, WindowResetsSlowReaders) {
  testing::AlertSink out;
  MassFileAccessDetector d(MassFileConfig{}, &out);
  // 24 files per 10 minutes, for hours: never 25 in one window.
  for (int i = 0; i < 240; ++i)
    d.on_file(i * 26 * kNsPerSec, ip("10.30.1.1"), ip("10.30.0.5"), "s", "",
              "f" + std::to_string(i), 0);
  EXPECT_TRUE(out.alerts.empty());
}

}  // namespace
}  // namespace komainu
