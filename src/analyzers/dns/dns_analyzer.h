// The DNS session: UDP datagrams or TCP streams (2-byte length framing), Zeek's
// transaction matching (FIFO per transaction id, queries and replies either way round),
// data-time expiry of unanswered transactions and a bound on pending ones.
#pragma once
#include <deque>
#include <memory>
#include <span>
#include <vector>

#include "analyzers/analyzer.h"
#include "analyzers/anomaly.h"
#include "analyzers/dns/dns_parser.h"
#include "analyzers/dns/dns_record.h"

namespace komainu::dns {

struct Config {
  TimeNs txn_timeout = 60 * kNsPerSec;  // unanswered queries are logged after this
  size_t max_pending = 64;              // per flow; the oldest is logged when exceeded
  int eve_version = 2;                  // Suricata EVE dns layout: 2 (default) or 3
  Limits limits;
};

// Config `app-layer.protocols.dns`: eve-version (2|3), transaction-timeout (seconds),
// max-pending-transactions.
struct Options : AnalyzerOptions {
  Config config;
};
std::shared_ptr<const AnalyzerOptions> configure(const YAML::Node& section,
                                                 AnalyzerConfigError& error);

// Per worker: the message buffer every session of the worker parses into (a session only
// uses it within on_data), so its vectors keep their capacity from flow to flow.
class DnsWorkerState : public AnalyzerWorkerState {
 public:
  Message scratch;
};
std::unique_ptr<AnalyzerWorkerState> make_worker_state(const AnalyzerOptions* options);

class DnsSession : public AppSession {
 public:
  DnsSession(const SessionContext& ctx, const Config& cfg = {});
  void on_data(Direction dir, std::span<const uint8_t> data, TimeNs ts) override;
  void on_gap(Direction dir, uint64_t len, TimeNs ts) override;
  void on_close(TimeNs ts) override;

  const AnomalyReporter& anomalies() const { return anomalies_; }
  uint64_t messages() const { return messages_; }
  size_t pending() const { return pending_.size(); }
  uint64_t evicted() const { return evicted_; }

 private:
  void on_message(Direction dir, std::span<const uint8_t> msg, TimeNs ts);
  void publish(Transaction& t);
  void expire(TimeNs now);

  SessionContext ctx_;
  Config cfg_;
  bool tcp_ = false;
  std::vector<uint8_t> buf_[2];  // TCP framing
  bool lost_[2] = {false, false};
  // Unmatched, in arrival order; a vector (usually 0-1 entries): a std::deque allocates on
  // construction, and every UDP flow makes a session.
  std::vector<Transaction> pending_;
  Message own_msg_;         // used without a DnsWorkerState (tests)
  Message* msg_ = nullptr;  // the parse buffer: the worker's, shared by its sessions
  uint64_t messages_ = 0;
  uint64_t tx_id_ = 0;
  uint64_t evicted_ = 0;
  AnomalyReporter anomalies_{"dns", "DNS"};
};

ProbeResult probe(std::span<const uint8_t> data, Direction dir, uint16_t server_port);

}  // namespace komainu::dns
