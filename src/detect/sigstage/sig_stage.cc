#include "detect/sigstage/sig_stage.h"

#include <algorithm>

namespace komainu::sig {
namespace {

// Members of the common EVE header: an app-layer record that writes them itself (flowless
// records) must not repeat them inside the alert.
bool header_member(std::string_view k) {
  return k == "src_ip" || k == "dest_ip" || k == "src_port" || k == "dest_port" || k == "proto" ||
         k == "app_proto" || k == "flow_id" || k == "event_type" || k == "timestamp";
}

// Splits `{"a":..., "b":...}` (as JsonWriter renders it) into its top-level members.
template <typename F>
void for_each_member(std::string_view j, F&& f) {
  size_t i = 1;  // after '{'
  while (i < j.size()) {
    while (i < j.size() && (j[i] == ',' || j[i] == ' ')) ++i;
    if (i >= j.size() || j[i] != '"') return;
    size_t k0 = ++i;
    while (i < j.size() && j[i] != '"') i += j[i] == '\\' ? 2 : 1;
    if (i >= j.size()) return;
    std::string_view key = j.substr(k0, i - k0);
    i += 2;  // '"' ':'
    size_t v0 = i;
    int depth = 0;
    bool in_str = false;
    for (; i < j.size(); ++i) {
      char ch = j[i];
      if (in_str) {
        if (ch == '\\')
          ++i;
        else if (ch == '"')
          in_str = false;
        continue;
      }
      if (ch == '"') {
        in_str = true;
      } else if (ch == '{' || ch == '[') {
        ++depth;
      } else if (ch == '}' || ch == ']') {
        if (depth == 0) break;
        --depth;
      } else if (ch == ',' && depth == 0) {
        break;
      }
    }
    if (i > j.size()) return;
    f(key, j.substr(v0, i - v0));
  }
}

constexpr uint8_t kTcpSyn = 0x02, kTcpRst = 0x04, kTcpAck = 0x10;
// Earlier bytes kept before new stream data: enough for a content (or a short relative
// chain) split across segments, small enough to keep per-flow memory low.
constexpr size_t kStreamLookback = 512;
// Out-of-order segments held per direction; over it they are dropped (and counted).
constexpr size_t kMaxPendingSegments = 64;
constexpr size_t kMaxPendingBytes = 256 * 1024;

bool seq_lt(uint32_t a, uint32_t b) {
  return static_cast<int32_t>(a - b) < 0;
}

}  // namespace

SigStage::SigStage(const Engine& engine, EventSink* out, uint16_t community_id_seed)
    : engine_(engine),
      out_(out),
      community_id_seed_(community_id_seed),
      scratch_(engine.new_scratch()) {
  app_pkt_.l4_valid = true;
}

SigStage::~SigStage() = default;

SigStage::FlowState& SigStage::state_of(uint64_t flow_id) {
  if (last_ && last_id_ == flow_id) return *last_;
  auto [it, fresh] = flows_.try_emplace(flow_id);
  if (fresh) {
    it->second.vars = engine_.new_flow_vars();
    counters_.flows_max = std::max<uint64_t>(counters_.flows_max, flows_.size());
  }
  last_id_ = flow_id;
  last_ = &it->second;
  return it->second;
}

const FlowContext* SigStage::alert_flow(const Flow& f) {
  if (!f.ctx.community_id.empty()) return &f.ctx;
  // The flow table renders uid and community_id lazily (first record); an alert may come
  // first.
  ctx_copy_ = f.ctx;
  ctx_copy_.community_id = community_id_v1(f.ctx.tuple, community_id_seed_);
  return &ctx_copy_;
}

void SigStage::on_packet(const Packet& p, const Flow* f, bool to_server) {
  // The outer layer of a tunnel is not inspected; its inner packet is (as Suricata does).
  if (p.inner != TunnelType::kNone) return;
  InspectContext c;
  c.layer = InspectLayer::kPacket;
  c.pkt = &p;
  c.ts = p.ts;
  c.to_server = to_server;
  c.is_fragment = p.reassembled;
  if (f) {
    FlowState& st = state_of(f->ctx.flow_id);
    if (!st.established) {
      // Suricata: TCP once the three-way handshake completed (never for a flow picked up
      // mid-stream), other protocols once both sides have sent.
      st.established = f->proto == 6 ? f->ep[0].state == TcpState::kEstablished &&
                                           f->ep[1].state == TcpState::kEstablished
                                     : f->pkts[0] && f->pkts[1];
    }
    if (f->proto == 6) {
      if (st.tcp_start == TcpStart::kUnknown)
        st.tcp_start =
            (p.tcp_flags & (kTcpSyn | kTcpAck)) == kTcpSyn ? TcpStart::kSyn : TcpStart::kMidstream;
      st.bytes_to_server = f->ep[0].size(f->ep[1]);
      st.bytes_to_client = f->ep[1].size(f->ep[0]);
    } else {
      st.bytes_to_server = f->size[0];
      st.bytes_to_client = f->size[1];
    }
    c.has_flow = true;
    c.established = st.established;
    c.flow_id = f->ctx.flow_id;
    c.app_proto = f->ctx.app_proto;
    // Detection gave up on the flow: Suricata's "failed" protocol (so "!http" can match).
    if (c.app_proto.empty() && f->probe_done) c.app_proto = "failed";
    c.bytes_to_server = st.bytes_to_server;
    c.bytes_to_client = st.bytes_to_client;
    c.flow_vars = st.vars.get();
  }
  ++counters_.packets;
  StreamUpdate su = StreamUpdate::kNone;
  size_t seen = 0;
  if (f && f->proto == 6) {
    FlowState& st = state_of(f->ctx.flow_id);
    // An acknowledgement past a hole in the other direction: that data is lost (a gap); the
    // stream resumes with the segments held after it, inspected now.
    if (StreamDir* other = st.stream[to_server ? 1 : 0].get();
        other && (p.tcp_flags & kTcpAck) && !other->pending.empty() && seq_lt(other->next, p.ack) &&
        !seq_lt(p.ack, other->pending.front().seq)) {
      ++counters_.stream_gaps;
      other->next = other->pending.front().seq;
      other->window.clear();
      if (drain_pending(*other)) {
        Packet rev = p;
        std::swap(rev.src, rev.dst);
        std::swap(rev.sport, rev.dport);
        InspectContext sc = c;
        sc.pkt = &rev;
        sc.to_server = !to_server;
        inspect_stream(sc, *other, 0, f);
      }
    }
    su = update_stream(st, p, to_server, seen);
  }
  c.stream_covered = su != StreamUpdate::kNone;
  auto alerts = engine_.inspect(c, *scratch_);
  const FlowContext* fc = f && !alerts.empty() ? alert_flow(*f) : nullptr;
  for (const Signature* s : alerts) emit(*s, c, fc, nullptr);
  if (su == StreamUpdate::kNewData)
    inspect_stream(c, *state_of(f->ctx.flow_id).stream[to_server ? 0 : 1], seen, f);
}

void SigStage::inspect_stream(const InspectContext& packet_ctx, StreamDir& sd, size_t seen,
                              const Flow* f) {
  InspectContext c = packet_ctx;
  c.is_stream = true;
  c.stream_covered = false;
  c.stream_seen = seen;
  c.stream_hits = &sd.hits;
  stream_buffers_.clear();
  stream_buffers_.set(kPayload, sd.window);
  c.buffers = &stream_buffers_;
  ++counters_.stream_inspections;
  auto alerts = engine_.inspect(c, *scratch_);
  const FlowContext* fc = f && !alerts.empty() ? alert_flow(*f) : nullptr;
  for (const Signature* s : alerts) emit(*s, c, fc, nullptr);
  // Keep only the lookback for the next chunk; give back memory a jumbo segment took.
  if (sd.window.size() > kStreamLookback) sd.window.erase(0, sd.window.size() - kStreamLookback);
  if (sd.window.capacity() > 16 * kStreamLookback) sd.window.shrink_to_fit();
}

bool SigStage::drain_pending(StreamDir& sd) {
  bool grew = false;
  while (!sd.pending.empty() && !seq_lt(sd.next, sd.pending.front().seq)) {
    StreamDir::Segment& seg = sd.pending.front();
    uint32_t skip = sd.next - seg.seq;
    if (skip < seg.data.size()) {
      sd.window.append(seg.data, skip, std::string::npos);
      sd.next += static_cast<uint32_t>(seg.data.size() - skip);
      grew = true;
    }
    sd.pending_bytes -= seg.data.size();
    sd.pending.erase(sd.pending.begin());
  }
  return grew;
}

SigStage::StreamUpdate SigStage::update_stream(FlowState& st, const Packet& p, bool to_server,
                                               size_t& seen) {
  std::unique_ptr<StreamDir>& slot = st.stream[to_server ? 0 : 1];
  if (p.tcp_flags & kTcpSyn) {
    if (!slot) slot = std::make_unique<StreamDir>();
    if (!slot->synced) {
      slot->synced = true;
      slot->next = p.seq + 1;  // data (TCP Fast Open too) starts after the SYN
    }
  }
  StreamDir* sd = slot.get();
  // Data of a flow picked up mid-way, or on a RST (never reassembled), stays packet data.
  if (!sd || !sd->synced || p.payload_caplen == 0 || (p.tcp_flags & kTcpRst) || !p.payload)
    return StreamUpdate::kNone;
  uint32_t seq = p.seq + ((p.tcp_flags & kTcpSyn) ? 1 : 0);
  uint32_t len = p.payload_caplen;
  uint32_t end = seq + len;
  if (!seq_lt(sd->next, end)) return StreamUpdate::kCovered;  // retransmission: first wins
  if (seq_lt(sd->next, seq)) {                                // ahead of a hole: hold it
    if (sd->pending.size() >= kMaxPendingSegments || sd->pending_bytes + len > kMaxPendingBytes) {
      ++counters_.stream_pending_dropped;
      return StreamUpdate::kNone;
    }
    auto it = std::find_if(sd->pending.begin(), sd->pending.end(),
                           [&](const StreamDir::Segment& x) { return seq_lt(seq, x.seq); });
    sd->pending.insert(it, {seq, std::string(reinterpret_cast<const char*>(p.payload), len)});
    sd->pending_bytes += len;
    return StreamUpdate::kCovered;
  }
  seen = std::min(sd->window.size(), kStreamLookback);
  uint32_t skip = sd->next - seq;
  sd->window.append(reinterpret_cast<const char*>(p.payload) + skip, len - skip);
  sd->next = end;
  drain_pending(*sd);
  return StreamUpdate::kNewData;
}

void SigStage::publish(const Record& r) {
  std::string_view type = r.event_type();
  if (r.flow && type != "flow" && type != "alert")
    if (const AppBufferApi* api = app_buffer_provider(type)) inspect_record(r, *api);
  out_->publish(r);
  // The flow's end record: its signature state goes with it.
  if (type == "flow" && r.flow) {
    if (r.flow->flow_id == last_id_) last_ = nullptr;
    flows_.erase(r.flow->flow_id);
  }
}

void SigStage::inspect_record(const Record& r, const AppBufferApi& api) {
  ++counters_.records;
  const FlowContext& fc = *r.flow;
  FlowState& st = state_of(fc.flow_id);
  // Suricata (stream.midstream off, its default) has no TCP session, hence no app layer, for
  // a flow picked up mid-way: its transactions run no rules.
  if (st.tcp_start == TcpStart::kMidstream) {
    ++counters_.records_midstream;
    return;
  }
  const FlowTuple& t = fc.tuple;
  record_alerted_.clear();
  // Providers stop at their last inspection; the bound only guards against a runaway one.
  for (size_t i = 0; i < 4096; ++i) {
    buffers_.clear();
    InspectContext c;
    c.layer = InspectLayer::kApp;
    c.buffers = &buffers_;
    c.ts = r.ts;
    c.has_flow = true;
    c.to_server = !r.to_client;
    c.established = st.established || t.proto == 6;
    c.flow_id = fc.flow_id;
    c.app_proto = fc.app_proto.empty() ? api.app_proto : std::string_view(fc.app_proto);
    c.bytes_to_server = st.bytes_to_server;
    c.bytes_to_client = st.bytes_to_client;
    c.flow_vars = st.vars.get();
    if (!api.fill(r, i, buffers_, c, app_scratch_)) break;
    ++counters_.transactions;
    // Addresses and ports of the rule header are checked against the transaction's
    // direction.
    app_pkt_.ts = c.ts;
    app_pkt_.proto = t.proto;
    app_pkt_.ip_version = t.src.is_v4() ? 4 : 6;
    app_pkt_.src = c.to_server ? t.src : t.dst;
    app_pkt_.dst = c.to_server ? t.dst : t.src;
    app_pkt_.sport = c.to_server ? t.sport : t.dport;
    app_pkt_.dport = c.to_server ? t.dport : t.sport;
    c.pkt = &app_pkt_;
    auto alerts = engine_.inspect(c, *scratch_);
    for (const Signature* s : alerts) {
      // A rule alerts once per transaction and direction, however many instances of a
      // multi-buffer (certificates, DNS answers, ...) match (Suricata's tx detect state).
      std::pair<const Signature*, bool> key{s, c.to_server};
      if (std::find(record_alerted_.begin(), record_alerted_.end(), key) != record_alerted_.end())
        continue;
      record_alerted_.push_back(key);
      emit(*s, c, &fc, &r);
    }
  }
}

void SigStage::emit(const Signature& s, const InspectContext& c, const FlowContext* flow,
                    const Record* app) {
  fill_alert_record(s, c, flow, alert_);
  if (flow && !flow->app_proto.empty())
    alert_.extra_json.push_back({"app_proto", "\"" + flow->app_proto + "\""});
  if (app && app->has_eve()) {
    // The transaction's EVE object beside the alert, as Suricata adds "http":{...}.
    app_json_.clear();
    JsonWriter w(app_json_);
    w.begin_object();
    app->write_eve(w);
    w.end_object();
    for_each_member(app_json_, [&](std::string_view k, std::string_view v) {
      if (!header_member(k)) alert_.extra_json.push_back({std::string(k), std::string(v)});
    });
  }
  ++counters_.alerts;
  out_->publish(alert_);
}

void write_signature_stats(JsonWriter& w, const Engine& engine, const LoadReport& report,
                           std::span<const SigStage* const> stages) {
  SigStageCounters sum;
  ScratchCounters sc;
  for (const SigStage* s : stages) {
    const auto& c = s->counters();
    sum.packets += c.packets;
    sum.records += c.records;
    sum.records_midstream += c.records_midstream;
    sum.transactions += c.transactions;
    sum.alerts += c.alerts;
    sum.flows_max += c.flows_max;
    sum.stream_inspections += c.stream_inspections;
    sum.stream_gaps += c.stream_gaps;
    sum.stream_pending_dropped += c.stream_pending_dropped;
    const auto& x = s->scratch_counters();
    sc.inspected += x.inspected;
    sc.candidates += x.candidates;
    sc.alerts += x.alerts;
    sc.suppressed_by_threshold += x.suppressed_by_threshold;
    sc.pcre_limit += x.pcre_limit;
    sc.recursion_limit += x.recursion_limit;
    sc.threshold_evictions += x.threshold_evictions;
    sc.xbit_evictions += x.xbit_evictions;
    sc.stream_rescans += x.stream_rescans;
  }
  const EngineStats& es = engine.stats();
  w.key("signatures").begin_object();
  w.kv("rules_loaded", uint64_t(report.loaded))
      .kv("rules_skipped", uint64_t(report.skipped))
      .kv("rules_failed", uint64_t(report.failed))
      .kv("duplicate_sids", uint64_t(report.duplicates))
      .kv("load_time_s", report.load_seconds)
      .kv("build_time_s", es.compile_seconds)
      .kv("prefiltered_rules", uint64_t(es.prefiltered))
      .kv("address_indexed_rules", uint64_t(es.addr_indexed))
      .kv("always_inspected_rules", uint64_t(es.always))
      .kv("prefilter_databases", uint64_t(es.databases))
      .kv("prefilter_patterns", uint64_t(es.patterns))
      .kv("prefilter_bytes", uint64_t(es.database_bytes))
      .kv("prefilter_databases_cached", uint64_t(es.databases_cached))
      .kv("prefilter_cache_errors", uint64_t(es.cache_errors))
      .kv("packets_inspected", sum.packets)
      .kv("records_inspected", sum.records)
      .kv("records_midstream_skipped", sum.records_midstream)
      .kv("transactions_inspected", sum.transactions)
      .kv("candidates", sc.candidates)
      .kv("alerts", sum.alerts)
      .kv("suppressed_by_threshold", sc.suppressed_by_threshold)
      .kv("pcre_match_limit", sc.pcre_limit)
      .kv("recursion_limit", sc.recursion_limit)
      .kv("threshold_evictions", sc.threshold_evictions)
      .kv("xbit_evictions", sc.xbit_evictions)
      .kv("flows_with_state_max", sum.flows_max)
      .kv("stream_inspections", sum.stream_inspections)
      .kv("stream_gaps", sum.stream_gaps)
      .kv("stream_pending_dropped", sum.stream_pending_dropped)
      .kv("stream_rescans", sc.stream_rescans);
  w.key("skipped_by_keyword").begin_object();
  for (const auto& [k, n] : report.skipped_by_keyword) w.kv(k, uint64_t(n));
  w.end_object();
  w.end_object();
}

}  // namespace komainu::sig
