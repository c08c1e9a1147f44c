// SMTP mail transaction → smtp.helo / smtp.mail_from / smtp.rcpt_to (Suricata's names: the
// EHLO/HELO argument and the MAIL FROM / RCPT TO values as the client wrote them). One
// inspection per recipient, as smtp.rcpt_to is a multi-buffer; helo and mail_from are in
// every inspection.
#include "analyzers/smtp/smtp_analyzer.h"
#include "detect/signatures/app_provider.h"

namespace komainu::sig {
namespace {

using app::id_of;

struct Ids {
  BufferId helo = id_of("smtp.helo"), mail_from = id_of("smtp.mail_from"),
           rcpt_to = id_of("smtp.rcpt_to");
};

bool fill(const Record& r, size_t i, InspectBuffers& b, InspectContext& ctx, AppBufferScratch&) {
  static const Ids ids;
  const auto* rec = dynamic_cast<const smtp::SmtpRecord*>(&r);
  if (!rec || !rec->info) return false;
  const smtp::Info& s = *rec->info;
  if (i > 0 && i >= s.eve_rcpt_to.size()) return false;
  if (s.helo) b.set(ids.helo, *s.helo);
  app::set_if(b, ids.mail_from, s.eve_mail_from, !s.eve_mail_from.empty());
  if (i < s.eve_rcpt_to.size()) b.set(ids.rcpt_to, s.eve_rcpt_to[i]);
  ctx.app_proto = "smtp";
  ctx.to_server = true;
  return true;
}

const Registration<AppBufferApi> reg{{.name = "smtp", .app_proto = "smtp", .fill = fill}};

}  // namespace
}  // namespace komainu::sig
