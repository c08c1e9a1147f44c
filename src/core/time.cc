#include "core/time.h"

#include <charconv>
#include <cstdio>
#include <ctime>

#include "core/civil.h"

namespace komainu {
namespace {
void split(TimeNs t, int64_t& sec, int64_t& us) {
  sec = t / kNsPerSec;
  int64_t rem = t % kNsPerSec;
  if (rem < 0) {
    rem += kNsPerSec;
    --sec;
  }
  us = rem / kNsPerUs;
}
}  // namespace

std::string format_eve_time(TimeNs t) {
  int64_t sec, us;
  split(t, sec, us);
  time_t tt = static_cast<time_t>(sec);
  struct tm tm;
  gmtime_r(&tt, &tm);
  char buf[64];
  snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06lld+0000", tm.tm_year + 1900,
           tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<long long>(us));
  return buf;
}

namespace {
// Writes v (< 1e6) as exactly six digits.
char* put6(char* p, uint32_t v) {
  for (int i = 5; i >= 0; --i) {
    p[i] = char('0' + v % 10);
    v /= 10;
  }
  return p + 6;
}
}  // namespace

size_t format_zeek_time(TimeNs t, char* buf) {
  int64_t sec, us;
  split(t, sec, us);
  char* p = std::to_chars(buf, buf + 21, sec).ptr;
  *p++ = '.';
  p = put6(p, uint32_t(us));
  *p = 0;
  return size_t(p - buf);
}

std::string format_zeek_time(TimeNs t) {
  char buf[kZeekTimeBuf];
  return std::string(buf, format_zeek_time(t, buf));
}

size_t format_zeek_interval(TimeNs d, char* buf) {
  // Zeek prints the interval as a double with %.6f: the integer form below rounds the exact
  // nanosecond count half-up, which equals printf's rounding of d / 1e9 whenever the
  // double's error (< 4.5e-10 s below 4e15 ns) cannot cross a rounding boundary (at least
  // 1 ns away unless the last three digits are exactly 500). The rest goes through printf.
  const int64_t rem = d % 1000;
  if (d < 0 || d >= 4'000'000'000'000'000 || rem == 500) {
    int n = snprintf(buf, kZeekTimeBuf, "%.6f", static_cast<double>(d) / 1e9);
    return size_t(n);
  }
  const int64_t us = d / 1000 + (rem > 500 ? 1 : 0);
  char* p = std::to_chars(buf, buf + 21, us / 1000000).ptr;
  *p++ = '.';
  p = put6(p, uint32_t(us % 1000000));
  *p = 0;
  return size_t(p - buf);
}

std::string format_zeek_interval(TimeNs d) {
  char buf[kZeekTimeBuf];
  return std::string(buf, format_zeek_interval(d, buf));
}

bool parse_iso8601(std::string_view s, TimeNs& out) {
  auto digits = [&](size_t pos, size_t n, int& v) {
    if (pos + n > s.size()) return false;
    v = 0;
    for (size_t i = pos; i < pos + n; ++i) {
      if (s[i] < '0' || s[i] > '9') return false;
      v = v * 10 + (s[i] - '0');
    }
    return true;
  };
  int Y, M, D, h = 0, m = 0, sec = 0;
  if (!digits(0, 4, Y) || s.size() < 10 || s[4] != '-' || !digits(5, 2, M) || s[7] != '-' ||
      !digits(8, 2, D))
    return false;
  size_t p = 10;
  int64_t frac_ns = 0;
  int offset_min = 0;
  if (p < s.size() && (s[p] == 'T' || s[p] == ' ')) {
    if (!digits(p + 1, 2, h) || p + 3 >= s.size() || s[p + 3] != ':' || !digits(p + 4, 2, m))
      return false;
    p += 6;
    if (p < s.size() && s[p] == ':') {
      if (!digits(p + 1, 2, sec)) return false;
      p += 3;
    }
    if (p < s.size() && (s[p] == '.' || s[p] == ',')) {
      ++p;
      int64_t scale = 100000000;
      while (p < s.size() && s[p] >= '0' && s[p] <= '9') {
        frac_ns += (s[p] - '0') * scale;
        scale /= 10;
        ++p;
      }
    }
    if (p < s.size()) {
      if (s[p] == 'Z' || s[p] == 'z') {
        ++p;
      } else if (s[p] == '+' || s[p] == '-') {
        int oh = 0, om = 0;
        int sign = s[p] == '-' ? -1 : 1;
        if (!digits(p + 1, 2, oh)) return false;
        size_t q = p + 3;
        if (q < s.size() && s[q] == ':') ++q;
        if (q < s.size()) {
          if (!digits(q, 2, om)) return false;
          q += 2;
        }
        offset_min = sign * (oh * 60 + om);
        p = q;
      }
    }
  }
  if (p != s.size()) return false;
  if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60) return false;
  int64_t days = days_from_civil(Y, unsigned(M), unsigned(D));
  int64_t secs = days * 86400 + h * 3600 + m * 60 + sec - offset_min * 60;
  // Nanoseconds in int64 span 1677-09-21..2262-04-11: a time outside is refused, never
  // wrapped (signed overflow is undefined behaviour).
  int64_t ns;
  if (__builtin_mul_overflow(secs, kNsPerSec, &ns) || __builtin_add_overflow(ns, frac_ns, &ns))
    return false;
  out = ns;
  return true;
}

}  // namespace komainu
