// `brute_force`: password guessing over SSH, from the SSH analyzer's per-connection verdict
// (Zeek's heuristic over encrypted packet sizes). A connection counts as failed when the
// analyzer saw at least one rejected attempt and no success (Zeek raises ssh_auth_failed for
// the same connections); connections without a verdict (banner grabs, version scanners,
// key-exchange failures) do not count unless `count_undetermined` is set.
//  - guessing: `failed_connections` failed connections from one source to one server in
//    `window` (Zeek: SSH::password_guesses_limit, SSH::guessing_timeout);
//  - spraying: failed connections from one source to `spray_servers` distinct servers (and
//    `failed_connections` in all) in `window`;
//  - success: a successful login on a server the source was guessing on (or from a sprayer).
//  - FTP guessing: `ftp_failed_logins` USER/PASS commands answered 5xx from one source, on any
//    number of servers, in `ftp_window` (Zeek's ftp/detect-bruteforcing: FTP::Bruteforcing,
//    20 in 15 min); a 230 login from that source afterwards on a server it failed on raises
//    a severity-1 alert.
//  - SMTP guessing: the same over SMTP AUTH exchanges seen in the clear (535 "credentials
//    invalid" counts, 235 is a login), `smtp_failed_logins` in `smtp_window`.
// One alert per key and window, then an update each time the count doubles (`max_updates`).
#pragma once
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "detect/detector.h"

namespace komainu {

struct BruteForceConfig {
  TimeNs window = 1800 * kNsPerSec;  // Zeek's SSH::guessing_timeout (30 min)
  uint64_t failed_connections = 10;  // per source -> server (Zeek's limit is 30 per source)
  uint64_t spray_servers = 5;        // distinct servers with failed logins from one source
  bool count_undetermined = false;   // connections without an authentication verdict
  uint64_t max_updates = 4;
  uint64_t max_pairs = 20000;
  uint64_t max_sources = 10000;          // also caps the FTP sources
  TimeNs ftp_window = 900 * kNsPerSec;   // Zeek's FTP::bruteforce_measurement_interval
  uint64_t ftp_failed_logins = 20;       // Zeek's FTP::bruteforce_threshold
  TimeNs smtp_window = 900 * kNsPerSec;  // as FTP's (Zeek has no SMTP guessing script)
  uint64_t smtp_failed_logins = 20;
};

class BruteForceDetector : public Detector {
 public:
  static constexpr uint32_t kSidGuessing = 9100901;
  static constexpr uint32_t kSidSpray = 9100902;
  static constexpr uint32_t kSidSuccess = 9100903;
  static constexpr uint32_t kSidFtpGuessing = 9100904;
  static constexpr uint32_t kSidFtpSuccess = 9100905;
  static constexpr uint32_t kSidSmtpGuessing = 9100906;
  static constexpr uint32_t kSidSmtpSuccess = 9100907;

  BruteForceDetector(const BruteForceConfig& cfg, EventSink* alerts);
  void publish(const Record& r) override;
  bool wants(std::string_view type) const override {
    return type == "ssh" || type == "ftp_login" || type == "smtp_auth";
  }
  void write_stats(JsonWriter& w) const override;
  // For tests: one SSH connection from src to dst ended at `ts` with this verdict
  // (attempts = 0: no verdict).
  void on_ssh(TimeNs ts, const IpAddr& src, const IpAddr& dst, uint16_t dport, bool success,
              uint64_t attempts);
  // For tests: an FTP server answered a client's USER or PASS with `reply_code`.
  void on_ftp_login(TimeNs ts, const IpAddr& src, const IpAddr& dst, uint16_t dport,
                    uint32_t reply_code);
  // For tests: an SMTP server answered a client's AUTH exchange with `reply_code`.
  void on_smtp_auth(TimeNs ts, const IpAddr& src, const IpAddr& dst, uint16_t dport,
                    uint32_t reply_code);

 private:
  struct PairKey {
    IpAddr src, dst;
    friend bool operator==(const PairKey&, const PairKey&) = default;
  };
  struct PairKeyHash {
    size_t operator()(const PairKey& k) const {
      return IpAddrHash{}(k.src) * 31 + IpAddrHash{}(k.dst);
    }
  };
  struct Pair {
    TimeNs start = 0, first = 0, last = 0;
    uint64_t failed = 0, attempts = 0, alerted = 0, updates = 0;
    uint16_t port = 0;
    bool success_alerted = false;
  };
  struct Source {
    TimeNs start = 0, first = 0, last = 0;
    uint64_t failed = 0, attempts = 0, alerted = 0, updates = 0;
    std::vector<IpAddr> servers;  // distinct servers with failures (capped)
    uint64_t servers_over_cap = 0;
  };
  static constexpr size_t kMaxServersPerSource = 256;
  // Zeek counts FTP failures per client address across servers (SumStats key $host); SMTP
  // AUTH is counted the same way.
  struct LoginSource {
    TimeNs start = 0, first = 0, last = 0;
    uint64_t failed = 0, alerted = 0, updates = 0;
    std::vector<IpAddr> servers;
    uint64_t servers_over_cap = 0;
    uint16_t port = 0;
    bool success_alerted = false;
  };
  // A cleartext login protocol whose server answers each attempt: its failures per client.
  struct LoginService {
    const char* name;  // "FTP", "SMTP"
    const char* kind;  // "ftp", "smtp": evidence and stats prefix
    uint32_t sid_guessing, sid_success;
    TimeNs window;
    uint64_t threshold;
    std::unordered_map<IpAddr, LoginSource, IpAddrHash> sources;
    uint64_t failed = 0, succeeded = 0, evictions = 0;
  };

  void alert_guessing(const PairKey& k, Pair& p, bool update, TimeNs ts);
  void alert_spray(const IpAddr& src, Source& s, bool update, TimeNs ts);
  void alert_success(const PairKey& k, const Pair* p, const Source* s, uint16_t dport, TimeNs ts);
  void on_login(LoginService& svc, TimeNs ts, const IpAddr& src, const IpAddr& dst, uint16_t dport,
                bool success, bool failed);
  void alert_login_guessing(const LoginService& svc, const IpAddr& src, LoginSource& s, bool update,
                            TimeNs ts);
  void alert_login_success(const LoginService& svc, const IpAddr& src, const IpAddr& dst,
                           uint16_t dport, const LoginSource& s, TimeNs ts);

  BruteForceConfig cfg_;
  EventSink* alerts_;
  std::unordered_map<PairKey, Pair, PairKeyHash> pairs_;
  std::unordered_map<IpAddr, Source, IpAddrHash> sources_;
  LoginService ftp_, smtp_;
  uint64_t connections_ = 0, failed_ = 0, undetermined_ = 0, successes_ = 0;
  uint64_t pair_evictions_ = 0, source_evictions_ = 0, alerts_sent_ = 0;
};

}  // namespace komainu
