// `mass_file_access`: SMB2 CREATE/READ of many distinct files by one source (with its users
// and shares) in a window. One alert as soon as the count reaches the threshold, then an
// update each time it doubles (at most `max_updates`), never one alert per file.
#pragma once
#include <map>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "detect/detector.h"

namespace komainu {

struct MassFileConfig {
  TimeNs window = 600 * kNsPerSec;
  uint64_t min_files = 25;
  uint64_t max_updates = 8;
  uint64_t max_sources = 10000;
  uint64_t max_files_per_source = 200000;  // distinct names remembered; beyond: counted only
};

class MassFileAccessDetector : public Detector {
 public:
  static constexpr uint32_t kSid = 9100301;

  MassFileAccessDetector(const MassFileConfig& cfg, EventSink* alerts)
      : cfg_(cfg), alerts_(alerts) {}
  void publish(const Record& r) override;
  bool wants(std::string_view type) const override { return type == "flow" || type == "smb"; }
  void write_stats(JsonWriter& w) const override;
  // For tests: one file opened or read.
  void on_file(TimeNs ts, const IpAddr& src, const IpAddr& server, const std::string& share,
               const std::string& user, const std::string& file, uint64_t bytes);

 private:
  struct Source {
    TimeNs start = 0, first = 0, last = 0;
    U64Set files;  // hashes of (server, share, file): open addressing, no node per file
    uint64_t opens = 0, bytes = 0, alerted = 0, updates = 0, over_cap = 0;
    std::set<std::string> users, shares;
    std::set<IpAddr> servers;
    std::vector<std::string> samples;
  };
  struct FlowInfo {
    std::string user;
    std::map<uint32_t, std::string> trees;
    TimeNs last = 0;
  };

  MassFileConfig cfg_;
  EventSink* alerts_;
  std::unordered_map<IpAddr, Source, IpAddrHash> sources_;
  struct FlowIdHash {
    size_t operator()(uint64_t id) const { return size_t(id); }
  };
  // flow_id -> session context. Open addressing: every flow's end probes it (to forget an
  // SMB session), so a lookup is one slot, not a bucket chain.
  FlatMap<uint64_t, FlowInfo, FlowIdHash> flows_;
  uint64_t files_seen_ = 0, evictions_ = 0, flow_evictions_ = 0, alerts_sent_ = 0;
};

}  // namespace komainu
