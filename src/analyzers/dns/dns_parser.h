// DNS message parsing (RFC 1035 and the RR types Zeek and Suricata render). Hostile input
// is normal: every read is bounds-checked, compression pointers must point strictly
// backwards (so a loop is impossible) and names stop at 255 bytes; a malformed message
// yields what was parsed before the fault plus a named error.
#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace komainu::dns {

enum class Section : uint8_t { kAnswer, kAuthority, kAdditional };

// Parse faults, named as Zeek's weirds so weird.log matches.
enum class Error : uint8_t {
  kNone,
  kHeaderTooShort,       // DNS_truncated_len_lt_hdr_len
  kQuestionTruncated,    // DNS_truncated_quest_too_short
  kRecordTruncated,      // DNS_truncated_ans_too_short
  kRdataTruncated,       // DNS_truncated_RR_rdlength_lt_len
  kLabelTooLong,         // DNS_label_too_long
  kLabelPastEnd,         // DNS_label_len_gt_pkt
  kForwardCompression,   // DNS_label_forward_compress_offset
  kNameTooLong,          // DNS_name_too_long
  kRdataLengthMismatch,  // DNS_RR_length_mismatch
  kEdnsTruncatedOption,  // EDNS_truncated_option
  kTooManyRecords,       // DNS_Conn_count_too_large
};
const char* error_name(Error e);

struct Question {
  std::string name;  // as on the wire (case kept), "" for the root
  uint16_t type = 0;
  uint16_t cls = 0;
};

struct Soa {
  std::string mname, rname;
  uint32_t serial = 0, refresh = 0, retry = 0, expire = 0, minimum = 0;
};

struct Srv {
  uint16_t priority = 0, weight = 0, port = 0;
  std::string target;
};

struct ResourceRecord {
  Section section = Section::kAnswer;
  std::string name;
  uint16_t type = 0;
  uint16_t cls = 0;
  uint32_t ttl = 0;
  // Suricata's "rdata" (address, name, text); empty when the type has no textual form.
  std::string rdata;
  bool has_rdata = false;
  std::optional<Soa> soa;
  std::optional<Srv> srv;
  // Zeek's dns.log `answers` element (only answer-section records are logged there).
  // Zeek raises a reply event (setting rtt/AA/RA) for known types even when it logs no text.
  std::string zeek_text;
  bool zeek_event = false;
};

struct Message {
  uint16_t id = 0;
  uint16_t flags = 0;
  uint16_t qdcount = 0, ancount = 0, nscount = 0, arcount = 0;
  std::vector<Question> questions;
  std::vector<ResourceRecord> records;

  bool qr() const { return flags & 0x8000; }
  uint8_t opcode() const { return (flags >> 11) & 0xf; }
  bool aa() const { return flags & 0x0400; }
  bool tc() const { return flags & 0x0200; }
  bool rd() const { return flags & 0x0100; }
  bool ra() const { return flags & 0x0080; }
  bool z() const { return flags & 0x0040; }
  // Zeek's Z: the three bits Z, AD, CD as one number.
  uint8_t zeek_z() const { return (flags >> 4) & 0x7; }
  uint8_t rcode() const { return flags & 0xf; }
};

struct Limits {
  size_t max_questions = 32;
  size_t max_records = 512;
};

// Parses one DNS message (no TCP length prefix). Fills `out` as far as the message is
// well formed; returns the first fault (kNone when the whole message parsed).
Error parse_message(std::span<const uint8_t> msg, Message& out, const Limits& limits = {});

// Type, class, rcode and opcode names as Zeek's dns.log and Suricata's EVE write them.
std::string zeek_qtype_name(uint16_t t);
std::string zeek_class_name(uint16_t c);
std::string zeek_rcode_name(uint16_t r);
std::string zeek_opcode_name(uint8_t op);
std::string eve_rrtype_name(uint16_t t);
std::string eve_rcode_name(uint16_t r);

}  // namespace komainu::dns
