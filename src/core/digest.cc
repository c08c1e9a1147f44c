#include "core/digest.h"

#include <openssl/evp.h>

namespace komainu::digest {
namespace {
struct Algs {
  EVP_MD* md5 = EVP_MD_fetch(nullptr, "MD5", nullptr);
  EVP_MD* sha1 = EVP_MD_fetch(nullptr, "SHA1", nullptr);
  EVP_MD* sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
};
const Algs& algs() {
  static const Algs a;
  return a;
}
}  // namespace

// A provider without the algorithm (a FIPS-only configuration for MD5): the legacy getter.
const EVP_MD* md5() {
  return algs().md5 ? algs().md5 : EVP_md5();
}
const EVP_MD* sha1() {
  return algs().sha1 ? algs().sha1 : EVP_sha1();
}
const EVP_MD* sha256() {
  return algs().sha256 ? algs().sha256 : EVP_sha256();
}

void append_hex(std::string& out, const unsigned char* p, size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  size_t at = out.size();
  out.resize(at + 2 * n);
  for (size_t i = 0; i < n; ++i) {
    out[at + 2 * i] = kHex[p[i] >> 4];
    out[at + 2 * i + 1] = kHex[p[i] & 15];
  }
}

std::string hex(const EVP_MD* md, const void* data, size_t n) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  std::string s;
  if (EVP_Digest(data, n, out, &len, md, nullptr)) append_hex(s, out, len);
  return s;
}

}  // namespace komainu::digest
