#include "detect/behaviour/lateral_movement/lateral_movement.h"

#include <algorithm>

#include "analyzers/smb/smb_record.h"
#include "flow/flow.h"

namespace komainu {

namespace {
uint64_t server_key(const IpAddr& a, uint16_t port) {
  return IpAddrHash{}(a)*65537 + port;
}
}  // namespace

LateralMovementDetector::LateralMovementDetector(const LateralConfig& cfg, const Zones* zones,
                                                 EventSink* alerts)
    : cfg_(cfg), zones_(zones), alerts_(alerts) {
  if (zones_)
    for (const auto& z : cfg_.vpn_pool_zones)
      if (int id = zones_->find(z); id >= 0) vpn_zone_ids_.push_back(id);
}

bool LateralMovementDetector::is_vpn_pool(const IpAddr& a) const {
  if (zones_) {
    int z = zones_->zone_of(a);
    for (int id : vpn_zone_ids_)
      if (id == z) return true;
  }
  for (const auto& c : cfg_.vpn_pool_cidrs)
    if (c.contains(a)) return true;
  return false;
}

void LateralMovementDetector::publish(const Record& r) {
  std::string_view type = r.event_type();
  if (const auto* s = type == "smb" ? dynamic_cast<const smb::SmbRecord*>(&r) : nullptr) {
    // The user behind an SMB flow, for the alert's entities.
    if (s->flow && !s->ntlm_user.empty() && user_by_flow_.size() < 100000) {
      std::string u = s->ntlm_domain.empty() ? s->ntlm_user : s->ntlm_domain + "\\" + s->ntlm_user;
      user_by_flow_[s->flow->flow_id] = u;
    }
    return;
  }
  const auto* c = type == "flow" ? dynamic_cast<const ConnRecord*>(&r) : nullptr;
  if (!c || !c->f || c->f->proto != 6) return;
  const FlowTuple& t = c->f->ctx.tuple;
  std::string user;
  if (!user_by_flow_.empty())
    if (auto it = user_by_flow_.find(c->f->ctx.flow_id); it != user_by_flow_.end()) {
      user = std::move(it->second);
      user_by_flow_.erase(it);
    }
  on_conn(c->f->start, t.src, t.dst, t.dport, c->orig_bytes > 0 && c->resp_bytes > 0, user);
}

void LateralMovementDetector::on_conn(TimeNs ts, const IpAddr& src, const IpAddr& dst,
                                      uint16_t dport, bool established, const std::string& user) {
  if (std::find(cfg_.admin_ports.begin(), cfg_.admin_ports.end(), dport) == cfg_.admin_ports.end())
    return;
  if (!is_internal(zones_, src) || !is_internal(zones_, dst)) return;
  ++admin_conns_;
  if (!first_ts_) first_ts_ = ts;
  bool vpn = is_vpn_pool(src);

  // First use of a host as an admin server, after the learning period.
  uint64_t sk = server_key(dst, dport);
  if (established) {
    bool known = known_servers_.contains(sk);
    if (!known && cfg_.new_host_alerts && (vpn || !cfg_.new_host_vpn_pool_only) &&
        ts - first_ts_ >= cfg_.learning && !new_host_alerted_.count({src, dst}) &&
        new_host_alerted_.size() < 100000) {
      new_host_alerted_.insert({src, dst});
      std::string msg =
          "KOMAINU LATERAL_MOVEMENT admin session to a host never used as a server: " + src.str() +
          " -> " + dst.str() + ":" + std::to_string(dport);
      if (vpn) msg += " (from the VPN pool)";
      AlertBuilder a("lateral_movement", kSidNewHost, msg, vpn ? 1 : 2, "TA0008", "T1021");
      a.ip(src).ip(dst);
      if (!user.empty()) a.meta("user", user);
      a.ev.kv("kind", "new_server").kv("port", unsigned(dport)).kv("vpn_pool_source", vpn);
      a.ev.kv("first_seen", format_eve_time(ts));
      if (!user.empty()) a.ev.kv("user", user);
      a.publish(alerts_, ts, &src, &dst);
      ++alerts_sent_;
    }
    if (!known) {
      if (known_servers_.size() >= cfg_.max_known_servers) {
        known_servers_.clear();
        ++known_servers_reset_;
      }
      known_servers_.insert(sk);
    }
  }

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
  if (ts - s.start > cfg_.window) {
    s = Source{};
    s.start = s.first = ts;
  }
  if (ts > s.last) s.last = ts;
  ++s.conns;
  s.ports.insert(dport);
  if (!s.hosts.insert(dst).second || s.hosts.size() > 4096) return;
  uint64_t n = s.hosts.size();
  uint64_t threshold = vpn ? cfg_.min_hosts_vpn_pool : cfg_.min_hosts;
  if (n < threshold || (s.alerted && n < 2 * s.alerted)) return;
  bool update = s.alerted != 0;
  s.alerted = n;
  std::string msg = "KOMAINU LATERAL_MOVEMENT admin protocols from " + src.str() + " to " +
                    std::to_string(n) + " internal hosts";
  if (vpn) msg += " (from the VPN pool)";
  if (update) msg += " (update)";
  AlertBuilder a("lateral_movement", kSidManyHosts, msg, vpn ? 1 : 2, "TA0008", "T1021");
  a.ip(src);
  if (!user.empty()) a.meta("user", user);
  a.ev.kv("kind", "many_hosts")
      .kv("hosts", n)
      .kv("connections", s.conns)
      .kv("vpn_pool_source", vpn)
      .kv("first_seen", format_eve_time(s.first))
      .kv("last_seen", format_eve_time(s.last))
      .kv("update", update);
  a.ev.key("ports").begin_array();
  for (uint16_t p : s.ports) a.ev.value(uint64_t(p));
  a.ev.end_array();
  a.ev.key("sample_hosts").begin_array();
  size_t k = 0;
  for (const auto& h : s.hosts) {
    if (k++ == 10) break;
    a.ev.value(h.str());
  }
  a.ev.end_array();
  a.publish(alerts_, s.last, &src, nullptr);
  ++alerts_sent_;
}

void LateralMovementDetector::write_stats(JsonWriter& w) const {
  w.kv("admin_connections", admin_conns_)
      .kv("sources", uint64_t(sources_.size()))
      .kv("source_evictions", evictions_)
      .kv("known_servers", uint64_t(known_servers_.size()))
      .kv("known_servers_resets", known_servers_reset_)
      .kv("alerts", alerts_sent_);
}

namespace {

std::unique_ptr<Detector> create(const DetectorContext& ctx, std::string* error) {
  LateralConfig c;
  double window = 3600, learning = 600;
  std::vector<std::string> cidrs;
  std::vector<unsigned> ports;
  if (!config_check_keys(ctx, "lateral_movement",
                         {"admin_ports", "window", "min_hosts", "min_hosts_vpn_pool",
                          "vpn_pool_zones", "vpn_pool_cidrs", "learning", "new_host_alerts",
                          "new_host_vpn_pool_only", "max_sources", "max_known_servers"},
                         error) ||
      !config_get(ctx, "window", window, error) || !config_get(ctx, "learning", learning, error) ||
      !config_get(ctx, "min_hosts", c.min_hosts, error) ||
      !config_get(ctx, "min_hosts_vpn_pool", c.min_hosts_vpn_pool, error) ||
      !config_get(ctx, "vpn_pool_zones", c.vpn_pool_zones, error) ||
      !config_get(ctx, "vpn_pool_cidrs", cidrs, error) ||
      !config_get(ctx, "admin_ports", ports, error) ||
      !config_get(ctx, "new_host_alerts", c.new_host_alerts, error) ||
      !config_get(ctx, "new_host_vpn_pool_only", c.new_host_vpn_pool_only, error) ||
      !config_get(ctx, "max_sources", c.max_sources, error) ||
      !config_get(ctx, "max_known_servers", c.max_known_servers, error))
    return nullptr;
  if (!ports.empty()) {
    c.admin_ports.clear();
    for (unsigned p : ports) c.admin_ports.push_back(uint16_t(p));
  }
  for (const auto& s : cidrs) {
    auto cidr = Cidr::parse(s);
    if (!cidr) {
      *error =
          ctx.config_file + ": detectors.lateral_movement.vpn_pool_cidrs: bad CIDR '" + s + "'";
      return nullptr;
    }
    c.vpn_pool_cidrs.push_back(*cidr);
  }
  c.window = TimeNs(window * kNsPerSec);
  c.learning = TimeNs(learning * kNsPerSec);
  return std::make_unique<LateralMovementDetector>(c, ctx.zones, ctx.alerts);
}

const Registration<DetectorApi> reg{{.name = "lateral_movement", .create = create}};

}  // namespace
}  // namespace komainu
