#include "core/addr.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>

namespace komainu {

namespace {
// Decimal forms of 0..255, each "ddd" left-aligned with its length in the fourth byte: the
// dotted quad is written once per address column of every log line.
struct OctetTable {
  char text[256][4];
  constexpr OctetTable() : text() {
    for (int v = 0; v < 256; ++v) {
      char* t = text[v];
      int n = 0;
      if (v >= 100) t[n++] = char('0' + v / 100);
      if (v >= 10) t[n++] = char('0' + v / 10 % 10);
      t[n++] = char('0' + v % 10);
      t[3] = char(n);
    }
  }
};
constexpr OctetTable kOctets;

inline char* put_octet(char* p, uint8_t v) {
  const char* t = kOctets.text[v];
  memcpy(p, t, 3);  // the buffer has room; only t[3] bytes count
  return p + t[3];
}

// IPv6 text exactly as glibc's inet_ntop writes it (the longest run of two or more zero
// groups, the first of equal ones, becomes "::"; lowercase hex without leading zeros;
// ::a.b.c.d and ::ffff:a.b.c.d dotted): inet_ntop's sprintf per group cost ~3,000
// instructions an address, and every IPv6 log line writes two.
char* put_v6(char* p, const uint8_t* b) {
  static constexpr char kHex[] = "0123456789abcdef";
  uint16_t w[8];
  for (int i = 0; i < 8; ++i) w[i] = uint16_t(b[2 * i] << 8 | b[2 * i + 1]);
  int best = -1, best_len = 0;
  for (int i = 0; i < 8;) {
    if (w[i]) {
      ++i;
      continue;
    }
    int j = i;
    while (j < 8 && !w[j]) ++j;
    if (j - i > best_len) {
      best = i;
      best_len = j - i;
    }
    i = j;
  }
  if (best_len < 2) best = -1;
  for (int i = 0; i < 8; ++i) {
    if (best >= 0 && i >= best && i < best + best_len) {
      if (i == best) *p++ = ':';
      continue;
    }
    if (i) *p++ = ':';
    if (i == 6 && best == 0 && (best_len == 6 || (best_len == 5 && w[5] == 0xffff))) {
      p = put_octet(p, b[12]);
      *p++ = '.';
      p = put_octet(p, b[13]);
      *p++ = '.';
      p = put_octet(p, b[14]);
      *p++ = '.';
      return put_octet(p, b[15]);
    }
    const unsigned v = w[i];
    if (v >= 0x1000) *p++ = kHex[v >> 12];
    if (v >= 0x100) *p++ = kHex[(v >> 8) & 15];
    if (v >= 0x10) *p++ = kHex[(v >> 4) & 15];
    *p++ = kHex[v & 15];
  }
  if (best >= 0 && best + best_len == 8) *p++ = ':';
  return p;
}
}  // namespace

size_t IpAddr::format(char* buf) const {
  if (is_v4()) {
    char* p = put_octet(buf, b[12]);
    *p++ = '.';
    p = put_octet(p, b[13]);
    *p++ = '.';
    p = put_octet(p, b[14]);
    *p++ = '.';
    p = put_octet(p, b[15]);
    *p = 0;
    return size_t(p - buf);
  }
  char* p = put_v6(buf, b.data());
  *p = 0;
  return size_t(p - buf);
}

std::string IpAddr::str() const {
  char buf[INET6_ADDRSTRLEN];
  size_t n = format(buf);
  return std::string(buf, n);
}

std::optional<IpAddr> IpAddr::parse(std::string_view s) {
  char buf[INET6_ADDRSTRLEN + 1];
  if (s.empty() || s.size() > INET6_ADDRSTRLEN) return std::nullopt;
  memcpy(buf, s.data(), s.size());
  buf[s.size()] = 0;
  uint8_t raw[16];
  if (inet_pton(AF_INET, buf, raw) == 1) return IpAddr::v4_bytes(raw);
  if (inet_pton(AF_INET6, buf, raw) == 1) return IpAddr::v6_bytes(raw);
  return std::nullopt;
}

bool Cidr::contains(const IpAddr& a) const {
  int full = bits / 8;
  if (memcmp(a.b.data(), net.b.data(), full) != 0) return false;
  int rest = bits % 8;
  if (rest == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (a.b[full] & mask) == (net.b[full] & mask);
}

std::optional<Cidr> Cidr::parse(std::string_view s) {
  auto slash = s.find('/');
  auto addr = IpAddr::parse(s.substr(0, slash));
  if (!addr) return std::nullopt;
  Cidr c;
  c.net = *addr;
  int max = addr->is_v4() ? 32 : 128;
  int bits = max;
  if (slash != std::string_view::npos) {
    auto num = s.substr(slash + 1);
    auto [p, ec] = std::from_chars(num.data(), num.data() + num.size(), bits);
    if (ec != std::errc() || p != num.data() + num.size() || bits < 0 || bits > max)
      return std::nullopt;
  }
  c.bits = addr->is_v4() ? bits + 96 : bits;
  // Canonicalise: clear host bits.
  for (int i = 0; i < 16; ++i) {
    int keep = std::clamp(c.bits - i * 8, 0, 8);
    c.net.b[i] &= static_cast<uint8_t>(keep == 0 ? 0 : 0xff << (8 - keep));
  }
  return c;
}

std::string Cidr::str() const {
  int shown = net.is_v4() && bits >= 96 ? bits - 96 : bits;
  return net.str() + "/" + std::to_string(shown);
}

void PrefixTable::add(const Cidr& c, int label) {
  entries_.push_back({c, label});
  std::stable_sort(entries_.begin(), entries_.end(),
                   [](const Entry& a, const Entry& b) { return a.cidr.bits > b.cidr.bits; });
}

int PrefixTable::lookup(const IpAddr& a) const {
  for (const auto& e : entries_)
    if (e.cidr.contains(a)) return e.label;
  return -1;
}

}  // namespace komainu
