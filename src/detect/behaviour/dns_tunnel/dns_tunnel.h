// `dns_tunnel`: DNS used as a data channel. Per source and registered domain in a window:
// queries with long or high-entropy labels, unique subdomains, TXT/NULL query volume. One
// alert per source and domain, updated when the evidence doubles (bounded).
// Also the DNS port used by something that is not DNS: a two-way conversation on port 53
// that no analyzer recognised (iodine's raw mode, VPNs on 53 to pass firewalls that open it).
#pragma once
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "detect/detector.h"

namespace komainu {

struct DnsTunnelConfig {
  TimeNs window = 3600 * kNsPerSec;
  uint64_t long_label = 40;     // a label at least this long is "long"
  double high_entropy = 3.8;    // bits/char of a label >= 16 chars
  uint64_t min_suspicious = 5;  // queries with a long or high-entropy label
  uint64_t min_unique_subdomains = 100;
  uint64_t min_txt_null = 50;
  uint64_t max_updates = 4;
  uint64_t max_keys = 50000;
  uint64_t max_subdomains_per_key = 10000;
  // Non-DNS on port 53: a flow to port 53 whose protocol detection gave up, with payload both
  // ways and at least this many packets. 0 turns the rule off.
  uint64_t non_dns_min_packets = 10;
};

// "a.b.example.co.uk" -> "example.co.uk" (a short built-in list of two-level suffixes).
std::string registered_domain(std::string_view name);

class DnsTunnelDetector : public Detector {
 public:
  static constexpr uint32_t kSid = 9100601;
  static constexpr uint32_t kNonDnsSid = 9100602;

  // `app_layer`: analyzers run, so a flow without a service really was not recognised.
  DnsTunnelDetector(const DnsTunnelConfig& cfg, EventSink* alerts, bool app_layer = true)
      : cfg_(cfg), alerts_(alerts), non_dns_(app_layer && cfg.non_dns_min_packets) {}
  void publish(const Record& r) override;
  bool wants(std::string_view type) const override {
    return type == "dns" || (non_dns_ && type == "flow");
  }
  void write_stats(JsonWriter& w) const override;
  void on_query(TimeNs ts, const IpAddr& src, const IpAddr& resolver, const std::string& qname,
                uint16_t qtype);
  // A finished flow to port 53 that no analyzer claimed (detection gave up).
  void on_non_dns_flow(TimeNs first, TimeNs last, const IpAddr& src, const IpAddr& dst,
                       uint8_t proto, uint64_t packets, uint64_t bytes_out, uint64_t bytes_in);

 private:
  struct Key {
    TimeNs start = 0, first = 0, last = 0;
    uint64_t queries = 0, suspicious = 0, txt_null = 0, longest = 0, alerted = 0, updates = 0;
    double max_entropy = 0;
    std::unordered_set<uint64_t> subdomains;
    std::vector<std::string> samples;
  };

  // Non-DNS on port 53, per source and server: one alert, updated when packets double.
  struct Pair {
    TimeNs first = 0, last = 0;
    uint64_t flows = 0, packets = 0, bytes_out = 0, bytes_in = 0, alerted = 0, updates = 0;
  };

  DnsTunnelConfig cfg_;
  EventSink* alerts_;
  bool non_dns_;
  std::unordered_map<std::string, Key> keys_;
  std::unordered_map<std::string, Pair> pairs_;
  uint64_t queries_ = 0, evictions_ = 0, alerts_sent_ = 0, non_dns_flows_ = 0;
};

}  // namespace komainu
