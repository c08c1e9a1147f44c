#include "logs/model/text_util.h"

#include <charconv>

#include "core/ascii.h"

namespace komainu::logs {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

bool split_kv(std::string_view s, std::vector<std::pair<std::string_view, std::string_view>>& out) {
  size_t i = 0, n = s.size();
  while (i < n) {
    while (i < n && s[i] == ' ') ++i;
    size_t ks = i;
    while (i < n && s[i] != '=' && s[i] != ' ') ++i;
    if (i >= n) break;
    if (s[i] == ' ') continue;  // a bare word (syslog header): skip it
    std::string_view key = s.substr(ks, i - ks);
    ++i;  // '='
    if (i < n && s[i] == '"') {
      size_t vs = ++i;
      while (i < n && s[i] != '"') ++i;
      if (i >= n) {
        out.emplace_back(key, s.substr(vs));
        return false;
      }
      out.emplace_back(key, s.substr(vs, i - vs));
      ++i;
    } else {
      size_t vs = i;
      while (i < n && s[i] != ' ') ++i;
      out.emplace_back(key, s.substr(vs, i - vs));
    }
  }
  return true;
}

bool parse_int(std::string_view s, int64_t& out) {
  s = trim(s);
  auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size() && !s.empty();
}

bool starts_with_ci(std::string_view s, std::string_view p) {
  if (s.size() < p.size()) return false;
  for (size_t i = 0; i < p.size(); ++i) {
    char a = s[i], b = p[i];
    if (a >= 'A' && a <= 'Z') a = char(a + 32);
    if (b >= 'A' && b <= 'Z') b = char(b + 32);
    if (a != b) return false;
  }
  return true;
}

size_t find_ci(std::string_view hay, std::string_view needle) {
  return ascii_ifind(hay, needle);
}

int month_from_abbrev(std::string_view s) {
  static constexpr std::string_view kMonths[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                                 "jul", "aug", "sep", "oct", "nov", "dec"};
  if (s.size() < 3) return 0;
  for (int i = 0; i < 12; ++i)
    if (starts_with_ci(s, kMonths[i])) return i + 1;
  return 0;
}

namespace {
bool digits(std::string_view s, size_t& p, int maxn, int& v) {
  size_t start = p;
  v = 0;
  while (p < s.size() && s[p] >= '0' && s[p] <= '9' && int(p - start) < maxn)
    v = v * 10 + (s[p++] - '0');
  return p > start;
}
bool civil_to_ns(int Y, int M, int D, int h, int m, int sec, int64_t frac, TimeNs& out) {
  if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60 || Y < 1970 || Y > 2200)
    return false;
  out =
      (days_from_civil(Y, unsigned(M), unsigned(D)) * 86400 + h * 3600 + m * 60 + sec) * kNsPerSec +
      frac;
  return true;
}
}  // namespace

bool parse_ymd_hms(std::string_view s, TimeNs& out) {
  s = trim(s);
  size_t p = 0;
  int Y, M, D, h, m, sec = 0;
  if (!digits(s, p, 4, Y) || p >= s.size() || (s[p] != '-' && s[p] != '/')) return false;
  ++p;
  if (!digits(s, p, 2, M) || p >= s.size() || (s[p] != '-' && s[p] != '/')) return false;
  ++p;
  if (!digits(s, p, 2, D) || p >= s.size() || (s[p] != ' ' && s[p] != 'T')) return false;
  ++p;
  if (!digits(s, p, 2, h) || p >= s.size() || s[p] != ':') return false;
  ++p;
  if (!digits(s, p, 2, m)) return false;
  if (p < s.size() && s[p] == ':') {
    ++p;
    if (!digits(s, p, 2, sec)) return false;
  }
  return civil_to_ns(Y, M, D, h, m, sec, 0, out);
}

bool parse_us_datetime(std::string_view s, TimeNs& out) {
  s = trim(s);
  size_t p = 0;
  int M, D, Y, h, m, sec = 0;
  if (!digits(s, p, 2, M) || p >= s.size() || s[p++] != '/') return false;
  if (!digits(s, p, 2, D) || p >= s.size() || s[p++] != '/') return false;
  if (!digits(s, p, 4, Y)) return false;
  if (p < s.size() && s[p] == ',') ++p;
  while (p < s.size() && s[p] == ' ') ++p;
  if (!digits(s, p, 2, h) || p >= s.size() || s[p++] != ':') return false;
  if (!digits(s, p, 2, m)) return false;
  int64_t frac = 0;
  if (p < s.size() && s[p] == ':') {
    ++p;
    if (!digits(s, p, 2, sec)) return false;
    if (p < s.size() && s[p] == '.') {
      ++p;
      int64_t scale = 100000000;
      while (p < s.size() && s[p] >= '0' && s[p] <= '9') {
        frac += (s[p++] - '0') * scale;
        scale /= 10;
      }
    }
  }
  while (p < s.size() && s[p] == ' ') ++p;
  std::string_view ampm = s.substr(p);
  if (starts_with_ci(ampm, "PM") && h < 12) h += 12;
  if (starts_with_ci(ampm, "AM") && h == 12) h = 0;
  return civil_to_ns(Y, M, D, h, m, sec, frac, out);
}

bool parse_any_time(std::string_view s, TimeNs& out, bool* out_of_range) {
  s = trim(s);
  // Nanoseconds in int64 span 1678..2262, and detectors subtract times, so the data range
  // is kept to 1970..2200.
  if (s.size() >= 5 && (s[4] == '-' || s[4] == '/')) {
    int y = 0;
    bool digits4 = true;
    for (int i = 0; i < 4; ++i) {
      digits4 = digits4 && s[i] >= '0' && s[i] <= '9';
      y = y * 10 + (s[i] - '0');
    }
    if (digits4 && (y < 1970 || y > 2200)) {
      if (out_of_range) *out_of_range = true;
      return false;
    }
  }
  if (parse_iso8601(s, out)) return true;
  if (s.size() >= 10 && s[4] == '-' && s[7] == '-') {
    // Fractions longer than nanoseconds or a missing zone: keep what ISO parsing accepts.
    size_t dot = s.find('.');
    if (dot != std::string_view::npos) {
      size_t e = dot + 1;
      while (e < s.size() && s[e] >= '0' && s[e] <= '9') ++e;
      std::string buf(s.substr(0, std::min(e, dot + 10)));
      buf.append(s.substr(e));
      if (parse_iso8601(buf, out)) return true;
    }
    return parse_ymd_hms(s, out);
  }
  if (s.find('/') != std::string_view::npos && s.find(',') != std::string_view::npos)
    return parse_us_datetime(s, out);
  return false;
}

size_t parse_bsd_time(std::string_view s, int year, TimeNs& out) {
  // "Jan  5 08:52:35" or "Aug 06 2016 17:43:49"
  if (s.size() < 15) return 0;
  int mon = month_from_abbrev(s.substr(0, 3));
  if (!mon || s[3] != ' ') return 0;
  size_t p = 4;
  while (p < s.size() && s[p] == ' ') ++p;
  int day, h, m, sec;
  if (!digits(s, p, 2, day) || p >= s.size() || s[p] != ' ') return 0;
  ++p;
  size_t save = p;
  int y;
  if (digits(s, p, 4, y) && p - save == 4 && p < s.size() && s[p] == ' ') {
    year = y;
    ++p;
  } else {
    p = save;
  }
  if (!digits(s, p, 2, h) || p >= s.size() || s[p] != ':') return 0;
  ++p;
  if (!digits(s, p, 2, m) || p >= s.size() || s[p] != ':') return 0;
  ++p;
  if (!digits(s, p, 2, sec)) return 0;
  if (!civil_to_ns(year, mon, day, h, m, sec, 0, out)) return 0;
  return p;
}

int year_of(TimeNs t) {
  int64_t days = t / kNsPerSec / 86400;
  int64_t z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
  unsigned doe = unsigned(z - era * 146097);
  unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t y = int64_t(yoe) + era * 400;
  unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  unsigned mp = (5 * doy + 2) / 153;
  return int(mp >= 10 ? y + 1 : y);
}

}  // namespace komainu::logs
