#include "analyzers/quic/quic_parser.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdio>
#include <cstring>
#include <memory>

namespace komainu::quic {

bool read_varint(const uint8_t*& p, const uint8_t* end, uint64_t& v) {
  if (p >= end) return false;
  size_t n = size_t(1) << (*p >> 6);
  if (size_t(end - p) < n) return false;
  v = *p & 0x3f;
  for (size_t i = 1; i < n; ++i) v = v << 8 | p[i];
  p += n;
  return true;
}

bool version_supported(uint32_t version) {
  return version == kVersion1 || version == kVersion2 || version == kDraft29;
}

std::string version_name(uint32_t version) {
  if (version == kVersion1) return "1";
  if (version == kVersion2) return "quicv2";
  char b[32];
  if ((version & 0xffffff00) == 0xff000000 && (version & 0xff) >= 22 && (version & 0xff) <= 34) {
    snprintf(b, sizeof b, "draft-%u", version & 0xff);
    return b;
  }
  if ((version & 0xfffffff0) == 0xfaceb000 || (version & 0xfffffff0) == 0xfaceb010) {
    snprintf(b, sizeof b, "mvfst (%x)", version);
    return b;
  }
  snprintf(b, sizeof b, "unknown-%x", version);
  return b;
}

namespace {

// RFC 9369 §3.2 renumbered the long-header types.
PacketType long_type(uint32_t version, uint8_t bits) {
  if (version == kVersion2) {
    static constexpr PacketType v2[4] = {PacketType::kRetry, PacketType::kInitial,
                                         PacketType::kZeroRtt, PacketType::kHandshake};
    return v2[bits];
  }
  static constexpr PacketType v1[4] = {PacketType::kInitial, PacketType::kZeroRtt,
                                       PacketType::kHandshake, PacketType::kRetry};
  return v1[bits];
}

}  // namespace

bool parse_header(std::span<const uint8_t> packet, PacketHeader& h) {
  h = PacketHeader{};
  const uint8_t* p = packet.data();
  const uint8_t* end = p + packet.size();
  if (packet.empty()) return false;
  uint8_t b0 = *p++;
  if (!(b0 & 0x80)) {
    // Short header: the rest of the datagram. Without the fixed bit it is padding.
    if (!(b0 & 0x40)) return false;
    h.type = PacketType::kShort;
    h.size = packet.size();
    return true;
  }
  if (end - p < 5) return false;
  h.version = uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3];
  p += 4;
  uint8_t dlen = *p++;
  if (size_t(end - p) < size_t(dlen) + 1) return false;
  h.dcid = {p, dlen};
  p += dlen;
  uint8_t slen = *p++;
  if (size_t(end - p) < slen) return false;
  h.scid = {p, slen};
  p += slen;
  if (h.version == 0) {
    h.type = PacketType::kVersionNeg;
    h.size = packet.size();
    return true;
  }
  h.type = long_type(h.version, (b0 >> 4) & 3);
  if (!version_supported(h.version)) {
    h.size = packet.size();  // the rest of the layout is the version's own
    return true;
  }
  if (dlen > 20 || slen > 20) return false;  // RFC 9000 §17.2
  if (h.type == PacketType::kRetry) {
    constexpr size_t kTag = 16;
    if (size_t(end - p) < kTag) return false;
    h.retry_token = {p, size_t(end - p) - kTag};
    h.size = packet.size();
    return true;
  }
  uint64_t v;
  if (h.type == PacketType::kInitial) {
    if (!read_varint(p, end, v) || uint64_t(end - p) < v) return false;
    h.token = {p, size_t(v)};
    p += v;
  }
  if (!read_varint(p, end, v) || uint64_t(end - p) < v) return false;
  h.pn_offset = size_t(p - packet.data());
  h.size = h.pn_offset + size_t(v);
  return true;
}

namespace {

bool hmac_sha256(std::span<const uint8_t> key, std::span<const uint8_t> data, uint8_t out[32]) {
  unsigned int len = 0;
  return HMAC(EVP_sha256(), key.data(), int(key.size()), data.data(), data.size(), out, &len) &&
         len == 32;
}

// TLS 1.3's HKDF-Expand-Label with an empty context, for outputs of at most one block.
bool expand_label(std::span<const uint8_t> secret, std::string_view label, uint8_t* out,
                  size_t len) {
  uint8_t info[96];
  size_t n = 0;
  info[n++] = uint8_t(len >> 8);
  info[n++] = uint8_t(len);
  info[n++] = uint8_t(6 + label.size());
  memcpy(info + n, "tls13 ", 6);
  n += 6;
  memcpy(info + n, label.data(), label.size());
  n += label.size();
  info[n++] = 0;  // context
  info[n++] = 1;  // HKDF-Expand counter of the first block
  uint8_t block[32];
  if (len > 32 || !hmac_sha256(secret, {info, n}, block)) return false;
  memcpy(out, block, len);
  return true;
}

struct CipherCtx {
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  ~CipherCtx() { EVP_CIPHER_CTX_free(ctx); }
};

}  // namespace

bool derive_initial_keys(uint32_t version, std::span<const uint8_t> client_dcid, bool server,
                         InitialKeys& out) {
  static constexpr uint8_t kSaltV1[20] = {0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34,
                                          0xb3, 0x4d, 0x17, 0x9a, 0xe6, 0xa4, 0xc8,
                                          0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a};
  static constexpr uint8_t kSaltV2[20] = {0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6,
                                          0xdb, 0x81, 0x93, 0x81, 0xbe, 0x6e, 0x26,
                                          0x9d, 0xcb, 0xf9, 0xbd, 0x2e, 0xd9};
  static constexpr uint8_t kSaltDraft29[20] = {0xaf, 0xbf, 0xec, 0x28, 0x99, 0x93, 0xd2,
                                               0x4c, 0x9e, 0x97, 0x86, 0xf1, 0x9c, 0x61,
                                               0x11, 0xe0, 0x43, 0x90, 0xa8, 0x99};
  out = InitialKeys{};
  const uint8_t* salt;
  if (version == kVersion1)
    salt = kSaltV1;
  else if (version == kVersion2)
    salt = kSaltV2;
  else if (version == kDraft29)
    salt = kSaltDraft29;
  else
    return false;
  const bool v2 = version == kVersion2;
  uint8_t initial[32], secret[32];
  if (!hmac_sha256({salt, 20}, client_dcid, initial)) return false;
  if (!expand_label({initial, 32}, server ? "server in" : "client in", secret, 32)) return false;
  if (!expand_label({secret, 32}, v2 ? "quicv2 key" : "quic key", out.key.data(), 16) ||
      !expand_label({secret, 32}, v2 ? "quicv2 iv" : "quic iv", out.iv.data(), 12) ||
      !expand_label({secret, 32}, v2 ? "quicv2 hp" : "quic hp", out.hp.data(), 16))
    return false;
  out.ready = true;
  return true;
}

bool decrypt_packet(const InitialKeys& keys, std::span<const uint8_t> packet, const PacketHeader& h,
                    std::vector<uint8_t>& plain, uint64_t& pn) {
  constexpr size_t kSample = 16, kTag = 16;
  if (!keys.ready || h.size > packet.size() || h.pn_offset + 4 + kSample > h.size) return false;
  // Header protection (RFC 9001 §5.4): AES-ECB of a ciphertext sample masks the low bits of
  // the first byte and the packet number.
  uint8_t mask[32];
  int n = 0;
  {
    CipherCtx c;
    if (!c.ctx || !EVP_EncryptInit_ex(c.ctx, EVP_aes_128_ecb(), nullptr, keys.hp.data(), nullptr))
      return false;
    EVP_CIPHER_CTX_set_padding(c.ctx, 0);
    if (!EVP_EncryptUpdate(c.ctx, mask, &n, packet.data() + h.pn_offset + 4, int(kSample)) ||
        n != int(kSample))
      return false;
  }
  size_t pn_len = size_t((packet[0] ^ (mask[0] & 0x0f)) & 3) + 1;
  size_t header_len = h.pn_offset + pn_len;
  if (header_len + kTag > h.size) return false;
  std::vector<uint8_t> aad(packet.begin(), packet.begin() + std::ptrdiff_t(header_len));
  aad[0] = uint8_t(packet[0] ^ (mask[0] & 0x0f));
  pn = 0;
  for (size_t i = 0; i < pn_len; ++i) {
    aad[h.pn_offset + i] ^= mask[1 + i];
    pn = pn << 8 | aad[h.pn_offset + i];
  }
  // Initial packet numbers start at 0 and stay small: the truncated number is the full one.
  uint8_t nonce[12];
  memcpy(nonce, keys.iv.data(), 12);
  for (size_t i = 0; i < 8; ++i) nonce[11 - i] ^= uint8_t(pn >> (8 * i));
  const uint8_t* ct = packet.data() + header_len;
  size_t ct_len = h.size - header_len - kTag;
  plain.resize(ct_len);
  CipherCtx c;
  int out_len = 0, fin = 0;
  if (!c.ctx || !EVP_DecryptInit_ex(c.ctx, EVP_aes_128_gcm(), nullptr, keys.key.data(), nonce) ||
      !EVP_DecryptUpdate(c.ctx, nullptr, &out_len, aad.data(), int(aad.size())) ||
      !EVP_DecryptUpdate(c.ctx, plain.data(), &out_len, ct, int(ct_len)) ||
      !EVP_CIPHER_CTX_ctrl(c.ctx, EVP_CTRL_GCM_SET_TAG, int(kTag),
                           const_cast<uint8_t*>(ct + ct_len)) ||
      EVP_DecryptFinal_ex(c.ctx, plain.data() + out_len, &fin) <= 0) {
    plain.clear();
    return false;
  }
  return true;
}

void parse_frames(std::span<const uint8_t> payload, FrameSummary& out) {
  const uint8_t* p = payload.data();
  const uint8_t* end = p + payload.size();
  uint64_t type, a, b, c;
  auto fail = [&] { out.malformed = true; };
  while (p < end) {
    if (!read_varint(p, end, type)) return fail();
    switch (type) {
      case 0x00:  // PADDING
      case 0x01:  // PING
        break;
      case 0x02:  // ACK
      case 0x03: {
        uint64_t count;
        if (!read_varint(p, end, a) || !read_varint(p, end, b) || !read_varint(p, end, count) ||
            !read_varint(p, end, c))
          return fail();
        for (uint64_t i = 0; i < count; ++i)  // each range reads bytes: bounded by the payload
          if (!read_varint(p, end, a) || !read_varint(p, end, b)) return fail();
        if (type == 0x03)
          for (int i = 0; i < 3; ++i)
            if (!read_varint(p, end, a)) return fail();
        break;
      }
      case 0x06:  // CRYPTO
        if (!read_varint(p, end, a) || !read_varint(p, end, b) || uint64_t(end - p) < b)
          return fail();
        out.crypto.push_back({a, {p, size_t(b)}});
        p += b;
        break;
      case 0x1c:  // CONNECTION_CLOSE (transport)
      case 0x1d:  // CONNECTION_CLOSE (application)
        if (!read_varint(p, end, a) || (type == 0x1c && !read_varint(p, end, b)) ||
            !read_varint(p, end, c) || uint64_t(end - p) < c)
          return fail();
        p += c;
        out.connection_close = true;
        break;
      default:  // not allowed in Initial/Handshake packets
        return fail();
    }
  }
}

}  // namespace komainu::quic
