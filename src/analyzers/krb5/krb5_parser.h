// Kerberos 5 messages (RFC 4120) from their DER encoding: AS/TGS requests and replies,
// KRB-ERROR, and AP-REQ/AP-REP recognised by type. Only what kerberos.log, EVE krb5 and the
// detectors need is kept: principals, realms, times, KDC options, encryption types, the
// error code and text, whether the request carried encrypted-timestamp pre-authentication.
// The reader is bounds-checked and depth-limited; a message that does not parse is rejected
// whole (the session reports it as an anomaly).
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace komainu::krb5 {

enum MsgType : uint8_t {
  kAsReq = 10,
  kAsRep = 11,
  kTgsReq = 12,
  kTgsRep = 13,
  kApReq = 14,
  kApRep = 15,
  kError = 30,
};

struct Message {
  uint8_t type = 0;
  // Client principal (name-strings joined by '/') and realm: the request body's cname and
  // realm, a reply's cname and crealm, an error's cname and crealm.
  bool has_cname = false, has_crealm = false;
  std::string cname, crealm;
  // Service principal: request body sname, a reply's ticket sname, an error's sname; its
  // realm (request body realm, ticket realm, error realm).
  bool has_sname = false, has_srealm = false;
  std::string sname, srealm;
  bool has_from = false, has_till = false;
  int64_t from = 0, till = 0;  // seconds since the epoch
  bool has_kdc_options = false;
  uint32_t kdc_options = 0;       // the first 32 bits, bit 0 = most significant
  std::vector<int32_t> etypes;    // requested encryption types, in order (at most 32 kept)
  bool pa_enc_timestamp = false;  // request: PA-ENC-TIMESTAMP (type 2) present
  bool has_ticket_etype = false;
  int32_t ticket_etype = 0;  // reply: the ticket's enc-part etype
  int32_t error_code = 0;
  bool has_error_text = false;
  std::string error_text;

  bool forwardable() const { return kdc_options & (1u << 30); }
  bool renewable() const { return kdc_options & (1u << 23); }
};

// Parses one whole message (a UDP datagram or one TCP record without its length).
bool parse(std::span<const uint8_t> data, Message& out);

// Names as Zeek's KRB::error_msg and KRB::cipher_name tables and Suricata write them
// ("unknown-N" when not listed).
std::string error_name(int32_t code);
std::string cipher_name(int32_t etype);
// Suricata's message type names ("KRB_AS_REQ", ...).
const char* msg_type_name(uint8_t type);
// Suricata's weak_encryption: DES, RC4 and their export variants.
bool weak_cipher(int32_t etype);

}  // namespace komainu::krb5
