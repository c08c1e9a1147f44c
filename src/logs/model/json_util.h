// simdjson DOM helpers shared by the JSON sources. Keys are matched case-insensitively
// because the same record arrives as Graph camelCase, Sentinel PascalCase and lower-cased
// diagnostic exports.
#pragma once
#include <simdjson.h>

#include <cstdint>
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
  out.clear();
  scalar_text(e, out);
}
// Values that Sentinel stores as JSON inside a string ("InitiatedBy": "{\"user\":...}").
// Parses with the given parser when the string holds an object/array.
bool parse_embedded(simdjson::dom::parser& p, simdjson::dom::element e,
                    simdjson::dom::element& out);

// Case-insensitive hash of a key from its length and four of its characters: O(1) per key
// (keys are short and distinct enough); lookups always confirm with a full comparison.
inline uint32_t fold_hash(std::string_view key) {
  auto lc = [](char c) { return uint32_t(uint8_t(c >= 'A' && c <= 'Z' ? c + 32 : c)); };
  size_t n = key.size();
  if (n == 0) return 0x9e3779b9u;
  uint32_t h = uint32_t(n) * 0x9e3779b1u;
  h ^= lc(key[0]) * 0x85ebca6bu;
  h ^= lc(key[n - 1]) * 0xc2b2ae35u;
  h ^= lc(key[n / 2]) * 0x27d4eb2fu;
  h ^= lc(key[n / 3]) * 0x165667b1u;
  h ^= h >> 15;
  h *= 0x2c1b3c6du;
  h ^= h >> 13;
  return h;
}

// Case-insensitive key -> small integer id, built once per parser type. The hot loop of
// the JSON sources is one fold_hash and one or two probes per member.
class KeyTable {
 public:
  KeyTable(std::initializer_list<std::pair<std::string_view, int>> keys);
  // Id of the key, or -1.
  int find(std::string_view key) const;

 private:
  struct Slot {
    uint32_t hash = 0;
    int id = -1;
    std::string_view key;  // lower-case
  };
  std::vector<Slot> slots_;
  uint32_t mask_ = 0;
};
}  // namespace komainu::logs
