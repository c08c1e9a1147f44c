// `brute_force`: password guessing over SSH, from the SSH analyzer's per-connection verdict
// (Zeek's heuristic over encrypted packet sizes). A connection counts as failed when the
// analyzer saw at least one rejected attempt and no success (Zeek raises ssh_auth_failed for
// the same connections); connections without a verdict (banner grabs, version scanners,
// key-exchange failures) do not count unless `count_undetermined` is set.
//  - guessing: `failed_connections` failed connections from one source to one server in
//    `window` (Zeek: SSH::password_guesses_limit, SSH::guessing_timeout);
//  - spraying: failed connections from one source to `spray_servers` distinct servers (and
//    `failed_connections` in all) in `window`;
//  - success: a successful login on a server the source was guessing on (or from a sprayer).
// One alert per key and window, then an update each time the count doubles (`max_updates`).
#pragma once
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "detect/detector.h"

namespace komainu {

struct BruteForceConfig {
  TimeNs window = 1800 * kNsPerSec;  // Zeek's SSH::guessing_timeout (30 min)
  uint64_t failed_connections = 10;  // per source -> server (Zeek's limit is 30 per source)
  uint64_t spray_servers = 5;        // distinct servers with failed logins from one source
  bool count_undetermined = false;   // connections without an authentication verdict
  uint64_t max_updates = 4;
  uint64_t max_pairs = 20000;
  uint64_t max_sources = 10000;
};

class BruteForceDetector : public Detector {
 public:
  static constexpr uint32_t kSidGuessing = 9100901;
  static constexpr uint32_t kSidSpray = 9100902;
  static constexpr uint32_t kSidSuccess = 9100903;

  BruteForceDetector(const BruteForceConfig& cfg, EventSink* alerts) : cfg_(cfg), alerts_(alerts) {}
  void publish(const Record& r) override;
  bool wants(std::string_view type) const override { return type == "ssh"; }
  void write_stats(JsonWriter& w) const override;
  // For tests: one SSH connection from src to dst ended at `ts` with this verdict
  // (attempts = 0: no verdict).
  void on_ssh(TimeNs ts, const IpAddr& src, const IpAddr& dst, uint16_t dport, bool success,
              uint64_t attempts);

 private:
  struct PairKey {
    IpAddr src, dst;
    friend bool operator==(const PairKey&, const PairKey&) = default;
  };
  struct PairKeyHash {
    size_t operator()(const PairKey& k) const {
      return IpAddrHash{}(k.src) * 31 + IpAddrHash{}(k.dst);
    }
  };
  struct Pair {
    TimeNs start = 0, first = 0, last = 0;
    uint64_t failed = 0, attempts = 0, alerted = 0, updates = 0;
    uint16_t port = 0;
    bool success_alerted = false;
  };
  struct Source {
    TimeNs start = 0, first = 0, last = 0;
    uint64_t failed = 0, attempts = 0, alerted = 0, updates = 0;
    std::vector<IpAddr> servers;  // distinct servers with failures (capped)
    uint64_t servers_over_cap = 0;
  };
  static constexpr size_t kMaxServersPerSource = 256;

  void alert_guessing(const PairKey& k, Pair& p, bool update, TimeNs ts);
  void alert_spray(const IpAddr& src, Source& s, bool update, TimeNs ts);
  void alert_success(const PairKey& k, const Pair* p, const Source* s, uint16_t dport, TimeNs ts);

  BruteForceConfig cfg_;
  EventSink* alerts_;
  std::unordered_map<PairKey, Pair, PairKeyHash> pairs_;
  std::unordered_map<IpAddr, Source, IpAddrHash> sources_;
  uint64_t connections_ = 0, failed_ = 0, undetermined_ = 0, successes_ = 0;
  uint64_t pair_evictions_ = 0, source_evictions_ = 0, alerts_sent_ = 0;
};

}  // namespace komainu
