// The QUIC session: every datagram's coalesced packets are framed, Initial packets of both
// sides are decrypted with the keys derived from the client's first Destination Connection
// ID, and their CRYPTO frames (reassembled by offset, bounded) feed a TLS session in QUIC
// mode, which writes Zeek's ssl.log row. One QuicRecord per QUIC connection: Zeek quic.log
// (version, connection ids, SNI, ALPN, history) and EVE `quic` (Suricata's fields).
#pragma once
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "analyzers/analyzer.h"
#include "analyzers/anomaly.h"
#include "analyzers/quic/quic_parser.h"
#include "analyzers/tls/tls_analyzer.h"

namespace komainu::quic {

struct Config {
  size_t max_crypto_offset = 64 * 1024;   // handshake bytes taken from Initial packets
  size_t max_pending_crypto = 32 * 1024;  // out-of-order CRYPTO bytes held per direction
  size_t max_history = 100;               // Zeek's QUIC::max_history_length
};

// One quic.log row's state (Zeek's QUIC::Info).
struct QuicInfo {
  TimeNs ts = 0;
  uint32_t version = 0;
  std::string client_initial_dcid, client_scid, server_scid;  // lowercase hex
  bool has_client_initial_dcid = false, has_client_scid = false, has_server_scid = false;
  std::string history;
};

class QuicRecord : public Record {
 public:
  std::string_view event_type() const override { return "quic"; }
  void write_eve(JsonWriter& w) const override;
  const ZeekSchema* zeek_schema() const override;
  void write_zeek(ZeekRow& row) const override;

  const QuicInfo* info = nullptr;
  const tls::TlsState* tls = nullptr;  // the handshake seen in Initial packets
};

class QuicSession : public AppSession {
 public:
  QuicSession(const SessionContext& ctx, const Config& cfg = {});
  void on_data(Direction dir, std::span<const uint8_t> data, TimeNs ts) override;
  void on_gap(Direction dir, uint64_t len, TimeNs ts) override;
  void on_close(TimeNs ts) override;

  const QuicInfo& info() const { return info_; }
  const tls::TlsSession& tls() const { return tls_; }
  const AnomalyReporter& anomalies() const { return anomalies_; }

 private:
  void long_packet(int d, std::span<const uint8_t> pkt, const PacketHeader& h, TimeNs ts);
  void set_session(int d, const PacketHeader& h, TimeNs ts);
  void crypto(int d, uint64_t offset, std::span<const uint8_t> data, TimeNs ts);
  void deliver(int d, std::span<const uint8_t> data, TimeNs ts);
  void history(int d, char letter);
  void log(TimeNs ts);

  SessionContext ctx_;
  Config cfg_;
  tls::TlsSession tls_;
  QuicInfo info_;
  bool active_ = false;  // a row is open (Zeek's c$quic)
  std::vector<uint8_t> initial_dcid_;
  uint32_t key_version_ = 0;
  InitialKeys keys_[2];  // client, server
  struct CryptoStream {
    uint64_t delivered = 0;
    std::map<uint64_t, std::vector<uint8_t>> pending;
    size_t pending_bytes = 0;
  };
  CryptoStream crypto_[2];
  uint64_t short_packets_[2] = {0, 0};
  uint64_t next_short_mark_[2] = {1, 1};  // Zeek logs short packets at 1, 2, 4, 8, ...
  std::vector<uint8_t> plain_;            // reused decryption buffer
  AnomalyReporter anomalies_{"quic", "QUIC"};
};

// Zeek's DPD: a long-header Initial of version 1 or 2 from the client.
ProbeResult probe(std::span<const uint8_t> data, Direction dir, uint16_t server_port);

}  // namespace komainu::quic
