// The Kerberos session (UDP datagrams, or TCP with RFC 4120 §7.2.2 record marking). As
// Zeek's base/protocols/krb: one kerberos.log row per connection, started by its first
// message and written at the first reply or error (a request never answered is written
// when the flow ends); errors whose text Zeek ignores (pre-authentication required)
// forget the exchange. The same record is the EVE krb5 event and what detectors read
// (user, realm, outcome, error code, pre-authentication, requested encryption types).
#pragma once
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "analyzers/analyzer.h"
#include "analyzers/anomaly.h"
#include "analyzers/krb5/krb5_parser.h"

namespace komainu::krb5 {

struct Config {
  size_t max_message = 65536;  // a TCP record above this stops the direction (counted)
};

// One connection's Kerberos exchange, in Zeek's KRB::Info terms plus what detectors need.
struct Exchange {
  TimeNs ts = 0;             // first message (Zeek's ts)
  TimeNs reply_ts = 0;       // the reply or error that completed it (0: none)
  std::string request_type;  // "AS", "TGS" or empty
  bool has_client = false, has_service = false;
  std::string client, service;  // Zeek's forms: "user/REALM", "krbtgt/REALM"
  int success = -1;             // -1 unset
  bool has_error = false;
  int32_t error_code = 0;
  std::string error_msg;
  bool has_from = false, has_till = false;
  int64_t from = 0, till = 0;
  std::string cipher;
  int forwardable = -1, renewable = -1;
  // For EVE and detectors.
  uint8_t request_msg = 0, reply_msg = 0;  // message types seen
  std::string user, realm, sname;          // request's (or reply's) client name, realm, service
  bool pa_enc_timestamp = false;           // the request tried a password (encrypted timestamp)
  std::vector<int32_t> etypes;             // requested encryption types
  bool has_ticket_etype = false;
  int32_t ticket_etype = 0;
};

class KrbRecord : public Record {
 public:
  std::string_view event_type() const override { return "krb5"; }
  void write_eve(JsonWriter& w) const override;
  const ZeekSchema* zeek_schema() const override;
  void write_zeek(ZeekRow& row) const override;

  const Exchange* ex = nullptr;
};

class KrbSession : public AppSession {
 public:
  KrbSession(const SessionContext& ctx, const Config& cfg = {});
  void on_data(Direction dir, std::span<const uint8_t> data, TimeNs ts) override;
  void on_gap(Direction dir, uint64_t len, TimeNs ts) override;
  void on_close(TimeNs ts) override;

  // One whole message (a datagram or a TCP record).
  void on_message(Direction dir, std::span<const uint8_t> msg, TimeNs ts);

 private:
  bool start(TimeNs ts);  // Zeek's set_session: true when the exchange was already logged
  void log();

  SessionContext ctx_;
  Config cfg_;
  bool tcp_ = false;
  bool active_ = false, logged_ = false;
  Exchange ex_;
  std::vector<uint8_t> buf_[2];
  bool stopped_[2] = {false, false};
  AnomalyReporter anomalies_{"krb5", "KRB"};
};

ProbeResult probe_udp(std::span<const uint8_t> data, Direction dir, uint16_t server_port);
ProbeResult probe_tcp(std::span<const uint8_t> data, Direction dir, uint16_t server_port);

}  // namespace komainu::krb5
