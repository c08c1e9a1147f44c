#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "analyzers/krb5/krb5_analyzer.h"
#include "analyzers/render_sink.h"

namespace komainu::krb5 {
namespace {

std::vector<uint8_t> seed(const char* name) {
  std::ifstream in(std::string(KOMAINU_SOURCE_DIR) + "/src/analyzers/krb5/seeds/" + name,
                   std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

TEST(Krb5, ParsesTheFourMessageKindsOfKinit) {
  Message m;
  auto req = seed("udp-6a.bin");
  ASSERT_FALSE(req.empty());
  ASSERT_TRUE(parse(req, m));
  EXPECT_EQ(m.type, kAsReq);
  EXPECT_EQ(m.cname, "valid_client_principal");
  EXPECT_EQ(m.srealm, "VLADG.NET");
  EXPECT_EQ(m.sname, "krbtgt/VLADG.NET");
  EXPECT_TRUE(m.has_till);
  EXPECT_FALSE(m.etypes.empty());
  auto rep = seed("udp-6b.bin");
  ASSERT_TRUE(parse(rep, m));
  EXPECT_EQ(m.type, kAsRep);
  EXPECT_TRUE(m.has_ticket_etype);
  EXPECT_EQ(cipher_name(m.ticket_etype), "aes256-cts-hmac-sha1-96");
  ASSERT_TRUE(parse(seed("udp-6c.bin"), m));
  EXPECT_EQ(m.type, kTgsReq);
  ASSERT_TRUE(parse(seed("udp-7e.bin"), m));
  EXPECT_EQ(m.type, kError);
}

TEST(Krb5, TruncatedOrCorruptedMessagesAreRejectedNotCrashing) {
  for (const char* name : {"udp-6a.bin", "udp-6b.bin", "udp-6c.bin", "udp-7e.bin"}) {
    auto msg = seed(name);
    Message m;
    for (size_t n = 0; n < msg.size(); ++n)
      EXPECT_FALSE(parse(std::span<const uint8_t>(msg.data(), n), m)) << name << " " << n;
    for (size_t i = 0; i < msg.size(); ++i) {  // every byte flipped: no crash
      auto bad = msg;
      bad[i] ^= 0xff;
      (void)parse(bad, m);
    }
  }
}

TEST(Krb5, NamesAsZeekAndSuricata) {
  EXPECT_EQ(error_name(24), "KDC_ERR_PREAUTH_FAILED");
  EXPECT_EQ(error_name(6), "KDC_ERR_C_PRINCIPAL_UNKNOWN");
  EXPECT_EQ(error_name(30), "unknown-30");
  EXPECT_EQ(error_name(-1), "unknown--1");
  EXPECT_EQ(cipher_name(23), "rc4-hmac");
  EXPECT_EQ(cipher_name(99), "unknown-99");
  EXPECT_TRUE(weak_cipher(23));
  EXPECT_FALSE(weak_cipher(18));
  EXPECT_STREQ(msg_type_name(kError), "KRB_ERROR");
}

TEST(Krb5, ProbesNeedAWholeRequestInTheRightDirection) {
  auto req = seed("udp-6a.bin"), rep = seed("udp-6b.bin");
  EXPECT_EQ(probe_udp(req, Direction::kToServer, 88), ProbeResult::kYes);
  EXPECT_EQ(probe_udp(req, Direction::kToClient, 88), ProbeResult::kNo);
  EXPECT_EQ(probe_udp(rep, Direction::kToClient, 88), ProbeResult::kYes);
  std::vector<uint8_t> dns = {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
  EXPECT_EQ(probe_udp(dns, Direction::kToServer, 88), ProbeResult::kNo);
  // TCP: a 4-byte record length, then the message.
  std::vector<uint8_t> tcp = {0, 0, uint8_t(req.size() >> 8), uint8_t(req.size())};
  tcp.insert(tcp.end(), req.begin(), req.end());
  EXPECT_EQ(probe_tcp(std::span<const uint8_t>(tcp.data(), 10), Direction::kToServer, 88),
            ProbeResult::kMaybe);
  EXPECT_EQ(probe_tcp(tcp, Direction::kToServer, 88), ProbeResult::kYes);
}

// One row per connection, written at the reply; a TCP record split anywhere gives the same.
TEST(Krb5, SessionLogsOneExchangePerConnection) {
  auto req = seed("udp-6a.bin"), rep = seed("udp-6b.bin");
  std::vector<uint8_t> a = {0, 0, uint8_t(req.size() >> 8), uint8_t(req.size())};
  a.insert(a.end(), req.begin(), req.end());
  std::vector<uint8_t> b = {0, 0, uint8_t(rep.size() >> 8), uint8_t(rep.size())};
  b.insert(b.end(), rep.begin(), rep.end());
  for (size_t split : {size_t(1), size_t(3), size_t(7), a.size() - 1}) {
    RenderSink sink;
    FlowContext f;
    f.tuple.proto = 6;
    KrbSession s({&sink, &f});
    s.on_data(Direction::kToServer, std::span<const uint8_t>(a.data(), split), 1);
    s.on_data(Direction::kToServer, std::span<const uint8_t>(a.data() + split, a.size() - split),
              2);
    s.on_data(Direction::kToClient, b, 3);
    s.on_data(Direction::kToClient, b, 4);  // a second exchange is not logged again
    s.on_close(5);
    EXPECT_EQ(sink.records, 1u) << split;
  }
}

// The record marking length is bounded: a huge announced record stops the direction.
TEST(Krb5, OversizedTcpRecordIsAnAnomaly) {
  RenderSink sink;
  FlowContext f;
  f.tuple.proto = 6;
  KrbSession s({&sink, &f});
  std::vector<uint8_t> huge = {0x00, 0x10, 0x00, 0x00, 0x6a};
  s.on_data(Direction::kToServer, huge, 1);
  s.on_close(2);
  EXPECT_EQ(sink.records, 1u);  // the anomaly; no exchange was started
}

}  // namespace
}  // namespace komainu::krb5
