// IP addresses (IPv4 held as IPv4-mapped IPv6, so one type serves both) and CIDR prefixes.
#pragma once
#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace komainu {

struct IpAddr {
  std::array<uint8_t, 16> b{};

  static IpAddr v4(uint32_t host_order) {
    IpAddr a;
    a.b[10] = a.b[11] = 0xff;
    a.b[12] = host_order >> 24;
    a.b[13] = host_order >> 16;
    a.b[14] = host_order >> 8;
    a.b[15] = host_order;
    return a;
  }
  static IpAddr v4_bytes(const uint8_t* p) {
    IpAddr a;
    a.b[10] = a.b[11] = 0xff;
    memcpy(&a.b[12], p, 4);
    return a;
  }
  static IpAddr v6_bytes(const uint8_t* p) {
    IpAddr a;
    memcpy(a.b.data(), p, 16);
    return a;
  }
  bool is_v4() const {
    static constexpr uint8_t kPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return memcmp(b.data(), kPrefix, 12) == 0;
  }
  uint32_t v4_host() const {
    return uint32_t(b[12]) << 24 | uint32_t(b[13]) << 16 | uint32_t(b[14]) << 8 | b[15];
  }
  std::string str() const;
  // Writes the textual form into buf (>= 46 bytes); returns its length.
  size_t format(char* buf) const;
  static std::optional<IpAddr> parse(std::string_view s);

  friend bool operator==(const IpAddr&, const IpAddr&) = default;
  friend auto operator<=>(const IpAddr&, const IpAddr&) = default;
};

// A network prefix; IPv4 prefixes are stored with bits counted over the mapped form.
struct Cidr {
  IpAddr net;
  int bits = 128;  // over the 128-bit form

  bool contains(const IpAddr& a) const;
  // "10.0.0.0/8", "2001:db8::/32", "192.0.2.1" (host).
  static std::optional<Cidr> parse(std::string_view s);
  std::string str() const;
};

// Longest-prefix-match table from prefixes to small integer labels (zones, groups).
class PrefixTable {
 public:
  void add(const Cidr& c, int label);
  // Returns the label of the longest matching prefix, or -1.
  int lookup(const IpAddr& a) const;
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    Cidr cidr;
    int label;
  };
  std::vector<Entry> entries_;  // sorted by prefix length, longest first
};

}  // namespace komainu
