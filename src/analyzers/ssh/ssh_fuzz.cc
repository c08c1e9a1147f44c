// libFuzzer target: banner/KEXINIT parsers on the raw input, then a session fed a banner
// pair followed by the input as both directions, in chunks chosen by the first byte.
#include <cstddef>
#include <cstdint>
#include <string>

#include "analyzers/render_sink.h"
#include "analyzers/ssh/ssh_analyzer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace komainu;
  std::span<const uint8_t> in(data, size);
  ssh::Banner b;
  ssh::parse_banner({reinterpret_cast<const char*>(data), size}, b);
  ssh::KexInit k;
  if (ssh::parse_kexinit(in, k)) (void)ssh::hassh_string(k, true);
  (void)ssh::probe(in, Direction::kToServer, 22);

  RenderSink sink;
  FlowContext f;
  f.tuple.proto = 6;
  ssh::SshSession s({&sink, &f});
  static const std::string kBanner = "SSH-2.0-fuzz\r\n";
  std::span<const uint8_t> banner(reinterpret_cast<const uint8_t*>(kBanner.data()), kBanner.size());
  s.on_data(Direction::kToClient, banner, 0);
  s.on_data(Direction::kToServer, banner, 0);
  size_t step = size ? (data[0] % 29) + 1 : 1;
  for (size_t i = 0; i < size; i += step) {
    auto chunk = in.subspan(i, std::min(step, size - i));
    s.on_data(i & 1 ? Direction::kToClient : Direction::kToServer, chunk, TimeNs(i));
  }
  s.on_close(TimeNs(size));
  return 0;
}
