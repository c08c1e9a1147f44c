#include <gtest/gtest.h>

#include <fstream>

#include "analyzers/analyzer_testing.h"
#include "analyzers/ftp/ftp_analyzer.h"

namespace komainu::ftp {
namespace {

TEST(FtpParser, Requests) {
  Request r;
  ASSERT_EQ(parse_request("  user  anonymous ", 100, r), RequestStatus::kOk);
  EXPECT_EQ(r.command, "USER");
  EXPECT_EQ(r.arg, "anonymous ");
  ASSERT_EQ(parse_request("PASV", 100, r), RequestStatus::kOk);
  EXPECT_EQ(r.arg, "");
  EXPECT_EQ(parse_request("ab", 100, r), RequestStatus::kInvalid);
  EXPECT_EQ(parse_request("\x01\x02\x03x", 100, r), RequestStatus::kInvalid);
  EXPECT_EQ(parse_request(std::string(101, 'A'), 100, r), RequestStatus::kTooLong);
}

TEST(FtpParser, MultiLineReplies) {
  ReplyParser p;
  ReplyParser::Line l;
  EXPECT_EQ(p.parse("230-Welcome", l), ReplyParser::Status::kFirstOfMany);
  EXPECT_EQ(l.code, 230u);
  EXPECT_EQ(l.msg, "Welcome");
  EXPECT_EQ(p.parse(" more text", l), ReplyParser::Status::kContinuation);
  EXPECT_EQ(l.code, 0u);
  EXPECT_EQ(p.parse("226 not the end", l), ReplyParser::Status::kContinuation);
  EXPECT_EQ(p.parse("230 Done", l), ReplyParser::Status::kReply);
  EXPECT_EQ(l.code, 230u);
  EXPECT_EQ(l.msg, "Done");
  EXPECT_FALSE(l.cont);
  EXPECT_EQ(p.parse("221", l), ReplyParser::Status::kReply);
  EXPECT_EQ(l.msg, "");
  EXPECT_EQ(p.parse("230_no_space", l), ReplyParser::Status::kNoSpace);
  EXPECT_EQ(p.parse("+OK pop3", l), ReplyParser::Status::kNonNumeric);
  EXPECT_EQ(p.parse("099 x", l), ReplyParser::Status::kInvalidCode);
}

TEST(FtpParser, DataChannels) {
  Endpoint e = parse_port("141,142,220,235,131,46");
  ASSERT_TRUE(e.valid);
  EXPECT_EQ(e.h.str(), "141.142.220.235");
  EXPECT_EQ(e.p, 33582);
  EXPECT_FALSE(parse_port("1,2,3,4,5").valid);
  EXPECT_FALSE(parse_port("1,2,3,4,5,256").valid);
  e = parse_pasv("Entering Passive Mode (199,233,217,249,221,90)");
  ASSERT_TRUE(e.valid);
  EXPECT_EQ(e.p, 56666);
  e = parse_pasv("Entering Passive Mode 10,0,0,1,4,31");
  ASSERT_TRUE(e.valid);
  EXPECT_EQ(e.p, 1055);
  e = parse_eprt("|2|2001:470:1f11:81f:c999:d94:aa7c:2e3e|49189|");
  ASSERT_TRUE(e.valid);
  EXPECT_EQ(e.h.str(), "2001:470:1f11:81f:c999:d94:aa7c:2e3e");
  EXPECT_EQ(e.p, 49189);
  e = parse_epsv("Entering Extended Passive Mode (|||57086|)");
  ASSERT_TRUE(e.valid);
  EXPECT_EQ(e.h, IpAddr{});
  EXPECT_EQ(e.p, 57086);
  EXPECT_FALSE(parse_epsv("no parenthesis").valid);
  EXPECT_FALSE(parse_eprt("|1|10.0.0.1|99999|").valid);
  EXPECT_FALSE(parse_eprt("|1|not-an-address|21|").valid);
}

TEST(FtpParser, PathsAsZeek) {
  // Zeek's own compress_path test cases.
  const std::pair<const char*, const char*> cases[] = {
      {"./../foo", "../foo"},
      {"././../foo", "../foo"},
      {"/1/2/3", "/1/2/3"},
      {"/1/./2/3", "/1/2/3"},
      {"/1/2/../3", "/1/3"},
      {"1/2/3/", "1/2/3"},
      {"1/2//3///", "1/2/3"},
      {"~/zeek/testing/../././.", "~/zeek"},
      {"./zeek", "./zeek"},
      {"../zeek/testing/..", "../zeek"},
      {"./zeek/..", "."},
      {"./zeek/../..", ".."},
      {"./zeek/../../..", "../.."},
      {"/..", "/.."},
      {"~/..", "~/.."},
      {"/../..", "/../.."},
      {"zeek/..", ""},
      {"zeek/../..", ".."},
  };
  for (auto [in, want] : cases) EXPECT_EQ(compress_path(in), want) << in;
  EXPECT_EQ(build_path_compressed(".", "pub/data/x.gz"), "./pub/data/x.gz");
  EXPECT_EQ(build_path_compressed("./pub", "/etc/passwd"), "/etc/passwd");
  EXPECT_EQ(build_path_compressed("./pub/", ".."), ".");
  EXPECT_EQ(extract_path("\"/home/user\" is current directory."), "/home/user");
  EXPECT_EQ(extract_path("current directory is /var/ftp now"), "/var/ftp");
  EXPECT_EQ(extract_path("no path"), "");
  EXPECT_EQ(extract_last_count("Opening BINARY mode data connection for a1 (154427 bytes)."),
            154427u);
  EXPECT_EQ(extract_last_count("77"), 77u);
  EXPECT_EQ(extract_last_count("none"), 0u);
  EXPECT_EQ(extract_last_count("99999999999999999999999"), 0u);
}

TEST(FtpProbe, ContentDecides) {
  auto p = [](std::string_view s, Direction d, uint16_t port = 2121) {
    return probe({reinterpret_cast<const uint8_t*>(s.data()), s.size()}, d, port);
  };
  EXPECT_EQ(p("220 ProFTPD ready\r\n", Direction::kToClient), ProbeResult::kMaybe);
  EXPECT_EQ(p("SSH-2.0-x\r\n", Direction::kToClient), ProbeResult::kNo);
  EXPECT_EQ(p("USER bob\r\n", Direction::kToServer), ProbeResult::kYes);
  EXPECT_EQ(p("US", Direction::kToServer), ProbeResult::kMaybe);
  EXPECT_EQ(p("EHLO mail\r\n", Direction::kToServer), ProbeResult::kNo);
  // SMTP's AUTH LOGIN after EHLO (the flow stage probes later segments alone too).
  EXPECT_EQ(p("AUTH LOGIN\r\n", Direction::kToServer, 25), ProbeResult::kNo);
  EXPECT_EQ(p("AUTH TLS\r\n", Direction::kToServer, 21), ProbeResult::kYes);
  EXPECT_EQ(p("GET / HTTP/1.1\r\n", Direction::kToServer), ProbeResult::kNo);
  EXPECT_EQ(p("USER bob\r\n", Direction::kToServer, 110), ProbeResult::kNo);  // POP3
}

struct Conversation {
  testing::CollectingSink sink;
  FlowContext flow;
  std::unique_ptr<FtpSession> s;
  TimeNs t = 0;
  explicit Conversation(const Config& cfg = {}) {
    flow.uid = "C1";
    flow.tuple = {*IpAddr::parse("10.0.0.1"), *IpAddr::parse("10.0.0.2"), 40000, 21, 6};
    s = std::make_unique<FtpSession>(SessionContext{&sink, &flow}, cfg);
  }
  void c(std::string_view l) { send(Direction::kToServer, l); }
  void r(std::string_view l) { send(Direction::kToClient, l); }
  void send(Direction d, std::string_view l) {
    std::string x = std::string(l) + "\r\n";
    s->on_data(d, {reinterpret_cast<const uint8_t*>(x.data()), x.size()}, t += kNsPerSec);
  }
  std::vector<std::string> rows() {
    std::vector<std::string> out;
    for (const auto& row : sink.zeek["ftp"]) {
      auto f = testing::split_tabs(row);
      std::string cut;
      for (size_t i = 6; i < f.size(); ++i) cut += (i > 6 ? "|" : "") + f[i];
      out.push_back(cut);
    }
    return out;
  }
};

TEST(FtpSession, LoginTransferAndPasswordHiding) {
  Conversation x;
  x.r("220-Welcome");
  x.r(" to the server");
  x.r("220 ready");
  x.c("USER alice");
  x.r("331 Password required");
  x.c("PASS secret");
  x.r("230 Logged in");
  x.c("CWD pub");
  x.r("250 ok");
  x.c("PASV");
  x.r("227 Entering Passive Mode (10,0,0,2,4,31)");
  x.c("RETR file.txt");
  x.r("150 Opening BINARY mode data connection for file.txt (1234 bytes)");
  x.r("226 Transfer complete");
  x.c("QUIT");
  x.r("221 Goodbye");
  x.s->on_close(x.t);
  auto rows = x.rows();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0],
            "alice|<hidden>|PASV|-|-|-|227|Entering Passive Mode (10,0,0,2,4,31)|T|10.0.0.1|"
            "10.0.0.2|1055|-");
  EXPECT_EQ(rows[1],
            "alice|<hidden>|RETR|ftp://10.0.0.2/./pub/file.txt|-|1234|226|Transfer "
            "complete|-|-|-|-|-");
  // EVE: one event per command and the greeting, the password hidden.
  EXPECT_EQ(x.sink.eve.size(), 7u);
  EXPECT_EQ(x.sink.eve[0].json.find("\"command\""), std::string::npos);
  size_t pass_events = 0;
  for (const auto& e : x.sink.eve) {
    EXPECT_EQ(e.json.find("secret"), std::string::npos);
    if (e.json.find("\"command\":\"PASS\"") != std::string::npos) {
      ++pass_events;
      EXPECT_NE(e.json.find("\"command_data\":\"<hidden>\""), std::string::npos);
      EXPECT_NE(e.json.find("\"completion_code\":[\"230\"]"), std::string::npos);
    }
  }
  EXPECT_EQ(pass_events, 1u);
}

TEST(FtpSession, AnonymousPasswordShownAndFailedLoginRow) {
  Conversation x;
  x.r("220 ready");
  x.c("USER anonymous");
  x.r("331 send email");
  x.c("PASS me@example.com");
  x.r("230 ok");
  x.c("EPSV");
  x.r("229 Entering Extended Passive Mode (|||6446|)");
  x.s->on_close(x.t);
  auto rows = x.rows();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0],
            "anonymous|me@example.com|EPSV|-|-|-|229|Entering Extended Passive Mode "
            "(|||6446|)|T|10.0.0.1|10.0.0.2|6446|-");

  // A failed login logs nothing by default: log_at_least_one_command leaves one row.
  Conversation y;
  y.r("220 ready");
  y.c("USER bro");
  y.r("331 Password required for bro.");
  y.c("PASS 1");
  y.r("530 Login incorrect.");
  y.c("QUIT");
  y.r("221 Goodbye.");
  y.s->on_close(y.t);
  rows = y.rows();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0], "bro|<hidden>|QUIT|-|-|-|221|Goodbye.|-|-|-|-|-");
  size_t logins = 0;
  for (const auto& e : y.sink.eve) logins += e.event_type == "ftp_login";
  EXPECT_EQ(logins, 0u);  // feeds detectors only
}

TEST(FtpSession, BoundsAndWeirds) {
  Config cfg;
  cfg.max_user_length = 4;
  cfg.max_pending_commands = 3;
  cfg.max_line_length = 64;
  Conversation x(cfg);
  x.r("220 ready");
  x.c("USER anonymous");
  for (int i = 0; i < 10; ++i) x.c("NOOP");
  EXPECT_LE(x.s->pending(), 3u);
  EXPECT_EQ(x.s->info().user, "anon");
  EXPECT_EQ(x.s->anomalies().count("FTP_user_too_long"), 1u);
  EXPECT_GE(x.s->anomalies().count("FTP_too_many_pending_commands"), 1u);
  x.c(std::string(200, 'x'));
  EXPECT_EQ(x.s->anomalies().count("FTP_line_too_long"), 1u);
  // The working directory cannot grow without bound.
  for (int i = 0; i < 5; ++i) {
    x.c("CWD " + std::string(50, 'd'));
    x.r("250 ok");
  }
  EXPECT_LE(x.s->info().cwd.size(), 64u);
  EXPECT_GE(x.s->anomalies().count("FTP_cwd_too_long"), 1u);
  // A reply without a space after the code ends the analysis (Zeek's violation).
  x.r("230_no_space");
  EXPECT_EQ(x.s->anomalies().count("FTP_invalid_reply_line"), 1u);
  x.c("RETR x");
  EXPECT_LE(x.s->pending(), 3u);
  x.s->on_close(x.t);
}

TEST(FtpCorpus, BruteforceTraceAsZeek) {
  const std::string pcap =
      std::string(KOMAINU_SHARED_DIR) + "/corpus/pcap/brute-force/ftp-bruteforce.pcap";
  const std::string base =
      std::string(KOMAINU_SHARED_DIR) + "/corpus/pcap/brute-force/expected/ftp-bruteforce.ftp.log";
  if (!std::ifstream(pcap)) GTEST_SKIP() << "public corpus not found at " << KOMAINU_SHARED_DIR;
  const AnalyzerApi* api = Registry<AnalyzerApi>::find("ftp");
  ASSERT_NE(api, nullptr);
  auto r = testing::parity_case(*api, pcap, base, "ftp", "ftp-bruteforce");
  EXPECT_EQ(r.baseline, 30u);
  EXPECT_EQ(r.identical, r.baseline);
  EXPECT_EQ(r.produced, r.baseline);
}

}  // namespace
}  // namespace komainu::ftp
