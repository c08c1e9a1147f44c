#include "detect/behaviour/scan/scan.h"

#include "analyzers/dcerpc/dcerpc.h"
#include "flow/flow.h"

namespace komainu {

void ScanDetector::publish(const Record& r) {
  if (const auto* d = dynamic_cast<const dcerpc::DceRpcRecord*>(&r)) {
    if (d->request && d->flow && d->endpoint == "epmapper" && d->opnum == 2)
      on_epm_lookup(d->ts, d->flow->tuple.src, d->flow->tuple.dst);
    return;
  }
  const auto* c = dynamic_cast<const ConnRecord*>(&r);
  if (!c || !c->f || c->f->proto != 6) return;
  const FlowTuple& t = c->f->ctx.tuple;
  on_conn(c->f->start, t.src, t.dst, t.dport, c->orig_bytes == 0 && c->resp_bytes == 0);
}

void ScanDetector::on_conn(TimeNs ts, const IpAddr& src, const IpAddr& dst, uint16_t dport,
                           bool probe) {
  ++conns_;
  auto it = sources_.find(src);
  if (it == sources_.end()) {
    if (sources_.size() >= cfg_.max_sources) {
      evict_oldest(sources_);
      ++evictions_;
    }
    it = sources_.emplace(src, Source{}).first;
    it->second.start = it->second.first = ts;
  }
  Source& s = it->second;
  // Tumbling window; a clock jump backwards (merged captures) keeps the window.
  if (ts - s.start > cfg_.window) {
    s = Source{};
    s.start = s.first = ts;
  }
  if (ts > s.last) s.last = ts;
  ++s.conns;
  if (!probe) return;
  ++s.probes;
  if (s.targets >= cfg_.max_targets_per_source) {
    ++targets_capped_;
    return;
  }
  auto& hosts = s.hosts_by_port[dport];
  auto& ports = s.ports_by_host[dst];
  bool new_h = hosts.insert(dst).second, new_p = ports.insert(dport).second;
  if (new_h || new_p) ++s.targets;
  if (new_h) maybe_alert(src, s, true, hosts.size(), dport, dst);
  if (new_p) maybe_alert(src, s, false, ports.size(), dport, dst);
}

void ScanDetector::maybe_alert(const IpAddr& src, Source& s, bool horizontal, uint64_t n,
                               uint16_t port, const IpAddr& host) {
  uint64_t threshold = horizontal ? cfg_.horizontal_hosts : cfg_.vertical_ports;
  uint64_t& last = horizontal ? s.alerted_h : s.alerted_v;
  if (n < threshold || (last && n < 2 * last)) return;
  double ratio = s.conns ? double(s.probes) / s.conns : 0;
  if (ratio < cfg_.min_failed_ratio) return;
  bool update = last != 0;
  last = n;
  std::string msg = horizontal ? "KOMAINU SCAN horizontal scan: " + src.str() + " probed " +
                                     std::to_string(n) + " hosts on port " + std::to_string(port)
                               : "KOMAINU SCAN vertical scan: " + src.str() + " probed " +
                                     std::to_string(n) + " ports on " + host.str();
  if (update) msg += " (update)";
  AlertBuilder a("scan", horizontal ? kSidHorizontal : kSidVertical, msg, 2, "TA0007", "T1046");
  a.ip(src);
  if (!horizontal) a.ip(host);
  a.ev.kv("kind", horizontal ? "horizontal" : "vertical")
      .kv("probes", s.probes)
      .kv("connections", s.conns)
      .kv("failed_ratio", ratio)
      .kv("distinct_targets", s.targets)
      .kv("first_seen", format_eve_time(s.first))
      .kv("last_seen", format_eve_time(s.last))
      .kv("update", update);
  if (horizontal) {
    a.ev.kv("port", unsigned(port)).kv("hosts", n);
    a.ev.key("sample_hosts").begin_array();
    size_t k = 0;
    for (const auto& h : s.hosts_by_port[port]) {
      if (k++ == 10) break;
      a.ev.value(h.str());
    }
    a.ev.end_array();
  } else {
    a.ev.kv("host", host.str()).kv("ports", n);
    a.ev.key("sample_ports").begin_array();
    size_t k = 0;
    for (uint16_t p : s.ports_by_host[host]) {
      if (k++ == 20) break;
      a.ev.value(uint64_t(p));
    }
    a.ev.end_array();
  }
  a.ev.key("ports_probed").begin_array();
  size_t k = 0;
  for (const auto& [p, hs] : s.hosts_by_port) {
    if (k++ == 20) break;
    a.ev.value(uint64_t(p));
  }
  a.ev.end_array();
  a.publish(alerts_, s.last, &src, horizontal ? nullptr : &host);
  ++alerts_sent_;
}

void ScanDetector::on_epm_lookup(TimeNs ts, const IpAddr& src, const IpAddr& dst) {
  ++epm_lookups_;
  auto key = std::make_pair(src, dst);
  auto it = epm_.find(key);
  if (it == epm_.end()) {
    if (epm_.size() >= cfg_.max_sources) {
      epm_.erase(epm_.begin());
      ++evictions_;
    }
    it = epm_.emplace(key, EpmPair{ts, ts, 0}).first;
  }
  EpmPair& p = it->second;
  p.last = std::max(p.last, ts);
  if (p.calls++) return;  // one alert per pair; later calls are counted in stats
  std::string msg = "KOMAINU SCAN RPC endpoint mapper enumeration (ept_lookup): " + src.str() +
                    " -> " + dst.str();
  AlertBuilder a("scan", kSidEndpointMapper, msg, 3, "TA0007", "T1046");
  a.ip(src).ip(dst);
  a.ev.kv("kind", "endpoint_mapper")
      .kv("operation", "ept_lookup")
      .kv("first_seen", format_eve_time(p.first));
  a.publish(alerts_, ts, &src, &dst);
  ++alerts_sent_;
}

void ScanDetector::write_stats(JsonWriter& w) const {
  w.kv("tcp_connections", conns_)
      .kv("sources", uint64_t(sources_.size()))
      .kv("source_evictions", evictions_)
      .kv("targets_capped", targets_capped_)
      .kv("epm_lookups", epm_lookups_)
      .kv("alerts", alerts_sent_);
}

namespace {

std::unique_ptr<Detector> create(const DetectorContext& ctx, std::string* error) {
  ScanConfig c;
  double window = 300;
  if (!config_check_keys(ctx, "scan",
                         {"window", "horizontal_hosts", "vertical_ports", "min_failed_ratio",
                          "max_sources", "max_targets_per_source"},
                         error) ||
      !config_get(ctx, "window", window, error) ||
      !config_get(ctx, "horizontal_hosts", c.horizontal_hosts, error) ||
      !config_get(ctx, "vertical_ports", c.vertical_ports, error) ||
      !config_get(ctx, "min_failed_ratio", c.min_failed_ratio, error) ||
      !config_get(ctx, "max_sources", c.max_sources, error) ||
      !config_get(ctx, "max_targets_per_source", c.max_targets_per_source, error))
    return nullptr;
  c.window = TimeNs(window * kNsPerSec);
  return std::make_unique<ScanDetector>(c, ctx.alerts);
}

const Registration<DetectorApi> reg{{.name = "scan", .create = create}};

}  // namespace
}  // namespace komainu
