// STARTTLS: text protocols that upgrade to TLS in the same connection. Like Zeek's IMAP and
// XMPP analyzers, these sessions only watch the clear-text dialogue for the upgrade (client
// asks, server accepts) and then hand both directions to a TlsSession, so ssl.log and
// x509.log get the handshake. They register under the text protocol's name (conn.log
// service "imap" / "xmpp"; Zeek writes "imap,ssl").
#pragma once
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "analyzers/analyzer.h"
#include "analyzers/tls/tls_analyzer.h"

namespace komainu::tls {

enum class TextProtocol : uint8_t { kImap, kXmpp };

class StartTlsSession : public AppSession {
 public:
  StartTlsSession(const SessionContext& ctx, TextProtocol proto);
  void on_data(Direction dir, std::span<const uint8_t> data, TimeNs ts) override;
  void on_gap(Direction dir, uint64_t len, TimeNs ts) override;
  void on_close(TimeNs ts) override;

  bool upgraded() const { return tls_ != nullptr; }

 private:
  void client_text(TimeNs ts);
  void server_text(TimeNs ts);
  void upgrade(std::span<const uint8_t> server_rest, TimeNs ts);

  SessionContext ctx_;
  TextProtocol proto_;
  std::unique_ptr<TlsSession> tls_;
  std::string text_[2];                // clear text not yet scanned, per direction
  std::string tag_;                    // IMAP: the tag of the client's STARTTLS command
  bool requested_ = false;             // the client asked for TLS
  std::vector<uint8_t> early_client_;  // client bytes after its request, before the answer
  uint64_t seen_[2] = {0, 0};          // clear-text bytes watched
  bool stopped_ = false;               // gap or budget exhausted: nothing more to find
};

ProbeResult probe_imap(std::span<const uint8_t> data, Direction dir, uint16_t server_port);
ProbeResult probe_xmpp(std::span<const uint8_t> data, Direction dir, uint16_t server_port);

}  // namespace komainu::tls
