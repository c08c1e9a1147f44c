#include "core/json.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "core/civil.h"
#include "core/time.h"

namespace komainu {

namespace {
// Bytes written as they are: printable ASCII except '"' and '\\'.
struct PlainTable {
  bool plain[256];
  constexpr PlainTable() : plain() {
    for (int c = 0x20; c < 0x80; ++c) plain[c] = c != '"' && c != '\\';
  }
};
constexpr PlainTable kPlain;

using json_detail::word_needs_escape;

inline bool all_plain(const char* s, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t x;
    memcpy(&x, s + i, 8);
    if (word_needs_escape(x)) return false;
  }
  const auto* p = reinterpret_cast<const unsigned char*>(s);
  for (; i < n; ++i)
    if (!kPlain.plain[p[i]]) return false;
  return true;
}

// Writes [,]"s"<tail> with one append when s needs no escaping (keys and most values of a
// record do not): the EVE line is built from about forty of these.
inline bool append_plain_quoted(std::string& out, bool comma, std::string_view s,
                                std::string_view tail) {
  char buf[96];
  if (s.size() + tail.size() + 2 > sizeof buf) return false;
  if (!all_plain(s.data(), s.size())) return false;
  char* w = buf;
  if (comma) *w++ = ',';
  *w++ = '"';
  memcpy(w, s.data(), s.size());
  w += s.size();
  memcpy(w, tail.data(), tail.size());
  w += tail.size();
  out.append(buf, size_t(w - buf));
  return true;
}
}  // namespace

void JsonWriter::sep() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (need_comma_) out_.push_back(',');
}

JsonWriter& JsonWriter::open(char c) {
  sep();
  out_.push_back(c);
  need_comma_ = false;
  return *this;
}

JsonWriter& JsonWriter::close(char c) {
  out_.push_back(c);
  need_comma_ = true;
  return *this;
}

JsonWriter& JsonWriter::key_general(std::string_view k) {
  const bool comma = !after_key_ && need_comma_;
  if (append_plain_quoted(out_, comma, k, "\":")) {
    after_key_ = true;
    return *this;
  }
  sep();
  out_.push_back('"');
  escape(out_, k);
  out_.append("\":");
  after_key_ = true;
  return *this;
}

JsonWriter& JsonWriter::value(std::string_view v) {
  const bool comma = !after_key_ && need_comma_;
  if (append_plain_quoted(out_, comma, v, "\"")) {
    after_key_ = false;
    need_comma_ = true;
    return *this;
  }
  sep();
  out_.push_back('"');
  escape(out_, v);
  out_.push_back('"');
  need_comma_ = true;
  return *this;
}

JsonWriter& JsonWriter::value(int64_t v) {
  sep();
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out_.append(buf, r.ptr);
  need_comma_ = true;
  return *this;
}

JsonWriter& JsonWriter::value(uint64_t v) {
  sep();
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out_.append(buf, r.ptr);
  need_comma_ = true;
  return *this;
}

JsonWriter& JsonWriter::value(double v) {
  sep();
  if (!std::isfinite(v)) {
    out_.append("null");
  } else {
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%.6g", v);
    out_.append(buf, n);
  }
  need_comma_ = true;
  return *this;
}

JsonWriter& JsonWriter::value(bool v) {
  sep();
  out_.append(v ? "true" : "false");
  need_comma_ = true;
  return *this;
}

JsonWriter& JsonWriter::null() {
  sep();
  out_.append("null");
  need_comma_ = true;
  return *this;
}

JsonWriter& JsonWriter::raw(std::string_view json) {
  sep();
  out_.append(json);
  need_comma_ = true;
  return *this;
}

JsonWriter& JsonWriter::value_eve_time(int64_t ns) {
  sep();
  out_.push_back('"');
  append_eve_time(out_, ns);
  out_.push_back('"');
  need_comma_ = true;
  return *this;
}

namespace {

inline void put2(char* p, unsigned v) {
  p[0] = char('0' + v / 10);
  p[1] = char('0' + v % 10);
}

}  // namespace

void JsonWriter::append_eve_time(std::string& out, int64_t ns) {
  constexpr int64_t kNs = 1000000000;
  int64_t sec = ns / kNs, rem = ns % kNs;
  if (rem < 0) {
    rem += kNs;
    --sec;
  }
  // Records come in data-time order, so most timestamps fall in the second of the one
  // before: the date and clock part is kept per thread and only the microseconds change.
  struct SecondCache {
    int64_t sec = INT64_MIN;
    char text[20];  // 2024-01-01T00:00:00.
  };
  thread_local SecondCache cache;
  char t[32];
  if (sec != cache.sec) {
    int64_t days = sec / 86400, sod = sec % 86400;
    if (sod < 0) {
      sod += 86400;
      --days;
    }
    const CivilDate date = civil_from_days(days);  // proleptic Gregorian, like gmtime
    const int64_t y = date.year;
    if (y < 0 || y > 9999) {
      out.append(format_eve_time(ns));  // outside the fixed-width form: rare, the slow way
      return;
    }
    char* c = cache.text;
    put2(c, unsigned(y / 100));
    put2(c + 2, unsigned(y % 100));
    c[4] = '-';
    put2(c + 5, date.month);
    c[7] = '-';
    put2(c + 8, date.day);
    c[10] = 'T';
    put2(c + 11, unsigned(sod / 3600));
    c[13] = ':';
    put2(c + 14, unsigned(sod / 60 % 60));
    c[16] = ':';
    put2(c + 17, unsigned(sod % 60));
    c[19] = '.';
    cache.sec = sec;
  }
  memcpy(t, cache.text, 20);
  unsigned us = unsigned(rem / 1000);
  for (int i = 25; i >= 20; --i) {
    t[i] = char('0' + us % 10);
    us /= 10;
  }
  memcpy(t + 26, "+0000", 5);
  out.append(t, 31);
}

void JsonWriter::escape(std::string& out, std::string_view s) {
  static const char* hex = "0123456789abcdef";
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  size_t n = s.size();
  for (size_t i = 0; i < n;) {
    unsigned char c = p[i];
    if (kPlain.plain[c]) {
      // Copy the whole run of plain characters at once (most strings are one run).
      size_t j = i + 1;
      for (uint64_t x; j + 8 <= n; j += 8) {
        memcpy(&x, p + j, 8);
        if (word_needs_escape(x)) break;
      }
      while (j < n && kPlain.plain[p[j]]) ++j;
      out.append(reinterpret_cast<const char*>(p + i), j - i);
      i = j;
      continue;
    }
    if (c < 0x80) {
      switch (c) {
        case '"':
          out.append("\\\"");
          break;
        case '\\':
          out.append("\\\\");
          break;
        case '\n':
          out.append("\\n");
          break;
        case '\r':
          out.append("\\r");
          break;
        case '\t':
          out.append("\\t");
          break;
        default:
          out.append("\\u00");
          out.push_back(hex[c >> 4]);
          out.push_back(hex[c & 15]);
      }
      ++i;
      continue;
    }
    // Validate one UTF-8 sequence; copy it whole if valid, else escape the byte.
    size_t len = c >= 0xf0 && c < 0xf5 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
    bool ok = len != 0 && i + len <= n;
    for (size_t k = 1; ok && k < len; ++k) ok = (p[i + k] & 0xc0) == 0x80;
    if (ok && len == 3) {
      unsigned cp = (c & 0x0f) << 12 | (p[i + 1] & 0x3f) << 6;
      ok = cp >= 0x800 && (cp < 0xd800 || cp > 0xdfff);
    }
    if (ok && len == 4) {
      unsigned cp = (c & 0x07) << 18 | (p[i + 1] & 0x3f) << 12;
      ok = cp >= 0x10000 && cp <= 0x10ffff;
    }
    if (ok) {
      out.append(reinterpret_cast<const char*>(p + i), len);
      i += len;
    } else {
      out.append("\\u00");
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
      ++i;
    }
  }
}

}  // namespace komainu
