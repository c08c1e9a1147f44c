// IpAddr::format writes IPv6 itself: it must match glibc's inet_ntop byte for byte (Zeek and
// Suricata logs, and every baseline, use that form).
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "core/addr.h"

namespace komainu {
namespace {

void expect_as_inet_ntop(const uint8_t raw[16]) {
  char want[INET6_ADDRSTRLEN];
  ASSERT_NE(inet_ntop(AF_INET6, raw, want, sizeof want), nullptr);
  const IpAddr a = IpAddr::v6_bytes(raw);
  if (a.is_v4()) return;  // ::ffff:a.b.c.d is komainu's IPv4 form, written dotted
  char got[64];
  const size_t n = a.format(got);
  ASSERT_EQ(std::string(got, n), want);
}

// Every pattern of zero and non-zero groups (all "::" placements and ties), with group values
// of every hex width, and the IPv4-compatible forms.
TEST(AddrFormat, Ipv6MatchesInetNtopForEveryZeroPattern) {
  const uint16_t values[] = {1, 0xf, 0x10, 0xab, 0x100, 0xfff, 0x1000, 0xffff};
  for (unsigned mask = 0; mask < 256; ++mask) {
    for (uint16_t v : values) {
      uint8_t raw[16] = {};
      for (int g = 0; g < 8; ++g) {
        if (!(mask >> g & 1)) continue;
        const uint16_t x = uint16_t(v + g);  // differing groups
        raw[2 * g] = uint8_t(x >> 8);
        raw[2 * g + 1] = uint8_t(x);
      }
      expect_as_inet_ntop(raw);
      raw[10] = raw[11] = 0xff;  // group 5 = ffff: the mapped-address test
      expect_as_inet_ntop(raw);
    }
  }
}

TEST(AddrFormat, Ipv6MatchesInetNtopOnRandomAddresses) {
  std::mt19937 rng(7);
  for (int i = 0; i < 20000; ++i) {
    uint8_t raw[16];
    for (auto& c : raw) c = uint8_t(rng());
    for (int g = 0; g < 8; ++g)  // zero groups are common in real addresses
      if (rng() % 3 == 0) raw[2 * g] = raw[2 * g + 1] = 0;
    expect_as_inet_ntop(raw);
  }
}

}  // namespace
}  // namespace komainu
