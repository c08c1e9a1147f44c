// `lateral_movement`: admin protocols (SMB 445, RDP 3389, WinRM 5985/5986, SSH 22, RPC 135)
// from one internal source to many internal hosts in a window (VPN-pool sources need fewer),
// or an established admin session to a host that, after a learning period, has never been
// an admin destination before (first use of a host as a server).
#pragma once
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "detect/detector.h"
#include "detect/zones/zones.h"

namespace komainu {

struct LateralConfig {
  std::vector<uint16_t> admin_ports = {445, 3389, 5985, 5986, 22, 135};
  TimeNs window = 3600 * kNsPerSec;
  uint64_t min_hosts = 10;          // distinct admin destinations of one source
  uint64_t min_hosts_vpn_pool = 5;  // the same for a VPN-pool source
  std::vector<std::string> vpn_pool_zones = {"vpn_pool"};
  std::vector<Cidr> vpn_pool_cidrs;
  TimeNs learning = 600 * kNsPerSec;  // data time before "never used before" may alert
  bool new_host_alerts = true;
  bool new_host_vpn_pool_only = true;  // first-use alerts only for VPN-pool sources
  uint64_t max_sources = 10000;
  uint64_t max_known_servers = 200000;
};

class LateralMovementDetector : public Detector {
 public:
  static constexpr uint32_t kSidManyHosts = 9100201;
  static constexpr uint32_t kSidNewHost = 9100202;

  LateralMovementDetector(const LateralConfig& cfg, const Zones* zones, EventSink* alerts);
  void publish(const Record& r) override;
  bool wants(std::string_view type) const override { return type == "flow" || type == "smb"; }
  void write_stats(JsonWriter& w) const override;
  // For tests: one connection (ts = its start); `established` = payload both ways.
  void on_conn(TimeNs ts, const IpAddr& src, const IpAddr& dst, uint16_t dport, bool established,
               const std::string& user);

 private:
  struct Source {
    TimeNs start = 0, first = 0, last = 0;
    std::set<IpAddr> hosts;
    std::set<uint16_t> ports;
    uint64_t conns = 0, alerted = 0;
  };
  bool is_vpn_pool(const IpAddr& a) const;

  LateralConfig cfg_;
  const Zones* zones_;
  EventSink* alerts_;
  std::vector<int> vpn_zone_ids_;
  std::unordered_map<IpAddr, Source, IpAddrHash> sources_;
  // host:port pairs that served an admin session (from anyone) — "known servers".
  U64Set known_servers_;  // server_key of hosts seen serving admin sessions
  std::set<std::pair<IpAddr, IpAddr>> new_host_alerted_;
  std::unordered_map<uint64_t, std::string> user_by_flow_;
  TimeNs first_ts_ = 0;
  uint64_t admin_conns_ = 0, evictions_ = 0, known_servers_reset_ = 0, alerts_sent_ = 0;
};

}  // namespace komainu
