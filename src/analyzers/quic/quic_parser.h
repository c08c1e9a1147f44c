// QUIC packet layer as far as a passive observer can read it: long-header packets (RFC 9000
// §17.2) of versions 1 and 2 (RFC 9369: other salt, labels and type bits), the Initial
// packet protection any observer can remove (RFC 9001 §5: keys from the client's first
// Destination Connection ID through HKDF-SHA256, AES-128 header protection, AES-128-GCM),
// and the frames of a decrypted Initial payload (CRYPTO data carries the TLS handshake).
// Every read is bounds-checked; a packet that does not parse or decrypt is reported, never
// fatal. The crypto is OpenSSL's.
#pragma once
#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace komainu::quic {

constexpr uint32_t kVersion1 = 0x00000001;
constexpr uint32_t kVersion2 = 0x6b3343cf;
constexpr uint32_t kDraft29 = 0xff00001d;

enum class PacketType : uint8_t { kInitial, kZeroRtt, kHandshake, kRetry, kShort, kVersionNeg };

// QUIC's variable-length integer (RFC 9000 §16).
bool read_varint(const uint8_t*& p, const uint8_t* end, uint64_t& v);

// Versions whose Initial protection we can remove.
bool version_supported(uint32_t version);
// Zeek's QUIC::version_strings rendering ("1", "quicv2", "draft-29", "unknown-...").
std::string version_name(uint32_t version);

// One packet's header as read without keys. For long headers, `length` covers the packet
// number and the protected payload, and `size` the whole packet inside the datagram (the
// next coalesced packet follows); a short-header packet takes the rest of the datagram.
struct PacketHeader {
  PacketType type = PacketType::kShort;
  uint32_t version = 0;
  std::span<const uint8_t> dcid, scid, token;
  size_t pn_offset = 0;                  // offset of the packet number from the packet's first byte
  size_t size = 0;                       // bytes of this packet in the datagram
  std::span<const uint8_t> retry_token;  // Retry: token (the integrity tag excluded)
};

// False when the bytes are not a plausible QUIC packet (then the datagram's rest is skipped).
bool parse_header(std::span<const uint8_t> packet, PacketHeader& out);

// Initial packet protection keys of one direction.
struct InitialKeys {
  std::array<uint8_t, 16> key{};
  std::array<uint8_t, 12> iv{};
  std::array<uint8_t, 16> hp{};
  bool ready = false;
};

// Derives the client's (`server` false) or server's Initial keys from the client's first
// Destination Connection ID. False for versions we cannot decrypt.
bool derive_initial_keys(uint32_t version, std::span<const uint8_t> client_dcid, bool server,
                         InitialKeys& out);

// Removes header protection and decrypts a protected long-header packet in place of
// `plain` (resized to the payload). False when the packet is too short or authentication
// fails (wrong keys, corruption).
bool decrypt_packet(const InitialKeys& keys, std::span<const uint8_t> packet, const PacketHeader& h,
                    std::vector<uint8_t>& plain, uint64_t& packet_number);

// What the frames of a decrypted Initial (or Handshake) payload hold for us.
struct CryptoChunk {
  uint64_t offset = 0;
  std::span<const uint8_t> data;
};
struct FrameSummary {
  std::vector<CryptoChunk> crypto;
  bool connection_close = false;
  bool malformed = false;  // an unknown or truncated frame ended the walk
};
void parse_frames(std::span<const uint8_t> payload, FrameSummary& out);

}  // namespace komainu::quic
