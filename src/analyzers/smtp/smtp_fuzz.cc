// libFuzzer target: the line and address helpers on the raw input, a MIME reader fed the
// input as lines, then a session fed the input as both directions in chunks chosen by the
// first byte (a greeting and EHLO first, so the transaction, BDAT and MIME paths run).
#include <cstddef>
#include <cstdint>
#include <string>

#include "analyzers/render_sink.h"
#include "analyzers/smtp/smtp_analyzer.h"

namespace {
class NullHandler : public komainu::smtp::MimeHandler {
  void begin_entity() override {}
  void header(std::string_view, std::string_view) override {}
  void body(std::span<const uint8_t>) override {}
  void end_entity() override {}
  void anomaly(const char*, std::string) override {}
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace komainu;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::span<const uint8_t> in(data, size);
  (void)smtp::parse_command(text);
  smtp::Reply r;
  (void)smtp::parse_reply(text, r);
  (void)smtp::parse_bdat(text);
  (void)smtp::extract_email_addrs(text);
  (void)smtp::split_mime_email_addresses(text);
  (void)smtp::extract_ip_addresses(text, true);
  (void)smtp::extract_ip_addresses(text, false);
  (void)smtp::probe(in, Direction::kToServer, 25);
  (void)smtp::probe(in, Direction::kToClient, 25);

  NullHandler h;
  smtp::MimeLimits limits;
  limits.max_depth = 8;
  limits.max_header_bytes = 256;
  smtp::MimeMessage m(h, limits);
  for (size_t b = 0; b <= text.size();) {
    size_t e = text.find('\n', b);
    if (e == std::string_view::npos) e = text.size();
    m.line(text.substr(b, e - b));
    b = e + 1;
  }
  m.finish();

  RenderSink sink;
  FlowContext f;
  f.tuple.proto = 6;
  smtp::Config cfg;
  cfg.max_line_length = 512;
  cfg.max_pending_commands = 4;
  cfg.max_rcptto_addresses = 4;
  smtp::SmtpSession s({&sink, &f}, cfg);
  static const std::string kGreeting = "220 fuzz ESMTP\r\n", kEhlo = "EHLO fuzz\r\n";
  s.on_data(Direction::kToClient,
            {reinterpret_cast<const uint8_t*>(kGreeting.data()), kGreeting.size()}, 0);
  s.on_data(Direction::kToServer, {reinterpret_cast<const uint8_t*>(kEhlo.data()), kEhlo.size()},
            0);
  size_t step = size ? (data[0] % 37) + 1 : 1;
  for (size_t i = 0; i < size; i += step) {
    auto chunk = in.subspan(i, std::min(step, size - i));
    if ((i / step) % 7 == 6)
      s.on_gap(Direction::kToServer, chunk.size(), TimeNs(i));
    else
      s.on_data((i / step) % 3 == 1 ? Direction::kToClient : Direction::kToServer, chunk,
                TimeNs(i));
  }
  s.on_close(TimeNs(size));
  return 0;
}
