// `scan`: horizontal (one source, one port, many hosts) and vertical (one source, one host,
// many ports) TCP scans in a tumbling window, from conn records; probes are connections that
// exchanged no payload, and the source's failed ratio must be high. Also: DCE-RPC endpoint
// mapper enumeration (ept_lookup, what rpcdump / rpcinfo / nmap msrpc-enum call; Windows
// clients resolve endpoints with ept_map), one alert per source and target. And ARP sweeps
// (host discovery on the local segment, nmap -sn / arp-scan): one sender asking for many
// distinct addresses in a short window; gratuitous ARP and probes (sender 0.0.0.0) excluded.
#pragma once
#include <map>
#include <set>
#include <unordered_map>
#include <vector>

#include "detect/detector.h"

namespace komainu {

struct ScanConfig {
  TimeNs window = 300 * kNsPerSec;
  uint64_t horizontal_hosts = 8;  // distinct hosts probed on one port
  uint64_t vertical_ports = 12;   // distinct ports probed on one host
  double min_failed_ratio = 0.5;  // probes / TCP connections of the source in the window
  uint64_t max_sources = 10000;
  uint64_t max_targets_per_source = 4096;
  TimeNs arp_window = 30 * kNsPerSec;
  uint64_t arp_sweep_hosts = 32;  // distinct target addresses asked for by one sender
};

class ScanDetector : public Detector {
 public:
  static constexpr uint32_t kSidHorizontal = 9100101;
  static constexpr uint32_t kSidVertical = 9100102;
  static constexpr uint32_t kSidEndpointMapper = 9100103;
  static constexpr uint32_t kSidArpSweep = 9100104;

  ScanDetector(const ScanConfig& cfg, EventSink* alerts) : cfg_(cfg), alerts_(alerts) {}
  void publish(const Record& r) override;
  bool wants(std::string_view event_type) const override;
  void write_stats(JsonWriter& w) const override;
  // For tests: one TCP connection ended (ts = its start).
  void on_conn(TimeNs ts, const IpAddr& src, const IpAddr& dst, uint16_t dport, bool probe);
  // For tests: one DCE-RPC endpoint-mapper ept_lookup call (the enumeration operation).
  void on_epm_lookup(TimeNs ts, const IpAddr& src, const IpAddr& dst);
  // For tests: one ARP message (op 1 request, 2 reply).
  void on_arp(TimeNs ts, uint16_t op, const IpAddr& sender, const uint8_t* sender_mac,
              const IpAddr& target);

 private:
  struct Source {
    TimeNs start = 0, first = 0, last = 0;
    uint64_t conns = 0, probes = 0, targets = 0;
    std::map<uint16_t, std::set<IpAddr>> hosts_by_port;
    std::map<IpAddr, std::set<uint16_t>> ports_by_host;
    uint64_t alerted_h = 0, alerted_v = 0;  // size at the last alert (updates on doubling)
  };
  void maybe_alert(const IpAddr& src, Source& s, bool horizontal, uint64_t n, uint16_t port,
                   const IpAddr& host);

  ScanConfig cfg_;
  EventSink* alerts_;
  FlatMap<IpAddr, Source, IpAddrHash> sources_;
  struct EpmPair {
    TimeNs first = 0, last = 0;
    uint64_t calls = 0;
  };
  std::map<std::pair<IpAddr, IpAddr>, EpmPair> epm_;
  struct ArpSender {
    TimeNs start = 0, first = 0, last = 0;
    uint64_t requests = 0, alerted = 0;
    uint8_t mac[6] = {};
    std::vector<uint32_t> targets;  // distinct IPv4 targets in the window (sorted, capped)
    uint64_t targets_over_cap = 0;
  };
  void arp_alert(const IpAddr& sender, ArpSender& s, uint64_t n, TimeNs ts);
  std::unordered_map<IpAddr, ArpSender, IpAddrHash> arp_;
  uint64_t conns_ = 0, evictions_ = 0, targets_capped_ = 0, alerts_sent_ = 0, epm_lookups_ = 0;
  uint64_t arp_requests_ = 0, arp_ignored_ = 0, arp_evictions_ = 0;
};

}  // namespace komainu
