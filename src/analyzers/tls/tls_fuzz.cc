// libFuzzer target: hello/certificate parsers on the raw input, then a session fed the
// input as both directions in chunks chosen by the first byte.
#include <cstddef>
#include <cstdint>

#include "analyzers/render_sink.h"
#include "analyzers/tls/tls_analyzer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace komainu;
  std::span<const uint8_t> in(data, size);
  tls::ClientHello ch;
  if (tls::parse_client_hello(in, ch)) {
    (void)tls::ja3_string(ch);
    (void)tls::ja4(ch);
  }
  tls::ServerHello sh;
  tls::parse_server_hello(in, sh);
  std::vector<std::span<const uint8_t>> certs;
  if (tls::parse_certificate_list(in, certs))
    for (auto c : certs) (void)tls::parse_certificate(c);
  (void)tls::probe(in, Direction::kToServer, 443);

  RenderSink sink;
  FlowContext f;
  f.tuple.proto = 6;
  tls::TlsSession s({&sink, &f});
  size_t step = size ? (data[0] % 31) + 1 : 1;
  for (size_t i = 0; i < size; i += step) {
    auto chunk = in.subspan(i, std::min(step, size - i));
    s.on_data(Direction::kToServer, chunk, TimeNs(i));
    s.on_data(Direction::kToClient, chunk, TimeNs(i));
  }
  s.on_close(TimeNs(size));
  return 0;
}
