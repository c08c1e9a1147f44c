// Fuzzes the flow table's TCP/UDP state machines and stream reassembly: the input is read as
// a sequence of synthetic packets (direction, protocol, flags, sequence numbers, time steps,
// payload) over a handful of 5-tuples, with a tiny memcap and buffer limits so eviction and
// overflow paths run too. A test analyzer takes every TCP stream.
#include <cstddef>
#include <cstdint>

#include "core/cursor.h"
#include "flow/flow.h"

namespace komainu {
namespace {

class NullSession : public AppSession {
 public:
  void on_data(Direction, std::span<const uint8_t> d, TimeNs) override { bytes += d.size(); }
  void on_gap(Direction, uint64_t len, TimeNs) override { bytes += len; }
  void on_close(TimeNs) override {}
  uint64_t bytes = 0;
};

const Registration<AnalyzerApi> kFuzzAnalyzer{AnalyzerApi{
    .name = "fuzz",
    .tcp = true,
    .udp = true,
    .probe =
        [](std::span<const uint8_t> d, Direction, uint16_t) {
          return d.empty() ? ProbeResult::kMaybe : d[0] & 1 ? ProbeResult::kYes : ProbeResult::kNo;
        },
    .create = [](const SessionContext&) -> std::unique_ptr<AppSession> {
      return std::make_unique<NullSession>();
    }}};

class RenderSink : public EventSink {
 public:
  void publish(const Record& r) override {
    out.clear();
    JsonWriter w(out);
    w.begin_object();
    r.write_eve(w);
    w.end_object();
    if (const ZeekSchema* s = r.zeek_schema()) {
      row.reset(s);
      r.write_zeek(row);
    }
  }
  std::string out;
  ZeekRow row;
};

}  // namespace
}  // namespace komainu

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace komainu;
  FlowConfig cfg;
  cfg.memcap = 16 * 1024;
  cfg.reassembly_flow_limit = 64;
  cfg.reassembly_global_limit = 256;
  RenderSink sink;
  FlowTable table(cfg, &sink);
  Cursor c(data, size);
  RawFrame frame;
  TimeNs ts = 1'000'000'000 * kNsPerSec;
  uint8_t head;
  while (c.u8(head)) {
    uint8_t flags = 0, step = 0, plen = 0;
    uint32_t seq = 0, ack = 0;
    if (!c.u8(flags) || !c.u8(step) || !c.be32(seq) || !c.be32(ack) || !c.u8(plen)) break;
    plen &= 0x3f;
    std::span<const uint8_t> payload;
    if (!c.bytes(std::min<size_t>(plen, c.remaining()), payload)) break;
    ts += TimeNs(step) * (head & 0x40 ? kNsPerSec : kNsPerMs);
    Packet p;
    frame.ts = ts;
    frame.wirelen = 60 + uint32_t(payload.size());
    p.frame = &frame;
    p.ts = ts;
    p.ip_version = 4;
    p.proto = head & 0x20 ? 17 : 6;
    p.l4_valid = !(head & 0x80);
    IpAddr a = IpAddr::v4(0x0a000001), b = IpAddr::v4(0x0a000002 + (head & 3));
    bool fwd = head & 0x10;
    p.src = fwd ? a : b;
    p.dst = fwd ? b : a;
    uint16_t cport = uint16_t(40000 + ((head >> 2) & 3)), sport = (head & 8) ? 80 : 6000;
    p.sport = fwd ? cport : sport;
    p.dport = fwd ? sport : cport;
    p.tcp_flags = flags;
    p.seq = seq;
    p.ack = ack;
    p.window = uint16_t(seq);
    p.payload = payload.data();
    p.payload_caplen = uint32_t(payload.size());
    p.payload_len = uint32_t(payload.size()) + ((head & 0x40) && (flags & 0x80) ? 7 : 0);
    p.ip_len = 40 + p.payload_len;
    table.on_packet(p);
  }
  table.finish(ts + kNsPerSec);
  return 0;
}
