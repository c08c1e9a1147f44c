#include "detect/behaviour/dns_tunnel/dns_tunnel.h"

#include <functional>

#include "analyzers/dns/dns_record.h"
#include "flow/flow.h"

namespace komainu {

std::string registered_domain(std::string_view name) {
  while (!name.empty() && name.back() == '.') name.remove_suffix(1);
  std::string lower(name);
  for (char& c : lower) c = char(tolower(static_cast<unsigned char>(c)));
  size_t last = lower.rfind('.');
  if (last == std::string::npos) return lower;
  size_t second = lower.rfind('.', last - 1);
  if (second == std::string::npos || last == 0) return lower;
  std::string_view two = std::string_view(lower).substr(second + 1);
  static const char* kTwoLevel[] = {"co.uk",  "org.uk", "ac.uk",  "gov.uk", "com.au", "net.au",
                                    "org.au", "co.jp",  "co.nz",  "com.br", "com.cn", "co.in",
                                    "co.za",  "com.mx", "com.tr", "co.kr"};
  for (const char* s : kTwoLevel)
    if (two == s) {
      size_t third = second ? lower.rfind('.', second - 1) : std::string::npos;
      return third == std::string::npos ? lower : lower.substr(third + 1);
    }
  return std::string(two);
}

void DnsTunnelDetector::publish(const Record& r) {
  if (r.event_type() == "flow") {
    const auto* c = dynamic_cast<const ConnRecord*>(&r);
    if (!c || !c->f) return;
    const Flow& f = *c->f;
    // Detection must have given up: a flow that ended while probes still waited for bytes
    // says nothing.
    if (f.ctx.tuple.dport != 53 || (f.proto != 6 && f.proto != 17) || !f.ctx.service.empty() ||
        !f.probe_done)
      return;
    on_non_dns_flow(f.start, f.last, f.ctx.tuple.src, f.ctx.tuple.dst, f.proto,
                    f.pkts[0] + f.pkts[1], c->orig_bytes, c->resp_bytes);
    return;
  }
  const auto* d = r.event_type() == "dns" ? dynamic_cast<const dns::DnsLogRecord*>(&r) : nullptr;
  if (!d || !d->flow || !d->txn || !d->txn->has_query || d->txn->query.empty()) return;
  on_query(d->txn->ts, d->flow->tuple.src, d->flow->tuple.dst, d->txn->query,
           d->txn->has_qinfo ? d->txn->qtype : 0);
}

void DnsTunnelDetector::on_query(TimeNs ts, const IpAddr& src, const IpAddr& resolver,
                                 const std::string& qname, uint16_t qtype) {
  ++queries_;
  std::string domain = registered_domain(qname);
  if (domain.size() >= qname.size()) return;  // no subdomain part
  std::string_view sub(qname.data(), qname.size() - domain.size());
  // Longest label and its entropy.
  uint64_t longest = 0;
  double entropy = 0;
  size_t pos = 0;
  while (pos < sub.size()) {
    size_t dot = sub.find('.', pos);
    if (dot == std::string_view::npos) dot = sub.size();
    std::string_view label = sub.substr(pos, dot - pos);
    if (label.size() > longest) longest = label.size();
    if (label.size() >= 16) entropy = std::max(entropy, shannon_entropy(label));
    pos = dot + 1;
  }
  bool suspicious = longest >= cfg_.long_label || entropy >= cfg_.high_entropy;
  bool txt_null = qtype == 16 || qtype == 10;
  std::string key = src.str() + ">" + domain;
  auto it = keys_.find(key);
  if (it == keys_.end()) {
    if (!suspicious && !txt_null) return;  // state only for domains that look odd
    if (keys_.size() >= cfg_.max_keys) {
      evict_oldest(keys_);
      ++evictions_;
    }
    it = keys_.emplace(key, Key{}).first;
    it->second.start = it->second.first = ts;
  }
  Key& k = it->second;
  if (ts - k.start > cfg_.window) {
    if (!k.alerted) {
      k = Key{};
      k.first = ts;
    }
    k.start = ts;
  }
  k.last = std::max(k.last, ts);
  ++k.queries;
  if (suspicious) ++k.suspicious;
  if (txt_null) ++k.txt_null;
  k.longest = std::max(k.longest, longest);
  k.max_entropy = std::max(k.max_entropy, entropy);
  if (k.subdomains.size() < cfg_.max_subdomains_per_key)
    k.subdomains.insert(std::hash<std::string_view>{}(sub));
  if (suspicious && k.samples.size() < 5) k.samples.push_back(qname);
  // Evidence level: the strongest of the three signals, relative to its threshold.
  uint64_t level = 0;
  if (k.suspicious >= cfg_.min_suspicious) level = std::max(level, k.suspicious);
  if (k.subdomains.size() >= cfg_.min_unique_subdomains)
    level = std::max<uint64_t>(level, k.subdomains.size());
  if (k.txt_null >= cfg_.min_txt_null) level = std::max(level, k.txt_null);
  if (!level || (k.alerted && (level < 2 * k.alerted || k.updates >= cfg_.max_updates))) return;
  bool update = k.alerted != 0;
  if (update) ++k.updates;
  k.alerted = level;
  std::string msg = "KOMAINU DNS_TUNNEL " + src.str() + " queried " +
                    std::to_string(k.subdomains.size()) + " unique subdomains of " + domain + " (" +
                    std::to_string(k.suspicious) + " long/high-entropy, " +
                    std::to_string(k.txt_null) + " TXT/NULL)";
  if (update) msg += " (update)";
  AlertBuilder a("dns_tunnel", kSid, msg, 1, "TA0011", "T1071.004");
  a.ip(src).ip(resolver).meta("domain", domain);
  a.ev.kv("domain", domain)
      .kv("queries", k.queries)
      .kv("unique_subdomains", uint64_t(k.subdomains.size()))
      .kv("long_or_high_entropy", k.suspicious)
      .kv("txt_null", k.txt_null)
      .kv("longest_label", k.longest)
      .kv("max_label_entropy", k.max_entropy)
      .kv("first_seen", format_eve_time(k.first))
      .kv("last_seen", format_eve_time(k.last))
      .kv("update", update);
  a.ev.key("sample_queries").begin_array();
  for (const auto& s : k.samples) a.ev.value(s);
  a.ev.end_array();
  a.publish(alerts_, ts, &src, &resolver);
  ++alerts_sent_;
}

void DnsTunnelDetector::on_non_dns_flow(TimeNs first, TimeNs last, const IpAddr& src,
                                        const IpAddr& dst, uint8_t proto, uint64_t packets,
                                        uint64_t bytes_out, uint64_t bytes_in) {
  // Both sides talk: a probe or a scan of port 53 has no answer with payload.
  if (!bytes_out || !bytes_in) return;
  ++non_dns_flows_;
  std::string key = src.str() + ">" + dst.str();
  auto it = pairs_.find(key);
  if (it == pairs_.end()) {
    if (pairs_.size() >= cfg_.max_keys) {
      evict_oldest(pairs_);
      ++evictions_;
    }
    it = pairs_.emplace(key, Pair{}).first;
    it->second.first = first;
  }
  Pair& p = it->second;
  p.first = std::min(p.first, first);
  p.last = std::max(p.last, last);
  ++p.flows;
  p.packets += packets;
  p.bytes_out += bytes_out;
  p.bytes_in += bytes_in;
  bool update;
  if (!doubling_alert(p.packets, cfg_.non_dns_min_packets, p.alerted, p.updates, cfg_.max_updates,
                      &update))
    return;
  std::string msg = "KOMAINU DNS_TUNNEL non-DNS traffic on port 53: " + src.str() + " -> " +
                    dst.str() + " (" + std::to_string(p.packets) + " packets, " +
                    std::to_string(p.bytes_out) + " bytes out, " + std::to_string(p.bytes_in) +
                    " bytes in, no DNS message recognised)";
  if (update) msg += " (update)";
  AlertBuilder a("dns_tunnel", kNonDnsSid, msg, 1, "TA0011", "T1572");
  a.ip(src).ip(dst);
  a.ev.kv("proto", proto == 6 ? "TCP" : "UDP")
      .kv("flows", p.flows)
      .kv("packets", p.packets)
      .kv("bytes_out", p.bytes_out)
      .kv("bytes_in", p.bytes_in)
      .kv("first_seen", format_eve_time(p.first))
      .kv("last_seen", format_eve_time(p.last))
      .kv("update", update);
  a.publish(alerts_, last, &src, &dst);
  ++alerts_sent_;
}

void DnsTunnelDetector::write_stats(JsonWriter& w) const {
  w.kv("queries", queries_)
      .kv("non_dns_flows", non_dns_flows_)
      .kv("keys", uint64_t(keys_.size()))
      .kv("non_dns_pairs", uint64_t(pairs_.size()))
      .kv("key_evictions", evictions_)
      .kv("alerts", alerts_sent_);
}

namespace {

std::unique_ptr<Detector> create(const DetectorContext& ctx, std::string* error) {
  DnsTunnelConfig c;
  double window = 3600;
  if (!config_check_keys(ctx, "dns_tunnel",
                         {"window", "long_label", "high_entropy", "min_suspicious",
                          "min_unique_subdomains", "min_txt_null", "max_updates", "max_keys",
                          "max_subdomains_per_key", "non_dns_min_packets"},
                         error) ||
      !config_get(ctx, "window", window, error) ||
      !config_get(ctx, "long_label", c.long_label, error) ||
      !config_get(ctx, "high_entropy", c.high_entropy, error) ||
      !config_get(ctx, "min_suspicious", c.min_suspicious, error) ||
      !config_get(ctx, "min_unique_subdomains", c.min_unique_subdomains, error) ||
      !config_get(ctx, "min_txt_null", c.min_txt_null, error) ||
      !config_get(ctx, "max_updates", c.max_updates, error) ||
      !config_get(ctx, "max_keys", c.max_keys, error) ||
      !config_get(ctx, "max_subdomains_per_key", c.max_subdomains_per_key, error) ||
      !config_get(ctx, "non_dns_min_packets", c.non_dns_min_packets, error))
    return nullptr;
  c.window = TimeNs(window * kNsPerSec);
  return std::make_unique<DnsTunnelDetector>(c, ctx.alerts, ctx.app_layer);
}

const Registration<DetectorApi> reg{{.name = "dns_tunnel", .create = create}};

}  // namespace
}  // namespace komainu
