// File (EVE fileinfo) → file.name and file.data. file.name is the name Suricata logs (for
// HTTP the URI path, else the protocol's file name). file.data here is the file's first
// bytes (up to 512, in order) for protocols other than HTTP: an HTTP body is already
// file.data in the transaction's own inspection (with the http.* buffers ET rules combine
// it with), so inspecting it again here would alert twice.
#include <cctype>

#include "analyzers/files/file_tracker.h"
#include "detect/signatures/app_provider.h"

namespace komainu::sig {
namespace {

using app::id_of;

struct Ids {
  BufferId name = id_of("file.name"), data = id_of("file.data");
};

bool fill(const Record& r, size_t i, InspectBuffers& b, InspectContext& ctx, AppBufferScratch& s) {
  static const Ids ids;
  const auto* rec = dynamic_cast<const files::FileRecord*>(&r);
  if (!rec || i > 0) return false;
  const std::string& name = rec->eve_filename.empty() ? rec->filename : rec->eve_filename;
  if (!name.empty()) b.set(ids.name, name);
  bool http = rec->source == "HTTP";
  if (!http && !rec->head.empty()) b.set(ids.data, rec->head);
  if (rec->flow && !rec->flow->app_proto.empty()) {
    ctx.app_proto = rec->flow->app_proto;
  } else {
    std::string& proto = s.str[0];
    proto.clear();
    for (char c : rec->source)
      proto.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    ctx.app_proto = proto;
  }
  app::EventList ev(s);
  ctx.to_server = rec->is_orig;
  ctx.events = ev.span();
  return true;
}

const Registration<AppBufferApi> reg{{.name = "fileinfo", .app_proto = "", .fill = fill}};

}  // namespace
}  // namespace komainu::sig
