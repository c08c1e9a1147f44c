// Fuzzes the app-layer buffer providers with what hostile traffic makes of the analyzers'
// records: the first byte chooses the analyzer (HTTP, DNS, TLS, SSH, SMB), the rest is cut
// into chunks (a length byte whose top bit gives the direction) fed to one session; every
// record published goes through its provider and the engine, with rules on every buffer
// the providers fill. Providers must read only what the record holds, whatever it holds.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "analyzers/dns/dns_analyzer.h"
#include "analyzers/http/http_session.h"
#include "analyzers/smb/smb_session.h"
#include "analyzers/ssh/ssh_analyzer.h"
#include "analyzers/tls/tls_analyzer.h"
#include "detect/signatures/app_buffers.h"
#include "detect/signatures/engine.h"

using namespace komainu;
using namespace komainu::sig;

namespace {

const char* kRules = R"(
alert http any any -> any any (msg:"u"; http.uri; content:"/a"; http.uri.raw; content:"%"; sid:1;)
alert http any any -> any any (msg:"h"; http.header; content:"x"; http.header.raw; content:"|0d 0a 0d 0a|"; endswith; sid:2;)
alert http any any -> any any (msg:"n"; http.header_names; content:"|0d 0a|"; http.start; content:"HTTP"; sid:3;)
alert http any any -> any any (msg:"s"; http.host; content:"a"; http.host.raw; content:":"; http.user_agent; bsize:>0; sid:4;)
alert http any any -> any any (msg:"r"; flow:to_client; http.stat_code; content:"2"; file.data; content:"MZ"; startswith; sid:5;)
alert http any any -> any any (msg:"b"; http.request_body; content:"="; http.cookie; content:"s"; http.protocol; content:"1"; sid:6;)
alert http any any -> any any (msg:"l"; http.response_line; content:"OK"; http.server; content:"n"; http.location; content:"/"; sid:7;)
alert http any any -> any any (msg:"e"; app-layer-event:http.request_field_too_long; http.method; content:"G"; sid:8;)
alert dns any any -> any any (msg:"q"; dns.query; content:"a"; sid:20;)
alert dns any any -> any any (msg:"a"; dns.answer.name; content:"a"; sid:21;)
alert dns any any -> any any (msg:"ev"; app-layer-event:dns.malformed_data; dns.query; bsize:>0; sid:22;)
alert tls any any -> any any (msg:"sni"; tls.sni; content:"a"; ja3.hash; bsize:32; ja4.hash; bsize:36; sid:30;)
alert tls any any -> any any (msg:"c"; tls.cert_subject; content:"CN="; tls.cert_issuer; content:"O"; tls.cert_serial; content:":"; sid:31;)
alert tls any any -> any any (msg:"f"; tls.cert_fingerprint; bsize:59; tls.certs; content:"|30|"; startswith; sid:32;)
alert tls any any -> any any (msg:"v"; tls.version:1.2; ja3s.string; content:","; ja3.string; content:"-"; sid:33;)
alert ssh any any -> any any (msg:"ssh"; ssh.software; content:"S"; ssh.proto; content:"2"; ssh.hassh; bsize:32; ssh.hassh.string; content:","; sid:40;)
alert smb any any -> any any (msg:"smb"; smb.share; content:"$"; sid:50;)
alert smb any any -> any any (msg:"pipe"; smb.named_pipe; content:"IPC"; sid:51;)
alert ip any any -> any any (msg:"file"; file.name; content:"."; file.data; content:"MZ"; sid:52;)
)";

class Sink : public EventSink {
 public:
  Sink() {
    RuleLoader loader;
    loader.load_text(kRules, "fuzz");
    std::string err;
    engine_ = Engine::build(loader.take(), err);
    if (!engine_) abort();
    scratch_ = engine_->new_scratch();
    vars_ = engine_->new_flow_vars();
  }
  void publish(const Record& r) override {
    const AppBufferApi* api = app_buffer_provider(r.event_type());
    if (!api) return;
    for (size_t i = 0; i < 4096; ++i) {
      buffers_.clear();
      InspectContext ctx;
      ctx.buffers = &buffers_;
      ctx.has_flow = true;
      ctx.established = true;
      ctx.flow_vars = vars_.get();
      if (!api->fill(r, i, buffers_, ctx, scratch_app_)) return;
      engine_->inspect(ctx, *scratch_);
    }
    abort();  // a provider that never ends its inspections
  }

 private:
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<Scratch> scratch_;
  std::unique_ptr<FlowVars> vars_;
  AppBufferScratch scratch_app_;
  InspectBuffers buffers_;
};

template <typename Session>
std::unique_ptr<AppSession> make(const SessionContext& c) {
  return std::make_unique<Session>(c);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Sink sink;
  if (size < 1) return 0;
  FlowContext flow;
  flow.flow_id = 1;
  flow.uid = "Cfuzz";
  flow.tuple.proto = 6;
  SessionContext ctx{&sink, &flow};
  std::unique_ptr<AppSession> s;
  switch (data[0] % 6) {
    case 0:
      s = make<http::HttpSession>(ctx);
      break;
    case 1:
      flow.tuple.proto = 17;
      s = make<dns::DnsSession>(ctx);
      break;
    case 2:
      s = make<dns::DnsSession>(ctx);
      break;
    case 3:
      s = make<tls::TlsSession>(ctx);
      break;
    case 4:
      s = make<ssh::SshSession>(ctx);
      break;
    default:
      s = make<smb::SmbSession>(ctx);
      break;
  }
  size_t pos = 1;
  TimeNs ts = kNsPerSec;
  while (pos < size) {
    uint8_t hdr = data[pos++];
    Direction dir = (hdr & 0x80) ? Direction::kToClient : Direction::kToServer;
    size_t len = std::min<size_t>(size - pos, size_t(hdr & 0x7f) * 16 + 1);
    s->on_data(dir, std::span<const uint8_t>(data + pos, len), ts);
    pos += len;
    ts += kNsPerSec / 100;
  }
  s->on_close(ts);
  return 0;
}
