#include "detect/behaviour/scan/scan.h"

#include <algorithm>
#include <cstdio>

#include "analyzers/dcerpc/dcerpc.h"
#include "decode/arp.h"
#include "flow/flow.h"

namespace komainu {

void ScanDetector::publish(const Record& r) {
  std::string_view type = r.event_type();
  if (type == "flow") {
    const auto* c = dynamic_cast<const ConnRecord*>(&r);
    if (!c || !c->f || c->f->proto != 6) return;
    const FlowTuple& t = c->f->ctx.tuple;
    on_conn(c->f->start, t.src, t.dst, t.dport, c->orig_bytes == 0 && c->resp_bytes == 0);
  } else if (type == "dcerpc") {
    const auto* d = dynamic_cast<const dcerpc::DceRpcRecord*>(&r);
    if (d && d->request && d->flow && d->endpoint == "epmapper" && d->opnum == 2)
      on_epm_lookup(d->ts, d->flow->tuple.src, d->flow->tuple.dst);
  } else if (type == "arp") {
    if (const auto* a = dynamic_cast<const ArpRecord*>(&r))
      on_arp(a->ts, a->arp.op, a->arp.sender_ip, a->arp.sender_mac, a->arp.target_ip);
  }
}

bool ScanDetector::wants(std::string_view type) const {
  return type == "flow" || type == "dcerpc" || type == "arp";
}

void ScanDetector::on_conn(TimeNs ts, const IpAddr& src, const IpAddr& dst, uint16_t dport,
                           bool probe) {
  ++conns_;
  bool inserted = false;
  Source& s = sources_.find_or_insert(src, cfg_.max_sources, evictions_, inserted);
  if (inserted) s.start = s.first = ts;
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

void ScanDetector::on_arp(TimeNs ts, uint16_t op, const IpAddr& sender, const uint8_t* sender_mac,
                          const IpAddr& target) {
  if (op != 1) return;  // who-has requests; replies only answer them
  ++arp_requests_;
  // RFC 5227 probes (sender 0.0.0.0) check an address before taking it; gratuitous ARP
  // (sender == target) announces one's own. Neither discovers other hosts.
  if (sender == IpAddr::v4(0) || sender == target || !target.is_v4()) {
    ++arp_ignored_;
    return;
  }
  auto it = arp_.find(sender);
  if (it == arp_.end()) {
    if (arp_.size() >= cfg_.max_sources) {
      evict_oldest(arp_);
      ++arp_evictions_;
    }
    it = arp_.emplace(sender, ArpSender{}).first;
    it->second.start = it->second.first = ts;
  }
  ArpSender& s = it->second;
  // Tumbling window; a clock jump backwards keeps the window.
  if (ts - s.start > cfg_.arp_window) {
    s = ArpSender{};
    s.start = s.first = ts;
  }
  if (ts > s.last) s.last = ts;
  ++s.requests;
  if (sender_mac) memcpy(s.mac, sender_mac, 6);
  uint32_t t = target.v4_host();
  auto pos = std::lower_bound(s.targets.begin(), s.targets.end(), t);
  if (pos != s.targets.end() && *pos == t) return;
  if (s.targets.size() < cfg_.max_targets_per_source)
    s.targets.insert(pos, t);
  else
    ++s.targets_over_cap;  // beyond the cap: counted, not remembered
  uint64_t n = s.targets.size() + s.targets_over_cap;
  if (n < cfg_.arp_sweep_hosts || (s.alerted && n < 2 * s.alerted)) return;
  arp_alert(sender, s, n, ts);
}

void ScanDetector::arp_alert(const IpAddr& sender, ArpSender& s, uint64_t n, TimeNs ts) {
  bool update = s.alerted != 0;
  s.alerted = n;
  char mac[18];
  snprintf(mac, sizeof mac, "%02x:%02x:%02x:%02x:%02x:%02x", s.mac[0], s.mac[1], s.mac[2], s.mac[3],
           s.mac[4], s.mac[5]);
  char secs[32];
  snprintf(secs, sizeof secs, "%.1f", to_seconds(s.last - s.first));
  std::string msg = "KOMAINU SCAN ARP sweep: " + sender.str() + " asked for " + std::to_string(n) +
                    " addresses in " + secs + " s";
  if (update) msg += " (update)";
  AlertBuilder a("scan", kSidArpSweep, msg, 2, "TA0007", "T1018");
  a.ip(sender);
  a.ev.kv("kind", "arp_sweep")
      .kv("sender_mac", mac)
      .kv("targets", n)
      .kv("requests", s.requests)
      .kv("window_s", to_seconds(cfg_.arp_window))
      .kv("first_seen", format_eve_time(s.first))
      .kv("last_seen", format_eve_time(s.last))
      .kv("update", update);
  a.ev.key("sample_targets").begin_array();
  for (size_t i = 0; i < s.targets.size() && i < 10; ++i)
    a.ev.value(IpAddr::v4(s.targets[i]).str());
  a.ev.end_array();
  a.publish(alerts_, ts, &sender, nullptr);
  ++alerts_sent_;
}

void ScanDetector::write_stats(JsonWriter& w) const {
  w.kv("tcp_connections", conns_)
      .kv("sources", uint64_t(sources_.size()))
      .kv("source_evictions", evictions_)
      .kv("targets_capped", targets_capped_)
      .kv("epm_lookups", epm_lookups_)
      .kv("arp_requests", arp_requests_)
      .kv("arp_ignored", arp_ignored_)
      .kv("arp_senders", uint64_t(arp_.size()))
      .kv("arp_sender_evictions", arp_evictions_)
      .kv("alerts", alerts_sent_);
}

namespace {

std::unique_ptr<Detector> create(const DetectorContext& ctx, std::string* error) {
  ScanConfig c;
  double window = 300, arp_window = 30;
  if (!config_check_keys(ctx, "scan",
                         {"window", "horizontal_hosts", "vertical_ports", "min_failed_ratio",
                          "max_sources", "max_targets_per_source", "arp_window", "arp_sweep_hosts"},
                         error) ||
      !config_get(ctx, "window", window, error) ||
      !config_get(ctx, "arp_window", arp_window, error) ||
      !config_get(ctx, "arp_sweep_hosts", c.arp_sweep_hosts, error) ||
      !config_get(ctx, "horizontal_hosts", c.horizontal_hosts, error) ||
      !config_get(ctx, "vertical_ports", c.vertical_ports, error) ||
      !config_get(ctx, "min_failed_ratio", c.min_failed_ratio, error) ||
      !config_get(ctx, "max_sources", c.max_sources, error) ||
      !config_get(ctx, "max_targets_per_source", c.max_targets_per_source, error))
    return nullptr;
  c.window = TimeNs(window * kNsPerSec);
  c.arp_window = TimeNs(arp_window * kNsPerSec);
  if (c.arp_sweep_hosts < 2) c.arp_sweep_hosts = 2;
  return std::make_unique<ScanDetector>(c, ctx.alerts);
}

const Registration<DetectorApi> reg{{.name = "scan", .create = create}};

}  // namespace
}  // namespace komainu
