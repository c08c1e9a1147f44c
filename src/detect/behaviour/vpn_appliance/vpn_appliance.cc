#include "detect/behaviour/vpn_appliance/vpn_appliance.h"

#include <algorithm>

#include "flow/flow.h"

namespace komainu {

VpnApplianceDetector::VpnApplianceDetector(const VpnApplianceConfig& cfg, const Zones* zones,
                                           EventSink* alerts)
    : cfg_(cfg),
      zones_(zones),
      alerts_(alerts),
      allowed_(Service::parse_list(cfg_.allowed_internet_services)) {}

void VpnApplianceDetector::publish(const Record& r) {
  const auto* c = r.event_type() == "flow" ? dynamic_cast<const ConnRecord*>(&r) : nullptr;
  if (!c || !c->f) return;
  on_conn(c->f->start, c->f->ctx.tuple, ConnRecord::conn_state(*c->f));
}

void VpnApplianceDetector::on_conn(TimeNs ts, const FlowTuple& t, const std::string& state) {
  if (std::find(cfg_.addresses.begin(), cfg_.addresses.end(), t.src) == cfg_.addresses.end())
    return;
  ++conns_;
  Service svc = Service::of(t.proto, t.dport);
  bool internal = is_internal(zones_, t.dst);
  bool admin = internal && t.proto == 6 &&
               std::find(cfg_.admin_ports.begin(), cfg_.admin_ports.end(), t.dport) !=
                   cfg_.admin_ports.end();
  bool internet = !internal && std::find(allowed_.begin(), allowed_.end(), svc) == allowed_.end();
  for (const auto& c : cfg_.allowed_destinations)
    if (c.contains(t.dst)) internet = false;
  if (!admin && !internet) return;
  auto key = std::make_tuple(t.src, t.dst, t.dport);
  if (alerted_.count(key)) return;
  if (alerted_.size() >= cfg_.max_alerts) {
    ++suppressed_;
    return;
  }
  alerted_.insert(key);
  std::string msg = std::string("KOMAINU VPN_APPLIANCE appliance ") + t.src.str() + " opened " +
                    svc.str() + " to " + (admin ? "internal admin service " : "the internet ") +
                    t.dst.str();
  AlertBuilder a("vpn_appliance", admin ? kSidAdmin : kSidInternet, msg, 1,
                 admin ? "TA0008" : "TA0011", admin ? "T1021" : "T1105");
  a.ip(t.src).ip(t.dst);
  a.ev.kv("kind", admin ? "internal_admin_service" : "internet")
      .kv("service", svc.str())
      .kv("conn_state", state)
      .kv("first_seen", format_eve_time(ts));
  a.publish(alerts_, ts, &t.src, &t.dst);
  ++alerts_sent_;
}

void VpnApplianceDetector::write_stats(JsonWriter& w) const {
  w.kv("appliance_connections", conns_).kv("alerts", alerts_sent_).kv("suppressed", suppressed_);
}

namespace {

std::unique_ptr<Detector> create(const DetectorContext& ctx, std::string* error) {
  VpnApplianceConfig c;
  std::vector<std::string> addrs, dests;
  std::vector<unsigned> ports;
  if (!config_check_keys(ctx, "vpn_appliance",
                         {"addresses", "admin_ports", "allowed_internet_services",
                          "allowed_destinations", "max_alerts"},
                         error) ||
      !config_get(ctx, "addresses", addrs, error) ||
      !config_get(ctx, "admin_ports", ports, error) ||
      !config_get(ctx, "allowed_internet_services", c.allowed_internet_services, error) ||
      !config_get(ctx, "allowed_destinations", dests, error) ||
      !config_get(ctx, "max_alerts", c.max_alerts, error))
    return nullptr;
  if (addrs.empty()) return nullptr;  // no appliance named: nothing to watch
  for (const auto& s : addrs) {
    auto a = IpAddr::parse(s);
    if (!a) {
      *error = ctx.config_file + ": detectors.vpn_appliance.addresses: bad address '" + s + "'";
      return nullptr;
    }
    c.addresses.push_back(*a);
  }
  for (const auto& s : dests) {
    auto cidr = Cidr::parse(s);
    if (!cidr) {
      *error =
          ctx.config_file + ": detectors.vpn_appliance.allowed_destinations: bad CIDR '" + s + "'";
      return nullptr;
    }
    c.allowed_destinations.push_back(*cidr);
  }
  for (const auto& s : c.allowed_internet_services) {
    Service sv;
    if (!Service::parse(s, sv)) {
      *error = ctx.config_file +
               ": detectors.vpn_appliance.allowed_internet_services: bad service '" + s + "'";
      return nullptr;
    }
  }
  if (!ports.empty()) {
    c.admin_ports.clear();
    for (unsigned p : ports) c.admin_ports.push_back(uint16_t(p));
  }
  return std::make_unique<VpnApplianceDetector>(c, ctx.zones, ctx.alerts);
}

const Registration<DetectorApi> reg{{.name = "vpn_appliance", .create = create}};

}  // namespace
}  // namespace komainu
