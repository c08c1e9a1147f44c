#include "logs/model/json_util.h"

#include <charconv>

namespace komainu::logs {

std::string_view fold_key(std::string_view key, char (&buf)[64]) {
  if (key.size() >= sizeof buf) return {};
  for (size_t i = 0; i < key.size(); ++i) {
    char c = key[i];
    buf[i] = (c >= 'A' && c <= 'Z') ? char(c + 32) : c;
  }
  return std::string_view(buf, key.size());
}

simdjson::simdjson_result<simdjson::dom::element> get_ci(simdjson::dom::object o,
                                                         std::string_view key) {
  for (auto [k, v] : o) {
    if (k.size() != key.size()) continue;
    bool eq = true;
    for (size_t i = 0; i < k.size() && eq; ++i) {
      char a = k[i], b = key[i];
      if (a >= 'A' && a <= 'Z') a = char(a + 32);
      if (b >= 'A' && b <= 'Z') b = char(b + 32);
      eq = a == b;
    }
    if (eq) return simdjson::simdjson_result<simdjson::dom::element>(simdjson::dom::element(v));
  }
  return simdjson::NO_SUCH_FIELD;
}

bool scalar_text(simdjson::dom::element e, std::string& out) {
  using simdjson::dom::element_type;
  char buf[32];
  switch (e.type()) {
    case element_type::STRING: {
      std::string_view s = e.get_string().value_unsafe();
      out.append(s);
      return true;
    }
    case element_type::INT64: {
      auto r = std::to_chars(buf, buf + sizeof buf, e.get_int64().value_unsafe());
      out.append(buf, r.ptr);
      return true;
    }
    case element_type::UINT64: {
      auto r = std::to_chars(buf, buf + sizeof buf, e.get_uint64().value_unsafe());
      out.append(buf, r.ptr);
      return true;
    }
    case element_type::DOUBLE: {
      int n = snprintf(buf, sizeof buf, "%.17g", e.get_double().value_unsafe());
      out.append(buf, size_t(n));
      return true;
    }
    case element_type::BOOL:
      out.append(e.get_bool().value_unsafe() ? "true" : "false");
      return true;
    case element_type::NULL_VALUE:
      return false;
    case element_type::ARRAY:
    case element_type::OBJECT:
      out.append(simdjson::minify(e));
      return true;
  }
  return false;
}

bool parse_embedded(simdjson::dom::parser& p, simdjson::dom::element e,
                    simdjson::dom::element& out) {
  if (e.is_object() || e.is_array()) {
    out = e;
    return true;
  }
  if (!e.is_string()) return false;
  std::string_view s = e.get_string().value_unsafe();
  size_t i = 0;
  while (i < s.size() && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t')) ++i;
  if (i >= s.size() || (s[i] != '{' && s[i] != '[')) return false;
  auto r = p.parse(s.data(), s.size(), true);
  if (r.error()) return false;
  out = r.value_unsafe();
  return true;
}

KeyTable::KeyTable(std::initializer_list<std::pair<std::string_view, int>> keys) {
  size_t n = 16;
  while (n < keys.size() * 4) n *= 2;
  probes_.resize(n);
  keys_.resize(n);
  mask_ = uint32_t(n - 1);
  for (const auto& [k, id] : keys) {
    Key key;
    key.len = k.size();
    key.key = k;
    for (size_t i = 0; i < k.size() && i < kWords * 8; ++i) {
      uint8_t c = uint8_t(k[i]);
      if (c >= 'A' && c <= 'Z') c = uint8_t(c + 32);
      bool letter = c >= 'a' && c <= 'z';
      key.lower[i / 8] |= uint64_t(c) << (8 * (i % 8));
      if (letter) key.fold[i / 8] |= uint64_t(0x20) << (8 * (i % 8));
    }
    uint32_t h = fold_hash(k);
    for (uint32_t i = h & mask_;; i = (i + 1) & mask_) {
      if (probes_[i].id < 0) {
        probes_[i] = Probe{h, int32_t(id)};
        keys_[i] = key;
        break;
      }
    }
  }
}

bool KeyTable::equal_slow(std::string_view lower, std::string_view key) {
  if (lower.size() != key.size()) return false;
  for (size_t j = 0; j < key.size(); ++j) {
    char c = key[j];
    if (c >= 'A' && c <= 'Z') c = char(c + 32);
    if (c != lower[j]) return false;
  }
  return true;
}

int KeyOrder::miss(const KeyTable& table, size_t pos, std::string_view key) {
  if (pos >= kMaxSlots) return table.find(key);
  if (pos >= slots_.size()) slots_.resize(pos + 1);
  const int id = table.find(key);
  Slot& s = slots_[pos];
  if (key.size() <= kMaxKey) {
    s.len = uint32_t(key.size());
    memcpy(s.bytes, key.data(), key.size());
  } else {
    s.len = kNoKey;  // long keys are not remembered
  }
  s.id = id;
  return id;
}

}  // namespace komainu::logs
