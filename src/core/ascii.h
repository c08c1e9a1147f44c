// ASCII case folding for parsers and detectors. Protocol names and keywords are ASCII; std::tolower
// is a libc call per byte (1% of a whole run's CPU on the benchmark capture, mostly HTTP header
// lookups). Same results as std::tolower in the "C" locale komainu runs in.
#pragma once
#include <string_view>

namespace komainu {

constexpr char ascii_lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c;
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

}  // namespace komainu
