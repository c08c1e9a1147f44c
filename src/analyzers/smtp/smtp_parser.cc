#include "analyzers/smtp/smtp_parser.h"

#include <arpa/inet.h>

#include <algorithm>

#include "core/ascii.h"

namespace komainu::smtp {

namespace {

bool blank(char c) {
  return c == ' ' || c == '\t';
}
bool digit(char c) {
  return c >= '0' && c <= '9';
}

}  // namespace

Command parse_command(std::string_view l) {
  Command c;
  size_t i = 0;
  while (i < l.size() && blank(l[i])) ++i;
  size_t s = i;
  while (i < l.size() && !blank(l[i])) ++i;
  c.verb.assign(l.substr(s, i - s));
  for (char& ch : c.verb) ch = ascii_upper(ch);
  while (i < l.size() && blank(l[i])) ++i;
  c.arg = l.substr(i);
  return c;
}

bool parse_reply(std::string_view l, Reply& out) {
  if (l.size() < 3 || !digit(l[0]) || !digit(l[1]) || !digit(l[2])) return false;
  out.code = uint32_t((l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0'));
  out.cont = false;
  out.msg = {};
  if (l.size() == 3) return true;
  if (l[3] != ' ' && l[3] != '-') return false;
  out.cont = l[3] == '-';
  out.msg = l.substr(4);
  return true;
}

Bdat parse_bdat(std::string_view arg) {
  // Zeek's rules, first match wins.
  Bdat b;
  if (arg.empty() || arg.size() > 25) {
    b.error = "BDAT argument bad length";
    return b;
  }
  if (!digit(arg[0])) {
    b.error = "BDAT not followed by a valid chunk-size";
    return b;
  }
  size_t i = 0;
  uint64_t v = 0;
  bool overflow = false;
  for (; i < arg.size() && digit(arg[i]); ++i) {
    uint64_t d = uint64_t(arg[i] - '0');
    if (v > (UINT64_MAX - d) / 10) overflow = true;
    v = v * 10 + d;
  }
  if (i < arg.size() && arg[i] != ' ') {
    b.error = "BDAT chunk-size not valid";
    return b;
  }
  if (overflow) {
    b.error = "BDAT chunk-size too large";
    return b;
  }
  std::string_view rest = arg.substr(i);
  if (!rest.empty()) {
    if (rest.size() == 5 && (rest[1] | 0x20) == 'l' && (rest[2] | 0x20) == 'a' &&
        (rest[3] | 0x20) == 's' && (rest[4] | 0x20) == 't') {
      b.last = true;
    } else {
      b.error = "BDAT chunk-size followed by junk";
      return b;
    }
  }
  b.size = v;
  b.huge = v > uint64_t(INT64_MAX);
  return b;
}

std::vector<std::string> extract_email_addrs(std::string_view s) {
  // /(^|[<,:[:blank:]])[^<,:[:blank:]@]+"@"[^>,;[:blank:]]+([>,;[:blank:]]|$)/, matched as
  // Zeek's find_all does: the longest match at each position, scanning on after it. The
  // '^' of the pattern matches at every position since each is tried as a new prefix.
  auto prefix = [](char c) { return c == '<' || c == ',' || c == ':' || blank(c); };
  auto local = [&](char c) { return !prefix(c) && c != '@'; };
  auto domain = [](char c) { return c != '>' && c != ',' && c != ';' && !blank(c); };
  std::vector<std::string> out;
  const size_t n = s.size();
  for (size_t i = 0; i < n; ++i) {
    size_t j = prefix(s[i]) ? i + 1 : i;
    size_t l = j;
    while (l < n && local(s[l])) ++l;
    // A start inside the same run of local-part bytes ends at the same byte and fails the
    // same way: go on after the run (keeps a hostile line linear, not quadratic).
    if (l == j || l >= n || s[l] != '@') {
      if (l > i + 1) i = l - 1;
      continue;
    }
    size_t k = l + 1;
    while (k < n && domain(s[k])) ++k;
    if (k == l + 1) {
      i = l;
      continue;
    }
    size_t end = k < n ? k + 1 : k;
    std::string a;
    for (size_t p = i; p < end; ++p) {
      char c = s[p];
      if (c == '<' || c == '>' || c == ',' || c == ':' || c == ';' || blank(c)) continue;
      a.push_back(c);
    }
    out.push_back(std::move(a));
    i = end - 1;
  }
  return out;
}

std::vector<std::string> split_mime_email_addresses(std::string_view s) {
  // find_all(/(\"[^"]*\")?[^,]+/), each part stripped of surrounding whitespace.
  std::vector<std::string> out;
  const size_t n = s.size();
  for (size_t i = 0; i < n; ++i) {
    size_t plain = i;
    while (plain < n && s[plain] != ',') ++plain;
    size_t quoted = i;
    if (s[i] == '"') {
      size_t q = s.find('"', i + 1);
      if (q != std::string_view::npos) {
        size_t r = q + 1;
        while (r < n && s[r] != ',') ++r;
        if (r > q + 1) quoted = r;
      }
    }
    size_t end = std::max(plain, quoted);
    if (end == i) continue;
    std::string_view part = s.substr(i, end - i);
    auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
    while (!part.empty() && space(part.front())) part.remove_prefix(1);
    while (!part.empty() && space(part.back())) part.remove_suffix(1);
    out.emplace_back(part);
    i = end - 1;
  }
  return out;
}

namespace {

// The longest dotted quad at `p` with Zeek's ipv4_decim alternatives (1-2 digits, or three
// digits 0xx/1xx/2[0-4]x/25[0-5]); 0 when none.
size_t ipv4_at(std::string_view s, size_t p) {
  // Each octet may take 1, 2 or 3 digits; try the longest whole address first.
  size_t best = 0;
  auto octet_lens = [&](size_t q, size_t out[3]) {
    size_t m = 0;
    if (q < s.size() && digit(s[q])) out[m++] = 1;
    if (q + 1 < s.size() && digit(s[q]) && digit(s[q + 1])) out[m++] = 2;
    if (q + 2 < s.size() && digit(s[q]) && digit(s[q + 1]) && digit(s[q + 2])) {
      int v = (s[q] - '0') * 100 + (s[q + 1] - '0') * 10 + (s[q + 2] - '0');
      if (v <= 255) out[m++] = 3;
    }
    return m;
  };
  // Depth-first over the four octets (at most 3^4 paths).
  struct Frame {
    size_t pos;
    int octet;
  };
  Frame stack[64];
  int top = 0;
  stack[top++] = {p, 0};
  while (top > 0) {
    Frame f = stack[--top];
    size_t lens[3];
    size_t m = octet_lens(f.pos, lens);
    for (size_t k = 0; k < m; ++k) {
      size_t e = f.pos + lens[k];
      if (f.octet == 3) {
        best = std::max(best, e - p);
      } else if (e < s.size() && s[e] == '.' && top < 63) {
        stack[top++] = {e + 1, f.octet + 1};
      }
    }
  }
  return best;
}

bool hexish(char c) {
  return digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' || c == '.';
}

// An IPv6 address at `p`: the longest prefix of the run of hex digits, ':' and '.' there that
// inet_pton accepts (at most 45 bytes: the longest textual form).
size_t ipv6_at(std::string_view s, size_t p) {
  size_t e = p, colons = 0;
  while (e < s.size() && hexish(s[e]) && e - p < 45) colons += s[e++] == ':';
  if (colons < 2) return 0;
  char buf[46];
  for (; e > p + 1; --e) {
    size_t n = e - p;
    s.copy(buf, n, p);
    buf[n] = 0;
    in6_addr a;
    if (inet_pton(AF_INET6, buf, &a) == 1) return n;
  }
  return 0;
}

bool valid_ip(std::string_view ip) {
  std::string c(ip);
  in_addr a4;
  in6_addr a6;
  return inet_pton(AF_INET, c.c_str(), &a4) == 1 || inet_pton(AF_INET6, c.c_str(), &a6) == 1;
}

}  // namespace

std::vector<std::string> extract_ip_addresses(std::string_view s, bool wrapped_only) {
  // split_string_all(s, ip_addr_regex): matches alternate with the text between them; an
  // address counts when the text on both sides is empty or wraps it in [], (), {} or spaces.
  std::vector<std::string> out;
  size_t prev_end = 0;
  struct Match {
    size_t b, e;
  };
  std::vector<Match> matches;
  for (size_t i = 0; i < s.size();) {
    // IPv6 is tried where a run of hex digits and colons starts, IPv4 anywhere: a run tried
    // from each of its bytes would cost 45 inet_pton calls per byte of a hostile header.
    const bool run_start = i == 0 || !hexish(s[i - 1]);
    size_t n = std::max(ipv4_at(s, i), run_start ? ipv6_at(s, i) : 0);
    if (n == 0) {
      ++i;
      continue;
    }
    matches.push_back({i, i + n});
    i += n;
  }
  for (size_t k = 0; k < matches.size(); ++k) {
    const Match& m = matches[k];
    std::string_view before = s.substr(prev_end, m.b - prev_end);
    size_t next_b = k + 1 < matches.size() ? matches[k + 1].b : s.size();
    std::string_view after = s.substr(m.e, next_b - m.e);
    prev_end = m.e;
    std::string_view ip = s.substr(m.b, m.e - m.b);
    if (!valid_ip(ip)) continue;
    bool wrapped =
        (before.empty() && after.empty()) || (!before.empty() && !after.empty() &&
                                              ((before.back() == '[' && after.front() == ']') ||
                                               (before.back() == '(' && after.front() == ')') ||
                                               (before.back() == '{' && after.front() == '}') ||
                                               (before.back() == ' ' && after.front() == ' ')));
    if (wrapped || !wrapped_only) out.emplace_back(ip);
  }
  return out;
}

}  // namespace komainu::smtp
