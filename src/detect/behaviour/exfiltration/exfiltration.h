// `exfiltration`: bytes sent by internal hosts to external destinations. Two rules:
//  - volume: a host's outbound bytes in a window exceed max(absolute floor, factor × its
//    learned baseline (EWMA of its previous windows));
//  - rare destination: one connection uploads at least `rare_upload_bytes` (and `ratio`
//    times what came back) to a destination the host never contacted before;
//  - cleartext mail submission: a mail sent to an internet server after an SMTP login in
//    the clear (AUTH without TLS) — how infostealers (AgentTesla, Snake, HawkEye) send what
//    they collected; a mail client of this decade uses TLS, the organisation's relay does
//    not log in to outside servers.
#pragma once
#include <unordered_map>
#include <unordered_set>

#include "detect/detector.h"
#include "detect/zones/zones.h"

namespace komainu {

struct ExfilConfig {
  TimeNs window = 3600 * kNsPerSec;
  uint64_t floor_bytes = 100ull << 20;
  double baseline_factor = 5.0;
  double baseline_alpha = 0.3;  // EWMA weight of the newest window
  uint64_t rare_upload_bytes = 8 << 10;
  double rare_upload_ratio = 3.0;
  TimeNs learning = 0;  // data time before rare-destination alerts (0 = from the start)
  uint64_t max_hosts = 50000;
  uint64_t max_destinations = 500000;  // (host, destination) pairs remembered
  bool smtp_cleartext_auth = true;
  uint64_t max_smtp_sessions = 10000;  // cleartext-authenticated sessions awaiting a mail
};

class ExfiltrationDetector : public Detector {
 public:
  static constexpr uint32_t kSidVolume = 9100401;
  static constexpr uint32_t kSidRareUpload = 9100402;
  static constexpr uint32_t kSidSmtpCleartext = 9100403;

  ExfiltrationDetector(const ExfilConfig& cfg, const Zones* zones, EventSink* alerts)
      : cfg_(cfg), zones_(zones), alerts_(alerts) {}
  void publish(const Record& r) override;
  bool wants(std::string_view type) const override {
    return type == "flow" || type == "tls" || type == "smtp_auth" || type == "smtp";
  }
  void write_stats(JsonWriter& w) const override;
  // For tests: one finished connection from src to dst.
  void on_conn(TimeNs start, TimeNs end, const IpAddr& src, const IpAddr& dst, uint16_t dport,
               uint64_t bytes_out, uint64_t bytes_in, const std::string& sni);

 private:
  struct Host {
    TimeNs start = 0, last = 0;
    uint64_t bytes = 0, conns = 0;
    double baseline = 0;
    uint64_t windows = 0;
    bool alerted = false;
    std::unordered_map<IpAddr, uint64_t, IpAddrHash> top;  // bytes per destination (capped)
  };

  struct SmtpLogin {
    TimeNs ts = 0;
    std::string mechanism, helo;
    bool starttls_offered = false;
    bool alerted = false;
  };
  void smtp_auth(const Record& r);
  void smtp_mail(const Record& r);

  ExfilConfig cfg_;
  const Zones* zones_;
  EventSink* alerts_;
  FlatMap<IpAddr, Host, IpAddrHash> hosts_;
  U64Set seen_pairs_;      // (host, destination) hashes; cleared when full
  SniByFlow sni_by_flow_;  // SNI of TLS flows until their conn record
  std::unordered_map<uint64_t, SmtpLogin> smtp_logins_;  // by flow id, until the flow ends
  TimeNs first_ts_ = 0;
  uint64_t conns_ = 0, evictions_ = 0, pair_resets_ = 0, alerts_sent_ = 0;
  uint64_t smtp_cleartext_logins_ = 0, smtp_login_resets_ = 0;
};

}  // namespace komainu
