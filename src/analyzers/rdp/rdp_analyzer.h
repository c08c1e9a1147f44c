// The RDP session: TPKT PDUs of both directions until the connection sequence has given
// what Zeek's RDP analyzer takes from it. Standard RDP security: the server's MCS Connect
// Response carries an X.509 chain, whose certificates go to x509.log (as Zeek logs them:
// every one a host certificate, de-duplicated per worker like TLS's). Enhanced security
// (SSL, HYBRID/CredSSP): after the X.224 Connection Confirm both directions are handed to
// a TLS session, which writes ssl.log and the TLS certificates. Parsing stops at the first
// non-TPKT bytes (fast-path or encrypted traffic): nothing more is read from them.
#pragma once
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "analyzers/analyzer.h"
#include "analyzers/anomaly.h"
#include "analyzers/rdp/rdp_parser.h"
#include "analyzers/tls/tls_analyzer.h"

namespace komainu::rdp {

struct RdpState {
  bool have_request = false, have_confirm = false, have_response = false;
  ConnectionRequest request;
  ConnectionConfirm confirm;
  uint32_t encryption_method = 0, encryption_level = 0;
  bool has_certificate = false;
  uint32_t cert_version = 0;
  bool cert_permanent = false;
  size_t cert_count = 0;
};

class RdpSession : public AppSession {
 public:
  explicit RdpSession(const SessionContext& ctx);
  void on_data(Direction dir, std::span<const uint8_t> data, TimeNs ts) override;
  void on_gap(Direction dir, uint64_t len, TimeNs ts) override;
  void on_close(TimeNs ts) override;

  const RdpState& state() const { return st_; }
  const AnomalyReporter& anomalies() const { return anomalies_; }
  bool tls_started() const { return tls_ != nullptr; }

 private:
  void pdu(int d, std::span<const uint8_t> pdu, TimeNs ts);
  void certificates(const ServerSecurity& sec, TimeNs ts);
  void start_tls(TimeNs ts);

  SessionContext ctx_;
  RdpState st_;
  std::vector<uint8_t> buf_[2];
  bool done_[2] = {false, false};
  std::unique_ptr<tls::TlsSession> tls_;
  AnomalyReporter anomalies_{"rdp", "RDP"};
};

// Zeek's DPD for RDP: a TPKT-framed X.224 Connection Request from the client (or the
// Connection Confirm from the server).
ProbeResult probe(std::span<const uint8_t> data, Direction dir, uint16_t server_port);

}  // namespace komainu::rdp
