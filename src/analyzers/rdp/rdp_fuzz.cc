// libFuzzer target: the PDU parsers on the raw input, then an RDP session fed the input as
// both directions in chunks chosen by the first byte. The seeds are the connection
// sequence of a real RDP capture (client then server bytes), so the fuzzer starts inside
// the MCS Connect Response and its certificate chain.
#include <cstddef>
#include <cstdint>

#include "analyzers/rdp/rdp_analyzer.h"
#include "analyzers/render_sink.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace komainu;
  std::span<const uint8_t> in(data, size);
  rdp::ConnectionRequest cr;
  (void)rdp::parse_connection_request(in, cr);
  rdp::ConnectionConfirm cc;
  (void)rdp::parse_connection_confirm(in, cc);
  rdp::ServerSecurity sec;
  bool malformed = false;
  (void)rdp::parse_connect_response(in, sec, malformed);
  (void)rdp::probe(in, Direction::kToServer, 3389);

  RenderSink sink;
  FlowContext f;
  f.tuple.proto = 6;
  tls::X509LogCache cache;
  rdp::RdpSession s({&sink, &f, nullptr, &cache});
  // Seeds: [u16 client length][client bytes][server bytes].
  size_t split = size >= 2 ? std::min(size - 2, size_t(data[0]) << 8 | data[1]) : 0;
  if (size >= 2) {
    s.on_data(Direction::kToServer, in.subspan(2, split), 1);
    auto server = in.subspan(2 + split);
    size_t step = server.empty() ? 1 : server[0] % 64 + 1;
    for (size_t i = 0; i < server.size(); i += step)
      s.on_data(Direction::kToClient, server.subspan(i, std::min(step, server.size() - i)), 2);
  }
  s.on_close(3);
  return 0;
}
