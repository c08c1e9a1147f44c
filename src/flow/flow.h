// The flow stage: a per-worker bidirectional flow table with Zeek's connection semantics
// (originator choice, TCP endpoint states, history, sizes, timers) and per-direction TCP
// stream reassembly feeding the app-layer analyzers. One FlowTable per worker (shard);
// FlowTable::shard_of sends both directions of a flow to the same worker.
#pragma once
#include <bitset>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "analyzers/analyzer.h"
#include "core/counters.h"
#include "core/event.h"
#include "decode/packet.h"

namespace komainu {

// Parse-time settings; immutable once a FlowTable is built. Defaults follow Zeek's.
struct FlowConfig {
  // Flow memory (flow objects, hash slots, buffered stream bytes); over it the least
  // recently active flows are evicted and logged.
  uint64_t memcap = 256ull << 20;
  TimeNs tcp_inactivity_timeout = 300 * kNsPerSec;
  // Zeek keeps a TCP connection on the UDP inactivity timeout until it leaves the handshake.
  TimeNs tcp_handshake_timeout = 60 * kNsPerSec;
  TimeNs udp_inactivity_timeout = 60 * kNsPerSec;
  TimeNs icmp_inactivity_timeout = 60 * kNsPerSec;
  TimeNs other_inactivity_timeout = 60 * kNsPerSec;
  TimeNs tcp_attempt_delay = 5 * kNsPerSec;  // unanswered SYN: removed (S0)
  TimeNs tcp_close_delay = 5 * kNsPerSec;    // after a complete close
  TimeNs tcp_reset_delay = 5 * kNsPerSec;    // RST after FIN
  // Key context: VLAN ids and the enclosing tunnel flow. Zeek's default key is the plain
  // 5-tuple (a flow seen through two tunnels is one connection with two tunnel_parents).
  bool key_vlan = true;
  bool key_tunnel = true;
  // Out-of-order bytes buffered for analyzers, per direction and for the whole table.
  uint64_t reassembly_flow_limit = 1ull << 20;
  uint64_t reassembly_global_limit = 64ull << 20;
  // Distinct out-of-order ranges kept per direction (each costs bookkeeping memory).
  uint32_t reassembly_max_blocks = 1024;
  uint64_t uid_seed = 0;  // uids are a keyed hash of a counter: runs are reproducible
  uint16_t community_id_seed = 0;
  // Attach AppSessions from the AnalyzerApi registry.
  bool analyzers = true;
  // Zeek's per-analyzer UDP session timeouts by service name (dns_session_timeout): checked
  // every `timeout` from the session's start, the flow goes once idle for timeout - 1 s.
  std::vector<std::pair<std::string, TimeNs>> udp_session_timeouts = {{"dns", 10 * kNsPerSec}};
  // Per-analyzer settings (config `app-layer.protocols.<name>`), handed to each session.
  AnalyzerSettings analyzer_settings;
  // Payload bursts of TCP flows no analyzer claimed (BurstRecord): new payload after this
  // much idle time (both directions) starts a burst. 0: off. See FlowBurst.
  TimeNs burst_gap = 5 * kNsPerSec;
  // Zeek's likely_server_ports, used to choose the originator of a flow seen mid-way.
  std::vector<uint16_t> tcp_server_ports = default_tcp_server_ports();
  std::vector<uint16_t> udp_server_ports = default_udp_server_ports();

  static std::vector<uint16_t> default_tcp_server_ports();
  static std::vector<uint16_t> default_udp_server_ports();
};

enum class TcpState : uint8_t {
  kInactive,
  kSynSent,
  kSynAckSent,
  kPartial,
  kEstablished,
  kClosed,
  kReset
};

enum class EndReason : uint8_t { kTimeout, kForced /* memcap eviction */, kShutdown };

// A block of one direction's stream that arrived above the delivery point.
struct PendingBlock {
  uint64_t seq = 0;    // relative sequence number
  uint64_t upper = 0;  // one past the last byte
  std::string data;    // empty when no analyzer wants the bytes
};

// One side of a TCP connection, as Zeek's TCP_Endpoint tracks it.
struct TcpEndpoint {
  TcpState state = TcpState::kInactive;
  TcpState prev_state = TcpState::kInactive;
  bool did_close = false;
  bool seen = false;  // any packet from this side
  uint32_t start_seq = 0, last_seq = 0, ack_seq = 0;
  uint32_t seq_wraps = 0, ack_wraps = 0;
  uint32_t fin_cnt = 0, rst_cnt = 0;
  uint64_t fin_seq = 0;
  uint64_t hist_last_syn = 0, hist_last_fin = 0, hist_last_rst = 0;
  // Scaled history letters (T, W, G): the n-th letter stands for 10^(n-1) events.
  uint32_t rxmt_cnt = 0, rxmt_thresh = 1, win0_cnt = 0, win0_thresh = 1, gap_cnt = 0,
           gap_thresh = 1;
  // Reassembly (relative sequence space; data starts at 1).
  uint64_t last_reassem = 1;
  uint64_t trim_seq = 1;
  std::unique_ptr<std::vector<PendingBlock>> pending;
  uint64_t pending_bytes = 0;  // buffered payload bytes (reassembly limits)
  uint64_t pending_cost = 0;   // payload + block bookkeeping (flow memcap)

  uint64_t full(uint32_t seq, uint32_t wraps) const { return uint64_t(wraps) << 32 | seq; }
  uint64_t rel(uint32_t seq, uint32_t wraps) const { return full(seq, wraps) - start_seq; }
  bool no_data_acked() const {
    uint64_t a = full(ack_seq, ack_wraps);
    return a == start_seq || a == uint64_t(start_seq) + 1;
  }
  void set_state(TcpState s) {
    if (s == state) return;
    prev_state = state;
    state = s;
  }
  // Zeek's TCP_Endpoint::Size(): payload bytes from sequence numbers.
  uint64_t size(const TcpEndpoint& peer) const;
};

// The bytes of a TCP flow seen before an analyzer attached, both directions, in arrival
// order. Probes see each direction's bytes from its start (a request sent one byte per
// segment is still recognised), and the analyzer that attaches gets them replayed, so it
// also sees the side that was not what gave the protocol away (Zeek's DPD buffer).
struct ProbeBuffer {
  static constexpr size_t kMaxBytes = 4096;  // both directions (Zeek keeps 1024)
  struct Chunk {
    TimeNs ts;
    uint16_t len;
    uint8_t dir;
  };
  std::string bytes[2];
  std::vector<Chunk> chunks;
  size_t cost = 0;  // charged to the flow table's memory use
};

// The payload burst a TCP flow is in (messages inside one long session: a raw-TCP C2 channel
// whose beacons never open a new connection). Only new payload counts (retransmissions and
// keep-alive probes do not advance the sequence); a burst ends when the flow has been quiet
// for FlowConfig::burst_gap. 24 bytes per flow; no allocation.
struct FlowBurst {
  TimeNs start = 0;          // first payload packet of the burst
  TimeNs last = 0;           // latest payload packet of the flow (never moves backwards)
  uint32_t bytes = 0;        // both directions, saturating
  uint16_t first_bytes = 0;  // payload of the burst's first packet (the beacon message)
  bool from_orig = false;    // direction of the burst's first packet
  bool after_gap = false;    // false for the flow's first burst (the connection's own)
};

// A flow. Lives in the FlowTable's pool; analyzers' records point at `ctx`.
struct Flow {
  FlowContext ctx;  // tuple = originator -> responder
  uint32_t hash = 0;
  uint32_t prev = 0, next = 0;  // timer list links (pool index + 1; 0 = none)
  uint8_t list = 0;
  bool in_use = false;
  uint8_t proto = 0;
  bool flipped = false;
  uint64_t tunnel = 0;  // key context: enclosing flow (0 = none)
  uint64_t uid_num = 0;
  TimeNs start = 0, last = 0;  // Zeek's start_time / last_time
  TimeNs seen_last = 0;        // last packet of any kind (EVE end)
  TimeNs timer_key = 0;        // list ordering key (see FlowTable::place)
  uint64_t pkts[2] = {0, 0};   // [0] originator, [1] responder
  uint64_t ip_bytes[2] = {0, 0};
  uint64_t wire_bytes[2] = {0, 0};
  uint8_t tcp_flags[2] = {0, 0};  // TCP flags seen per direction (EVE tcp.*)  // EVE
                                  // bytes_toserver/toclient (whole frames)
  uint64_t size[2] = {0, 0};      // UDP/ICMP payload bytes
  bool active[2] = {false, false};
  uint64_t missed_bytes = 0;
  uint32_t chk_cnt[2] = {0, 0}, chk_thresh[2] = {1, 1};  // bad checksums (C/c, scaled)
  uint32_t hist_seen = 0;
  uint8_t hist_len = 0;
  char history[47] = {};  // longer histories are cut (Zeek has no cap; 46 letters is rare)
  uint8_t n_parents = 0;
  uint64_t parents[3] = {0, 0, 0};  // tunnel parent uids
  // TCP
  TcpEndpoint ep[2];
  bool is_partial = false;
  uint8_t first_packet_seen = 0;
  bool close_deferred[2] = {false, false};
  bool attempt_pending = false;
  bool delete_pending = false;
  TimeNs attempt_at = 0, delete_at = 0;
  TimeNs session_timeout = 0, session_check = 0;  // see FlowConfig::udp_session_timeouts
  // App layer
  std::unique_ptr<AppSession> session;
  std::unique_ptr<ProbeBuffer> probe_buf;  // TCP only, while probes ask for more bytes
  uint8_t probe_rounds[2] = {0, 0};
  bool probe_done = false;
  bool context_ready = false;  // uid/community_id rendered
  FlowBurst burst;             // TCP flows without an analyzer

  void add_history(char c) {
    if (hist_len < sizeof history - 1) history[hist_len++] = c;
  }
  // Zeek's Connection::CheckHistory: a letter recorded once per mask bit.
  bool check_history(uint32_t mask, char code) {
    if (hist_seen & mask) return true;
    hist_seen |= mask;
    add_history(code);
    return false;
  }
  bool scaled_history(char code, uint32_t& counter, uint32_t& threshold) {
    if (++counter != threshold) return false;
    add_history(code);
    uint64_t t = uint64_t(threshold) * 10;
    threshold = t > 0xffffffffu ? 0xffffffffu : uint32_t(t);
    return true;
  }
};

// A finished flow: EVE "flow" event and a Zeek conn.log row.
class ConnRecord : public Record {
 public:
  std::string_view event_type() const override { return "flow"; }
  void write_eve(JsonWriter& w) const override;
  const ZeekSchema* zeek_schema() const override;
  void write_zeek(ZeekRow& row) const override;

  static const ZeekSchema& schema();
  // Zeek's conn_state for the flow as it is now.
  static const char* conn_state(const Flow& f);
  static const char* eve_proto(uint8_t proto);

  const Flow* f = nullptr;
  EndReason reason = EndReason::kTimeout;
  uint64_t orig_bytes = 0, resp_bytes = 0;  // payload bytes (Zeek's orig/resp size)
};

// Published once when a flow is created, at its first packet (before that packet is counted),
// so cross-flow detectors can act on one SYN instead of waiting for the flow's end (the zones
// policy). No EVE event and no Zeek row: outputs skip it on has_eve() / zeek_schema().
class FlowStartRecord : public Record {
 public:
  std::string_view event_type() const override { return "flow_start"; }
  bool has_eve() const override { return false; }
  void write_eve(JsonWriter&) const override {}

  const Flow* f = nullptr;
};

// Published when a payload burst that followed an idle gap of at least
// FlowConfig::burst_gap ends (the next gap, or the flow's end), for TCP flows no analyzer
// claimed: the beaconing detector scores the bursts of one session as it scores
// connections. No EVE event and no Zeek row. `ts` is the burst's start; `to_client` is true
// when its first packet came from the responder.
class BurstRecord : public Record {
 public:
  std::string_view event_type() const override { return "burst"; }
  bool has_eve() const override { return false; }
  void write_eve(JsonWriter&) const override {}

  const Flow* f = nullptr;
  TimeNs end = 0;            // last payload packet of the burst
  uint32_t bytes = 0;        // payload both ways
  uint16_t first_bytes = 0;  // payload of its first packet
};

// Counters of the flow stage, one set per worker.
enum FlowCounter : size_t {
  kFlowsCreated,
  kFlowsTimedOut,
  kFlowsEvicted,
  kFlowsClosed,  // removed after a TCP close/reset delay
  kFlowsShutdown,
  kFlowsReused,  // a new SYN on a closed 5-tuple started a new connection
  kPacketsNoL4,
  kReassemblyGaps,
  kReassemblyGapBytes,
  kReassemblyOverlaps,
  kReassemblyOverflows,
  kSessionsAttached,
  kProbeBufferOverflows,
  kSessionsHandedOff,
  kFlowCounterCount
};

// Sees every packet once the flow table has updated its flow (the signature stage): one
// virtual call per packet. `f` is null for a packet without a flow (no valid transport
// header); `to_server` is true when the packet comes from the flow's originator.
class PacketObserver {
 public:
  virtual ~PacketObserver() = default;
  virtual void on_packet(const Packet& p, const Flow* f, bool to_server) = 0;
};

class FlowTable : public PacketSink {
 public:
  FlowTable(const FlowConfig& cfg, EventSink* sink, unsigned shard = 0);
  ~FlowTable() override;
  FlowTable(const FlowTable&) = delete;
  FlowTable& operator=(const FlowTable&) = delete;

  void on_packet(const Packet& p) override;
  // Expires flows whose timers ran out by data time `now`.
  void advance(TimeNs now);
  // End of input: every flow is logged (reason "shutdown").
  void finish(TimeNs now);

  // Worker for a packet: symmetric over the two directions; tunnelled layers go with their
  // outermost layer so that the enclosing flow is in the same shard.
  static uint32_t shard_of(const Packet& p, unsigned n);

  // At most one observer; null to remove it.
  void set_observer(PacketObserver* o) { observer_ = o; }

  const CounterSet& counters() const { return counters_; }
  // The attached analyzers and their per-worker state (same order; stats.json "app_layer").
  const std::vector<const AnalyzerApi*>& analyzers() const { return apis_; }
  const AnalyzerWorkerState* analyzer_state(size_t i) const { return analyzer_states_[i].get(); }
  size_t active_flows() const { return live_; }
  uint64_t memory_used() const { return mem_used_; }

 private:
  enum List : uint8_t {
    kNone,
    kAttempt,
    kClosing,
    kSession,
    kTcpHandshake,
    kTcpActive,
    kUdp,
    kIcmp,
    kOther,
    kListCount
  };

  Flow& at(uint32_t idx) { return chunks_[idx >> kChunkBits][idx & (kChunkSize - 1)]; }
  uint32_t lookup(const Packet& p, uint64_t tunnel, uint32_t h, bool& is_orig);
  uint32_t create(const Packet& p, uint64_t tunnel, uint32_t h);
  void remove(uint32_t idx, EndReason why);
  void table_insert(uint32_t idx, uint32_t h);
  void table_erase(uint32_t idx);
  void grow_table();
  void link_front(uint32_t idx, List l, TimeNs key);
  void unlink(uint32_t idx);
  void place(uint32_t idx);
  TimeNs delay_of(List l) const;
  bool make_room(size_t bytes);
  void prepare_context(Flow& f);
  uint64_t tunnel_context(const Packet& p);

  void process_tcp(uint32_t idx, Flow& f, const Packet& p, bool is_orig);
  void process_udp(Flow& f, const Packet& p, bool is_orig);
  void process_icmp(Flow& f, const Packet& p, bool is_orig);
  bool tcp_is_reuse(const Flow& f, const Packet& p) const;
  void flip(Flow& f);
  void tcp_state_machine(Flow& f, TcpEndpoint& ep, TcpEndpoint& peer, const Packet& p, int len,
                         int32_t delta_last, bool is_orig, bool& do_close, bool& gen_event);
  void tcp_connection_closed(Flow& f, int side, bool gen_event);
  bool data_pending(const Flow& f, int side) const;
  void check_eof(Flow& f, int side);
  // New payload of a TCP flow without an analyzer: burst bookkeeping (FlowBurst).
  void note_burst(Flow& f, bool from_orig, TimeNs ts, uint32_t len);
  void publish_burst(Flow& f);

  // Reassembly.
  void stream_data(Flow& f, int side, uint64_t seq, const uint8_t* data, uint32_t len, TimeNs ts);
  void stream_ack(Flow& f, int side, uint64_t seq, TimeNs ts);
  void stream_gap(Flow& f, int side, uint64_t seq, uint64_t len, TimeNs ts);
  void deliver(Flow& f, int side, const uint8_t* data, size_t len, TimeNs ts);
  // Hands `data` to the flow's session; a session that handed the connection over is closed
  // and the flow probed anew from the next bytes.
  void feed(Flow& f, Direction dir, std::span<const uint8_t> data, TimeNs ts);
  void drain_pending(Flow& f, int side, TimeNs ts);
  void free_pending(Flow& f, int side);
  void release_block(TcpEndpoint& e, const PendingBlock& b);
  void probe(Flow& f, Direction dir, std::span<const uint8_t> data, uint8_t max_rounds);
  // Runs every probe on `data` and attaches the first that says yes; true when none did and
  // one wants more bytes.
  bool try_probes(Flow& f, Direction dir, std::span<const uint8_t> data);
  void end_probe_round(Flow& f, int d, bool maybe, uint8_t max_rounds);
  void probe_stream(Flow& f, Direction dir, std::span<const uint8_t> data, TimeNs ts);
  void free_probe_buffer(Flow& f);

  static constexpr uint32_t kChunkBits = 10;
  static constexpr uint32_t kChunkSize = 1u << kChunkBits;

  const FlowConfig cfg_;
  EventSink* sink_;
  PacketObserver* observer_ = nullptr;
  // Per-worker analyzer state, parallel to apis_; declared before the flows so that it
  // outlives every session that points to it.
  std::vector<std::unique_ptr<AnalyzerWorkerState>> analyzer_states_;
  std::bitset<65536> tcp_server_ports_, udp_server_ports_;
  std::vector<std::unique_ptr<Flow[]>> chunks_;
  std::vector<uint32_t> free_;
  std::vector<uint64_t> slots_;  // open addressing: hash << 32 | pool index + 1; 0 = empty
  size_t live_ = 0;
  uint64_t mem_used_ = 0;
  uint64_t reassembly_bytes_ = 0;
  uint64_t uid_counter_ = 0;
  uint32_t head_[kListCount] = {}, tail_[kListCount] = {};
  TimeNs now_ = 0;
  TimeNs next_expiry_ = 0;  // no list tail expires before this
  TimeNs delay_[kListCount] = {};
  CounterSet counters_;
  ConnRecord record_;
  FlowStartRecord start_record_;
  BurstRecord burst_record_;
  std::vector<const AnalyzerApi*> apis_;
  // Flows of the current frame's outer layers, for tunnel context.
  const RawFrame* frame_ = nullptr;
  const Packet* layer_pkt_[8] = {};
  uint64_t layer_uid_[8] = {};  // uid numbers: a flow evicted meanwhile is still named
  uint8_t n_layers_ = 0;
};

// "1:" + base64(SHA-1(...)) per the Community ID v1 specification.
std::string community_id_v1(const FlowTuple& t, uint16_t seed);
// The same into `out` (its capacity is reused: flows in the pool keep theirs).
void community_id_v1(const FlowTuple& t, uint16_t seed, std::string& out);
// "C" + base62 of a 64-bit value.
std::string zeek_uid(uint64_t v);

}  // namespace komainu
