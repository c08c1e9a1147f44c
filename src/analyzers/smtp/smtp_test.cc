#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "analyzers/analyzer_testing.h"
#include "analyzers/smtp/smtp_analyzer.h"

namespace komainu::smtp {
namespace {

TEST(SmtpParser, CommandsAndReplies) {
  Command c = parse_command("  mail FROM:<a@b.c>  SIZE=10 ");
  EXPECT_EQ(c.verb, "MAIL");
  EXPECT_EQ(c.arg, "FROM:<a@b.c>  SIZE=10 ");
  Reply r;
  ASSERT_TRUE(parse_reply("250-PIPELINING", r));
  EXPECT_EQ(r.code, 250u);
  EXPECT_TRUE(r.cont);
  ASSERT_TRUE(parse_reply("221", r));
  EXPECT_FALSE(r.cont);
  EXPECT_FALSE(parse_reply("25x ok", r));
  EXPECT_FALSE(parse_reply("250_ok", r));
}

TEST(SmtpParser, BdatArgumentsAsZeek) {
  Bdat b = parse_bdat("86 LAST");
  EXPECT_EQ(b.error, nullptr);
  EXPECT_EQ(b.size, 86u);
  EXPECT_TRUE(b.last);
  EXPECT_STREQ(parse_bdat("").error, "BDAT argument bad length");
  EXPECT_STREQ(parse_bdat(std::string(26, '1')).error, "BDAT argument bad length");
  EXPECT_STREQ(parse_bdat("-1").error, "BDAT not followed by a valid chunk-size");
  EXPECT_STREQ(parse_bdat("10x").error, "BDAT chunk-size not valid");
  EXPECT_STREQ(parse_bdat("99999999999999999999").error, "BDAT chunk-size too large");
  EXPECT_STREQ(parse_bdat("10 LAST junk").error, "BDAT chunk-size followed by junk");
  b = parse_bdat("15555555557777777777 LAST");
  EXPECT_EQ(b.error, nullptr);
  EXPECT_TRUE(b.huge);  // above INT64_MAX: smtp_huge_bdat_chunk
}

TEST(SmtpParser, AddressHelpers) {
  EXPECT_EQ(extract_email_addrs("TO:<raj@yahoo.co.in>"),
            std::vector<std::string>{"raj@yahoo.co.in"});
  EXPECT_EQ(extract_email_addrs("<a@b>, <c@d>"), (std::vector<std::string>{"a@b", "c@d"}));
  EXPECT_TRUE(extract_email_addrs("no address here").empty());
  EXPECT_EQ(split_mime_email_addresses("\"Doe, J\" <j@d>, k@l"),
            (std::vector<std::string>{"\"Doe, J\" <j@d>", "k@l"}));
  EXPECT_EQ(extract_ip_addresses("from a (a [216.58.97.33]) by b; 12:55:34 -0700", true),
            std::vector<std::string>{"216.58.97.33"});
  // Not wrapped: a version number or a date is no relay address.
  EXPECT_TRUE(extract_ip_addresses("id 1.2.3.4x by b", true).empty());
  EXPECT_EQ(extract_ip_addresses("X 10.0.0.1", false), std::vector<std::string>{"10.0.0.1"});
}

struct Recorder : MimeHandler {
  void begin_entity() override { log += "<"; }
  void header(std::string_view n, std::string_view v) override {
    log += std::string(n) + "=" + std::string(v) + ";";
  }
  void body(std::span<const uint8_t> d) override {
    log += "[" + std::string(reinterpret_cast<const char*>(d.data()), d.size()) + "]";
  }
  void end_entity() override { log += ">"; }
  void anomaly(const char* n, std::string a) override { log += std::string("!") + n + ":" + a; }
  std::string log;
};

TEST(MimeMessage, MultipartBase64QuotedPrintableAndFolding) {
  Recorder r;
  MimeMessage m(r);
  for (const char* l :
       {"Subject: a", "\tb", "Content-Type: multipart/mixed; boundary=\"XX\"", "", "preamble",
        "--XX", "Content-Transfer-Encoding: base64", "", "aGVs", "bG8=", "--XX",
        "Content-Transfer-Encoding: quoted-printable", "", "a=3Db=", "c", "--XX--", "epilogue"})
    m.line(l);
  m.finish();
  EXPECT_EQ(r.log,
            "<SUBJECT=a\tb;CONTENT-TYPE=multipart/mixed; boundary=\"XX\";"
            "<CONTENT-TRANSFER-ENCODING=base64;[hel][lo]>"
            "<CONTENT-TRANSFER-ENCODING=quoted-printable;[a=b][c\r\n]>>");
}

TEST(MimeMessage, Base64GroupsAfterPaddingAreDecoded) {
  Recorder r;
  MimeMessage m(r);
  for (const char* l : {"Content-Transfer-Encoding: base64", "", "NA=", "=Mg", "=="}) m.line(l);
  m.finish();
  EXPECT_NE(r.log.find("[4]"), std::string::npos) << r.log;
  EXPECT_NE(r.log.find("[2]"), std::string::npos) << r.log;
  EXPECT_NE(r.log.find("extra base64 groups after '=' padding decoded"), std::string::npos);
}

TEST(MimeMessage, Base64ErrorsAndPlainLines) {
  Recorder r;
  MimeMessage m(r);
  for (const char* l : {"Content-Transfer-Encoding: base64", "", "aGk*", "Zg"}) m.line(l);
  m.finish();
  EXPECT_NE(r.log.find("!base64_illegal_encoding:character 42 ignored by Base64 decoding"),
            std::string::npos);
  EXPECT_NE(r.log.find("incomplete base64 group, padding with 18 bits of 0"), std::string::npos);
  Recorder p;
  MimeMessage plain(p);
  for (const char* l : {"", "one", "", "two"}) plain.line(l);
  plain.finish();
  // A single-part body keeps every line end.
  EXPECT_EQ(p.log, "<[one\r\n][\r\n][two\r\n]>");
}

class Records : public EventSink {
 public:
  void publish(const Record& r) override {
    if (const auto* a = dynamic_cast<const SmtpAuthRecord*>(&r))
      auths.push_back({std::string(a->mechanism), a->reply_code, a->starttls_offered});
    if (const auto* s = dynamic_cast<const SmtpRecord*>(&r)) mails.push_back(*s->info);
    if (const auto* f = dynamic_cast<const files::FileRecord*>(&r))
      files.push_back(f->filename + ":" + std::to_string(f->seen_bytes));
    if (r.event_type() == "anomaly") ++anomalies;
  }
  struct Auth {
    std::string mech;
    uint32_t code;
    bool starttls;
  };
  std::vector<Auth> auths;
  std::vector<Info> mails;
  std::vector<std::string> files;
  int anomalies = 0;
};

void feed(SmtpSession& s, Direction d, std::string_view text, TimeNs ts = 0) {
  s.on_data(d, {reinterpret_cast<const uint8_t*>(text.data()), text.size()}, ts);
}

TEST(SmtpSession, CleartextAuthAndPipelinedMail) {
  Records sink;
  FlowContext f;
  f.tuple.proto = 6;
  f.tuple.src = *IpAddr::parse("192.168.100.40");
  f.tuple.dst = *IpAddr::parse("43.255.154.57");
  SmtpSession s({&sink, &f});
  const auto C = Direction::kToServer, S = Direction::kToClient;
  feed(s, S, "220 mx ESMTP Exim\r\n");
  feed(s, C, "EHLO User-PC\r\n");
  feed(s, S, "250-mx Hello\r\n250-AUTH PLAIN LOGIN\r\n250-STARTTLS\r\n250 HELP\r\n");
  feed(s, C, "AUTH login dXNlcg==\r\n");
  feed(s, S, "334 UGFzc3dvcmQ6\r\n");
  feed(s, C, "cGFzcw==\r\n");
  feed(s, S, "235 Authentication succeeded\r\n");
  ASSERT_EQ(sink.auths.size(), 1u);
  EXPECT_EQ(sink.auths[0].mech, "LOGIN");
  EXPECT_EQ(sink.auths[0].code, 235u);
  EXPECT_TRUE(sink.auths[0].starttls);
  // Pipelined envelope: the replies come in one segment.
  feed(s, C, "MAIL FROM:<a@b.in>\r\nRCPT TO:<c@gmail.com>\r\nDATA\r\n");
  feed(s, S, "250 OK\r\n250 Accepted\r\n354 Enter message\r\n");
  feed(s, C,
       "From: a@b.in\r\nSubject: PW_admin\r\nContent-Disposition: attachment; "
       "filename=\"pw.html\"\r\n\r\n..dot\r\nline\r\n.\r\n");
  feed(s, S, "250 OK id=1\r\n");
  ASSERT_EQ(sink.mails.size(), 1u);
  const Info& m = sink.mails[0];
  EXPECT_EQ(m.helo, "User-PC");
  EXPECT_EQ(m.mailfrom, "a@b.in");
  EXPECT_EQ(*m.rcptto, std::vector<std::string>{"c@gmail.com"});
  EXPECT_EQ(m.subject, "PW_admin");
  EXPECT_EQ(m.last_reply, "250 OK id=1");
  EXPECT_EQ(m.attachments, std::vector<std::string>{"pw.html"});
  // ".dot\r\nline\r\n": one leading dot unstuffed.
  EXPECT_EQ(sink.files, std::vector<std::string>{"pw.html:12"});
  s.on_close(1);
  EXPECT_EQ(sink.mails.size(), 1u);  // nothing more happened
  EXPECT_EQ(sink.anomalies, 0);
}

TEST(SmtpSession, StartTlsEndsTheParseAndTransactionChecks) {
  Records sink;
  FlowContext f;
  f.tuple.proto = 6;
  SmtpSession s({&sink, &f});
  const auto C = Direction::kToServer, S = Direction::kToClient;
  feed(s, S, "220 mx ESMTP\r\n");
  feed(s, C, "EHLO x\r\nRCPT TO:<a@b>\r\n");
  feed(s, S, "250 mx\r\n503 need MAIL\r\n");
  EXPECT_EQ(sink.anomalies, 1);  // smtp_mail_transaction_invalid
  feed(s, C, "STARTTLS\r\n");
  feed(s, S, "220 go ahead\r\n");
  EXPECT_TRUE(s.handed_off());  // the flow stage gives the rest to the TLS analyzer
  feed(s, C, "\x16\x03\x01 binary after TLS\r\n");
  s.on_close(2);
  ASSERT_EQ(sink.mails.size(), 1u);
  EXPECT_TRUE(sink.mails[0].tls);
  EXPECT_EQ(sink.anomalies, 1);
}

TEST(SmtpProbe, ClientAndServerFirstBytes) {
  auto p = [](std::string_view s, Direction d) {
    return probe({reinterpret_cast<const uint8_t*>(s.data()), s.size()}, d, 25);
  };
  EXPECT_EQ(p("EHLO x\r\n", Direction::kToServer), ProbeResult::kYes);
  EXPECT_EQ(p("EH", Direction::kToServer), ProbeResult::kMaybe);
  EXPECT_EQ(p("USER x\r\n", Direction::kToServer), ProbeResult::kNo);
  EXPECT_EQ(p("220 mx ESMTP Postfix\r\n", Direction::kToClient), ProbeResult::kYes);
  EXPECT_EQ(p("220 ProFTPD ready\r\n", Direction::kToClient), ProbeResult::kMaybe);
  EXPECT_EQ(p("SSH-2.0-x\r\n", Direction::kToClient), ProbeResult::kNo);
}

}  // namespace
}  // namespace komainu::smtp

namespace komainu::smtp {
namespace {

TEST(SmtpConfig, SettingsAndErrorsWithTheirLine) {
  AnalyzerConfigError e;
  auto o = configure(YAML::Load("max-fuids: 5\nmail-transaction-validation: false\n"), e);
  ASSERT_NE(o, nullptr);
  const Config& c = dynamic_cast<const Options&>(*o).config;
  EXPECT_EQ(c.max_fuids, 5u);
  EXPECT_FALSE(c.mail_transaction_validation);
  EXPECT_EQ(configure(YAML::Load("max-fuids: 1\nbogus: 1\n"), e), nullptr);
  EXPECT_EQ(e.line, 1);
  EXPECT_EQ(e.message, "bogus: unknown setting");
  EXPECT_EQ(configure(YAML::Load("max-line-length: 10\n"), e), nullptr);
  EXPECT_EQ(e.message, "max-line-length: expected 64..16777216");
  EXPECT_EQ(configure(YAML::Load("mail-transaction-validation: maybe\n"), e), nullptr);
  EXPECT_EQ(e.message, "mail-transaction-validation: bad value");
}

}  // namespace
}  // namespace komainu::smtp
