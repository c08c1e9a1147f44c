#include "detect/behaviour/brute_force/brute_force.h"

#include <algorithm>

#include "analyzers/ssh/ssh_analyzer.h"

namespace komainu {

namespace {

// The entry of `key` in a capped map: created when absent (the oldest evicted and counted
// when the map is full), restarted when its tumbling window (Zeek's SumStats epoch) has
// passed; a clock jump backwards keeps the window.
template <typename Map, typename Key>
typename Map::mapped_type& windowed(Map& m, const Key& key, TimeNs ts, TimeNs window, size_t cap,
                                    uint64_t& evictions) {
  auto it = m.find(key);
  if (it == m.end()) {
    if (m.size() >= cap) {
      evict_oldest(m);
      ++evictions;
    }
    it = m.emplace(key, typename Map::mapped_type{}).first;
    it->second.start = it->second.first = ts;
  }
  auto& v = it->second;
  if (ts - v.start > window) {
    v = typename Map::mapped_type{};
    v.start = v.first = ts;
  }
  v.last = std::max(v.last, ts);
  return v;
}

}  // namespace

void BruteForceDetector::publish(const Record& r) {
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

  Pair& p = windowed(pairs_, key, ts, cfg_.window, cfg_.max_pairs, pair_evictions_);
  p.port = dport;
  ++p.failed;
  p.attempts += attempts;
  if (p.failed >= cfg_.failed_connections &&
      (!p.alerted || (p.failed >= 2 * p.alerted && p.updates < cfg_.max_updates))) {
    bool update = p.alerted != 0;
    if (update) ++p.updates;
    p.alerted = p.failed;
    alert_guessing(key, p, update, ts);
  }

  Source& s = windowed(sources_, src, ts, cfg_.window, cfg_.max_sources, source_evictions_);
  ++s.failed;
  s.attempts += attempts;
  if (std::find(s.servers.begin(), s.servers.end(), dst) == s.servers.end()) {
    if (s.servers.size() < kMaxServersPerSource)
      s.servers.push_back(dst);
    else
      ++s.servers_over_cap;
  }
  uint64_t n = s.servers.size() + s.servers_over_cap;
  if (n >= cfg_.spray_servers && s.failed >= cfg_.failed_connections &&
      (!s.alerted || (n >= 2 * s.alerted && s.updates < cfg_.max_updates))) {
    bool update = s.alerted != 0;
    if (update) ++s.updates;
    s.alerted = n;
    alert_spray(src, s, update, ts);
  }
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
      .kv("alerts", alerts_sent_);
}

namespace {

std::unique_ptr<Detector> create(const DetectorContext& ctx, std::string* error) {
  BruteForceConfig c;
  double window = 1800;
  if (!config_check_keys(ctx, "brute_force",
                         {"window", "failed_connections", "spray_servers", "count_undetermined",
                          "max_updates", "max_pairs", "max_sources"},
                         error) ||
      !config_get(ctx, "window", window, error) ||
      !config_get(ctx, "failed_connections", c.failed_connections, error) ||
      !config_get(ctx, "spray_servers", c.spray_servers, error) ||
      !config_get(ctx, "count_undetermined", c.count_undetermined, error) ||
      !config_get(ctx, "max_updates", c.max_updates, error) ||
      !config_get(ctx, "max_pairs", c.max_pairs, error) ||
      !config_get(ctx, "max_sources", c.max_sources, error))
    return nullptr;
  if (window <= 0 || c.failed_connections == 0 || c.spray_servers < 2 || c.max_pairs == 0 ||
      c.max_sources == 0) {
    *error = ctx.config_file +
             ": detectors.brute_force: window, failed_connections, max_pairs and max_sources "
             "must be > 0, spray_servers >= 2";
    return nullptr;
  }
  c.window = TimeNs(window * kNsPerSec);
  return std::make_unique<BruteForceDetector>(c, ctx.alerts);
}

const Registration<DetectorApi> reg{{.name = "brute_force", .create = create}};

}  // namespace
}  // namespace komainu
