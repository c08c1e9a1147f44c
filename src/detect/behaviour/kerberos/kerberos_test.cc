#include "detect/behaviour/kerberos/kerberos.h"

#include <gtest/gtest.h>

#include "detect/behaviour/test_sink.h"

namespace komainu {
namespace {
using testing::ip;
using X = KerberosDetector::Exchange;

X as_error(TimeNs ts, const char* user, int32_t code, const char* src = "172.16.66.1") {
  X e;
  e.ts = ts;
  e.src = ip(src);
  e.kdc = ip("172.16.66.36");
  e.as = true;
  e.user = user;
  e.realm = "CORP.EXAMPLE";
  e.error_code = code;
  return e;
}

X as_success(TimeNs ts, const char* user, const char* src = "172.16.66.1") {
  X e = as_error(ts, user, -1, src);
  e.success = true;
  return e;
}

TEST(Kerberos, FailuresOnManyAccountsAlertAtThreshold) {
  testing::AlertSink out;
  KerberosDetector d(KerberosConfig{}, &out);
  const char* users[] = {"bob", "admin", "svc-01", "hd01", "backdoor", "normal"};
  for (int i = 0; i < 4; ++i) d.on_exchange(as_error(i * kNsPerSec, users[i], 6));
  // The same account again is not a new one.
  d.on_exchange(as_error(4 * kNsPerSec, "bob", 24));
  EXPECT_TRUE(out.alerts.empty());
  d.on_exchange(as_error(5 * kNsPerSec, users[4], 24));
  ASSERT_EQ(out.alerts.size(), 1u);
  EXPECT_EQ(out.alerts[0].alert.signature_id, KerberosDetector::kSidAccounts);
  EXPECT_EQ(out.alerts[0].ts, 5 * kNsPerSec);
  EXPECT_NE(out.alerts[0].alert.signature.find("4 unknown principals, 2 wrong passwords"),
            std::string::npos);
  // A password found afterwards: one high-severity alert per account.
  d.on_exchange(as_success(6 * kNsPerSec, "normal"));
  d.on_exchange(as_success(7 * kNsPerSec, "normal"));
  ASSERT_EQ(out.alerts.size(), 2u);
  EXPECT_EQ(out.alerts[1].alert.signature_id, KerberosDetector::kSidSpraySuccess);
  EXPECT_EQ(out.alerts[1].alert.severity, 1);
}

TEST(Kerberos, OrdinaryFailuresAndSuccessesAreQuiet) {
  testing::AlertSink out;
  KerberosDetector d(KerberosConfig{}, &out);
  // A user mistyping a password three times, then signing in; other errors do not count.
  for (int i = 0; i < 3; ++i) d.on_exchange(as_error(i * kNsPerSec, "alice", 24));
  d.on_exchange(as_success(4 * kNsPerSec, "alice"));
  for (int i = 0; i < 50; ++i)
    d.on_exchange(as_error(10 * kNsPerSec, "carol", 25));  // preauth req.
  // Different sources, one failure each.
  const char* srcs[] = {"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6"};
  for (int i = 0; i < 6; ++i) d.on_exchange(as_error(20 * kNsPerSec, "dave", 24, srcs[i]));
  EXPECT_TRUE(out.alerts.empty());
}

TEST(Kerberos, WindowRestartsAndUpdatesAreBounded) {
  testing::AlertSink out;
  KerberosConfig c;
  c.window = 60 * kNsPerSec;
  KerberosDetector d(c, &out);
  // Four accounts, then a fifth after the window: no alert.
  for (int i = 0; i < 4; ++i)
    d.on_exchange(as_error(i * kNsPerSec, ("u" + std::to_string(i)).c_str(), 6));
  d.on_exchange(as_error(100 * kNsPerSec, "u4", 6));
  EXPECT_TRUE(out.alerts.empty());
  // Many accounts in one window: an alert and at most max_updates updates.
  for (int i = 0; i < 2000; ++i)
    d.on_exchange(as_error(101 * kNsPerSec, ("v" + std::to_string(i)).c_str(), 6));
  EXPECT_GE(out.alerts.size(), 2u);
  EXPECT_LE(out.alerts.size(), 1u + c.max_updates);
}

TEST(Kerberos, SourcesAreCapped) {
  testing::AlertSink out;
  KerberosConfig c;
  c.max_sources = 8;
  KerberosDetector d(c, &out);
  for (int i = 0; i < 100; ++i)
    d.on_exchange(as_error(i, "x", 6, ("10.1.0." + std::to_string(i)).c_str()));
  std::string s;
  JsonWriter w(s);
  w.begin_object();
  d.write_stats(w);
  w.end_object();
  EXPECT_NE(s.find("\"source_evictions\":92"), std::string::npos) << s;
}

TEST(Kerberos, RC4ServiceTicketsForManyServices) {
  testing::AlertSink out;
  KerberosDetector d(KerberosConfig{}, &out);
  for (int i = 0; i < 6; ++i) {
    X e;
    e.ts = i * kNsPerSec;
    e.src = ip("10.0.5.5");
    e.kdc = ip("10.0.0.10");
    e.tgs = true;
    e.success = true;
    e.rc4_only = i != 0;  // the first asks for AES too: an ordinary client
    e.service = "MSSQLSvc/db" + std::to_string(i) + ".corp.example:1433";
    d.on_exchange(e);
  }
  ASSERT_EQ(out.alerts.size(), 1u);
  EXPECT_EQ(out.alerts[0].alert.signature_id, KerberosDetector::kSidKerberoast);
  EXPECT_EQ(out.alerts[0].ts, 5 * kNsPerSec);
}

}  // namespace
}  // namespace komainu
