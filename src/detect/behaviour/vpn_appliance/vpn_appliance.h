// `vpn_appliance`: the VPN appliance (addresses named in config) itself opening connections
// to internal admin services or to the internet — what an exploited appliance does first.
#pragma once
#include <set>
#include <tuple>

#include "detect/detector.h"
#include "detect/zones/zones.h"

namespace komainu {

struct VpnApplianceConfig {
  std::vector<IpAddr> addresses;
  std::vector<uint16_t> admin_ports = {445, 139, 3389, 5985, 5986, 22, 135, 23};
  std::vector<std::string> allowed_internet_services = {"udp/53", "udp/123"};
  std::vector<Cidr> allowed_destinations;  // e.g. the vendor's update servers
  uint64_t max_alerts = 1000;
};

class VpnApplianceDetector : public Detector {
 public:
  static constexpr uint32_t kSidAdmin = 9100701;
  static constexpr uint32_t kSidInternet = 9100702;

  VpnApplianceDetector(const VpnApplianceConfig& cfg, const Zones* zones, EventSink* alerts);
  void publish(const Record& r) override;
  bool wants(std::string_view type) const override { return type == "flow"; }
  void write_stats(JsonWriter& w) const override;
  void on_conn(TimeNs ts, const FlowTuple& t, const std::string& state);

 private:
  VpnApplianceConfig cfg_;
  const Zones* zones_;
  EventSink* alerts_;
  std::vector<Service> allowed_;
  std::set<std::tuple<IpAddr, IpAddr, uint16_t>> alerted_;
  uint64_t conns_ = 0, alerts_sent_ = 0, suppressed_ = 0;
};

}  // namespace komainu
