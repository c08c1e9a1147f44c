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
  auto [it, fresh] = flows_.try_emplace(flow_id);
  if (fresh) {
    it->second.vars = engine_.new_flow_vars();
    counters_.flows_max = std::max<uint64_t>(counters_.flows_max, flows_.size());
  }
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
    c.bytes_to_server = st.bytes_to_server;
    c.bytes_to_client = st.bytes_to_client;
    c.flow_vars = st.vars.get();
  }
  ++counters_.packets;
  auto alerts = engine_.inspect(c, *scratch_);
  if (alerts.empty()) return;
  const FlowContext* fc = f ? alert_flow(*f) : nullptr;
  for (const Signature* s : alerts) emit(*s, c, fc, nullptr);
}

void SigStage::publish(const Record& r) {
  std::string_view type = r.event_type();
  if (r.flow && type != "flow" && type != "alert")
    if (const AppBufferApi* api = app_buffer_provider(type)) inspect_record(r, *api);
  out_->publish(r);
  // The flow's end record: its signature state goes with it.
  if (type == "flow" && r.flow) flows_.erase(r.flow->flow_id);
}

void SigStage::inspect_record(const Record& r, const AppBufferApi& api) {
  ++counters_.records;
  const FlowContext& fc = *r.flow;
  FlowState& st = state_of(fc.flow_id);
  const FlowTuple& t = fc.tuple;
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
    for (const Signature* s : alerts) emit(*s, c, &fc, &r);
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
    sum.transactions += c.transactions;
    sum.alerts += c.alerts;
    sum.flows_max += c.flows_max;
    const auto& x = s->scratch_counters();
    sc.inspected += x.inspected;
    sc.candidates += x.candidates;
    sc.alerts += x.alerts;
    sc.suppressed_by_threshold += x.suppressed_by_threshold;
    sc.pcre_limit += x.pcre_limit;
    sc.recursion_limit += x.recursion_limit;
    sc.threshold_evictions += x.threshold_evictions;
    sc.xbit_evictions += x.xbit_evictions;
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
      .kv("packets_inspected", sum.packets)
      .kv("records_inspected", sum.records)
      .kv("transactions_inspected", sum.transactions)
      .kv("candidates", sc.candidates)
      .kv("alerts", sum.alerts)
      .kv("suppressed_by_threshold", sc.suppressed_by_threshold)
      .kv("pcre_match_limit", sc.pcre_limit)
      .kv("recursion_limit", sc.recursion_limit)
      .kv("threshold_evictions", sc.threshold_evictions)
      .kv("xbit_evictions", sc.xbit_evictions)
      .kv("flows_with_state_max", sum.flows_max);
  w.key("skipped_by_keyword").begin_object();
  for (const auto& [k, n] : report.skipped_by_keyword) w.kv(k, uint64_t(n));
  w.end_object();
  w.end_object();
}

}  // namespace komainu::sig
