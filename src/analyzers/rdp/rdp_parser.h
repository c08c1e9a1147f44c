// RDP connection sequence ([MS-RDPBCGR] 1.3.1.1) as far as Zeek's RDP analyzer reads it:
// TPKT framing (RFC 1006), the X.224 Connection Request (routing cookie, requested
// protocols) and Connection Confirm (selected protocol), and the server's MCS Connect
// Response whose GCC user data carries the server data blocks; the Server Security Data
// block holds the encryption method and level and the server certificate, which is either
// a proprietary one or an X.509 chain (the certificates go to x509.log). Every read is
// bounds-checked; malformed PDUs are reported by the caller, never fatal.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace komainu::rdp {

// The payload of one TPKT (version 3) PDU, or how many bytes the next one needs.
enum class Tpkt : uint8_t { kPdu, kNeedMore, kNotTpkt };
Tpkt tpkt_frame(std::span<const uint8_t> data, size_t& pdu_len);

struct ConnectionRequest {
  std::string cookie;  // "Cookie: mstshash=" value (Zeek's rdp.log cookie)
  bool has_neg = false;
  uint32_t requested_protocols = 0;
};

struct ConnectionConfirm {
  bool has_neg = false;
  bool failure = false;            // RDP_NEG_FAILURE instead of RDP_NEG_RSP
  uint32_t selected_protocol = 0;  // 0 RDP, 1 SSL, 2 HYBRID, 8 HYBRID_EX (or failure code)
};

struct ServerSecurity {
  bool present = false;
  uint32_t encryption_method = 0;
  uint32_t encryption_level = 0;
  bool has_certificate = false;
  uint32_t cert_version = 0;  // 1 proprietary, 2 X.509 chain
  bool cert_permanent = false;
  std::vector<std::span<const uint8_t>> x509_chain;  // DER, as sent (root first)
};

// The X.224 TPDU of a TPKT payload: CR from the client, CC from the server. False when
// the PDU is not that TPDU or is malformed.
bool parse_connection_request(std::span<const uint8_t> pdu, ConnectionRequest& out);
bool parse_connection_confirm(std::span<const uint8_t> pdu, ConnectionConfirm& out);

// An X.224 Data TPDU holding the MCS Connect Response (BER application tag 102). False when
// the PDU is something else; `malformed` tells a broken Connect Response from another PDU.
bool parse_connect_response(std::span<const uint8_t> pdu, ServerSecurity& out, bool& malformed);

// Zeek's names (rdp.log).
std::string security_protocol_name(uint32_t p);
std::string encryption_method_name(uint32_t m);
std::string encryption_level_name(uint32_t l);

}  // namespace komainu::rdp
