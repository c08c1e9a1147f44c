// The `zones` detector: checks every connection attempt against the zones policy (alert at
// the flow's first packet, naming the broken rule and its line) and keeps the observed
// zone-to-zone matrix (connections, bytes, services, first/last seen) for zones.json and
// `komainu zones report`.
#pragma once
#include <cstdio>
#include <map>
#include <set>

#include "detect/detector.h"
#include "detect/zones/zones.h"

namespace komainu {

class SegmentationDetector : public Detector {
 public:
  SegmentationDetector(const DetectorContext& ctx, size_t max_alert_keys,
                       uint32_t alerts_per_source);
  void publish(const Record& r) override;
  bool wants_flow_start() const override { return true; }
  bool wants(std::string_view type) const override { return type == "flow"; }
  void write_stats(JsonWriter& w) const override;

  // {"zones_file":..., "matrix":[{"from","to","connections","bytes_toserver",...}]}
  void write_matrix(JsonWriter& w) const;
  void print_table(FILE* out) const;

  static constexpr uint32_t kSidForbidden = 9100001;
  static constexpr uint32_t kSidAllowedServices = 9100002;
  static constexpr uint32_t kSidNoInternet = 9100003;

 private:
  struct Cell {
    uint64_t connections = 0, bytes_toserver = 0, bytes_toclient = 0;
    TimeNs first = 0, last = 0;
    std::map<std::string, uint64_t> services;  // capped
  };
  void check(const FlowContext& ctx, TimeNs ts);

  const Zones& zones_;
  EventSink* alerts_;
  size_t max_alert_keys_;
  uint32_t alerts_per_source_;
  bool have_flow_start_ = false;
  std::vector<Cell> matrix_;
  std::vector<const PolicyRule*> scratch_;
  // (rule, src, dst) already alerted; alerts per (rule, src).
  std::set<std::tuple<const PolicyRule*, IpAddr, IpAddr>> alerted_;
  std::map<std::pair<const PolicyRule*, IpAddr>, uint32_t> per_source_;
  uint64_t violations_ = 0, alerts_sent_ = 0, suppressed_ = 0, key_evictions_ = 0;
  uint64_t services_capped_ = 0;
};

}  // namespace komainu
