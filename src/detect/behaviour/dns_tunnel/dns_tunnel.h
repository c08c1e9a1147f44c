// `dns_tunnel`: DNS used as a data channel. Per source and registered domain in a window:
// queries with long or high-entropy labels, unique subdomains, TXT/NULL query volume. One
// alert per source and domain, updated when the evidence doubles (bounded).
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
};

// "a.b.example.co.uk" -> "example.co.uk" (a short built-in list of two-level suffixes).
std::string registered_domain(std::string_view name);

class DnsTunnelDetector : public Detector {
 public:
  static constexpr uint32_t kSid = 9100601;

  DnsTunnelDetector(const DnsTunnelConfig& cfg, EventSink* alerts) : cfg_(cfg), alerts_(alerts) {}
  void publish(const Record& r) override;
  bool wants(std::string_view type) const override { return type == "dns"; }
  void write_stats(JsonWriter& w) const override;
  void on_query(TimeNs ts, const IpAddr& src, const IpAddr& resolver, const std::string& qname,
                uint16_t qtype);

 private:
  struct Key {
    TimeNs start = 0, first = 0, last = 0;
    uint64_t queries = 0, suspicious = 0, txt_null = 0, longest = 0, alerted = 0, updates = 0;
    double max_entropy = 0;
    std::unordered_set<uint64_t> subdomains;
    std::vector<std::string> samples;
  };

  DnsTunnelConfig cfg_;
  EventSink* alerts_;
  std::unordered_map<std::string, Key> keys_;
  uint64_t queries_ = 0, evictions_ = 0, alerts_sent_ = 0;
};

}  // namespace komainu
