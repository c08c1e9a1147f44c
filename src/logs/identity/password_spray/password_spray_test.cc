#include <gtest/gtest.h>

#include "logs/model/test_util.h"

namespace komainu::logs {
namespace {
using namespace testing;

TEST(PasswordSpray, OneSourceManyAccountsAlertsOnce) {
  DetectorHarness h("password_spray");
  ASSERT_TRUE(h.det);
  for (int i = 0; i < 30; ++i)
    h.feed(failed("user" + std::to_string(i) + "@x.com", at(0, 2, 0, i * 10), "185.1.1.1"));
  EXPECT_EQ(h.sink.count_sid(2000001), 1u);
  EXPECT_EQ(h.sink.items[0].ts, at(0, 2, 0, 90)) << "timestamp = the 10th account's failure";
  EXPECT_NE(h.sink.items[0].eve.find("\"distinct_accounts\":10"), std::string::npos);
  EXPECT_NE(h.sink.items[0].eve.find("\"mitre_technique_id\":[\"T1110.003\"]"), std::string::npos);
}

TEST(PasswordSpray, BelowThresholdOrOutsideWindowIsQuiet) {
  DetectorHarness h("password_spray");
  for (int i = 0; i < 9; ++i)
    h.feed(failed("u" + std::to_string(i) + "@x.com", at(0, 2, i), "185.1.1.1"));
  // Spread over hours: never 10 accounts within 10 minutes.
  for (int i = 0; i < 20; ++i)
    h.feed(failed("v" + std::to_string(i) + "@x.com", at(1, i, 0), "185.1.1.2"));
  // MFA interrupts are not credential failures.
  for (int i = 0; i < 20; ++i)
    h.feed(failed("w" + std::to_string(i) + "@x.com", at(2, 1, 0, i), "185.1.1.3", "50074"));
  EXPECT_TRUE(h.sink.items.empty());
}

TEST(PasswordSpray, ValidatedSprayIsHighSeverity) {
  DetectorHarness h("password_spray");
  for (int i = 0; i < 12; ++i)
    h.feed(failed("u" + std::to_string(i) + "@x.com", at(0, 2, 0, i), "185.1.1.1"));
  h.feed(signin("u3@x.com", at(0, 2, 5), "185.1.1.1"));
  ASSERT_EQ(h.sink.count_sid(2000003), 1u);
  EXPECT_EQ(h.sink.items.back().severity, 1);
  // A success from another address is not validation.
  h.feed(signin("u4@x.com", at(0, 2, 6), "90.84.1.1"));
  EXPECT_EQ(h.sink.count_sid(2000003), 1u);
}

TEST(PasswordSpray, BruteForceAndSuccessAfterFailures) {
  DetectorHarness h("password_spray",
                    "bruteforce_min_failures: 6\nsuccess_after_min_failures: 5\n");
  for (int i = 0; i < 6; ++i)
    h.feed(failed("victim@x.com", at(0, 3, 0, i * 5), "203.0.113." + std::to_string(i)));
  EXPECT_EQ(h.sink.count_sid(2000002), 1u);
  h.feed(signin("victim@x.com", at(0, 3, 2), "203.0.113.9"));
  EXPECT_EQ(h.sink.count_sid(2000004), 1u);
  // Failures cleared by the success: another success alone does not alert again.
  h.feed(signin("victim@x.com", at(0, 3, 3), "203.0.113.9"));
  EXPECT_EQ(h.sink.count_sid(2000004), 1u);
}

TEST(PasswordSpray, WatchlistedTargetRaisesSeverityAndNamesList) {
  DetectorHarness h("password_spray");
  h.lists.add("vip", "u1@x.com");
  for (int i = 0; i < 10; ++i)
    h.feed(failed("u" + std::to_string(i) + "@x.com", at(0, 2, 0, i), "185.1.1.1"));
  ASSERT_EQ(h.sink.items.size(), 1u);
  EXPECT_EQ(h.sink.items[0].severity, 1);
  EXPECT_NE(h.sink.items[0].eve.find("\"watchlist\":[\"vip\"]"), std::string::npos);
}

}  // namespace
}  // namespace komainu::logs
