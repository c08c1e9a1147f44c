// Zones and segmentation policy (`--zones FILE`, format in tools/scenario/README.md): named
// CIDR lists, longest prefix wins, every other address is in the implicit zone `internet`;
// policy rules forbidden / allowed_services / no_internet, each remembering its file line so
// an alert names the broken line.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/addr.h"

namespace komainu {

// "tcp/445", "udp/53", "icmp".
struct Service {
  uint8_t proto = 0;  // 6, 17, 1 (icmp, either family)
  uint16_t port = 0;
  bool operator==(const Service&) const = default;
  std::string str() const;
  static bool parse(std::string_view s, Service& out);
  // The entries that parse (config loading has reported the others).
  static std::vector<Service> parse_list(const std::vector<std::string>& list);
  static Service of(uint8_t ip_proto, uint16_t dport);
};

struct PolicyRule {
  enum Kind { kForbidden, kAllowedServices, kNoInternet } kind = kForbidden;
  int from = -1, to = -1;  // zone ids; no_internet: from = to = the zone
  std::vector<Service> services;
  std::string id;    // "policy.forbidden[0]"
  int line = 0;      // 1-based line in the zones file
  std::string text;  // "business -> launch_ops", for messages
};

class Zones {
 public:
  static constexpr int kInternet = 0;

  // False with "file:line: message" on the first error.
  bool load_file(const std::string& path, std::string* error);
  bool load_string(const std::string& yaml, const std::string& name, std::string* error);

  int zone_of(const IpAddr& a) const {
    int z = table_.lookup(a);
    return z < 0 ? kInternet : z;
  }
  const std::string& name(int zone) const { return names_[zone]; }
  size_t count() const { return names_.size(); }
  int find(std::string_view name) const;
  const std::string& file() const { return file_; }
  const std::vector<PolicyRule>& rules() const { return rules_; }

  // Rules a connection (from zone → to zone, service) breaks; appended to `out`.
  void violations(int from, int to, const Service& svc, std::vector<const PolicyRule*>& out) const;

 private:
  std::string file_;
  std::vector<std::string> names_{"internet"};
  PrefixTable table_;
  std::vector<PolicyRule> rules_;
};

}  // namespace komainu

namespace komainu {

// RFC 1918, CGNAT, loopback, link-local, IPv6 ULA/link-local.
inline bool is_private_addr(const IpAddr& a) {
  if (a.is_v4()) {
    uint32_t h = a.v4_host();
    return (h >> 24) == 10 || (h >> 20) == (172u << 4 | 1) || (h >> 16) == (192u << 8 | 168) ||
           (h >> 22) == (100u << 2 | 1) || (h >> 24) == 127 || (h >> 16) == (169u << 8 | 254);
  }
  return (a.b[0] & 0xfe) == 0xfc || (a.b[0] == 0xfe && (a.b[1] & 0xc0) == 0x80);
}

// Inside the organisation: in a declared zone when zones are loaded, else a private address.
inline bool is_internal(const Zones* z, const IpAddr& a) {
  return z ? z->zone_of(a) != Zones::kInternet : is_private_addr(a);
}

}  // namespace komainu
