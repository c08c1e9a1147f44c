// Community ID v1 (https://github.com/corelight/community-id-spec) and Zeek-style uids.
#include <openssl/evp.h>
#include <openssl/sha.h>

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

}  // namespace

std::string community_id_v1(const FlowTuple& t, uint16_t seed) {
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
  uint8_t digest[SHA_DIGEST_LENGTH];
  SHA1(buf, n, digest);
  unsigned char b64[32];
  int k = EVP_EncodeBlock(b64, digest, SHA_DIGEST_LENGTH);
  std::string out = "1:";
  out.append(reinterpret_cast<const char*>(b64), size_t(k));
  return out;
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
