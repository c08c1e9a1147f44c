#include "detect/signatures/keyword.h"

#include <charconv>
#include <limits>

namespace komainu::sig {

std::string_view trim(std::string_view s) {
  while (!s.empty() &&
         (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n'))
    s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

std::string_view unquote(std::string_view s) {
  s = trim(s);
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') return s.substr(1, s.size() - 2);
  return s;
}

std::vector<std::string_view> split_args(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  bool quoted = false;
  size_t start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      ++i;
      continue;
    }
    if (s[i] == '"') quoted = !quoted;
    if (s[i] == sep && !quoted) {
      out.push_back(trim(s.substr(start, i - start)));
      start = i + 1;
    }
  }
  out.push_back(trim(s.substr(start)));
  return out;
}

bool parse_int(std::string_view s, int64_t& out) {
  s = trim(s);
  if (s.empty()) return false;
  int base = 10;
  bool neg = false;
  if (s[0] == '-' || s[0] == '+') {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    s.remove_prefix(2);
  }
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
  if (ec != std::errc() || p != s.data() + s.size() || v > uint64_t(INT64_MAX)) return false;
  out = neg ? -int64_t(v) : int64_t(v);
  return true;
}

bool parse_uint(std::string_view s, uint64_t& out) {
  int64_t v;
  if (!parse_int(s, v) || v < 0) return false;
  out = uint64_t(v);
  return true;
}

bool parse_numcmp(std::string_view s, NumCmp& out, std::string& err, bool allow_dash) {
  s = trim(s);
  out = NumCmp{};
  auto bad = [&] {
    err = "bad numeric comparison '" + std::string(s) + "'";
    return false;
  };
  if (s.empty()) return bad();
  auto range = s.find("<>");
  if (range == std::string_view::npos && allow_dash) {
    auto d = s.find('-', 1);
    if (d != std::string_view::npos) range = d;
  }
  // Snort 3's inclusive range a<=>b.
  auto incl = s.find("<=>");
  if (incl != std::string_view::npos && incl > 0) {
    if (!parse_int(s.substr(0, incl), out.lo) || !parse_int(s.substr(incl + 3), out.hi) ||
        out.lo > out.hi)
      return bad();
    out.op = 'R';
    return true;
  }
  if (range != std::string_view::npos && range > 0) {
    size_t w = s.compare(range, 2, "<>") == 0 ? 2 : 1;
    if (!parse_int(s.substr(0, range), out.lo) || !parse_int(s.substr(range + w), out.hi))
      return bad();
    if (out.lo >= out.hi) return bad();
    out.op = 'r';
    return true;
  }
  if (s.starts_with("<=")) {
    out.op = 'l';
    s.remove_prefix(2);
  } else if (s.starts_with(">=")) {
    out.op = 'g';
    s.remove_prefix(2);
  } else if (s[0] == '<' || s[0] == '>' || s[0] == '!' || s[0] == '=') {
    out.op = s[0];
    s.remove_prefix(1);
  }
  if (!parse_int(s, out.lo)) return bad();
  return true;
}

bool NumCmp::match(int64_t v) const {
  switch (op) {
    case '=':
      return v == lo;
    case '!':
      return v != lo;
    case '<':
      return v < lo;
    case '>':
      return v > lo;
    case 'l':
      return v <= lo;
    case 'g':
      return v >= lo;
    case 'r':
      return v > lo && v < hi;
    case 'a':
      return (v & lo) == lo;  // bit sets (fragbits): all of
    case 'y':
      return (v & lo) != 0;  // any of
    case 'n':
      return (v & lo) == 0;  // none of
  }
  return false;
}

std::pair<int64_t, int64_t> NumCmp::range() const {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  switch (op) {
    case '=':
      return {lo, lo};
    case '<':
      return {0, lo - 1};  // lo >= -INT64_MAX: no overflow
    case 'l':
      return {0, lo};
    case '>':
      return {lo < kMax ? lo + 1 : kMax, kMax};
    case 'g':
      return {lo, kMax};
    case 'r':
      return {lo + 1, hi - 1};  // lo < hi: no overflow
  }
  return {0, kMax};
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool decode_content(std::string_view q, std::string& out, std::string& err) {
  q = trim(q);
  if (q.size() < 2 || q.front() != '"' || q.back() != '"') {
    err = "content must be a quoted string";
    return false;
  }
  q = q.substr(1, q.size() - 2);
  out.clear();
  bool hex = false;
  int nib = -1;
  for (size_t i = 0; i < q.size(); ++i) {
    char c = q[i];
    if (hex) {
      if (c == '|') {
        if (nib >= 0) {
          err = "odd number of hex digits in content";
          return false;
        }
        hex = false;
      } else if (c == ' ' || c == '\t') {
        if (nib >= 0) {
          err = "split hex byte in content";
          return false;
        }
      } else {
        int v = hexval(c);
        if (v < 0) {
          err = std::string("bad hex digit '") + c + "' in content";
          return false;
        }
        if (nib < 0) {
          nib = v;
        } else {
          out.push_back(static_cast<char>(nib << 4 | v));
          nib = -1;
        }
      }
      continue;
    }
    if (c == '\\') {
      if (i + 1 >= q.size()) {
        err = "content ends in a lone backslash";
        return false;
      }
      out.push_back(q[++i]);
      continue;
    }
    if (c == '|') {
      hex = true;
      continue;
    }
    if (c == '"') {
      err = "unescaped \" in content";
      return false;
    }
    out.push_back(c);
  }
  if (hex) {
    err = "unterminated |hex| in content";
    return false;
  }
  return true;
}

// --- ParseState ---------------------------------------------------------------------------

BufferList& ParseState::list_for(uint16_t buffer) {
  sig.lists.push_back(BufferList::of(buffer));
  return sig.lists.back();
}

BufferList& ParseState::current() {
  if (current_list < 0) {
    // Payload items share one list; reuse it if it exists and no sticky buffer is active.
    for (size_t i = 0; i < sig.lists.size(); ++i)
      if (sig.lists[i].buffer == 0 && sig.lists[i].transforms.empty()) {
        current_list = static_cast<int>(i);
        return sig.lists[i];
      }
    list_for(0);
    current_list = static_cast<int>(sig.lists.size() - 1);
  }
  return sig.lists[current_list];
}

int ParseState::relative_target() const {
  if (last_list < 0 || last_list == current_list) return -1;
  if (current_list >= 0 &&
      (sig.lists[current_list].buffer != 0 || !sig.lists[current_list].transforms.empty()))
    return -1;  // a sticky buffer is active: items go there
  return last_list;
}

InspectItem* ParseState::last_item_ptr() {
  if (last_list < 0 || last_item < 0) return nullptr;
  return &sig.lists[last_list].items[last_item];
}

Content* ParseState::last_content() {
  if (content_list < 0 || content_item < 0) return nullptr;
  return std::get_if<Content>(&sig.lists[content_list].items[content_item]);
}

bool ParseState::value(std::string_view s, Value& out, std::string& err) const {
  s = trim(s);
  out = Value{};
  if (parse_int(s, out.v)) return true;
  for (size_t i = 0; i < byte_var_names.size(); ++i)
    if (byte_var_names[i] == s) {
      out.var = static_cast<int8_t>(i);
      return true;
    }
  err = "'" + std::string(s) + "' is neither a number nor a byte_extract variable";
  return false;
}

}  // namespace komainu::sig
