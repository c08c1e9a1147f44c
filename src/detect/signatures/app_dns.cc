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

void add_events(const dns::DnsEveRecord& r, app::EventList& ev) {
  const dns::Message& m = *r.msg;
  switch (r.error) {
    case dns::Error::kNone:
      break;
    case dns::Error::kNameTooLong:
      ev.add("dns.name_too_long");
      break;
    default:
      ev.add("dns.malformed_data");
      break;
  }
  if (m.z()) ev.add("dns.z_flag_set");
  if (!r.to_client && m.qr()) ev.add("dns.not_request");
  if (r.to_client && !m.qr()) ev.add("dns.not_response");
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
