#include "detect/behaviour/exfiltration/exfiltration.h"

#include "analyzers/smtp/smtp_analyzer.h"
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
  if (type == "smtp_auth") return smtp_auth(r);
  if (type == "smtp") return smtp_mail(r);
  const auto* c = type == "flow" ? dynamic_cast<const ConnRecord*>(&r) : nullptr;
  if (!c || !c->f) return;
  const Flow& f = *c->f;
  if (!smtp_logins_.empty()) smtp_logins_.erase(f.ctx.flow_id);
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

void ExfiltrationDetector::smtp_auth(const Record& r) {
  const auto* a = dynamic_cast<const smtp::SmtpAuthRecord*>(&r);
  if (!cfg_.smtp_cleartext_auth || !a || !a->flow || !a->succeeded() || a->tls) return;
  const FlowTuple& t = a->flow->tuple;
  if (!is_internal(zones_, t.src) || is_internal(zones_, t.dst)) return;
  if (smtp_logins_.size() >= cfg_.max_smtp_sessions) {
    smtp_logins_.clear();  // sessions whose flow never ended (bounded, counted)
    ++smtp_login_resets_;
  }
  SmtpLogin& l = smtp_logins_[a->flow->flow_id];
  l.ts = a->ts;
  l.mechanism.assign(a->mechanism);
  l.helo.assign(a->helo);
  l.starttls_offered = a->starttls_offered;
  ++smtp_cleartext_logins_;
}

void ExfiltrationDetector::smtp_mail(const Record& r) {
  if (smtp_logins_.empty()) return;
  const auto* m = dynamic_cast<const smtp::SmtpRecord*>(&r);
  if (!m || !m->flow || !m->info) return;
  auto it = smtp_logins_.find(m->flow->flow_id);
  if (it == smtp_logins_.end() || it->second.alerted) return;
  const smtp::Info& s = *m->info;
  if (!s.mailfrom && !s.rcptto) return;
  SmtpLogin& l = it->second;
  l.alerted = true;  // one alert per session: later mails are the same finding
  const FlowTuple& t = m->flow->tuple;
  std::string rcpt = s.rcptto && !s.rcptto->empty() ? (*s.rcptto)[0] : std::string("?");
  std::string msg =
      "KOMAINU EXFILTRATION mail sent to an internet server after a cleartext SMTP "
      "login: " +
      t.src.str() + " -> " + t.dst.str() + ":" + std::to_string(t.dport) + " (AUTH " +
      (l.mechanism.empty() ? "?" : l.mechanism) +
      (l.starttls_offered ? ", STARTTLS offered and not used" : "") + ") to " + rcpt;
  AlertBuilder a("exfiltration", kSidSmtpCleartext, msg, 2, "TA0010", "T1048.003");
  a.ip(t.src).ip(t.dst);
  if (s.mailfrom) a.meta("user", *s.mailfrom);
  a.ev.kv("kind", "smtp_cleartext_submission")
      .kv("auth_mechanism", l.mechanism)
      .kv("starttls_offered", l.starttls_offered)
      .kv("login_time", format_eve_time(l.ts))
      .kv("dest_port", unsigned(t.dport));
  if (!l.helo.empty()) a.ev.kv("helo", l.helo);
  if (s.mailfrom) a.ev.kv("mail_from", *s.mailfrom);
  if (s.rcptto) {
    a.ev.key("rcpt_to").begin_array();
    for (size_t i = 0; i < s.rcptto->size() && i < 16; ++i) a.ev.value((*s.rcptto)[i]);
    a.ev.end_array();
  }
  if (s.subject) a.ev.kv("subject", s.subject->substr(0, 200));
  a.ev.kv("files", uint64_t(s.fuids.size()));
  // The mail is submitted when the server accepts it (the row is written then).
  a.publish(alerts_, std::max(m->done, l.ts), &t.src, &t.dst);
  ++alerts_sent_;
}

void ExfiltrationDetector::write_stats(JsonWriter& w) const {
  w.kv("outbound_connections", conns_)
      .kv("hosts", uint64_t(hosts_.size()))
      .kv("host_evictions", evictions_)
      .kv("destination_pairs", uint64_t(seen_pairs_.size()))
      .kv("destination_pair_resets", pair_resets_)
      .kv("smtp_cleartext_logins", smtp_cleartext_logins_)
      .kv("smtp_login_resets", smtp_login_resets_)
      .kv("alerts", alerts_sent_);
}

namespace {

std::unique_ptr<Detector> create(const DetectorContext& ctx, std::string* error) {
  ExfilConfig c;
  double window = 3600, learning = 0;
  if (!config_check_keys(ctx, "exfiltration",
                         {"window", "floor_bytes", "baseline_factor", "baseline_alpha",
                          "rare_upload_bytes", "rare_upload_ratio", "learning", "max_hosts",
                          "max_destinations", "smtp_cleartext_auth", "max_smtp_sessions"},
                         error) ||
      !config_get(ctx, "window", window, error) || !config_get(ctx, "learning", learning, error) ||
      !config_get(ctx, "floor_bytes", c.floor_bytes, error) ||
      !config_get(ctx, "baseline_factor", c.baseline_factor, error) ||
      !config_get(ctx, "baseline_alpha", c.baseline_alpha, error) ||
      !config_get(ctx, "rare_upload_bytes", c.rare_upload_bytes, error) ||
      !config_get(ctx, "rare_upload_ratio", c.rare_upload_ratio, error) ||
      !config_get(ctx, "max_hosts", c.max_hosts, error) ||
      !config_get(ctx, "max_destinations", c.max_destinations, error) ||
      !config_get(ctx, "smtp_cleartext_auth", c.smtp_cleartext_auth, error) ||
      !config_get(ctx, "max_smtp_sessions", c.max_smtp_sessions, error))
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
