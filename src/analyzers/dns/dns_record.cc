#include "analyzers/dns/dns_record.h"

#include <cstdio>

namespace komainu::dns {

namespace {

std::string_view eve_name(const std::string& n) {
  return n.empty() ? std::string_view("<root>") : std::string_view(n);
}

void write_rr(JsonWriter& w, const ResourceRecord& rr) {
  w.begin_object();
  w.kv("rrname", eve_name(rr.name)).kv("rrtype", eve_rrtype_name(rr.type));
  w.kv("ttl", uint64_t(rr.ttl));
  if (rr.has_rdata) w.kv("rdata", rr.rdata);
  if (rr.soa) {
    w.key("soa").begin_object();
    w.kv("mname", eve_name(rr.soa->mname)).kv("rname", eve_name(rr.soa->rname));
    w.kv("serial", uint64_t(rr.soa->serial)).kv("refresh", uint64_t(rr.soa->refresh));
    w.kv("retry", uint64_t(rr.soa->retry)).kv("expire", uint64_t(rr.soa->expire));
    w.kv("minimum", uint64_t(rr.soa->minimum));
    w.end_object();
  }
  if (rr.srv) {
    w.key("srv").begin_object();
    w.kv("priority", unsigned(rr.srv->priority)).kv("weight", unsigned(rr.srv->weight));
    w.kv("port", unsigned(rr.srv->port)).kv("name", eve_name(rr.srv->target));
    w.end_object();
  }
  w.end_object();
}

}  // namespace

void DnsEveRecord::write_eve(JsonWriter& w) const {
  if (version == 3) return write_v3(w);
  const Message& m = *msg;
  w.key("dns").begin_object();
  if (!m.qr()) {
    w.kv("type", "query").kv("id", unsigned(m.id));
    if (question < m.questions.size()) {
      const Question& q = m.questions[question];
      w.kv("rrname", eve_name(q.name)).kv("rrtype", eve_rrtype_name(q.type));
    }
    w.kv("tx_id", tx_id).kv("opcode", unsigned(m.opcode()));
    w.end_object();
    return;
  }
  char flags[8];
  snprintf(flags, sizeof flags, "%x", unsigned(m.flags));
  w.kv("version", 2).kv("type", "answer").kv("id", unsigned(m.id)).kv("flags", flags);
  w.kv("qr", true);
  if (m.aa()) w.kv("aa", true);
  if (m.tc()) w.kv("tc", true);
  if (m.rd()) w.kv("rd", true);
  if (m.ra()) w.kv("ra", true);
  if (m.z()) w.kv("z", true);
  w.kv("opcode", unsigned(m.opcode()));
  if (!m.questions.empty()) {
    w.kv("rrname", eve_name(m.questions[0].name));
    w.kv("rrtype", eve_rrtype_name(m.questions[0].type));
  }
  w.kv("rcode", eve_rcode_name(m.rcode()));

  bool any_answer = false, any_auth = false;
  for (const auto& rr : m.records) {
    any_answer |= rr.section == Section::kAnswer;
    any_auth |= rr.section == Section::kAuthority;
  }
  if (any_answer) {
    w.key("answers").begin_array();
    for (const auto& rr : m.records)
      if (rr.section == Section::kAnswer) write_rr(w, rr);
    w.end_array();
    // grouped: rdata by type, types in first-seen order
    w.key("grouped").begin_object();
    std::vector<uint16_t> types;
    for (const auto& rr : m.records) {
      if (rr.section != Section::kAnswer || (!rr.has_rdata && !rr.soa && !rr.srv)) continue;
      bool seen = false;
      for (auto t : types) seen |= t == rr.type;
      if (!seen) types.push_back(rr.type);
    }
    for (auto t : types) {
      w.key(eve_rrtype_name(t)).begin_array();
      for (const auto& rr : m.records) {
        if (rr.section != Section::kAnswer || rr.type != t) continue;
        if (rr.has_rdata) {
          w.value(rr.rdata);
        } else if (rr.soa || rr.srv) {
          // same object form as in "answers", without the RR header
          w.begin_object();
          if (rr.soa) {
            w.kv("mname", eve_name(rr.soa->mname)).kv("rname", eve_name(rr.soa->rname));
            w.kv("serial", uint64_t(rr.soa->serial)).kv("refresh", uint64_t(rr.soa->refresh));
            w.kv("retry", uint64_t(rr.soa->retry)).kv("expire", uint64_t(rr.soa->expire));
            w.kv("minimum", uint64_t(rr.soa->minimum));
          } else {
            w.kv("priority", unsigned(rr.srv->priority)).kv("weight", unsigned(rr.srv->weight));
            w.kv("port", unsigned(rr.srv->port)).kv("name", eve_name(rr.srv->target));
          }
          w.end_object();
        }
      }
      w.end_array();
    }
    w.end_object();
  }
  if (any_auth) {
    w.key("authorities").begin_array();
    for (const auto& rr : m.records)
      if (rr.section == Section::kAuthority) write_rr(w, rr);
    w.end_array();
  }
  w.end_object();
}

void DnsEveRecord::write_v3(JsonWriter& w) const {
  const Message& m = *msg;
  w.key("dns").begin_object();
  char flags[8];
  snprintf(flags, sizeof flags, "%x", unsigned(m.flags));
  w.kv("version", 3).kv("type", m.qr() ? "response" : "request");
  if (!m.qr()) w.kv("tx_id", tx_id);
  w.kv("id", unsigned(m.id)).kv("flags", flags);
  if (m.qr()) w.kv("qr", true);
  if (m.aa()) w.kv("aa", true);
  if (m.tc()) w.kv("tc", true);
  if (m.rd()) w.kv("rd", true);
  if (m.ra()) w.kv("ra", true);
  if (m.z()) w.kv("z", true);
  w.kv("opcode", unsigned(m.opcode())).kv("rcode", eve_rcode_name(m.rcode()));
  if (!m.questions.empty()) {
    w.key("queries").begin_array();
    for (const auto& q : m.questions)
      w.begin_object()
          .kv("rrname", eve_name(q.name))
          .kv("rrtype", eve_rrtype_name(q.type))
          .end_object();
    w.end_array();
  }
  const char* sections[3] = {"answers", "authorities", "additionals"};
  for (int s = 0; s < 3; ++s) {
    bool any = false;
    for (const auto& rr : m.records) any |= int(rr.section) == s && rr.type != 41;
    if (!any) continue;
    w.key(sections[s]).begin_array();
    for (const auto& rr : m.records)
      if (int(rr.section) == s && rr.type != 41) write_rr(w, rr);
    w.end_array();
    if (s != 0) continue;
    w.key("grouped").begin_object();
    std::vector<uint16_t> types;
    for (const auto& rr : m.records) {
      if (rr.section != Section::kAnswer || !rr.has_rdata) continue;
      bool seen = false;
      for (auto t : types) seen |= t == rr.type;
      if (!seen) types.push_back(rr.type);
    }
    for (auto t : types) {
      w.key(eve_rrtype_name(t)).begin_array();
      for (const auto& rr : m.records)
        if (rr.section == Section::kAnswer && rr.type == t && rr.has_rdata) w.value(rr.rdata);
      w.end_array();
    }
    w.end_object();
  }
  w.end_object();
}

const ZeekSchema& dns_zeek_schema() {
  static const ZeekSchema schema{"dns", zeek_conn_fields({{"proto", ZeekType::kEnum},
                                                          {"trans_id", ZeekType::kCount},
                                                          {"rtt", ZeekType::kInterval},
                                                          {"query", ZeekType::kString},
                                                          {"qclass", ZeekType::kCount},
                                                          {"qclass_name", ZeekType::kString},
                                                          {"qtype", ZeekType::kCount},
                                                          {"qtype_name", ZeekType::kString},
                                                          {"rcode", ZeekType::kCount},
                                                          {"rcode_name", ZeekType::kString},
                                                          {"AA", ZeekType::kBool},
                                                          {"TC", ZeekType::kBool},
                                                          {"RD", ZeekType::kBool},
                                                          {"RA", ZeekType::kBool},
                                                          {"Z", ZeekType::kCount},
                                                          {"answers", ZeekType::kVectorString},
                                                          {"TTLs", ZeekType::kVectorInterval},
                                                          {"rejected", ZeekType::kBool},
                                                          {"opcode", ZeekType::kCount},
                                                          {"opcode_name", ZeekType::kString}})};
  return schema;
}

void DnsLogRecord::write_zeek(ZeekRow& row) const {
  const Transaction& t = *txn;
  row.time(t.ts);
  const FlowTuple& ft = flow->tuple;
  row.str(flow->uid).addr(ft.src).count(ft.sport).addr(ft.dst).count(ft.dport);
  row.str(ft.proto == 6 ? "tcp" : ft.proto == 17 ? "udp" : "unknown_transport");
  row.count(t.trans_id);
  if (t.has_rtt)
    row.interval(t.rtt);
  else
    row.unset();
  if (t.has_query)
    row.str(t.query);
  else
    row.unset();
  if (t.has_qinfo) {
    row.count(t.qclass).str(zeek_class_name(t.qclass));
    row.count(t.qtype).str(zeek_qtype_name(t.qtype));
  } else {
    row.unset().unset().unset().unset();
  }
  if (t.has_rcode)
    row.count(t.rcode).str(zeek_rcode_name(t.rcode));
  else
    row.unset().unset();
  row.boolean(t.AA).boolean(t.TC).boolean(t.RD).boolean(t.RA).count(t.Z);
  if (t.answers.empty())
    row.unset().unset();
  else
    row.strings(t.answers).intervals(t.ttls);
  row.boolean(t.rejected);
  if (t.has_opcode)
    row.count(t.opcode).str(zeek_opcode_name(t.opcode));
  else
    row.unset().unset();
}

}  // namespace komainu::dns
