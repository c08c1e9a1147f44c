// FlowTable: lookup, creation, timers, eviction. TCP semantics follow Zeek's
// TCPSessionAdapter / TCP_Endpoint / TCP_Reassembler so that conn.log rows match Zeek's.
#include <algorithm>
#include <cstring>

#include "core/hash.h"
#include "flow/flow.h"

namespace komainu {

namespace {

constexpr int32_t kTooLargeSeqDelta = 1048576;

// History masks (Zeek's TCP_Endpoint HIST_*); the responder's are shifted by 16.
constexpr uint32_t kHistSyn = 0x1, kHistFin = 0x2, kHistRst = 0x4, kHistFinRst = 0x8,
                   kHistData = 0x10, kHistAck = 0x20, kHistMulti = 0x40;
constexpr uint32_t kUdpOrigData = 0x1, kUdpRespData = 0x2;

const CounterInfo kFlowCounterInfo[] = {
    {"flows_created", "flows created"},
    {"flows_timed_out", "flows removed after their idle or attempt timeout"},
    {"flows_evicted", "flows evicted because the flow memory cap was reached"},
    {"flows_closed", "TCP flows removed after a close or reset"},
    {"flows_shutdown", "flows flushed at the end of input"},
    {"flows_reused", "TCP connections ended because a new SYN reused the 5-tuple"},
    {"packets_no_l4", "TCP/UDP/ICMP packets without a usable transport header"},
    {"reassembly_gaps", "stream gaps (bytes acknowledged but never seen)"},
    {"reassembly_gap_bytes", "bytes missing in stream gaps"},
    {"reassembly_overlaps", "segments overlapping data already delivered (first wins)"},
    {"reassembly_overflows", "out-of-order segments not buffered: memory limit reached"},
    {"sessions_attached", "app-layer sessions attached by probing"},
    {"probe_buffer_overflows",
     "TCP flows whose first bytes outgrew the probe buffer before a protocol was recognised"},
    {"sessions_handed_off",
     "sessions that handed their connection to another protocol (STARTTLS, AUTH TLS)"},
};

inline int32_t seq_delta(uint32_t a, uint32_t b) {
  return int32_t(a - b);
}

uint64_t hash_addr(const IpAddr& a) {
  uint64_t lo, hi;
  memcpy(&hi, a.b.data(), 8);
  memcpy(&lo, a.b.data() + 8, 8);
  return mix64(hi ^ mix64(lo));
}

// Two 8-byte compares instead of a memcmp call (the lookup compares up to four addresses).
inline bool same_addr(const IpAddr& a, const IpAddr& b) {
  uint64_t a0, a1, b0, b1;
  memcpy(&a0, a.b.data(), 8);
  memcpy(&a1, a.b.data() + 8, 8);
  memcpy(&b0, b.b.data(), 8);
  memcpy(&b1, b.b.data() + 8, 8);
  return ((a0 ^ b0) | (a1 ^ b1)) == 0;
}

bool is_icmp(uint8_t proto) {
  return proto == 1 || proto == 58;
}

// ICMP messages without a request/reply counterpart form directional keys (Zeek's
// is_one_way), so the two directions are separate connections.
bool icmp_one_way(uint8_t proto, uint16_t type) {
  if (proto == 1) {
    switch (type) {
      case 0:
      case 8:
      case 9:
      case 10:
      case 13:
      case 14:
      case 15:
      case 16:
      case 17:
      case 18:
        return false;
    }
    return true;
  }
  switch (type) {
    case 128:
    case 129:
    case 130:
    case 131:
    case 133:
    case 134:
    case 135:
    case 136:
    case 139:
    case 140:
    case 144:
    case 145:
      return false;
  }
  return true;
}

bool one_way(const Packet& p) {
  return is_icmp(p.proto) && icmp_one_way(p.proto, p.sport);
}

// Symmetric over the two directions unless the key is directional.
uint64_t key_hash(const Packet& p, bool vlan, uint64_t tunnel) {
  uint64_t ha = hash_addr(p.src) + p.sport;
  uint64_t hb = hash_addr(p.dst) + p.dport;
  uint64_t h = one_way(p) ? mix64(ha) ^ hb : (ha ^ hb) + mix64(ha + hb);
  h ^= uint64_t(p.proto) << 56;
  if (vlan) h ^= uint64_t(p.vlan[0]) << 16 ^ uint64_t(p.vlan[1]) << 32;
  return mix64(h ^ mix64(tunnel));
}

bool handshake_state(TcpState s) {
  return s == TcpState::kInactive || s == TcpState::kSynSent || s == TcpState::kSynAckSent;
}

bool is_clean(const TcpEndpoint& e) {
  return e.state == TcpState::kEstablished ||
         (e.state == TcpState::kClosed && e.prev_state == TcpState::kEstablished);
}

}  // namespace

std::vector<uint16_t> FlowConfig::default_tcp_server_ports() {
  // Ports Zeek's base scripts add to likely_server_ports. SOCKS (1080) and IRC (6666-6669)
  // are left out: Zeek's baselines flip towards them (core.local-flip,
  // core.tcp.flip-without-syn).
  return {21,   22,   23,   25,   53,   80,   81,   88,   110,  135,  139,  143,
          389,  443,  445,  502,  513,  543,  544,  563,  585,  587,  614,  631,
          636,  989,  990,  992,  993,  995,  1883, 2811, 3128, 3268, 3306, 3389,
          5222, 5223, 5269, 5432, 6379, 8000, 8080, 8888, 20000};
}

std::vector<uint16_t> FlowConfig::default_udp_server_ports() {
  // DHCP's client port 68 is not a server port (scripts.base.protocols.dhcp baselines).
  return {53,   67,   69,   88,   123,  137,  161,  162,  443,  514,  1812,
          1813, 2123, 2152, 3389, 3544, 4789, 5060, 5072, 5353, 5355, 6081};
}

uint64_t TcpEndpoint::size(const TcpEndpoint& peer) const {
  if (prev_state == TcpState::kSynSent && state == TcpState::kReset &&
      peer.state == TcpState::kInactive && !no_data_acked())
    return 0;
  uint64_t last64 = full(last_seq, seq_wraps);
  uint64_t ack64 = full(ack_seq, ack_wraps);
  uint64_t s = (last64 > ack64 ? last64 : ack64) - start_seq;
  if (s != 0) --s;
  if (fin_cnt > 0 && s != 0) --s;
  return s;
}

FlowTable::FlowTable(const FlowConfig& cfg, EventSink* sink, unsigned shard)
    : cfg_(cfg),
      sink_(sink),
      counters_("flow", std::vector<CounterInfo>(std::begin(kFlowCounterInfo),
                                                 std::end(kFlowCounterInfo))) {
  for (auto p : cfg_.tcp_server_ports) tcp_server_ports_.set(p);
  for (auto p : cfg_.udp_server_ports) udp_server_ports_.set(p);
  uid_counter_ = uint64_t(shard) << 48;
  slots_.assign(1024, 0);
  mem_used_ = slots_.size() * sizeof(uint64_t);
  if (cfg_.analyzers) apis_ = Registry<AnalyzerApi>::sorted();
  for (const AnalyzerApi* api : apis_)
    analyzer_states_.push_back(api->make_worker_state
                                   ? api->make_worker_state(cfg_.analyzer_settings.find(api->name))
                                   : std::make_unique<AnalyzerWorkerState>());
  for (int l = 0; l < kListCount; ++l) delay_[l] = delay_of(List(l));
}

FlowTable::~FlowTable() = default;

uint32_t FlowTable::shard_of(const Packet& p, unsigned n) {
  const Packet* outer = &p;
  while (outer->parent) outer = outer->parent;
  if (n <= 1) return 0;
  uint64_t ha = hash_addr(outer->src) + outer->sport;
  uint64_t hb = hash_addr(outer->dst) + outer->dport;
  return uint32_t(mix64((ha ^ hb) + mix64(ha + hb) + outer->proto) % n);
}

// --- Timer lists ---------------------------------------------------------------------------
// Every flow sits in exactly one list. Within a list all members share one delay, and members
// are ordered by their key (newest at the head), so the tail is always the next to expire.

TimeNs FlowTable::delay_of(List l) const {
  switch (l) {
    case kAttempt:
      return cfg_.tcp_attempt_delay;
    case kClosing:
      return cfg_.tcp_close_delay;
    case kSession:
      return 0;
    case kTcpActive:
      return cfg_.tcp_inactivity_timeout;
    case kTcpHandshake:
      return cfg_.tcp_handshake_timeout;
    case kUdp:
      return cfg_.udp_inactivity_timeout;
    case kIcmp:
      return cfg_.icmp_inactivity_timeout;
    default:
      return cfg_.other_inactivity_timeout;
  }
}

void FlowTable::unlink(uint32_t idx) {
  Flow& f = at(idx);
  if (f.list == kNone) return;
  if (f.prev)
    at(f.prev - 1).next = f.next;
  else
    head_[f.list] = f.next;
  if (f.next)
    at(f.next - 1).prev = f.prev;
  else
    tail_[f.list] = f.prev;
  f.prev = f.next = 0;
  f.list = kNone;
}

void FlowTable::link_front(uint32_t idx, List l, TimeNs key) {
  Flow& f = at(idx);
  next_expiry_ = std::min(next_expiry_, key + delay_[l]);
  f.list = l;
  f.timer_key = key;
  f.prev = 0;
  f.next = head_[l];
  if (head_[l]) at(head_[l] - 1).prev = idx + 1;
  head_[l] = idx + 1;
  if (!tail_[l]) tail_[l] = idx + 1;
}

void FlowTable::place(uint32_t idx) {
  Flow& f = at(idx);
  List want;
  TimeNs key = f.last;
  if (f.proto == 6) {
    const TcpEndpoint& o = f.ep[0];
    const TcpEndpoint& r = f.ep[1];
    if (f.attempt_pending &&
        !((o.state == TcpState::kSynSent || o.state == TcpState::kSynAckSent) &&
          r.state == TcpState::kInactive))
      f.attempt_pending = false;
    if (f.delete_pending) {
      want = kClosing;
      key = f.delete_at - cfg_.tcp_close_delay;
    } else if (f.attempt_pending) {
      want = kAttempt;
      key = f.attempt_at;
    } else {
      want = handshake_state(o.state) && handshake_state(r.state) ? kTcpHandshake : kTcpActive;
    }
  } else if (f.proto == 17) {
    want = kUdp;
    if (f.session_timeout) {
      want = kSession;
      key = f.session_check;
    }
  } else if (is_icmp(f.proto)) {
    want = kIcmp;
  } else {
    want = kOther;
  }
  if (f.list == want && f.timer_key == key) return;
  if (f.list == want && head_[want] == idx + 1) {
    // Already the newest member: re-keying in place keeps the order (most packets).
    next_expiry_ = std::min(next_expiry_, key + delay_[want]);
    f.timer_key = key;
    return;
  }
  unlink(idx);
  link_front(idx, want, key);
}

void FlowTable::advance(TimeNs now) {
  if (now > now_) now_ = now;
  // Nothing can expire before the earliest tail deadline seen at the last full check.
  if (now < next_expiry_) return;
  for (int l = kAttempt; l < kListCount; ++l) {
    TimeNs delay = delay_[l];
    while (tail_[l]) {
      uint32_t idx = tail_[l] - 1;
      Flow& f = at(idx);
      if (f.timer_key + delay > now) break;
      if (l == kSession && f.timer_key - f.last < f.session_timeout - kNsPerSec) {
        // Zeek's DNS ExpireTimer: not idle long enough, check again one timeout later.
        f.session_check = f.timer_key + f.session_timeout;
        unlink(idx);
        link_front(idx, kSession, f.session_check);
        continue;
      }
      if (l == kClosing)
        ++counters_[kFlowsClosed];
      else
        ++counters_[kFlowsTimedOut];
      remove(idx, EndReason::kTimeout);
    }
  }
  next_expiry_ = INT64_MAX;
  for (int l = kAttempt; l < kListCount; ++l)
    if (tail_[l]) next_expiry_ = std::min(next_expiry_, at(tail_[l] - 1).timer_key + delay_[l]);
}

void FlowTable::finish(TimeNs now) {
  advance(now);
  // Oldest first, so that several connections of one 5-tuple come out in order.
  std::vector<std::pair<TimeNs, uint32_t>> order;
  order.reserve(live_);
  for (uint32_t c = 0; c < chunks_.size(); ++c)
    for (uint32_t i = 0; i < kChunkSize; ++i) {
      const Flow& f = chunks_[c][i];
      if (f.in_use) order.emplace_back(f.start, c * kChunkSize + i);
    }
  std::sort(order.begin(), order.end());
  for (auto& [t, idx] : order) {
    ++counters_[kFlowsShutdown];
    remove(idx, EndReason::kShutdown);
  }
  if (sink_) sink_->flush();
}

// --- Table ---------------------------------------------------------------------------------

// Slots hold (hash << 32 | pool index + 1): probing compares hashes without touching flows.
namespace {
inline uint32_t slot_index(uint64_t s) {
  return uint32_t(s) - 1;
}
inline uint32_t slot_hash(uint64_t s) {
  return uint32_t(s >> 32);
}
}  // namespace

void FlowTable::grow_table() {
  std::vector<uint64_t> old;
  old.swap(slots_);
  slots_.assign(old.size() * 2, 0);
  mem_used_ += old.size() * sizeof(uint64_t);
  size_t mask = slots_.size() - 1;
  for (uint64_t s : old) {
    if (!s) continue;
    size_t i = slot_hash(s) & mask;
    while (slots_[i]) i = (i + 1) & mask;
    slots_[i] = s;
  }
}

void FlowTable::table_insert(uint32_t idx, uint32_t h) {
  if ((live_ + 1) * 2 > slots_.size()) grow_table();
  size_t mask = slots_.size() - 1;
  size_t i = h & mask;
  while (slots_[i]) i = (i + 1) & mask;
  slots_[i] = uint64_t(h) << 32 | (uint64_t(idx) + 1);
}

void FlowTable::table_erase(uint32_t idx) {
  size_t mask = slots_.size() - 1;
  const uint64_t want = uint64_t(at(idx).hash) << 32 | (uint64_t(idx) + 1);
  size_t i = at(idx).hash & mask;
  while (slots_[i] != want) {
    if (!slots_[i]) return;
    i = (i + 1) & mask;
  }
  // Backward-shift deletion keeps probe sequences intact without tombstones.
  size_t j = i;
  for (;;) {
    j = (j + 1) & mask;
    if (!slots_[j]) break;
    size_t home = slot_hash(slots_[j]) & mask;
    bool between = i <= j ? (i < home && home <= j) : (i < home || home <= j);
    if (between) continue;
    slots_[i] = slots_[j];
    i = j;
  }
  slots_[i] = 0;
}

uint32_t FlowTable::lookup(const Packet& p, uint64_t tunnel, uint32_t h, bool& is_orig) {
  size_t mask = slots_.size() - 1;
  bool directional = one_way(p);
  for (size_t i = h & mask; slots_[i]; i = (i + 1) & mask) {
    if (slot_hash(slots_[i]) != h) continue;
    uint32_t idx = slot_index(slots_[i]);
    Flow& f = at(idx);
    if (f.proto != p.proto || f.tunnel != tunnel) continue;
    if (cfg_.key_vlan && (f.ctx.vlan[0] != p.vlan[0] || f.ctx.vlan[1] != p.vlan[1])) continue;
    const FlowTuple& t = f.ctx.tuple;
    if (same_addr(t.src, p.src) && t.sport == p.sport && same_addr(t.dst, p.dst) &&
        t.dport == p.dport) {
      is_orig = true;
      return idx;
    }
    if (!directional && same_addr(t.src, p.dst) && t.sport == p.dport && same_addr(t.dst, p.src) &&
        t.dport == p.sport) {
      is_orig = false;
      return idx;
    }
  }
  return UINT32_MAX;
}

bool FlowTable::make_room(size_t bytes) {
  while (mem_used_ + bytes > cfg_.memcap && live_ > 0) {
    // The least recently active flow: the oldest tail over the lists.
    uint32_t victim = 0;
    TimeNs oldest = 0;
    for (int l = kAttempt; l < kListCount; ++l) {
      if (!tail_[l]) continue;
      const Flow& f = at(tail_[l] - 1);
      if (!victim || f.last < oldest) {
        victim = tail_[l];
        oldest = f.last;
      }
    }
    if (!victim) break;
    ++counters_[kFlowsEvicted];
    remove(victim - 1, EndReason::kForced);
  }
  return mem_used_ + bytes <= cfg_.memcap;
}

uint64_t FlowTable::tunnel_context(const Packet& p) {
  if (!p.parent) return 0;
  // Zeek names GRE and IP-in-IP tunnels by their outer addresses alone, so both directions
  // are one tunnel even when GRE rides in UDP with a source port per direction.
  bool by_endpoints = p.tunnel == TunnelType::kGre || p.tunnel == TunnelType::kErspan ||
                      p.tunnel == TunnelType::kIpInIp;
  if (!by_endpoints)
    for (uint8_t i = 0; i < n_layers_; ++i)
      if (layer_pkt_[i] == p.parent) return layer_uid_[i];
  // By the endpoints (also for an enclosing layer that made no flow), in either order.
  uint64_t a = hash_addr(p.parent->src), b = hash_addr(p.parent->dst);
  if (a > b) std::swap(a, b);
  return a ^ mix64(b + p.parent->proto) ^ 1;
}

uint32_t FlowTable::create(const Packet& p, uint64_t tunnel, uint32_t h) {
  make_room(sizeof(Flow) + 2 * sizeof(uint64_t));
  uint32_t idx;
  if (!free_.empty()) {
    idx = free_.back();
    free_.pop_back();
  } else {
    idx = uint32_t(chunks_.size()) * kChunkSize;
    chunks_.push_back(std::make_unique<Flow[]>(kChunkSize));
    free_.reserve(free_.size() + kChunkSize);
    for (uint32_t i = kChunkSize - 1; i > 0; --i) free_.push_back(idx + i);
  }
  mem_used_ += sizeof(Flow);
  Flow& f = at(idx);
  f.in_use = true;
  f.hash = h;
  f.proto = p.proto;
  f.tunnel = tunnel;
  f.uid_num = mix64(++uid_counter_ ^ mix64(cfg_.uid_seed));
  f.start = f.last = f.seen_last = p.ts;
  f.ctx.tuple = {p.src, p.dst, p.sport, p.dport, p.proto};
  f.ctx.vlan[0] = p.vlan[0];
  f.ctx.vlan[1] = p.vlan[1];
  f.ctx.vlan_count = p.vlan_count;
  f.ctx.flow_id = (mix64(h ^ mix64(uint64_t(p.ts))) & ((1ull << 51) - 1)) | 1;

  // Zeek's originator choice for a flow first seen without its opening packet.
  bool flip = false;
  if (p.proto == 6) {
    uint8_t fl = p.tcp_flags;
    if (!(fl & tcpflag::kSyn) || (fl & tcpflag::kAck)) {
      if (tcp_server_ports_[p.sport])
        flip = tcp_server_ports_[p.dport] ? !(fl & tcpflag::kSyn) && p.sport < p.dport : true;
    }
  } else if (p.proto == 17) {
    flip = udp_server_ports_[p.sport] && !udp_server_ports_[p.dport];
  }
  if (flip && p.dst.is_v4() && p.dst.v4_host() == 0xffffffffu) flip = false;
  if (flip) this->flip(f);

  table_insert(idx, h);
  ++live_;
  ++counters_[kFlowsCreated];
  if (sink_) {
    prepare_context(f);  // uid and community_id are direction-free: final already
    start_record_.f = &f;
    start_record_.flow = &f.ctx;
    start_record_.ts = p.ts;
    sink_->publish(start_record_);
    start_record_.f = nullptr;
    start_record_.flow = nullptr;
  }
  return idx;
}

void FlowTable::flip(Flow& f) {
  FlowTuple& t = f.ctx.tuple;
  std::swap(t.src, t.dst);
  std::swap(t.sport, t.dport);
  std::swap(f.ep[0], f.ep[1]);
  std::swap(f.pkts[0], f.pkts[1]);
  std::swap(f.ip_bytes[0], f.ip_bytes[1]);
  std::swap(f.wire_bytes[0], f.wire_bytes[1]);
  std::swap(f.tcp_flags[0], f.tcp_flags[1]);
  std::swap(f.chk_cnt[0], f.chk_cnt[1]);
  std::swap(f.chk_thresh[0], f.chk_thresh[1]);
  std::swap(f.size[0], f.size[1]);
  std::swap(f.active[0], f.active[1]);
  std::swap(f.close_deferred[0], f.close_deferred[1]);
  f.first_packet_seen = uint8_t((f.first_packet_seen & 1) << 1 | (f.first_packet_seen & 2) >> 1);
  f.is_partial = false;
  f.flipped = !f.flipped;
  f.burst.from_orig = !f.burst.from_orig;
  f.add_history('^');
}

void FlowTable::prepare_context(Flow& f) {
  if (f.context_ready) return;
  f.context_ready = true;
  f.ctx.uid = zeek_uid(f.uid_num);
  community_id_v1(f.ctx.tuple, cfg_.community_id_seed, f.ctx.community_id);
}

void FlowTable::remove(uint32_t idx, EndReason why) {
  Flow& f = at(idx);
  if (!f.in_use) return;
  unlink(idx);
  table_erase(idx);
  prepare_context(f);
  if (f.session) f.session->on_close(f.last);
  if (f.burst.after_gap) publish_burst(f);  // the session's last burst
  if (sink_) {
    record_.f = &f;
    record_.reason = why;
    record_.flow = &f.ctx;
    record_.ts = f.start;
    record_.to_client = false;
    if (f.proto == 6) {
      record_.orig_bytes = f.ep[0].size(f.ep[1]);
      record_.resp_bytes = f.ep[1].size(f.ep[0]);
    } else {
      record_.orig_bytes = f.size[0];
      record_.resp_bytes = f.size[1];
    }
    sink_->publish(record_);
    record_.f = nullptr;
    record_.flow = nullptr;
  }
  free_pending(f, 0);
  free_pending(f, 1);
  free_probe_buffer(f);
  f.session.reset();
  // The community id is longer than a short string: its buffer stays with the pool slot
  // for the next flow instead of being freed and allocated again.
  std::string community_id = std::move(f.ctx.community_id);
  community_id.clear();
  f.~Flow();
  new (&f) Flow();
  f.ctx.community_id = std::move(community_id);
  mem_used_ -= sizeof(Flow);
  free_.push_back(idx);
  --live_;
}

// --- Packets -------------------------------------------------------------------------------

void FlowTable::on_packet(const Packet& p) {
  if (p.frame != frame_ || !p.parent) {
    frame_ = p.frame;
    n_layers_ = 0;
  }
  advance(p.ts);
  bool transport = p.proto == 6 || p.proto == 17 || is_icmp(p.proto);
  if (transport && !p.l4_valid) {
    ++counters_[kPacketsNoL4];
    if (observer_) observer_->on_packet(p, nullptr, true);
    return;
  }
  uint64_t tunnel = cfg_.key_tunnel ? tunnel_context(p) : 0;
  uint32_t h = uint32_t(key_hash(p, cfg_.key_vlan, tunnel));
  bool is_orig = true;
  uint32_t idx = lookup(p, tunnel, h, is_orig);
  if (idx != UINT32_MAX && p.proto == 6 && tcp_is_reuse(at(idx), p)) {
    ++counters_[kFlowsReused];
    remove(idx, EndReason::kTimeout);
    idx = UINT32_MAX;
  }
  if (idx == UINT32_MAX) {
    idx = create(p, tunnel, h);
    const FlowTuple& t = at(idx).ctx.tuple;
    is_orig = t.src == p.src && t.sport == p.sport;
  }
  Flow& f = at(idx);
  if (p.parent) {
    uint64_t parent = tunnel_context(p);
    if (!cfg_.key_tunnel) {
      // Without tunnel keying the parent is still named in tunnel_parents.
      parent = 0;
      for (uint8_t i = 0; i < n_layers_; ++i)
        if (layer_pkt_[i] == p.parent) parent = layer_uid_[i];
      if (!parent)
        parent = hash_addr(p.parent->src) ^ mix64(hash_addr(p.parent->dst) + p.parent->proto) ^ 1;
    }
    bool known = false;
    for (uint8_t i = 0; i < f.n_parents; ++i) known |= f.parents[i] == parent;
    if (!known && f.n_parents < 3) f.parents[f.n_parents++] = parent;
  }
  f.seen_last = p.ts;
  int side = is_orig ? 0 : 1;
  if (p.proto == 6) {
    process_tcp(idx, f, p, is_orig);
  } else if (p.checksum_bad && is_icmp(p.proto)) {
    // Zeek drops an ICMP message with a bad checksum before any accounting.
  } else {
    ++f.pkts[side];
    f.ip_bytes[side] += p.ip_len;
    if (p.checksum_bad) {
      // Zeek counts the datagram (conn size) but analyses nothing: only C/c, scaled.
      f.scaled_history(is_orig ? 'C' : 'c', f.chk_cnt[side], f.chk_thresh[side]);
    } else {
      if (p.ts > f.last) f.last = p.ts;
      if (p.proto == 17)
        process_udp(f, p, is_orig);
      else if (is_icmp(p.proto))
        process_icmp(f, p, is_orig);
    }
  }
  if (p.frame) f.wire_bytes[side] += p.frame->wirelen;
  if (f.in_use) place(idx);
  if (observer_) observer_->on_packet(p, f.in_use ? &f : nullptr, is_orig);
  if (n_layers_ < 8) {
    layer_pkt_[n_layers_] = &p;
    layer_uid_[n_layers_] = f.uid_num;
    ++n_layers_;
  }
}

void FlowTable::process_udp(Flow& f, const Packet& p, bool is_orig) {
  int side = is_orig ? 0 : 1;
  if (is_orig)
    f.check_history(kUdpOrigData, 'D');
  else
    f.check_history(kUdpRespData, 'd');
  f.size[side] += p.payload_len;
  f.active[side] = true;
  if (p.payload_caplen == 0 || (!f.session && f.probe_done)) return;
  Direction dir = is_orig ? Direction::kToServer : Direction::kToClient;
  std::span<const uint8_t> data(p.payload, p.payload_caplen);
  // Datagrams are probed one by one: each is a whole message. Up to 16 per direction while a
  // probe still says maybe: WebRTC flows carry several STUN exchanges before DTLS starts.
  if (!f.session) probe(f, dir, data, 16);
  if (f.session) feed(f, dir, data, p.ts);
}

void FlowTable::process_icmp(Flow& f, const Packet& p, bool is_orig) {
  f.size[is_orig ? 0 : 1] += p.payload_len;
  f.active[is_orig ? 0 : 1] = true;
}

void FlowTable::probe(Flow& f, Direction dir, std::span<const uint8_t> data, uint8_t max_rounds) {
  int d = int(dir);
  if (f.probe_done || f.probe_rounds[d] == 0xff) return;
  bool maybe = try_probes(f, dir, data);
  if (!f.session) end_probe_round(f, d, maybe, max_rounds);
}

bool FlowTable::try_probes(Flow& f, Direction dir, std::span<const uint8_t> data) {
  bool maybe = false;
  uint16_t server_port = f.ctx.tuple.dport;
  for (size_t i = 0; i < apis_.size(); ++i) {
    const AnalyzerApi* api = apis_[i];
    if (f.proto == 6 ? !api->tcp : !api->udp) continue;
    if (!api->probe || !api->create) continue;
    ProbeResult r = api->probe(data, dir, server_port);
    if (r == ProbeResult::kYes) {
      prepare_context(f);
      SessionContext sc{sink_, &f.ctx, cfg_.analyzer_settings.find(api->name),
                        analyzer_states_[i].get()};
      f.session = api->create(sc);
      if (!f.session) continue;
      // After a hand-over the service lists both, as Zeek's ("smtp,ssl").
      if (f.ctx.service.empty())
        f.ctx.service.assign(api->name);
      else
        f.ctx.service.append(",").append(api->name);
      f.ctx.app_proto.assign(api->eve_name.empty() ? api->name : api->eve_name);
      f.probe_done = true;
      if (f.proto == 17)
        for (const auto& [name, timeout] : cfg_.udp_session_timeouts)
          if (name == api->name) {
            f.session_timeout = timeout;
            f.session_check = now_ + timeout;
          }
      ++counters_[kSessionsAttached];
      return false;
    }
    if (r == ProbeResult::kMaybe) maybe = true;
  }
  return maybe;
}

void FlowTable::end_probe_round(Flow& f, int d, bool maybe, uint8_t max_rounds) {
  // Give a direction a few deliveries when a probe needs more bytes, then stop.
  if (!maybe || ++f.probe_rounds[d] >= max_rounds) f.probe_rounds[d] = 0xff;
  if (f.probe_rounds[0] == 0xff && f.probe_rounds[1] == 0xff) f.probe_done = true;
}

// --- TCP -----------------------------------------------------------------------------------

namespace {

uint64_t relative_seq(const TcpEndpoint& e, uint32_t cur, uint32_t last, uint32_t wraps,
                      bool* underflow) {
  int32_t delta = seq_delta(cur, last);
  if (delta < 0) {
    if (wraps && cur > last) --wraps;
  } else if (delta > 0) {
    if (cur < last) ++wraps;
  }
  if (wraps == 0) {
    delta = seq_delta(cur, e.start_seq);
    if (underflow && delta < 0) *underflow = true;
    return uint64_t(int64_t(delta));
  }
  return e.rel(cur, wraps);
}

void update_last(TcpEndpoint& e, uint32_t v) {
  if (v < e.last_seq) ++e.seq_wraps;
  e.last_seq = v;
}

void update_ack(TcpEndpoint& e, uint32_t v) {
  if (v < e.ack_seq) ++e.ack_wraps;
  e.ack_seq = v;
}

void init_seqs(TcpEndpoint& e, uint32_t start, uint32_t last) {
  e.start_seq = start;
  e.ack_seq = start;
  e.last_seq = last;
}

}  // namespace

bool FlowTable::tcp_is_reuse(const Flow& f, const Packet& p) const {
  uint8_t fl = p.tcp_flags;
  if (!(fl & tcpflag::kSyn)) return false;
  const TcpEndpoint* conn_orig = &f.ep[0];
  if (fl & tcpflag::kAck) {
    if (f.ep[0].state != TcpState::kInactive) return false;
    conn_orig = &f.ep[1];
  }
  bool closed = f.ep[0].did_close || f.ep[1].did_close;
  if (!closed) {
    if (p.seq == conn_orig->start_seq) return false;
    if (!(fl & tcpflag::kAck) && conn_orig->state == TcpState::kSynAckSent &&
        f.ep[1].state == TcpState::kInactive && p.seq == f.ep[1].start_seq)
      return false;
  }
  return true;
}

void FlowTable::process_tcp(uint32_t idx, Flow& f, const Packet& p, bool is_orig) {
  (void)idx;
  int side = is_orig ? 0 : 1;
  TcpEndpoint* ep = &f.ep[side];
  TcpEndpoint* peer = &f.ep[1 - side];
  const uint8_t fl = p.tcp_flags;
  const bool syn = fl & tcpflag::kSyn, fin = fl & tcpflag::kFin, rst = fl & tcpflag::kRst,
             ack = fl & tcpflag::kAck;
  const int len = int(p.payload_len);
  if (p.checksum_bad) {
    // Zeek's TCP analyzer stops at a bad checksum: no state, no sizes, no packet count.
    f.scaled_history(is_orig ? 'C' : 'c', f.chk_cnt[side], f.chk_thresh[side]);
    return;
  }
  ep->seen = true;

  // SetPartialStatus
  if (is_orig) {
    if (!(f.first_packet_seen & 1)) f.is_partial = !syn || ack;
  } else if (!(f.first_packet_seen & 2) && !f.is_partial) {
    f.is_partial = !syn;
  }

  int seg_len = len + (syn ? 1 : 0) + (fin ? 1 : 0);
  if (rst) seg_len -= len;
  uint32_t base_seq = p.seq;
  uint32_t seq_one_past = base_seq + uint32_t(seg_len);

  // init_endpoint
  switch (ep->state) {
    case TcpState::kInactive:
      if (syn)
        init_seqs(*ep, base_seq, seq_one_past);
      else
        init_seqs(*ep, base_seq - 1, base_seq);
      break;
    case TcpState::kSynSent:
    case TcpState::kSynAckSent:
      if (syn && base_seq != ep->start_seq) init_seqs(*ep, base_seq, seq_one_past);
      break;
    case TcpState::kEstablished:
    case TcpState::kPartial:
      if (syn) init_seqs(*ep, base_seq, seq_one_past);
      break;
    case TcpState::kReset:
      if (syn && ep->prev_state == TcpState::kInactive) init_seqs(*ep, base_seq, seq_one_past);
      break;
    default:
      break;
  }

  bool seq_underflow = false;
  uint64_t rel_seq = relative_seq(*ep, base_seq, ep->last_seq, ep->seq_wraps, &seq_underflow);

  // update_history
  const uint32_t shift = is_orig ? 0 : 16;
  auto letter = [&](char c) { return is_orig ? c : char(c - 'A' + 'a'); };
  int bits = (syn ? 1 : 0) + (fin ? 1 : 0) + (rst ? 1 : 0);
  if (bits > 1) {
    if (fin && rst)
      f.check_history(kHistFinRst << shift, letter('I'));
    else
      f.check_history(kHistMulti << shift, letter('Q'));
  } else if (bits == 1) {
    if (syn) {
      char code = letter(ack ? 'H' : 'S');
      if (f.check_history(kHistSyn << shift, code) && rel_seq != ep->hist_last_syn)
        f.add_history(code);
      ep->hist_last_syn = rel_seq;
    }
    if (fin) {
      if (f.check_history(kHistFin << shift, letter('F')) &&
          rel_seq + uint64_t(len) != ep->hist_last_fin)
        f.add_history(letter('F'));
      ep->hist_last_fin = rel_seq + uint64_t(len);
    }
    if (rst) {
      if (f.check_history(kHistRst << shift, letter('R')) && rel_seq != ep->hist_last_rst)
        f.add_history(letter('R'));
      ep->hist_last_rst = rel_seq;
    }
  } else if (len) {
    f.check_history(kHistData << shift, letter('D'));
  } else if (ack) {
    f.check_history(kHistAck << shift, letter('A'));
  }

  // update_window: only the zero-window letter matters for the conn record.
  if (p.window == 0 && !rst && peer->state != TcpState::kClosed && ep->state != TcpState::kReset)
    f.scaled_history(letter('W'), ep->win0_cnt, ep->win0_thresh);

  // A packet stamped earlier than the flow's last one (a capture with a clock jump) must not
  // make the flow look idle: its timers key on `last`, and it would expire mid-handshake.
  if ((!f.ep[0].did_close || !f.ep[1].did_close) && p.ts > f.last) f.last = p.ts;

  if (fin) {
    ++ep->fin_cnt;
    ep->fin_seq = rel_seq + uint64_t(seg_len);
  }
  if (rst) ++ep->rst_cnt;

  uint64_t rel_ack = 0;
  if (ack) {
    if (peer->state == TcpState::kInactive) {
      rel_ack = 1;
      init_seqs(*peer, p.ack - 1, p.ack - 1);
    } else {
      bool ack_underflow = false;
      rel_ack = relative_seq(*peer, p.ack, peer->ack_seq, peer->ack_wraps, &ack_underflow);
      if (ack_underflow) {
        rel_ack = 0;
      } else if (!rst) {
        int32_t d = seq_delta(p.ack, peer->ack_seq);
        if (!(p.ack == 0 && d > kTooLargeSeqDelta) && d > 0) update_ack(*peer, p.ack);
      }
    }
  }

  // update_last_seq
  int32_t delta_last = seq_delta(seq_one_past, ep->last_seq);
  if ((syn || rst) && (delta_last > kTooLargeSeqDelta || delta_last < -kTooLargeSeqDelta)) {
  } else if (fin && ep->last_seq == ep->start_seq + 1) {
    update_last(*ep, seq_one_past);
  } else if (ep->state == TcpState::kReset) {
  } else if (delta_last > 0) {
    update_last(*ep, seq_one_past);
  } else if (len > 0) {
    f.scaled_history(letter('T'), ep->rxmt_cnt, ep->rxmt_thresh);
  }

  bool do_close = false, gen_event = false;
  tcp_state_machine(f, *ep, *peer, p, len, delta_last, is_orig, do_close, gen_event);
  // A flip inside the state machine swapped the endpoints: follow this packet's sender.
  bool orig_now = same_addr(f.ctx.tuple.src, p.src) && f.ctx.tuple.sport == p.sport &&
                  same_addr(f.ctx.tuple.dst, p.dst) && f.ctx.tuple.dport == p.dport;
  if (orig_now != is_orig) {
    is_orig = orig_now;
    side = is_orig ? 0 : 1;
    ep = &f.ep[side];
    peer = &f.ep[1 - side];
  }

  if (ack) stream_ack(f, 1 - side, rel_ack, p.ts);

  f.first_packet_seen |= is_orig ? 1 : 2;

  // New payload only (delta_last > 0): a retransmission or a keep-alive probe (one byte
  // below the next sequence number) is no message.
  if (len > 0 && delta_last > 0 && !rst && !f.session && cfg_.burst_gap > 0 && sink_)
    note_burst(f, is_orig, p.ts, uint32_t(len));

  uint64_t rel_data_seq = syn ? rel_seq + 1 : rel_seq;
  if (len > 0 && p.payload_caplen >= p.payload_len && !rst && !seq_underflow)
    stream_data(f, side, rel_data_seq, p.payload, p.payload_len, p.ts);

  check_eof(f, 0);
  check_eof(f, 1);
  if (do_close) tcp_connection_closed(f, side, gen_event);

  ++f.pkts[side];
  f.ip_bytes[side] += p.ip_len;
  f.tcp_flags[side] |= p.tcp_flags;
}

void FlowTable::note_burst(Flow& f, bool from_orig, TimeNs ts, uint32_t len) {
  FlowBurst& b = f.burst;
  // A packet stamped before the latest one (a clock jump backwards) continues the burst.
  if (b.bytes && ts - b.last < cfg_.burst_gap) {
    b.bytes = len > UINT32_MAX - b.bytes ? UINT32_MAX : b.bytes + len;
    if (ts > b.last) b.last = ts;
    return;
  }
  bool after_gap = b.bytes != 0;
  if (after_gap) publish_burst(f);
  b.start = b.last = ts;
  b.bytes = len;
  b.first_bytes = uint16_t(len > UINT16_MAX ? UINT16_MAX : len);
  b.from_orig = from_orig;
  b.after_gap = after_gap;
}

void FlowTable::publish_burst(Flow& f) {
  const FlowBurst& b = f.burst;
  if (!b.after_gap || f.session || !sink_) return;
  prepare_context(f);
  burst_record_.f = &f;
  burst_record_.flow = &f.ctx;
  burst_record_.ts = b.start;
  burst_record_.to_client = !b.from_orig;
  burst_record_.end = b.last;
  burst_record_.bytes = b.bytes;
  burst_record_.first_bytes = b.first_bytes;
  sink_->publish(burst_record_);
  burst_record_.f = nullptr;
  burst_record_.flow = nullptr;
}

void FlowTable::tcp_state_machine(Flow& f, TcpEndpoint& ep, TcpEndpoint& peer, const Packet& p,
                                  int len, int32_t delta_last, bool is_orig, bool& do_close,
                                  bool& gen_event) {
  const uint8_t fl = p.tcp_flags;
  const bool syn = fl & tcpflag::kSyn, fin = fl & tcpflag::kFin, rst = fl & tcpflag::kRst,
             ack = fl & tcpflag::kAck;
  switch (ep.state) {
    case TcpState::kInactive: {
      if (syn) {
        if (is_orig) {
          ep.set_state(ack ? TcpState::kSynAckSent : TcpState::kSynSent);
          if (cfg_.tcp_attempt_delay > 0) {
            f.attempt_pending = true;
            f.attempt_at = p.ts;
          }
        } else {
          if (!ack && peer.state == TcpState::kSynAckSent && p.seq == ep.start_seq) {
            // SYN and SYN-ACK seen reversed: the roles were wrong. flip() swaps the two
            // endpoint slots, so `ep` now holds the SYN-ACK sender and `peer` this one.
            f.is_partial = false;
            flip(f);
            ep.set_state(TcpState::kEstablished);
            f.first_packet_seen |= 1;
            peer.set_state(TcpState::kEstablished);
            break;
          }
          if (peer.state == TcpState::kSynSent) peer.set_state(TcpState::kEstablished);
          ep.set_state(TcpState::kEstablished);
        }
      }
      if (fin) {
        ep.set_state(TcpState::kClosed);
        do_close = gen_event = true;
      }
      if (rst) {
        ep.set_state(TcpState::kReset);
        bool is_reject = false;
        if (is_orig) {
          if (peer.state == TcpState::kEstablished) is_reject = true;
        } else if (peer.state == TcpState::kSynSent || peer.state == TcpState::kSynAckSent) {
          is_reject = true;
        }
        do_close = true;
        gen_event = !is_reject;
      }
      if (ep.state == TcpState::kInactive) {
        if (!is_orig && len == 0 && f.ep[0].state == TcpState::kSynSent) {
          // An ack of the SYN before the SYN-ACK: not a partial connection.
        } else if (ack && peer.state == TcpState::kEstablished) {
          ep.set_state(TcpState::kEstablished);
          f.is_partial = false;
          f.first_packet_seen |= is_orig ? 1 : 2;
        } else {
          ep.set_state(TcpState::kPartial);
        }
      }
      break;
    }
    case TcpState::kSynSent:
    case TcpState::kSynAckSent:
      if (fin) {
        ep.set_state(TcpState::kClosed);
        do_close = gen_event = true;
      }
      if (rst) {
        ep.set_state(TcpState::kReset);
        do_close = true;
      }
      break;
    case TcpState::kEstablished:
    case TcpState::kPartial:
      if (syn && ep.state == TcpState::kPartial && peer.state == TcpState::kInactive && !ack)
        ep.set_state(TcpState::kSynSent);
      if (fin && !rst) {
        ep.set_state(TcpState::kClosed);
        if (peer.state == TcpState::kReset && peer.prev_state == TcpState::kClosed)
          peer.set_state(TcpState::kClosed);
        do_close = gen_event = true;
      }
      if (rst) {
        ep.set_state(TcpState::kReset);
        do_close = true;
      }
      break;
    case TcpState::kClosed:
      (void)delta_last;
      if (rst && peer.state != TcpState::kClosed) {
        ep.set_state(TcpState::kReset);
        if (!ep.did_close) do_close = true;
        // Zeek's ResetTimer: the connection goes after the reset delay.
        f.delete_pending = true;
        f.delete_at = p.ts + cfg_.tcp_reset_delay;
      }
      break;
    case TcpState::kReset:
      break;
  }
}

bool FlowTable::data_pending(const Flow& f, int side) const {
  const TcpEndpoint& e = f.ep[side];
  uint64_t delivered = uint64_t(e.start_seq) + e.last_reassem;
  uint64_t last = e.full(e.last_seq, e.seq_wraps);
  if (last <= delivered) return false;
  if (e.fin_cnt > 0 && last == delivered + 1) return false;
  return true;
}

void FlowTable::check_eof(Flow& f, int side) {
  const TcpEndpoint& e = f.ep[side];
  if (!f.close_deferred[side]) return;
  if (e.state != TcpState::kClosed && e.state != TcpState::kReset) return;
  if (data_pending(f, side)) return;
  tcp_connection_closed(f, side, true);
}

void FlowTable::tcp_connection_closed(Flow& f, int side, bool /*gen_event*/) {
  TcpEndpoint& ep = f.ep[side];
  TcpEndpoint& peer = f.ep[1 - side];
  if (data_pending(f, side)) {
    f.close_deferred[side] = true;
    return;
  }
  f.close_deferred[side] = false;
  if (ep.did_close) return;
  ep.did_close = true;
  bool complete =
      ep.state == TcpState::kReset || peer.did_close || peer.state == TcpState::kInactive;
  if (complete) {
    // Zeek cancels the analyzer's timers and removes the connection after the close delay.
    f.attempt_pending = false;
    f.delete_pending = true;
    f.delete_at = f.last + cfg_.tcp_close_delay;
  }
}

// --- Reassembly ----------------------------------------------------------------------------

void FlowTable::release_block(TcpEndpoint& e, const PendingBlock& b) {
  e.pending_bytes -= b.data.size();
  reassembly_bytes_ -= b.data.size();
  e.pending_cost -= sizeof(PendingBlock) + b.data.size();
  mem_used_ -= sizeof(PendingBlock) + b.data.size();
}

void FlowTable::free_pending(Flow& f, int side) {
  TcpEndpoint& e = f.ep[side];
  if (!e.pending) return;
  reassembly_bytes_ -= e.pending_bytes;
  mem_used_ -= e.pending_cost;
  e.pending_bytes = 0;
  e.pending_cost = 0;
  e.pending.reset();
}

void FlowTable::deliver(Flow& f, int side, const uint8_t* data, size_t len, TimeNs ts) {
  Direction dir = side == 0 ? Direction::kToServer : Direction::kToClient;
  std::span<const uint8_t> s(data, len);
  if (f.session)
    feed(f, dir, s, ts);
  else if (!f.probe_done)
    probe_stream(f, dir, s, ts);
}

void FlowTable::probe_stream(Flow& f, Direction dir, std::span<const uint8_t> data, TimeNs ts) {
  // Segments a stream is cut into say nothing about its protocol: a direction gets up to
  // kMaxRounds deliveries and the buffer's bytes to be recognised.
  constexpr uint8_t kMaxRounds = 32;
  const int d = int(dir);
  ProbeBuffer* b = f.probe_buf.get();
  const bool probed = !b;
  if (probed) {
    // Common case: the first segment decides, nothing is copied.
    probe(f, dir, data, kMaxRounds);
    if (f.session) {
      feed(f, dir, data, ts);
      return;
    }
    if (f.probe_done) return;
  }
  // Undecided: keep the bytes (both directions) for the analyzer that attaches later.
  size_t held = b ? b->bytes[0].size() + b->bytes[1].size() : 0;
  if (held + data.size() > ProbeBuffer::kMaxBytes ||
      reassembly_bytes_ + data.size() > cfg_.reassembly_global_limit) {
    ++counters_[kProbeBufferOverflows];
    f.probe_done = true;
    free_probe_buffer(f);
    return;
  }
  if (!b) {
    f.probe_buf = std::make_unique<ProbeBuffer>();
    b = f.probe_buf.get();
    b->cost = sizeof(ProbeBuffer);
    mem_used_ += b->cost;
  }
  b->bytes[d].append(reinterpret_cast<const char*>(data.data()), data.size());
  b->chunks.push_back({ts, uint16_t(data.size()), uint8_t(d)});
  size_t added = data.size() + sizeof(ProbeBuffer::Chunk);
  b->cost += added;
  mem_used_ += added;
  reassembly_bytes_ += data.size();
  if (!probed && f.probe_rounds[d] != 0xff) {
    // The direction from its first byte, then this segment alone: a protocol that starts
    // after a cleartext preamble (TLS after a STARTTLS-like command) begins a segment.
    const std::string& all = b->bytes[d];
    bool maybe = try_probes(f, dir, {reinterpret_cast<const uint8_t*>(all.data()), all.size()});
    if (!f.session) {
      maybe |= try_probes(f, dir, data);
      if (f.session) {
        free_probe_buffer(f);  // the preamble is not the recognised protocol's
        feed(f, dir, data, ts);
        return;
      }
      end_probe_round(f, d, maybe, kMaxRounds);
    }
  }
  if (f.session) {
    size_t off[2] = {0, 0};
    for (const ProbeBuffer::Chunk& c : b->chunks) {
      const uint8_t* base = reinterpret_cast<const uint8_t*>(b->bytes[c.dir].data());
      feed(f, c.dir == 0 ? Direction::kToServer : Direction::kToClient, {base + off[c.dir], c.len},
           c.ts);
      off[c.dir] += c.len;
      if (!f.session) break;  // handed over inside the held bytes: the rest is not probed
    }
    free_probe_buffer(f);
  } else if (f.probe_done) {
    free_probe_buffer(f);
  }
}

void FlowTable::feed(Flow& f, Direction dir, std::span<const uint8_t> data, TimeNs ts) {
  f.session->on_data(dir, data, ts);
  if (!f.session->handed_off()) return;
  f.session->on_close(ts);
  f.session.reset();
  f.probe_done = false;
  f.probe_rounds[0] = f.probe_rounds[1] = 0;
  ++counters_[kSessionsHandedOff];
}

void FlowTable::free_probe_buffer(Flow& f) {
  if (!f.probe_buf) return;
  mem_used_ -= f.probe_buf->cost;
  reassembly_bytes_ -= f.probe_buf->bytes[0].size() + f.probe_buf->bytes[1].size();
  f.probe_buf.reset();
}

void FlowTable::stream_gap(Flow& f, int side, uint64_t seq, uint64_t len, TimeNs ts) {
  (void)seq;
  if (len == 0) return;
  TcpEndpoint& e = f.ep[side];
  if (is_clean(e) && is_clean(f.ep[1 - side])) {
    // Zeek reports content gaps (and counts missed_bytes) only for cleanly
    // established or closing connections.
    f.scaled_history(side == 0 ? 'G' : 'g', e.gap_cnt, e.gap_thresh);
    f.missed_bytes += len;
  }
  ++counters_[kReassemblyGaps];
  counters_[kReassemblyGapBytes] += len;
  if (f.session)
    f.session->on_gap(side == 0 ? Direction::kToServer : Direction::kToClient, len, ts);
}

void FlowTable::drain_pending(Flow& f, int side, TimeNs ts) {
  TcpEndpoint& e = f.ep[side];
  if (!e.pending) return;
  auto& v = *e.pending;
  size_t n = 0;
  while (n < v.size() && v[n].seq <= e.last_reassem) {
    PendingBlock& b = v[n];
    if (b.upper > e.last_reassem) {
      uint64_t off = e.last_reassem - b.seq;
      if (!b.data.empty())
        deliver(f, side, reinterpret_cast<const uint8_t*>(b.data.data()) + off,
                size_t(b.upper - e.last_reassem), ts);
      else if (f.session)
        f.session->on_gap(side == 0 ? Direction::kToServer : Direction::kToClient,
                          b.upper - e.last_reassem, ts);
      e.last_reassem = b.upper;
    }
    ++n;
  }
  if (n) {
    for (size_t i = 0; i < n; ++i) {
      release_block(e, v[i]);
    }
    v.erase(v.begin(), v.begin() + n);
  }
}

void FlowTable::stream_data(Flow& f, int side, uint64_t seq, const uint8_t* data, uint32_t len,
                            TimeNs ts) {
  TcpEndpoint& e = f.ep[side];
  uint64_t acked = e.rel(e.ack_seq, e.ack_wraps);
  uint64_t upper = seq + len;
  if (seq < acked) {
    if (upper <= acked) return;
    uint64_t cut = acked - seq;
    seq += cut;
    data += cut;
  }
  if (upper <= e.trim_seq) return;
  if (seq < e.trim_seq) {
    uint64_t cut = e.trim_seq - seq;
    seq += cut;
    data += cut;
  }
  if (seq <= e.last_reassem) {
    if (upper <= e.last_reassem) {
      ++counters_[kReassemblyOverlaps];
      return;
    }
    if (seq < e.last_reassem) {
      ++counters_[kReassemblyOverlaps];
      data += e.last_reassem - seq;
      seq = e.last_reassem;
    }
    deliver(f, side, data, size_t(upper - seq), ts);
    e.last_reassem = upper;
    drain_pending(f, side, ts);
    return;
  }
  // Above a hole: buffer the parts not already buffered (first arrival wins).
  if (!e.pending) e.pending = std::make_unique<std::vector<PendingBlock>>();
  auto& v = *e.pending;
  bool want_bytes = f.session || !f.probe_done;
  uint64_t cur = seq;
  size_t i = 0;
  while (cur < upper) {
    while (i < v.size() && v[i].upper <= cur) ++i;
    uint64_t end = upper;
    if (i < v.size() && v[i].seq <= cur) {
      ++counters_[kReassemblyOverlaps];
      cur = std::min(upper, v[i].upper);
      continue;
    }
    if (i < v.size() && v[i].seq < end) end = v[i].seq;
    if (v.size() >= cfg_.reassembly_max_blocks) {
      ++counters_[kReassemblyOverflows];
      return;
    }
    PendingBlock b;
    b.seq = cur;
    b.upper = end;
    size_t n = size_t(end - cur);
    if (want_bytes) {
      if (e.pending_bytes + n > cfg_.reassembly_flow_limit ||
          reassembly_bytes_ + n > cfg_.reassembly_global_limit) {
        // Keep the range (so gaps are still accounted like Zeek) but not the bytes:
        // the analyzer sees a gap there.
        ++counters_[kReassemblyOverflows];
      } else {
        b.data.assign(reinterpret_cast<const char*>(data + (cur - seq)), n);
        e.pending_bytes += n;
        reassembly_bytes_ += n;
      }
    }
    e.pending_cost += sizeof(PendingBlock) + b.data.size();
    mem_used_ += sizeof(PendingBlock) + b.data.size();
    v.insert(v.begin() + i, std::move(b));
    ++i;
    cur = end;
  }
}

void FlowTable::stream_ack(Flow& f, int side, uint64_t seq, TimeNs ts) {
  TcpEndpoint& e = f.ep[side];
  if (e.fin_cnt > 0 && seq >= e.fin_seq) seq = e.fin_seq - 1;
  if (seq <= e.trim_seq) return;
  if (seq > e.last_reassem) {
    // Zeek's Undelivered(): everything below the ack that never arrived is a gap.
    if (!(seq <= 2 && f.is_partial)) {
      if (e.pending) {
        auto& v = *e.pending;
        while (!v.empty() && v.front().seq < seq) {
          if (v.front().seq > e.last_reassem) {
            stream_gap(f, side, e.last_reassem, v.front().seq - e.last_reassem, ts);
            e.last_reassem = v.front().seq;
          }
          drain_pending(f, side, ts);
        }
      }
      if (seq > e.last_reassem) stream_gap(f, side, e.last_reassem, seq - e.last_reassem, ts);
      if (seq > e.last_reassem) e.last_reassem = seq;
      drain_pending(f, side, ts);
    }
  }
  e.trim_seq = seq;
  // Blocks wholly below the ack can no longer be delivered.
  if (e.pending) {
    auto& v = *e.pending;
    size_t n = 0;
    while (n < v.size() && v[n].upper <= seq) {
      release_block(e, v[n]);
      ++n;
    }
    if (n) v.erase(v.begin(), v.begin() + n);
  }
}

}  // namespace komainu
