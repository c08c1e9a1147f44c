#include "analyzers/ftp/ftp_parser.h"

#include <vector>

namespace komainu::ftp {

namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
std::string_view skip_ws(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
  return s.substr(i);
}
// Zeek's BIFs read their argument as a C string: it ends at the first NUL.
std::string_view c_string(std::string_view s) {
  size_t nul = s.find('\0');
  return nul == std::string_view::npos ? s : s.substr(0, nul);
}

// strtol's view of `s` from `i`: whitespace, an optional sign, digits. Returns false (and
// leaves `i`) when there are no digits, as strtol leaves its end pointer at the start.
bool read_long(std::string_view s, size_t& i, int64_t& v) {
  size_t k = i;
  while (k < s.size() && is_space(s[k])) ++k;
  bool neg = false;
  if (k < s.size() && (s[k] == '+' || s[k] == '-')) neg = s[k++] == '-';
  if (k >= s.size() || !is_digit(s[k])) return false;
  int64_t n = 0;
  while (k < s.size() && is_digit(s[k])) {
    if (n < (int64_t(1) << 40)) n = n * 10 + (s[k] - '0');
    ++k;
  }
  v = neg ? -n : n;
  i = k;
  return true;
}

}  // namespace

RequestStatus parse_request(std::string_view line, size_t max_command_length, Request& out) {
  line = skip_ws(line);
  size_t n = 0;
  while (n < line.size() && !is_space(line[n])) ++n;
  std::string_view cmd = line.substr(0, n);
  if (cmd.size() < 3) return RequestStatus::kInvalid;
  for (char c : cmd)
    if (static_cast<unsigned char>(c) < 0x21 || static_cast<unsigned char>(c) > 0x7e)
      return RequestStatus::kInvalid;
  if (max_command_length && cmd.size() > max_command_length) return RequestStatus::kTooLong;
  out.command.assign(cmd);
  for (char& c : out.command)
    if (c >= 'a' && c <= 'z') c = char(c - 'a' + 'A');
  out.arg = skip_ws(line.substr(n));
  return RequestStatus::kOk;
}

ReplyParser::Status ReplyParser::parse(std::string_view line, Line& out) {
  uint32_t code = 0;
  if (line.size() >= 3 && is_digit(line[0]) && is_digit(line[1]) && is_digit(line[2]))
    code = uint32_t((line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0'));
  if (pending_) {
    if (code == pending_ && line.size() > 3 && line[3] == ' ') {
      pending_ = 0;
      out = {code, false, skip_ws(line.substr(3))};
      return Status::kReply;
    }
    out = {0, true, line};
    return Status::kContinuation;
  }
  if (code == 0) return Status::kNonNumeric;
  if (code < 100) return Status::kInvalidCode;
  if (line.size() > 3 && line[3] == '-') {
    pending_ = code;
    out = {code, true, skip_ws(line.substr(4))};
    return Status::kFirstOfMany;
  }
  if (line.size() > 3 && line[3] != ' ') return Status::kNoSpace;
  out = {code, false, skip_ws(line.substr(3))};
  return Status::kReply;
}

Endpoint parse_port(std::string_view s) {
  Endpoint e;
  s = c_string(s);
  if (s.size() < 11) return e;
  int64_t b[6];
  size_t i = 0;
  for (int k = 0; k < 6; ++k) {
    if (k > 0) {
      if (i >= s.size() || s[i] != ',') return e;
      ++i;
    }
    if (!read_long(s, i, b[k])) return e;
  }
  for (int64_t v : b)
    if (v < 0 || v > 255) return e;
  e.h = IpAddr::v4(uint32_t(b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3]));
  e.p = uint16_t(b[4] << 8 | b[5]);
  e.valid = true;
  return e;
}

Endpoint parse_eprt(std::string_view s) {
  Endpoint e;
  e.h = IpAddr{};  // "::"
  s = c_string(s);
  size_t i = 0;
  while (i < s.size() && is_space(s[i])) ++i;
  if (i >= s.size()) return e;
  const char delim = s[i++];
  bool good = true;
  int64_t proto = 0;
  size_t j = i;
  if (!read_long(s, j, proto)) j = i;
  if (j >= s.size() || s[j] != delim) good = false;
  i = j;
  if (i < s.size()) ++i;
  if (i < s.size() && s[i] != delim) {
    size_t end = s.find(delim, i);
    std::string_view a = s.substr(i, end == std::string_view::npos ? s.npos : end - i);
    auto parsed = IpAddr::parse(a);
    good = parsed.has_value();
    if (parsed) e.h = *parsed;
  }
  size_t d = s.find(delim, i);
  if (d != std::string_view::npos) {
    i = d + 1;
    int64_t port = 0;
    j = i;
    if (!read_long(s, j, port)) j = i;
    if (j >= s.size() || s[j] != delim) good = false;
    if (port < 0 || port > 65535) {
      port = 0;
      good = false;
    }
    e.p = uint16_t(port);
  }
  e.valid = good;
  return e;
}

Endpoint parse_pasv(std::string_view msg) {
  msg = c_string(msg);
  if (msg.empty()) return parse_port("");
  size_t start;
  if (size_t paren = msg.find('('); paren != std::string_view::npos) {
    start = paren + 1;
  } else if (size_t port = msg.find("PORT"); port != std::string_view::npos) {
    start = port + 5;
  } else if (size_t comma = msg.find(','); comma != std::string_view::npos) {
    start = comma;
    while (start > 0 && is_digit(msg[start - 1])) --start;
  } else {
    return parse_port("");
  }
  if (start > msg.size()) return parse_port("");
  return parse_port(msg.substr(start));
}

Endpoint parse_epsv(std::string_view msg) {
  msg = c_string(msg);
  size_t paren = msg.find('(');
  if (paren == std::string_view::npos) {
    Endpoint e;
    e.h = IpAddr{};
    return e;
  }
  return parse_eprt(msg.substr(paren + 1));
}

std::string compress_path(std::string_view path) {
  const bool absolute = !path.empty() && path[0] == '/';
  const bool lead_dot = path == "." || path.substr(0, 2) == "./";
  std::vector<std::string_view> parts;
  size_t i = 0;
  while (i <= path.size()) {
    size_t e = path.find('/', i);
    if (e == std::string_view::npos) e = path.size();
    std::string_view c = path.substr(i, e - i);
    i = e + 1;
    if (c.empty() || c == ".") continue;
    if (c == "..") {
      // "~" and "~user" are roots of their own: ".." never climbs above them.
      bool home = parts.size() == 1 && !absolute && parts[0][0] == '~';
      if (!parts.empty() && parts.back() != ".." && !home) {
        parts.pop_back();
        continue;
      }
    }
    parts.push_back(c);
  }
  std::string out = absolute ? "/" : "";
  for (size_t k = 0; k < parts.size(); ++k) {
    if (k) out += '/';
    out += parts[k];
  }
  if (lead_dot && !absolute) {
    if (out.empty()) return ".";
    if (out.substr(0, 2) != "..") out = "./" + out;
  }
  return out;
}

namespace {
bool absolute_path(std::string_view s) {
  if (!s.empty() && s[0] == '/') return true;
  return s.size() >= 3 && ((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z')) &&
         s[1] == ':' && (s[2] == '\\' || s[2] == '/');
}
}  // namespace

std::string build_path_compressed(std::string_view dir, std::string_view file) {
  if (absolute_path(file) || dir.empty()) return compress_path(file);
  std::string p(dir);
  if (p.back() != '/') p += '/';
  p += file;
  return compress_path(p);
}

std::string extract_path(std::string_view msg) {
  // A quoted absolute path first ("/x y" as RFC 959 quotes PWD replies).
  for (size_t q = msg.find('"'); q != std::string_view::npos; q = msg.find('"', q + 1)) {
    std::string_view rest = msg.substr(q + 1);
    if (!absolute_path(rest)) continue;
    size_t close = rest.find('"');
    if (close == std::string_view::npos) break;
    return std::string(rest.substr(0, close));
  }
  for (size_t i = 0; i < msg.size(); ++i) {
    if (!absolute_path(msg.substr(i))) continue;
    size_t k = i + (msg[i] == '/' ? 1 : 3);
    while (k < msg.size()) {
      if (msg[k] == '\\' && k + 1 < msg.size() && msg[k + 1] == ' ') {
        k += 2;
        continue;
      }
      if (msg[k] == '"' || msg[k] == ' ') break;
      ++k;
    }
    return std::string(msg.substr(i, k - i));
  }
  return "";
}

uint64_t extract_last_count(std::string_view s) {
  size_t end = s.size();
  while (end > 0 && !is_digit(s[end - 1])) --end;
  if (end == 0) return 0;
  size_t start = end;
  while (start > 0 && is_digit(s[start - 1])) --start;
  uint64_t v = 0;
  for (size_t i = start; i < end; ++i) {
    uint64_t d = uint64_t(s[i] - '0');
    if (v > (UINT64_MAX - d) / 10) return 0;  // Zeek's to_count fails: 0
    v = v * 10 + d;
  }
  return v;
}

}  // namespace komainu::ftp
