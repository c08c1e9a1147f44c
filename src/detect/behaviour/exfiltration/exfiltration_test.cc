#include "detect/behaviour/exfiltration/exfiltration.h"

#include <gtest/gtest.h>

#include "analyzers/smtp/smtp_analyzer.h"
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

TEST(Exfiltration, MailAfterCleartextSmtpLogin) {
  testing::AlertSink out;
  ExfiltrationDetector d(ExfilConfig{}, nullptr, &out);
  FlowContext f;
  f.flow_id = 7;
  f.tuple.proto = 6;
  f.tuple.src = ip("192.168.100.40");
  f.tuple.dst = ip("43.255.154.57");
  f.tuple.dport = 587;
  smtp::SmtpAuthRecord auth;
  auth.flow = &f;
  auth.ts = 2 * kNsPerSec;
  auth.mechanism = "LOGIN";
  auth.starttls_offered = true;
  auth.reply_code = 535;  // a failed login sends nothing
  d.publish(auth);
  smtp::Info info;
  info.mailfrom = "shipping@example.in";
  info.rcptto = std::vector<std::string>{"drop@gmail.com"};
  info.subject = "PW_admin/USER-PC";
  smtp::SmtpRecord mail;
  mail.flow = &f;
  mail.info = &info;
  mail.ts = 1 * kNsPerSec;
  mail.done = 4 * kNsPerSec;
  d.publish(mail);
  EXPECT_TRUE(out.alerts.empty());
  auth.reply_code = 235;
  d.publish(auth);
  d.publish(mail);
  d.publish(mail);  // one alert per session
  ASSERT_EQ(out.alerts.size(), 1u);
  EXPECT_EQ(out.alerts[0].alert.signature_id, ExfiltrationDetector::kSidSmtpCleartext);
  EXPECT_EQ(out.alerts[0].ts, 4 * kNsPerSec);
  // Inside the organisation (its own relay), or to an internal server: nothing.
  FlowContext g = f;
  g.flow_id = 8;
  g.tuple.dst = ip("10.0.0.25");
  auth.flow = mail.flow = &g;
  d.publish(auth);
  d.publish(mail);
  EXPECT_EQ(out.alerts.size(), 1u);
}

TEST(Exfiltration, CleartextSmtpSessionsAreCappedAndEndWithTheirFlow) {
  testing::AlertSink out;
  ExfilConfig cfg;
  cfg.max_smtp_sessions = 1;
  ExfiltrationDetector d(cfg, nullptr, &out);
  FlowContext a, b;
  for (FlowContext* f : {&a, &b}) {
    f->tuple.proto = 6;
    f->tuple.src = ip("10.30.21.77");
    f->tuple.dst = ip("203.0.113.25");
    f->tuple.dport = 587;
  }
  a.flow_id = 1;
  b.flow_id = 2;
  smtp::SmtpAuthRecord auth;
  auth.reply_code = 235;
  auth.mechanism = "PLAIN";
  auth.flow = &a;
  d.publish(auth);
  auth.flow = &b;  // over the cap: the table starts again (counted), a's login is forgotten
  d.publish(auth);
  smtp::Info info;
  info.mailfrom = "x@example.net";
  smtp::SmtpRecord mail;
  mail.info = &info;
  mail.flow = &a;
  d.publish(mail);
  EXPECT_TRUE(out.alerts.empty());
  mail.flow = &b;
  d.publish(mail);
  EXPECT_EQ(out.alerts.size(), 1u);
  std::string stats;
  JsonWriter w(stats);
  w.begin_object();
  d.write_stats(w);
  w.end_object();
  EXPECT_NE(stats.find("\"smtp_login_resets\":1"), std::string::npos) << stats;
  EXPECT_NE(stats.find("\"smtp_cleartext_logins\":2"), std::string::npos) << stats;
}

}  // namespace
}  // namespace komainu
