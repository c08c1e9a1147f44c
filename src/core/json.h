// A small, allocation-light JSON writer that appends to a string. Object and array nesting
// is tracked so callers only say key/value; strings are escaped per RFC 8259 and invalid
// UTF-8 is written as \u00XX escapes of the bytes, so hostile bytes never break a line.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace komainu {

class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) : out_(out) {}

  JsonWriter& begin_object() { return open('{'); }
  JsonWriter& end_object() { return close('}'); }
  JsonWriter& begin_array() { return open('['); }
  JsonWriter& end_array() { return close(']'); }

  // Object members.
  JsonWriter& key(std::string_view k);
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
  JsonWriter& open(char c);
  JsonWriter& close(char c);
  void sep();

  std::string& out_;
  bool need_comma_ = false;
  bool after_key_ = false;
};

}  // namespace komainu
