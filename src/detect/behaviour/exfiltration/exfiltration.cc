#include "detect/behaviour/exfiltration/exfiltration.h"

#include "analyzers/tls/tls_analyzer.h"
#include "flow/flow.h"

namespace komainu {

void ExfiltrationDetector::publish(const Record& r) {
  std::string_view type = r.event_type();
  if (type == "tls") {
    const auto* t = dynamic_cast<const tls::TlsRecord*>(&r);
    if (t && t->flow && t->state && t->state->ch.has_sni)
      sni_by_flow_.remember(t->flow->flow_id, t->state->ch.sni);
    return;
  }
  const auto* c = type == "flow" ? dynamic_cast<const ConnRecord*>(&r) : nullptr;
  if (!c || !c->f) return;
  const Flow& f = *c->f;
  std::string sni = sni_by_flow_.take(f.ctx.flow_id);
  on_conn(f.start, f.last, f.ctx.tuple.src, f.ctx.tuple.dst, f.ctx.tuple.dport, c->orig_bytes,
          c->resp_bytes, sni);
}

void ExfiltrationDetector::on_conn(TimeNs start, TimeNs end, const IpAddr& src, const IpAddr& dst,
                                   uint16_t dport, uint64_t bytes_out, uint64_t bytes_in,
                                   const std::string& sni) {
  if (!is_internal(zones_, src) || is_internal(zones_, dst)) return;
  ++conns_;
  if (!first_ts_ || start < first_ts_) first_ts_ = start;
  uint64_t pair = IpAddrHash{}(src)*31 ^ IpAddrHash {}(dst);
  bool first_seen = seen_pairs_.insert(pair);
  if (seen_pairs_.size() > cfg_.max_destinations) {
    seen_pairs_.clear();
    ++pair_resets_;
  }
  if (first_seen && bytes_out >= cfg_.rare_upload_bytes &&
      double(bytes_out) >= cfg_.rare_upload_ratio * double(bytes_in) &&
      start - first_ts_ >= cfg_.learning) {
    std::string msg =
        "KOMAINU EXFILTRATION large upload to a first-seen destination: " + src.str() + " -> " +
        dst.str() + (sni.empty() ? "" : " (" + sni + ")") + " " + std::to_string(bytes_out) +
        " bytes";
    AlertBuilder a("exfiltration", kSidRareUpload, msg, 1, "TA0010", "T1041");
    a.ip(src).ip(dst);
    if (!sni.empty()) a.meta("domain", sni);
    a.ev.kv("kind", "rare_destination_upload")
        .kv("bytes_out", bytes_out)
        .kv("bytes_in", bytes_in)
        .kv("dest_port", unsigned(dport))
        .kv("first_seen", format_eve_time(start))
        .kv("last_seen", format_eve_time(end));
    if (!sni.empty()) a.ev.kv("sni", sni);
    // The upload is known complete when its connection ends.
    a.publish(alerts_, end, &src, &dst);
    ++alerts_sent_;
  }

  bool inserted = false;
  Host& h = hosts_.find_or_insert(src, cfg_.max_hosts, evictions_, inserted);
  if (inserted) h.start = start;
  if (start - h.start >= cfg_.window) {
    // Close the window into the baseline; empty windows in between count as zero.
    uint64_t gap = uint64_t((start - h.start) / cfg_.window);
    double b = h.windows ? h.baseline * (1 - cfg_.baseline_alpha) + cfg_.baseline_alpha * h.bytes
                         : double(h.bytes);
    for (uint64_t k = 1; k < gap && k < 64; ++k) b *= 1 - cfg_.baseline_alpha;
    h.baseline = b;
    ++h.windows;
    h.start += TimeNs(gap) * cfg_.window;
    h.bytes = h.conns = 0;
    h.alerted = false;
    h.top.clear();
  }
  if (end > h.last) h.last = end;
  h.bytes += bytes_out;
  ++h.conns;
  if (auto t = h.top.find(dst); t != h.top.end())
    t->second += bytes_out;
  else if (h.top.size() < 64)
    h.top.emplace(dst, bytes_out);
  double limit = std::max(double(cfg_.floor_bytes), cfg_.baseline_factor * h.baseline);
  if (h.alerted || double(h.bytes) < limit) return;
  h.alerted = true;
  std::string msg = "KOMAINU EXFILTRATION outbound volume: " + src.str() + " sent " +
                    std::to_string(h.bytes) + " bytes to external hosts in a window";
  AlertBuilder a("exfiltration", kSidVolume, msg, 2, "TA0010", "T1048");
  a.ip(src);
  a.ev.kv("kind", "volume")
      .kv("bytes_out", h.bytes)
      .kv("connections", h.conns)
      .kv("baseline_bytes", h.baseline)
      .kv("baseline_windows", h.windows)
      .kv("limit_bytes", limit)
      .kv("window_start", format_eve_time(h.start))
      .kv("last_seen", format_eve_time(h.last));
  a.ev.key("destinations").begin_object();
  for (const auto& [d, b] : h.top) a.ev.kv(d.str(), b);
  a.ev.end_object();
  a.publish(alerts_, end, &src, nullptr);
  ++alerts_sent_;
}

void ExfiltrationDetector::write_stats(JsonWriter& w) const {
  w.kv("outbound_connections", conns_)
      .kv("hosts", uint64_t(hosts_.size()))
      .kv("host_evictions", evictions_)
      .kv("destination_pairs", uint64_t(seen_pairs_.size()))
      .kv("destination_pair_resets", pair_resets_)
      .kv("alerts", alerts_sent_);
}

namespace {

std::unique_ptr<Detector> create(const DetectorContext& ctx, std::string* error) {
  ExfilConfig c;
  double window = 3600, learning = 0;
  if (!config_check_keys(
          ctx, "exfiltration",
          {"window", "floor_bytes", "baseline_factor", "baseline_alpha", "rare_upload_bytes",
           "rare_upload_ratio", "learning", "max_hosts", "max_destinations"},
          error) ||
      !config_get(ctx, "window", window, error) || !config_get(ctx, "learning", learning, error) ||
      !config_get(ctx, "floor_bytes", c.floor_bytes, error) ||
      !config_get(ctx, "baseline_factor", c.baseline_factor, error) ||
      !config_get(ctx, "baseline_alpha", c.baseline_alpha, error) ||
      !config_get(ctx, "rare_upload_bytes", c.rare_upload_bytes, error) ||
      !config_get(ctx, "rare_upload_ratio", c.rare_upload_ratio, error) ||
      !config_get(ctx, "max_hosts", c.max_hosts, error) ||
      !config_get(ctx, "max_destinations", c.max_destinations, error))
    return nullptr;
  if (window <= 0) {
    *error = ctx.config_file + ": detectors.exfiltration.window must be > 0";
    return nullptr;
  }
  c.window = TimeNs(window * kNsPerSec);
  c.learning = TimeNs(learning * kNsPerSec);
  return std::make_unique<ExfiltrationDetector>(c, ctx.zones, ctx.alerts);
}

const Registration<DetectorApi> reg{{.name = "exfiltration", .create = create}};

}  // namespace
}  // namespace komainu
