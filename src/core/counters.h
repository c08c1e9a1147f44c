// Declared counters. A module declares its counters as a table (name, help) once, then
// increments plain integers on the hot path; stats.json is produced from the tables, so no
// count can exist without a name. Every drop, eviction and malformed input is one of these.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace komainu {

struct CounterInfo {
  const char* name;
  const char* help;
};

// One module's counters in one worker. Values are plain integers: each worker owns its own
// set and the sets are summed when stats are written.
class CounterSet {
 public:
  CounterSet(std::string module, std::vector<CounterInfo> info)
      : module_(std::move(module)), info_(std::move(info)), values_(info_.size(), 0) {}

  uint64_t& operator[](size_t i) { return values_[i]; }
  uint64_t operator[](size_t i) const { return values_[i]; }
  const std::string& module() const { return module_; }
  const std::vector<CounterInfo>& info() const { return info_; }
  const std::vector<uint64_t>& values() const { return values_; }
  void add(const CounterSet& other) {
    for (size_t i = 0; i < values_.size() && i < other.values_.size(); ++i)
      values_[i] += other.values_[i];
  }

 private:
  std::string module_;
  std::vector<CounterInfo> info_;
  std::vector<uint64_t> values_;
};

// Named-reason counters whose names are only known at run time (Zeek-style "weird" names).
// Reasons are interned once; counting by index is then a plain increment.
class ReasonCounter {
 public:
  size_t intern(const std::string& reason) {
    for (size_t i = 0; i < names_.size(); ++i)
      if (names_[i] == reason) return i;
    names_.push_back(reason);
    counts_.push_back(0);
    return names_.size() - 1;
  }
  void count(size_t id, uint64_t n = 1) { counts_[id] += n; }
  const std::vector<std::string>& names() const { return names_; }
  const std::vector<uint64_t>& counts() const { return counts_; }
  uint64_t total() const {
    uint64_t t = 0;
    for (auto c : counts_) t += c;
    return t;
  }

 private:
  std::vector<std::string> names_;
  std::vector<uint64_t> counts_;
};

}  // namespace komainu
