// Feeds arbitrary bytes to an HTTP session: the first byte picks chunk sizes, then each
// input byte alternates direction in runs, with an occasional gap, and the flow is closed.
#include <cstddef>
#include <cstdint>

#include "analyzers/http/http_session.h"
#include "analyzers/render_sink.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace komainu;
  if (size < 2) return 0;
  RenderSink sink;
  FlowContext flow;
  flow.uid = "CFuzz";
  http::HttpLimits limits;
  limits.max_decoded = 1 << 20;
  limits.max_pending = 8;
  limits.max_headers = 16;
  http::HttpSession session(SessionContext{&sink, &flow}, limits);
  size_t chunk = 1 + data[0] % 64;
  bool split = data[1] & 1;  // first half client, second half server, or interleaved
  size_t pos = 2;
  TimeNs ts = 1;
  size_t half = 2 + (size - 2) / 2;
  while (pos < size) {
    size_t n = std::min(chunk, size - pos);
    Direction dir = split ? (pos < half ? Direction::kToServer : Direction::kToClient)
                          : ((pos / chunk) % 2 ? Direction::kToClient : Direction::kToServer);
    if (split && pos < half) n = std::min(n, half - pos);
    if (data[pos] == 0xff && n > 1)
      session.on_gap(dir, data[pos + 1], ts);
    else
      session.on_data(dir, {data + pos, n}, ts);
    pos += n;
    ++ts;
  }
  session.on_close(ts);
  return 0;
}
