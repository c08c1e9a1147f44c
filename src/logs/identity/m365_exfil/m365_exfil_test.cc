#include <gtest/gtest.h>

#include "logs/model/test_util.h"

namespace komainu::logs {
namespace {
using namespace testing;

LogEvent file(const std::string& user, TimeNs ts, const char* op = "FileDownloaded") {
  LogEvent ev = signin(user, ts);
  ev.kind = "m365_audit";
  ev.cls = EventClass::kFileAccess;
  ev.action = op;
  ev.object = "doc.xlsx";
  return ev;
}

TEST(M365Exfil, MassDownloadOncePerWindow) {
  DetectorHarness h("m365_exfil");
  for (int i = 0; i < 120; ++i) h.feed(file("j@x.com", at(0, 14, 0, i * 3)));
  EXPECT_EQ(h.sink.count_sid(2000040), 1u);
  EXPECT_EQ(h.sink.items[0].ts, at(0, 14, 0, 49 * 3));
}

TEST(M365Exfil, SlowDownloadsAndPreviewsAreQuiet) {
  DetectorHarness h("m365_exfil");
  for (int i = 0; i < 100; ++i) h.feed(file("j@x.com", at(0, 0, i * 15)));  // one per 15 min
  for (int i = 0; i < 100; ++i) h.feed(file("k@x.com", at(1, 9, 0, i), "FilePreviewed"));
  EXPECT_TRUE(h.sink.items.empty());
}

TEST(M365Exfil, MailItemsAccessedBurstCountsOperationCount) {
  DetectorHarness h("m365_exfil", "mail_min_items: 100\n");
  for (int i = 0; i < 5; ++i) {
    LogEvent ev = file("m@x.com", at(0, 13, i));
    ev.cls = EventClass::kMailAccess;
    ev.action = "MailItemsAccessed";
    ev.count = 30;
    h.feed(ev);
  }
  EXPECT_EQ(h.sink.count_sid(2000041), 1u);
}

}  // namespace
}  // namespace komainu::logs
