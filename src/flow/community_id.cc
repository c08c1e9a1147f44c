// Community ID v1 (https://github.com/corelight/community-id-spec) and Zeek-style uids.
#include <cstring>

#include "flow/flow.h"

namespace komainu {

namespace {

// ICMP types with a request/reply counterpart; the others are one-way and keep their order.
bool icmp_counterpart(uint8_t proto, uint16_t type) {
  static constexpr uint16_t kV4[] = {0, 8, 9, 10, 13, 14, 15, 16, 17, 18};
  static constexpr uint16_t kV6[] = {128, 129, 130, 131, 133, 134, 135, 136, 139, 140, 144, 145};
  if (proto == 1) {
    for (auto t : kV4)
      if (t == type) return true;
    return false;
  }
  for (auto t : kV6)
    if (t == type) return true;
  return false;
}

// SHA-1 of a message of at most 55 bytes (one block): the Community ID input is 40 bytes
// at most. OpenSSL 3's one-shot SHA1() looks the algorithm up on every call, which cost
// more than the hash itself at one call per flow.
void sha1_short(const uint8_t* msg, size_t len, uint8_t out[20]) {
  uint8_t block[64] = {};
  memcpy(block, msg, len);
  block[len] = 0x80;
  uint64_t bits = uint64_t(len) * 8;
  for (int i = 0; i < 8; ++i) block[63 - i] = uint8_t(bits >> (8 * i));
  uint32_t w[80];
  for (int i = 0; i < 16; ++i)
    w[i] = uint32_t(block[4 * i]) << 24 | uint32_t(block[4 * i + 1]) << 16 |
           uint32_t(block[4 * i + 2]) << 8 | block[4 * i + 3];
  auto rol = [](uint32_t x, int n) { return x << n | x >> (32 - n); };
  for (int i = 16; i < 80; ++i) w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
  const uint32_t h0 = 0x67452301, h1 = 0xEFCDAB89, h2 = 0x98BADCFE, h3 = 0x10325476,
                 h4 = 0xC3D2E1F0;
  uint32_t a = h0, b = h1, c = h2, d = h3, e = h4;
  // One loop per round function: no branch on the round inside the 80 steps.
  auto step = [&](uint32_t f, uint32_t k, uint32_t wi) {
    uint32_t t = rol(a, 5) + f + e + k + wi;
    e = d;
    d = c;
    c = rol(b, 30);
    b = a;
    a = t;
  };
  for (int i = 0; i < 20; ++i) step((b & c) | (~b & d), 0x5A827999, w[i]);
  for (int i = 20; i < 40; ++i) step(b ^ c ^ d, 0x6ED9EBA1, w[i]);
  for (int i = 40; i < 60; ++i) step((b & c) | (b & d) | (c & d), 0x8F1BBCDC, w[i]);
  for (int i = 60; i < 80; ++i) step(b ^ c ^ d, 0xCA62C1D6, w[i]);
  const uint32_t h[5] = {h0 + a, h1 + b, h2 + c, h3 + d, h4 + e};
  for (int i = 0; i < 5; ++i) {
    out[4 * i] = uint8_t(h[i] >> 24);
    out[4 * i + 1] = uint8_t(h[i] >> 16);
    out[4 * i + 2] = uint8_t(h[i] >> 8);
    out[4 * i + 3] = uint8_t(h[i]);
  }
}

// Standard base64 with padding, as EVP_EncodeBlock writes it.
void base64(const uint8_t* in, size_t n, std::string& out) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    uint32_t v = uint32_t(in[i]) << 16 | uint32_t(in[i + 1]) << 8 | in[i + 2];
    out.push_back(kAlphabet[v >> 18]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
    out.push_back(kAlphabet[v & 63]);
  }
  if (i < n) {
    uint32_t v = uint32_t(in[i]) << 16 | (i + 1 < n ? uint32_t(in[i + 1]) << 8 : 0);
    out.push_back(kAlphabet[v >> 18]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(i + 1 < n ? kAlphabet[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
}

}  // namespace

std::string community_id_v1(const FlowTuple& t, uint16_t seed) {
  std::string out;
  community_id_v1(t, seed, out);
  return out;
}

void community_id_v1(const FlowTuple& t, uint16_t seed, std::string& out) {
  const bool v4 = t.src.is_v4() && t.dst.is_v4();
  const size_t alen = v4 ? 4 : 16;
  const uint8_t* a = t.src.b.data() + (v4 ? 12 : 0);
  const uint8_t* b = t.dst.b.data() + (v4 ? 12 : 0);
  uint16_t pa = t.sport, pb = t.dport;
  bool has_ports = t.proto == 6 || t.proto == 17 || t.proto == 132 || t.proto == 1 || t.proto == 58;
  bool one_way = (t.proto == 1 || t.proto == 58) && !icmp_counterpart(t.proto, t.sport);
  if (!one_way) {
    int c = memcmp(a, b, alen);
    if (c > 0 || (c == 0 && has_ports && pa > pb)) {
      std::swap(a, b);
      std::swap(pa, pb);
    }
  }
  uint8_t buf[2 + 16 + 16 + 2 + 4];
  size_t n = 0;
  buf[n++] = uint8_t(seed >> 8);
  buf[n++] = uint8_t(seed);
  memcpy(buf + n, a, alen);
  n += alen;
  memcpy(buf + n, b, alen);
  n += alen;
  buf[n++] = t.proto;
  buf[n++] = 0;
  if (has_ports) {
    buf[n++] = uint8_t(pa >> 8);
    buf[n++] = uint8_t(pa);
    buf[n++] = uint8_t(pb >> 8);
    buf[n++] = uint8_t(pb);
  }
  uint8_t digest[20];
  sha1_short(buf, n, digest);
  out.reserve(2 + 28);
  out.assign("1:");
  base64(digest, sizeof digest, out);
}

std::string zeek_uid(uint64_t v) {
  static constexpr char kDigits[] =
      "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  char buf[16];
  int n = 0;
  do {
    buf[n++] = kDigits[v % 62];
    v /= 62;
  } while (v);
  std::string s = "C";
  while (n) s.push_back(buf[--n]);
  return s;
}

}  // namespace komainu
