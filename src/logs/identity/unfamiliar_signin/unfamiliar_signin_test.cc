#include <gtest/gtest.h>

#include "logs/model/test_util.h"

namespace komainu::logs {
namespace {
using namespace testing;

void history(DetectorHarness& h, const std::string& user, int n) {
  for (int i = 0; i < n; ++i) h.feed(signin(user, at(0, 8 + i)));
}

TEST(UnfamiliarSignin, NewCountryAndNewDevice) {
  DetectorHarness h("unfamiliar_signin");
  history(h, "a@x.com", 6);
  LogEvent ev = signin("a@x.com", at(1, 9), "102.89.1.1");
  ev.country = "NG";
  ev.asn = 29465;
  ev.os = "Linux";
  ev.browser = "Firefox 120";
  ev.device_id = "";
  h.feed(ev);
  ASSERT_EQ(h.sink.count_sid(2000020), 1u);
  EXPECT_NE(h.sink.items[0].eve.find("country:NG"), std::string::npos);
}

TEST(UnfamiliarSignin, OneNewPropertyOrNoHistoryIsQuiet) {
  DetectorHarness h("unfamiliar_signin");
  history(h, "a@x.com", 6);
  LogEvent ev = signin("a@x.com", at(1, 9), "102.89.1.1");
  ev.country = "NG";  // network only
  ev.asn = 29465;
  h.feed(ev);
  LogEvent fresh = signin("new@x.com", at(1, 9), "102.89.1.1");  // no baseline yet
  fresh.country = "NG";
  fresh.os = "Linux";
  h.feed(fresh);
  EXPECT_TRUE(h.sink.items.empty());
}

TEST(UnfamiliarSignin, LegacyProtocolAndMfaDropped) {
  DetectorHarness h("unfamiliar_signin");
  history(h, "a@x.com", 6);
  LogEvent imap = signin("a@x.com", at(1, 9));
  imap.client_app = "IMAP4";
  imap.mfa = Mfa::kSingleFactor;
  h.feed(imap);
  EXPECT_EQ(h.sink.count_sid(2000021), 1u);
  EXPECT_EQ(h.sink.count_sid(2000022), 1u);
  // A user who never did MFA is not flagged for single factor.
  DetectorHarness h2("unfamiliar_signin");
  for (int i = 0; i < 6; ++i) {
    LogEvent s = signin("b@x.com", at(0, 8 + i));
    s.mfa = Mfa::kSingleFactor;
    h2.feed(s);
  }
  LogEvent s = signin("b@x.com", at(1, 9));
  s.mfa = Mfa::kSingleFactor;
  h2.feed(s);
  EXPECT_TRUE(h2.sink.items.empty());
}

}  // namespace
}  // namespace komainu::logs
