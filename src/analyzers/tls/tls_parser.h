// TLS record layer and handshake parsing: records are framed per direction, handshake
// messages are reassembled across records (bounded), ClientHello/ServerHello are decoded
// (versions incl. supported_versions, SNI, ALPN, groups, key share, signature algorithms)
// and fingerprinted (JA3, JA3S, JA4). Every read is bounds-checked; faults are named.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/digest.h"

namespace komainu::tls {

struct ClientHello {
  uint16_t version = 0;  // legacy_version
  std::vector<uint8_t> session_id;
  std::vector<uint16_t> ciphers;
  std::vector<uint16_t> extensions;  // in order, GREASE included
  std::vector<uint16_t> groups;      // supported_groups
  std::vector<uint8_t> point_formats;
  std::vector<uint16_t> sig_algs;
  std::vector<uint16_t> supported_versions;
  std::vector<std::string> alpn;
  std::string sni;
  bool has_sni = false;
  bool has_session_ticket = false;
  bool session_ticket_nonempty = false;
  bool has_psk = false;
};

struct ServerHello {
  uint16_t version = 0;           // legacy_version
  uint16_t selected_version = 0;  // supported_versions, 0 if absent
  std::vector<uint8_t> session_id;
  uint16_t cipher = 0;
  std::vector<uint16_t> extensions;
  std::string alpn;
  uint16_t key_share_group = 0;  // TLS 1.3
  bool has_psk = false;
  bool hello_retry = false;  // the special HelloRetryRequest random
};

bool is_grease(uint16_t v);

// Parse the body of a handshake message (after the 4-byte header). False = malformed.
// DTLS ClientHellos carry a cookie after the session id (`dtls`).
bool parse_client_hello(std::span<const uint8_t> body, ClientHello& out, bool dtls = false);
bool parse_server_hello(std::span<const uint8_t> body, ServerHello& out);
// An SSLv2-format ClientHello after its 2-byte header (msg type, version, cipher specs,
// session id, challenge); cipher specs of TLS (first byte 0) are kept as 16-bit suites.
bool parse_sslv2_client_hello(std::span<const uint8_t> msg, ClientHello& out);
// The named curve of an ECDHE ServerKeyExchange, 0 if not one.
uint16_t server_key_exchange_curve(std::span<const uint8_t> body);
// The DER certificates of a Certificate message (TLS <= 1.2 layout). False = malformed.
bool parse_certificate_list(std::span<const uint8_t> body,
                            std::vector<std::span<const uint8_t>>& certs);

std::string ja3_string(const ClientHello& ch);
std::string ja3s_string(const ServerHello& sh);
std::string ja4(const ClientHello& ch, char transport = 't');
using digest::md5_hex;
using digest::sha1_hex;
using digest::sha256_hex;

// Names as Zeek's ssl.log writes them.
std::string zeek_version_name(uint16_t v);
std::string zeek_cipher_name(uint16_t c);
std::string zeek_curve_name(uint16_t g);
std::string zeek_alert_name(uint8_t d);
// Suricata's tls.version.
std::string eve_version_name(uint16_t v);

}  // namespace komainu::tls
