#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "analyzers/analyzer_config.h"
#include "analyzers/analyzer_testing.h"
#include "analyzers/dns/dns_analyzer.h"

namespace komainu::dns {
namespace {

using Bytes = std::vector<uint8_t>;

// Small builder for hand-made messages.
struct Builder {
  Bytes b;
  void u8(uint8_t v) { b.push_back(v); }
  void u16(uint16_t v) {
    b.push_back(uint8_t(v >> 8));
    b.push_back(uint8_t(v));
  }
  void u32(uint32_t v) {
    u16(uint16_t(v >> 16));
    u16(uint16_t(v));
  }
  void name(std::string_view n) {
    size_t s = 0;
    while (s < n.size()) {
      size_t e = n.find('.', s);
      if (e == std::string_view::npos) e = n.size();
      u8(uint8_t(e - s));
      b.insert(b.end(), n.begin() + s, n.begin() + e);
      s = e + 1;
    }
    u8(0);
  }
  void ptr(uint16_t off) { u16(uint16_t(0xc000 | off)); }
  void header(uint16_t id, uint16_t flags, uint16_t qd, uint16_t an, uint16_t ns = 0,
              uint16_t ar = 0) {
    u16(id), u16(flags), u16(qd), u16(an), u16(ns), u16(ar);
  }
  // RR header with owner = pointer to the question name (offset 12)
  void rr(uint16_t type, uint32_t ttl, const Bytes& rdata) {
    ptr(12);
    u16(type), u16(1), u32(ttl), u16(uint16_t(rdata.size()));
    b.insert(b.end(), rdata.begin(), rdata.end());
  }
};

Bytes query(uint16_t id, std::string_view name, uint16_t type) {
  Builder q;
  q.header(id, 0x0100, 1, 0);
  q.name(name);
  q.u16(type), q.u16(1);
  return q.b;
}

Bytes full_response() {
  Builder r;
  r.header(0x1234, 0x8180, 1, 9, 1, 0);
  r.name("WWW.Example.com");
  r.u16(1), r.u16(1);
  r.rr(5, 300, {3, 'w', 'e', 'b', 0xc0, 16});  // CNAME web.example.com (ptr to "Example")
  r.rr(1, 60, {192, 0, 2, 1});
  r.rr(28, 60, {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1});
  r.rr(15, 10, {0, 10, 2, 'm', 'x', 0xc0, 16});
  r.rr(16, 5, {3, 'a', 'b', 'c', 2, 'd', 'e'});
  r.rr(33, 7, {0, 1, 0, 2, 0x13, 0xc4, 3, 's', 'r', 'v', 0xc0, 16});
  r.rr(12, 8, {0xc0, 16});
  r.rr(2, 9, {2, 'n', 's', 0xc0, 16});
  r.rr(4242, 1, {1, 2, 3});
  // authority: SOA
  r.rr(6, 3600, {2, 'n', 's', 0xc0, 16, 4, 'h', 'o', 's', 't', 0xc0, 16, 0, 0, 0, 1,
                 0, 0,   0,   2,    0,  0, 0,   3,   0,   0,   0,    4,  0, 0, 0, 5});
  return r.b;
}

TEST(DnsParser, ParsesEveryCommonType) {
  Message m;
  Bytes b = full_response();
  ASSERT_EQ(parse_message(b, m), Error::kNone);
  EXPECT_EQ(m.id, 0x1234);
  EXPECT_TRUE(m.qr());
  EXPECT_TRUE(m.rd());
  EXPECT_TRUE(m.ra());
  ASSERT_EQ(m.questions.size(), 1u);
  EXPECT_EQ(m.questions[0].name, "WWW.Example.com");
  ASSERT_EQ(m.records.size(), 10u);
  EXPECT_EQ(m.records[0].rdata, "web.Example.com");
  EXPECT_EQ(m.records[1].rdata, "192.0.2.1");
  EXPECT_EQ(m.records[2].rdata, "2001:0db8:0000:0000:0000:0000:0000:0001");  // Suricata's
  EXPECT_EQ(m.records[2].zeek_text, "2001:db8::1");                          // Zeek's
  EXPECT_EQ(m.records[3].rdata, "mx.Example.com");
  EXPECT_EQ(m.records[4].rdata, "abcde");
  EXPECT_EQ(m.records[4].zeek_text, "TXT 3 abc TXT 2 de");
  ASSERT_TRUE(m.records[5].srv);
  EXPECT_EQ(m.records[5].srv->port, 5060);
  EXPECT_EQ(m.records[5].srv->target, "srv.Example.com");
  EXPECT_EQ(m.records[6].rdata, "Example.com");
  EXPECT_EQ(m.records[7].rdata, "ns.Example.com");
  EXPECT_EQ(m.records[8].zeek_text, "<unknown type=4242>");
  EXPECT_FALSE(m.records[8].has_rdata);
  ASSERT_TRUE(m.records[9].soa);
  EXPECT_EQ(m.records[9].section, Section::kAuthority);
  EXPECT_EQ(m.records[9].soa->rname, "host.Example.com");
  EXPECT_EQ(m.records[9].soa->minimum, 5u);
  EXPECT_EQ(m.records[9].ttl, 3600u);
}

TEST(DnsParser, CompressionLoopsAndForwardPointersAreRejected) {
  Builder self;
  self.header(1, 0, 1, 0);
  self.ptr(12);  // points at itself
  self.u16(1), self.u16(1);
  Message m;
  EXPECT_EQ(parse_message(self.b, m), Error::kForwardCompression);

  Builder loop;  // label then a pointer back to the label: "a.a.a..." forever
  loop.header(1, 0, 1, 0);
  loop.u8(1), loop.u8('a');
  loop.ptr(12);
  loop.u16(1), loop.u16(1);
  EXPECT_EQ(parse_message(loop.b, m), Error::kForwardCompression);

  Builder fwd;
  fwd.header(1, 0, 1, 0);
  fwd.ptr(40);
  fwd.u16(1), fwd.u16(1);
  fwd.b.resize(60, 0);
  EXPECT_EQ(parse_message(fwd.b, m), Error::kForwardCompression);
}

TEST(DnsParser, TruncationIsNamedAndKeepsWhatParsed) {
  Message m;
  Bytes shortb = {1, 2, 3};
  EXPECT_EQ(parse_message(shortb, m), Error::kHeaderTooShort);
  EXPECT_STREQ(error_name(Error::kHeaderTooShort), "DNS_truncated_len_lt_hdr_len");

  Bytes b = full_response();
  b.resize(b.size() - 20);  // cut into the SOA rdata
  EXPECT_EQ(parse_message(b, m), Error::kRdataTruncated);
  EXPECT_EQ(m.records.size(), 9u);  // the answers before the fault survive

  Builder longname;
  longname.header(1, 0, 1, 0);
  for (int i = 0; i < 10; ++i) {
    longname.u8(63);
    longname.b.resize(longname.b.size() + 63, 'x');
  }
  longname.u8(0);
  longname.u16(1), longname.u16(1);
  EXPECT_EQ(parse_message(longname.b, m), Error::kNameTooLong);

  // every prefix of a valid message parses or fails by name, never crashes
  Bytes full = full_response();
  for (size_t n = 0; n < full.size(); ++n) {
    Error e = parse_message(std::span<const uint8_t>(full.data(), n), m);
    EXPECT_NE(e, Error::kNone) << n;
  }
}

TEST(DnsParser, ZeekNames) {
  EXPECT_EQ(zeek_qtype_name(255), "*");
  EXPECT_EQ(zeek_qtype_name(65534), "query-65534");
  EXPECT_EQ(zeek_class_name(1), "C_INTERNET");
  EXPECT_EQ(zeek_rcode_name(3), "NXDOMAIN");
  EXPECT_EQ(zeek_opcode_name(4), "notify");
  EXPECT_EQ(eve_rrtype_name(255), "ANY");
  EXPECT_EQ(eve_rrtype_name(4242), "4242");
}

FlowContext udp_flow() {
  FlowContext f;
  f.uid = "Ctest";
  f.tuple = {IpAddr::v4(0x0a000001), IpAddr::v4(0x08080808), 40000, 53, 17};
  return f;
}

TEST(DnsSession, MatchesQueryAndReplyIntoOneRow) {
  FlowContext f = udp_flow();
  testing::CollectingSink sink;
  DnsSession s({&sink, &f});
  s.on_data(Direction::kToServer, query(0x1234, "www.example.com", 1), 1 * kNsPerSec);
  s.on_data(Direction::kToClient, full_response(), 1 * kNsPerSec + 5 * kNsPerMs);
  s.on_close(2 * kNsPerSec);
  ASSERT_EQ(sink.eve.size(), 2u);
  EXPECT_NE(sink.eve[0].json.find(R"("type":"query","id":4660,"rrname":"www.example.com")"),
            std::string::npos)
      << sink.eve[0].json;
  EXPECT_NE(sink.eve[1].json.find(R"("version":2,"type":"answer","id":4660,"flags":"8180")"),
            std::string::npos)
      << sink.eve[1].json;
  EXPECT_NE(sink.eve[1].json.find(R"("grouped":{"CNAME":["web.Example.com"],"A":["192.0.2.1"])"),
            std::string::npos)
      << sink.eve[1].json;
  EXPECT_NE(sink.eve[1].json.find(R"("authorities":[{"rrname":"WWW.Example.com","rrtype":"SOA")"),
            std::string::npos);
  EXPECT_TRUE(sink.eve[1].to_client);
  ASSERT_EQ(sink.zeek["dns"].size(), 1u);
  EXPECT_EQ(sink.zeek["dns"][0],
            "1.000000\tCtest\t10.0.0.1\t40000\t8.8.8.8\t53\tudp\t4660\t0.005000\twww.example.com\t1"
            "\tC_INTERNET\t1\tA\t0\tNOERROR\tF\tF\tT\tT\t0\tweb.example.com,192.0.2.1,2001:db8::1,"
            "mx.example.com,TXT 3 abc TXT 2 de,srv.example.com,example.com,ns.example.com,"
            "<unknown type=4242>\t300.000000,60.000000,60.000000,10.000000,5.000000,7.000000,"
            "8.000000,9.000000,1.000000\tF\t0\tquery");
  EXPECT_EQ(sink.schema_mismatches, 0);
}

TEST(DnsSession, EveVersion3) {
  FlowContext f = udp_flow();
  testing::CollectingSink sink;
  Config cfg;
  cfg.eve_version = 3;
  DnsSession s({&sink, &f}, cfg);
  s.on_data(Direction::kToServer, query(0x1234, "www.example.com", 1), 1 * kNsPerSec);
  s.on_data(Direction::kToClient, full_response(), 2 * kNsPerSec);
  ASSERT_EQ(sink.eve.size(), 2u);
  EXPECT_NE(
      sink.eve[0].json.find(
          R"("dns":{"version":3,"type":"request","tx_id":0,"id":4660,"flags":"100","rd":true,)"
          R"("opcode":0,"rcode":"NOERROR","queries":[{"rrname":"www.example.com","rrtype":"A"}]})"),
      std::string::npos)
      << sink.eve[0].json;
  EXPECT_NE(
      sink.eve[1].json.find(R"("version":3,"type":"response","id":4660,"flags":"8180","qr":true)"),
      std::string::npos)
      << sink.eve[1].json;
  EXPECT_NE(sink.eve[1].json.find(R"("authorities":[{"rrname":"WWW.Example.com","rrtype":"SOA")"),
            std::string::npos);
  EXPECT_NE(sink.eve[1].json.find(R"("grouped":{"CNAME":["web.Example.com"],"A":["192.0.2.1"])"),
            std::string::npos);
}

// The config file's app-layer section reaches the session through the registry.
TEST(DnsConfig, AppLayerSectionSelectsEveVersion3) {
  YAML::Node root = YAML::Load("app-layer:\n  protocols:\n    dns:\n      eve-version: 3\n");
  AnalyzerSettings settings;
  std::string err;
  ASSERT_TRUE(load_analyzer_settings(root["app-layer"], "k.yaml", settings, &err)) << err;
  const AnalyzerOptions* opts = settings.find("dns");
  ASSERT_NE(opts, nullptr);
  const AnalyzerApi* api = Registry<AnalyzerApi>::find("dns");
  ASSERT_NE(api, nullptr);
  FlowContext f = udp_flow();
  testing::CollectingSink sink;
  auto s = api->create(SessionContext{&sink, &f, opts});
  s->on_data(Direction::kToServer, query(0x1234, "www.example.com", 1), 1 * kNsPerSec);
  ASSERT_EQ(sink.eve.size(), 1u);
  EXPECT_NE(sink.eve[0].json.find(R"("version":3,"type":"request")"), std::string::npos)
      << sink.eve[0].json;
  // Without options: version 2.
  testing::CollectingSink sink2;
  auto s2 = api->create(SessionContext{&sink2, &f});
  s2->on_data(Direction::kToServer, query(0x1234, "www.example.com", 1), 1 * kNsPerSec);
  ASSERT_EQ(sink2.eve.size(), 1u);
  EXPECT_NE(sink2.eve[0].json.find(R"("type":"query")"), std::string::npos) << sink2.eve[0].json;
}

TEST(DnsConfig, BadValuesNameFileLineAndKey) {
  auto load = [](const char* text) {
    YAML::Node root = YAML::Load(text);
    AnalyzerSettings settings;
    std::string err;
    EXPECT_FALSE(load_analyzer_settings(root["app-layer"], "k.yaml", settings, &err));
    EXPECT_EQ(settings.find("dns"), nullptr);
    return err;
  };
  EXPECT_EQ(load("app-layer:\n  protocols:\n    dns:\n      eve-version: 4\n"),
            "k.yaml:4: app-layer.protocols.dns.eve-version: expected 2 or 3");
  EXPECT_EQ(load("app-layer:\n  protocols:\n    dns:\n      eve-version: x\n"),
            "k.yaml:4: app-layer.protocols.dns.eve-version: bad value");
  EXPECT_EQ(load("app-layer:\n  protocols:\n    dns:\n      colour: red\n"),
            "k.yaml:4: app-layer.protocols.dns.colour: unknown setting");
  EXPECT_EQ(load("app-layer:\n  protocols:\n    gopher:\n      x: 1\n"),
            "k.yaml:3: app-layer.protocols: unknown analyzer 'gopher'");
  EXPECT_EQ(load("app-layer:\n  parsers: 1\n"), "k.yaml:2: unknown setting 'app-layer.parsers'");
}

TEST(DnsConfig, TimeoutAndPendingBound) {
  YAML::Node n = YAML::Load("transaction-timeout: 2.5\nmax-pending-transactions: 3\n");
  AnalyzerConfigError e;
  auto opts = configure(n, e);
  ASSERT_NE(opts, nullptr) << e.message;
  const auto& c = static_cast<const Options&>(*opts).config;
  EXPECT_EQ(c.txn_timeout, 2500 * kNsPerMs);
  EXPECT_EQ(c.max_pending, 3u);
  EXPECT_EQ(c.eve_version, 2);
}

// Every occurrence goes to the per-worker counts (stats.json), the event only once per flow.
TEST(DnsSession, AnomaliesAreCountedIntoTheWorkerState) {
  FlowContext f = udp_flow();
  testing::CollectingSink sink;
  AnalyzerWorkerState worker;
  DnsSession s(SessionContext{&sink, &f, nullptr, &worker});
  const Bytes short_header{1, 2, 3};
  s.on_data(Direction::kToServer, short_header, 1 * kNsPerSec);
  s.on_data(Direction::kToServer, short_header, 2 * kNsPerSec);
  ASSERT_EQ(worker.anomalies.names().size(), 1u);
  EXPECT_EQ(worker.anomalies.counts()[0], 2u);
  EXPECT_EQ(sink.eve.size(), 1u);  // one anomaly event
}

TEST(DnsSession, UnansweredQueriesExpireByDataTimeAndCloseFlushes) {
  FlowContext f = udp_flow();
  testing::CollectingSink sink;
  DnsSession s({&sink, &f});
  s.on_data(Direction::kToServer, query(1, "a.example", 1), 1 * kNsPerSec);
  s.on_data(Direction::kToServer, query(2, "b.example", 1), 2 * kNsPerSec);
  EXPECT_EQ(sink.zeek["dns"].size(), 0u);
  s.on_data(Direction::kToServer, query(3, "c.example", 1), 62 * kNsPerSec);
  ASSERT_EQ(sink.zeek["dns"].size(), 1u);  // only the first is older than 60 s
  EXPECT_NE(sink.zeek["dns"][0].find("a.example"), std::string::npos);
  s.on_close(63 * kNsPerSec);
  EXPECT_EQ(sink.zeek["dns"].size(), 3u);
  EXPECT_EQ(s.pending(), 0u);
}

TEST(DnsSession, PendingTransactionsAreBounded) {
  FlowContext f = udp_flow();
  testing::CollectingSink sink;
  DnsSession s({&sink, &f});
  for (int i = 0; i < 1000; ++i)
    s.on_data(Direction::kToServer, query(uint16_t(i), "x.example", 1), kNsPerSec);
  EXPECT_LE(s.pending(), 64u);
  EXPECT_EQ(s.evicted(), 1000u - 64u);
  EXPECT_EQ(s.anomalies().count("DNS_pending_transactions_evicted"), 1000u - 64u);
  EXPECT_EQ(sink.zeek["weird"].size(), 1u);  // published once per flow, counted always
}

TEST(DnsSession, TcpFramingAcrossSegmentsAndGaps) {
  FlowContext f = udp_flow();
  f.tuple.proto = 6;
  testing::CollectingSink sink;
  DnsSession s({&sink, &f});
  Bytes q = query(7, "tcp.example", 28);
  Bytes framed = {uint8_t(q.size() >> 8), uint8_t(q.size())};
  framed.insert(framed.end(), q.begin(), q.end());
  framed.insert(framed.end(), framed.begin(), framed.end());  // two messages back to back
  for (size_t i = 0; i < framed.size(); i += 3)
    s.on_data(Direction::kToServer,
              std::span<const uint8_t>(framed.data() + i, std::min<size_t>(3, framed.size() - i)),
              kNsPerSec);
  EXPECT_EQ(s.messages(), 2u);
  s.on_gap(Direction::kToClient, 100, kNsPerSec);
  s.on_data(Direction::kToClient, framed, kNsPerSec);  // ignored: framing lost
  EXPECT_EQ(s.messages(), 2u);
  EXPECT_EQ(s.anomalies().count("DNS_stream_gap"), 1u);
  s.on_close(2 * kNsPerSec);
  ASSERT_EQ(sink.zeek["dns"].size(), 2u);
  EXPECT_NE(sink.zeek["dns"][0].find("\ttcp\t7\t-\ttcp.example\t1\tC_INTERNET\t28\tAAAA\t"),
            std::string::npos)
      << sink.zeek["dns"][0];
}

TEST(DnsSession, MalformedMessagesAreCountedAnomalies) {
  FlowContext f = udp_flow();
  testing::CollectingSink sink;
  DnsSession s({&sink, &f});
  Bytes junk = {0, 1, 2};
  s.on_data(Direction::kToServer, junk, kNsPerSec);
  s.on_data(Direction::kToServer, junk, kNsPerSec);
  EXPECT_EQ(s.anomalies().count("DNS_truncated_len_lt_hdr_len"), 2u);
  ASSERT_EQ(sink.eve.size(), 1u);
  EXPECT_NE(sink.eve[0].json.find(R"("anomaly":{"app_proto":"dns","type":"applayer")"),
            std::string::npos);
  ASSERT_EQ(sink.zeek["weird"].size(), 1u);
  EXPECT_NE(sink.zeek["weird"][0].find("DNS_truncated_len_lt_hdr_len\t-\tF\tzeek\tDNS"),
            std::string::npos);
}

TEST(DnsProbe, ByContent) {
  Bytes q = query(1, "probe.example", 1);
  EXPECT_EQ(probe(q, Direction::kToServer, 4444), ProbeResult::kYes);
  Bytes framed = {0, uint8_t(q.size())};
  framed.insert(framed.end(), q.begin(), q.end());
  EXPECT_EQ(probe(framed, Direction::kToServer, 4444), ProbeResult::kYes);
  std::string http = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  EXPECT_EQ(
      probe({reinterpret_cast<const uint8_t*>(http.data()), http.size()}, Direction::kToServer, 80),
      ProbeResult::kNo);
  EXPECT_EQ(probe(Bytes{0, 40, 1}, Direction::kToServer, 53), ProbeResult::kMaybe);
}

TEST(DnsRegistration, IsRegistered) {
  const AnalyzerApi* api = Registry<AnalyzerApi>::find("dns");
  ASSERT_NE(api, nullptr);
  EXPECT_TRUE(api->udp);
  EXPECT_TRUE(api->tcp);
}

// --- Zeek parity on the public corpus, through this test's pcap reader ---------------------

TEST(DnsCorpus, ZeekDnsLogParity) {
  std::string shared = KOMAINU_SHARED_DIR;
  std::string zeek = shared + "/corpus/zeek/";
  if (!std::filesystem::exists(zeek + "manifest.json"))
    GTEST_SKIP() << "public corpus not found at " << shared;
  // The dns.log baselines whose traces need no tunnel decapsulation (this reader has none).
  const char* cases[][2] = {
      {"scripts.base.protocols.dns.binds", "traces/dns/dns-binds.pcap"},
      {"scripts.base.protocols.dns.dns-key", "traces/dnssec/dnskey2.pcap"},
      {"scripts.base.protocols.dns.duplicate-reponses", "traces/dns-two-responses.pcap"},
      {"scripts.base.protocols.dns.loc", "traces/dns/loc-29-trunc.pcap"},
      {"scripts.base.protocols.dns.multiple-txt-strings", "traces/dns-txt-multiple.pcap"},
      {"scripts.base.protocols.dns.notify", "traces/dns/dns_notify2.pcap"},
      {"scripts.base.protocols.dns.nsec3param", "traces/dnssec/nsec3param.pcap"},
      {"scripts.base.protocols.dns.rrsig", "traces/dnssec/rrsig.pcap"},
      {"scripts.base.protocols.dns.spf", "traces/dns-spf.pcap"},
      {"scripts.base.protocols.dns.wks", "traces/dns/dns-wks.pcap"},
  };
  const AnalyzerApi* api = Registry<AnalyzerApi>::find("dns");
  ASSERT_NE(api, nullptr);
  size_t total = 0, identical = 0;
  for (auto& c : cases) {
    testing::PcapPayloads pl;
    ASSERT_TRUE(testing::load_pcap_payloads(zeek + c[1], pl)) << c[1] << ": " << pl.error;
    testing::CollectingSink sink;
    testing::run_analyzer(*api, pl, sink);
    testing::ZeekBaseline base;
    ASSERT_TRUE(testing::load_zeek_baseline(zeek + "baselines/" + c[0] + "/dns.log", base));
    testing::ParityResult r = testing::compare_rows(base, dns_zeek_schema(), sink.zeek["dns"]);
    total += r.baseline;
    identical += r.identical;
    std::cout << "[parity] dns " << c[0] << ": " << r.identical << "/" << r.baseline
              << " identical, " << r.produced << " produced\n";
    for (const auto& d : r.diffs) std::cout << "    " << d << "\n";
  }
  std::cout << "[parity] dns.log total: " << identical << "/" << total << "\n";
  EXPECT_GE(identical * 100, total * 95) << identical << "/" << total;
}

}  // namespace
}  // namespace komainu::dns
