// Packet header keywords: ttl, ip_proto, id, dsize, itype, icode, window, seq, ack, flags,
// tcp.flags, fragbits, sameip. Each numeric one is a FieldCheck: a getter plus a comparison.
#include <cstring>

#include "detect/signatures/inspect.h"
#include "detect/signatures/keyword.h"

namespace komainu::sig {
namespace {

bool get_ttl(const InspectContext& c, int64_t& v) {
  if (!c.pkt || !c.pkt->ip_version) return false;
  v = c.pkt->ttl;
  return true;
}
bool get_ip_proto(const InspectContext& c, int64_t& v) {
  if (!c.pkt || !c.pkt->ip_version) return false;
  v = c.pkt->proto;
  return true;
}
bool get_ip_id(const InspectContext& c, int64_t& v) {
  if (!c.pkt || c.pkt->ip_version != 4) return false;
  v = c.pkt->ip_id;
  return true;
}
bool get_dsize(const InspectContext& c, int64_t& v) {
  if (c.is_stream) return false;  // dsize is about one packet, never a stream chunk
  v = static_cast<int64_t>(c.payload().size());
  return true;
}
bool is_icmp(const InspectContext& c) {
  return c.pkt && c.pkt->l4_valid && (c.pkt->proto == 1 || c.pkt->proto == 58);
}
bool get_itype(const InspectContext& c, int64_t& v) {
  if (!is_icmp(c)) return false;
  v = c.pkt->icmp_type;
  return true;
}
bool get_icode(const InspectContext& c, int64_t& v) {
  if (!is_icmp(c)) return false;
  v = c.pkt->icmp_code;
  return true;
}
bool is_tcp(const InspectContext& c) {
  return c.pkt && c.pkt->l4_valid && c.pkt->proto == 6;
}
bool get_window(const InspectContext& c, int64_t& v) {
  if (!is_tcp(c)) return false;
  v = c.pkt->window;
  return true;
}
bool get_seq(const InspectContext& c, int64_t& v) {
  if (!is_tcp(c)) return false;
  v = c.pkt->seq;
  return true;
}
bool get_ack(const InspectContext& c, int64_t& v) {
  if (!is_tcp(c)) return false;
  v = c.pkt->ack;
  return true;
}
// IPv4 flag bits (R D M = 4 2 1) from the header, which Packet does not decode.
bool get_fragbits(const InspectContext& c, int64_t& v) {
  if (!c.pkt || c.pkt->ip_version != 4 || !c.pkt->l3 || c.pkt->l3_caplen < 20) return false;
  v = c.pkt->l3[6] >> 5;
  return true;
}
bool get_sameip(const InspectContext& c, int64_t& v) {
  if (!c.pkt || !c.pkt->ip_version) return false;
  v = c.pkt->src == c.pkt->dst;
  return true;
}

struct FieldInfo {
  std::string_view name;
  bool (*get)(const InspectContext&, int64_t&);
};
constexpr FieldInfo kFields[] = {
    {"ttl", get_ttl},       {"ip_proto", get_ip_proto}, {"id", get_ip_id},
    {"dsize", get_dsize},   {"itype", get_itype},       {"icode", get_icode},
    {"window", get_window}, {"seq", get_seq},           {"ack", get_ack},
};

struct IpProtoName {
  std::string_view name;
  int num;
};
constexpr IpProtoName kIpProtos[] = {{"ip", 0},    {"icmp", 1},       {"igmp", 2},    {"tcp", 6},
                                     {"udp", 17},  {"ipv6", 41},      {"gre", 47},    {"esp", 50},
                                     {"ah", 51},   {"ipv6-icmp", 58}, {"icmpv6", 58}, {"sctp", 132},
                                     {"pim", 103}, {"vrrp", 112}};

bool parse_field(ParseState& st, std::string_view v, std::string& err) {
  const auto& info = kFields[st.kw->arg];
  FieldCheck f{.name = info.name.data(), .get = info.get, .cmp = {}};
  std::string text(trim(v));
  if (info.name == "ip_proto") {
    size_t i = 0;
    while (i < text.size() && (text[i] == '!' || text[i] == '<' || text[i] == '>')) ++i;
    for (const auto& p : kIpProtos)
      if (text.substr(i) == p.name) text = text.substr(0, i) + std::to_string(p.num);
  }
  if (!parse_numcmp(text, f.cmp, err, info.name != "seq" && info.name != "ack")) return false;
  st.sig.fields.push_back(f);
  return true;
}

bool parse_flags(ParseState& st, std::string_view v, std::string& err) {
  auto a = split_args(v);
  FlagsCheck f;
  auto bit = [](char c) -> int {
    switch (c) {
      case 'F':
        return tcpflag::kFin;
      case 'S':
        return tcpflag::kSyn;
      case 'R':
        return tcpflag::kRst;
      case 'P':
        return tcpflag::kPsh;
      case 'A':
        return tcpflag::kAck;
      case 'U':
        return tcpflag::kUrg;
      case 'C':
      case '2':
        return tcpflag::kCwr;
      case 'E':
      case '1':
        return tcpflag::kEce;
      case '0':
        return 0;
    }
    return -1;
  };
  for (char c : a[0]) {
    if (c == '+' || c == '*' || c == '!') {
      if (f.mod) {
        err = "one modifier only";
        return false;
      }
      f.mod = c;
      continue;
    }
    int b = bit(c);
    if (b < 0) {
      err = std::string("bad flag '") + c + "'";
      return false;
    }
    f.flags |= static_cast<uint8_t>(b);
  }
  if (a.size() > 1) {
    uint8_t ignore = 0;
    for (char c : a[1]) {
      int b = bit(c);
      if (b < 0) {
        err = std::string("bad flag mask '") + c + "'";
        return false;
      }
      ignore |= static_cast<uint8_t>(b);
    }
    f.mask = static_cast<uint8_t>(~ignore);
  }
  st.sig.flags.push_back(f);
  if (!st.sig.ip_proto) st.sig.ip_proto = 6;
  return true;
}

// fragbits:[+*!]MDR -- reuses FlagsCheck semantics over the three IPv4 flag bits, stored as
// a field check on get_fragbits with the bits packed in lo and the modifier in op.
bool parse_fragbits(ParseState& st, std::string_view v, std::string& err) {
  v = trim(v);
  char mod = 0;
  int bits = 0;
  for (char c : v) {
    if (c == '+' || c == '*' || c == '!') {
      mod = c;
    } else if (c == 'M') {
      bits |= 1;
    } else if (c == 'D') {
      bits |= 2;
    } else if (c == 'R') {
      bits |= 4;
    } else {
      err = std::string("bad fragbit '") + c + "'";
      return false;
    }
  }
  FieldCheck f{.name = "fragbits", .get = get_fragbits, .cmp = {}};
  // Encoded as NumCmp: '=' exact, 'a' all of (+), 'y' any of (*), 'n' none of (!).
  f.cmp.op = mod == '+' ? 'a' : mod == '*' ? 'y' : mod == '!' ? 'n' : '=';
  f.cmp.lo = bits;
  st.sig.fields.push_back(f);
  return true;
}

bool parse_sameip(ParseState& st, std::string_view v, std::string& err) {
  if (!v.empty()) {
    err = "takes no value";
    return false;
  }
  FieldCheck f{.name = "sameip", .get = get_sameip, .cmp = {}};
  f.cmp.op = '=';
  f.cmp.lo = 1;
  st.sig.fields.push_back(f);
  return true;
}

struct HeaderKeywords {
  std::vector<std::unique_ptr<Registration<KeywordApi>>> regs;
  HeaderKeywords() {
    for (size_t i = 0; i < std::size(kFields); ++i)
      regs.push_back(std::make_unique<Registration<KeywordApi>>(KeywordApi{
          .name = kFields[i].name, .parse = parse_field, .matches = true, .arg = int(i)}));
  }
};
const HeaderKeywords header_keywords;
const Registration<KeywordApi> r1{{.name = "flags", .parse = parse_flags, .matches = true}};
const Registration<KeywordApi> r2{{.name = "tcp.flags", .parse = parse_flags, .matches = true}};
const Registration<KeywordApi> r3{{.name = "fragbits", .parse = parse_fragbits, .matches = true}};
const Registration<KeywordApi> r4{{.name = "sameip", .parse = parse_sameip, .matches = true}};

}  // namespace
}  // namespace komainu::sig
