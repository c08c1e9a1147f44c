// Behavioural detectors: cross-flow analytics fed by the records the pipeline publishes
// (flow start, conn at flow end, dns/http/tls/ssh/smb transactions), never by packets.
// Each detector is one folder under behaviour/ (or zones/) that registers a DetectorApi;
// `DetectorSet` builds the enabled ones from the `detectors:` config section and feeds them.
// Time is data time: `advance(now)` is called as the capture clock moves, so windows close
// the same way on a live interface and on a file.
#pragma once
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/event.h"
#include "core/json.h"
#include "core/registry.h"
#include "core/spin_mutex.h"
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
  // Whether app-layer analyzers run (`flow.analyzers`). Without them every flow ends with no
  // service, so a detector that reads "no analyzer recognised this flow" must stay quiet.
  bool app_layer = true;
};

class Detector : public EventSink {
 public:
  // Every record the pipeline publishes (flows at start and end, app-layer transactions).
  void publish(const Record& r) override = 0;
  // Whether publish() wants FlowStartRecords (one per flow, at its first packet). Most
  // detectors work on finished flows and transactions; the set skips them for the others.
  virtual bool wants_flow_start() const { return false; }
  // Whether publish() wants the records of this EVE event_type ("flow", "dns", "smb", ...).
  // The set asks once per type and then hands each record only to the detectors that want
  // it: a detector costs nothing on the records it ignores. Default: all of them.
  virtual bool wants(std::string_view /*event_type*/) const { return true; }
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
  bool app_layer = true;  // copied into each DetectorContext by build()

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
      ctx.app_layer = app_layer;
      auto d = api->create(ctx, error);
      if (!d) {
        if (error->empty()) continue;  // not applicable (e.g. needs --zones)
        return false;
      }
      detectors_.push_back({api->name, std::move(d)});
    }
    return true;
  }
  // Records will come from several worker threads at once (--workers): each detector is then
  // locked on its own, so two workers can be in different detectors at the same time. Set
  // before the first record.
  void set_concurrent(bool on) {
    concurrent_ = on;
    locks_ = std::make_unique<SpinMutex[]>(detectors_.size());
  }
  void publish(const Record& r) override {
    if (!concurrent_) {
      for (Detector* d : route(r.event_type())) d->publish(r);
      return;
    }
    for (size_t i : route_concurrent(r.event_type())) {
      std::lock_guard lock(locks_[i]);
      detectors_[i].second->publish(r);
    }
  }
  // Whether advance(now) would do anything: the caller can skip working out `now` (the
  // pipeline's watermark) for most packets.
  bool due(TimeNs now) const { return now >= next_advance_; }
  // From one thread (the reading thread).
  void advance(TimeNs now) {
    if (now < next_advance_) return;
    next_advance_ = now + kNsPerSec / 10;
    for (size_t i = 0; i < detectors_.size(); ++i) {
      std::unique_lock<SpinMutex> lock;
      if (concurrent_) lock = std::unique_lock<SpinMutex>(locks_[i]);
      detectors_[i].second->advance(now);
    }
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
  // The detectors that want one event type. Types are string literals, so a route is found
  // by the literal's address first; the text decides when the address is new.
  struct Route {
    const char* data;
    size_t size;
    std::string type;
    std::vector<Detector*> detectors;
  };
  const std::vector<Detector*>& route(std::string_view type) {
    for (const Route& r : routes_)
      if (r.data == type.data() && r.size == type.size()) return r.detectors;
    std::vector<Detector*> ds;
    bool known = false;
    for (const Route& r : routes_)
      if (r.type == type) {
        ds = r.detectors;
        known = true;
        break;
      }
    if (!known && type != "alert")  // alerts go to the outputs only
      for (auto& [name, d] : detectors_)
        if (type == "flow_start" ? d->wants_flow_start() : d->wants(type)) ds.push_back(d.get());
    // A type whose text does not live in a literal would add a route per record: bounded.
    if (routes_.size() >= 256) {
      scratch_route_ = std::move(ds);
      return scratch_route_;
    }
    routes_.push_back({type.data(), type.size(), std::string(type), std::move(ds)});
    return routes_.back().detectors;
  }

  // route() for any thread, as indices into detectors_ (and locks_): each thread keeps its
  // own copy of the routes it used, so a record takes no shared lock before its detectors'.
  const std::vector<size_t>& route_concurrent(std::string_view type) {
    struct Cached {
      uint64_t set;
      const char* data;
      size_t size;
      std::vector<size_t> detectors;
    };
    thread_local std::vector<Cached> cache;
    thread_local std::vector<size_t> scratch;
    for (const Cached& c : cache)
      if (c.set == id_ && c.data == type.data() && c.size == type.size()) return c.detectors;
    std::vector<size_t> ds;
    {
      std::lock_guard lock(route_mu_);
      for (Detector* d : route(type))
        for (size_t i = 0; i < detectors_.size(); ++i)
          if (detectors_[i].second.get() == d) ds.push_back(i);
    }
    if (cache.size() >= 256) {
      scratch = std::move(ds);
      return scratch;
    }
    cache.push_back({id_, type.data(), type.size(), std::move(ds)});
    return cache.back().detectors;
  }

  static uint64_t next_id() {
    static std::atomic<uint64_t> n{0};
    return ++n;
  }

  std::vector<std::pair<std::string_view, std::unique_ptr<Detector>>> detectors_;
  std::vector<Route> routes_;
  std::vector<Detector*> scratch_route_;
  TimeNs next_advance_ = 0;
  bool concurrent_ = false;
  std::unique_ptr<SpinMutex[]> locks_;  // one per detector, when concurrent
  SpinMutex route_mu_;
  const uint64_t id_ = next_id();  // tells sets apart in the per-thread route caches
};

// The SNI of a flow's TLS ClientHello, held until the flow's conn record arrives (a flow's
// transactions are published before its conn record). Bounded: past kMax flows waiting,
// new SNIs are not kept.
class SniByFlow {
 public:
  static constexpr size_t kMax = 100000;
  void remember(uint64_t flow_id, const std::string& sni) {
    if (map_.size() < kMax) map_[flow_id] = sni;
  }
  // The flow's SNI ("" when none), forgotten once taken.
  std::string take(uint64_t flow_id) {
    std::string sni;
    if (!map_.empty())
      if (auto it = map_.find(flow_id); it != map_.end()) {
        sni = std::move(it->second);
        map_.erase(it);
      }
    return sni;
  }

 private:
  std::unordered_map<uint64_t, std::string> map_;
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

// A set of 64-bit keys (hashes of pairs, ids) with open addressing: no allocation per insert,
// one probe sequence per lookup. The table doubles as it fills (load <= 1/2).
class U64Set {
 public:
  // True when `k` was not in the set.
  bool insert(uint64_t k) {
    if (k == 0) {  // 0 marks an empty slot; remembered aside
      bool added = !has_zero_;
      has_zero_ = true;
      size_ += added;
      return added;
    }
    if ((size_ + 1) * 2 > slots_.size()) grow();
    size_t mask = slots_.size() - 1;
    for (size_t i = mix(k) & mask;; i = (i + 1) & mask) {
      if (slots_[i] == k) return false;
      if (slots_[i] == 0) {
        slots_[i] = k;
        ++size_;
        return true;
      }
    }
  }
  bool contains(uint64_t k) const {
    if (k == 0) return has_zero_;
    if (slots_.empty()) return false;
    size_t mask = slots_.size() - 1;
    for (size_t i = mix(k) & mask;; i = (i + 1) & mask) {
      if (slots_[i] == k) return true;
      if (slots_[i] == 0) return false;
    }
  }
  size_t size() const { return size_; }
  void clear() {
    std::fill(slots_.begin(), slots_.end(), 0);
    size_ = 0;
    has_zero_ = false;
  }

 private:
  static uint64_t mix(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    return x ^ (x >> 33);
  }
  void grow() {
    std::vector<uint64_t> old;
    old.swap(slots_);
    slots_.assign(old.empty() ? 64 : old.size() * 2, 0);
    size_t mask = slots_.size() - 1;
    for (uint64_t k : old)
      if (k)
        for (size_t i = mix(k) & mask;; i = (i + 1) & mask)
          if (slots_[i] == 0) {
            slots_[i] = k;
            break;
          }
  }
  std::vector<uint64_t> slots_;
  size_t size_ = 0;
  bool has_zero_ = false;
};

// A hash map with open addressing (linear probing, backward-shift deletion) whose entries
// live in one array: no allocation per entry, one cache line per lookup in the common case.
// For per-entity detector state keyed by small integer structs. Values must be movable;
// pointers into the map are invalidated by insert and erase.
template <typename K, typename V, typename Hash>
class FlatMap {
 public:
  V* find(const K& k) {
    if (size_ == 0) return nullptr;
    size_t mask = slots_.size() - 1;
    for (size_t i = home(k);; i = (i + 1) & mask) {
      Slot& s = slots_[i];
      if (!s.used) return nullptr;
      if (s.key == k) return &s.value;
    }
  }
  // Inserts `k` (which must be absent) with a default value.
  V& insert(const K& k) {
    if ((size_ + 1) * 2 > slots_.size()) grow();
    size_t mask = slots_.size() - 1;
    size_t i = home(k);
    while (slots_[i].used) i = (i + 1) & mask;
    slots_[i].used = true;
    slots_[i].key = k;
    slots_[i].value = V{};
    ++size_;
    return slots_[i].value;
  }
  void erase(const K& k) {
    if (size_ == 0) return;
    size_t mask = slots_.size() - 1;
    size_t i = home(k);
    for (;; i = (i + 1) & mask) {
      if (!slots_[i].used) return;
      if (slots_[i].key == k) break;
    }
    // Backward shift: pull later entries of the run into the hole when their home allows.
    for (size_t j = (i + 1) & mask;; j = (j + 1) & mask) {
      if (!slots_[j].used) break;
      size_t h = home(slots_[j].key);
      if (((j - h) & mask) >= ((j - i) & mask)) {
        slots_[i].key = slots_[j].key;
        slots_[i].value = std::move(slots_[j].value);
        i = j;
      }
    }
    slots_[i].used = false;
    slots_[i].value = V{};
    --size_;
  }
  // The entry of `k`, inserted (default value) when absent; a map already holding `cap`
  // entries first evicts its least recently seen one (smallest `last`), counted.
  V& find_or_insert(const K& k, size_t cap, uint64_t& evictions, bool& inserted) {
    if (V* v = find(k)) {
      inserted = false;
      return *v;
    }
    if (size_ >= cap) {
      K victim;
      if (oldest(victim)) erase(victim);
      ++evictions;
    }
    inserted = true;
    return insert(k);
  }
  size_t size() const { return size_; }
  // Calls f(key, value) for every entry.
  template <typename F>
  void for_each(F&& f) {
    for (Slot& s : slots_)
      if (s.used) f(s.key, s.value);
  }
  // The key of the entry whose value has the smallest `last` (least recently seen).
  bool oldest(K& out) const {
    const Slot* victim = nullptr;
    for (const Slot& s : slots_)
      if (s.used && (!victim || s.value.last < victim->value.last)) victim = &s;
    if (victim) out = victim->key;
    return victim != nullptr;
  }

 private:
  // Fibonacci hashing: the slot comes from the top bits of hash × 2^64/φ, so hashes whose
  // low bits hardly vary (addresses, ports) still spread over the table.
  size_t home(const K& k) const {
    return size_t((uint64_t(Hash{}(k)) * 0x9e3779b97f4a7c15ull) >> shift_);
  }
  struct Slot {
    K key{};
    V value{};
    bool used = false;
  };
  void grow() {
    std::vector<Slot> old;
    old.swap(slots_);
    slots_.resize(old.empty() ? 64 : old.size() * 2);
    shift_ = 64 - unsigned(std::countr_zero(slots_.size()));
    size_t mask = slots_.size() - 1;
    for (Slot& s : old)
      if (s.used) {
        size_t i = home(s.key);
        while (slots_[i].used) i = (i + 1) & mask;
        slots_[i].used = true;
        slots_[i].key = s.key;
        slots_[i].value = std::move(s.value);
      }
  }
  std::vector<Slot> slots_;
  size_t size_ = 0;
  unsigned shift_ = 63;
};

// Evicts the least recently seen entry of a capped map whose values have `TimeNs last`.
template <typename Map>
void evict_oldest(Map& m) {
  auto victim = m.begin();
  for (auto it = m.begin(); it != m.end(); ++it)
    if (it->second.last < victim->second.last) victim = it;
  if (victim != m.end()) m.erase(victim);
}

// The entry of `key` in a capped map of windowed counters (values with `TimeNs start, first,
// last`): created when absent (evicting the least recently seen entry, counted, when the map
// is full), restarted when its tumbling window has passed; a clock jump backwards keeps the
// window.
template <typename Map, typename Key>
typename Map::mapped_type& windowed_entry(Map& m, const Key& key, TimeNs ts, TimeNs window,
                                          size_t cap, uint64_t& evictions) {
  auto it = m.find(key);
  if (it == m.end()) {
    if (m.size() >= cap) {
      evict_oldest(m);
      ++evictions;
    }
    it = m.emplace(key, typename Map::mapped_type{}).first;
    it->second.start = it->second.first = ts;
  }
  auto& v = it->second;
  if (ts - v.start > window) {
    v = typename Map::mapped_type{};
    v.start = v.first = ts;
  }
  v.last = std::max(v.last, ts);
  return v;
}

// Alert-then-update policy of the counting detectors: the first alert when `n` reaches
// `threshold`, then one update each time `n` doubles, at most `max_updates`. `alerted` holds
// the count at the last alert; `*update` says whether this one is an update.
inline bool doubling_alert(uint64_t n, uint64_t threshold, uint64_t& alerted, uint64_t& updates,
                           uint64_t max_updates, bool* update) {
  if (n < threshold || (alerted && (n < 2 * alerted || updates >= max_updates))) return false;
  *update = alerted != 0;
  if (*update) ++updates;
  alerted = n;
  return true;
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
