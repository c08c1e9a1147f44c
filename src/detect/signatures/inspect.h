// What the engine inspects: a packet's header fields, its payload and any named buffers the
// app-layer analyzers expose (http.uri, dns.query, tls.sni, ...). The flow stage and the
// analyzers fill one InspectContext per packet/transaction from their own state; nothing in
// here owns memory, so filling it never allocates.
#pragma once
#include <array>
#include <cstdint>
#include <span>
#include <string_view>

#include "core/time.h"
#include "decode/packet.h"

namespace komainu::sig {

// Sticky buffers are registered by name (buffers.cc); each has a small integer id so a
// packet's buffers are a flat array. Id 0 is the packet payload (pkt_data).
inline constexpr size_t kMaxBuffers = 96;
using BufferId = uint16_t;
inline constexpr BufferId kPayload = 0;

// Id of a sticky buffer by its Suricata name ("http.uri") or legacy alias ("http_uri",
// "file_data"); -1 when unknown. Resolve once at setup, then use the id on the hot path.
int buffer_id(std::string_view name);
std::string_view buffer_name(BufferId id);

struct InspectBuffers {
  std::array<std::span<const uint8_t>, kMaxBuffers> data{};
  std::array<bool, kMaxBuffers> present{};

  void set(BufferId id, std::span<const uint8_t> d) {
    data[id] = d;
    present[id] = true;
  }
  void set(BufferId id, std::string_view s) {
    set(id, {reinterpret_cast<const uint8_t*>(s.data()), s.size()});
  }
  void clear() { present.fill(false); }
};

// Per-flow variables of the engine (flowbits, flowints). The flow stage keeps one per flow
// (Engine::new_flow_vars), the engine reads and writes it when the packet belongs to it.
struct FlowVars;

// One direction of a reassembled stream as the prefilter remembers it (StreamHits, engine.h),
// so a chunk's lookback is not scanned again.
struct StreamHits;

// Which rules an inspection runs: a packet runs the rules on payload and headers, an
// app-layer transaction the rules with an app-layer buffer (so a rule fires once per
// transaction, not again on each packet). kAny runs both (unit tests, tools).
enum class InspectLayer : uint8_t { kAny, kPacket, kApp };

struct InspectContext {
  const Packet* pkt = nullptr;  // header fields (ttl, flags, ports, addresses); may be null
  InspectLayer layer = InspectLayer::kAny;
  InspectBuffers* buffers = nullptr;
  TimeNs ts = 0;

  // Flow view (set by the flow stage; defaults describe a packet without a flow).
  bool has_flow = false;
  bool to_server = true;  // direction of this packet in its flow
  bool established = false;
  bool is_stream = false;  // payload is reassembled stream data, not one packet
  // Stream inspection (is_stream): the first `stream_seen` bytes of the payload were
  // inspected before (lookback kept so content split across segments is found); a rule that
  // already matched within them is not reported again.
  size_t stream_seen = 0;
  // The direction's prefilter memory (kept per flow direction by the caller; may be null:
  // then the lookback is scanned with the new bytes).
  StreamHits* stream_hits = nullptr;
  // Packet inspection of a TCP segment whose bytes the stream inspection covers: payload
  // rules run there (as Suricata's stream rules), only packet-only ones (tcp-pkt, no_stream,
  // dsize) and rules without payload checks run here.
  bool stream_covered = false;
  bool is_fragment = false;
  uint64_t flow_id = 0;
  uint64_t bytes_to_server = 0, bytes_to_client = 0;  // stream_size (sequence space)
  std::string_view app_proto;                         // "" until an analyzer claims the flow
  FlowVars* flow_vars = nullptr;
  // App-layer / decoder events raised for this packet or transaction ("http.xyz").
  std::span<const std::string_view> events;

  std::span<const uint8_t> payload() const {
    if (buffers && buffers->present[kPayload]) return buffers->data[kPayload];
    if (pkt && pkt->payload) return {pkt->payload, pkt->payload_caplen};
    return {};
  }
};

}  // namespace komainu::sig
