// libFuzzer target: the message parser, then a UDP and a TCP session over the same bytes
// (the first byte picks split points for the TCP stream).
#include <cstddef>
#include <cstdint>

#include "analyzers/dns/dns_analyzer.h"
#include "analyzers/render_sink.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace komainu;
  std::span<const uint8_t> in(data, size);
  dns::Message m;
  dns::parse_message(in, m);
  (void)dns::probe(in, Direction::kToServer, 53);

  RenderSink sink;
  FlowContext udp;
  udp.tuple.proto = 17;
  dns::DnsSession u({&sink, &udp});
  u.on_data(Direction::kToServer, in, 1);
  u.on_data(Direction::kToClient, in, 2);
  u.on_close(3);

  FlowContext tcp;
  tcp.tuple.proto = 6;
  dns::DnsSession t({&sink, &tcp});
  size_t step = size ? (data[0] % 17) + 1 : 1;
  for (size_t i = 0; i < size; i += step)
    t.on_data(i & 1 ? Direction::kToClient : Direction::kToServer,
              in.subspan(i, std::min(step, size - i)), TimeNs(i));
  t.on_close(TimeNs(size));
  return 0;
}
