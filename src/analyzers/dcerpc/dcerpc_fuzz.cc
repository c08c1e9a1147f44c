// Feeds arbitrary bytes to a DCE-RPC session: the first byte picks the chunk size (its top
// bit: every 7th chunk is lost to a gap instead) and the second how directions alternate.
#include <cstddef>
#include <cstdint>

#include "analyzers/dcerpc/dcerpc.h"
#include "analyzers/render_sink.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace komainu;
  if (size < 2) return 0;
  RenderSink sink;
  FlowContext flow;
  flow.uid = "CFuzz";
  dcerpc::DceRpcSession session(SessionContext{&sink, &flow});
  size_t chunk = 1 + data[0] % 97;
  bool gaps = data[0] & 0x80;
  uint8_t pattern = data[1];
  size_t pos = 2, i = 0;
  while (pos < size) {
    size_t n = std::min(chunk, size - pos);
    Direction dir = (pattern >> (i % 8)) & 1 ? Direction::kToClient : Direction::kToServer;
    if (gaps && i % 7 == 6)
      session.on_gap(dir, n, TimeNs(i));
    else
      session.on_data(dir, {data + pos, n}, TimeNs(i));
    pos += n;
    ++i;
  }
  session.on_close(TimeNs(i));
  return 0;
}
