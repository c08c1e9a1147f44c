#include "analyzers/rdp/rdp_parser.h"

#include <algorithm>
#include <string_view>

#include "core/cursor.h"

namespace komainu::rdp {

Tpkt tpkt_frame(std::span<const uint8_t> d, size_t& pdu_len) {
  if (d.empty()) return Tpkt::kNeedMore;
  if (d[0] != 3) return Tpkt::kNotTpkt;
  if (d.size() < 4) return Tpkt::kNeedMore;
  if (d[1] != 0) return Tpkt::kNotTpkt;
  size_t len = size_t(d[2]) << 8 | d[3];
  if (len < 7) return Tpkt::kNotTpkt;  // TPKT header and the smallest X.224 TPDU
  if (d.size() < len) return Tpkt::kNeedMore;
  pdu_len = len;
  return Tpkt::kPdu;
}

namespace {

constexpr uint8_t kX224ConnectionRequest = 0xe0, kX224ConnectionConfirm = 0xd0, kX224Data = 0xf0;

// The fixed part of a CR/CC TPDU after the TPKT header: LI, code, dst-ref, src-ref, class.
bool x224_connection_tpdu(std::span<const uint8_t> pdu, uint8_t code, Cursor& rest) {
  Cursor c(pdu);
  uint8_t li, got;
  if (!c.skip(4) || !c.u8(li) || !c.u8(got) || (got & 0xf0) != code) return false;
  if (li < 6 || !c.skip(5)) return false;
  size_t variable = std::min<size_t>(li - 6, c.remaining());
  return c.take(variable, rest);
}

// A BER tag and definite length; the value is returned as a sub-cursor.
bool ber(Cursor& c, uint32_t& tag, Cursor& value) {
  uint8_t t, l;
  if (!c.u8(t)) return false;
  tag = t;
  if ((t & 0x1f) == 0x1f) {  // high tag number: base-128 continuation bytes
    uint8_t b;
    tag = 0;
    for (int i = 0; i < 4; ++i) {
      if (!c.u8(b)) return false;
      tag = tag << 7 | (b & 0x7f);
      if (!(b & 0x80)) break;
    }
    tag |= uint32_t(t) << 24;
  }
  if (!c.u8(l)) return false;
  size_t len = l;
  if (l & 0x80) {
    size_t n = l & 0x7f;
    if (n == 0 || n > 4) return false;
    len = 0;
    for (size_t i = 0; i < n; ++i) {
      uint8_t b;
      if (!c.u8(b)) return false;
      len = len << 8 | b;
    }
  }
  return c.take(len, value);
}

bool server_security(Cursor c, ServerSecurity& out) {
  constexpr size_t kMaxCertificates = 16;
  out.present = true;
  if (!c.le32(out.encryption_method) || !c.le32(out.encryption_level)) return false;
  if (out.encryption_method == 0 && out.encryption_level == 0) return true;  // no more fields
  uint32_t random_len, cert_len;
  if (!c.le32(random_len) || !c.le32(cert_len) || !c.skip(random_len)) return false;
  Cursor cert;
  if (!c.take(cert_len, cert)) return false;
  uint32_t version;
  if (!cert.le32(version)) return false;
  out.has_certificate = true;
  out.cert_version = version & 0x7fffffff;
  out.cert_permanent = !(version & 0x80000000);
  if (out.cert_version != 2) return true;  // proprietary certificate: no X.509
  uint32_t count;
  if (!cert.le32(count)) return false;
  for (uint32_t i = 0; i < count; ++i) {
    uint32_t n;
    std::span<const uint8_t> der;
    if (out.x509_chain.size() >= kMaxCertificates) return false;
    if (!cert.le32(n) || !cert.bytes(n, der)) return false;
    out.x509_chain.push_back(der);
  }
  return true;
}

}  // namespace

bool parse_connection_request(std::span<const uint8_t> pdu, ConnectionRequest& out) {
  Cursor rest;
  if (!x224_connection_tpdu(pdu, kX224ConnectionRequest, rest)) return false;
  std::string_view text(reinterpret_cast<const char*>(rest.data()), rest.remaining());
  constexpr std::string_view kCookie = "Cookie: mstshash=";
  if (text.substr(0, 7) == "Cookie:") {
    size_t eol = text.find("\r\n");
    if (eol == std::string_view::npos) return true;  // a cookie without its end: nothing more
    if (text.substr(0, kCookie.size()) == kCookie)
      out.cookie.assign(text.substr(kCookie.size(), eol - kCookie.size()));
    rest.skip(eol + 2);
  }
  uint8_t type, flags;
  uint16_t len;
  if (rest.u8(type) && type == 1 && rest.u8(flags) && rest.le16(len) &&
      rest.le32(out.requested_protocols))
    out.has_neg = true;
  return true;
}

bool parse_connection_confirm(std::span<const uint8_t> pdu, ConnectionConfirm& out) {
  Cursor rest;
  if (!x224_connection_tpdu(pdu, kX224ConnectionConfirm, rest)) return false;
  uint8_t type, flags;
  uint16_t len;
  if (rest.u8(type) && (type == 2 || type == 3) && rest.u8(flags) && rest.le16(len) &&
      rest.le32(out.selected_protocol)) {
    out.has_neg = true;
    out.failure = type == 3;
  }
  return true;
}

bool parse_connect_response(std::span<const uint8_t> pdu, ServerSecurity& out, bool& malformed) {
  malformed = false;
  Cursor c(pdu);
  uint8_t li, code, eot;
  if (!c.skip(4) || !c.u8(li) || !c.u8(code) || (code & 0xf0) != kX224Data || !c.u8(eot))
    return false;
  uint32_t tag;
  Cursor resp;
  // MCS Connect-Response: [APPLICATION 102] (BER: 0x7f 0x66).
  if (!c.has(2) || c.data()[0] != 0x7f || c.data()[1] != 0x66) return false;
  malformed = true;
  if (!ber(c, tag, resp)) return false;
  Cursor field;
  // result (ENUMERATED), calledConnectId (INTEGER), domainParameters (SEQUENCE), userData.
  for (uint32_t want : {0x0au, 0x02u, 0x30u, 0x04u}) {
    if (!ber(resp, tag, field) || tag != want) return false;
  }
  // GCC Conference Create Response (PER): the server's data blocks follow the H.221
  // non-standard key "McDn" and a PER length.
  std::string_view gcc(reinterpret_cast<const char*>(field.data()), field.remaining());
  size_t key = gcc.substr(0, 64).find("McDn");
  if (key == std::string_view::npos || !field.skip(key + 4)) return false;
  uint8_t b0, b1;
  size_t len;
  if (!field.u8(b0)) return false;
  if (b0 & 0x80) {
    if (!field.u8(b1)) return false;
    len = size_t(b0 & 0x3f) << 8 | b1;
  } else {
    len = b0;
  }
  Cursor blocks;
  if (!field.take(std::min(len, field.remaining()), blocks)) return false;
  while (blocks.remaining() >= 4) {
    uint16_t type, block_len;
    Cursor body;
    if (!blocks.le16(type) || !blocks.le16(block_len) || block_len < 4 ||
        !blocks.take(block_len - 4, body))
      return false;
    if (type == 0x0c02 && !server_security(body, out)) return false;
  }
  malformed = false;
  return true;
}

std::string security_protocol_name(uint32_t p) {
  switch (p) {
    case 0:
      return "RDP";
    case 1:
      return "SSL";
    case 2:
      return "HYBRID";
    case 8:
      return "HYBRID_EX";
  }
  return "unknown-" + std::to_string(p);
}

std::string encryption_method_name(uint32_t m) {
  switch (m) {
    case 0:
      return "None";
    case 1:
      return "40bit";
    case 2:
      return "128bit";
    case 8:
      return "56bit";
    case 0x10:
      return "FIPS";
  }
  return "unknown-" + std::to_string(m);
}

std::string encryption_level_name(uint32_t l) {
  switch (l) {
    case 0:
      return "None";
    case 1:
      return "Low";
    case 2:
      return "Client compatible";
    case 3:
      return "High";
    case 4:
      return "FIPS";
  }
  return "unknown-" + std::to_string(l);
}

}  // namespace komainu::rdp
