// The parsed form of one Suricata rule. Config type: built by the parser and the keyword
// parsers, frozen when the engine is built; run-time state lives in Scratch and FlowVars.
#pragma once
#ifndef PCRE2_CODE_UNIT_WIDTH
#define PCRE2_CODE_UNIT_WIDTH 8
#endif
#include <pcre2.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "core/addr.h"

namespace komainu::sig {

enum class Action : uint8_t { kPass, kDrop, kReject, kAlert };
// Suricata's default action order: pass first, then drop, reject, alert.
const char* action_name(Action a);

// --- header -------------------------------------------------------------------------------

// An address expression after variable expansion. A group matches when any positive member
// matches (or it has none) and no negated member matches, which is how Suricata reads
// "[$HOME_NET,!10.0.0.1]" and "![a,b]".
struct AddrExpr {
  enum class Kind : uint8_t { kAny, kCidr, kGroup } kind = Kind::kAny;
  bool negated = false;
  Cidr cidr;
  std::vector<AddrExpr> members;
  bool match(const IpAddr& a) const;
  bool is_any() const { return kind == Kind::kAny && !negated; }
};

// An address expression compiled to sorted, disjoint ranges over the 128-bit (IPv4-mapped)
// space: membership is a binary search however long the variable's list is (tor.rules has
// hundreds of addresses per rule).
class IpRanges {
 public:
  using U128 = unsigned __int128;
  static IpRanges compile(const AddrExpr& e);
  bool match(const IpAddr& a) const { return all_ || match_key(key(a)); }
  bool match_key(U128 v) const;  // v = key(address)
  bool is_all() const { return all_; }
  size_t size() const { return r_.size(); }
  const std::vector<std::pair<U128, U128>>& ranges() const { return r_; }
  static U128 key(const IpAddr& a);

 private:
  static std::vector<std::pair<U128, U128>> eval(const AddrExpr& e);
  std::vector<std::pair<U128, U128>> r_;
  bool all_ = false;
};

struct PortExpr {
  enum class Kind : uint8_t { kAny, kRange, kGroup } kind = Kind::kAny;
  bool negated = false;
  uint16_t lo = 0, hi = 65535;
  std::vector<PortExpr> members;
  bool match(uint16_t p) const;
  bool is_any() const { return kind == Kind::kAny && !negated; }
  // A single port or a small set, for port grouping: appends the ports it can only be;
  // false when the expression is open-ended (any, negation, wide range).
  bool enumerate(std::vector<uint16_t>& out, size_t limit) const;
};

// --- values that byte_extract / byte_math variables may stand for ------------------------

struct Value {
  int64_t v = 0;
  int8_t var = -1;  // index of a byte_extract/byte_math variable, or -1 for the constant
};

// --- buffer inspection items (the "sm lists" of Suricata) --------------------------------

struct Content {
  std::string pattern;  // raw bytes (hex and escapes decoded); lowercased when nocase
  bool nocase = false, negated = false;
  bool startswith = false, endswith = false;
  bool fast_pattern = false, fast_pattern_only = false;
  bool has_offset = false, has_depth = false, has_distance = false, has_within = false;
  Value offset, depth, distance, within;
  bool relative() const { return has_distance || has_within; }
  // fast_pattern:chop: the slice that goes to the prefilter.
  int fp_chop_offset = -1, fp_chop_len = 0;
  // What the prefilter looks for: the pattern, or its fast_pattern:chop slice.
  std::string_view prefilter_pattern() const {
    std::string_view p = pattern;
    return fp_chop_offset >= 0 ? p.substr(size_t(fp_chop_offset), size_t(fp_chop_len)) : p;
  }
};

struct PcreDeleter {
  void operator()(pcre2_code* c) const { pcre2_code_free(c); }
};
struct Pcre {
  std::string source;  // as written, for messages
  std::shared_ptr<pcre2_code> code;
  bool negated = false, relative = false;
  bool jit = false;
};

enum class Endian : uint8_t { kBig, kLittle, kDce };
enum class NumBase : uint8_t { kBinary, kDec, kHex, kOct };

struct ByteCommon {
  uint8_t nbytes = 1;
  Value offset;
  bool relative = false;
  Endian endian = Endian::kBig;
  NumBase base = NumBase::kBinary;  // kBinary: raw bytes; else ASCII digits in that base
  uint64_t bitmask = 0;             // 0: none
};

struct ByteTest {
  ByteCommon c;
  char op = '=';  // < > = & ^ and 'l' (<=), 'g' (>=)
  bool negated = false;
  Value value;
};

struct ByteJump {
  ByteCommon c;
  uint32_t multiplier = 1;
  bool align = false, from_beginning = false, from_end = false;
  int64_t post_offset = 0;
};

struct ByteExtract {
  ByteCommon c;
  uint32_t multiplier = 1;
  uint8_t align = 0;
  int8_t var = 0;
};

struct ByteMath {
  ByteCommon c;
  char oper = '+';  // + - * / << >> (as 'L' 'R')
  Value rvalue;
  int8_t var = 0;
};

struct IsDataAt {
  Value n;
  bool relative = false, negated = false;
};

// A numeric comparison: bsize, urilen, dsize, ttl, ... `op` is one of = ! < > l (<=) g (>=)
// and 'r' for the exclusive range lo<>hi.
struct NumCmp {
  char op = '=';
  int64_t lo = 0, hi = 0;
  bool match(int64_t v) const;
  // The values >= 0 that can match, as [first, last] (a superset for '!' and the bit
  // tests: every value).
  std::pair<int64_t, int64_t> range() const;
};

struct Bsize {
  NumCmp cmp;
};

struct Base64Decode {
  Value bytes, offset;
  bool relative = false;
  bool has_bytes = false;
};

using InspectItem = std::variant<Content, Pcre, ByteTest, ByteJump, ByteExtract, ByteMath, IsDataAt,
                                 Bsize, Base64Decode>;

// A transform chain applied to a sticky buffer before inspection.
enum class Transform : uint8_t {
  kToLowercase,
  kToUppercase,
  kStripWhitespace,
  kCompressWhitespace,
  kUrlDecode,
  kDotPrefix,
  kToMd5,
  kToSha1,
  kToSha256,
  kHeaderLowercase,
  kStripPseudoHeaders
};

// The items one rule runs over one buffer (sticky buffer + transforms).
struct BufferList {
  uint16_t buffer = 0;  // buffers.h id; 0 = packet payload
  std::vector<Transform> transforms;
  std::vector<InspectItem> items;
  // base64_data moved inspection into the decoded bytes of base64_decode: items from this
  // index on run over the decoded buffer.
  int base64_data_at = -1;
  uint16_t variant = 0;  // engine-wide index of (buffer, transforms), set by the engine

  static BufferList of(uint16_t b) {
    BufferList l;
    l.buffer = b;
    return l;
  }
};

// --- packet/flow level checks -------------------------------------------------------------

struct InspectContext;
// A header field compared with a NumCmp: ttl, ip_proto, itype, icode, dsize, id, ...
struct FieldCheck {
  const char* name;
  bool (*get)(const InspectContext&, int64_t& out);  // false: field absent -> no match
  NumCmp cmp;
};

struct FlagsCheck {  // flags / tcp.flags
  uint8_t flags = 0, mask = 0xff;
  char mod = 0;  // 0 exact, '+' all of, '*' any of, '!' not
};

struct FlowCheck {
  bool to_server = false, to_client = false, established = false, not_established = false,
       stateless = false, only_stream = false, no_stream = false, only_frag = false,
       no_frag = false;
};

struct FlowbitCheck {
  enum class Op : uint8_t { kIsSet, kIsNotSet } op;
  std::vector<uint32_t> bits;
  bool any = false;  // '|' form: any of; else all of ('&' or single)
};
struct FlowbitAction {
  enum class Op : uint8_t { kSet, kUnset, kToggle } op;
  std::vector<uint32_t> bits;
};
struct FlowintOp {
  uint32_t var = 0;
  // Checks: = ! < > l g and 'i' isset, 'n' notset. Modifiers: '+' '-' and 's' (assign).
  char op = '=';
  bool is_check = true;
  Value value;            // constant, or var index in flowint space when from_var
  int64_t from_var = -1;  // flowint whose value is the operand
};

// xbits: bits kept per host (ip_src / ip_dst) or host pair, with an expiry.
struct XbitOp {
  enum class Op : uint8_t { kSet, kUnset, kToggle, kIsSet, kIsNotSet } op;
  enum class Track : uint8_t { kIpSrc, kIpDst, kIpPair } track;
  uint32_t bit = 0;
  uint32_t expire = 30;  // seconds
  bool is_check() const { return op == Op::kIsSet || op == Op::kIsNotSet; }
};

struct StreamSizeCheck {
  enum class Side : uint8_t { kServer, kClient, kBoth, kEither } side;
  NumCmp cmp;
};

struct AppProtoCheck {
  std::string proto;
  bool negated = false;
};

struct AppEventCheck {
  std::string event;  // "http.request_field_too_long"
};

struct Threshold {
  enum class Type : uint8_t { kNone, kLimit, kThreshold, kBoth, kBackoff, kDetectionFilter };
  enum class Track : uint8_t { kBySrc, kByDst, kByRule, kByBoth, kByFlow };
  Type type = Type::kNone;
  Track track = Track::kBySrc;
  uint32_t count = 0;
  uint32_t seconds = 0;
};

// --- the rule -----------------------------------------------------------------------------

struct Reference {
  std::string type, value;
};

struct Signature {
  // Where it came from, for messages.
  std::string file;
  int line = 0;
  std::string text;

  Action action = Action::kAlert;
  std::string action_text;  // as written: drop/reject* alert in IDS mode
  // Header.
  std::string proto_text;  // "tcp", "http", "tcp-pkt", ...
  uint8_t ip_proto = 0;    // 0: any IP protocol
  bool ipv4_only = false, ipv6_only = false;
  bool icmp_both = false;  // "icmp" matches ICMPv4 and ICMPv6
  std::string app_proto;   // "http", "dns", ... when the header names an app-layer protocol
  AddrExpr src, dst;
  IpRanges src_set, dst_set;  // compiled from src/dst when the rule is finalized
  PortExpr sport, dport;
  bool bidirectional = false;

  // Meta.
  uint32_t sid = 0, gid = 1, rev = 0;
  std::string msg;
  std::string classtype;
  std::string class_description;
  int priority = 3;
  bool priority_set = false;
  std::vector<Reference> references;
  std::vector<std::pair<std::string, std::string>> metadata;  // key, value
  std::string target;                                         // src_ip / dest_ip
  bool noalert = false;

  // Inspection.
  std::vector<BufferList> lists;
  FlowCheck flow;
  bool has_flow = false;
  std::vector<FieldCheck> fields;
  std::vector<FlagsCheck> flags;
  std::vector<FlowbitCheck> flowbit_checks;
  std::vector<FlowbitAction> flowbit_actions;
  std::vector<FlowintOp> flowints;
  std::vector<XbitOp> xbits;
  std::vector<StreamSizeCheck> stream_sizes;
  std::vector<AppProtoCheck> app_protos;
  std::vector<AppEventCheck> app_events;
  Threshold threshold;
  uint8_t byte_vars = 0;  // byte_extract/byte_math variables used

  // The prefilter pattern: list index and item index into lists[], or -1.
  int fp_list = -1, fp_item = -1;
  // Sets a flowbit, so it sorts before the rules that test one.
  bool sets_flowbits() const {
    if (!flowbit_actions.empty()) return true;
    for (const auto& x : xbits)
      if (!x.is_check()) return true;
    return false;
  }
};

}  // namespace komainu::sig
