// Feeds arbitrary bytes to an SMB session as NetBIOS-framed data: the first byte picks the
// chunk size, the second how directions alternate; 0xff in a chunk's first byte is a gap.
#include <cstddef>
#include <cstdint>

#include "analyzers/render_sink.h"
#include "analyzers/smb/smb_session.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace komainu;
  if (size < 2) return 0;
  RenderSink sink;
  FlowContext flow;
  flow.uid = "CFuzz";
  smb::SmbLimits limits;
  limits.max_pdu_buffer = 4096 + (data[0] & 1) * 65536;
  limits.max_open_files = 16;
  limits.max_pending = 16;
  limits.max_trees = 4;
  limits.log_read_write = data[1] & 2;
  smb::SmbSession session(SessionContext{&sink, &flow}, limits);
  size_t chunk = 1 + data[0] % 97;
  uint8_t pattern = data[1];
  size_t pos = 2, i = 0;
  TimeNs ts = 1;
  while (pos < size) {
    size_t n = std::min(chunk, size - pos);
    Direction dir = (pattern >> (i % 8)) & 1 ? Direction::kToClient : Direction::kToServer;
    if (data[pos] == 0xff && n > 2)
      session.on_gap(dir, data[pos + 1] | data[pos + 2] << 8, ts);
    else
      session.on_data(dir, {data + pos, n}, ts);
    pos += n;
    ++i;
    ts += 1000;
  }
  session.on_close(ts);
  return 0;
}
