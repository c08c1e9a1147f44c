// Built-in identity detectors: one folder under logs/identity/, registered with one line.
// A detector sees every normalised event in data-time order, keeps bounded per-entity
// state, and raises EVE alerts (gid 2) through the context.
#pragma once
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstring>
#include <deque>
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

// 64-bit hash of an entity key (account, address), eight bytes at a time.
inline uint64_t key_hash(std::string_view s) {
  uint64_t h = 0x9e3779b97f4a7c15ull ^ (uint64_t(s.size()) * 0xff51afd7ed558ccdull);
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t w;
    memcpy(&w, s.data() + i, 8);
    h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 31;
  }
  uint64_t w = 0;
  memcpy(&w, s.data() + i, s.size() - i);
  h = (h ^ w) * 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 29;
  return h;
}

// An interned account: dense id plus the generation of that id (ids of evicted accounts are
// reused; a detector holding state for an older generation drops it).
struct AccountRef {
  static constexpr uint32_t kNone = UINT32_MAX;
  uint32_t id = kNone;
  uint32_t gen = 0;
  bool valid() const { return id != kNone; }
};

// Map with a cap and an idle timeout, for per-entity state. Evictions are counted.
// Entries live in a deque (references stay valid until the entry is evicted) indexed by
// an open-addressing table of (hash, entry) pairs: a lookup is one hash of the key, one
// or two probes and one key comparison, with no allocation.
template <typename V>
class BoundedMap {
 public:
  BoundedMap(size_t cap, TimeNs idle) : cap_(cap), idle_(idle) { table_.resize(64); }
  V& touch(std::string_view key, TimeNs now, bool* created = nullptr) {
    return entries_[touch_index(key, now, created)].value;
  }
  // The entry's index: dense, kept until the entry is evicted, then reused (AccountTable
  // hands it out as an id).
  uint32_t touch_index(std::string_view key, TimeNs now, bool* created = nullptr) {
    uint64_t h = key_hash(key);
    size_t pos;
    uint32_t idx = lookup(key, h, pos);
    if (idx == kEmpty) {
      if (live_ >= cap_) {
        evict(now);
        lookup(key, h, pos);  // the table was rebuilt: find the free position again
      }
      idx = insert_at(pos, key, h);
      if (created) *created = true;
    } else if (created) {
      *created = false;
    }
    entries_[idx].last = now;
    return idx;
  }
  // Marks entry `idx` seen at `now` when it still holds `key`; false otherwise.
  bool refresh(uint32_t idx, std::string_view key, TimeNs now) {
    if (idx >= entries_.size()) return false;
    Entry& e = entries_[idx];
    if (!e.live || e.key() != key) return false;
    e.last = now;
    return true;
  }
  V* find(std::string_view key) {
    size_t pos;
    uint32_t idx = lookup(key, key_hash(key), pos);
    return idx == kEmpty ? nullptr : &entries_[idx].value;
  }
  size_t size() const { return live_; }
  uint64_t evictions() const { return evictions_; }
  void set_cap(size_t cap) { cap_ = cap; }

 private:
  static constexpr uint32_t kEmpty = UINT32_MAX;
  // Keys up to kInline bytes (most accounts and addresses) are held in the entry itself,
  // so confirming a hash match touches no memory beyond the entry.
  static constexpr size_t kInline = 48;
  struct Entry {
    uint64_t hash = 0;
    TimeNs last = 0;
    uint32_t key_len = 0;
    bool live = false;
    char key_inline[kInline];
    std::string key_heap;
    V value{};
    std::string_view key() const {
      return key_len <= kInline ? std::string_view(key_inline, key_len) : key_heap;
    }
  };
  struct Bucket {
    uint64_t hash = 0;
    uint32_t idx = kEmpty;
  };

  // Entry index of key, or kEmpty with pos at the free bucket where it would go.
  uint32_t lookup(std::string_view key, uint64_t h, size_t& pos) const {
    size_t mask = table_.size() - 1;
    for (pos = size_t(h) & mask;; pos = (pos + 1) & mask) {
      const Bucket& b = table_[pos];
      if (b.idx == kEmpty) return kEmpty;
      if (b.hash == h && entries_[b.idx].key() == key) return b.idx;
    }
  }
  uint32_t insert_at(size_t pos, std::string_view key, uint64_t h) {
    uint32_t idx;
    if (!free_.empty()) {
      idx = free_.back();
      free_.pop_back();
    } else {
      idx = uint32_t(entries_.size());
      entries_.emplace_back();
    }
    Entry& e = entries_[idx];
    e.key_len = uint32_t(key.size());
    if (key.size() <= kInline)
      memcpy(e.key_inline, key.data(), key.size());
    else
      e.key_heap.assign(key);
    e.hash = h;
    e.live = true;
    e.value = V{};
    table_[pos] = Bucket{h, idx};
    ++live_;
    if (live_ * 2 > table_.size()) rebuild(table_.size() * 2);
    return idx;
  }
  void rebuild(size_t buckets) {
    table_.assign(buckets, Bucket{});
    size_t mask = buckets - 1;
    for (uint32_t i = 0; i < entries_.size(); ++i) {
      if (!entries_[i].live) continue;
      size_t pos = size_t(entries_[i].hash) & mask;
      while (table_[pos].idx != kEmpty) pos = (pos + 1) & mask;
      table_[pos] = Bucket{entries_[i].hash, i};
    }
  }
  void kill(uint32_t i) {
    Entry& e = entries_[i];
    e.live = false;
    e.key_heap.clear();
    e.value = V{};
    free_.push_back(i);
    --live_;
    ++evictions_;
  }
  void evict(TimeNs now) {
    // Idle entries first; if none are idle, the oldest eighth, so eviction stays amortised.
    for (uint32_t i = 0; i < entries_.size(); ++i)
      if (entries_[i].live && now - entries_[i].last > idle_) kill(i);
    if (live_ >= cap_ && live_ > 0) {
      std::vector<TimeNs> lasts;
      lasts.reserve(live_);
      for (const Entry& e : entries_)
        if (e.live) lasts.push_back(e.last);
      size_t nth = lasts.size() / 8;
      std::nth_element(lasts.begin(), lasts.begin() + nth, lasts.end());
      TimeNs cut = lasts[nth];
      for (uint32_t i = 0; i < entries_.size(); ++i)
        if (entries_[i].live && entries_[i].last <= cut) kill(i);
    }
    rebuild(table_.size());
  }

  size_t cap_;
  TimeNs idle_;
  std::deque<Entry> entries_;
  std::vector<uint32_t> free_;
  std::vector<Bucket> table_;
  size_t live_ = 0;
  uint64_t evictions_ = 0;
};

// Account name -> AccountRef, shared by the detectors: an event's account is looked up once
// (one hash, one probe, one compare) and every account-keyed detector then indexes its own
// state array by the id (AccountMap), instead of each hashing the name into its own map.
// A BoundedMap's entry index is the id: at the cap, idle accounts and then the least
// recently seen eighth are evicted, and a reused id gets a new generation.
class AccountTable {
 public:
  AccountTable(size_t cap, TimeNs idle) : map_(std::max<size_t>(cap, 1), idle) {}
  AccountRef intern(std::string_view account, TimeNs now) {
    bool created = false;
    uint32_t id = map_.touch_index(account, now, &created);
    if (id >= gen_.size()) gen_.resize(size_t(id) + 1, 0);
    if (created) ++gen_[id];  // a reused id is a new account to the detectors' AccountMaps
    return AccountRef{id, gen_[id]};
  }
  // When ref is still the id of this account (not evicted and reused), marks it seen at
  // `now` and returns true: the lookup a repeated ask for the same account can skip.
  bool refresh(AccountRef ref, std::string_view account, TimeNs now) {
    return ref.id < gen_.size() && gen_[ref.id] == ref.gen && map_.refresh(ref.id, account, now);
  }
  size_t size() const { return map_.size(); }
  uint64_t evictions() const { return map_.evictions(); }
  void set_cap(size_t cap) { map_.set_cap(std::max<size_t>(cap, 1)); }

 private:
  struct Nothing {};
  BoundedMap<Nothing> map_;
  std::vector<uint32_t> gen_;  // per id
};

// What detectors talk to. Owned by the pipeline.
class DetectorContext {
 public:
  static constexpr size_t kDefaultMaxAccounts = 1000000;
  DetectorContext(EventSink& sink, const Watchlists& wl, size_t max_accounts = kDefaultMaxAccounts)
      : sink_(sink), watchlists_(wl), accounts_(max_accounts, 365 * 86400 * kNsPerSec) {}
  // The interned account of ev.user (invalid when empty). The first detector to ask for an
  // event interns it; the others get the same ref after one compare.
  AccountRef account(const LogEvent& ev) {
    if (ev.user.empty()) return {};
    if (!accounts_.refresh(last_, ev.user, ev.ts)) last_ = accounts_.intern(ev.user, ev.ts);
    return last_;
  }
  const AccountTable& accounts() const { return accounts_; }
  // identity.max_accounts: accounts interned at once (before the first event).
  void set_max_accounts(size_t n) { accounts_.set_cap(n); }
  // Publishes an EVE alert timestamped with `completing` (the record that completed the
  // evidence). Watchlisted users raise severity to 1 and add metadata "watchlist".
  void raise(const AlertDraft& d, const LogEvent& completing);
  const Watchlists& watchlists() const { return watchlists_; }
  EventSink& sink() { return sink_; }
  uint64_t alerts() const { return alerts_; }

 private:
  EventSink& sink_;
  const Watchlists& watchlists_;
  AccountTable accounts_;
  AccountRef last_;
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

// Per-account state of one detector, indexed by the shared account id (AccountTable): one
// array access per event. Bounded like BoundedMap by its own cap and idle time (evictions
// counted); state of an id that the account table has since given to another account is
// dropped and counted as evicted.
template <typename V>
class AccountMap {
 public:
  AccountMap(size_t cap, TimeNs idle) : cap_(cap), idle_(idle) {}
  V& touch(AccountRef a, TimeNs now, bool* created = nullptr) {
    if (a.id >= cells_.size()) cells_.resize(size_t(a.id) + 1);
    Cell* c = &cells_[a.id];
    if (c->live && c->gen != a.gen) kill(*c);
    bool fresh = !c->live;
    if (fresh) {  // a dead cell holds V{} (never used, or reset by kill)
      if (live_ >= cap_) {
        evict(now);
        c = &cells_[a.id];
      }
      c->live = true;
      c->gen = a.gen;
      ++live_;
    }
    if (created) *created = fresh;
    c->last = now;
    return c->value;
  }
  V* find(AccountRef a) {
    if (a.id >= cells_.size()) return nullptr;
    Cell& c = cells_[a.id];
    return c.live && c.gen == a.gen ? &c.value : nullptr;
  }
  size_t size() const { return live_; }
  uint64_t evictions() const { return evictions_; }

 private:
  struct Cell {
    uint32_t gen = 0;
    bool live = false;
    TimeNs last = 0;
    V value{};
  };
  void kill(Cell& c) {
    c.live = false;
    c.value = V{};
    --live_;
    ++evictions_;
  }
  void evict(TimeNs now) {
    // Idle entries first; if none are idle, the oldest eighth, so eviction stays amortised.
    for (Cell& c : cells_)
      if (c.live && now - c.last > idle_) kill(c);
    if (live_ >= cap_ && live_ > 0) {
      std::vector<TimeNs> lasts;
      lasts.reserve(live_);
      for (const Cell& c : cells_)
        if (c.live) lasts.push_back(c.last);
      size_t nth = lasts.size() / 8;
      std::nth_element(lasts.begin(), lasts.begin() + nth, lasts.end());
      TimeNs cut = lasts[nth];
      for (Cell& c : cells_)
        if (c.live && c.last <= cut) kill(c);
    }
  }

  size_t cap_;
  TimeNs idle_;
  std::vector<Cell> cells_;
  size_t live_ = 0;
  uint64_t evictions_ = 0;
};

}  // namespace komainu::logs
