#include "detect/behaviour/brute_force/brute_force.h"

#include <gtest/gtest.h>

#include "detect/behaviour/test_sink.h"

namespace komainu {
namespace {
using testing::ip;

uint64_t stat(const Detector& d, const std::string& key) {
  std::string s;
  JsonWriter w(s);
  w.begin_object();
  d.write_stats(w);
  w.end_object();
  auto pos = s.find("\"" + key + "\":");
  if (pos == std::string::npos) return ~0ull;
  return std::stoull(s.substr(pos + key.size() + 3));
}

TEST(BruteForce, GuessingAtThreshold) {
  testing::AlertSink out;
  BruteForceDetector d(BruteForceConfig{}, &out);
  for (int i = 0; i < 9; ++i)
    d.on_ssh(i * 5 * kNsPerSec, ip("192.168.56.1"), ip("192.168.56.103"), 22, false, 2);
  EXPECT_TRUE(out.alerts.empty());  // 9 < 10
  d.on_ssh(45 * kNsPerSec, ip("192.168.56.1"), ip("192.168.56.103"), 22, false, 3);
  ASSERT_EQ(out.alerts.size(), 1u);
  const auto& a = out.alerts[0];
  EXPECT_EQ(a.alert.signature_id, BruteForceDetector::kSidGuessing);
  EXPECT_EQ(a.ts, 45 * kNsPerSec);  // the end of the 10th failed connection
  EXPECT_EQ(a.alert.severity, 2);
  bool technique = false;
  for (const auto& [k, v] : a.alert.metadata)
    technique = technique || (k == "mitre_technique_id" && v[0] == "T1110.001");
  EXPECT_TRUE(technique);
  EXPECT_NE(a.extra_json[0].second.find("\"failed_attempts\":21"), std::string::npos);
}

TEST(BruteForce, UpdatesOnDoublingAreBounded) {
  testing::AlertSink out;
  BruteForceConfig c;
  c.max_updates = 2;
  BruteForceDetector d(c, &out);
  for (int i = 0; i < 200; ++i)
    d.on_ssh(i * kNsPerSec, ip("10.0.0.1"), ip("10.0.0.2"), 22, false, 1);
  // 10, then updates at 20 and 40; 80 and 160 are over max_updates.
  ASSERT_EQ(out.alerts.size(), 3u);
  EXPECT_NE(out.alerts[1].alert.signature.find("(update)"), std::string::npos);
}

TEST(BruteForce, SuccessfulLoginsAndUndeterminedDoNotCount) {
  testing::AlertSink out;
  BruteForceDetector d(BruteForceConfig{}, &out);
  for (int i = 0; i < 50; ++i) {
    d.on_ssh(i * kNsPerSec, ip("10.0.0.1"), ip("10.0.0.2"), 22, true, 1);   // admin logins
    d.on_ssh(i * kNsPerSec, ip("10.0.0.3"), ip("10.0.0.2"), 22, false, 0);  // banner grabs
  }
  EXPECT_TRUE(out.alerts.empty());
  EXPECT_EQ(stat(d, "undetermined"), 50u);
  EXPECT_EQ(stat(d, "succeeded"), 50u);

  BruteForceConfig c;
  c.count_undetermined = true;
  BruteForceDetector u(c, &out);
  for (int i = 0; i < 10; ++i)
    u.on_ssh(i * kNsPerSec, ip("10.0.0.3"), ip("10.0.0.2"), 22, false, 0);
  EXPECT_EQ(out.alerts.size(), 1u);
}

TEST(BruteForce, WindowResetsSlowGuessers) {
  testing::AlertSink out;
  BruteForceDetector d(BruteForceConfig{}, &out);
  // 9 failures per 30 minutes, for ten hours: never 10 in one window.
  for (int i = 0; i < 180; ++i)
    d.on_ssh(i * 201 * kNsPerSec, ip("10.0.0.1"), ip("10.0.0.2"), 22, false, 1);
  EXPECT_TRUE(out.alerts.empty());
}

TEST(BruteForce, ClockJumpBackwardsKeepsTheWindow) {
  testing::AlertSink out;
  BruteForceDetector d(BruteForceConfig{}, &out);
  TimeNs t0 = 1000 * kNsPerSec;
  for (int i = 0; i < 5; ++i)
    d.on_ssh(t0 + i * kNsPerSec, ip("10.0.0.1"), ip("10.0.0.2"), 22, false, 1);
  // A merged capture steps back an hour: the failures still add up.
  for (int i = 0; i < 5; ++i)
    d.on_ssh(t0 - 3600 * kNsPerSec + i * kNsPerSec, ip("10.0.0.1"), ip("10.0.0.2"), 22, false, 1);
  EXPECT_EQ(out.alerts.size(), 1u);
}

TEST(BruteForce, SuccessAfterGuessingRaisesSeverity) {
  testing::AlertSink out;
  BruteForceDetector d(BruteForceConfig{}, &out);
  // A success before any guessing is an ordinary login.
  d.on_ssh(0, ip("10.0.0.1"), ip("10.0.0.2"), 22, true, 1);
  EXPECT_TRUE(out.alerts.empty());
  for (int i = 1; i <= 12; ++i)
    d.on_ssh(i * kNsPerSec, ip("10.0.0.1"), ip("10.0.0.2"), 22, false, 3);
  ASSERT_EQ(out.alerts.size(), 1u);
  d.on_ssh(20 * kNsPerSec, ip("10.0.0.1"), ip("10.0.0.2"), 22, true, 1);
  ASSERT_EQ(out.alerts.size(), 2u);
  EXPECT_EQ(out.alerts[1].alert.signature_id, BruteForceDetector::kSidSuccess);
  EXPECT_EQ(out.alerts[1].alert.severity, 1);
  EXPECT_EQ(out.alerts[1].ts, 20 * kNsPerSec);
  // Once per pair and window.
  d.on_ssh(21 * kNsPerSec, ip("10.0.0.1"), ip("10.0.0.2"), 22, true, 1);
  EXPECT_EQ(out.alerts.size(), 2u);
  // Below the threshold a success is not flagged: 9 typos then the right password.
  d.on_ssh(22 * kNsPerSec, ip("10.0.0.5"), ip("10.0.0.2"), 22, true, 1);
  for (int i = 0; i < 9; ++i)
    d.on_ssh(30 * kNsPerSec, ip("10.0.0.6"), ip("10.0.0.2"), 22, false, 1);
  d.on_ssh(31 * kNsPerSec, ip("10.0.0.6"), ip("10.0.0.2"), 22, true, 1);
  EXPECT_EQ(out.alerts.size(), 2u);
  // After the window the guessing is history.
  d.on_ssh(4000 * kNsPerSec, ip("10.0.0.1"), ip("10.0.0.2"), 22, true, 1);
  EXPECT_EQ(out.alerts.size(), 2u);
}

TEST(BruteForce, SprayAcrossServers) {
  testing::AlertSink out;
  BruteForceDetector d(BruteForceConfig{}, &out);
  // Two failed connections on each of 4 servers: 8 failures, 4 servers: nothing yet.
  for (int s = 0; s < 4; ++s)
    for (int k = 0; k < 2; ++k)
      d.on_ssh((s * 2 + k) * kNsPerSec, ip("203.0.113.9"), IpAddr::v4(0x0a000010 + s), 22, false,
               1);
  EXPECT_TRUE(out.alerts.empty());
  d.on_ssh(10 * kNsPerSec, ip("203.0.113.9"), IpAddr::v4(0x0a000020), 22, false, 1);
  EXPECT_TRUE(out.alerts.empty());  // 5 servers but 9 failures
  d.on_ssh(11 * kNsPerSec, ip("203.0.113.9"), IpAddr::v4(0x0a000020), 22, false, 1);
  ASSERT_EQ(out.alerts.size(), 1u);
  EXPECT_EQ(out.alerts[0].alert.signature_id, BruteForceDetector::kSidSpray);
  bool technique = false;
  for (const auto& [k, v] : out.alerts[0].alert.metadata)
    technique = technique || (k == "mitre_technique_id" && v[0] == "T1110.003");
  EXPECT_TRUE(technique);
  // A successful login from the sprayer, on any server, is flagged.
  d.on_ssh(12 * kNsPerSec, ip("203.0.113.9"), IpAddr::v4(0x0a000030), 22, true, 1);
  ASSERT_EQ(out.alerts.size(), 2u);
  EXPECT_EQ(out.alerts[1].alert.signature_id, BruteForceDetector::kSidSuccess);
}

TEST(BruteForce, StateIsBoundedWithCountedEvictions) {
  testing::AlertSink out;
  BruteForceConfig c;
  c.max_pairs = 4;
  c.max_sources = 3;
  BruteForceDetector d(c, &out);
  for (int i = 0; i < 100; ++i)
    d.on_ssh(i * kNsPerSec, IpAddr::v4(0x0a000000 + i), ip("10.1.0.1"), 22, false, 1);
  EXPECT_EQ(stat(d, "pairs"), 4u);
  EXPECT_EQ(stat(d, "pair_evictions"), 96u);
  EXPECT_EQ(stat(d, "sources"), 3u);
  EXPECT_EQ(stat(d, "source_evictions"), 97u);
  EXPECT_TRUE(out.alerts.empty());
  for (int i = 0; i < 10; ++i) {
    d.on_ssh((200 + i) * kNsPerSec, ip("10.9.9.9"), ip("10.1.0.1"), 22, false, 1);
    d.on_ssh((200 + i) * kNsPerSec, IpAddr::v4(0x0b000000 + i), ip("10.1.0.1"), 22, false, 1);
  }
  // 4 slots shared by 11 keys, but eviction takes the least recently seen: the active
  // guesser stays and reaches the threshold; the one-off sources come and go.
  ASSERT_EQ(out.alerts.size(), 1u);
  EXPECT_NE(out.alerts[0].alert.signature.find("10.9.9.9"), std::string::npos);
}

TEST(BruteForce, FtpGuessingAsZeeksNotice) {
  testing::AlertSink out;
  BruteForceDetector d(BruteForceConfig{}, &out);
  // ftp-bruteforce.pcap's shape: one failed PASS per connection, ~2.4 s apart.
  TimeNs t0 = 100 * kNsPerSec;
  for (int i = 0; i < 19; ++i) {
    d.on_ftp_login(t0 + i * 2 * kNsPerSec, ip("192.168.56.1"), ip("192.168.56.101"), 21, 331);
    d.on_ftp_login(t0 + i * 2 * kNsPerSec, ip("192.168.56.1"), ip("192.168.56.101"), 21, 530);
  }
  EXPECT_TRUE(out.alerts.empty());  // 19 < 20; 331 is no failure
  d.on_ftp_login(t0 + 38 * kNsPerSec, ip("192.168.56.1"), ip("192.168.56.101"), 21, 530);
  ASSERT_EQ(out.alerts.size(), 1u);
  const auto& a = out.alerts[0];
  EXPECT_EQ(a.alert.signature_id, BruteForceDetector::kSidFtpGuessing);
  EXPECT_EQ(a.ts, t0 + 38 * kNsPerSec);
  EXPECT_NE(a.alert.signature.find("192.168.56.1 had 20 failed logins on 1 FTP server in 0m38s"),
            std::string::npos)
      << a.alert.signature;
  EXPECT_EQ(stat(d, "ftp_failed_logins"), 20u);
  // 4xx and 2xx replies never count; updates come when the count doubles.
  for (int i = 0; i < 30; ++i)
    d.on_ftp_login(t0 + 40 * kNsPerSec, ip("192.168.56.1"), ip("192.168.56.101"), 21, 421);
  EXPECT_EQ(out.alerts.size(), 1u);
  for (int i = 0; i < 20; ++i)
    d.on_ftp_login(t0 + 41 * kNsPerSec, ip("192.168.56.1"), ip("192.168.56.101"), 21, 530);
  ASSERT_EQ(out.alerts.size(), 2u);
  EXPECT_NE(out.alerts[1].alert.signature.find("(update)"), std::string::npos);
}

TEST(BruteForce, FtpFailuresAddUpAcrossServersInTheWindowOnly) {
  testing::AlertSink out;
  BruteForceDetector d(BruteForceConfig{}, &out);
  // 19 failures per 15 minutes, for five hours: never 20 in one window.
  for (int i = 0; i < 380; ++i)
    d.on_ftp_login(i * 48 * kNsPerSec, ip("10.0.0.1"), ip("10.0.0.2"), 21, 530);
  EXPECT_TRUE(out.alerts.empty());
  // 20 failures spread over 4 servers: Zeek counts per client, servers are in the message.
  for (int i = 0; i < 20; ++i)
    d.on_ftp_login((20000 + i) * kNsPerSec, ip("10.0.0.9"), IpAddr::v4(0x0a010000 + i % 4), 21,
                   530);
  ASSERT_EQ(out.alerts.size(), 1u);
  EXPECT_NE(out.alerts[0].alert.signature.find("on 4 FTP servers"), std::string::npos);
  bool spray = false;
  for (const auto& [k, v] : out.alerts[0].alert.metadata)
    spray = spray || (k == "mitre_technique_id" && v[0] == "T1110.003");
  EXPECT_TRUE(spray);
}

TEST(BruteForce, FtpSuccessAfterGuessing) {
  testing::AlertSink out;
  BruteForceDetector d(BruteForceConfig{}, &out);
  d.on_ftp_login(0, ip("10.0.0.1"), ip("10.0.0.2"), 21, 230);  // an ordinary login
  EXPECT_TRUE(out.alerts.empty());
  for (int i = 1; i <= 25; ++i)
    d.on_ftp_login(i * kNsPerSec, ip("10.0.0.1"), ip("10.0.0.2"), 21, 530);
  ASSERT_EQ(out.alerts.size(), 1u);
  d.on_ftp_login(30 * kNsPerSec, ip("10.0.0.1"), ip("10.0.0.3"), 21, 230);  // not guessed there
  EXPECT_EQ(out.alerts.size(), 1u);
  d.on_ftp_login(31 * kNsPerSec, ip("10.0.0.1"), ip("10.0.0.2"), 21, 230);
  ASSERT_EQ(out.alerts.size(), 2u);
  EXPECT_EQ(out.alerts[1].alert.signature_id, BruteForceDetector::kSidFtpSuccess);
  EXPECT_EQ(out.alerts[1].alert.severity, 1);
  d.on_ftp_login(32 * kNsPerSec, ip("10.0.0.1"), ip("10.0.0.2"), 21, 230);
  EXPECT_EQ(out.alerts.size(), 2u);  // once per window
  EXPECT_EQ(stat(d, "ftp_succeeded_logins"), 4u);
}

TEST(BruteForce, FtpSourcesAreBoundedWithCountedEvictions) {
  testing::AlertSink out;
  BruteForceConfig c;
  c.max_sources = 3;
  c.ftp_failed_logins = 5;
  BruteForceDetector d(c, &out);
  for (int i = 0; i < 50; ++i)
    d.on_ftp_login(i * kNsPerSec, IpAddr::v4(0x0a000000 + i), ip("10.1.0.1"), 21, 530);
  EXPECT_EQ(stat(d, "ftp_sources"), 3u);
  EXPECT_EQ(stat(d, "ftp_source_evictions"), 47u);
  EXPECT_TRUE(out.alerts.empty());
  for (int i = 0; i < 5; ++i) {
    d.on_ftp_login((100 + i) * kNsPerSec, ip("10.9.9.9"), ip("10.1.0.1"), 21, 530);
    d.on_ftp_login((100 + i) * kNsPerSec, IpAddr::v4(0x0b000000 + i), ip("10.1.0.1"), 21, 530);
  }
  ASSERT_EQ(out.alerts.size(), 1u);
  EXPECT_NE(out.alerts[0].alert.signature.find("10.9.9.9"), std::string::npos);
}

TEST(BruteForce, SmtpAuthGuessingThenSuccess) {
  testing::AlertSink out;
  BruteForceDetector d(BruteForceConfig{}, &out);
  // A malformed exchange (501) or a temporary failure (454) is no guess.
  d.on_smtp_auth(0, ip("198.51.100.7"), ip("10.30.0.25"), 25, 501);
  d.on_smtp_auth(0, ip("198.51.100.7"), ip("10.30.0.25"), 25, 454);
  for (int i = 1; i <= 19; ++i)
    d.on_smtp_auth(i * kNsPerSec, ip("198.51.100.7"), ip("10.30.0.25"), 587, 535);
  EXPECT_TRUE(out.alerts.empty());
  d.on_smtp_auth(20 * kNsPerSec, ip("198.51.100.7"), ip("10.30.0.25"), 587, 535);
  ASSERT_EQ(out.alerts.size(), 1u);
  EXPECT_EQ(out.alerts[0].alert.signature_id, BruteForceDetector::kSidSmtpGuessing);
  EXPECT_EQ(out.alerts[0].alert.signature,
            "KOMAINU BRUTE_FORCE SMTP password guessing: 198.51.100.7 had 20 failed logins on 1 "
            "SMTP server in 0m19s");
  d.on_smtp_auth(25 * kNsPerSec, ip("198.51.100.7"), ip("10.30.0.25"), 587, 235);
  ASSERT_EQ(out.alerts.size(), 2u);
  EXPECT_EQ(out.alerts[1].alert.signature_id, BruteForceDetector::kSidSmtpSuccess);
  EXPECT_EQ(out.alerts[1].alert.severity, 1);
  // FTP and SMTP are counted apart.
  EXPECT_EQ(stat(d, "smtp_failed_logins"), 20u);
  EXPECT_EQ(stat(d, "ftp_failed_logins"), 0u);
}

TEST(BruteForce, ConfigErrorsNameTheFile) {
  const DetectorApi* api = Registry<DetectorApi>::find("brute_force");
  ASSERT_NE(api, nullptr);
  YAML::Node n = YAML::Load("failed_connections: 3\nwindow: 60\n");
  DetectorContext ctx;
  ctx.config = &n;
  ctx.config_file = "k.yaml";
  std::string err;
  EXPECT_NE(api->create(ctx, &err), nullptr) << err;
  YAML::Node ftp = YAML::Load("ftp_failed_logins: 5\nftp_window: 60\n");
  ctx.config = &ftp;
  EXPECT_NE(api->create(ctx, &err), nullptr) << err;
  YAML::Node zero = YAML::Load("ftp_failed_logins: 0\n");
  ctx.config = &zero;
  EXPECT_EQ(api->create(ctx, &err), nullptr);
  YAML::Node bad = YAML::Load("failed_connections: many\n");
  ctx.config = &bad;
  EXPECT_EQ(api->create(ctx, &err), nullptr);
  EXPECT_NE(err.find("k.yaml:1"), std::string::npos) << err;
  YAML::Node unknown = YAML::Load("password_guesses_limit: 30\n");
  ctx.config = &unknown;
  err.clear();
  EXPECT_EQ(api->create(ctx, &err), nullptr);
  EXPECT_NE(err.find("unknown setting"), std::string::npos) << err;
}

}  // namespace
}  // namespace komainu
