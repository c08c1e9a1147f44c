// SMB command → smb.share / smb.named_pipe. As Suricata, both come from a tree connect: the
// share path ("\\server\share") goes to smb.named_pipe when the server answers that the
// share is a pipe (IPC$), to smb.share otherwise (request and response side). Other commands carry
// no SMB buffer and are not inspected here (their files are, by the fileinfo provider).
#include "analyzers/smb/smb_record.h"
#include "detect/signatures/app_provider.h"

namespace komainu::sig {
namespace {

using app::id_of;

struct Ids {
  BufferId share = id_of("smb.share"), named_pipe = id_of("smb.named_pipe");
};

bool fill(const Record& r, size_t i, InspectBuffers& b, InspectContext& ctx, AppBufferScratch& s) {
  static const Ids ids;
  const auto* rec = dynamic_cast<const smb::SmbRecord*>(&r);
  if (!rec || rec->share.empty()) return false;
  // Suricata inspects smb.share in both directions of the tree connect (a rule without
  // flow:to_* alerts twice: suricata-verify smb-filename), smb.named_pipe in the request's
  // only (smb-named-pipe-ascii: once).
  bool pipe = rec->share_type == "PIPE";
  if (i > (pipe ? 0u : 1u)) return false;
  b.set(pipe ? ids.named_pipe : ids.share, rec->share);
  app::EventList ev(s);
  ctx.app_proto = "smb";
  ctx.to_server = i == 0;
  ctx.events = ev.span();
  return true;
}

const Registration<AppBufferApi> reg{{.name = "smb", .app_proto = "smb", .fill = fill}};

}  // namespace
}  // namespace komainu::sig
