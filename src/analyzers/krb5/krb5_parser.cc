#include "analyzers/krb5/krb5_parser.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>

namespace komainu::krb5 {

namespace {

// One DER element: identifier octet, tag number, contents.
struct Tlv {
  uint8_t id = 0;  // class and constructed bits plus the low tag bits
  uint32_t tag = 0;
  std::span<const uint8_t> value;
  bool context(uint32_t n) const { return (id & 0xe0) == 0xa0 && tag == n; }
};

class Der {
 public:
  explicit Der(std::span<const uint8_t> d) : d_(d) {}
  bool empty() const { return pos_ >= d_.size(); }
  bool next(Tlv& t) {
    size_t p = pos_;
    if (p >= d_.size()) return false;
    t.id = d_[p++];
    t.tag = t.id & 0x1f;
    if (t.tag == 0x1f) {  // high tag number form, at most 4 octets
      t.tag = 0;
      for (int i = 0;; ++i) {
        if (p >= d_.size() || i == 4) return false;
        uint8_t b = d_[p++];
        t.tag = t.tag << 7 | (b & 0x7f);
        if (!(b & 0x80)) break;
      }
    }
    if (p >= d_.size()) return false;
    size_t len = d_[p++];
    if (len & 0x80) {
      size_t n = len & 0x7f;
      if (n == 0 || n > 4) return false;  // indefinite length is not DER
      len = 0;
      for (size_t i = 0; i < n; ++i) {
        if (p >= d_.size()) return false;
        len = len << 8 | d_[p++];
      }
    }
    if (len > d_.size() - p) return false;
    t.value = d_.subspan(p, len);
    pos_ = p + len;
    return true;
  }

 private:
  std::span<const uint8_t> d_;
  size_t pos_ = 0;
};

bool integer(std::span<const uint8_t> v, int64_t& out) {
  Der d(v);
  Tlv t;
  if (!d.next(t) || t.id != 0x02 || t.value.empty() || t.value.size() > 8) return false;
  int64_t x = (t.value[0] & 0x80) ? -1 : 0;
  for (uint8_t b : t.value) x = int64_t(uint64_t(x) << 8 | b);
  out = x;
  return true;
}

bool int32(std::span<const uint8_t> v, int32_t& out) {
  int64_t x;
  if (!integer(v, x) || x < INT32_MIN || x > INT32_MAX) return false;
  out = int32_t(x);
  return true;
}

// KerberosString / Realm: GeneralString (0x1b), also accepted as other string types.
bool string(std::span<const uint8_t> v, std::string& out) {
  Der d(v);
  Tlv t;
  if (!d.next(t) || (t.id != 0x1b && t.id != 0x0c && t.id != 0x16 && t.id != 0x13)) return false;
  out.assign(reinterpret_cast<const char*>(t.value.data()), t.value.size());
  return true;
}

// PrincipalName ::= SEQUENCE { name-type [0] Int32, name-string [1] SEQUENCE OF KerberosString }
bool principal(std::span<const uint8_t> v, std::string& out) {
  Der outer(v);
  Tlv seq;
  if (!outer.next(seq) || seq.id != 0x30) return false;
  Der fields(seq.value);
  Tlv f;
  out.clear();
  while (fields.next(f)) {
    if (!f.context(1)) continue;
    Der list(f.value);
    Tlv s;
    if (!list.next(s) || s.id != 0x30) return false;
    Der names(s.value);
    Tlv n;
    bool first = true;
    while (names.next(n)) {
      if (n.id != 0x1b && n.id != 0x0c && n.id != 0x16 && n.id != 0x13) return false;
      if (!first) out += '/';
      first = false;
      out.append(reinterpret_cast<const char*>(n.value.data()), n.value.size());
      if (out.size() > 1024) return false;
    }
    return true;
  }
  return true;  // no name-string: an empty name
}

int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = unsigned(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + int64_t(doe) - 719468;
}

// KerberosTime: GeneralizedTime "YYYYMMDDHHMMSSZ".
bool ktime(std::span<const uint8_t> v, int64_t& out) {
  Der d(v);
  Tlv t;
  if (!d.next(t) || t.id != 0x18 || t.value.size() < 14) return false;
  unsigned f[6];
  const unsigned widths[6] = {4, 2, 2, 2, 2, 2};
  size_t p = 0;
  for (int i = 0; i < 6; ++i) {
    f[i] = 0;
    for (unsigned k = 0; k < widths[i]; ++k) {
      uint8_t c = t.value[p++];
      if (c < '0' || c > '9') return false;
      f[i] = f[i] * 10 + (c - '0');
    }
  }
  if (f[1] < 1 || f[1] > 12 || f[2] < 1 || f[2] > 31 || f[3] > 23 || f[4] > 59 || f[5] > 60)
    return false;
  out = days_from_civil(f[0], f[1], f[2]) * 86400 + f[3] * 3600 + f[4] * 60 + f[5];
  // Clamped to what nanosecond timestamps hold (years 1678-2262).
  constexpr int64_t kMaxSeconds = INT64_MAX / 1000000000;
  out = std::clamp<int64_t>(out, -kMaxSeconds, kMaxSeconds);
  return true;
}

// EncryptedData ::= SEQUENCE { etype [0] Int32, kvno [1] UInt32 OPTIONAL, cipher [2] OCTET STRING }
bool enc_etype(std::span<const uint8_t> v, int32_t& etype) {
  Der outer(v);
  Tlv seq;
  if (!outer.next(seq) || seq.id != 0x30) return false;
  Der fields(seq.value);
  Tlv f;
  while (fields.next(f))
    if (f.context(0)) return int32(f.value, etype);
  return false;
}

bool kdc_req(std::span<const uint8_t> v, Message& m) {
  Der outer(v);
  Tlv seq;
  if (!outer.next(seq) || seq.id != 0x30) return false;
  Der fields(seq.value);
  Tlv f;
  bool pvno = false, body = false;
  while (fields.next(f)) {
    if (f.context(1)) {
      int64_t x;
      if (!integer(f.value, x) || x != 5) return false;
      pvno = true;
    } else if (f.context(3)) {  // padata: SEQUENCE OF PA-DATA { padata-type [1], value [2] }
      Der l(f.value);
      Tlv s;
      if (!l.next(s) || s.id != 0x30) return false;
      Der items(s.value);
      Tlv pa;
      while (items.next(pa)) {
        Der pf(pa.value);
        Tlv x;
        if (pa.id != 0x30) return false;
        while (pf.next(x)) {
          int64_t type;
          if (x.context(1) && integer(x.value, type) && type == 2) m.pa_enc_timestamp = true;
        }
      }
    } else if (f.context(4)) {  // KDC-REQ-BODY
      Der b(f.value);
      Tlv bs;
      if (!b.next(bs) || bs.id != 0x30) return false;
      Der bf(bs.value);
      Tlv x;
      while (bf.next(x)) {
        switch (x.context(x.tag) ? x.tag : 99) {
          case 0: {  // kdc-options: BIT STRING
            Der bits(x.value);
            Tlv bt;
            if (!bits.next(bt) || bt.id != 0x03 || bt.value.empty()) return false;
            uint32_t o = 0;
            for (size_t i = 1; i < 5; ++i) o = o << 8 | (i < bt.value.size() ? bt.value[i] : 0);
            m.kdc_options = o;
            m.has_kdc_options = true;
            break;
          }
          case 1:
            if (!principal(x.value, m.cname)) return false;
            m.has_cname = true;
            break;
          case 2:
            if (!string(x.value, m.srealm)) return false;
            m.has_srealm = true;
            break;
          case 3:
            if (!principal(x.value, m.sname)) return false;
            m.has_sname = true;
            break;
          case 4:
            m.has_from = ktime(x.value, m.from);
            break;
          case 5:
            m.has_till = ktime(x.value, m.till);
            break;
          case 8: {
            Der l(x.value);
            Tlv s;
            if (!l.next(s) || s.id != 0x30) return false;
            Der items(s.value);
            Tlv e;
            while (items.next(e)) {
              if (e.id != 0x02 || e.value.empty() || e.value.size() > 4) return false;
              int64_t val = (e.value[0] & 0x80) ? -1 : 0;
              for (uint8_t c : e.value) val = int64_t(uint64_t(val) << 8 | c);
              if (m.etypes.size() < 32) m.etypes.push_back(int32_t(val));
            }
            break;
          }
          default:
            break;
        }
      }
      body = true;
    }
  }
  return pvno && body;
}

bool kdc_rep(std::span<const uint8_t> v, Message& m) {
  Der outer(v);
  Tlv seq;
  if (!outer.next(seq) || seq.id != 0x30) return false;
  Der fields(seq.value);
  Tlv f;
  bool pvno = false;
  while (fields.next(f)) {
    if (f.context(0)) {
      int64_t x;
      if (!integer(f.value, x) || x != 5) return false;
      pvno = true;
    } else if (f.context(3)) {
      if (!string(f.value, m.crealm)) return false;
      m.has_crealm = true;
    } else if (f.context(4)) {
      if (!principal(f.value, m.cname)) return false;
      m.has_cname = true;
    } else if (f.context(5)) {  // Ticket ::= [APPLICATION 1] SEQUENCE { ... }
      Der t(f.value);
      Tlv app, ts;
      if (!t.next(app) || app.id != 0x61) return false;
      Der ta(app.value);
      if (!ta.next(ts) || ts.id != 0x30) return false;
      Der tf(ts.value);
      Tlv x;
      while (tf.next(x)) {
        if (x.context(1)) {
          m.has_srealm = string(x.value, m.srealm);
        } else if (x.context(2)) {
          if (!principal(x.value, m.sname)) return false;
          m.has_sname = true;
        } else if (x.context(3)) {
          m.has_ticket_etype = enc_etype(x.value, m.ticket_etype);
        }
      }
    }
  }
  return pvno;
}

bool krb_error(std::span<const uint8_t> v, Message& m) {
  Der outer(v);
  Tlv seq;
  if (!outer.next(seq) || seq.id != 0x30) return false;
  Der fields(seq.value);
  Tlv f;
  bool pvno = false, code = false;
  while (fields.next(f)) {
    if ((f.id & 0xe0) != 0xa0) continue;
    switch (f.tag) {
      case 0: {
        int64_t x;
        if (!integer(f.value, x) || x != 5) return false;
        pvno = true;
        break;
      }
      case 6:
        if (!int32(f.value, m.error_code)) return false;
        code = true;
        break;
      case 7:
        m.has_crealm = string(f.value, m.crealm);
        break;
      case 8:
        if (!principal(f.value, m.cname)) return false;
        m.has_cname = true;
        break;
      case 9:
        m.has_srealm = string(f.value, m.srealm);
        break;
      case 10:
        if (!principal(f.value, m.sname)) return false;
        m.has_sname = true;
        break;
      case 11:
        m.has_error_text = string(f.value, m.error_text);
        break;
      default:
        break;
    }
  }
  return pvno && code;
}

}  // namespace

bool parse(std::span<const uint8_t> data, Message& out) {
  out = Message{};
  Der d(data);
  Tlv app;
  if (!d.next(app) || (app.id & 0xe0) != 0x60) return false;
  switch (app.tag) {
    case kAsReq:
    case kTgsReq:
      out.type = uint8_t(app.tag);
      return kdc_req(app.value, out);
    case kAsRep:
    case kTgsRep:
      out.type = uint8_t(app.tag);
      return kdc_rep(app.value, out);
    case kError:
      out.type = kError;
      return krb_error(app.value, out);
    case kApReq:
    case kApRep: {
      out.type = uint8_t(app.tag);
      Der s(app.value);
      Tlv seq;
      return s.next(seq) && seq.id == 0x30;
    }
    default:
      return false;
  }
}

std::string error_name(int32_t code) {
  static const char* const kNames[] = {
      "KDC_ERR_NONE",
      "KDC_ERR_NAME_EXP",
      "KDC_ERR_SERVICE_EXP",
      "KDC_ERR_BAD_PVNO",
      "KDC_ERR_C_OLD_MAST_KVNO",
      "KDC_ERR_S_OLD_MAST_KVNO",
      "KDC_ERR_C_PRINCIPAL_UNKNOWN",
      "KDC_ERR_S_PRINCIPAL_UNKNOWN",
      "KDC_ERR_PRINCIPAL_NOT_UNIQUE",
      "KDC_ERR_NULL_KEY",
      "KDC_ERR_CANNOT_POSTDATE",
      "KDC_ERR_NEVER_VALID",
      "KDC_ERR_POLICY",
      "KDC_ERR_BADOPTION",
      "KDC_ERR_ETYPE_NOSUPP",
      "KDC_ERR_SUMTYPE_NOSUPP",
      "KDC_ERR_PADATA_TYPE_NOSUPP",
      "KDC_ERR_TRTYPE_NOSUPP",
      "KDC_ERR_CLIENT_REVOKED",
      "KDC_ERR_SERVICE_REVOKED",
      "KDC_ERR_TGT_REVOKED",
      "KDC_ERR_CLIENT_NOTYET",
      "KDC_ERR_SERVICE_NOTYET",
      "KDC_ERR_KEY_EXPIRED",
      "KDC_ERR_PREAUTH_FAILED",
      "KDC_ERR_PREAUTH_REQUIRED",
      "KDC_ERR_SERVER_NOMATCH",
      "KDC_ERR_MUST_USE_USER2USER",
      "KDC_ERR_PATH_NOT_ACCEPTED",
      "KDC_ERR_SVC_UNAVAILABLE",
      nullptr,
      "KRB_AP_ERR_BAD_INTEGRITY",
      "KRB_AP_ERR_TKT_EXPIRED",
      "KRB_AP_ERR_TKT_NYV",
      "KRB_AP_ERR_REPEAT",
      "KRB_AP_ERR_NOT_US",
      "KRB_AP_ERR_BADMATCH",
      "KRB_AP_ERR_SKEW",
      "KRB_AP_ERR_BADADDR",
      "KRB_AP_ERR_BADVERSION",
      "KRB_AP_ERR_MSG_TYPE",
      "KRB_AP_ERR_MODIFIED",
      "KRB_AP_ERR_BADORDER",
      nullptr,
      "KRB_AP_ERR_BADKEYVER",
      "KRB_AP_ERR_NOKEY",
      "KRB_AP_ERR_MUT_FAIL",
      "KRB_AP_ERR_BADDIRECTION",
      "KRB_AP_ERR_METHOD",
      "KRB_AP_ERR_BADSEQ",
      "KRB_AP_ERR_INAPP_CKSUM",
      "KRB_AP_PATH_NOT_ACCEPTED",
      "KRB_ERR_RESPONSE_TOO_BIG",
      nullptr,
      nullptr,
      nullptr,
      nullptr,
      nullptr,
      nullptr,
      nullptr,
      "KRB_ERR_GENERIC",
      "KRB_ERR_FIELD_TOOLONG",
      "KDC_ERROR_CLIENT_NOT_TRUSTED",
      "KDC_ERROR_KDC_NOT_TRUSTED",
      "KDC_ERROR_INVALID_SIG",
      "KDC_ERR_KEY_TOO_WEAK",
      "KDC_ERR_CERTIFICATE_MISMATCH",
      "KRB_AP_ERR_NO_TGT",
      "KDC_ERR_WRONG_REALM",
      "KRB_AP_ERR_USER_TO_USER_REQUIRED",
      "KDC_ERR_CANT_VERIFY_CERTIFICATE",
      "KDC_ERR_INVALID_CERTIFICATE",
      "KDC_ERR_REVOKED_CERTIFICATE",
      "KDC_ERR_REVOCATION_STATUS_UNKNOWN",
      "KDC_ERR_REVOCATION_STATUS_UNAVAILABLE",
      "KDC_ERR_CLIENT_NAME_MISMATCH",
      "KDC_ERR_KDC_NAME_MISMATCH",
  };
  if (code >= 0 && size_t(code) < std::size(kNames) && kNames[code]) return kNames[code];
  return "unknown-" + std::to_string(code);
}

std::string cipher_name(int32_t etype) {
  switch (etype) {
    case 1:
      return "des-cbc-crc";
    case 2:
      return "des-cbc-md4";
    case 3:
      return "des-cbc-md5";
    case 5:
      return "des3-cbc-md5";
    case 7:
      return "des3-cbc-sha1";
    case 9:
      return "dsaWithSHA1-CmsOID";
    case 10:
      return "md5WithRSAEncryption-CmsOID";
    case 11:
      return "sha1WithRSAEncryption-CmsOID";
    case 12:
      return "rc2CBC-EnvOID";
    case 13:
      return "rsaEncryption-EnvOID";
    case 14:
      return "rsaES-OAEP-ENV-OID";
    case 15:
      return "des-ede3-cbc-Env-OID";
    case 16:
      return "des3-cbc-sha1-kd";
    case 17:
      return "aes128-cts-hmac-sha1-96";
    case 18:
      return "aes256-cts-hmac-sha1-96";
    case 23:
      return "rc4-hmac";
    case 24:
      return "rc4-hmac-exp";
    case 25:
      return "camellia128-cts-cmac";
    case 26:
      return "camellia256-cts-cmac";
    case 65:
      return "subkey-keymaterial";
    default:
      return "unknown-" + std::to_string(etype);
  }
}

const char* msg_type_name(uint8_t type) {
  switch (type) {
    case kAsReq:
      return "KRB_AS_REQ";
    case kAsRep:
      return "KRB_AS_REP";
    case kTgsReq:
      return "KRB_TGS_REQ";
    case kTgsRep:
      return "KRB_TGS_REP";
    case kApReq:
      return "KRB_AP_REQ";
    case kApRep:
      return "KRB_AP_REP";
    case kError:
      return "KRB_ERROR";
    default:
      return "UNKNOWN";
  }
}

bool weak_cipher(int32_t etype) {
  return (etype >= 1 && etype <= 3) || etype == 23 || etype == 24;
}

}  // namespace komainu::krb5
