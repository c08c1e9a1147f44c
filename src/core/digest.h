#pragma once
// Message digests (OpenSSL) for everything that hashes: file bodies, JA3/JA4, HASSH, certificate
// and host-key fingerprints, the signature engine's to_md5/to_sha256 transforms.
#include <openssl/types.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace komainu::digest {

// The implementations, fetched once. With EVP_md5() & co. OpenSSL 3 looks the algorithm up
// in its provider store on every digest (locks, name compares), which costs more than hashing
// a JA3 string, a certificate or a small body. Never null.
const EVP_MD* md5();
const EVP_MD* sha1();
const EVP_MD* sha256();

// Appends the lowercase hex of n bytes.
void append_hex(std::string& out, const unsigned char* p, size_t n);
// The digest of the bytes as lowercase hex.
std::string hex(const EVP_MD* md, const void* data, size_t n);
inline std::string md5_hex(std::string_view s) {
  return hex(md5(), s.data(), s.size());
}
inline std::string sha1_hex(std::span<const uint8_t> b) {
  return hex(sha1(), b.data(), b.size());
}
inline std::string sha256_hex(std::span<const uint8_t> b) {
  return hex(sha256(), b.data(), b.size());
}

}  // namespace komainu::digest
