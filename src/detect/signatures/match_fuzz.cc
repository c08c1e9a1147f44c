// Fuzzes matching: a fixed rule set exercising every inspection keyword runs over hostile
// payloads and buffers. The first bytes choose header fields, the rest is split into the
// payload and two sticky buffers.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "detect/signatures/engine.h"

using namespace komainu;
using namespace komainu::sig;

namespace {

const char* kRules = R"(
alert tcp any any -> any any (msg:"c"; content:"ab"; content:"cd"; distance:-3; within:5; sid:1;)
alert tcp any any -> any any (msg:"n"; content:"GET"; nocase; offset:1; depth:8; content:!"x"; within:4; sid:2;)
alert tcp any any -> any any (msg:"p"; content:"id="; pcre:"/^(\d+|[a-z]+)*&/R"; sid:3;)
alert tcp any any -> any any (msg:"bt"; byte_test:4,>,1000,0,relative,little; byte_test:3,=,100,2,string,dec; sid:4;)
alert tcp any any -> any any (msg:"bj"; byte_jump:2,0,multiplier 3,post_offset -5; content:"Z"; within:1; sid:5;)
alert tcp any any -> any any (msg:"be"; byte_extract:2,0,len,little; content:"A"; distance:len; within:len; isdataat:!len,relative; sid:6;)
alert tcp any any -> any any (msg:"bm"; byte_math:bytes 1,offset 0,oper <<,rvalue 2,result r; byte_jump:1,r,from_end,post_offset -1; sid:7;)
alert tcp any any -> any any (msg:"b64"; base64_decode:bytes 40,offset 2,relative; base64_data; content:"adm"; sid:8;)
alert http any any -> any any (msg:"u"; http.uri; url_decode; to_lowercase; content:"/../"; bsize:>4; sid:9;)
alert http any any -> any any (msg:"h"; http.header; compress_whitespace; strip_whitespace; to_sha256; bsize:32; sid:10;)
alert tcp any any -> any any (msg:"f"; flags:S+,CE; dsize:<100; ttl:>1; flowbits:set,f; flowint:n,+,1; sid:11;)
alert tcp any any -> any any (msg:"fb"; flowbits:isset,f; flowint:n,>,3; content:"q"; endswith; sid:12;)
alert tcp any any -> any any (msg:"t"; content:"T"; startswith; threshold:type both,track by_src,count 2,seconds 5; sid:13;)
alert tcp any any -> any any (msg:"ew"; content:"|00 00|"; endswith; byte_test:1,!&,0x80,-1,relative; sid:14;)
)";

struct Setup {
  std::unique_ptr<Engine> engine;
  std::unique_ptr<Scratch> scratch;
  std::unique_ptr<FlowVars> vars;
  Setup() {
    RuleLoader loader;
    loader.load_text(kRules, "fuzz");
    std::string err;
    engine = Engine::build(loader.take(), err);
    if (!engine) abort();
    scratch = engine->new_scratch();
    vars = engine->new_flow_vars();
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Setup s;
  if (size < 6) return 0;
  Packet p;
  p.ip_version = 4;
  p.proto = 6;
  p.l4_valid = true;
  p.tcp_flags = data[0];
  p.ttl = data[1];
  p.sport = 1000;
  p.dport = 80;
  size_t cut1 = 6 + (size - 6) * data[2] / 256, cut2 = cut1 + (size - cut1) * data[3] / 256;
  InspectBuffers bufs;
  bufs.set(kPayload, std::span<const uint8_t>(data + 6, cut1 - 6));
  bufs.set(static_cast<BufferId>(buffer_id("http.uri")),
           std::span<const uint8_t>(data + cut1, cut2 - cut1));
  bufs.set(static_cast<BufferId>(buffer_id("http.header")),
           std::span<const uint8_t>(data + cut2, size - cut2));
  InspectContext c;
  c.pkt = &p;
  c.buffers = &bufs;
  c.has_flow = true;
  c.to_server = data[4] & 1;
  c.app_proto = data[4] & 2 ? "http" : "";
  c.ts = int64_t(data[5]) * kNsPerSec;
  c.flow_vars = s.vars.get();
  s.engine->inspect(c, *s.scratch);
  return 0;
}
