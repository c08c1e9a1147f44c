#include "detect/zones/zones.h"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <fstream>
#include <sstream>

namespace komainu {

std::string Service::str() const {
  if (proto == 1) return "icmp";
  return std::string(proto == 6    ? "tcp/"
                     : proto == 17 ? "udp/"
                                   : "ip" + std::to_string(proto) + "/") +
         std::to_string(port);
}

bool Service::parse(std::string_view s, Service& out) {
  if (s == "icmp") {
    out = {1, 0};
    return true;
  }
  uint8_t proto;
  if (s.starts_with("tcp/")) {
    proto = 6;
  } else if (s.starts_with("udp/")) {
    proto = 17;
  } else {
    return false;
  }
  std::string_view p = s.substr(4);
  unsigned port = 0;
  auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), port);
  if (ec != std::errc() || end != p.data() + p.size() || p.empty() || port > 65535) return false;
  out = {proto, uint16_t(port)};
  return true;
}

std::vector<Service> Service::parse_list(const std::vector<std::string>& list) {
  std::vector<Service> out;
  for (const auto& s : list)
    if (Service sv; parse(s, sv)) out.push_back(sv);
  return out;
}

Service Service::of(uint8_t ip_proto, uint16_t dport) {
  if (ip_proto == 1 || ip_proto == 58) return {1, 0};
  return {ip_proto, dport};
}

int Zones::find(std::string_view name) const {
  for (size_t i = 0; i < names_.size(); ++i)
    if (names_[i] == name) return int(i);
  return -1;
}

bool Zones::load_file(const std::string& path, std::string* error) {
  std::ifstream in(path);
  if (!in) {
    *error = path + ": cannot read file";
    return false;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return load_string(ss.str(), path, error);
}

namespace {

struct Ctx {
  const std::string& file;
  std::string* error;
  bool fail(const YAML::Node& n, const std::string& msg) {
    *error = file + ":" + std::to_string(n.Mark().line + 1) + ": " + msg;
    return false;
  }
};

}  // namespace

bool Zones::load_string(const std::string& yaml, const std::string& name, std::string* error) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::ParserException& e) {
    *error = name + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg;
    return false;
  }
  file_ = name;
  Ctx c{name, error};
  if (!root.IsMap()) return c.fail(root, "expected a mapping with 'zones' and 'policy'");
  for (const auto& kv : root) {
    std::string k = kv.first.Scalar();
    if (k != "zones" && k != "policy") return c.fail(kv.first, "unknown section '" + k + "'");
  }
  YAML::Node zones = root["zones"];
  if (!zones || !zones.IsMap())
    return c.fail(zones ? zones : root, "zones: expected a mapping name: [CIDR, ...]");
  for (const auto& kv : zones) {
    std::string zname = kv.first.Scalar();
    if (zname == "internet")
      return c.fail(kv.first, "'internet' is implicit: it cannot be declared");
    if (find(zname) >= 0) return c.fail(kv.first, "zone '" + zname + "' declared twice");
    names_.push_back(zname);
    int id = int(names_.size() - 1);
    YAML::Node list = kv.second;
    if (list.IsScalar()) {
      YAML::Node seq;
      seq.push_back(list);
      list = seq;
    }
    if (!list.IsSequence())
      return c.fail(kv.second, "zone '" + zname + "': expected a list of CIDRs");
    for (const auto& e : list) {
      auto cidr = e.IsScalar() ? Cidr::parse(e.Scalar()) : std::nullopt;
      if (!cidr)
        return c.fail(e,
                      "zone '" + zname + "': bad CIDR '" + (e.IsScalar() ? e.Scalar() : "?") + "'");
      table_.add(*cidr, id);
    }
  }
  YAML::Node policy = root["policy"];
  if (!policy) return true;
  if (!policy.IsMap()) return c.fail(policy, "policy: expected a mapping");
  auto zone_ref = [&](const YAML::Node& n, const char* key, int& out) {
    YAML::Node v = n[key];
    if (!v || !v.IsScalar()) return c.fail(n, std::string("missing '") + key + "'");
    out = find(v.Scalar());
    if (out < 0) return c.fail(v, "unknown zone '" + v.Scalar() + "'");
    return true;
  };
  for (const auto& kv : policy) {
    std::string sec = kv.first.Scalar();
    const YAML::Node& list = kv.second;
    if (sec != "forbidden" && sec != "allowed_services" && sec != "no_internet")
      return c.fail(kv.first, "unknown policy section '" + sec + "'");
    if (list.IsNull()) continue;
    if (!list.IsSequence()) return c.fail(list, "policy." + sec + ": expected a list");
    size_t i = 0;
    for (const auto& e : list) {
      PolicyRule r;
      r.id = "policy." + sec + "[" + std::to_string(i++) + "]";
      r.line = e.Mark().line + 1;
      if (sec == "no_internet") {
        if (!e.IsScalar()) return c.fail(e, r.id + ": expected a zone name");
        r.kind = PolicyRule::kNoInternet;
        r.from = r.to = find(e.Scalar());
        if (r.from < 0) return c.fail(e, "unknown zone '" + e.Scalar() + "'");
        if (r.from == kInternet) return c.fail(e, "no_internet: 'internet' makes no sense here");
        r.text = "no_internet: " + e.Scalar();
        rules_.push_back(std::move(r));
        continue;
      }
      if (!e.IsMap()) return c.fail(e, r.id + ": expected {from: ZONE, to: ZONE, ...}");
      for (const auto& m : e) {
        std::string k = m.first.Scalar();
        if (k != "from" && k != "to" && !(k == "services" && sec == "allowed_services"))
          return c.fail(m.first, r.id + ": unknown key '" + k + "'");
      }
      if (!zone_ref(e, "from", r.from) || !zone_ref(e, "to", r.to)) return false;
      r.text = names_[r.from] + " -> " + names_[r.to];
      if (sec == "forbidden") {
        r.kind = PolicyRule::kForbidden;
      } else {
        r.kind = PolicyRule::kAllowedServices;
        YAML::Node svcs = e["services"];
        if (!svcs || !svcs.IsSequence())
          return c.fail(e, r.id + ": expected services: [tcp/PORT, ...]");
        for (const auto& s : svcs) {
          Service sv;
          if (!s.IsScalar() || !Service::parse(s.Scalar(), sv))
            return c.fail(s, r.id + ": bad service '" + (s.IsScalar() ? s.Scalar() : "?") +
                                 "' (tcp/PORT, udp/PORT or icmp)");
          r.services.push_back(sv);
        }
      }
      rules_.push_back(std::move(r));
    }
  }
  return true;
}

void Zones::violations(int from, int to, const Service& svc,
                       std::vector<const PolicyRule*>& out) const {
  if (from == to) return;  // inside one zone: unrestricted
  const PolicyRule* listed = nullptr;
  bool allowed = false;
  for (const auto& r : rules_) {
    switch (r.kind) {
      case PolicyRule::kForbidden:
        if (r.from == from && r.to == to) out.push_back(&r);
        break;
      case PolicyRule::kNoInternet:
        if ((r.from == from && to == kInternet) || (r.from == to && from == kInternet))
          out.push_back(&r);
        break;
      case PolicyRule::kAllowedServices:
        if (r.from == from && r.to == to) {
          if (!listed) listed = &r;
          for (const auto& s : r.services) allowed = allowed || s == svc;
        }
        break;
    }
  }
  if (listed && !allowed) out.push_back(listed);
}

}  // namespace komainu
