#include "detect/behaviour/brute_force/brute_force.h"

#include <algorithm>

#include "analyzers/ftp/ftp_analyzer.h"
#include "analyzers/smtp/smtp_analyzer.h"
#include "analyzers/ssh/ssh_analyzer.h"

namespace komainu {

BruteForceDetector::BruteForceDetector(const BruteForceConfig& cfg, EventSink* alerts)
    : cfg_(cfg),
      alerts_(alerts),
      ftp_{"FTP", "ftp", kSidFtpGuessing, kSidFtpSuccess, cfg.ftp_window, cfg.ftp_failed_logins,
           {}},
      smtp_{"SMTP",
            "smtp",
            kSidSmtpGuessing,
            kSidSmtpSuccess,
            cfg.smtp_window,
            cfg.smtp_failed_logins,
            {}} {}

void BruteForceDetector::publish(const Record& r) {
  if (r.event_type() == "smtp_auth") {
    const auto* a = dynamic_cast<const smtp::SmtpAuthRecord*>(&r);
    if (!a || !a->flow) return;
    const FlowTuple& t = a->flow->tuple;
    on_smtp_auth(r.ts, t.src, t.dst, t.dport, a->reply_code);
    return;
  }
  if (r.event_type() == "ftp_login") {
    const auto* l = dynamic_cast<const ftp::FtpLoginRecord*>(&r);
    if (!l || !l->flow) return;
    const FlowTuple& t = l->flow->tuple;
    on_ftp_login(r.ts, t.src, t.dst, t.dport, l->reply_code);
    return;
  }
  if (r.event_type() != "ssh") return;
  const auto* s = dynamic_cast<const ssh::SshRecord*>(&r);
  if (!s || !s->flow || !s->state) return;
  const FlowTuple& t = s->flow->tuple;
  on_ssh(r.ts, t.src, t.dst, t.dport, s->state->auth_success, s->state->auth_attempts);
}

void BruteForceDetector::on_ssh(TimeNs ts, const IpAddr& src, const IpAddr& dst, uint16_t dport,
                                bool success, uint64_t attempts) {
  ++connections_;
  const PairKey key{src, dst};
  if (success) {
    ++successes_;
    // A login that succeeds after guessing: the guess may have worked.
    auto pit = pairs_.find(key);
    auto sit = sources_.find(src);
    Pair* p = pit != pairs_.end() && ts - pit->second.start <= cfg_.window ? &pit->second : nullptr;
    const Source* s =
        sit != sources_.end() && ts - sit->second.start <= cfg_.window && sit->second.alerted
            ? &sit->second
            : nullptr;
    bool guessed = p && p->failed >= cfg_.failed_connections;
    if ((guessed || s) && !(p && p->success_alerted)) {
      if (p) p->success_alerted = true;
      alert_success(key, p, s, dport, ts);
    }
    return;
  }
  if (attempts == 0) {
    ++undetermined_;
    if (!cfg_.count_undetermined) return;
  } else {
    ++failed_;
  }

  Pair& p = windowed_entry(pairs_, key, ts, cfg_.window, cfg_.max_pairs, pair_evictions_);
  p.port = dport;
  ++p.failed;
  p.attempts += attempts;
  bool update = false;
  if (doubling_alert(p.failed, cfg_.failed_connections, p.alerted, p.updates, cfg_.max_updates,
                     &update))
    alert_guessing(key, p, update, ts);

  Source& s = windowed_entry(sources_, src, ts, cfg_.window, cfg_.max_sources, source_evictions_);
  ++s.failed;
  s.attempts += attempts;
  if (std::find(s.servers.begin(), s.servers.end(), dst) == s.servers.end()) {
    if (s.servers.size() < kMaxServersPerSource)
      s.servers.push_back(dst);
    else
      ++s.servers_over_cap;
  }
  uint64_t n = s.servers.size() + s.servers_over_cap;
  if (s.failed >= cfg_.failed_connections &&
      doubling_alert(n, cfg_.spray_servers, s.alerted, s.updates, cfg_.max_updates, &update))
    alert_spray(src, s, update, ts);
}

void BruteForceDetector::on_ftp_login(TimeNs ts, const IpAddr& src, const IpAddr& dst,
                                      uint16_t dport, uint32_t reply_code) {
  on_login(ftp_, ts, src, dst, dport, reply_code == 230, reply_code / 100 == 5);
}

void BruteForceDetector::on_smtp_auth(TimeNs ts, const IpAddr& src, const IpAddr& dst,
                                      uint16_t dport, uint32_t reply_code) {
  // 535: credentials invalid (RFC 4954). Other refusals (a malformed exchange, a mechanism
  // not offered, a temporary failure) say nothing about a guessed password.
  on_login(smtp_, ts, src, dst, dport, reply_code == 235, reply_code == 535);
}

void BruteForceDetector::on_login(LoginService& svc, TimeNs ts, const IpAddr& src,
                                  const IpAddr& dst, uint16_t dport, bool success, bool failed) {
  if (success) {
    ++svc.succeeded;
    auto it = svc.sources.find(src);
    if (it == svc.sources.end() || ts - it->second.start > svc.window) return;
    LoginSource& s = it->second;
    bool failed_here = std::find(s.servers.begin(), s.servers.end(), dst) != s.servers.end();
    if (s.alerted && failed_here && !s.success_alerted) {
      s.success_alerted = true;
      alert_login_success(svc, src, dst, dport, s, ts);
    }
    return;
  }
  if (!failed) return;
  ++svc.failed;
  LoginSource& s =
      windowed_entry(svc.sources, src, ts, svc.window, cfg_.max_sources, svc.evictions);
  s.port = dport;
  ++s.failed;
  if (std::find(s.servers.begin(), s.servers.end(), dst) == s.servers.end()) {
    if (s.servers.size() < kMaxServersPerSource)
      s.servers.push_back(dst);
    else
      ++s.servers_over_cap;
  }
  bool update = false;
  if (doubling_alert(s.failed, svc.threshold, s.alerted, s.updates, cfg_.max_updates, &update))
    alert_login_guessing(svc, src, s, update, ts);
}

namespace {
// Zeek's duration_to_mins_secs: "0m37s".
std::string mins_secs(TimeNs d) {
  int64_t secs = d / kNsPerSec;
  return std::to_string(secs / 60) + "m" + std::to_string(secs % 60) + "s";
}
}  // namespace

void BruteForceDetector::alert_login_guessing(const LoginService& svc, const IpAddr& src,
                                              LoginSource& s, bool update, TimeNs ts) {
  uint64_t n = s.servers.size() + s.servers_over_cap;
  // Zeek's FTP::Bruteforcing notice text, after komainu's prefix.
  std::string msg = std::string("KOMAINU BRUTE_FORCE ") + svc.name +
                    " password guessing: " + src.str() + " had " + std::to_string(s.failed) +
                    " failed logins on " + std::to_string(n) + " " + svc.name + " server" +
                    (n > 1 ? "s" : "") + " in " + mins_secs(s.last - s.first);
  if (update) msg += " (update)";
  AlertBuilder a("brute_force", svc.sid_guessing, msg, 2, "TA0006",
                 n > 1 ? "T1110.003" : "T1110.001");
  a.ip(src);
  for (size_t i = 0; i < s.servers.size() && i < 10; ++i) a.ip(s.servers[i]);
  a.ev.kv("kind", std::string(svc.kind) + "_guessing")
      .kv("service", svc.kind)
      .kv("port", unsigned(s.port))
      .kv("failed_logins", s.failed)
      .kv("servers", n)
      .kv("threshold", svc.threshold)
      .kv("first_seen", format_eve_time(s.first))
      .kv("last_seen", format_eve_time(s.last))
      .kv("update", update)
      .kv("update_number", s.updates);
  a.ev.key("sample_servers").begin_array();
  for (size_t i = 0; i < s.servers.size() && i < 10; ++i) a.ev.value(s.servers[i].str());
  a.ev.end_array();
  a.publish(alerts_, ts, &src, n == 1 ? &s.servers[0] : nullptr);
  ++alerts_sent_;
}

void BruteForceDetector::alert_login_success(const LoginService& svc, const IpAddr& src,
                                             const IpAddr& dst, uint16_t dport,
                                             const LoginSource& s, TimeNs ts) {
  std::string msg = std::string("KOMAINU BRUTE_FORCE ") + svc.name +
                    " login succeeded after password guessing: " + src.str() + " -> " + dst.str() +
                    ":" + std::to_string(dport) + " after " + std::to_string(s.failed) +
                    " failed logins";
  AlertBuilder a("brute_force", svc.sid_success, msg, 1, "TA0006", "T1110.001");
  a.ip(src).ip(dst);
  a.ev.kv("kind", std::string(svc.kind) + "_success_after_guessing")
      .kv("service", svc.kind)
      .kv("port", unsigned(dport))
      .kv("failed_logins", s.failed)
      .kv("first_seen", format_eve_time(s.first));
  a.publish(alerts_, ts, &src, &dst);
  ++alerts_sent_;
}

void BruteForceDetector::alert_guessing(const PairKey& k, Pair& p, bool update, TimeNs ts) {
  std::string msg = "KOMAINU BRUTE_FORCE SSH password guessing: " + k.src.str() + " -> " +
                    k.dst.str() + ":" + std::to_string(p.port) + ", " + std::to_string(p.failed) +
                    " connections with failed logins";
  if (update) msg += " (update)";
  AlertBuilder a("brute_force", kSidGuessing, msg, 2, "TA0006", "T1110.001");
  a.ip(k.src).ip(k.dst);
  a.ev.kv("kind", "ssh_guessing")
      .kv("service", "ssh")
      .kv("port", unsigned(p.port))
      .kv("failed_connections", p.failed)
      .kv("failed_attempts", p.attempts)
      .kv("threshold", cfg_.failed_connections)
      .kv("first_seen", format_eve_time(p.first))
      .kv("last_seen", format_eve_time(p.last))
      .kv("update", update)
      .kv("update_number", p.updates);
  a.publish(alerts_, ts, &k.src, &k.dst);
  ++alerts_sent_;
}

void BruteForceDetector::alert_spray(const IpAddr& src, Source& s, bool update, TimeNs ts) {
  uint64_t n = s.servers.size() + s.servers_over_cap;
  std::string msg = "KOMAINU BRUTE_FORCE SSH password spraying: " + src.str() +
                    " failed logins on " + std::to_string(n) + " servers (" +
                    std::to_string(s.failed) + " connections)";
  if (update) msg += " (update)";
  AlertBuilder a("brute_force", kSidSpray, msg, 2, "TA0006", "T1110.003");
  a.ip(src);
  a.ev.kv("kind", "ssh_spraying")
      .kv("service", "ssh")
      .kv("servers", n)
      .kv("failed_connections", s.failed)
      .kv("failed_attempts", s.attempts)
      .kv("first_seen", format_eve_time(s.first))
      .kv("last_seen", format_eve_time(s.last))
      .kv("update", update)
      .kv("update_number", s.updates);
  a.ev.key("sample_servers").begin_array();
  for (size_t i = 0; i < s.servers.size() && i < 10; ++i) a.ev.value(s.servers[i].str());
  a.ev.end_array();
  a.publish(alerts_, ts, &src, nullptr);
  ++alerts_sent_;
}

void BruteForceDetector::alert_success(const PairKey& k, const Pair* p, const Source* s,
                                       uint16_t dport, TimeNs ts) {
  uint64_t failed = p ? p->failed : s->failed;
  std::string msg =
      "KOMAINU BRUTE_FORCE SSH login succeeded after password guessing: " + k.src.str() + " -> " +
      k.dst.str() + ":" + std::to_string(dport) + " after " + std::to_string(failed) +
      " failed connections";
  AlertBuilder a("brute_force", kSidSuccess, msg, 1, "TA0006", p ? "T1110.001" : "T1110.003");
  a.ip(k.src).ip(k.dst);
  a.ev.kv("kind", "ssh_success_after_guessing")
      .kv("service", "ssh")
      .kv("port", unsigned(dport))
      .kv("failed_connections_to_server", uint64_t(p ? p->failed : 0))
      .kv("failed_connections_from_source", uint64_t(s ? s->failed : 0))
      .kv("first_seen", format_eve_time(p ? p->first : s->first));
  a.publish(alerts_, ts, &k.src, &k.dst);
  ++alerts_sent_;
}

void BruteForceDetector::write_stats(JsonWriter& w) const {
  w.kv("ssh_connections", connections_)
      .kv("failed", failed_)
      .kv("undetermined", undetermined_)
      .kv("succeeded", successes_)
      .kv("pairs", uint64_t(pairs_.size()))
      .kv("pair_evictions", pair_evictions_)
      .kv("sources", uint64_t(sources_.size()))
      .kv("source_evictions", source_evictions_)
      .kv("ftp_failed_logins", ftp_.failed)
      .kv("ftp_succeeded_logins", ftp_.succeeded)
      .kv("ftp_sources", uint64_t(ftp_.sources.size()))
      .kv("ftp_source_evictions", ftp_.evictions)
      .kv("smtp_failed_logins", smtp_.failed)
      .kv("smtp_succeeded_logins", smtp_.succeeded)
      .kv("smtp_sources", uint64_t(smtp_.sources.size()))
      .kv("smtp_source_evictions", smtp_.evictions)
      .kv("alerts", alerts_sent_);
}

namespace {

std::unique_ptr<Detector> create(const DetectorContext& ctx, std::string* error) {
  BruteForceConfig c;
  double window = 1800, ftp_window = 900, smtp_window = 900;
  if (!config_check_keys(ctx, "brute_force",
                         {"window", "failed_connections", "spray_servers", "count_undetermined",
                          "max_updates", "max_pairs", "max_sources", "ftp_window",
                          "ftp_failed_logins", "smtp_window", "smtp_failed_logins"},
                         error) ||
      !config_get(ctx, "ftp_window", ftp_window, error) ||
      !config_get(ctx, "ftp_failed_logins", c.ftp_failed_logins, error) ||
      !config_get(ctx, "smtp_window", smtp_window, error) ||
      !config_get(ctx, "smtp_failed_logins", c.smtp_failed_logins, error) ||
      !config_get(ctx, "window", window, error) ||
      !config_get(ctx, "failed_connections", c.failed_connections, error) ||
      !config_get(ctx, "spray_servers", c.spray_servers, error) ||
      !config_get(ctx, "count_undetermined", c.count_undetermined, error) ||
      !config_get(ctx, "max_updates", c.max_updates, error) ||
      !config_get(ctx, "max_pairs", c.max_pairs, error) ||
      !config_get(ctx, "max_sources", c.max_sources, error))
    return nullptr;
  if (window <= 0 || c.failed_connections == 0 || c.spray_servers < 2 || c.max_pairs == 0 ||
      c.max_sources == 0 || ftp_window <= 0 || c.ftp_failed_logins == 0 || smtp_window <= 0 ||
      c.smtp_failed_logins == 0) {
    *error = ctx.config_file +
             ": detectors.brute_force: window, failed_connections, max_pairs, max_sources, "
             "ftp_window, ftp_failed_logins, smtp_window and smtp_failed_logins must be > 0, "
             "spray_servers >= 2";
    return nullptr;
  }
  c.window = TimeNs(window * kNsPerSec);
  c.ftp_window = TimeNs(ftp_window * kNsPerSec);
  c.smtp_window = TimeNs(smtp_window * kNsPerSec);
  return std::make_unique<BruteForceDetector>(c, ctx.alerts);
}

const Registration<DetectorApi> reg{{.name = "brute_force", .create = create}};

}  // namespace
}  // namespace komainu
