// libFuzzer target: the DER parser and probes on the raw input, then a UDP session fed the
// input as one datagram each way and a TCP session fed it in chunks chosen by the first byte.
#include <cstddef>
#include <cstdint>

#include "analyzers/krb5/krb5_analyzer.h"
#include "analyzers/render_sink.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace komainu;
  std::span<const uint8_t> in(data, size);
  krb5::Message m;
  (void)krb5::parse(in, m);
  (void)krb5::probe_udp(in, Direction::kToServer, 88);
  (void)krb5::probe_tcp(in, Direction::kToClient, 88);

  RenderSink sink;
  FlowContext udp;
  udp.tuple.proto = 17;
  krb5::KrbSession u({&sink, &udp});
  u.on_data(Direction::kToServer, in, 0);
  u.on_data(Direction::kToClient, in, 1);
  u.on_close(2);

  FlowContext tcp;
  tcp.tuple.proto = 6;
  krb5::KrbSession t({&sink, &tcp});
  size_t step = size ? (data[0] % 31) + 1 : 1;
  for (size_t i = 0; i < size; i += step)
    t.on_data(i & 1 ? Direction::kToClient : Direction::kToServer,
              in.subspan(i, std::min(step, size - i)), TimeNs(i));
  t.on_close(TimeNs(size));
  return 0;
}
