// The HTTP analyzer's session: the parser bound to a flow, publishing HttpRecord per
// transaction, FileRecord per body and AnomalyRecord per malformed input (counted by name).
#pragma once
#include <span>

#include "analyzers/analyzer.h"
#include "analyzers/anomaly.h"
#include "analyzers/files/range_files.h"
#include "analyzers/http/http_parser.h"
#include "analyzers/http/http_record.h"

namespace komainu::http {

// What the HTTP analyzer keeps per worker: the files joined from range responses.
class HttpWorkerState : public AnalyzerWorkerState {
 public:
  files::RangeFiles range_files;
  uint64_t evictions_counted = 0;  // of range_files.evicted(), already in `anomalies`
};

class HttpSession : public AppSession, private HttpEvents {
 public:
  explicit HttpSession(const SessionContext& ctx, HttpLimits limits = {}, HttpLogOptions opts = {});

  void on_data(Direction dir, std::span<const uint8_t> data, TimeNs ts) override;
  void on_gap(Direction dir, uint64_t len, TimeNs ts) override;
  void on_close(TimeNs ts) override;

  const HttpParser& parser() const { return parser_; }
  const AnomalyReporter& anomalies() const { return anomalies_; }

 private:
  void on_transaction(const HttpTransaction& tx) override;
  void on_file(const HttpTransaction& tx, files::FileRecord& file) override;
  void on_anomaly(std::string_view name, Direction dir, TimeNs ts) override;
  const std::string* on_range_start(const HttpTransaction& tx, uint64_t total, bool has_total,
                                    TimeNs ts) override;
  void on_range_data(uint64_t offset, std::span<const uint8_t> bytes, TimeNs ts) override;
  uint64_t open_range(TimeNs ts);

  SessionContext ctx_;
  HttpWorkerState* worker_ = nullptr;  // nullptr: range responses are not joined
  std::string range_key_;              // of the current range response
  uint64_t range_total_ = 0;
  bool range_has_total_ = false;
  uint64_t range_id_ = 0;
  HttpLogOptions opts_;
  HttpParser parser_;
  AnomalyReporter anomalies_{"http", "HTTP"};
};

// First bytes of a direction: a request method or a status line.
ProbeResult probe_http(std::span<const uint8_t> data, Direction dir, uint16_t server_port);

}  // namespace komainu::http
