// libFuzzer target: the line parsers and endpoint/path helpers on the raw input, then a
// session fed the input as both directions in chunks chosen by the first byte (a greeting
// first, so the reply matching and logging paths run).
#include <cstddef>
#include <cstdint>
#include <string>

#include "analyzers/ftp/ftp_analyzer.h"
#include "analyzers/render_sink.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace komainu;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::span<const uint8_t> in(data, size);
  ftp::Request rq;
  (void)ftp::parse_request(text, 100, rq);
  ftp::ReplyParser rp;
  ftp::ReplyParser::Line l;
  (void)rp.parse(text, l);
  (void)ftp::parse_port(text);
  (void)ftp::parse_eprt(text);
  (void)ftp::parse_pasv(text);
  (void)ftp::parse_epsv(text);
  (void)ftp::compress_path(text);
  (void)ftp::build_path_compressed("./a/b", text);
  (void)ftp::extract_path(text);
  (void)ftp::extract_last_count(text);
  (void)ftp::probe(in, Direction::kToServer, 21);
  (void)ftp::probe(in, Direction::kToClient, 21);

  RenderSink sink;
  FlowContext f;
  f.tuple.proto = 6;
  ftp::Config cfg;
  cfg.max_line_length = 512;
  cfg.max_arg_length = 40;
  cfg.max_pending_commands = 4;
  ftp::FtpSession s({&sink, &f}, cfg);
  static const std::string kGreeting = "220 fuzz ready\r\n";
  s.on_data(Direction::kToClient,
            {reinterpret_cast<const uint8_t*>(kGreeting.data()), kGreeting.size()}, 0);
  size_t step = size ? (data[0] % 37) + 1 : 1;
  for (size_t i = 0; i < size; i += step) {
    auto chunk = in.subspan(i, std::min(step, size - i));
    s.on_data((i / step) % 3 == 1 ? Direction::kToClient : Direction::kToServer, chunk, TimeNs(i));
  }
  s.on_close(TimeNs(size));
  return 0;
}
