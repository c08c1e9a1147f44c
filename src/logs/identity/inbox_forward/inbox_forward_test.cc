#include <gtest/gtest.h>

#include "logs/model/test_util.h"

namespace komainu::logs {
namespace {
using namespace testing;

LogEvent rule(const std::string& user, const std::string& fwd) {
  LogEvent ev = signin(user, at(0, 10));
  ev.kind = "m365_audit";
  ev.cls = EventClass::kMailboxRule;
  ev.action = "New-InboxRule";
  ev.forward_to = fwd;
  ev.group = "rule1";
  return ev;
}

TEST(InboxForward, ExternalForwardAlertsWithDomain) {
  DetectorHarness h("inbox_forward");
  h.feed(rule("adele@contoso.com", "attacker@evil.example"));
  ASSERT_EQ(h.sink.count_sid(2000050), 1u);
  EXPECT_NE(h.sink.items[0].eve.find("\"domain\":[\"evil.example\",\"contoso.com\"]"),
            std::string::npos);
}

TEST(InboxForward, InternalTargetsAreQuiet) {
  DetectorHarness h("inbox_forward", "internal_domains: [partner.example]\n");
  h.feed(rule("adele@contoso.com", "boss@contoso.com"));
  h.feed(rule("adele@contoso.com", "x@partner.example; y@eu.contoso.com"));
  h.feed(rule("adele@contoso.com", ""));
  EXPECT_TRUE(h.sink.items.empty());
}

}  // namespace
}  // namespace komainu::logs
