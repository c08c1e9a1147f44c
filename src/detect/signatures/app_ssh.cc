// SSH flow → ssh.proto / ssh.software / ssh.hassh / ssh.hassh.string and ssh.* app-layer
// events. Two inspections as Suricata's per-direction buffers: the client's banner and
// KEXINIT (to_server), the server's banner (to_client; the server's HASSH has its own
// keyword, ssh.hassh.server, not in the buffer table yet).
#include "analyzers/ssh/ssh_analyzer.h"
#include "detect/signatures/app_provider.h"

namespace komainu::sig {
namespace {

using app::id_of;

struct Ids {
  BufferId proto = id_of("ssh.proto"), software = id_of("ssh.software"), hassh = id_of("ssh.hassh"),
           hassh_string = id_of("ssh.hassh.string");
};

constexpr app::EventName kEvents[] = {
    {"SSH_invalid_banner", "ssh.invalid_banner"},
    {"SSH_banner_too_long", "ssh.long_banner"},
    {"SSH_bad_packet_length", "ssh.invalid_record"},
    {"SSH_malformed_kexinit", "ssh.invalid_record"},
};

enum Slot : size_t { kHasshString, kHassh };

bool fill(const Record& r, size_t i, InspectBuffers& b, InspectContext& ctx, AppBufferScratch& s) {
  static const Ids ids;
  const auto* rec = dynamic_cast<const ssh::SshRecord*>(&r);
  if (!rec || !rec->state) return false;
  const ssh::SshState& st = *rec->state;
  // Inspection 0 is the client side when its banner was seen, the next the server side.
  size_t first = st.have_banner[0] ? 0 : 1;
  size_t d = i + first;
  if (d > 1 || !st.have_banner[d]) return false;
  b.set(ids.proto, st.banner[d].proto_version);
  b.set(ids.software, st.banner[d].software);
  if (d == 0 && st.have_kex[0]) {
    s.str[kHasshString] = ssh::hassh_string(st.kex[0], false);
    s.str[kHassh] = ssh::md5_hex(s.str[kHasshString]);
    b.set(ids.hassh_string, s.str[kHasshString]);
    b.set(ids.hassh, s.str[kHassh]);
  }
  app::EventList ev(s);
  if (rec->anomalies)
    for (const auto& name : rec->anomalies->counts().names()) ev.add(app::map_event(kEvents, name));
  ctx.app_proto = "ssh";
  ctx.to_server = d == 0;
  ctx.events = ev.span();
  return true;
}

const Registration<AppBufferApi> reg{{.name = "ssh", .app_proto = "ssh", .fill = fill}};

}  // namespace
}  // namespace komainu::sig
