#include "analyzers/tls/tls_parser.h"

#include <algorithm>
#include <cstdio>

#include "core/cursor.h"

namespace komainu::tls {

bool is_grease(uint16_t v) {
  return (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff);
}

namespace {

bool read_u16_list(Cursor& c, size_t len_bytes, std::vector<uint16_t>& out) {
  uint16_t n16 = 0;
  uint8_t n8 = 0;
  size_t n;
  if (len_bytes == 2) {
    if (!c.be16(n16)) return false;
    n = n16;
  } else {
    if (!c.u8(n8)) return false;
    n = n8;
  }
  Cursor l;
  if (!c.take(n, l)) return false;
  uint16_t v;
  while (l.be16(v)) out.push_back(v);
  return true;
}

void parse_alpn(Cursor e, std::vector<std::string>& out) {
  uint16_t n;
  Cursor l;
  if (!e.be16(n) || !e.take(n, l)) return;
  uint8_t k;
  std::string_view s;
  while (l.u8(k) && l.str(k, s)) out.emplace_back(s);
}

}  // namespace

bool parse_client_hello(std::span<const uint8_t> body, ClientHello& ch, bool dtls) {
  Cursor c(body);
  uint8_t sid_len;
  std::span<const uint8_t> sid;
  if (!c.be16(ch.version) || !c.skip(32) || !c.u8(sid_len) || !c.bytes(sid_len, sid)) return false;
  ch.session_id.assign(sid.begin(), sid.end());
  uint8_t cookie_len;
  if (dtls && (!c.u8(cookie_len) || !c.skip(cookie_len))) return false;
  if (!read_u16_list(c, 2, ch.ciphers)) return false;
  uint8_t comp_len;
  if (!c.u8(comp_len) || !c.skip(comp_len)) return false;
  if (c.empty()) return true;  // no extensions
  uint16_t ext_len;
  Cursor exts;
  if (!c.be16(ext_len) || !c.take(ext_len, exts)) return false;
  while (!exts.empty()) {
    uint16_t type, len;
    Cursor e;
    if (!exts.be16(type) || !exts.be16(len) || !exts.take(len, e)) return false;
    ch.extensions.push_back(type);
    switch (type) {
      case 0: {  // server_name: first host_name
        uint16_t list_len;
        uint8_t name_type;
        uint16_t name_len;
        std::string_view name;
        if (e.be16(list_len) && e.u8(name_type) && e.be16(name_len) && e.str(name_len, name) &&
            name_type == 0) {
          ch.sni.assign(name);
          ch.has_sni = true;
        }
        break;
      }
      case 10:
        read_u16_list(e, 2, ch.groups);
        break;
      case 11: {
        uint8_t n;
        std::span<const uint8_t> pf;
        if (e.u8(n) && e.bytes(n, pf)) ch.point_formats.assign(pf.begin(), pf.end());
        break;
      }
      case 13:
        read_u16_list(e, 2, ch.sig_algs);
        break;
      case 16:
        parse_alpn(e, ch.alpn);
        break;
      case 35:
        ch.has_session_ticket = true;
        ch.session_ticket_nonempty = len > 0;
        break;
      case 41:
        ch.has_psk = true;
        break;
      case 43:
        read_u16_list(e, 1, ch.supported_versions);
        break;
      default:
        break;
    }
  }
  return true;
}

bool parse_server_hello(std::span<const uint8_t> body, ServerHello& sh) {
  static const uint8_t kHrrRandom[32] = {0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11,
                                         0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
                                         0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E,
                                         0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C};
  Cursor c(body);
  std::span<const uint8_t> random, sid;
  uint8_t sid_len, comp;
  if (!c.be16(sh.version) || !c.bytes(32, random) || !c.u8(sid_len) || !c.bytes(sid_len, sid) ||
      !c.be16(sh.cipher) || !c.u8(comp))
    return false;
  sh.session_id.assign(sid.begin(), sid.end());
  sh.hello_retry = std::equal(random.begin(), random.end(), kHrrRandom);
  if (c.empty()) return true;
  uint16_t ext_len;
  Cursor exts;
  if (!c.be16(ext_len) || !c.take(ext_len, exts)) return false;
  while (!exts.empty()) {
    uint16_t type, len;
    Cursor e;
    if (!exts.be16(type) || !exts.be16(len) || !exts.take(len, e)) return false;
    sh.extensions.push_back(type);
    switch (type) {
      case 16: {
        std::vector<std::string> a;
        parse_alpn(e, a);
        if (!a.empty()) sh.alpn = a[0];
        break;
      }
      case 41:
        sh.has_psk = true;
        break;
      case 43:
        e.be16(sh.selected_version);
        break;
      case 40:  // key_share before TLS 1.3 draft 23 renumbered it
      case 51:
        e.be16(sh.key_share_group);
        break;
      default:
        break;
    }
  }
  return true;
}

bool parse_sslv2_client_hello(std::span<const uint8_t> msg, ClientHello& ch) {
  Cursor c(msg);
  uint8_t type;
  uint16_t spec_len, sid_len, challenge_len;
  Cursor specs;
  std::span<const uint8_t> sid;
  if (!c.u8(type) || type != 1 || !c.be16(ch.version) || !c.be16(spec_len) || !c.be16(sid_len) ||
      !c.be16(challenge_len) || spec_len % 3 != 0 || !c.take(spec_len, specs) ||
      !c.bytes(sid_len, sid) || !c.skip(challenge_len))
    return false;
  ch.session_id.assign(sid.begin(), sid.end());
  uint8_t kind;
  uint16_t suite;
  while (specs.u8(kind) && specs.be16(suite))
    if (kind == 0) ch.ciphers.push_back(suite);
  return true;
}

uint16_t server_key_exchange_curve(std::span<const uint8_t> body) {
  Cursor c(body);
  uint8_t curve_type;
  uint16_t curve;
  if (c.u8(curve_type) && curve_type == 3 && c.be16(curve)) return curve;
  return 0;
}

bool parse_certificate_list(std::span<const uint8_t> body,
                            std::vector<std::span<const uint8_t>>& certs) {
  Cursor c(body);
  uint8_t a, b, d;
  if (!c.u8(a) || !c.u8(b) || !c.u8(d)) return false;
  size_t total = size_t(a) << 16 | size_t(b) << 8 | d;
  Cursor list;
  if (!c.take(total, list)) return false;
  while (!list.empty()) {
    if (!list.u8(a) || !list.u8(b) || !list.u8(d)) return false;
    size_t n = size_t(a) << 16 | size_t(b) << 8 | d;
    std::span<const uint8_t> der;
    if (!list.bytes(n, der)) return false;
    certs.push_back(der);
  }
  return true;
}

namespace {

template <typename T>
std::string join_dec(const std::vector<T>& v, bool skip_grease) {
  std::string s;
  for (auto x : v) {
    if (skip_grease && is_grease(uint16_t(x))) continue;
    if (!s.empty()) s.push_back('-');
    s += std::to_string(x);
  }
  return s;
}

// Appends v as four lowercase hex digits (JA4's cipher and extension lists).
void append_hex4(std::string& out, uint16_t v) {
  static const char* d = "0123456789abcdef";
  const char b[4] = {d[v >> 12], d[(v >> 8) & 15], d[(v >> 4) & 15], d[v & 15]};
  out.append(b, 4);
}

void append_2digits(std::string& out, size_t v) {
  out.push_back(char('0' + v / 10 % 10));
  out.push_back(char('0' + v % 10));
}

}  // namespace

std::string ja3_string(const ClientHello& ch) {
  return std::to_string(ch.version) + "," + join_dec(ch.ciphers, true) + "," +
         join_dec(ch.extensions, true) + "," + join_dec(ch.groups, true) + "," +
         join_dec(ch.point_formats, false);
}

std::string ja3s_string(const ServerHello& sh) {
  return std::to_string(sh.version) + "," + std::to_string(sh.cipher) + "," +
         join_dec(sh.extensions, true);
}

std::string ja4(const ClientHello& ch, char transport) {
  uint16_t v = 0;
  for (auto s : ch.supported_versions)
    if (!is_grease(s)) v = std::max(v, s);
  if (v == 0) v = ch.version;
  const char* ver = "00";
  switch (v) {
    case 0x0304:
      ver = "13";
      break;
    case 0x0303:
      ver = "12";
      break;
    case 0x0302:
      ver = "11";
      break;
    case 0x0301:
      ver = "10";
      break;
    case 0x0300:
      ver = "s3";
      break;
    case 0x0002:
      ver = "s2";
      break;
    case 0xfeff:
      ver = "d1";
      break;
    case 0xfefd:
      ver = "d2";
      break;
    case 0xfefc:
      ver = "d3";
      break;
  }
  std::vector<uint16_t> ciphers, exts;
  for (auto c : ch.ciphers)
    if (!is_grease(c)) ciphers.push_back(c);
  size_t ext_count = 0;
  for (auto e : ch.extensions) {
    if (is_grease(e)) continue;
    ++ext_count;
    if (e != 0x0000 && e != 0x0010) exts.push_back(e);
  }
  std::string alpn = "00";
  if (!ch.alpn.empty() && !ch.alpn[0].empty()) {
    const std::string& a = ch.alpn[0];
    auto alnum = [](unsigned char x) { return std::isalnum(x) != 0; };
    if (alnum(a.front()) && alnum(a.back())) {
      alpn = {a.front(), a.back()};
    } else {
      static const char* d = "0123456789abcdef";
      unsigned char f = a.front(), l = a.back();
      alpn = {d[f >> 4], d[l & 15]};
    }
  }
  std::string head;
  head.push_back(transport);
  head.append(ver);
  head.push_back(ch.has_sni ? 'd' : 'i');
  append_2digits(head, std::min<size_t>(ciphers.size(), 99));
  append_2digits(head, std::min<size_t>(ext_count, 99));
  std::sort(ciphers.begin(), ciphers.end());
  std::sort(exts.begin(), exts.end());
  std::string cs, es;
  for (auto c : ciphers) {
    if (!cs.empty()) cs.push_back(',');
    append_hex4(cs, c);
  }
  for (auto e : exts) {
    if (!es.empty()) es.push_back(',');
    append_hex4(es, e);
  }
  if (!ch.sig_algs.empty()) {
    es += "_";
    bool first = true;
    for (auto s : ch.sig_algs) {
      if (!first) es += ",";
      first = false;
      append_hex4(es, s);
    }
  }
  auto trunc = [](const std::string& s) {
    if (s.empty()) return std::string(12, '0');
    return sha256_hex({reinterpret_cast<const uint8_t*>(s.data()), s.size()}).substr(0, 12);
  };
  return head + alpn + "_" + trunc(cs) + "_" + (exts.empty() ? std::string(12, '0') : trunc(es));
}

std::string zeek_version_name(uint16_t v) {
  switch (v) {
    case 0x0002:
      return "SSLv2";
    case 0x0300:
      return "SSLv3";
    case 0x0301:
      return "TLSv10";
    case 0x0302:
      return "TLSv11";
    case 0x0303:
      return "TLSv12";
    case 0x0304:
      return "TLSv13";
    case 0xfeff:
      return "DTLSv10";
    case 0xfefd:
      return "DTLSv12";
    case 0xfefc:
      return "DTLSv13";
  }
  if ((v >> 8) == 0x7f) return "TLSv13-draft" + std::to_string(v & 0xff);
  return "unknown-" + std::to_string(v);
}

std::string eve_version_name(uint16_t v) {
  switch (v) {
    case 0x0002:
      return "SSLv2";
    case 0x0300:
      return "SSLv3";
    case 0x0301:
      return "TLSv1";
    case 0x0302:
      return "TLS 1.1";
    case 0x0303:
      return "TLS 1.2";
    case 0x0304:
      return "TLS 1.3";
    case 0xfeff:
      return "DTLS 1.0";
    case 0xfefd:
      return "DTLS 1.2";
  }
  if ((v >> 8) == 0x7f) return "TLS 1.3 draft-" + std::to_string(v & 0xff);
  return "UNDETERMINED";
}

namespace {
struct Named {
  uint16_t v;
  const char* n;
};
// IANA TLS cipher suite names (the commonly seen ones; others print as unknown-N as Zeek
// does for values it does not know).
constexpr Named kCiphers[] = {
    {0x0000, "TLS_NULL_WITH_NULL_NULL"},
    {0x0001, "TLS_RSA_WITH_NULL_MD5"},
    {0x0002, "TLS_RSA_WITH_NULL_SHA"},
    {0x0003, "TLS_RSA_EXPORT_WITH_RC4_40_MD5"},
    {0x0004, "TLS_RSA_WITH_RC4_128_MD5"},
    {0x0005, "TLS_RSA_WITH_RC4_128_SHA"},
    {0x0006, "TLS_RSA_EXPORT_WITH_RC2_CBC_40_MD5"},
    {0x0007, "TLS_RSA_WITH_IDEA_CBC_SHA"},
    {0x0008, "TLS_RSA_EXPORT_WITH_DES40_CBC_SHA"},
    {0x0009, "TLS_RSA_WITH_DES_CBC_SHA"},
    {0x000A, "TLS_RSA_WITH_3DES_EDE_CBC_SHA"},
    {0x000D, "TLS_DH_DSS_WITH_3DES_EDE_CBC_SHA"},
    {0x0010, "TLS_DH_RSA_WITH_3DES_EDE_CBC_SHA"},
    {0x0011, "TLS_DHE_DSS_EXPORT_WITH_DES40_CBC_SHA"},
    {0x0012, "TLS_DHE_DSS_WITH_DES_CBC_SHA"},
    {0x0013, "TLS_DHE_DSS_WITH_3DES_EDE_CBC_SHA"},
    {0x0014, "TLS_DHE_RSA_EXPORT_WITH_DES40_CBC_SHA"},
    {0x0015, "TLS_DHE_RSA_WITH_DES_CBC_SHA"},
    {0x0016, "TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA"},
    {0x0018, "TLS_DH_anon_WITH_RC4_128_MD5"},
    {0x001B, "TLS_DH_anon_WITH_3DES_EDE_CBC_SHA"},
    {0x002F, "TLS_RSA_WITH_AES_128_CBC_SHA"},
    {0x0030, "TLS_DH_DSS_WITH_AES_128_CBC_SHA"},
    {0x0031, "TLS_DH_RSA_WITH_AES_128_CBC_SHA"},
    {0x0032, "TLS_DHE_DSS_WITH_AES_128_CBC_SHA"},
    {0x0033, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA"},
    {0x0034, "TLS_DH_anon_WITH_AES_128_CBC_SHA"},
    {0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA"},
    {0x0036, "TLS_DH_DSS_WITH_AES_256_CBC_SHA"},
    {0x0037, "TLS_DH_RSA_WITH_AES_256_CBC_SHA"},
    {0x0038, "TLS_DHE_DSS_WITH_AES_256_CBC_SHA"},
    {0x0039, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA"},
    {0x003A, "TLS_DH_anon_WITH_AES_256_CBC_SHA"},
    {0x003B, "TLS_RSA_WITH_NULL_SHA256"},
    {0x003C, "TLS_RSA_WITH_AES_128_CBC_SHA256"},
    {0x003D, "TLS_RSA_WITH_AES_256_CBC_SHA256"},
    {0x003E, "TLS_DH_DSS_WITH_AES_128_CBC_SHA256"},
    {0x003F, "TLS_DH_RSA_WITH_AES_128_CBC_SHA256"},
    {0x0040, "TLS_DHE_DSS_WITH_AES_128_CBC_SHA256"},
    {0x0041, "TLS_RSA_WITH_CAMELLIA_128_CBC_SHA"},
    {0x0044, "TLS_DHE_DSS_WITH_CAMELLIA_128_CBC_SHA"},
    {0x0045, "TLS_DHE_RSA_WITH_CAMELLIA_128_CBC_SHA"},
    {0x0067, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256"},
    {0x006A, "TLS_DHE_DSS_WITH_AES_256_CBC_SHA256"},
    {0x006B, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256"},
    {0x0084, "TLS_RSA_WITH_CAMELLIA_256_CBC_SHA"},
    {0x0087, "TLS_DHE_DSS_WITH_CAMELLIA_256_CBC_SHA"},
    {0x0088, "TLS_DHE_RSA_WITH_CAMELLIA_256_CBC_SHA"},
    {0x008A, "TLS_PSK_WITH_RC4_128_SHA"},
    {0x008C, "TLS_PSK_WITH_AES_128_CBC_SHA"},
    {0x008D, "TLS_PSK_WITH_AES_256_CBC_SHA"},
    {0x0096, "TLS_RSA_WITH_SEED_CBC_SHA"},
    {0x009A, "TLS_DHE_RSA_WITH_SEED_CBC_SHA"},
    {0x009C, "TLS_RSA_WITH_AES_128_GCM_SHA256"},
    {0x009D, "TLS_RSA_WITH_AES_256_GCM_SHA384"},
    {0x009E, "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256"},
    {0x009F, "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384"},
    {0x00A2, "TLS_DHE_DSS_WITH_AES_128_GCM_SHA256"},
    {0x00A3, "TLS_DHE_DSS_WITH_AES_256_GCM_SHA384"},
    {0x00BA, "TLS_RSA_WITH_CAMELLIA_128_CBC_SHA256"},
    {0x00BE, "TLS_DHE_RSA_WITH_CAMELLIA_128_CBC_SHA256"},
    {0x00C0, "TLS_RSA_WITH_CAMELLIA_256_CBC_SHA256"},
    {0x00C4, "TLS_DHE_RSA_WITH_CAMELLIA_256_CBC_SHA256"},
    {0x00FF, "TLS_EMPTY_RENEGOTIATION_INFO_SCSV"},
    {0x1301, "TLS_AES_128_GCM_SHA256"},
    {0x1302, "TLS_AES_256_GCM_SHA384"},
    {0x1303, "TLS_CHACHA20_POLY1305_SHA256"},
    {0x1304, "TLS_AES_128_CCM_SHA256"},
    {0x1305, "TLS_AES_128_CCM_8_SHA256"},
    {0x5600, "TLS_FALLBACK_SCSV"},
    {0xC001, "TLS_ECDH_ECDSA_WITH_NULL_SHA"},
    {0xC002, "TLS_ECDH_ECDSA_WITH_RC4_128_SHA"},
    {0xC003, "TLS_ECDH_ECDSA_WITH_3DES_EDE_CBC_SHA"},
    {0xC004, "TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA"},
    {0xC005, "TLS_ECDH_ECDSA_WITH_AES_256_CBC_SHA"},
    {0xC006, "TLS_ECDHE_ECDSA_WITH_NULL_SHA"},
    {0xC007, "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA"},
    {0xC008, "TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA"},
    {0xC009, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA"},
    {0xC00A, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA"},
    {0xC00B, "TLS_ECDH_RSA_WITH_NULL_SHA"},
    {0xC00C, "TLS_ECDH_RSA_WITH_RC4_128_SHA"},
    {0xC00D, "TLS_ECDH_RSA_WITH_3DES_EDE_CBC_SHA"},
    {0xC00E, "TLS_ECDH_RSA_WITH_AES_128_CBC_SHA"},
    {0xC00F, "TLS_ECDH_RSA_WITH_AES_256_CBC_SHA"},
    {0xC010, "TLS_ECDHE_RSA_WITH_NULL_SHA"},
    {0xC011, "TLS_ECDHE_RSA_WITH_RC4_128_SHA"},
    {0xC012, "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA"},
    {0xC013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"},
    {0xC014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA"},
    {0xC023, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256"},
    {0xC024, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384"},
    {0xC025, "TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA256"},
    {0xC026, "TLS_ECDH_ECDSA_WITH_AES_256_CBC_SHA384"},
    {0xC027, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256"},
    {0xC028, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384"},
    {0xC029, "TLS_ECDH_RSA_WITH_AES_128_CBC_SHA256"},
    {0xC02A, "TLS_ECDH_RSA_WITH_AES_256_CBC_SHA384"},
    {0xC02B, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"},
    {0xC02C, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"},
    {0xC02D, "TLS_ECDH_ECDSA_WITH_AES_128_GCM_SHA256"},
    {0xC02E, "TLS_ECDH_ECDSA_WITH_AES_256_GCM_SHA384"},
    {0xC02F, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"},
    {0xC030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"},
    {0xC031, "TLS_ECDH_RSA_WITH_AES_128_GCM_SHA256"},
    {0xC032, "TLS_ECDH_RSA_WITH_AES_256_GCM_SHA384"},
    {0xC09C, "TLS_RSA_WITH_AES_128_CCM"},
    {0xC09D, "TLS_RSA_WITH_AES_256_CCM"},
    {0xC0AC, "TLS_ECDHE_ECDSA_WITH_AES_128_CCM"},
    {0xC0AD, "TLS_ECDHE_ECDSA_WITH_AES_256_CCM"},
    {0xC0AE, "TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8"},
    {0xC0AF, "TLS_ECDHE_ECDSA_WITH_AES_256_CCM_8"},
    {0xCC13, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256_OLD"},
    {0xCC14, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256_OLD"},
    {0xCC15, "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256_OLD"},
    {0xCCA8, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"},
    {0xCCA9, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"},
    {0xCCAA, "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256"},
};

constexpr Named kCurves[] = {
    {1, "sect163k1"},
    {2, "sect163r1"},
    {3, "sect163r2"},
    {4, "sect193r1"},
    {5, "sect193r2"},
    {6, "sect233k1"},
    {7, "sect233r1"},
    {8, "sect239k1"},
    {9, "sect283k1"},
    {10, "sect283r1"},
    {11, "sect409k1"},
    {12, "sect409r1"},
    {13, "sect571k1"},
    {14, "sect571r1"},
    {15, "secp160k1"},
    {16, "secp160r1"},
    {17, "secp160r2"},
    {18, "secp192k1"},
    {19, "secp192r1"},
    {20, "secp224k1"},
    {21, "secp224r1"},
    {22, "secp256k1"},
    {23, "secp256r1"},
    {24, "secp384r1"},
    {25, "secp521r1"},
    {26, "brainpoolP256r1"},
    {27, "brainpoolP384r1"},
    {28, "brainpoolP512r1"},
    {29, "x25519"},
    {30, "x448"},
    {256, "ffdhe2048"},
    {257, "ffdhe3072"},
    {258, "ffdhe4096"},
    {259, "ffdhe6144"},
    {260, "ffdhe8192"},
    {0x11EC, "X25519MLKEM768"},
    {0x6399, "X25519Kyber768Draft00"},
};

constexpr Named kAlerts[] = {
    {0, "close_notify"},
    {10, "unexpected_message"},
    {20, "bad_record_mac"},
    {21, "decryption_failed"},
    {22, "record_overflow"},
    {30, "decompression_failure"},
    {40, "handshake_failure"},
    {41, "no_certificate"},
    {42, "bad_certificate"},
    {43, "unsupported_certificate"},
    {44, "certificate_revoked"},
    {45, "certificate_expired"},
    {46, "certificate_unknown"},
    {47, "illegal_parameter"},
    {48, "unknown_ca"},
    {49, "access_denied"},
    {50, "decode_error"},
    {51, "decrypt_error"},
    {60, "export_restriction"},
    {70, "protocol_version"},
    {71, "insufficient_security"},
    {80, "internal_error"},
    {86, "inappropriate_fallback"},
    {90, "user_canceled"},
    {100, "no_renegotiation"},
    {109, "missing_extension"},
    {110, "unsupported_extension"},
    {111, "certificate_unobtainable"},
    {112, "unrecognized_name"},
    {113, "bad_certificate_status_response"},
    {114, "bad_certificate_hash_value"},
    {115, "unknown_psk_identity"},
    {116, "certificate_required"},
    {120, "no_application_protocol"},
};

template <size_t N>
const char* find(const Named (&t)[N], uint16_t v) {
  for (const auto& e : t)
    if (e.v == v) return e.n;
  return nullptr;
}
}  // namespace

std::string zeek_cipher_name(uint16_t c) {
  if (const char* n = find(kCiphers, c)) return n;
  return "unknown-" + std::to_string(c);
}
std::string zeek_curve_name(uint16_t g) {
  if (const char* n = find(kCurves, g)) return n;
  return "unknown-" + std::to_string(g);
}
std::string zeek_alert_name(uint8_t d) {
  if (const char* n = find(kAlerts, d)) return n;
  return "unknown-" + std::to_string(d);
}

}  // namespace komainu::tls
