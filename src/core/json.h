// A small, allocation-light JSON writer that appends to a string. Object and array nesting
// is tracked so callers only say key/value; strings are escaped per RFC 8259 and invalid
// UTF-8 is written as \u00XX escapes of the bytes, so hostile bytes never break a line.
#pragma once
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace komainu {

namespace json_detail {
// Whether one of the 8 bytes of `x` needs escaping (below 0x20, 0x80 and above, '"', '\\'):
// eight bytes per step instead of a table lookup per byte; each test is exact ("Bit Twiddling
// Hacks": determine if a word has a byte less than n / equal to n). constexpr so that a literal
// key's test folds at compile time.
constexpr bool word_needs_escape(uint64_t x) {
  constexpr uint64_t kOnes = 0x0101010101010101ull;
  constexpr uint64_t kHighs = 0x8080808080808080ull;
  const uint64_t quote = x ^ (kOnes * '"');
  const uint64_t backslash = x ^ (kOnes * '\\');
  const uint64_t below_space = (x - kOnes * 0x20) & ~x;
  const uint64_t is_quote = (quote - kOnes) & ~quote;
  const uint64_t is_backslash = (backslash - kOnes) & ~backslash;
  return ((below_space | is_quote | is_backslash | x) & kHighs) != 0;
}
}  // namespace json_detail

class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) : out_(out) {}

  JsonWriter& begin_object() { return open('{'); }
  JsonWriter& end_object() { return close('}'); }
  JsonWriter& begin_array() { return open('['); }
  JsonWriter& end_array() { return close(']'); }

  // Object members. Keys are almost all literals: inlined, a literal's plainness test folds
  // away at compile time and the key is appended as one `,"key":` token (the general path
  // costs ~120 instructions a key, and an EVE line has about forty).
  [[gnu::always_inline]] JsonWriter& key(std::string_view k) {
    const size_t n = k.size();
    if (n == 0 || n > kShortKey || !short_plain(k.data(), n)) return key_general(k);
    const bool comma = !after_key_ && need_comma_;
    char buf[kShortKey + 4];
    buf[0] = ',';
    buf[1] = '"';
    memcpy(buf + 2, k.data(), n);
    buf[n + 2] = '"';
    buf[n + 3] = ':';
    append_token(buf + !comma, n + 3 + comma);
    after_key_ = true;
    return *this;
  }
  JsonWriter& kv(std::string_view k, std::string_view v) { return key(k).value(v); }
  JsonWriter& kv(std::string_view k, const char* v) { return key(k).value(std::string_view(v)); }
  JsonWriter& kv(std::string_view k, const std::string& v) {
    return key(k).value(std::string_view(v));
  }
  JsonWriter& kv(std::string_view k, int64_t v) { return key(k).value(v); }
  JsonWriter& kv(std::string_view k, uint64_t v) { return key(k).value(v); }
  JsonWriter& kv(std::string_view k, int v) { return key(k).value(int64_t(v)); }
  JsonWriter& kv(std::string_view k, unsigned v) { return key(k).value(uint64_t(v)); }
  JsonWriter& kv(std::string_view k, double v) { return key(k).value(v); }
  JsonWriter& kv(std::string_view k, bool v) { return key(k).value(v); }
  JsonWriter& kv_null(std::string_view k) { return key(k).null(); }
  // Pre-rendered JSON (an object or array built elsewhere).
  JsonWriter& kv_raw(std::string_view k, std::string_view json) { return key(k).raw(json); }

  // Values (array elements, or after key()).
  JsonWriter& value(std::string_view v);
  JsonWriter& value(int64_t v);
  JsonWriter& value(uint64_t v);
  JsonWriter& value(double v);
  JsonWriter& value(bool v);
  JsonWriter& null();
  JsonWriter& raw(std::string_view json);

  // EVE's timestamp form (Suricata: 2024-01-01T00:00:00.123456+0000, UTC) of nanoseconds
  // since the epoch, as core/time.h's format_eve_time but straight into the line: it is
  // written three times per flow record.
  JsonWriter& value_eve_time(int64_t ns);
  JsonWriter& kv_eve_time(std::string_view k, int64_t ns) { return key(k).value_eve_time(ns); }
  static void append_eve_time(std::string& out, int64_t ns);

  static void escape(std::string& out, std::string_view s);

 private:
  static constexpr size_t kShortKey = 24;
  // 1..kShortKey bytes as at most three words (overlapping loads), so a literal's test is
  // constant-folded once inlined; exact for any bytes.
  [[gnu::always_inline]] static bool short_plain(const char* s, size_t n) {
    if (n < 4) {  // the first, middle and last byte, the other five bytes plain 'a'
      const uint64_t x = uint64_t(uint8_t(s[0])) | uint64_t(uint8_t(s[n / 2])) << 8 |
                         uint64_t(uint8_t(s[n - 1])) << 16 | 0x6161616161000000ull;
      return !json_detail::word_needs_escape(x);
    }
    if (n < 8) {
      uint32_t lo, hi;
      memcpy(&lo, s, 4);
      memcpy(&hi, s + n - 4, 4);
      return !json_detail::word_needs_escape(uint64_t(lo) | uint64_t(hi) << 32);
    }
    uint64_t a, b, c;
    memcpy(&a, s, 8);
    memcpy(&b, s + (n >= 16 ? 8 : n - 8), 8);
    memcpy(&c, s + n - 8, 8);
    return !json_detail::word_needs_escape(a) && !json_detail::word_needs_escape(b) &&
           !json_detail::word_needs_escape(c);
  }
  JsonWriter& key_general(std::string_view k);
  void append_token(const char* p, size_t n) { out_.append(p, n); }

  JsonWriter& open(char c);
  JsonWriter& close(char c);
  void sep();

  std::string& out_;
  bool need_comma_ = false;
  bool after_key_ = false;
};

}  // namespace komainu
