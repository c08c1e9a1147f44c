// `kerberos`: credential attacks seen in the KDC's answers (the krb5 analyzer's exchanges),
// per source address in a tumbling window:
//  - failures for many accounts (9101001): AS requests from one source that the KDC
//    answered "no such principal" (user enumeration: kerbrute userenum) or "pre-
//    authentication failed" (a wrong password: spraying) for `min_accounts` distinct
//    accounts in `window`;
//  - a sign-in that succeeded from such a source (9101002, severity 1): the spray found a
//    password;
//  - Kerberoasting (9101003): service tickets (TGS) requested with RC4 only for
//    `kerberoast_services` distinct services in `window` (Rubeus, GetUserSPNs.py ask for RC4
//    so the ticket can be cracked offline).
// One alert per source and window, then an update each time the count doubles.
#pragma once
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "detect/detector.h"

namespace komainu {

struct KerberosConfig {
  TimeNs window = 600 * kNsPerSec;
  uint64_t min_accounts = 5;         // distinct accounts failing from one source
  uint64_t kerberoast_services = 5;  // distinct services with RC4-only TGS requests
  uint64_t max_updates = 4;
  uint64_t max_sources = 10000;
  uint64_t max_accounts_per_source = 1024;
};

class KerberosDetector : public Detector {
 public:
  static constexpr uint32_t kSidAccounts = 9101001;
  static constexpr uint32_t kSidSpraySuccess = 9101002;
  static constexpr uint32_t kSidKerberoast = 9101003;

  // What a finished Kerberos exchange says, as the detector reads it.
  struct Exchange {
    TimeNs ts = 0;
    IpAddr src, kdc;
    bool as = false, tgs = false;  // request type
    std::string user, realm, service;
    bool success = false;
    int32_t error_code = -1;  // -1: no error
    bool rc4_only = false;    // every requested encryption type is RC4 (23, 24)
  };

  KerberosDetector(const KerberosConfig& cfg, EventSink* alerts) : cfg_(cfg), alerts_(alerts) {}
  void publish(const Record& r) override;
  bool wants(std::string_view type) const override { return type == "krb5"; }
  void write_stats(JsonWriter& w) const override;
  void on_exchange(const Exchange& e);

 private:
  struct Source {
    TimeNs start = 0, first = 0, last = 0;
    std::vector<std::string> accounts;  // distinct failing accounts (capped)
    uint64_t accounts_over_cap = 0, unknown = 0, preauth_failed = 0, other_failed = 0;
    uint64_t alerted = 0, updates = 0;
    std::vector<std::string> services;  // distinct RC4-only TGS services (capped)
    uint64_t services_over_cap = 0, roast_alerted = 0, roast_updates = 0;
    std::vector<std::string> successes;  // accounts already reported as cracked
  };

  void alert_accounts(const Exchange& e, const Source& s, bool update);

  KerberosConfig cfg_;
  EventSink* alerts_;
  std::unordered_map<IpAddr, Source, IpAddrHash> sources_;
  uint64_t exchanges_ = 0, failures_ = 0, evictions_ = 0, alerts_sent_ = 0;
};

}  // namespace komainu
