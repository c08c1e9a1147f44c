// Built-in identity detectors: one folder under logs/identity/, registered with one line.
// A detector sees every normalised event in data-time order, keeps bounded per-entity
// state, and raises EVE alerts (gid 2) through the context.
#pragma once
#include <yaml-cpp/yaml.h>

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/counters.h"
#include "core/event.h"
#include "core/registry.h"
#include "logs/model/log_event.h"

namespace komainu::logs {

inline constexpr uint32_t kIdentityGid = 2;
inline constexpr uint32_t kSigmaGid = 3;
// "Never" for last-alert times: far in the past, yet safe to subtract from a data time.
inline constexpr TimeNs kNever = -(TimeNs(1) << 60);

// Named account lists (--watchlist vip=FILE). Immutable after load.
class Watchlists {
 public:
  bool load(const std::string& name, const std::string& path, std::string* error);
  void add(const std::string& name, std::string account);
  // Names of the lists holding the account ("" user never matches).
  std::vector<std::string_view> lists_for(std::string_view user) const;
  bool empty() const { return lists_.empty(); }
  size_t size(const std::string& name) const;

 private:
  std::vector<std::pair<std::string, std::unordered_set<std::string>>> lists_;
};

// One alert a detector can raise: declared once, so sids are stable and documented.
struct AlertSpec {
  uint32_t sid;
  const char* signature;
  const char* category;
  int severity;  // 1 high .. 3 low
  const char* tactic_id;
  const char* technique_id;
};

// Entities and evidence of one alert, collected by the detector.
struct AlertDraft {
  const AlertSpec* spec = nullptr;
  int severity = 0;  // 0: spec default
  std::vector<std::string> users, ips, domains, hosts;
  std::string evidence_json;  // an object rendered by the detector
};

// What detectors talk to. Owned by the pipeline.
class DetectorContext {
 public:
  DetectorContext(EventSink& sink, const Watchlists& wl) : sink_(sink), watchlists_(wl) {}
  // Publishes an EVE alert timestamped with `completing` (the record that completed the
  // evidence). Watchlisted users raise severity to 1 and add metadata "watchlist".
  void raise(const AlertDraft& d, const LogEvent& completing);
  const Watchlists& watchlists() const { return watchlists_; }
  EventSink& sink() { return sink_; }
  uint64_t alerts() const { return alerts_; }

 private:
  EventSink& sink_;
  const Watchlists& watchlists_;
  uint64_t alerts_ = 0;
};

class IdentityDetector {
 public:
  virtual ~IdentityDetector() = default;
  virtual void on_event(const LogEvent& ev, DetectorContext& ctx) = 0;
  // End of input: flush pending evidence.
  virtual void finish(DetectorContext&) {}
  // Counters (evictions, tracked entities) for stats.
  virtual const CounterSet* counters() const { return nullptr; }
};

struct IdentityDetectorApi {
  std::string_view name;  // key of its settings section in the config file
  std::string_view description;
  // Builds the detector from its settings (a map, possibly null: documented defaults).
  std::unique_ptr<IdentityDetector> (*make)(const YAML::Node& settings);
};

using DetectorRegistry = Registry<IdentityDetectorApi>;

// Settings helpers: missing keys give the default; bad values throw YAML::Exception,
// caught at load with the file and key.
TimeNs setting_duration(const YAML::Node& n, const char* key, TimeNs def);
int64_t setting_int(const YAML::Node& n, const char* key, int64_t def);
double setting_double(const YAML::Node& n, const char* key, double def);
bool setting_bool(const YAML::Node& n, const char* key, bool def);
// "10m", "1h", "30s", "2d" -> ns; false on error.
bool parse_duration(std::string_view s, TimeNs& out);

// Adds the event's user, source IP and host to the draft (deduplicated).
void add_entities(AlertDraft& d, const LogEvent& ev);
// Appends a compact summary of an event to an evidence array (time, user, ip, geo, outcome).
void write_event_summary(JsonWriter& w, const LogEvent& ev);
// Network prefix of an address for "new IP range" baselines: /24 for IPv4, /48 for IPv6.
std::string ip_range(const LogEvent& ev);

// Domain part of a UPN ("" if none).
std::string_view user_domain(std::string_view user);

// Map with a cap and an idle timeout, for per-entity state. Evictions are counted.
template <typename V>
class BoundedMap {
 public:
  BoundedMap(size_t cap, TimeNs idle) : cap_(cap), idle_(idle) {}
  V& touch(const std::string& key, TimeNs now, bool* created = nullptr) {
    auto it = map_.find(key);
    if (it == map_.end()) {
      if (map_.size() >= cap_) evict(now);
      it = map_.emplace(key, Slot{}).first;
      if (created) *created = true;
    } else if (created) {
      *created = false;
    }
    it->second.last = now;
    return it->second.value;
  }
  V* find(const std::string& key) {
    auto it = map_.find(key);
    return it == map_.end() ? nullptr : &it->second.value;
  }
  size_t size() const { return map_.size(); }
  uint64_t evictions() const { return evictions_; }

 private:
  struct Slot {
    TimeNs last = 0;
    V value{};
  };
  void evict(TimeNs now) {
    // Idle entries first; if none are idle, the oldest eighth, so eviction stays amortised.
    for (auto it = map_.begin(); it != map_.end();) {
      if (now - it->second.last > idle_) {
        it = map_.erase(it);
        ++evictions_;
      } else {
        ++it;
      }
    }
    if (map_.size() < cap_) return;
    std::vector<TimeNs> lasts;
    lasts.reserve(map_.size());
    for (auto& [k, s] : map_) lasts.push_back(s.last);
    size_t nth = lasts.size() / 8;
    std::nth_element(lasts.begin(), lasts.begin() + nth, lasts.end());
    TimeNs cut = lasts[nth];
    for (auto it = map_.begin(); it != map_.end();) {
      if (it->second.last <= cut) {
        it = map_.erase(it);
        ++evictions_;
      } else {
        ++it;
      }
    }
  }
  size_t cap_;
  TimeNs idle_;
  std::unordered_map<std::string, Slot> map_;
  uint64_t evictions_ = 0;
};

}  // namespace komainu::logs
