// The TLS session: record framing per direction, handshake reassembly across records and
// segments (bounded), hello/certificate/key-exchange/alert/CCS tracking, Zeek's
// ssl_history letters, resumption and "established" as Zeek decides them. One TlsRecord
// per flow (EVE tls + ssl.log) when the handshake completes or the flow ends; one
// X509Record (x509.log) per certificate.
#pragma once
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "analyzers/analyzer.h"
#include "analyzers/anomaly.h"
#include "analyzers/tls/tls_parser.h"
#include "analyzers/tls/x509.h"

namespace komainu::tls {

// How the handshake reaches the session: TLS records over a stream, DTLS records in
// datagrams, or (QUIC) the bare handshake bytes of CRYPTO frames via on_handshake_bytes().
enum class Transport : uint8_t { kTls, kDtls, kQuic };

struct Config {
  size_t max_handshake_message = 256 * 1024;  // a certificate chain rarely exceeds 64 KiB
  size_t max_certificates = 10;
  Transport transport = Transport::kTls;
};

struct TlsState {
  TimeNs ts = 0;
  bool have_client_hello = false, have_server_hello = false;
  ClientHello ch;
  ServerHello sh;
  uint16_t curve = 0;
  std::string history;
  bool has_alert = false;
  uint8_t last_alert = 0;
  bool saw_certificate = false;
  std::vector<CertInfo> server_certs, client_certs;
  bool client_key_exchange = false;
  bool resumed = false;
  bool established = false;
  bool truncated = false;  // a gap or an oversize message cut the handshake
  char transport = 't';    // JA4's transport letter: 't' TLS, 'd' DTLS, 'q' QUIC
  // Each named anomaly of the flow with the directions it was raised in (bit 0 to server,
  // bit 1 to client): detection matches app-layer events in their own direction only.
  std::vector<std::pair<std::string_view, uint8_t>> anomaly_dirs;
};

class TlsRecord : public Record {
 public:
  std::string_view event_type() const override { return "tls"; }
  void write_eve(JsonWriter& w) const override;
  const ZeekSchema* zeek_schema() const override;
  void write_zeek(ZeekRow& row) const override;

  // False when the carrier writes its own EVE event (QUIC): the row only goes to ssl.log.
  bool has_eve() const override { return eve; }

  const TlsState* state = nullptr;
  const AnomalyReporter* anomalies = nullptr;  // raised in this flow (app-layer events)
  bool eve = true;
};

class TlsSession : public AppSession {
 public:
  TlsSession(const SessionContext& ctx, const Config& cfg = {});
  void on_data(Direction dir, std::span<const uint8_t> data, TimeNs ts) override;
  void on_gap(Direction dir, uint64_t len, TimeNs ts) override;
  void on_close(TimeNs ts) override;
  // Handshake messages without a record layer (QUIC CRYPTO frames), in order.
  void on_handshake_bytes(Direction dir, std::span<const uint8_t> data, TimeNs ts);

  const TlsState& state() const { return st_; }
  const AnomalyReporter& anomalies() const { return anomalies_; }

 private:
  void on_record(int dir, uint8_t type, std::span<const uint8_t> body, TimeNs ts);
  void handshake_stream(int dir, std::span<const uint8_t> body, TimeNs ts);
  void on_handshake(int dir, uint8_t type, std::span<const uint8_t> body, TimeNs ts);
  void on_datagram(int dir, std::span<const uint8_t> data, TimeNs ts);
  void dtls_handshake(int dir, std::span<const uint8_t> body, TimeNs ts);
  // The TLS role (0 client, 1 server) of a flow direction: Zeek flips it when the hellos
  // come from the other side (a DTLS client that answered first, a flow picked up late).
  int role(int dir) const { return dir ^ int(flipped_); }
  void check_flipped(int dir, int desired_role);
  void publish(TimeNs ts);
  void anomaly(int dir, TimeNs ts, std::string_view name);

  SessionContext ctx_;
  Config cfg_;
  TlsState st_;
  std::vector<uint8_t> rec_[2];  // partial record
  std::vector<uint8_t> hs_[2];   // partial handshake message
  bool encrypted_[2] = {false, false};
  bool lost_[2] = {false, false};
  bool started_ = false;
  bool logged_ = false;
  bool flipped_ = false;
  bool flip_alerted_ = false;
  // DTLS handshake reassembly per direction: the message being rebuilt from fragments.
  struct DtlsMessage {
    uint16_t next_seq = 0;  // messages below it were handled (retransmissions are skipped)
    bool open = false;
    uint16_t seq = 0;
    uint8_t type = 0;
    size_t length = 0;
    std::vector<uint8_t> body;
    std::vector<std::pair<size_t, size_t>> have;  // received [begin, end), merged
  };
  DtlsMessage dtls_[2];
  AnomalyReporter anomalies_{"tls", "SSL"};
};

ProbeResult probe(std::span<const uint8_t> data, Direction dir, uint16_t server_port);
// DTLS: a ClientHello record in either direction; STUN datagrams (WebRTC multiplexes them
// on the same flow) keep the probe asking.
ProbeResult probe_dtls(std::span<const uint8_t> data, Direction dir, uint16_t server_port);
// The TLS analyzers' per-worker state: the x509.log cache (X509LogCache).
std::unique_ptr<AnalyzerWorkerState> make_worker_state(const AnalyzerOptions* options);

}  // namespace komainu::tls
