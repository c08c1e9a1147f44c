// libFuzzer target: hello/certificate parsers on the raw input, then a TLS session, a DTLS
// session (chunks as datagrams), a QUIC-mode session and the IMAP/XMPP STARTTLS sessions fed
// the input as both directions in chunks chosen by the first byte (a text prefix such as
// "a STARTTLS\n" reaches the upgrade).
#include <cstddef>
#include <cstdint>

#include "analyzers/render_sink.h"
#include "analyzers/tls/starttls.h"
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
  (void)tls::probe_imap(in, Direction::kToClient, 143);
  (void)tls::probe_xmpp(in, Direction::kToServer, 5222);
  size_t step = size ? (data[0] % 31) + 1 : 1;
  auto drive = [&](AppSession& s) {
    for (size_t i = 0; i < size; i += step) {
      auto chunk = in.subspan(i, std::min(step, size - i));
      s.on_data(Direction::kToServer, chunk, TimeNs(i));
      s.on_data(Direction::kToClient, chunk, TimeNs(i));
    }
    s.on_close(TimeNs(size));
  };
  tls::TlsSession s({&sink, &f});
  drive(s);
  // DTLS: each chunk is a datagram; QUIC: the bare handshake bytes of CRYPTO frames.
  tls::Config dtls_cfg;
  dtls_cfg.transport = tls::Transport::kDtls;
  tls::TlsSession dtls({&sink, &f}, dtls_cfg);
  drive(dtls);
  (void)tls::probe_dtls(in, Direction::kToClient, 3478);
  (void)tls::classify_der_fault(in);
  tls::Config quic_cfg;
  quic_cfg.transport = tls::Transport::kQuic;
  tls::TlsSession quic({&sink, &f}, quic_cfg);
  quic.on_handshake_bytes(Direction::kToServer, in, 0);
  quic.on_close(1);
  tls::X509LogCache cache;
  tls::StartTlsSession imap({&sink, &f, nullptr, &cache}, tls::TextProtocol::kImap);
  drive(imap);
  tls::StartTlsSession xmpp({&sink, &f, nullptr, &cache}, tls::TextProtocol::kXmpp);
  drive(xmpp);
  return 0;
}
