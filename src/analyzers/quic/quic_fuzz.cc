// libFuzzer target: the input is a sequence of datagrams, each [direction byte][u16 length]
// [bytes], fed to a QUIC session (header parsing, Initial decryption, CRYPTO reassembly,
// the TLS handshake behind it); the raw input also goes through the header and frame
// parsers directly. Seeds are the datagrams of a real QUIC v2 handshake.
#include <cstddef>
#include <cstdint>

#include "analyzers/quic/quic_analyzer.h"
#include "analyzers/render_sink.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace komainu;
  std::span<const uint8_t> in(data, size);
  quic::PacketHeader h;
  (void)quic::parse_header(in, h);
  quic::FrameSummary frames;
  quic::parse_frames(in, frames);
  (void)quic::probe(in, Direction::kToServer, 443);

  RenderSink sink;
  FlowContext f;
  f.tuple.proto = 17;
  quic::QuicSession s({&sink, &f});
  size_t off = 0;
  while (off + 3 <= size) {
    Direction dir = data[off] & 1 ? Direction::kToClient : Direction::kToServer;
    size_t len = size_t(data[off + 1]) << 8 | data[off + 2];
    off += 3;
    len = std::min(len, size - off);
    s.on_data(dir, in.subspan(off, len), TimeNs(off));
    off += len;
  }
  s.on_close(TimeNs(size));
  return 0;
}
