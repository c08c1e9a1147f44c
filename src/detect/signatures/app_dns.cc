// DNS message → dns.query / dns.answer.name and dns.* app-layer events. Suricata's
// dns.query is a request buffer and a multi-buffer: one inspection per question (the
// analyzer publishes EVE v2 requests once per question already; a v3 record carries them
// all). A response is one inspection per answer record with dns.answer.name (at least one,
// so event and header rules still see it).
#include <algorithm>

#include "analyzers/dns/dns_record.h"
#include "detect/signatures/app_provider.h"

namespace komainu::sig {
namespace {

using app::id_of;

struct Ids {
  BufferId query = id_of("dns.query"), answer_name = id_of("dns.answer.name");
};

// The section a parse fault stopped in: the first one with fewer records than the header
// counts, or for a fault inside rdata (the record is kept) the last record's.
int fault_section(const dns::Message& m, dns::Error e) {
  if (m.questions.size() < m.qdcount) return -1;
  bool in_rdata = e == dns::Error::kRdataLengthMismatch || e == dns::Error::kEdnsTruncatedOption;
  if (in_rdata && !m.records.empty()) return int(m.records.back().section);
  size_t n[3] = {};
  for (const auto& rr : m.records) ++n[int(rr.section)];
  const uint16_t want[3] = {m.ancount, m.nscount, m.arcount};
  for (int s = 0; s < 3; ++s)
    if (n[s] < want[s]) return s;
  return 2;
}

void add_events(const dns::DnsEveRecord& r, app::EventList& ev) {
  const dns::Message& m = *r.msg;
  switch (r.error) {
    case dns::Error::kNone:
      break;
    case dns::Error::kNameTooLong:
      ev.add("dns.name_too_long");
      break;
    default:
      // Suricata keeps a message whose authority or additional section is broken and names
      // that section; other faults make the whole message malformed.
      switch (fault_section(m, r.error)) {
        case int(dns::Section::kAuthority):
          ev.add("dns.invalid_authorities");
          break;
        case int(dns::Section::kAdditional):
          ev.add("dns.invalid_additionals");
          break;
        default:
          ev.add("dns.malformed_data");
          break;
      }
      break;
  }
  if (m.z()) ev.add("dns.z_flag_set");
  // Suricata's names changed (not_request → not_a_request): both are raised.
  if (!r.to_client && m.qr()) {
    ev.add("dns.not_request");
    ev.add("dns.not_a_request");
  }
  if (r.to_client && !m.qr()) {
    ev.add("dns.not_response");
    ev.add("dns.not_a_response");
  }
  if (m.opcode() >= 7) ev.add("dns.invalid_opcode");  // unassigned opcodes
}

size_t answers(const dns::Message& m) {
  size_t n = 0;
  for (const auto& rr : m.records) n += rr.section == dns::Section::kAnswer;
  return n;
}

const dns::ResourceRecord* answer(const dns::Message& m, size_t k) {
  for (const auto& rr : m.records)
    if (rr.section == dns::Section::kAnswer && k-- == 0) return &rr;
  return nullptr;
}

bool fill(const Record& r, size_t i, InspectBuffers& b, InspectContext& ctx, AppBufferScratch& s) {
  static const Ids ids;
  // dns.log rows (DnsLogRecord) share the event type and are not inspected.
  const auto* rec = dynamic_cast<const dns::DnsEveRecord*>(&r);
  if (!rec || !rec->msg) return false;
  const dns::Message& m = *rec->msg;
  if (!m.qr()) {
    if (rec->version == 2) {
      if (i > 0 || rec->question >= m.questions.size()) return false;
      b.set(ids.query, m.questions[rec->question].name);
    } else {
      if (i >= std::max<size_t>(1, m.questions.size())) return false;
      if (i < m.questions.size()) b.set(ids.query, m.questions[i].name);
    }
  } else {
    if (i >= std::max<size_t>(1, answers(m))) return false;
    if (const dns::ResourceRecord* rr = answer(m, i)) b.set(ids.answer_name, rr->name);
  }
  // A rule mixing payload and dns.* checks (content:"|01 00 00 01|"; dns_query; ...) sees
  // the datagram as its payload, as Suricata inspects both on the same packet.
  if (rec->flow && rec->flow->tuple.proto == 17 && !rec->raw.empty()) b.set(kPayload, rec->raw);
  app::EventList ev(s);
  add_events(*rec, ev);
  ctx.app_proto = "dns";
  ctx.to_server = !rec->to_client;
  ctx.events = ev.span();
  return true;
}

const Registration<AppBufferApi> reg{{.name = "dns", .app_proto = "dns", .fill = fill}};

}  // namespace
}  // namespace komainu::sig
