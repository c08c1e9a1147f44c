#include "detect/behaviour/kerberos/kerberos.h"

#include <algorithm>

#include "analyzers/krb5/krb5_analyzer.h"

namespace komainu {

namespace {

// KDC_ERR_C_PRINCIPAL_UNKNOWN (no such account), KDC_ERR_PREAUTH_FAILED (wrong password).
constexpr int32_t kUnknown = 6, kPreauthFailed = 24;

bool add_distinct(std::vector<std::string>& v, const std::string& x, size_t cap,
                  uint64_t& over_cap) {
  if (std::find(v.begin(), v.end(), x) != v.end()) return false;
  if (v.size() < cap)
    v.push_back(x);
  else
    ++over_cap;
  return true;
}

}  // namespace

void KerberosDetector::publish(const Record& r) {
  if (r.event_type() != "krb5") return;
  const auto* k = dynamic_cast<const krb5::KrbRecord*>(&r);
  if (!k || !k->flow || !k->ex) return;
  const krb5::Exchange& x = *k->ex;
  Exchange e;
  e.ts = x.reply_ts ? x.reply_ts : r.ts;
  e.src = k->flow->tuple.src;
  e.kdc = k->flow->tuple.dst;
  e.as = x.request_type == "AS";
  e.tgs = x.request_type == "TGS";
  e.user = x.user;
  e.realm = x.realm;
  e.service = x.sname;
  e.success = x.success == 1;
  e.error_code = x.has_error ? x.error_code : -1;
  e.rc4_only = !x.etypes.empty() && std::all_of(x.etypes.begin(), x.etypes.end(),
                                                [](int32_t t) { return t == 23 || t == 24; });
  on_exchange(e);
}

void KerberosDetector::on_exchange(const Exchange& e) {
  ++exchanges_;
  const bool failed_account = e.as && (e.error_code == kUnknown || e.error_code == kPreauthFailed);
  const bool roast =
      e.tgs && e.rc4_only && !e.service.empty() && e.service.compare(0, 7, "krbtgt/") != 0;
  const bool success = e.as && e.success;
  if (!failed_account && !roast && !success) return;
  if (!failed_account && !roast && !sources_.count(e.src)) return;  // nothing to attribute to
  Source& s = windowed_entry(sources_, e.src, e.ts, cfg_.window, cfg_.max_sources, evictions_);
  std::string account = e.user + "@" + e.realm;

  if (failed_account) {
    ++failures_;
    (e.error_code == kUnknown ? s.unknown : s.preauth_failed)++;
    add_distinct(s.accounts, account, cfg_.max_accounts_per_source, s.accounts_over_cap);
    bool update;
    if (doubling_alert(s.accounts.size() + s.accounts_over_cap, cfg_.min_accounts, s.alerted,
                       s.updates, cfg_.max_updates, &update))
      alert_accounts(e, s, update);
  }

  uint64_t successes_over_cap = 0;  // past the cap, a success is not reported again
  if (success && s.alerted &&
      add_distinct(s.successes, account, cfg_.max_accounts_per_source, successes_over_cap) &&
      !successes_over_cap) {
    std::string msg =
        "KOMAINU KERBEROS sign-in succeeded from a source failing on many accounts: " + account +
        " from " + e.src.str() + " (after failures on " +
        std::to_string(s.accounts.size() + s.accounts_over_cap) + " accounts)";
    AlertBuilder a("kerberos", kSidSpraySuccess, msg, 1, "TA0006", "T1110.003");
    a.ip(e.src).ip(e.kdc).meta("user", account);
    a.ev.kv("user", account)
        .kv("failed_accounts", uint64_t(s.accounts.size() + s.accounts_over_cap))
        .kv("first_seen", format_eve_time(s.first))
        .kv("last_seen", format_eve_time(s.last));
    a.publish(alerts_, e.ts, &e.src, &e.kdc);
    ++alerts_sent_;
  }

  if (roast) {
    add_distinct(s.services, e.service, cfg_.max_accounts_per_source, s.services_over_cap);
    bool update;
    uint64_t n = s.services.size() + s.services_over_cap;
    if (doubling_alert(n, cfg_.kerberoast_services, s.roast_alerted, s.roast_updates,
                       cfg_.max_updates, &update)) {
      std::string msg = "KOMAINU KERBEROS Kerberoasting: " + e.src.str() +
                        " requested RC4 service tickets for " + std::to_string(n) + " services";
      if (update) msg += " (update)";
      AlertBuilder a("kerberos", kSidKerberoast, msg, 2, "TA0006", "T1558.003");
      a.ip(e.src).ip(e.kdc);
      a.ev.kv("services", n)
          .kv("first_seen", format_eve_time(s.first))
          .kv("last_seen", format_eve_time(s.last))
          .kv("update", update);
      a.ev.key("sample_services").begin_array();
      for (size_t i = 0; i < s.services.size() && i < 10; ++i) a.ev.value(s.services[i]);
      a.ev.end_array();
      a.publish(alerts_, e.ts, &e.src, &e.kdc);
      ++alerts_sent_;
    }
  }
}

void KerberosDetector::alert_accounts(const Exchange& e, const Source& s, bool update) {
  uint64_t n = s.accounts.size() + s.accounts_over_cap;
  std::string msg = "KOMAINU KERBEROS authentication failures for " + std::to_string(n) +
                    " accounts from " + e.src.str() + " (" + std::to_string(s.unknown) +
                    " unknown principals, " + std::to_string(s.preauth_failed) +
                    " wrong passwords)";
  if (update) msg += " (update)";
  AlertBuilder a("kerberos", kSidAccounts, msg, 2, "TA0006", "T1110.003");
  a.ip(e.src).ip(e.kdc);
  if (!e.realm.empty()) a.meta("domain", e.realm);
  a.ev.kv("accounts", n)
      .kv("unknown_principal", s.unknown)
      .kv("preauth_failed", s.preauth_failed)
      .kv("first_seen", format_eve_time(s.first))
      .kv("last_seen", format_eve_time(s.last))
      .kv("update", update);
  a.ev.key("sample_accounts").begin_array();
  for (size_t i = 0; i < s.accounts.size() && i < 10; ++i) a.ev.value(s.accounts[i]);
  a.ev.end_array();
  a.publish(alerts_, e.ts, &e.src, &e.kdc);
  ++alerts_sent_;
}

void KerberosDetector::write_stats(JsonWriter& w) const {
  w.kv("exchanges", exchanges_)
      .kv("account_failures", failures_)
      .kv("sources", uint64_t(sources_.size()))
      .kv("source_evictions", evictions_)
      .kv("alerts", alerts_sent_);
}

namespace {

std::unique_ptr<Detector> create(const DetectorContext& ctx, std::string* error) {
  KerberosConfig c;
  double window = 600;
  if (!config_check_keys(ctx, "kerberos",
                         {"window", "min_accounts", "kerberoast_services", "max_updates",
                          "max_sources", "max_accounts_per_source"},
                         error) ||
      !config_get(ctx, "window", window, error) ||
      !config_get(ctx, "min_accounts", c.min_accounts, error) ||
      !config_get(ctx, "kerberoast_services", c.kerberoast_services, error) ||
      !config_get(ctx, "max_updates", c.max_updates, error) ||
      !config_get(ctx, "max_sources", c.max_sources, error) ||
      !config_get(ctx, "max_accounts_per_source", c.max_accounts_per_source, error))
    return nullptr;
  c.window = TimeNs(window * kNsPerSec);
  return std::make_unique<KerberosDetector>(c, ctx.alerts);
}

const Registration<DetectorApi> reg{{.name = "kerberos", .create = create}};

}  // namespace
}  // namespace komainu
