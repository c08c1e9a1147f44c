// `beaconing`: periodic connections (or DNS queries) from one internal host to the same
// destination (IP, TLS SNI, or queried FQDN), scored as RITA scores beacons: interval
// regularity (Bowley skew, median absolute deviation), size regularity (skew, MAD, smallness)
// and connection count; one alert per source→destination when the score crosses the
// threshold.
#pragma once
#include <deque>
#include <string>
#include <unordered_map>

#include "detect/detector.h"
#include "detect/zones/zones.h"

namespace komainu {

struct BeaconConfig {
  uint64_t min_connections = 10;
  uint64_t count_full = 24;  // connections for a full count score
  double threshold = 0.8;
  uint64_t history = 128;  // most recent connections kept per pair
  // Internal destinations (internal C2 redirectors, lab C2 servers) are scored too, with a
  // stricter threshold and a lower severity; with --zones only pairs that cross zones are.
  // `external_only: true` restores internet-only scoring.
  bool external_only = false;
  double internal_threshold = 0.9;
  bool http = true;  // HTTP requests on reused (keep-alive) connections are contacts too
  bool dns = true;   // also score repeated DNS queries for one FQDN
  std::vector<std::string> ignore_services = {"udp/53", "udp/123", "udp/137", "udp/5353",
                                              "udp/5355"};
  TimeNs min_interval = 2 * kNsPerSec;  // faster repeats are sessions, not beacons
  uint64_t max_pairs = 100000;
};

struct BeaconScore {
  double score = 0, ts_skew = 0, ts_madm = 0, count = 0, ds_skew = 0, ds_madm = 0, ds_small = 0;
  double median_interval_s = 0, median_bytes = 0;
};

// RITA-style score of arrival times (sorted, ns) and sizes.
BeaconScore beacon_score(const std::vector<TimeNs>& times, const std::vector<uint64_t>& sizes,
                         uint64_t count_full);

class BeaconingDetector : public Detector {
 public:
  static constexpr uint32_t kSidConn = 9100501;
  static constexpr uint32_t kSidDns = 9100502;
  static constexpr uint32_t kSidHttp = 9100503;

  BeaconingDetector(const BeaconConfig& cfg, const Zones* zones, EventSink* alerts);
  void publish(const Record& r) override;
  void write_stats(JsonWriter& w) const override;
  // For tests: one connection (or query, dns = true) to `dest` (IP or name).
  void on_event(TimeNs ts, const IpAddr& src, const IpAddr* dst_ip, const std::string& dest,
                uint64_t bytes, bool dns, bool http = false);

 private:
  struct Pair {
    std::deque<std::pair<TimeNs, uint64_t>> events;
    TimeNs first = 0, last = 0;
    uint64_t total = 0;
    bool alerted = false;
  };

  BeaconConfig cfg_;
  const Zones* zones_;
  EventSink* alerts_;
  std::vector<std::pair<uint8_t, uint16_t>> ignore_;
  std::unordered_map<std::string, Pair> pairs_;
  std::unordered_map<uint64_t, std::string> sni_by_flow_;
  uint64_t events_ = 0, evictions_ = 0, alerts_sent_ = 0;
};

}  // namespace komainu
