// App-layer buffer providers end to end on real captures: the analyzers parse a corpus
// pcap, every published record goes through its provider (app_<proto>.cc) and the engine
// runs the rules below on each inspection. Each case asserts rules that must fire (with
// their counts where the capture fixes them) and rules that must not (wrong direction,
// wrong buffer, content absent), so a provider filling the wrong buffer or direction fails.
// KOMAINU_APP_DUMP=1 prints every inspection's buffers.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <set>

#include "analyzers/analyzer_testing.h"
#include "analyzers/dns/dns_analyzer.h"
#include "analyzers/http/http_session.h"
#include "analyzers/smb/smb_session.h"
#include "analyzers/ssh/ssh_analyzer.h"
#include "analyzers/tls/tls_analyzer.h"
#include "detect/signatures/app_buffers.h"
#include "detect/signatures/engine.h"

namespace komainu::sig {
namespace {

namespace fs = std::filesystem;

template <typename Session>
std::unique_ptr<AppSession> make(const SessionContext& c) {
  return std::make_unique<Session>(c);
}

const AnalyzerApi kHttp{
    .name = "http", .tcp = true, .probe = http::probe_http, .create = make<http::HttpSession>};
const AnalyzerApi kDns{
    .name = "dns", .tcp = true, .udp = true, .probe = dns::probe, .create = make<dns::DnsSession>};
const AnalyzerApi kTls{
    .name = "ssl", .tcp = true, .probe = tls::probe, .create = make<tls::TlsSession>};
const AnalyzerApi kSsh{
    .name = "ssh", .tcp = true, .probe = ssh::probe, .create = make<ssh::SshSession>};
const AnalyzerApi kSmb{
    .name = "smb", .tcp = true, .probe = smb::probe_smb, .create = make<smb::SmbSession>};

std::string printable(std::span<const uint8_t> d, size_t max = 100) {
  std::string o;
  for (size_t i = 0; i < d.size() && i < max; ++i) {
    unsigned char c = d[i];
    if (c >= 0x20 && c < 0x7f) {
      o.push_back(char(c));
    } else {
      char b[8];
      snprintf(b, sizeof b, "|%02x|", c);
      o += b;
    }
  }
  if (d.size() > max) o += "...(" + std::to_string(d.size()) + ")";
  return o;
}

// Runs providers + engine on every published record, as the signature stage does.
class SignatureSink : public EventSink {
 public:
  explicit SignatureSink(const Engine& e) : engine_(e), scratch_(e.new_scratch()) {
    dump_ = std::getenv("KOMAINU_APP_DUMP") != nullptr;
  }

  void publish(const Record& r) override {
    const AppBufferApi* api = app_buffer_provider(r.event_type());
    if (!api) return;
    std::set<uint32_t> fired_in_record;
    for (size_t i = 0;; ++i) {
      buffers_.clear();
      InspectContext ctx;
      ctx.buffers = &buffers_;
      ctx.ts = r.ts;
      if (!api->fill(r, i, buffers_, ctx, app_scratch_)) break;
      ++inspections[std::string(r.event_type())];
      Packet p;
      if (r.flow) {
        const FlowTuple& t = r.flow->tuple;
        ctx.has_flow = true;
        ctx.established = true;
        ctx.flow_id = r.flow->flow_id;
        auto& fv = flow_vars_[r.flow->flow_id];
        if (!fv) fv = engine_.new_flow_vars();
        ctx.flow_vars = fv.get();
        p.ip_version = t.src.is_v4() ? 4 : 6;
        p.proto = t.proto;
        p.l4_valid = true;
        p.src = ctx.to_server ? t.src : t.dst;
        p.dst = ctx.to_server ? t.dst : t.src;
        p.sport = ctx.to_server ? t.sport : t.dport;
        p.dport = ctx.to_server ? t.dport : t.sport;
        ctx.pkt = &p;
      }
      for (size_t b = 1; b < kMaxBuffers; ++b)
        if (buffers_.present[b]) buffers_seen.insert(std::string(buffer_name(BufferId(b))));
      for (auto e : ctx.events) events_seen.insert(std::string(e));
      if (dump_) {
        printf("-- %.*s #%zu %s app=%.*s events=%zu\n", int(r.event_type().size()),
               r.event_type().data(), i, ctx.to_server ? "to_server" : "to_client",
               int(ctx.app_proto.size()), ctx.app_proto.data(), ctx.events.size());
        for (size_t b = 1; b < kMaxBuffers; ++b)
          if (buffers_.present[b])
            printf("   %-22s %s\n", std::string(buffer_name(BufferId(b))).c_str(),
                   printable(buffers_.data[b]).c_str());
        for (auto e : ctx.events) printf("   event %.*s\n", int(e.size()), e.data());
      }
      for (const Signature* s : engine_.inspect(ctx, *scratch_)) fired_in_record.insert(s->sid);
    }
    // As Suricata alerts a signature once per transaction, a record (one transaction) counts
    // once per sid however many of its inspections (multi-buffers) matched.
    for (uint32_t sid : fired_in_record) ++alerts[sid];
  }

  std::map<uint32_t, int> alerts;
  std::map<std::string, size_t> inspections;
  std::set<std::string> buffers_seen, events_seen;

 private:
  const Engine& engine_;
  std::unique_ptr<Scratch> scratch_;
  AppBufferScratch app_scratch_;
  InspectBuffers buffers_;
  std::map<uint64_t, std::unique_ptr<FlowVars>> flow_vars_;
  bool dump_ = false;
};

std::unique_ptr<Engine> build(const std::vector<std::string>& rules) {
  RuleLoader loader;
  std::string text;
  for (const auto& r : rules) text += r + "\n";
  loader.load_text(text, "buffer_providers_test.rules");
  EXPECT_EQ(loader.report().loaded, rules.size()) << loader.report().to_text(true);
  std::string err;
  auto e = Engine::build(loader.take(), err);
  EXPECT_TRUE(e) << err;
  return e;
}

fs::path corpus() {
  return fs::path(KOMAINU_SHARED_DIR) / "corpus";
}

// Parses `pcap` with each analyzer and runs the rules; skips when the corpus is absent.
struct Run {
  std::unique_ptr<Engine> engine;
  std::unique_ptr<SignatureSink> sink;
  bool ok = false;
};
Run run(const fs::path& pcap, std::initializer_list<const AnalyzerApi*> apis,
        const std::vector<std::string>& rules) {
  Run r;
  r.engine = build(rules);
  if (!r.engine) return r;
  testing::PcapPayloads pl;
  if (!testing::load_pcap_payloads(pcap.string(), pl)) {
    ADD_FAILURE() << "cannot read " << pcap << ": " << pl.error;
    return r;
  }
  r.sink = std::make_unique<SignatureSink>(*r.engine);
  for (const AnalyzerApi* api : apis) testing::run_analyzer(*api, pl, *r.sink);
  r.ok = true;
  return r;
}

#define REQUIRE_CORPUS(path)                                                    \
  do {                                                                          \
    if (!fs::exists(path)) GTEST_SKIP() << "public corpus not found: " << path; \
  } while (0)

int fired(const Run& r, uint32_t sid) {
  auto it = r.sink->alerts.find(sid);
  return it == r.sink->alerts.end() ? 0 : it->second;
}

TEST(AppBuffers, EveryProviderBufferIsInTheTable) {
  for (std::string_view name :
       {"http.uri",         "http.uri.raw",       "http.method",        "http.header",
        "http.header.raw",  "http.header_names",  "http.host",          "http.host.raw",
        "http.user_agent",  "http.cookie",        "http.referer",       "http.accept",
        "http.accept_enc",  "http.accept_lang",   "http.connection",    "http.content_type",
        "http.content_len", "http.request_line",  "http.request_body",  "http.stat_code",
        "http.stat_msg",    "http.response_line", "http.response_body", "http.server",
        "http.location",    "http.protocol",      "http.start",         "file.data",
        "file.name",        "dns.query",          "dns.answer.name",    "tls.sni",
        "tls.cert_subject", "tls.cert_issuer",    "tls.cert_serial",    "tls.cert_fingerprint",
        "tls.certs",        "ja3.hash",           "ja3.string",         "ja3s.hash",
        "ja3s.string",      "ja4.hash",           "tls.version.raw",    "ssh.software",
        "ssh.proto",        "ssh.hassh",          "ssh.hassh.string",   "smb.share",
        "smb.named_pipe"})
    EXPECT_GT(buffer_id(name), 0) << name;
  for (std::string_view type : {"http", "dns", "tls", "ssh", "smb", "fileinfo"})
    EXPECT_NE(app_buffer_provider(type), nullptr) << type;
}

TEST(AppBuffers, HttpAgentTeslaExfiltration) {
  const fs::path pcap = corpus() / "pcap/data-exfiltration/agenttesla-c2-http-0e328ab7.pcap";
  REQUIRE_CORPUS(pcap);
  auto r = run(
      pcap, {&kHttp},
      {
          // request buffers, to_server
          R"(alert http any any -> any any (msg:"c2 post"; flow:established,to_server; http.method; content:"POST"; http.host; content:"originwealth.ydns.eu"; bsize:20; sid:1;))",
          R"(alert http any any -> any any (msg:"ua"; http.user_agent; content:"Microsoft-CryptoAPI/10.0"; bsize:24; sid:2;))",
          R"(alert http any any -> any any (msg:"body"; http.request_body; content:"p="; startswith; sid:3;))",
          R"(alert http any any -> any any (msg:"legacy"; content:"POST"; http_method; content:"p="; http_client_body; depth:2; sid:4;))",
          R"(alert http any any -> any any (msg:"names"; http.header_names; content:"|0d 0a|Connection|0d 0a|Accept|0d 0a|User-Agent|0d 0a|Host|0d 0a 0d 0a|"; bsize:42; sid:5;))",
          R"(alert http any any -> any any (msg:"raw uri"; http.uri.raw; content:"%2B"; sid:6;))",
          R"(alert http any any -> any any (msg:"norm uri has no %2B"; http.uri; content:"%2B"; sid:7;))",
          R"(alert http any any -> any any (msg:"start"; http.start; content:"POST /"; startswith; content:"|0d 0a 0d 0a|"; endswith; sid:8;))",
          R"(alert http any any -> any any (msg:"header"; http.header; content:"Host|3a 20|ocsp.digicert.com|0d 0a|"; sid:9;))",
          // response buffers, to_client
          R"(alert http any any -> any any (msg:"ocsp"; flow:established,to_client; http.stat_code; content:"200"; file_data; content:"|30 82|"; startswith; sid:10;))",
          R"(alert http any any -> any any (msg:"resp"; flow:to_client; http.response_line; content:"HTTP/1.1 200 OK"; bsize:15; http.protocol; content:"HTTP/1.1"; bsize:8; sid:11;))",
          R"(alert http any any -> any any (msg:"ctype"; flow:to_client; http.content_type; content:"application/ocsp-response"; sid:12;))",
          // wrong direction / wrong buffer: must not fire
          R"(alert http any any -> any any (msg:"stat in request"; flow:to_server; http.stat_code; content:"200"; sid:20;))",
          R"(alert http any any -> any any (msg:"host not in uri"; http.uri; content:"originwealth"; sid:21;))",
          R"(alert http any any -> any any (msg:"post body is not file_data to_client"; flow:to_client; file_data; content:"p="; startswith; sid:22;))",
          R"(alert http any any -> any any (msg:"ua on response"; flow:to_client; http.user_agent; content:"Microsoft"; sid:23;))",
      });
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.sink->inspections["http"], 12u);  // 6 transactions, request + response each
  EXPECT_EQ(fired(r, 1), 1);
  EXPECT_EQ(fired(r, 2), 5);
  EXPECT_EQ(fired(r, 3), 1);
  EXPECT_EQ(fired(r, 4), 1);
  EXPECT_EQ(fired(r, 5), 3);
  EXPECT_GE(fired(r, 6), 1);
  EXPECT_EQ(fired(r, 7), 0);
  EXPECT_EQ(fired(r, 8), 1);
  EXPECT_EQ(fired(r, 9), 3);
  EXPECT_GE(fired(r, 10), 3);
  EXPECT_EQ(fired(r, 11), 6);
  EXPECT_GE(fired(r, 12), 3);
  for (uint32_t sid : {20, 21, 22, 23}) EXPECT_EQ(fired(r, sid), 0) << sid;
}

TEST(AppBuffers, HttpFileNameAndEvents) {
  const fs::path file = corpus() / "zeek/traces/http/http-filename.pcap";
  const fs::path v09 = corpus() / "zeek/traces/http/http_09.pcap";
  REQUIRE_CORPUS(file);
  REQUIRE_CORPUS(v09);
  const std::vector<std::string> rules = {
      R"(alert http any any -> any any (msg:"name"; file.name; content:"test.json"; bsize:9; sid:1;))",
      R"(alert http any any -> any any (msg:"body"; flow:to_client; file.data; content:"Content-Disposition"; sid:2;))",
      R"(alert http any any -> any any (msg:"0.9"; app-layer-event:http.request_line_missing_protocol; http.method; content:"GET"; sid:3;))",
      R"(alert http any any -> any any (msg:"no such event"; app-layer-event:http.missing_host_header; http.method; content:"GET"; sid:4;))",
  };
  auto a = run(file, {&kHttp}, rules);
  ASSERT_TRUE(a.ok);
  EXPECT_EQ(fired(a, 1), 1);
  EXPECT_EQ(fired(a, 2), 1);
  EXPECT_EQ(fired(a, 3), 0);
  auto b = run(v09, {&kHttp}, rules);
  ASSERT_TRUE(b.ok);
  EXPECT_EQ(fired(b, 3), 1);  // the second HTTP/0.9 request is a POST
  EXPECT_EQ(fired(b, 4), 0);
}

TEST(AppBuffers, DnsQueriesAndAnswers) {
  const fs::path pcap = corpus() / "zeek/traces/dns-two-responses.pcap";
  REQUIRE_CORPUS(pcap);
  auto r = run(
      pcap, {&kDns},
      {
          R"(alert dns any any -> any any (msg:"q"; dns.query; content:"www.cmu.edu"; bsize:11; sid:1;))",
          R"(alert dns any any -> any any (msg:"legacy"; dns_query; content:"CMU"; nocase; sid:2;))",
          R"(alert dns any any -> any any (msg:"answer"; dns.answer.name; content:"ANDREW"; sid:3;))",
          R"(alert dns any any -> any any (msg:"answer is not query"; dns.query; content:"ANDREW"; sid:4;))",
          R"(alert dns any any -> any any (msg:"query is a request"; flow:to_client; dns.query; content:"cmu"; sid:5;))",
          R"(alert dns any any -> any any (msg:"one answer per buffer"; dns.answer.name; content:"WWW-CMU.ANDREW"; content:"WWW-CMU-2"; sid:6;))",
      });
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(fired(r, 1), 1);
  EXPECT_EQ(fired(r, 2), 1);
  EXPECT_EQ(fired(r, 3), 2);  // both responses, once each
  EXPECT_EQ(fired(r, 4), 0);
  EXPECT_EQ(fired(r, 5), 0);
  EXPECT_EQ(fired(r, 6), 0);
}

TEST(AppBuffers, TlsClientAndServerSides) {
  const fs::path ext = corpus() / "zeek/traces/tls/tls-conn-with-extensions.pcap";
  const fs::path certs = corpus() / "zeek/traces/tls/tls1.2.pcap";
  REQUIRE_CORPUS(ext);
  REQUIRE_CORPUS(certs);
  const std::vector<std::string> rules = {
      R"(alert tls any any -> any any (msg:"sni"; flow:to_server; tls.sni; content:"ssl.gstatic.com"; bsize:15; sid:1;))",
      R"(alert tls any any -> any any (msg:"ja3"; ja3.hash; content:"62351d5ea3cd4f21f697965b10a9bbbe"; sid:2;))",
      R"(alert tls any any -> any any (msg:"ja3s"; flow:to_client; ja3s.hash; content:"e07f21892995126f4b539c02215c8456"; sid:3;))",
      R"(alert tls any any -> any any (msg:"ja3 string"; ja3.string; content:"769,"; startswith; sid:4;))",
      R"(alert tls any any -> any any (msg:"ja4"; ja4.hash; content:"t10d"; startswith; sid:5;))",
      R"(alert tls any any -> any any (msg:"tls1.0"; flow:to_client; tls.version:1.0; sid:6;))",
      R"(alert tls any any -> any any (msg:"tls1.2"; tls.version:1.2; sid:7;))",
      R"(alert tls any any -> any any (msg:"subject"; flow:to_client; tls.cert_subject; content:"O=Taleo Inc"; sid:10;))",
      R"(alert tls any any -> any any (msg:"issuer"; tls.cert_issuer; content:"CN=COMODO High-Assurance Secure Server CA"; sid:11;))",
      R"(alert tls any any -> any any (msg:"serial"; tls.cert_serial; content:"00:99:FA:A8:03:7A:4E:B2:FA:EF:84:EB:5E:55:D5:B8:C8"; bsize:50; sid:12;))",
      R"(alert tls any any -> any any (msg:"fp"; tls.cert_fingerprint; content:"33:67:a1:82:4a:60:13:c0:2a:3e:25:bb:e4:da:86:33:87:fa:f1:34"; sid:13;))",
      R"(alert tls any any -> any any (msg:"chain"; tls.certs; content:"AddTrust External"; sid:14;))",
      R"(alert tls any any -> any any (msg:"cert is server side"; flow:to_server; tls.cert_subject; content:"Taleo"; sid:20;))",
      R"(alert tls any any -> any any (msg:"sni is client side"; flow:to_client; tls.sni; content:"gstatic"; sid:21;))",
  };
  auto a = run(ext, {&kTls}, rules);
  ASSERT_TRUE(a.ok);
  for (uint32_t sid : {1, 2, 3, 4, 5, 6}) EXPECT_EQ(fired(a, sid), 1) << sid;
  for (uint32_t sid : {7, 10, 20, 21}) EXPECT_EQ(fired(a, sid), 0) << sid;
  auto b = run(certs, {&kTls}, rules);
  ASSERT_TRUE(b.ok);
  for (uint32_t sid : {7, 10, 11, 12, 13, 14}) EXPECT_EQ(fired(b, sid), 1) << sid;
  for (uint32_t sid : {1, 6, 20}) EXPECT_EQ(fired(b, sid), 0) << sid;
}

TEST(AppBuffers, SshBannersAndHassh) {
  const fs::path pcap = corpus() / "zeek/traces/ssh/ssh.pcap";
  REQUIRE_CORPUS(pcap);
  auto r = run(
      pcap, {&kSsh},
      {
          R"(alert ssh any any -> any any (msg:"server sw"; flow:to_client; ssh.software; content:"paramiko_"; startswith; sid:1;))",
          R"(alert ssh any any -> any any (msg:"client sw"; flow:to_server; ssh.software; content:"paramiko"; sid:2;))",
          R"(alert ssh any any -> any any (msg:"1.99"; ssh.proto; content:"1.99"; bsize:4; sid:3;))",
          R"(alert ssh any any -> any any (msg:"hassh"; ssh.hassh; content:"1f120ecfc2c57fbdeaf66b93a3bf26ee"; sid:4;))",
          R"(alert ssh any any -> any any (msg:"hassh string"; ssh.hassh.string; content:"curve25519-sha256@libssh.org,"; startswith; sid:5;))",
          R"(alert ssh any any -> any any (msg:"legacy"; ssh_software; content:"OpenSSH_6.2"; bsize:11; sid:6;))",
      });
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(fired(r, 1), 1);
  EXPECT_EQ(fired(r, 2), 0);
  EXPECT_GE(fired(r, 3), 2);
  EXPECT_GE(fired(r, 4), 2);
  EXPECT_GE(fired(r, 5), 2);
  EXPECT_GE(fired(r, 6), 3);
}

TEST(AppBuffers, SmbSharesPipesAndFiles) {
  const fs::path pcap =
      corpus() / "pcap/smb-lateral-movement/LM_psexec_smb_dcerpc_epm_svcctl.pcapng";
  REQUIRE_CORPUS(pcap);
  auto r = run(
      pcap, {&kSmb},
      {
          R"(alert smb any any -> any any (msg:"admin share"; smb.share; content:"ADMIN$"; endswith; sid:1;))",
          R"(alert smb any any -> any any (msg:"ipc pipe"; smb.named_pipe; content:"IPC$"; endswith; sid:2;))",
          R"(alert smb any any -> any any (msg:"ipc is no share"; smb.share; content:"IPC$"; sid:3;))",
          R"(alert smb any any -> any any (msg:"psexec svc"; file.name; content:"PSEXESVC.exe"; nocase; sid:4;))",
          R"(alert smb any any -> any any (msg:"pe upload"; flow:to_server; file.data; content:"MZ"; startswith; content:"This program cannot be run in DOS mode"; distance:0; sid:5;))",
          R"(alert smb any any -> any any (msg:"upload is to_server"; flow:to_client; file.data; content:"MZ"; startswith; sid:6;))",
      });
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(fired(r, 1), 1);
  EXPECT_EQ(fired(r, 2), 1);
  EXPECT_EQ(fired(r, 3), 0);
  EXPECT_EQ(fired(r, 4), 1);
  EXPECT_EQ(fired(r, 5), 1);
  EXPECT_EQ(fired(r, 6), 0);
}

// SMB1 (suricata-verify captures): a WRITE_ANDX with padding before its data is file.data,
// a tree connect to IPC$ is smb.named_pipe, to a disk share smb.share.
TEST(AppBuffers, Smb1WritesAndTrees) {
  const fs::path sv = corpus() / "suricata-verify";
  const fs::path eicar = sv / "smb-eicar-padding/smb1_eicar_andx_write_padding2.pcap";
  const fs::path pipe = sv / "smb-named-pipe-ascii/input.pcap";
  REQUIRE_CORPUS(eicar);
  REQUIRE_CORPUS(pipe);
  const std::vector<std::string> rules = {
      R"(alert smb any any -> any any (msg:"eicar"; flow:to_server; file_data; content:"X5O!P%@AP[4"; startswith; content:"EICAR-STANDARD-ANTIVIRUS-TEST-FILE"; sid:1;))",
      R"(alert smb any any -> any any (msg:"pipe"; smb_named_pipe; content:"IPC$"; sid:2;))",
      R"(alert smb any any -> any any (msg:"ipc is no share"; smb.share; content:"IPC$"; sid:3;))",
  };
  auto a = run(eicar, {&kSmb}, rules);
  ASSERT_TRUE(a.ok);
  EXPECT_EQ(fired(a, 1), 1);
  auto b = run(pipe, {&kSmb}, rules);
  ASSERT_TRUE(b.ok);
  EXPECT_EQ(fired(b, 2), 1);
  EXPECT_EQ(fired(b, 3), 0);
}

// DNS header events and the datagram as payload of a rule mixing it with dns.query.
TEST(AppBuffers, DnsEventsAndMixedPayload) {
  const fs::path sv = corpus() / "suricata-verify";
  const fs::path zbit = sv / "dns__dns-z-bit/input.pcap";
  REQUIRE_CORPUS(zbit);
  const std::vector<std::string> rules = {
      R"(alert dns any any -> any any (msg:"z"; app-layer-event:dns.z_flag_set; sid:1;))",
      R"(alert dns any any -> any any (msg:"mixed"; flow:to_server; content:"|00 01 01 40 00 01|"; depth:6; dns_query; content:"www.google.com"; sid:2;))",
      R"(alert dns any any -> any any (msg:"mixed, payload mismatch"; content:"|ff ff|"; depth:2; dns_query; content:"google"; sid:3;))",
      R"(alert dns any any -> any any (msg:"not a response"; app-layer-event:dns.not_a_response; sid:4;))",
  };
  auto a = run(zbit, {&kDns}, rules);
  ASSERT_TRUE(a.ok);
  EXPECT_EQ(fired(a, 1), 1);
  EXPECT_EQ(fired(a, 2), 1);
  EXPECT_EQ(fired(a, 3), 0);
  EXPECT_EQ(fired(a, 4), 0);
}

// All enabled ET Open rules over every corpus capture, through the providers only (the
// app-layer half of the signature stage): prints what fires per capture, the totals the
// report quotes, and holds the alerts that the captures are known to carry.
TEST(AppBuffers, EtOpenOverCorpusCaptures) {
  const fs::path et = corpus() / "rules/et-open/2025-08";
  const fs::path pcaps = corpus() / "pcap";
  REQUIRE_CORPUS(et);
  REQUIRE_CORPUS(pcaps);
  RuleLoader loader;
  for (const auto& e : fs::directory_iterator(et))
    if (e.path().extension() == ".rules") loader.load_file(e.path().string());
  std::string err;
  auto engine = Engine::build(loader.take(), err);
  ASSERT_TRUE(engine) << err;
  std::map<uint32_t, std::string> msg;
  for (const auto& s : engine->signatures()) msg[s.sid] = s.msg;
  std::vector<fs::path> files;
  for (const auto& e : fs::recursive_directory_iterator(pcaps))
    if (e.path().extension() == ".pcap" || e.path().extension() == ".pcapng")
      files.push_back(e.path());
  std::sort(files.begin(), files.end());
  std::map<std::string, size_t> inspections;
  std::map<uint32_t, int> total;
  std::map<std::string, std::set<uint32_t>> by_file;
  for (const auto& f : files) {
    testing::PcapPayloads pl;
    if (!testing::load_pcap_payloads(f.string(), pl)) continue;
    SignatureSink sink(*engine);
    for (const AnalyzerApi* api : {&kHttp, &kDns, &kTls, &kSsh, &kSmb})
      testing::run_analyzer(*api, pl, sink);
    for (const auto& [t, n] : sink.inspections) inspections[t] += n;
    std::string name = fs::relative(f, pcaps).string();
    for (const auto& [sid, n] : sink.alerts) {
      total[sid] += n;
      by_file[name].insert(sid);
      printf("[et-app] %s: %u %s (%d)\n", name.c_str(), sid, msg[sid].c_str(), n);
    }
  }
  size_t alerts = 0;
  for (const auto& [sid, n] : total) alerts += size_t(n);
  printf("[et-app] %zu captures, %zu rules, %zu alerts, %zu distinct sids;", files.size(),
         engine->signatures().size(), alerts, total.size());
  for (const auto& [t, n] : inspections) printf(" %s=%zu", t.c_str(), n);
  printf(" inspections\n");
  EXPECT_GT(inspections["http"], 0u);
  EXPECT_GT(inspections["dns"], 0u);
  EXPECT_GT(inspections["tls"], 0u);
  EXPECT_GT(total.size(), 0u);
}

// The DVWA capture is a LAN attack (192.168.111.148 → .154): with the victim as HOME_NET,
// as a deployment there would configure it, ET's WEB_SERVER SQL-injection rules on
// http.uri fire on the injected request.
TEST(AppBuffers, EtOpenWebAttackOnDvwa) {
  const fs::path et = corpus() / "rules/et-open/2025-08";
  const fs::path pcap = corpus() / "pcap/perimeter-exploitation/cooper-grill-dvwa.pcapng";
  REQUIRE_CORPUS(et);
  REQUIRE_CORPUS(pcap);
  RuleVars vars;
  vars.set_address("HOME_NET", "[192.168.111.154]");
  RuleLoader loader(vars);
  for (const auto& e : fs::directory_iterator(et))
    if (e.path().extension() == ".rules") loader.load_file(e.path().string());
  std::string err;
  auto engine = Engine::build(loader.take(), err);
  ASSERT_TRUE(engine) << err;
  testing::PcapPayloads pl;
  ASSERT_TRUE(testing::load_pcap_payloads(pcap.string(), pl)) << pl.error;
  SignatureSink sink(*engine);
  testing::run_analyzer(kHttp, pl, sink);
  for (const auto& [sid, n] : sink.alerts) {
    const Signature* sig = nullptr;
    for (const auto& s : engine->signatures())
      if (s.sid == sid) sig = &s;
    ASSERT_NE(sig, nullptr);
    printf("[et-dvwa] %u %s (%d)\n", sid, sig->msg.c_str(), n);
  }
  // "?id=1'+UNION+SELECT+NULL,+version()+#": the one injection ET's URI rules recognise (the
  // UNION SELECT rules want a ';', the OR rules a 1=1).
  EXPECT_EQ(sink.alerts[2011037], 1);
}

// A tool more than a test: KOMAINU_APP_PCAP=FILE KOMAINU_APP_DUMP=1 prints the inspections
// every analyzer's records give for FILE.
TEST(AppBuffers, DumpCapture) {
  const char* pcap = std::getenv("KOMAINU_APP_PCAP");
  if (!pcap) GTEST_SKIP() << "set KOMAINU_APP_PCAP=FILE (and KOMAINU_APP_DUMP=1) to dump";
  auto r = run(pcap, {&kHttp, &kDns, &kTls, &kSsh, &kSmb},
               {"alert ip any any -> any any (msg:\"any\"; sid:1;)"});
  ASSERT_TRUE(r.ok);
  for (const auto& [type, n] : r.sink->inspections)
    printf("%s: %zu inspections\n", type.c_str(), n);
}

}  // namespace
}  // namespace komainu::sig
