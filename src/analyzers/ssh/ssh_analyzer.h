// The SSH session: banners per direction, unencrypted key-exchange packets (KEXINIT,
// KEX reply host key, NEWKEYS), then Zeek's authentication heuristic over the sizes of
// the server's encrypted deliveries. One SshRecord per flow (EVE ssh + ssh.log), when
// authentication is judged successful (analysis stops, as Zeek's does) or the flow ends.
#pragma once
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "analyzers/analyzer.h"
#include "analyzers/anomaly.h"
#include "analyzers/ssh/ssh_parser.h"

namespace komainu::ssh {

struct Config {
  size_t max_banner_bytes = 8192;  // lines allowed before the banner, as RFC 4253 permits
  size_t max_packet = 35000;       // RFC 4253 §6.1
};

struct SshState {
  TimeNs ts = 0;
  bool have_banner[2] = {false, false};
  Banner banner[2];
  bool have_kex[2] = {false, false};
  KexInit kex[2];
  std::string host_key_fp;
  uint64_t auth_attempts = 0;
  bool auth_success = false;
  bool truncated = false;
};

class SshRecord : public Record {
 public:
  std::string_view event_type() const override { return "ssh"; }
  void write_eve(JsonWriter& w) const override;
  const ZeekSchema* zeek_schema() const override;
  void write_zeek(ZeekRow& row) const override;

  const SshState* state = nullptr;
  const AnomalyReporter* anomalies = nullptr;  // raised in this flow (app-layer events)
};

class SshSession : public AppSession {
 public:
  SshSession(const SessionContext& ctx, const Config& cfg = {});
  void on_data(Direction dir, std::span<const uint8_t> data, TimeNs ts) override;
  void on_gap(Direction dir, uint64_t len, TimeNs ts) override;
  void on_close(TimeNs ts) override;

  const SshState& state() const { return st_; }
  const AnomalyReporter& anomalies() const { return anomalies_; }

 private:
  enum class Phase : uint8_t { kBanner, kPackets, kEncrypted, kStopped };
  void packets(int d, TimeNs ts);
  void encrypted(int d, size_t len, TimeNs ts);
  bool ssh2() const;
  void publish(TimeNs ts);

  SessionContext ctx_;
  Config cfg_;
  SshState st_;
  Phase phase_[2] = {Phase::kBanner, Phase::kBanner};
  std::vector<uint8_t> buf_[2];
  bool started_ = false, logged_ = false;
  // Zeek's heuristic state
  size_t service_accept_size_ = 0, userauth_failure_size_ = 0;
  bool auth_decided_ = false;
  bool skipped_banner_ = false;
  bool saw_client_ciphertext_ = false;
  int zlib_ = -1;  // both directions compress with zlib (-1: not decided yet)
  AnomalyReporter anomalies_{"ssh", "SSH"};
};

ProbeResult probe(std::span<const uint8_t> data, Direction dir, uint16_t server_port);

}  // namespace komainu::ssh
