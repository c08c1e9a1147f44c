// Behavioural detectors: cross-flow analytics fed by the records the pipeline publishes
// (flow start, conn at flow end, dns/http/tls/ssh/smb transactions), never by packets.
// Each detector is one folder under behaviour/ (or zones/) that registers a DetectorApi;
// `DetectorSet` builds the enabled ones from the `detectors:` config section and feeds them.
// Time is data time: `advance(now)` is called as the capture clock moves, so windows close
// the same way on a live interface and on a file.
#pragma once
#include <yaml-cpp/yaml.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/event.h"
#include "core/json.h"
#include "core/registry.h"
#include "core/time.h"

namespace komainu {

class Zones;

// gid of komainu's behavioural alerts (signatures use 1, as Suricata).
inline constexpr uint32_t kBehaviourGid = 9000001;

// The flow table publishes `FlowStartRecord` (flow/flow.h) when a flow is created, so
// detectors can act on the first packet (one SYN) instead of the flow's end.

struct DetectorContext {
  EventSink* alerts = nullptr;         // outputs only: alerts never feed detectors
  const YAML::Node* config = nullptr;  // the detector's section of `detectors:`, or null
  const Zones* zones = nullptr;        // --zones, or null
  std::string config_file;             // for error messages
};

class Detector : public EventSink {
 public:
  // Every record the pipeline publishes (flows at start and end, app-layer transactions).
  void publish(const Record& r) override = 0;
  // Whether publish() wants FlowStartRecords (one per flow, at its first packet). Most
  // detectors work on finished flows and transactions; the set skips them for the others.
  virtual bool wants_flow_start() const { return false; }
  // The data clock moved to `now`: close windows, expire state.
  virtual void advance(TimeNs /*now*/) {}
  // End of input.
  virtual void finish(TimeNs now) { advance(now); }
  // Members of this detector's object in stats.json.
  virtual void write_stats(JsonWriter& w) const = 0;
};

struct DetectorApi {
  std::string_view name;
  // Null with *error set ("file:line: ...") when the config section is wrong.
  std::unique_ptr<Detector> (*create)(const DetectorContext&, std::string* error);
  bool enabled_by_default = true;
};

// --- Helpers shared by detectors ------------------------------------------------------------

// Reads a detector setting: absent keeps the default; wrong type is an error with file:line.
// Unknown keys are reported by `check_keys`.
template <typename T>
bool config_get(const DetectorContext& ctx, const char* key, T& out, std::string* error) {
  if (!ctx.config || !ctx.config->IsMap()) return true;
  YAML::Node n = (*ctx.config)[key];
  if (!n) return true;
  try {
    out = n.as<T>();
  } catch (const YAML::Exception&) {
    *error = ctx.config_file + ":" + std::to_string(n.Mark().line + 1) + ": " + key +
             ": bad value '" + (n.IsScalar() ? n.Scalar() : std::string("?")) + "'";
    return false;
  }
  return true;
}

inline bool config_check_keys(const DetectorContext& ctx, std::string_view detector,
                              const std::vector<std::string_view>& known, std::string* error) {
  if (!ctx.config) return true;
  if (!ctx.config->IsMap()) {
    *error = ctx.config_file + ":" + std::to_string(ctx.config->Mark().line + 1) + ": detectors." +
             std::string(detector) + ": expected a mapping";
    return false;
  }
  for (const auto& kv : *ctx.config) {
    std::string k = kv.first.Scalar();
    bool ok = k == "enabled";
    for (auto s : known) ok = ok || s == k;
    if (!ok) {
      *error = ctx.config_file + ":" + std::to_string(kv.first.Mark().line + 1) +
               ": unknown setting 'detectors." + std::string(detector) + "." + k + "'";
      return false;
    }
  }
  return true;
}

// Builds an AlertRecord in komainu's behavioural form.
struct AlertBuilder {
  AlertRecord rec;
  std::string evidence;
  JsonWriter ev{evidence};

  AlertBuilder(std::string_view detector, uint32_t sid, std::string_view msg, int severity,
               const char* tactic, const char* technique) {
    rec.alert.gid = kBehaviourGid;
    rec.alert.signature_id = sid;
    rec.alert.signature = std::string(msg);
    rec.alert.category = "komainu behavioural: " + std::string(detector);
    rec.alert.severity = severity;
    meta("detector", detector);
    if (tactic) meta("mitre_tactic_id", tactic);
    if (technique) meta("mitre_technique_id", technique);
    ev.begin_object();
  }
  AlertBuilder& meta(std::string_view key, std::string_view value) {
    for (auto& [k, v] : rec.alert.metadata)
      if (k == key) {
        for (const auto& e : v)
          if (e == value) return *this;
        v.emplace_back(value);
        return *this;
      }
    rec.alert.metadata.push_back({std::string(key), {std::string(value)}});
    return *this;
  }
  AlertBuilder& ip(const IpAddr& a) { return meta("ip", a.str()); }
  // Publishes with data time `ts` and src/dest ip.
  void publish(EventSink* sink, TimeNs ts, const IpAddr* src, const IpAddr* dst) {
    ev.end_object();
    rec.ts = ts;
    if (src) rec.src_ip = src->str();
    if (dst) rec.dest_ip = dst->str();
    rec.extra_json.push_back({"evidence", evidence});
    if (sink) sink->publish(rec);
  }
};

// Runs the enabled detectors: an EventSink on the pipeline's bus.
class DetectorSet : public EventSink {
 public:
  // `root` is the whole --config document (may be null). Unknown detector names are errors.
  bool build(const YAML::Node* root, const std::string& config_file, const Zones* zones,
             EventSink* alerts, std::string* error) {
    // yaml-cpp: assigning a missing key's (invalid) node throws; construct from const lookups.
    const YAML::Node section =
        root && root->IsMap() ? static_cast<const YAML::Node&>(*root)["detectors"] : YAML::Node();
    bool have = section.IsDefined() && !section.IsNull();
    if (have && !section.IsMap()) {
      *error = config_file + ":" + std::to_string(section.Mark().line + 1) +
               ": detectors: expected a mapping";
      return false;
    }
    if (have)
      for (const auto& kv : section)
        if (!Registry<DetectorApi>::find(kv.first.Scalar())) {
          *error = config_file + ":" + std::to_string(kv.first.Mark().line + 1) +
                   ": unknown detector '" + kv.first.Scalar() + "'";
          return false;
        }
    for (const DetectorApi* api : Registry<DetectorApi>::sorted()) {
      const YAML::Node n = have ? section[std::string(api->name)] : YAML::Node();
      bool has_n = n.IsDefined() && !n.IsNull();
      bool enabled = api->enabled_by_default;
      if (has_n && n.IsMap() && n["enabled"]) {
        try {
          enabled = n["enabled"].as<bool>();
        } catch (const YAML::Exception&) {
          *error = config_file + ":" + std::to_string(n["enabled"].Mark().line + 1) +
                   ": enabled: expected true or false";
          return false;
        }
      }
      if (!enabled) continue;
      DetectorContext ctx;
      ctx.alerts = alerts;
      ctx.config = has_n ? &n : nullptr;
      ctx.zones = zones;
      ctx.config_file = config_file;
      auto d = api->create(ctx, error);
      if (!d) {
        if (error->empty()) continue;  // not applicable (e.g. needs --zones)
        return false;
      }
      if (d->wants_flow_start()) start_detectors_.push_back(d.get());
      detectors_.push_back({api->name, std::move(d)});
    }
    return true;
  }
  void publish(const Record& r) override {
    std::string_view type = r.event_type();
    if (type == "alert") return;  // alerts go to outputs only
    if (type == "flow_start") {
      for (auto* d : start_detectors_) d->publish(r);
      return;
    }
    for (auto& d : detectors_) d.second->publish(r);
  }
  void advance(TimeNs now) {
    if (now < next_advance_) return;
    next_advance_ = now + kNsPerSec / 10;
    for (auto& d : detectors_) d.second->advance(now);
  }
  void finish(TimeNs now) {
    for (auto& d : detectors_) d.second->finish(now);
  }
  void write_stats(JsonWriter& w) const {
    w.key("detectors").begin_object();
    for (const auto& [name, d] : detectors_) {
      w.key(name).begin_object();
      d->write_stats(w);
      w.end_object();
    }
    w.end_object();
  }
  size_t size() const { return detectors_.size(); }
  Detector* find(std::string_view name) const {
    for (const auto& [n, d] : detectors_)
      if (n == name) return d.get();
    return nullptr;
  }

 private:
  std::vector<std::pair<std::string_view, std::unique_ptr<Detector>>> detectors_;
  std::vector<Detector*> start_detectors_;  // the ones that want FlowStartRecords
  TimeNs next_advance_ = 0;
};

// Hash for IpAddr keys in detector state maps.
struct IpAddrHash {
  size_t operator()(const IpAddr& a) const {
    uint64_t x, y;
    memcpy(&x, a.b.data(), 8);
    memcpy(&y, a.b.data() + 8, 8);
    x ^= y * 0x9e3779b97f4a7c15ull;
    x ^= x >> 31;
    return size_t(x * 0xbf58476d1ce4e5b9ull);
  }
};

// Evicts the least recently seen entry of a capped map whose values have `TimeNs last`.
template <typename Map>
void evict_oldest(Map& m) {
  auto victim = m.begin();
  for (auto it = m.begin(); it != m.end(); ++it)
    if (it->second.last < victim->second.last) victim = it;
  if (victim != m.end()) m.erase(victim);
}

// Shannon entropy in bits per character.
inline double shannon_entropy(std::string_view s) {
  if (s.empty()) return 0;
  unsigned counts[256] = {};
  for (unsigned char c : s) ++counts[c];
  double h = 0;
  for (unsigned c : counts)
    if (c) {
      double p = double(c) / s.size();
      h -= p * std::log2(p);
    }
  return h;
}

}  // namespace komainu
