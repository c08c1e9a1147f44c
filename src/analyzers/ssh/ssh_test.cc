#include <gtest/gtest.h>

#include <filesystem>

#include "analyzers/analyzer_testing.h"
#include "analyzers/ssh/ssh_analyzer.h"

namespace komainu::ssh {
namespace {

using Bytes = std::vector<uint8_t>;

void put32(Bytes& b, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) b.push_back(uint8_t(v >> s));
}
void put_str(Bytes& b, std::string_view s) {
  put32(b, uint32_t(s.size()));
  b.insert(b.end(), s.begin(), s.end());
}

// An unencrypted binary packet with 4 bytes of padding.
Bytes packet(uint8_t msg, const Bytes& body) {
  Bytes p;
  uint32_t len = uint32_t(1 + 1 + body.size() + 4);
  put32(p, len);
  p.push_back(4);
  p.push_back(msg);
  p.insert(p.end(), body.begin(), body.end());
  p.insert(p.end(), 4, 0);
  return p;
}

Bytes kexinit(std::string_view kex, std::string_view hostkey, std::string_view enc,
              std::string_view mac) {
  Bytes b(16, 0x42);
  put_str(b, kex);
  put_str(b, hostkey);
  put_str(b, enc);
  put_str(b, enc);
  put_str(b, mac);
  put_str(b, mac);
  put_str(b, "none,zlib@openssh.com");
  put_str(b, "none,zlib@openssh.com");
  put_str(b, "");
  put_str(b, "");
  b.push_back(0);
  put32(b, 0);
  return packet(20, b);
}

TEST(SshParser, Banner) {
  Banner b;
  ASSERT_TRUE(parse_banner("SSH-2.0-OpenSSH_6.6.1p1 Ubuntu-2ubuntu2", b));
  EXPECT_EQ(b.proto_version, "2.0");
  EXPECT_EQ(b.software, "OpenSSH_6.6.1p1");
  EXPECT_FALSE(parse_banner("HTTP/1.1 200 OK", b));
  EXPECT_FALSE(parse_banner("SSH-", b));
}

TEST(SshParser, HasshAndFingerprint) {
  Bytes p = kexinit("curve25519-sha256,diffie-hellman-group14-sha1", "ssh-ed25519",
                    "aes128-ctr,aes256-ctr", "hmac-sha2-256");
  KexInit k;
  ASSERT_TRUE(parse_kexinit(std::span<const uint8_t>(p).subspan(6), k));
  EXPECT_EQ(hassh_string(k, false),
            "curve25519-sha256,diffie-hellman-group14-sha1;aes128-ctr,aes256-ctr;hmac-sha2-256;"
            "none,zlib@openssh.com");
  EXPECT_EQ(md5_hex("abc"), "900150983cd24fb0d6963f7d28e17f72");
  Bytes key = {1, 2, 3};
  EXPECT_EQ(host_key_fingerprint(key).rfind("SHA256:", 0), 0u);
  EXPECT_EQ(host_key_fingerprint(key).find('='), std::string::npos);
  EXPECT_EQ(negotiate({"a", "b", "c"}, {"c", "b"}), "b");
  // truncated KEXINIT fails cleanly at every length
  for (size_t n = 0; n < p.size() - 6; ++n) {
    KexInit t;
    parse_kexinit(std::span<const uint8_t>(p).subspan(6, n), t);
  }
}

FlowContext flow() {
  FlowContext f;
  f.uid = "Cssh";
  f.tuple = {IpAddr::v4(0xc0a80101), IpAddr::v4(0x08080808), 40000, 22, 6};
  return f;
}

TEST(SshSession, KexThenAuthHeuristic) {
  FlowContext f = flow();
  testing::CollectingSink sink;
  SshSession s({&sink, &f});
  auto feed = [&](Direction d, const Bytes& b) { s.on_data(d, b, kNsPerSec); };
  auto text = [](std::string_view t) { return Bytes(t.begin(), t.end()); };
  feed(Direction::kToClient, text("SSH-2.0-OpenSSH_5.8\r\n"));
  feed(Direction::kToServer, text("SSH-2.0-OpenSSH_5.9\r\n"));
  feed(Direction::kToServer, kexinit("ecdh-sha2-nistp256,diffie-hellman-group14-sha1",
                                     "ssh-rsa,ecdsa-sha2-nistp256", "aes128-ctr", "hmac-md5"));
  feed(Direction::kToClient,
       kexinit("ecdh-sha2-nistp256", "ecdsa-sha2-nistp256", "aes256-ctr,aes128-ctr", "hmac-md5"));
  Bytes reply;
  put_str(reply, "host-key-blob");
  feed(Direction::kToClient, packet(31, reply));
  feed(Direction::kToClient, packet(21, {}));
  feed(Direction::kToServer, packet(21, {}));
  feed(Direction::kToServer, Bytes(64, 0));  // client ciphertext: the server is now watched
  // server: SERVICE_ACCEPT (52), two failures (68), then USERAUTH_SUCCESS (52 - 16)
  feed(Direction::kToClient, Bytes(52, 0));
  feed(Direction::kToClient, Bytes(68, 0));
  feed(Direction::kToClient, Bytes(68, 0));
  EXPECT_EQ(sink.zeek["ssh"].size(), 0u);
  feed(Direction::kToClient, Bytes(36, 0));
  ASSERT_EQ(sink.zeek["ssh"].size(), 1u);  // logged as soon as auth succeeded
  std::string fp = host_key_fingerprint(
      {reinterpret_cast<const uint8_t*>("host-key-blob"), strlen("host-key-blob")});
  EXPECT_EQ(sink.zeek["ssh"][0],
            "1.000000\tCssh\t192.168.1.1\t40000\t8.8.8.8\t22\t2\tT\t2\tOUTBOUND\t"
            "SSH-2.0-OpenSSH_5.9\tSSH-2.0-OpenSSH_5.8\taes128-ctr\thmac-md5\tnone\t"
            "ecdh-sha2-nistp256\tecdsa-sha2-nistp256\t" +
                fp);
  ASSERT_EQ(sink.eve.size(), 1u);
  EXPECT_NE(
      sink.eve[0].json.find(
          R"("client":{"proto_version":"2.0","software_version":"OpenSSH_5.9","hassh":{"hash":")"),
      std::string::npos)
      << sink.eve[0].json;
  s.on_close(2 * kNsPerSec);
  EXPECT_EQ(sink.zeek["ssh"].size(), 1u);
}

TEST(SshSession, Ssh1AndGarbage) {
  FlowContext f = flow();
  testing::CollectingSink sink;
  SshSession s({&sink, &f});
  std::string c = "SSH-1.5-OpenSSH_6.2\n";
  s.on_data(Direction::kToServer, {reinterpret_cast<const uint8_t*>(c.data()), c.size()}, 1);
  s.on_data(Direction::kToServer, Bytes(5000, 0xff), 1);  // SSH-1 packets: not parsed
  s.on_close(2);
  ASSERT_EQ(sink.zeek["ssh"].size(), 1u);
  EXPECT_NE(sink.zeek["ssh"][0].find("\t1\t-\t0\tOUTBOUND\tSSH-1.5-OpenSSH_6.2\t-\t"),
            std::string::npos)
      << sink.zeek["ssh"][0];

  SshSession g({&sink, &f});
  g.on_data(Direction::kToServer, Bytes(10000, 'A'), 1);
  EXPECT_EQ(g.anomalies().count("SSH_banner_too_long"), 1u);
  SshSession h({&sink, &f});
  std::string banner = "SSH-2.0-x\r\n";
  Bytes bad(banner.begin(), banner.end());
  Bytes huge = {0x7f, 0xff, 0xff, 0xff, 4};
  bad.insert(bad.end(), huge.begin(), huge.end());
  h.on_data(Direction::kToServer, bad, 1);
  EXPECT_EQ(h.anomalies().count("SSH_bad_packet_length"), 1u);
}

TEST(SshProbe, ByContent) {
  std::string b = "SSH-2.0-OpenSSH_9.0\r\n";
  EXPECT_EQ(
      probe({reinterpret_cast<const uint8_t*>(b.data()), b.size()}, Direction::kToClient, 2222),
      ProbeResult::kYes);
  EXPECT_EQ(probe({reinterpret_cast<const uint8_t*>(b.data()), 2}, Direction::kToClient, 22),
            ProbeResult::kMaybe);
  EXPECT_EQ(probe({reinterpret_cast<const uint8_t*>("GET /"), 5}, Direction::kToServer, 22),
            ProbeResult::kNo);
  ASSERT_NE(Registry<AnalyzerApi>::find("ssh"), nullptr);
}

TEST(SshCorpus, ZeekSshLogParity) {
  std::string zeek = std::string(KOMAINU_SHARED_DIR) + "/corpus/zeek/";
  if (!std::filesystem::exists(zeek + "manifest.json"))
    GTEST_SKIP() << "public corpus not found at " << KOMAINU_SHARED_DIR;
  const AnalyzerApi* api = Registry<AnalyzerApi>::find("ssh");
  ASSERT_NE(api, nullptr);
  size_t total = 0, same = 0;
  const char* cases[][2] = {
      {"scripts.base.protocols.ssh.basic", "traces/ssh/ssh.pcap"},
      {"scripts.base.protocols.ssh.half-duplex-server",
       "traces/ssh/ssh.server-side-half-duplex.pcap"},
  };
  for (auto& c : cases) {
    auto r = testing::parity_case(*api, zeek + c[1], zeek + "baselines/" + c[0] + "/ssh.log", "ssh",
                                  c[0]);
    total += r.baseline;
    same += r.identical;
  }
  printf("[parity] ssh.log total: %zu/%zu\n", same, total);
  EXPECT_GE(same * 100, total * 100) << same << "/" << total;
}

}  // namespace
}  // namespace komainu::ssh
