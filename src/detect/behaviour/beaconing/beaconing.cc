#include "detect/behaviour/beaconing/beaconing.h"

#include <algorithm>
#include <cmath>

#include "analyzers/dns/dns_record.h"
#include "analyzers/http/http_record.h"
#include "analyzers/tls/tls_analyzer.h"
#include "flow/flow.h"

namespace komainu {

namespace {

template <typename T>
double quantile(const std::vector<T>& sorted, double q) {
  if (sorted.empty()) return 0;
  double pos = q * double(sorted.size() - 1);
  size_t lo = size_t(pos);
  size_t hi = std::min(lo + 1, sorted.size() - 1);
  double frac = pos - double(lo);
  return double(sorted[lo]) * (1 - frac) + double(sorted[hi]) * frac;
}

}  // namespace

// 1 - |Bowley skew|, and 1 - MAD/median (clamped to [0, 1]). Sorts `v` in place.
std::pair<double, double> BeaconScorer::regularity(std::vector<double>& v) {
  std::sort(v.begin(), v.end());
  double q1 = quantile(v, 0.25), q2 = quantile(v, 0.5), q3 = quantile(v, 0.75);
  double skew = 0;
  if (q3 != q1 && q2 != q1 && q2 != q3) skew = (q1 + q3 - 2 * q2) / (q3 - q1);
  dev_.clear();
  for (double x : v) dev_.push_back(std::fabs(x - q2));
  std::sort(dev_.begin(), dev_.end());
  double mad = quantile(dev_, 0.5);
  double madm = q2 > 0 ? std::clamp(1 - mad / q2, 0.0, 1.0) : 0;
  return {std::clamp(1 - std::fabs(skew), 0.0, 1.0), madm};
}

BeaconScore BeaconScorer::score(const std::vector<TimeNs>& times,
                                const std::vector<uint64_t>& sizes, uint64_t count_full,
                                TimeNs resolution) {
  BeaconScore s;
  if (times.size() < 3) return s;
  intervals_.clear();
  for (size_t i = 1; i < times.size(); ++i) {
    TimeNs d = times[i] - times[i - 1];
    if (resolution > 0) d = (d + resolution / 2) / resolution * resolution;
    intervals_.push_back(double(d) / 1e9);
  }
  auto [ts_skew, ts_madm] = regularity(intervals_);  // leaves intervals_ sorted
  sizes_.assign(sizes.begin(), sizes.end());
  auto [ds_skew, ds_madm] = regularity(sizes_);  // leaves sizes_ sorted
  s.median_interval_s = quantile(intervals_, 0.5);
  s.median_bytes = quantile(sizes_, 0.5);
  s.ts_skew = ts_skew;
  s.ts_madm = ts_madm;
  s.count = std::min(1.0, double(times.size()) / double(std::max<uint64_t>(count_full, 1)));
  s.ds_skew = ds_skew;
  s.ds_madm = ds_madm;
  s.ds_small = std::clamp(1 - s.median_bytes / 65535.0, 0.0, 1.0);
  double ts_score = (s.ts_skew + s.ts_madm + s.count) / 3;
  double ds_score = (s.ds_skew + s.ds_madm + s.ds_small) / 3;
  s.score = (ts_score + ds_score) / 2;
  return s;
}

BeaconScore beacon_score(const std::vector<TimeNs>& times, const std::vector<uint64_t>& sizes,
                         uint64_t count_full, TimeNs resolution) {
  BeaconScorer scorer;
  return scorer.score(times, sizes, count_full, resolution);
}

BeaconingDetector::BeaconingDetector(const BeaconConfig& cfg, const Zones* zones, EventSink* alerts)
    : cfg_(cfg),
      zones_(zones),
      alerts_(alerts),
      ignore_(Service::parse_list(cfg_.ignore_services)),
      session_ignore_(Service::parse_list(cfg_.session_ignore_services)) {}

namespace {
bool listed(const std::vector<Service>& list, const Service& s) {
  return std::find(list.begin(), list.end(), s) != list.end();
}
}  // namespace

void BeaconingDetector::publish(const Record& r) {
  std::string_view type = r.event_type();
  if (type == "flow") {
    const auto* c = dynamic_cast<const ConnRecord*>(&r);
    if (!c || !c->f) return;
    const Flow& f = *c->f;
    std::string sni = sni_by_flow_.take(f.ctx.flow_id);
    const FlowTuple& t = f.ctx.tuple;
    if (listed(ignore_, Service::of(t.proto, t.dport))) return;
    Dest d;
    d.ip = &t.dst;
    d.port = t.dport;
    if (!sni.empty()) {
      d.kind = kConnName;
      d.name = sni;
    }
    contact(f.start, t.src, d, c->orig_bytes + c->resp_bytes);
    return;
  }
  if (type == "burst") {
    const auto* b = dynamic_cast<const BurstRecord*>(&r);
    // A flow an analyzer claimed has transactions to score (HTTP requests) or is a protocol
    // whose sessions are long by nature (SSH, RDP, TLS keep-alive).
    if (!cfg_.sessions || !b || !b->f || !b->f->ctx.app_proto.empty()) return;
    const FlowTuple& t = b->f->ctx.tuple;
    const Service svc = Service::of(t.proto, t.dport);
    if (listed(ignore_, svc) || listed(session_ignore_, svc)) return;
    // Scored by its first message (the check-in or heartbeat): what follows in the burst is
    // tasking and its output, whose size varies by nature.
    burst_flow_ = &b->f->ctx;
    burst_bytes_ = b->bytes;
    on_burst(b->ts, t.src, t.dst, t.dport, b->first_bytes);
    burst_flow_ = nullptr;
    return;
  }
  if (type == "tls") {
    const auto* t = dynamic_cast<const tls::TlsRecord*>(&r);
    if (t && t->flow && t->state && t->state->ch.has_sni)
      sni_by_flow_.remember(t->flow->flow_id, t->state->ch.sni);
    return;
  }
  if (type == "dns") {
    const auto* d = dynamic_cast<const dns::DnsLogRecord*>(&r);
    if (!d || !cfg_.dns || !d->flow || !d->txn || !d->txn->has_query || d->txn->query.empty())
      return;
    // mDNS and LLMNR resolve names on the local link by multicast: no server to beacon to.
    if (d->flow->tuple.dport == 5353 || d->flow->tuple.dport == 5355) return;
    Dest dest;
    dest.kind = kDnsName;
    dest.name = d->txn->query;
    contact(d->txn->ts, d->flow->tuple.src, dest, d->txn->query.size());
    return;
  }
  if (type == "http") {
    const auto* h = dynamic_cast<const http::HttpRecord*>(&r);
    // A beacon over a kept-alive connection is one long connection to the conn view; its
    // requests after the first are the contacts. First requests are the conn's own.
    if (!h || !cfg_.http || !h->flow || !h->tx || !h->tx->has_request || h->tx->tx_id == 0) return;
    const FlowTuple& t = h->flow->tuple;
    const std::string* host = h->tx->request_header("host");
    Dest d;
    d.ip = &t.dst;
    d.port = t.dport;
    d.kind = kHttpAddr;
    if (host && !host->empty()) {
      d.kind = kHttpName;
      d.name = *host;
    }
    contact(h->tx->ts, t.src, d, h->tx->request_wire_len + h->tx->response_wire_len);
  }
}

void BeaconingDetector::on_event(TimeNs ts, const IpAddr& src, const IpAddr* dst_ip,
                                 const std::string& dest, uint64_t bytes, bool dns, bool http) {
  Dest d;
  d.ip = dns ? nullptr : dst_ip;
  d.kind = dns ? kDnsName : http ? kHttpName : kConnName;
  d.name = dest;
  if (http && dest.starts_with("http://")) d.name.remove_prefix(7);
  contact(ts, src, d, bytes);
}

void BeaconingDetector::on_burst(TimeNs ts, const IpAddr& src, const IpAddr& dst, uint16_t port,
                                 uint64_t bytes) {
  if (!cfg_.sessions) return;
  ++session_bursts_;
  Dest d;
  d.kind = kSessionAddr;
  d.ip = &dst;
  d.port = port;
  contact(ts, src, d, bytes);
}

// What the alert names as the destination (the keys of earlier versions, as users saw them).
std::string BeaconingDetector::dest_str(const Dest& d) {
  switch (d.kind) {
    case kConnName:
    case kDnsName:
      return std::string(d.name);
    case kHttpName:
      return "http://" + std::string(d.name);
    case kHttpAddr:
      return "http://" + d.ip->str() + ":" + std::to_string(d.port);
    case kConnAddr:
    case kSessionAddr:
      break;
  }
  return d.ip->str() + ":" + std::to_string(d.port);
}

void BeaconingDetector::Pair::add(const Contact& c, size_t history) {
  if (events.empty()) {
    if (!has_one || history == 1) {
      one = c;
      has_one = true;
      return;
    }
    events.reserve(std::min<size_t>(history, 16));
    events.push_back(one);
  }
  if (events.size() < history) {
    events.push_back(c);
  } else {
    events[head] = c;
    head = (head + 1) % events.size();
  }
}

void BeaconingDetector::contact(TimeNs ts, const IpAddr& src, const Dest& dest, uint64_t bytes) {
  const IpAddr* dst_ip = dest.ip;
  if (!is_internal(zones_, src)) return;
  bool internal = dst_ip && is_internal(zones_, *dst_ip);
  if (internal &&
      (cfg_.external_only || (zones_ && zones_->zone_of(src) == zones_->zone_of(*dst_ip))))
    return;
  ++events_;
  Key key;
  key.src = src;
  key.kind = dest.kind;
  key.internal = internal;
  if (dest.kind == kConnAddr || dest.kind == kHttpAddr || dest.kind == kSessionAddr) {
    key.dst = *dst_ip;
    key.port = dest.port;
  } else {
    key.name = std::hash<std::string_view>{}(dest.name);
  }
  Pair* found = pairs_.find(key);
  if (!found) {
    if (pairs_.size() >= cfg_.max_pairs) {
      Key victim;
      if (pairs_.oldest(victim)) pairs_.erase(victim);
      ++evictions_;
    }
    found = &pairs_.insert(key);
    found->first = ts;
  }
  Pair& p = *found;
  if (p.count() && ts - p.newest < cfg_.min_interval && ts >= p.newest)
    return;  // a burst belongs to the previous contact
  p.last = std::max(p.last, ts);
  ++p.total;
  if (cfg_.history == 0) return;
  p.add({ts, bytes}, cfg_.history);
  p.newest = ts;
  bool session = dest.kind == kSessionAddr;
  if (p.alerted || p.count() < cfg_.min_connections) return;
  if (session && p.count() < cfg_.session_min_bursts) return;
  if (p.events.empty())
    sorted_.assign(1, p.one);
  else
    sorted_.assign(p.events.begin(), p.events.end());
  std::sort(sorted_.begin(), sorted_.end());  // conn records arrive in end order
  times_.clear();
  sizes_.clear();
  for (const auto& [t, b] : sorted_) {
    times_.push_back(t);
    sizes_.push_back(b);
  }
  // Bursts are stamped to the packet; RITA's whole seconds make a steady timer score steady.
  BeaconScore s = scorer_.score(times_, sizes_, cfg_.count_full, session ? kNsPerSec : 0);
  if (s.score < (internal ? cfg_.internal_threshold : cfg_.threshold)) return;
  if (session && s.ts_madm < cfg_.session_regularity) return;
  p.alerted = true;
  bool dns = dest.kind == kDnsName, http = dest.kind == kHttpAddr || dest.kind == kHttpName;
  std::string dest_s = dest_str(dest);
  char buf[64];
  snprintf(buf, sizeof buf, "%.2f", s.score);
  std::string msg =
      std::string("KOMAINU BEACONING ") +
      (dns       ? "periodic DNS queries"
       : http    ? "periodic HTTP requests"
       : session ? "periodic messages inside one session"
                 : "periodic connections") +
      " " + src.str() + " -> " + dest_s + (internal ? " (internal destination)" : "") + " every ~" +
      std::to_string(int64_t(std::llround(s.median_interval_s))) + " s (score " + buf + ")";
  // Messages on a raw TCP channel that no analyzer recognised: a non-application-layer
  // protocol (T1095) rather than a web or DNS one (T1071).
  AlertBuilder a("beaconing",
                 dns       ? kSidDns
                 : http    ? kSidHttp
                 : session ? kSidSession
                           : kSidConn,
                 msg, internal ? 2 : 1, "TA0011",
                 http      ? "T1071.001"
                 : session ? "T1095"
                           : "T1071");
  a.ip(src);
  if (dst_ip) a.ip(*dst_ip);
  if (!dst_ip || dest_s.find(':') == std::string::npos) a.meta("domain", dest_s);
  a.ev.kv("destination", dest_s)
      .kv("score", s.score)
      .kv("ts_skew_score", s.ts_skew)
      .kv("ts_madm_score", s.ts_madm)
      .kv("count_score", s.count)
      .kv("ds_skew_score", s.ds_skew)
      .kv("ds_madm_score", s.ds_madm)
      .kv("ds_smallness_score", s.ds_small)
      .kv("median_interval_s", s.median_interval_s)
      .kv("median_bytes", s.median_bytes)
      .kv(session ? "bursts" : "connections", p.total)
      .kv("internal_destination", internal)
      .kv("threshold", internal ? cfg_.internal_threshold : cfg_.threshold)
      .kv("first_seen", format_eve_time(p.first))
      .kv("last_seen", format_eve_time(p.last));
  if (session) {
    // The first message of each burst scored (time order; the latest 16 when more) and the
    // session they came in, for finding it in conn.log.
    a.ev.key("message_bytes").begin_array();
    size_t from = sizes_.size() > 16 ? sizes_.size() - 16 : 0;
    for (size_t i = from; i < sizes_.size(); ++i) a.ev.value(sizes_[i]);
    a.ev.end_array();
    if (burst_flow_)
      a.ev.kv("last_burst_bytes", burst_bytes_)
          .kv("uid", burst_flow_->uid)
          .kv("flow_id", burst_flow_->flow_id);
  }
  a.publish(alerts_, ts, &src, dst_ip);
  ++alerts_sent_;
}

void BeaconingDetector::write_stats(JsonWriter& w) const {
  w.kv("events", events_)
      .kv("pairs", uint64_t(pairs_.size()))
      .kv("pair_evictions", evictions_)
      .kv("alerts", alerts_sent_)
      .kv("session_bursts", session_bursts_);
}

namespace {

std::unique_ptr<Detector> create(const DetectorContext& ctx, std::string* error) {
  BeaconConfig c;
  double min_interval = 2;
  if (!config_check_keys(
          ctx, "beaconing",
          {"min_connections", "count_full", "threshold", "history", "external_only", "dns",
           "ignore_services", "min_interval", "max_pairs", "internal_threshold", "http", "sessions",
           "session_ignore_services", "session_min_bursts", "session_regularity"},
          error) ||
      !config_get(ctx, "min_connections", c.min_connections, error) ||
      !config_get(ctx, "count_full", c.count_full, error) ||
      !config_get(ctx, "threshold", c.threshold, error) ||
      !config_get(ctx, "history", c.history, error) ||
      !config_get(ctx, "external_only", c.external_only, error) ||
      !config_get(ctx, "dns", c.dns, error) || !config_get(ctx, "http", c.http, error) ||
      !config_get(ctx, "internal_threshold", c.internal_threshold, error) ||
      !config_get(ctx, "ignore_services", c.ignore_services, error) ||
      !config_get(ctx, "min_interval", min_interval, error) ||
      !config_get(ctx, "max_pairs", c.max_pairs, error) ||
      !config_get(ctx, "sessions", c.sessions, error) ||
      !config_get(ctx, "session_min_bursts", c.session_min_bursts, error) ||
      !config_get(ctx, "session_regularity", c.session_regularity, error) ||
      !config_get(ctx, "session_ignore_services", c.session_ignore_services, error))
    return nullptr;
  // Without analyzers no flow is claimed: every TLS, SSH and RDP session would be scored.
  if (!ctx.app_layer) c.sessions = false;
  c.min_interval = TimeNs(min_interval * kNsPerSec);
  if (c.min_connections < 4) c.min_connections = 4;
  return std::make_unique<BeaconingDetector>(c, ctx.zones, ctx.alerts);
}

const Registration<DetectorApi> reg{{.name = "beaconing", .create = create}};

}  // namespace
}  // namespace komainu
