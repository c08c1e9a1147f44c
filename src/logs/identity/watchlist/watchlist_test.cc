#include <gtest/gtest.h>

#include "logs/model/test_util.h"

namespace komainu::logs {
namespace {
using namespace testing;

TEST(Watchlist, RiskySigninToVipNamesTheList) {
  DetectorHarness h("watchlist");
  h.lists.add("vip", "ceo");  // bare account names match UPNs
  for (int i = 0; i < 4; ++i) h.feed(signin("ceo@x.com", at(0, 8 + i)));
  EXPECT_TRUE(h.sink.items.empty()) << "familiar sign-ins are not risky";
  LogEvent lagos = signin("CEO@x.com", at(2, 10), "102.89.1.77");
  lagos.user = "ceo@x.com";
  lagos.country = "NG";
  h.feed(lagos);
  ASSERT_EQ(h.sink.count_sid(2000030), 1u);
  EXPECT_EQ(h.sink.items[0].severity, 1);
  EXPECT_NE(h.sink.items[0].eve.find("\"watchlist\":[\"vip\"]"), std::string::npos);
  EXPECT_NE(h.sink.items[0].eve.find("new_country:NG"), std::string::npos);
}

TEST(Watchlist, UnlistedOrNoListsIsQuiet) {
  DetectorHarness h("watchlist");
  LogEvent risky = signin("someone@x.com", at(0, 9));
  risky.risk_level = "high";
  h.feed(risky);
  h.lists.add("leaked", "other@x.com");
  h.feed(risky);
  EXPECT_TRUE(h.sink.items.empty());
  LogEvent leaked = signin("other@x.com", at(0, 10));
  leaked.risk_level = "high";
  h.feed(leaked);
  EXPECT_EQ(h.sink.count_sid(2000030), 1u);
}

}  // namespace
}  // namespace komainu::logs
