#include "core/site.h"

namespace komainu {

bool is_zeek_local(const IpAddr& a) {
  static const PrefixTable table = [] {
    PrefixTable t;
    for (const char* s :
         {"0.0.0.0/8",      "10.0.0.0/8",         "100.64.0.0/10",   "127.0.0.0/8",
          "169.254.0.0/16", "172.16.0.0/12",      "192.0.0.0/24",    "192.0.2.0/24",
          "192.168.0.0/16", "198.18.0.0/15",      "198.51.100.0/24", "203.0.113.0/24",
          "240.0.0.0/4",    "255.255.255.255/32", "::1/128",         "100::/64",
          "2001::/23",      "2001:db8::/32",      "fc00::/7",        "fe80::/10"})
      if (auto c = Cidr::parse(s)) t.add(*c, 1);
    return t;
  }();
  return table.lookup(a) >= 0;
}

}  // namespace komainu
