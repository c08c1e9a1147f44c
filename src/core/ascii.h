// ASCII case folding for parsers and detectors. Protocol names and keywords are ASCII; std::tolower
// is a libc call per byte (1% of a whole run's CPU on the benchmark capture, mostly HTTP header
// lookups). Same results as std::tolower in the "C" locale komainu runs in. Also the small text
// helpers several protocols share: hex digits, case-insensitive search, %XX decoding.
#pragma once
#include <string>
#include <string_view>

namespace komainu {

constexpr char ascii_lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c;
}

constexpr char ascii_upper(char c) {
  return c >= 'a' && c <= 'z' ? static_cast<char>(c - ('a' - 'A')) : c;
}

constexpr bool ascii_iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  return true;
}

constexpr bool ascii_istarts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && ascii_iequals(s.substr(0, prefix.size()), prefix);
}

// Position of `needle` in `hay` ignoring ASCII case (0 for an empty needle), npos if absent.
constexpr size_t ascii_ifind(std::string_view hay, std::string_view needle) {
  if (needle.empty()) return 0;
  for (size_t i = 0; i + needle.size() <= hay.size(); ++i)
    if (ascii_iequals(hay.substr(i, needle.size()), needle)) return i;
  return std::string_view::npos;
}

// The value of a hex digit, -1 for any other byte.
constexpr int ascii_hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Zeek's unescape_URI: every %XX with two hex digits decoded, everything else kept as is.
inline std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      int hi = ascii_hex_value(s[i + 1]), lo = ascii_hex_value(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi << 4 | lo));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

}  // namespace komainu
