// The SMB analyzer's session and probe (NetBIOS session message carrying an SMB1/2/3 PDU).
#pragma once
#include "analyzers/analyzer.h"
#include "analyzers/anomaly.h"
#include "analyzers/smb/smb_parser.h"

namespace komainu::smb {

class SmbSession : public AppSession {
 public:
  explicit SmbSession(const SessionContext& ctx, SmbLimits limits = {})
      : parser_(ctx, limits, anomalies_) {
    // Counted per worker too, for stats.json's app_layer anomalies.
    if (ctx.worker) anomalies_.count_into(&ctx.worker->anomalies);
  }
  void on_data(Direction dir, std::span<const uint8_t> data, TimeNs ts) override {
    parser_.data(dir, data, ts);
  }
  void on_gap(Direction dir, uint64_t len, TimeNs ts) override { parser_.gap(dir, len, ts); }
  void on_close(TimeNs ts) override { parser_.close(ts); }

  const SmbParser& parser() const { return parser_; }
  const AnomalyReporter& anomalies() const { return anomalies_; }

 private:
  AnomalyReporter anomalies_{"smb", "SMB"};
  SmbParser parser_;
};

ProbeResult probe_smb(std::span<const uint8_t> data, Direction dir, uint16_t server_port);

}  // namespace komainu::smb
