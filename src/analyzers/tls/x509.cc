#include "analyzers/tls/x509.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cctype>
#include <ctime>
#include <string_view>

#include "analyzers/tls/tls_parser.h"
#include "core/addr.h"
#include "core/ascii.h"

namespace komainu::tls {

namespace {

std::string name_text(const X509_NAME* n, unsigned long flags) {
  BIO* b = BIO_new(BIO_s_mem());
  X509_NAME_print_ex(b, n, 0, flags);
  char* p = nullptr;
  long len = BIO_get_mem_data(b, &p);
  std::string s(p, size_t(len > 0 ? len : 0));
  BIO_free(b);
  return s;
}

TimeNs asn1_time(const ASN1_TIME* t) {
  struct tm tm {};
  if (!t || ASN1_TIME_to_tm(t, &tm) != 1) return 0;
  return TimeNs(timegm(&tm)) * kNsPerSec;
}

// Post-quantum signature algorithms (FIPS 204 ML-DSA, NIST CSOR OIDs) that OpenSSL learned in
// 3.5: with an older library their OIDs have no name, so we name them as OpenSSL 3.5 (and
// thus Zeek) does. Their keys are not decodable there either: key_type is the algorithm
// name and key_length the public key's size in bits, as EVP_PKEY_get_bits reports it.
struct PqAlgorithm {
  const char* oid;
  const char* name;
};
constexpr PqAlgorithm kPqAlgorithms[] = {
    {"2.16.840.1.101.3.4.3.17", "ML-DSA-44"},
    {"2.16.840.1.101.3.4.3.18", "ML-DSA-65"},
    {"2.16.840.1.101.3.4.3.19", "ML-DSA-87"},
};

const char* pq_name(std::string_view oid) {
  for (const auto& a : kPqAlgorithms)
    if (oid == a.oid) return a.name;
  return nullptr;
}

std::string obj_text(const ASN1_OBJECT* o) {
  if (!o) return {};
  int nid = OBJ_obj2nid(o);
  if (nid != NID_undef) return OBJ_nid2ln(nid);
  char buf[128];
  OBJ_obj2txt(buf, sizeof buf, o, 1);
  if (const char* name = pq_name(buf)) return name;
  return buf;
}

}  // namespace

namespace {

// One DER header: false when it is cut short; `len` is the content length.
bool der_header(std::span<const uint8_t> d, size_t& header, size_t& len) {
  if (d.size() < 2) return false;
  uint8_t l = d[1];
  if (!(l & 0x80)) {
    header = 2;
    len = l;
    return true;
  }
  size_t n = l & 0x7f;
  if (n == 0 || n > 8 || d.size() < 2 + n) return false;
  len = 0;
  for (size_t i = 0; i < n; ++i) len = len << 8 | d[2 + i];
  header = 2 + n;
  return true;
}

}  // namespace

DerFault classify_der_fault(std::span<const uint8_t> der) {
  size_t header, len;
  // The Certificate SEQUENCE: its header or content cut short is an incomplete certificate.
  if (!der_header(der, header, len) || len > der.size() - header) return DerFault::kIncomplete;
  std::span<const uint8_t> content = der.subspan(header, len);
  // tbsCertificate inside it: a header cut short is incomplete as well; a length running
  // past the enclosing SEQUENCE is a malformed certificate.
  if (!der_header(content, header, len)) return DerFault::kIncomplete;
  if (len > content.size() - header) return DerFault::kOverrun;
  return DerFault::kOther;
}

CertInfo parse_certificate(std::span<const uint8_t> der) {
  CertInfo c;
  c.sha256 = sha256_hex(der);
  c.sha1 = sha1_hex(der);
  const unsigned char* p = der.data();
  X509* x = d2i_X509(nullptr, &p, long(der.size()));
  if (!x) return c;
  c.ok = true;
  c.version = uint64_t(X509_get_version(x) + 1);
  if (BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), nullptr)) {
    if (char* h = BN_bn2hex(bn)) {
      // OpenSSL's i2a_ASN1_INTEGER (Zeek's rendering) writes whole octets: 0 is "00".
      c.serial = std::string_view(h) == "0" ? "00" : h;
      OPENSSL_free(h);
    }
    BN_free(bn);
  }
  {
    // Suricata prints the DER content octets, keeping a leading 00 of positive numbers.
    unsigned char* der_int = nullptr;
    int n = i2d_ASN1_INTEGER(X509_get0_serialNumber(x), &der_int);
    if (n > 2 && der_int) {
      size_t hdr = 2;
      if (der_int[1] & 0x80) hdr += der_int[1] & 0x7f;
      static const char* hexd = "0123456789ABCDEF";
      for (size_t i = hdr; i < size_t(n); ++i) {
        if (i > hdr) c.serial_eve.push_back(':');
        c.serial_eve.push_back(hexd[der_int[i] >> 4]);
        c.serial_eve.push_back(hexd[der_int[i] & 15]);
      }
    }
    OPENSSL_free(der_int);
  }
  const unsigned long zeek_flags = XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB;
  // Suricata writes the attribute values as they are: control bytes (a NUL planted in a CN)
  // stay raw in tls.cert_subject / tls.cert_issuer instead of RFC 2253's "\00".
  const unsigned long fwd_flags =
      (ASN1_STRFLGS_RFC2253 & ~ASN1_STRFLGS_ESC_MSB & ~ASN1_STRFLGS_ESC_CTRL) |
      XN_FLAG_SEP_CPLUS_SPC | XN_FLAG_FN_SN;
  c.subject = name_text(X509_get_subject_name(x), zeek_flags);
  c.issuer = name_text(X509_get_issuer_name(x), zeek_flags);
  c.subject_fwd = name_text(X509_get_subject_name(x), fwd_flags);
  c.issuer_fwd = name_text(X509_get_issuer_name(x), fwd_flags);
  c.not_before = asn1_time(X509_get0_notBefore(x));
  c.not_after = asn1_time(X509_get0_notAfter(x));

  ASN1_OBJECT* key_obj = nullptr;
  const unsigned char* key_bytes = nullptr;
  int key_bytes_len = 0;
  if (X509_PUBKEY_get0_param(&key_obj, &key_bytes, &key_bytes_len, nullptr,
                             X509_get_X509_PUBKEY(x)))
    c.key_alg = obj_text(key_obj);
  c.sig_alg = obj_text(X509_get0_tbs_sigalg(x) ? [&] {
    const ASN1_OBJECT* o = nullptr;
    X509_ALGOR_get0(&o, nullptr, nullptr, X509_get0_tbs_sigalg(x));
    return o;
  }()
                                               : nullptr);
  // RDP server certificates name their RSA key md5WithRSAEncryption, which OpenSSL cannot
  // decode; Zeek reads such a key as rsaEncryption (key_alg keeps the name as sent).
  EVP_PKEY* repaired = nullptr;
  if (!X509_get0_pubkey(x) && key_obj && OBJ_obj2nid(key_obj) == NID_md5WithRSAEncryption &&
      key_bytes) {
    const unsigned char* q = key_bytes;
    repaired = d2i_PublicKey(EVP_PKEY_RSA, nullptr, &q, key_bytes_len);
  }
  if (EVP_PKEY* k = repaired ? repaired : X509_get0_pubkey(x)) {
    int id = EVP_PKEY_get_base_id(k);
    c.has_key_length = true;
    c.key_length = uint64_t(EVP_PKEY_get_bits(k));
    if (id == EVP_PKEY_RSA) {
      c.key_type = "rsa";
      BIGNUM* e = nullptr;
      if (EVP_PKEY_get_bn_param(k, "e", &e) && e) {
        if (char* d = BN_bn2dec(e)) {
          c.exponent = d;
          OPENSSL_free(d);
        }
        BN_free(e);
      }
    } else if (id == EVP_PKEY_DSA) {
      c.key_type = "dsa";
    } else if (id == EVP_PKEY_EC) {
      c.key_type = "ecdsa";
      char group[64];
      size_t len = 0;
      if (EVP_PKEY_get_utf8_string_param(k, "group", group, sizeof group, &len))
        c.curve.assign(group, len);
    } else {
      c.has_key_length = false;
    }
  }
  EVP_PKEY_free(repaired);
  if (c.key_type.empty() && key_obj) {
    for (const auto& a : kPqAlgorithms)
      if (c.key_alg == a.name) {
        c.key_type = a.name;
        c.has_key_length = key_bytes_len > 0;
        c.key_length = uint64_t(key_bytes_len) * 8;
      }
  }

  if (auto* names = static_cast<GENERAL_NAMES*>(
          X509_get_ext_d2i(x, NID_subject_alt_name, nullptr, nullptr))) {
    for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
      const GENERAL_NAME* g = sk_GENERAL_NAME_value(names, i);
      auto str = [](const ASN1_STRING* s) {
        return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                           size_t(ASN1_STRING_length(s)));
      };
      if (g->type == GEN_DNS) {
        c.san_dns.push_back(str(g->d.dNSName));
      } else if (g->type == GEN_URI) {
        c.san_uri.push_back(str(g->d.uniformResourceIdentifier));
      } else if (g->type == GEN_EMAIL) {
        c.san_email.push_back(str(g->d.rfc822Name));
      } else if (g->type == GEN_IPADD) {
        const ASN1_OCTET_STRING* ip = g->d.iPAddress;
        if (ASN1_STRING_length(ip) == 4)
          c.san_ip.push_back(IpAddr::v4_bytes(ASN1_STRING_get0_data(ip)).str());
        else if (ASN1_STRING_length(ip) == 16)
          c.san_ip.push_back(IpAddr::v6_bytes(ASN1_STRING_get0_data(ip)).str());
      }
    }
    GENERAL_NAMES_free(names);
  }
  if (auto* bc = static_cast<BASIC_CONSTRAINTS*>(
          X509_get_ext_d2i(x, NID_basic_constraints, nullptr, nullptr))) {
    c.has_basic_constraints = true;
    c.ca = bc->ca != 0;
    if (bc->pathlen) {
      c.has_path_len = true;
      c.path_len = uint64_t(ASN1_INTEGER_get(bc->pathlen));
    }
    BASIC_CONSTRAINTS_free(bc);
  }
  X509_free(x);
  return c;
}

namespace {
std::string lower(std::string_view s) {
  std::string o(s);
  for (auto& ch : o) ch = char(ascii_lower(ch));
  return o;
}

bool host_match(std::string_view pattern, std::string_view host) {
  std::string p = lower(pattern), h = lower(host);
  if (p == h) return true;
  if (p.size() > 2 && p[0] == '*' && p[1] == '.') {
    size_t dot = h.find('.');
    return dot != std::string::npos && dot > 0 && h.substr(dot) == p.substr(1);
  }
  return false;
}
}  // namespace

bool cert_matches_host(const CertInfo& c, std::string_view host) {
  if (!c.san_dns.empty()) {
    for (const auto& n : c.san_dns)
      if (host_match(n, host)) return true;
    return false;
  }
  // Fall back to the CN of the RFC 2253 subject.
  size_t pos = c.subject.find("CN=");
  if (pos == std::string::npos) return false;
  size_t end = c.subject.find(',', pos);
  return host_match(std::string_view(c.subject).substr(
                        pos + 3, end == std::string::npos ? std::string::npos : end - pos - 3),
                    host);
}

const ZeekSchema& x509_zeek_schema() {
  static const ZeekSchema schema{"x509",
                                 {{"ts", ZeekType::kTime},
                                  {"fingerprint", ZeekType::kString},
                                  {"certificate.version", ZeekType::kCount},
                                  {"certificate.serial", ZeekType::kString},
                                  {"certificate.subject", ZeekType::kString},
                                  {"certificate.issuer", ZeekType::kString},
                                  {"certificate.not_valid_before", ZeekType::kTime},
                                  {"certificate.not_valid_after", ZeekType::kTime},
                                  {"certificate.key_alg", ZeekType::kString},
                                  {"certificate.sig_alg", ZeekType::kString},
                                  {"certificate.key_type", ZeekType::kString},
                                  {"certificate.key_length", ZeekType::kCount},
                                  {"certificate.exponent", ZeekType::kString},
                                  {"certificate.curve", ZeekType::kString},
                                  {"san.dns", ZeekType::kVectorString},
                                  {"san.uri", ZeekType::kVectorString},
                                  {"san.email", ZeekType::kVectorString},
                                  {"san.ip", ZeekType::kVectorString},
                                  {"basic_constraints.ca", ZeekType::kBool},
                                  {"basic_constraints.path_len", ZeekType::kCount},
                                  {"host_cert", ZeekType::kBool},
                                  {"client_cert", ZeekType::kBool}}};
  return schema;
}

void X509Record::write_zeek(ZeekRow& row) const {
  const CertInfo& c = *cert;
  auto opt = [&](const std::string& s) {
    if (s.empty())
      row.unset();
    else
      row.str(s);
  };
  auto vec = [&](const std::vector<std::string>& v) {
    if (v.empty())
      row.unset();
    else
      row.strings(v);
  };
  row.time(ts).str(c.sha256).count(c.version).str(c.serial).str(c.subject).str(c.issuer);
  row.time(c.not_before).time(c.not_after);
  opt(c.key_alg);
  opt(c.sig_alg);
  opt(c.key_type);
  if (c.has_key_length)
    row.count(c.key_length);
  else
    row.unset();
  opt(c.exponent);
  opt(c.curve);
  vec(c.san_dns);
  vec(c.san_uri);
  vec(c.san_email);
  vec(c.san_ip);
  if (c.has_basic_constraints)
    row.boolean(c.ca);
  else
    row.unset();
  if (c.has_path_len)
    row.count(c.path_len);
  else
    row.unset();
  row.boolean(host_cert).boolean(client_cert);
}

const CertInfo& CertParseCache::get(std::span<const uint8_t> der) {
  std::string_view key(reinterpret_cast<const char*>(der.data()), der.size());
  if (auto it = map_.find(key); it != map_.end()) {
    ++hits_;
    return *it->second;
  }
  ++misses_;
  if (map_.size() >= max_entries_ && !order_.empty()) {
    map_.erase(order_.front());
    order_.pop_front();
    ++evicted_;
  }
  auto info = std::make_unique<CertInfo>(parse_certificate(der));
  info->der.assign(der.begin(), der.end());
  std::string_view own(reinterpret_cast<const char*>(info->der.data()), info->der.size());
  const CertInfo& ref = *info;
  map_.emplace(own, std::move(info));
  order_.push_back(own);
  return ref;
}

bool X509LogCache::should_log(const CertInfo& c, bool host_cert, bool client_cert, TimeNs now) {
  while (!order_.empty() && now - order_.front().first >= relog_after_) {
    known_.erase(order_.front().second);
    order_.pop_front();
  }
  std::string key = c.sha256;
  key.push_back(host_cert ? 'H' : '-');
  key.push_back(client_cert ? 'C' : '-');
  if (known_.count(key)) {
    ++suppressed_;
    return false;
  }
  if (known_.size() >= max_entries_ && !order_.empty()) {
    known_.erase(order_.front().second);
    order_.pop_front();
    ++evicted_;
  }
  known_.insert(key);
  order_.emplace_back(now, std::move(key));
  return true;
}

}  // namespace komainu::tls
