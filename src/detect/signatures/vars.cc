#include "detect/signatures/vars.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>

#include "detect/signatures/keyword.h"

namespace komainu::sig {

namespace {
// Variables may refer to variables; a cycle must end in an error, not a stack overflow.
constexpr int kMaxDepth = 16;

// Splits the inside of a [group] on commas outside nested brackets.
bool split_group(std::string_view s, std::vector<std::string_view>& out) {
  int level = 0;
  size_t start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '[') ++level;
    if (s[i] == ']' && --level < 0) return false;
    if (s[i] == ',' && level == 0) {
      out.push_back(trim(s.substr(start, i - start)));
      start = i + 1;
    }
  }
  if (level != 0) return false;
  out.push_back(trim(s.substr(start)));
  return true;
}

std::string yaml_scalar(const YAML::Node& n) {
  if (n.IsScalar()) return n.Scalar();
  if (n.IsSequence()) {  // some configs write groups as YAML lists
    std::string s = "[";
    for (size_t i = 0; i < n.size(); ++i) {
      if (i) s += ",";
      s += yaml_scalar(n[i]);
    }
    return s + "]";
  }
  return {};
}
}  // namespace

RuleVars::RuleVars() {
  addr_ = {{"HOME_NET", "[192.168.0.0/16,10.0.0.0/8,172.16.0.0/12]"},
           {"EXTERNAL_NET", "!$HOME_NET"},
           {"HTTP_SERVERS", "$HOME_NET"},
           {"SMTP_SERVERS", "$HOME_NET"},
           {"SQL_SERVERS", "$HOME_NET"},
           {"DNS_SERVERS", "$HOME_NET"},
           {"TELNET_SERVERS", "$HOME_NET"},
           {"AIM_SERVERS", "$EXTERNAL_NET"},
           {"DC_SERVERS", "$HOME_NET"},
           {"DNP3_SERVER", "$HOME_NET"},
           {"DNP3_CLIENT", "$HOME_NET"},
           {"MODBUS_CLIENT", "$HOME_NET"},
           {"MODBUS_SERVER", "$HOME_NET"},
           {"ENIP_CLIENT", "$HOME_NET"},
           {"ENIP_SERVER", "$HOME_NET"},
           // Snort 3's snort_defaults.lua also has this one; its community rules use it.
           {"SIP_SERVERS", "$HOME_NET"}};
  port_ = {{"HTTP_PORTS", "80"},
           {"SHELLCODE_PORTS", "!80"},
           {"ORACLE_PORTS", "1521"},
           {"SSH_PORTS", "22"},
           {"DNP3_PORTS", "20000"},
           {"MODBUS_PORTS", "502"},
           {"FILE_DATA_PORTS", "[$HTTP_PORTS,110,143]"},
           {"FTP_PORTS", "21"},
           {"GENEVE_PORTS", "6081"},
           {"VXLAN_PORTS", "4789"},
           {"TEREDO_PORTS", "3544"},
           {"SIP_PORTS", "[5060,5061]"}};
}

bool RuleVars::load_yaml_text(std::string_view text, std::string& err) {
  try {
    YAML::Node root = YAML::Load(std::string(text));
    YAML::Node vars = root["vars"];
    if (!vars) return true;
    for (auto [section, target] : {std::pair{"address-groups", &addr_}, {"port-groups", &port_}}) {
      YAML::Node g = vars[section];
      if (!g || !g.IsMap()) continue;
      for (auto it = g.begin(); it != g.end(); ++it)
        (*target)[it->first.as<std::string>()] = yaml_scalar(it->second);
    }
  } catch (const YAML::Exception& e) {
    err = e.what();
    return false;
  }
  return true;
}

bool RuleVars::load_yaml_file(const std::string& path, std::string& err) {
  try {
    YAML::Node root = YAML::LoadFile(path);
    YAML::Emitter em;
    em << root;
    return load_yaml_text(em.c_str(), err);
  } catch (const YAML::Exception& e) {
    err = path + ": " + e.what();
    return false;
  }
}

bool RuleVars::parse_address(std::string_view text, AddrExpr& out, std::string& err) const {
  return addr_expr(trim(text), out, err, 0);
}
bool RuleVars::parse_port(std::string_view text, PortExpr& out, std::string& err) const {
  return port_expr(trim(text), out, err, 0);
}

bool RuleVars::addr_expr(std::string_view s, AddrExpr& out, std::string& err, int depth) const {
  if (depth > kMaxDepth) {
    err = "address variables nest too deep (cycle?)";
    return false;
  }
  out = AddrExpr{};
  while (!s.empty() && s[0] == '!') {
    out.negated = !out.negated;
    s = trim(s.substr(1));
  }
  if (s.empty()) {
    err = "empty address";
    return false;
  }
  if (s == "any") {
    out.kind = AddrExpr::Kind::kAny;
    return true;
  }
  if (s[0] == '$') {
    auto it = addr_.find(s.substr(1));
    if (it == addr_.end()) {
      err = "unknown address variable " + std::string(s);
      return false;
    }
    bool neg = out.negated;
    if (!addr_expr(trim(it->second), out, err, depth + 1)) return false;
    if (neg) {  // !$VAR: wrap so the variable's own negation is kept
      AddrExpr g;
      g.kind = AddrExpr::Kind::kGroup;
      g.negated = true;
      g.members.push_back(std::move(out));
      out = std::move(g);
    }
    return true;
  }
  if (s[0] == '[') {
    if (s.back() != ']') {
      err = "unbalanced [ in address " + std::string(s);
      return false;
    }
    std::vector<std::string_view> parts;
    if (!split_group(s.substr(1, s.size() - 2), parts)) {
      err = "unbalanced brackets in address " + std::string(s);
      return false;
    }
    out.kind = AddrExpr::Kind::kGroup;
    for (auto p : parts) {
      if (p.empty()) continue;
      AddrExpr m;
      if (!addr_expr(p, m, err, depth + 1)) return false;
      out.members.push_back(std::move(m));
    }
    if (out.members.empty()) {
      err = "empty address group";
      return false;
    }
    return true;
  }
  auto c = Cidr::parse(s);
  if (!c) {
    err = "bad address " + std::string(s);
    return false;
  }
  out.kind = AddrExpr::Kind::kCidr;
  out.cidr = *c;
  return true;
}

bool RuleVars::port_expr(std::string_view s, PortExpr& out, std::string& err, int depth) const {
  if (depth > kMaxDepth) {
    err = "port variables nest too deep (cycle?)";
    return false;
  }
  out = PortExpr{};
  while (!s.empty() && s[0] == '!') {
    out.negated = !out.negated;
    s = trim(s.substr(1));
  }
  if (s.empty()) {
    err = "empty port";
    return false;
  }
  if (s == "any") return true;
  if (s[0] == '$') {
    auto it = port_.find(s.substr(1));
    if (it == port_.end()) {
      err = "unknown port variable " + std::string(s);
      return false;
    }
    bool neg = out.negated;
    if (!port_expr(trim(it->second), out, err, depth + 1)) return false;
    if (neg) {
      PortExpr g;
      g.kind = PortExpr::Kind::kGroup;
      g.negated = true;
      g.members.push_back(std::move(out));
      out = std::move(g);
    }
    return true;
  }
  if (s[0] == '[') {
    if (s.back() != ']') {
      err = "unbalanced [ in port " + std::string(s);
      return false;
    }
    std::vector<std::string_view> parts;
    if (!split_group(s.substr(1, s.size() - 2), parts)) {
      err = "unbalanced brackets in port " + std::string(s);
      return false;
    }
    out.kind = PortExpr::Kind::kGroup;
    for (auto p : parts) {
      if (p.empty()) continue;
      PortExpr m;
      if (!port_expr(p, m, err, depth + 1)) return false;
      out.members.push_back(std::move(m));
    }
    if (out.members.empty()) {
      err = "empty port group";
      return false;
    }
    return true;
  }
  // n, n:m, n:, :m
  uint64_t lo = 0, hi = 65535;
  auto colon = s.find(':');
  if (colon == std::string_view::npos) {
    if (!parse_uint(s, lo) || lo > 65535) {
      err = "bad port " + std::string(s);
      return false;
    }
    hi = lo;
  } else {
    auto a = trim(s.substr(0, colon)), b = trim(s.substr(colon + 1));
    if ((!a.empty() && (!parse_uint(a, lo) || lo > 65535)) ||
        (!b.empty() && (!parse_uint(b, hi) || hi > 65535)) || lo > hi) {
      err = "bad port range " + std::string(s);
      return false;
    }
  }
  out.kind = PortExpr::Kind::kRange;
  out.lo = static_cast<uint16_t>(lo);
  out.hi = static_cast<uint16_t>(hi);
  return true;
}

// --- matching -----------------------------------------------------------------------------

bool AddrExpr::match(const IpAddr& a) const {
  bool raw = true;
  switch (kind) {
    case Kind::kAny:
      raw = true;
      break;
    case Kind::kCidr:
      raw = cidr.contains(a);
      break;
    case Kind::kGroup: {
      bool has_pos = false, pos = false;
      raw = true;
      for (const auto& m : members) {
        if (m.negated) {
          if (!m.match(a)) {
            raw = false;
            break;
          }
        } else {
          has_pos = true;
          if (!pos && m.match(a)) pos = true;
        }
      }
      if (raw && has_pos && !pos) raw = false;
      break;
    }
  }
  return negated ? !raw : raw;
}

namespace {
using U128 = IpRanges::U128;
using Ranges = std::vector<std::pair<U128, U128>>;
constexpr U128 kMax = ~U128(0);

U128 to_u128(const IpAddr& a) {
  U128 v = 0;
  for (uint8_t b : a.b) v = v << 8 | b;
  return v;
}

Ranges normalize(Ranges r) {
  std::sort(r.begin(), r.end());
  Ranges out;
  for (auto& x : r) {
    if (!out.empty() && (out.back().second == kMax || x.first <= out.back().second + 1)) {
      out.back().second = std::max(out.back().second, x.second);
    } else {
      out.push_back(x);
    }
  }
  return out;
}

Ranges complement(const Ranges& r) {  // r normalized
  Ranges out;
  U128 next = 0;
  bool done = false;
  for (auto& x : r) {
    if (x.first > next) out.push_back({next, x.first - 1});
    if (x.second == kMax) {
      done = true;
      break;
    }
    next = x.second + 1;
  }
  if (!done) out.push_back({next, kMax});
  return out;
}

Ranges intersect(const Ranges& a, const Ranges& b) {
  Ranges out;
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    U128 lo = std::max(a[i].first, b[j].first), hi = std::min(a[i].second, b[j].second);
    if (lo <= hi) out.push_back({lo, hi});
    if (a[i].second < b[j].second)
      ++i;
    else
      ++j;
  }
  return out;
}
}  // namespace

std::vector<std::pair<U128, U128>> IpRanges::eval(const AddrExpr& e) {
  Ranges raw;
  switch (e.kind) {
    case AddrExpr::Kind::kAny:
      raw = {{0, kMax}};
      break;
    case AddrExpr::Kind::kCidr: {
      U128 net = to_u128(e.cidr.net);
      U128 host = e.cidr.bits >= 128 ? 0 : (kMax >> e.cidr.bits);
      raw = {{net, net | host}};
      break;
    }
    case AddrExpr::Kind::kGroup: {
      Ranges pos, neg;
      bool has_pos = false;
      for (const auto& m : e.members) {
        // A negated member excludes its un-negated set.
        AddrExpr inner = m;
        inner.negated = false;
        Ranges r = eval(inner);
        Ranges& dst = m.negated ? neg : pos;
        has_pos |= !m.negated;
        dst.insert(dst.end(), r.begin(), r.end());
      }
      raw = has_pos ? normalize(pos) : Ranges{{0, kMax}};
      if (!neg.empty()) raw = intersect(raw, complement(normalize(neg)));
      break;
    }
  }
  return e.negated ? complement(raw) : raw;
}

U128 IpRanges::key(const IpAddr& a) {
  return to_u128(a);
}

IpRanges IpRanges::compile(const AddrExpr& e) {
  IpRanges r;
  r.r_ = normalize(eval(e));
  r.all_ = r.r_.size() == 1 && r.r_[0].first == 0 && r.r_[0].second == kMax;
  return r;
}

bool IpRanges::match_key(U128 v) const {
  if (all_) return true;
  auto it = std::upper_bound(r_.begin(), r_.end(), v,
                             [](U128 x, const std::pair<U128, U128>& p) { return x < p.first; });
  if (it == r_.begin()) return false;
  --it;
  return v <= it->second;
}

bool PortExpr::match(uint16_t p) const {
  bool raw = true;
  switch (kind) {
    case Kind::kAny:
      raw = true;
      break;
    case Kind::kRange:
      raw = p >= lo && p <= hi;
      break;
    case Kind::kGroup: {
      bool has_pos = false, pos = false;
      for (const auto& m : members) {
        if (m.negated) {
          if (!m.match(p)) {
            raw = false;
            break;
          }
        } else {
          has_pos = true;
          if (!pos && m.match(p)) pos = true;
        }
      }
      if (raw && has_pos && !pos) raw = false;
      break;
    }
  }
  return negated ? !raw : raw;
}

bool PortExpr::enumerate(std::vector<uint16_t>& out, size_t limit) const {
  if (negated) return false;
  switch (kind) {
    case Kind::kAny:
      return false;
    case Kind::kRange:
      if (size_t(hi - lo) + 1 + out.size() > limit) return false;
      for (uint32_t p = lo; p <= hi; ++p) out.push_back(static_cast<uint16_t>(p));
      return true;
    case Kind::kGroup:
      for (const auto& m : members)
        if (!m.enumerate(out, limit)) return false;
      return true;
  }
  return false;
}

}  // namespace komainu::sig
