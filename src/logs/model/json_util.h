// simdjson DOM helpers shared by the JSON sources. Keys are matched case-insensitively
// because the same record arrives as Graph camelCase, Sentinel PascalCase and lower-cased
// diagnostic exports.
#pragma once
#include <simdjson.h>

#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace komainu::logs {

// Lower-cases key into buf (up to 63 chars); returns the view, or {} when longer.
std::string_view fold_key(std::string_view key, char (&buf)[64]);
// Member by case-insensitive key, or an invalid result.
simdjson::simdjson_result<simdjson::dom::element> get_ci(simdjson::dom::object o,
                                                         std::string_view key);
// Scalar text: strings as-is, numbers/bools rendered, null -> false. Objects and arrays
// are rendered as minified JSON.
bool scalar_text(simdjson::dom::element e, std::string& out);
// Convenience: assign scalar text to out if e is set.
inline void assign_text(simdjson::dom::element e, std::string& out) {
  std::string_view s;
  if (e.get_string().get(s) == simdjson::SUCCESS) {  // the common case, inline
    out.assign(s);
    return;
  }
  out.clear();
  scalar_text(e, out);
}
// Values that Sentinel stores as JSON inside a string ("InitiatedBy": "{\"user\":...}").
// Parses with the given parser when the string holds an object/array.
bool parse_embedded(simdjson::dom::parser& p, simdjson::dom::element e,
                    simdjson::dom::element& out);

// Case-insensitive hash of a key from its length and its first and last eight bytes
// (0x20 set in every byte, which folds ASCII case): two loads and two multiplies, so the
// per-member dispatch of the JSON sources is not a long dependency chain. Lookups always
// confirm with a full comparison.
inline uint32_t fold_hash(std::string_view key) {
  constexpr uint64_t kFold = 0x2020202020202020ull;
  const size_t n = key.size();
  uint64_t head = 0, tail = 0;
  if (n >= 8) {
    memcpy(&head, key.data(), 8);
    memcpy(&tail, key.data() + n - 8, 8);
  } else {
    for (size_t i = 0; i < n; ++i) head |= uint64_t(uint8_t(key[i])) << (8 * i);
  }
  uint64_t h = ((head | kFold) * 0x9e3779b97f4a7c15ull) ^ ((tail | kFold) * 0xc2b2ae3d27d4eb4full) ^
               (uint64_t(n) * 0x165667b19e3779f9ull);
  return uint32_t(h >> 32) ^ uint32_t(h >> 7);
}

// Case-insensitive key -> small integer id, built once per parser type. The hot loop of
// the JSON sources is one fold_hash, one or two probes and, on a hit, a compare of the key
// eight bytes at a time (the per-member key dispatch is a large share of normalisation).
class KeyTable {
 public:
  KeyTable(std::initializer_list<std::pair<std::string_view, int>> keys);
  // Id of the key, or -1.
  int find(std::string_view key) const {
    uint32_t h = fold_hash(key);
    for (uint32_t i = h & mask_;; i = (i + 1) & mask_) {
      const Probe& p = probes_[i];
      if (p.id < 0) return -1;
      if (p.hash == h && equal_folded(keys_[i], key)) return p.id;
    }
  }

 private:
  static constexpr size_t kWords = 4;  // keys up to 32 bytes compare word-wise
  // Probing reads only this small array (it stays in L1); the key words are read on a
  // hash match.
  struct Probe {
    uint32_t hash = 0;
    int32_t id = -1;
  };
  struct Key {
    // Lower-cased key and, per byte, 0x20 where it is a letter: (input | fold) == lower
    // holds exactly when the input equals the key ASCII-case-insensitively.
    uint64_t lower[kWords] = {};
    uint64_t fold[kWords] = {};
    size_t len = 0;
    std::string_view key;  // lower-case, for keys longer than the words hold
  };
  static bool equal_folded(const Key& k, std::string_view key) {
    if (key.size() != k.len) return false;
    if (key.size() > kWords * 8) return equal_slow(k.key, key);
    size_t i = 0, w = 0;
    for (; i + 8 <= key.size(); i += 8, ++w) {
      uint64_t x;
      memcpy(&x, key.data() + i, 8);
      if ((x | k.fold[w]) != k.lower[w]) return false;
    }
    if (i == key.size()) return true;
    uint64_t x = 0;
    for (size_t j = 0; i + j < key.size(); ++j) x |= uint64_t(uint8_t(key[i + j])) << (8 * j);
    return (x | k.fold[w]) == k.lower[w];
  }
  static bool equal_slow(std::string_view lower, std::string_view key);
  std::vector<Probe> probes_;
  std::vector<Key> keys_;
  uint32_t mask_ = 0;
};

// The keys of one object of the previous record, by member position. Records of one source
// list their members in the same order, so a member's key is usually the one seen at its
// position last time: an exact compare of its bytes (overlapping word loads, no hash, no
// probe) then gives the KeyTable id. Any other key goes to the table and is remembered, so a
// record in another order or shape costs one table lookup per member, as without the cache.
class KeyOrder {
 public:
  int find(const KeyTable& table, size_t pos, std::string_view key) {
    if (pos < slots_.size()) {
      const Slot& s = slots_[pos];
      if (s.len == key.size() && same_bytes(s.bytes, key.data(), key.size())) return s.id;
    }
    return miss(table, pos, key);
  }

 private:
  static constexpr size_t kMaxSlots = 256;
  static constexpr size_t kMaxKey = 32;
  static constexpr uint32_t kNoKey = UINT32_MAX;
  struct Slot {
    uint32_t len = kNoKey;
    int32_t id = -1;
    char bytes[kMaxKey];
  };
  static uint64_t load8(const char* p) {
    uint64_t x;
    memcpy(&x, p, 8);
    return x;
  }
  static uint32_t load4(const char* p) {
    uint32_t x;
    memcpy(&x, p, 4);
    return x;
  }
  // Looks the key up in the table and remembers it at pos.
  int miss(const KeyTable& table, size_t pos, std::string_view key);
  // a and b both hold n readable bytes.
  static bool same_bytes(const char* a, const char* b, size_t n) {
    if (n >= 8) {
      for (size_t i = 0; i + 8 < n; i += 8)
        if (load8(a + i) != load8(b + i)) return false;
      return load8(a + n - 8) == load8(b + n - 8);
    }
    if (n >= 4) return load4(a) == load4(b) && load4(a + n - 4) == load4(b + n - 4);
    for (size_t i = 0; i < n; ++i)
      if (a[i] != b[i]) return false;
    return true;
  }
  std::vector<Slot> slots_;
};
}  // namespace komainu::logs
