#include "detect/zones/segmentation.h"

#include "flow/flow.h"

namespace komainu {

namespace {
constexpr size_t kMaxServicesPerCell = 64;
}

SegmentationDetector::SegmentationDetector(const DetectorContext& ctx, size_t max_alert_keys,
                                           uint32_t alerts_per_source)
    : zones_(*ctx.zones),
      alerts_(ctx.alerts),
      max_alert_keys_(max_alert_keys),
      alerts_per_source_(alerts_per_source),
      matrix_(ctx.zones->count() * ctx.zones->count()) {}

void SegmentationDetector::publish(const Record& r) {
  std::string_view type = r.event_type();
  if (type == "flow_start") {
    const auto* s = dynamic_cast<const FlowStartRecord*>(&r);
    have_flow_start_ = true;
    if (s && s->flow) check(*s->flow, s->ts);
    return;
  }
  const auto* c = type == "flow" ? dynamic_cast<const ConnRecord*>(&r) : nullptr;
  if (!c || !c->f) return;
  const Flow& f = *c->f;
  // Without flow-start records the policy is checked at flow end, stamped with its start.
  if (!have_flow_start_) check(f.ctx, f.start);
  const FlowTuple& t = f.ctx.tuple;
  int from = zones_.zone_of(t.src), to = zones_.zone_of(t.dst);
  Cell& cell = matrix_[size_t(from) * zones_.count() + size_t(to)];
  if (!cell.connections || f.start < cell.first) cell.first = f.start;
  if (f.last > cell.last) cell.last = f.last;
  ++cell.connections;
  cell.bytes_toserver += c->orig_bytes;
  cell.bytes_toclient += c->resp_bytes;
  std::string svc = Service::of(t.proto, t.dport).str();
  auto it = cell.services.find(svc);
  if (it != cell.services.end()) {
    ++it->second;
  } else if (cell.services.size() < kMaxServicesPerCell) {
    cell.services.emplace(svc, 1);
  } else {
    ++services_capped_;
  }
}

void SegmentationDetector::check(const FlowContext& ctx, TimeNs ts) {
  const FlowTuple& t = ctx.tuple;
  int from = zones_.zone_of(t.src), to = zones_.zone_of(t.dst);
  if (from == to) return;
  Service svc = Service::of(t.proto, t.dport);
  scratch_.clear();
  zones_.violations(from, to, svc, scratch_);
  for (const PolicyRule* rule : scratch_) {
    ++violations_;
    auto key = std::make_tuple(rule, t.src, t.dst);
    if (alerted_.count(key)) continue;
    if (per_source_[{rule, t.src}] >= alerts_per_source_) {
      ++suppressed_;
      continue;
    }
    if (alerted_.size() >= max_alert_keys_) {
      alerted_.clear();  // bounded: forget, so a repeat may alert again
      per_source_.clear();
      ++key_evictions_;
    }
    alerted_.insert(key);
    ++per_source_[{rule, t.src}];
    uint32_t sid = rule->kind == PolicyRule::kForbidden         ? kSidForbidden
                   : rule->kind == PolicyRule::kAllowedServices ? kSidAllowedServices
                                                                : kSidNoInternet;
    const char* kind = rule->kind == PolicyRule::kForbidden         ? "forbidden"
                       : rule->kind == PolicyRule::kAllowedServices ? "allowed_services"
                                                                    : "no_internet";
    std::string msg = "KOMAINU ZONES " + std::string(kind) + " policy violation " +
                      zones_.name(from) + " -> " + zones_.name(to) + " " + svc.str() + " (" +
                      rule->id + ", " + zones_.file() + ":" + std::to_string(rule->line) + ")";
    AlertBuilder a("zones", sid, msg, rule->kind == PolicyRule::kAllowedServices ? 2 : 1, "TA0008",
                   rule->kind == PolicyRule::kNoInternet ? "T1041" : "T1021");
    a.meta("detector", std::string("zones.") + kind);
    a.meta("policy_rule", rule->id);
    a.ip(t.src).ip(t.dst);
    a.ev.kv("rule", rule->id)
        .kv("rule_text", rule->text)
        .kv("file", zones_.file())
        .kv("line", rule->line)
        .kv("from_zone", zones_.name(from))
        .kv("to_zone", zones_.name(to))
        .kv("service", svc.str())
        .kv("src_ip", t.src.str())
        .kv("dest_ip", t.dst.str())
        .kv("src_port", unsigned(t.sport))
        .kv("dest_port", unsigned(t.dport))
        .kv("first_seen", format_eve_time(ts))
        .kv("community_id", ctx.community_id);
    a.publish(alerts_, ts, &t.src, &t.dst);
    ++alerts_sent_;
  }
}

void SegmentationDetector::write_stats(JsonWriter& w) const {
  w.kv("violations", violations_)
      .kv("alerts", alerts_sent_)
      .kv("suppressed", suppressed_)
      .kv("alert_key_evictions", key_evictions_)
      .kv("services_capped", services_capped_)
      .kv("checked_at", have_flow_start_ ? "flow_start" : "flow_end");
}

void SegmentationDetector::write_matrix(JsonWriter& w) const {
  w.begin_object();
  w.kv("zones_file", zones_.file());
  w.key("zones").begin_array();
  for (size_t i = 0; i < zones_.count(); ++i) w.value(zones_.name(int(i)));
  w.end_array();
  w.key("matrix").begin_array();
  size_t n = zones_.count();
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j < n; ++j) {
      const Cell& c = matrix_[i * n + j];
      if (!c.connections) continue;
      std::vector<const PolicyRule*> v;
      w.begin_object();
      w.kv("from", zones_.name(int(i)))
          .kv("to", zones_.name(int(j)))
          .kv("connections", c.connections)
          .kv("bytes_toserver", c.bytes_toserver)
          .kv("bytes_toclient", c.bytes_toclient)
          .kv("first_seen", format_eve_time(c.first))
          .kv("last_seen", format_eve_time(c.last));
      w.key("services").begin_object();
      for (const auto& [s, k] : c.services) w.kv(s, k);
      w.end_object();
      // Services that break the policy on this pair.
      w.key("violating_services").begin_array();
      for (const auto& [s, k] : c.services) {
        Service sv;
        if (!Service::parse(s, sv)) continue;
        v.clear();
        zones_.violations(int(i), int(j), sv, v);
        if (!v.empty()) w.value(s);
      }
      w.end_array();
      w.end_object();
    }
  w.end_array();
  w.end_object();
}

void SegmentationDetector::print_table(FILE* out) const {
  fprintf(out, "%-12s %-12s %11s %14s %14s  %-27s %-27s %s\n", "from", "to", "connections",
          "bytes_out", "bytes_back", "first_seen", "last_seen", "services (top)");
  size_t n = zones_.count();
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j < n; ++j) {
      const Cell& c = matrix_[i * n + j];
      if (!c.connections) continue;
      std::vector<std::pair<uint64_t, std::string>> top;
      for (const auto& [s, k] : c.services) top.push_back({k, s});
      std::sort(top.rbegin(), top.rend());
      std::string svcs;
      for (size_t k = 0; k < top.size() && k < 6; ++k) {
        Service sv;
        std::vector<const PolicyRule*> v;
        if (Service::parse(top[k].second, sv)) zones_.violations(int(i), int(j), sv, v);
        svcs += (k ? " " : "") + top[k].second + (v.empty() ? "" : "!") + "(" +
                std::to_string(top[k].first) + ")";
      }
      if (top.size() > 6) svcs += " ...";
      fprintf(out, "%-12s %-12s %11llu %14llu %14llu  %-27s %-27s %s\n",
              zones_.name(int(i)).c_str(), zones_.name(int(j)).c_str(),
              (unsigned long long)c.connections, (unsigned long long)c.bytes_toserver,
              (unsigned long long)c.bytes_toclient, format_eve_time(c.first).c_str(),
              format_eve_time(c.last).c_str(), svcs.c_str());
    }
  fprintf(out, "('!' marks a service that breaks the policy)\n");
}

namespace {

std::unique_ptr<Detector> create(const DetectorContext& ctx, std::string* error) {
  if (!ctx.zones) return nullptr;  // needs --zones
  uint64_t max_keys = 100000, per_source = 20;
  if (!config_check_keys(ctx, "zones", {"max_alert_keys", "alerts_per_source_rule"}, error) ||
      !config_get(ctx, "max_alert_keys", max_keys, error) ||
      !config_get(ctx, "alerts_per_source_rule", per_source, error))
    return nullptr;
  return std::make_unique<SegmentationDetector>(ctx, max_keys, uint32_t(per_source));
}

const Registration<DetectorApi> reg{{.name = "zones", .create = create}};

}  // namespace
}  // namespace komainu
