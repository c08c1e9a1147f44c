#include "analyzers/dns/dns_parser.h"

#include <cstdio>

#include "core/addr.h"
#include "core/cursor.h"

namespace komainu::dns {

const char* error_name(Error e) {
  switch (e) {
    case Error::kNone:
      return "";
    case Error::kHeaderTooShort:
      return "DNS_truncated_len_lt_hdr_len";
    case Error::kQuestionTruncated:
      return "DNS_truncated_quest_too_short";
    case Error::kRecordTruncated:
      return "DNS_truncated_ans_too_short";
    case Error::kRdataTruncated:
      return "DNS_truncated_RR_rdlength_lt_len";
    case Error::kLabelTooLong:
      return "DNS_label_too_long";
    case Error::kLabelPastEnd:
      return "DNS_label_len_gt_pkt";
    case Error::kForwardCompression:
      return "DNS_label_forward_compress_offset";
    case Error::kNameTooLong:
      return "DNS_name_too_long";
    case Error::kRdataLengthMismatch:
      return "DNS_RR_length_mismatch";
    case Error::kEdnsTruncatedOption:
      return "EDNS_truncated_option";
    case Error::kTooManyRecords:
      return "DNS_Conn_count_too_large";
  }
  return "DNS_unknown_error";
}

namespace {

constexpr size_t kMaxName = 255;
constexpr int kMaxHops = 64;

// Reads a possibly compressed name at `off` (advanced past the name as stored). Each
// pointer must target an offset below every earlier pointer target, so following them
// always terminates.
Error read_name(std::span<const uint8_t> m, size_t& off, std::string& out) {
  out.clear();
  size_t pos = off;
  size_t limit = off;
  bool jumped = false;
  int hops = 0;
  for (;;) {
    if (pos >= m.size()) return Error::kLabelPastEnd;
    uint8_t l = m[pos];
    if ((l & 0xc0) == 0xc0) {
      if (pos + 1 >= m.size()) return Error::kLabelPastEnd;
      size_t target = size_t(l & 0x3f) << 8 | m[pos + 1];
      if (!jumped) off = pos + 2;
      if (target >= limit || target >= pos || ++hops > kMaxHops) return Error::kForwardCompression;
      jumped = true;
      limit = target;
      pos = target;
      continue;
    }
    if (l & 0xc0) return Error::kLabelTooLong;  // extended label types are obsolete
    if (l == 0) {
      if (!jumped) off = pos + 1;
      return Error::kNone;
    }
    if (pos + 1 + l > m.size()) return Error::kLabelPastEnd;
    if (out.size() + l + 1 > kMaxName) return Error::kNameTooLong;
    if (!out.empty()) out.push_back('.');
    out.append(reinterpret_cast<const char*>(&m[pos + 1]), l);
    pos += 1 + size_t(l);
  }
}

// Zeek lower-cases every name it extracts.
std::string lower(std::string s) {
  for (auto& ch : s)
    if (ch >= 'A' && ch <= 'Z') ch = char(ch - 'A' + 'a');
  return s;
}

std::string ip4(const uint8_t* p) {
  return IpAddr::v4_bytes(p).str();
}
std::string ip6(const uint8_t* p) {
  return IpAddr::v6_bytes(p).str();
}

std::string hex(std::span<const uint8_t> b) {
  static const char* d = "0123456789abcdef";
  std::string s;
  s.reserve(b.size() * 2);
  for (uint8_t c : b) {
    s.push_back(d[c >> 4]);
    s.push_back(d[c & 15]);
  }
  return s;
}

// Fills the type-specific parts of `rr` from rdata [off, end) of message `m`.
Error parse_rdata(std::span<const uint8_t> m, size_t off, size_t end, ResourceRecord& rr) {
  Cursor c(m.data() + off, end - off);
  auto name_at = [&](size_t& o, std::string& out) -> Error {
    Error e = read_name(m, o, out);
    if (e != Error::kNone) return e;
    return o > end ? Error::kRdataLengthMismatch : Error::kNone;
  };
  auto set_text = [&](std::string s) {
    rr.zeek_event = true;
    rr.zeek_text = s;
    rr.rdata = std::move(s);
    rr.has_rdata = true;
  };
  size_t len = end - off;
  switch (rr.type) {
    case 1:  // A
      if (len != 4) return Error::kRdataLengthMismatch;
      set_text(ip4(&m[off]));
      return Error::kNone;
    case 28:  // AAAA
      if (len != 16) return Error::kRdataLengthMismatch;
      set_text(ip6(&m[off]));
      {
        // Suricata writes every group as 4 hex digits (Zeek keeps the compressed form).
        static const char* hex = "0123456789abcdef";
        std::string full;
        for (int g = 0; g < 8; ++g) {
          if (g) full.push_back(':');
          for (int k = 0; k < 2; ++k) {
            uint8_t b = m[off + size_t(2 * g + k)];
            full.push_back(hex[b >> 4]);
            full.push_back(hex[b & 15]);
          }
        }
        rr.rdata = std::move(full);
      }
      return Error::kNone;
    case 2:     // NS
    case 5:     // CNAME
    case 12: {  // PTR
      std::string n;
      size_t o = off;
      if (Error e = name_at(o, n); e != Error::kNone) return e;
      set_text(std::move(n));
      return Error::kNone;
    }
    case 15: {  // MX
      uint16_t pref;
      if (!c.be16(pref)) return Error::kRdataLengthMismatch;
      std::string n;
      size_t o = off + 2;
      if (Error e = name_at(o, n); e != Error::kNone) return e;
      set_text(std::move(n));
      return Error::kNone;
    }
    case 6: {  // SOA
      Soa soa;
      size_t o = off;
      if (Error e = name_at(o, soa.mname); e != Error::kNone) return e;
      if (Error e = name_at(o, soa.rname); e != Error::kNone) return e;
      Cursor t(m.data() + o, end - o);
      if (!t.be32(soa.serial) || !t.be32(soa.refresh) || !t.be32(soa.retry) ||
          !t.be32(soa.expire) || !t.be32(soa.minimum))
        return Error::kRdataLengthMismatch;
      rr.zeek_event = true;
      rr.zeek_text = soa.mname;
      rr.soa = std::move(soa);
      return Error::kNone;
    }
    case 16:    // TXT
    case 99: {  // SPF
      std::string zeek, text;
      const char* tag = rr.type == 16 ? "TXT " : "SPF ";
      bool first = true;
      while (!c.empty()) {
        uint8_t l;
        std::string_view s;
        c.u8(l);
        if (!c.str(l, s)) return Error::kRdataLengthMismatch;
        if (!first) zeek.push_back(' ');
        first = false;
        zeek += tag;
        zeek += std::to_string(l);
        zeek.push_back(' ');
        zeek += s;
        text += s;
      }
      rr.zeek_event = true;
      rr.zeek_text = std::move(zeek);
      rr.rdata = std::move(text);
      rr.has_rdata = true;
      return Error::kNone;
    }
    case 33: {  // SRV
      Srv srv;
      if (!c.be16(srv.priority) || !c.be16(srv.weight) || !c.be16(srv.port))
        return Error::kRdataLengthMismatch;
      size_t o = off + 6;
      if (Error e = name_at(o, srv.target); e != Error::kNone) return e;
      rr.zeek_event = true;
      rr.zeek_text = srv.target;
      rr.srv = std::move(srv);
      return Error::kNone;
    }
    case 11:  // WKS: Zeek raises the reply event but logs no text
      rr.zeek_event = true;
      return Error::kNone;
    case 46: {  // RRSIG
      uint16_t covered;
      if (!c.be16(covered) || !c.skip(16)) return Error::kRdataLengthMismatch;
      std::string signer;
      size_t o = off + 18;
      if (Error e = name_at(o, signer); e != Error::kNone) return e;
      rr.zeek_event = true;
      rr.zeek_text =
          "RRSIG " + std::to_string(covered) + " " + (signer.empty() ? "<Root>" : lower(signer));
      return Error::kNone;
    }
    case 48: {  // DNSKEY
      uint8_t alg;
      if (!c.skip(3) || !c.u8(alg)) return Error::kRdataLengthMismatch;
      rr.zeek_event = true;
      rr.zeek_text = "DNSKEY " + std::to_string(alg);
      return Error::kNone;
    }
    case 47: {  // NSEC
      std::string next;
      size_t o = off;
      if (Error e = name_at(o, next); e != Error::kNone) return e;
      rr.zeek_event = true;
      rr.zeek_text = "NSEC " + lower(rr.name) + " " + lower(next);
      return Error::kNone;
    }
    case 50:  // NSEC3
      rr.zeek_event = true;
      rr.zeek_text = "NSEC3";
      return Error::kNone;
    case 51:  // NSEC3PARAM
      rr.zeek_event = true;
      rr.zeek_text = "NSEC3PARAM";
      return Error::kNone;
    case 43: {  // DS
      uint8_t alg, dt;
      if (!c.skip(2) || !c.u8(alg) || !c.u8(dt)) return Error::kRdataLengthMismatch;
      rr.zeek_event = true;
      rr.zeek_text = "DS " + std::to_string(alg) + " " + std::to_string(dt);
      return Error::kNone;
    }
    case 65534:  // BIND9 private signing-state record
      rr.zeek_event = true;
      rr.zeek_text = "BIND9 signing signal";
      return Error::kNone;
    case 44: {  // SSHFP
      uint8_t algo, fptype;
      if (!c.u8(algo) || !c.u8(fptype)) return Error::kRdataLengthMismatch;
      rr.zeek_event = true;
      rr.zeek_text = "SSHFP: " + hex({c.data(), c.remaining()});
      return Error::kNone;
    }
    case 29: {  // LOC
      uint8_t version, size, horiz, vert;
      if (!c.u8(version) || !c.u8(size) || !c.u8(horiz) || !c.u8(vert))
        return Error::kRdataLengthMismatch;
      rr.zeek_event = true;
      rr.zeek_text = "LOC:  " + std::to_string(size) + " " + std::to_string(horiz) + " " +
                     std::to_string(vert);
      return Error::kNone;
    }
    case 41: {  // OPT (EDNS): options must fit
      while (!c.empty()) {
        uint16_t code, olen;
        if (!c.be16(code) || !c.be16(olen) || !c.skip(olen)) return Error::kEdnsTruncatedOption;
      }
      return Error::kNone;
    }
    // Parsed by Zeek without a dns.log rendering.
    case 13:   // HINFO
    case 35:   // NAPTR
    case 38:   // A6
    case 64:   // SVCB
    case 65:   // HTTPS
    case 249:  // TKEY
    case 250:  // TSIG
    case 257:  // CAA
      return Error::kNone;
    default:
      rr.zeek_event = true;
      rr.zeek_text = "<unknown type=" + std::to_string(rr.type) + ">";
      return Error::kNone;
  }
}

}  // namespace

Error parse_message(std::span<const uint8_t> m, Message& out, const Limits& limits) {
  // The vectors keep their capacity: a reused Message parses without growing them again.
  out.id = out.flags = 0;
  out.qdcount = out.ancount = out.nscount = out.arcount = 0;
  out.questions.clear();
  out.records.clear();
  Cursor c(m);
  if (!c.be16(out.id) || !c.be16(out.flags) || !c.be16(out.qdcount) || !c.be16(out.ancount) ||
      !c.be16(out.nscount) || !c.be16(out.arcount))
    return Error::kHeaderTooShort;
  size_t off = 12;
  for (size_t i = 0; i < out.qdcount; ++i) {
    if (i >= limits.max_questions) return Error::kTooManyRecords;
    Question q;
    if (Error e = read_name(m, off, q.name); e != Error::kNone) return e;
    Cursor t(m.data() + off, m.size() - off);
    if (!t.be16(q.type) || !t.be16(q.cls)) return Error::kQuestionTruncated;
    off += 4;
    out.questions.push_back(std::move(q));
  }
  const uint16_t counts[3] = {out.ancount, out.nscount, out.arcount};
  for (int s = 0; s < 3; ++s) {
    for (size_t i = 0; i < counts[s]; ++i) {
      if (out.records.size() >= limits.max_records) return Error::kTooManyRecords;
      ResourceRecord rr;
      rr.section = Section(s);
      if (Error e = read_name(m, off, rr.name); e != Error::kNone) return e;
      Cursor t(m.data() + off, m.size() - off);
      uint16_t rdlen;
      if (!t.be16(rr.type) || !t.be16(rr.cls) || !t.be32(rr.ttl) || !t.be16(rdlen))
        return Error::kRecordTruncated;
      off += 10;
      if (rdlen > m.size() - off) return Error::kRdataTruncated;
      Error e = parse_rdata(m, off, off + rdlen, rr);
      off += rdlen;
      out.records.push_back(std::move(rr));
      if (e != Error::kNone) return e;
    }
  }
  return Error::kNone;
}

namespace {
const char* const kTypeNames[] = {
    nullptr,  "A",     "NS",     "MD",         "MF",      "CNAME",      "SOA",   "MB",
    "MG",     "MR",    "NULL",   "WKS",        "PTR",     "HINFO",      "MINFO", "MX",
    "TXT",    "RP",    "AFSDB",  "X25",        "ISDN",    "RT",         "NSAP",  "NSAP-PTR",
    "SIG",    "KEY",   "PX",     "GPOS",       "AAAA",    "LOC",        "NXT",   "EID",
    "NIMLOC", "SRV",   "ATMA",   "NAPTR",      "KX",      "CERT",       "A6",    "DNAME",
    "SINK",   "OPT",   "APL",    "DS",         "SSHFP",   "IPSECKEY",   "RRSIG", "NSEC",
    "DNSKEY", "DHCID", "NSEC3",  "NSEC3PARAM", "TLSA",    "SMIMEA",     nullptr, "HIP",
    "NINFO",  "RKEY",  "TALINK", "CDS",        "CDNSKEY", "OPENPGPKEY", "CSYNC", "ZONEMD",
    "SVCB",   "HTTPS"};

const char* type_name(uint16_t t) {
  if (t < sizeof(kTypeNames) / sizeof(kTypeNames[0])) return kTypeNames[t];
  switch (t) {
    case 99:
      return "SPF";
    case 100:
      return "UINFO";
    case 101:
      return "UID";
    case 102:
      return "GID";
    case 103:
      return "UNSPEC";
    case 104:
      return "NID";
    case 105:
      return "L32";
    case 106:
      return "L64";
    case 107:
      return "LP";
    case 108:
      return "EUI48";
    case 109:
      return "EUI64";
    case 249:
      return "TKEY";
    case 250:
      return "TSIG";
    case 251:
      return "IXFR";
    case 252:
      return "AXFR";
    case 253:
      return "MAILB";
    case 254:
      return "MAILA";
    case 255:
      return "*";
    case 256:
      return "URI";
    case 257:
      return "CAA";
    case 32768:
      return "TA";
    case 32769:
      return "DLV";
    case 65281:
      return "WINS";
    case 65282:
      return "WINS-R";
    case 65422:
      return "XPF";
    case 65521:
      return "INTEGRITY";
  }
  return nullptr;
}

const char* const kRcodeNames[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
                                   "NOTIMP",  "REFUSED", "YXDOMAIN", "YXRRSET",
                                   "NXRRSet", "NOTAUTH", "NOTZONE"};
const char* const kExtRcodeNames[] = {"BADVERS", "BADKEY", "BADTIME",  "BADMODE",
                                      "BADNAME", "BADALG", "BADTRUNC", "BADCOOKIE"};
}  // namespace

std::string zeek_qtype_name(uint16_t t) {
  if (const char* n = type_name(t)) return n;
  return "query-" + std::to_string(t);
}

std::string zeek_class_name(uint16_t c) {
  switch (c) {
    case 1:
      return "C_INTERNET";
    case 2:
      return "C_CSNET";
    case 3:
      return "C_CHAOS";
    case 4:
      return "C_HESIOD";
    case 254:
      return "C_NONE";
    case 255:
      return "C_ANY";
  }
  return "qclass-" + std::to_string(c);
}

std::string zeek_rcode_name(uint16_t r) {
  if (r < 11) return kRcodeNames[r];
  if (r < 16) return "unassigned-" + std::to_string(r);
  if (r < 24) return kExtRcodeNames[r - 16];
  if (r == 3842) return "BADSIG";
  return "rcode-" + std::to_string(r);
}

std::string zeek_opcode_name(uint8_t op) {
  switch (op) {
    case 0:
      return "query";
    case 1:
      return "iquery";
    case 2:
      return "server-status";
    case 4:
      return "notify";
    case 5:
      return "dynamic-update";
    case 6:
      return "dso";
  }
  return "opcode-" + std::to_string(op);
}

std::string eve_rrtype_name(uint16_t t) {
  if (t == 255) return "ANY";
  if (t == 23) return "NSAPPTR";
  if (const char* n = type_name(t)) return n;
  return std::to_string(t);
}

std::string eve_rcode_name(uint16_t r) {
  if (r == 8) return "NXRRSET";
  if (r < 11) return kRcodeNames[r];
  if (r >= 16 && r < 24) return kExtRcodeNames[r - 16];
  return std::to_string(r);
}

}  // namespace komainu::dns
