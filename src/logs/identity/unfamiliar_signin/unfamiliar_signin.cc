// Per-account sign-in baseline: unfamiliar properties, new legacy protocol, MFA dropped.
#include <algorithm>

#include "logs/model/detector.h"
#include "logs/model/text_util.h"

namespace komainu::logs {
namespace {

const AlertSpec kUnfamiliar{2000020,          "KOMAINU identity unfamiliar sign-in properties",
                            "Initial Access", 2,
                            "TA0001",         "T1078.004"};
const AlertSpec kLegacy{
    2000021,           "KOMAINU identity sign-in with a legacy authentication protocol",
    "Defense Evasion", 2,
    "TA0005",          "T1078.004"};
const AlertSpec kNoMfa{
    2000022,           "KOMAINU identity sign-in without MFA by an account that uses MFA",
    "Defense Evasion", 2,
    "TA0005",          "T1556.006"};

// Baseline values are kept in forms that compare without building strings per sign-in:
// ASNs as numbers, IP ranges as masked addresses, browsers by family (first word).
struct Profile {
  uint32_t successes = 0, mfa = 0;
  std::vector<std::string> countries, oses, browsers, devices, clients, apps;
  std::vector<uint32_t> asns;
  std::vector<IpAddr> ranges;
};

std::string_view family(std::string_view browser) {
  return browser.substr(0, browser.find(' '));
}

// The /24 (IPv4) or /48 (IPv6) network of the event's address, as ip_range() names it.
IpAddr range_of(const LogEvent& ev) {
  IpAddr a = ev.ip;
  if (a.is_v4()) {
    a.b[15] = 0;
  } else {
    for (int i = 6; i < 16; ++i) a.b[i] = 0;
  }
  return a;
}

template <typename T, typename U>
bool is_new(const std::vector<T>& set, const U& v) {
  return std::find(set.begin(), set.end(), v) == set.end();
}

enum : size_t { kTracked, kEvictions };
const std::vector<CounterInfo> kCounters = {{"tracked_accounts", "accounts with a baseline"},
                                            {"evictions", "baselines evicted by the cap"}};

class Unfamiliar : public IdentityDetector {
 public:
  Unfamiliar(const YAML::Node& s)
      : min_history_(setting_int(s, "min_history", 5)),
        min_new_(setting_int(s, "min_new_categories", 2)),
        mfa_ratio_(setting_double(s, "mfa_ratio", 0.9)),
        max_values_(size_t(setting_int(s, "max_values", 32))),
        profiles_(size_t(setting_int(s, "max_accounts", 200000)), 90 * 86400 * kNsPerSec),
        counters_("unfamiliar_signin", kCounters) {}

  void on_event(const LogEvent& ev, DetectorContext& ctx) override {
    if (ev.cls != EventClass::kSignIn || ev.outcome != Outcome::kSuccess || ev.user.empty()) return;
    Profile& p = profiles_.touch(ctx.account(ev), ev.ts);
    bool learned = int64_t(p.successes) >= min_history_;
    const IpAddr range = ev.ip_valid ? range_of(ev) : IpAddr{};
    const std::string_view browser = family(ev.browser);
    // Each property is looked up once; the answer serves the alert and the learning below.
    const bool new_country = !ev.country.empty() && is_new(p.countries, ev.country),
               new_asn = ev.asn && is_new(p.asns, ev.asn),
               new_range = ev.ip_valid && is_new(p.ranges, range),
               new_os = !ev.os.empty() && is_new(p.oses, ev.os),
               new_browser = !browser.empty() && is_new(p.browsers, browser),
               new_device = !ev.device_id.empty() && is_new(p.devices, ev.device_id),
               new_client = !ev.client_app.empty() && is_new(p.clients, ev.client_app),
               new_app = !ev.app.empty() && is_new(p.apps, ev.app);
    const bool net_by_range = !ev.asn && ev.country.empty() && new_range;
    const bool net = new_country || new_asn || net_by_range;
    const bool dev = new_os || new_browser || new_device;
    const bool cli = new_client || new_app;

    if (learned) {
      int cats = int(net) + int(dev) + int(cli);
      if (cats >= min_new_) {
        // The evidence strings are built only for an alert.
        std::vector<std::string> news;
        if (new_country) news.push_back("country:" + ev.country);
        if (new_asn) news.push_back("asn:" + std::to_string(ev.asn));
        if (net_by_range) news.push_back("ip_range:" + ip_range(ev));
        if (new_os) news.push_back("os:" + ev.os);
        if (new_browser) news.push_back("browser:" + std::string(browser));
        if (new_device) news.push_back("device_id:" + ev.device_id);
        if (new_client) news.push_back("client_app:" + ev.client_app);
        if (new_app) news.push_back("app:" + ev.app);
        raise(kUnfamiliar, ev, p, news, ctx);
      }
      if (new_client && is_legacy_client(ev.client_app))
        raise(kLegacy, ev, p, {"client_app:" + ev.client_app}, ctx);
      if (ev.mfa == Mfa::kSingleFactor && ev.interactive != 0 && p.successes > 0 &&
          double(p.mfa) / double(p.successes) >= mfa_ratio_)
        raise(kNoMfa, ev, p, {"mfa:single_factor"}, ctx);
    }
    ++p.successes;
    if (ev.mfa == Mfa::kMultiFactor) ++p.mfa;
    auto add = [&](auto& set, bool is_new_value, const auto& v) {
      if (is_new_value && set.size() < max_values_) set.emplace_back(v);
    };
    add(p.countries, new_country, ev.country);
    add(p.asns, new_asn, ev.asn);
    add(p.ranges, new_range, range);
    add(p.oses, new_os, ev.os);
    add(p.browsers, new_browser, browser);
    add(p.devices, new_device, ev.device_id);
    add(p.clients, new_client, ev.client_app);
    add(p.apps, new_app, ev.app);
    counters_[kTracked] = profiles_.size();
    counters_[kEvictions] = profiles_.evictions();
  }
  const CounterSet* counters() const override { return &counters_; }

 private:
  void raise(const AlertSpec& spec, const LogEvent& ev, const Profile& p,
             const std::vector<std::string>& news, DetectorContext& ctx) {
    AlertDraft d;
    d.spec = &spec;
    add_entities(d, ev);
    std::string e;
    JsonWriter w(e);
    w.begin_object();
    w.key("new_properties").begin_array();
    for (const auto& n : news) w.value(std::string_view(n));
    w.end_array();
    w.kv("baseline_signins", uint64_t(p.successes));
    w.kv("baseline_mfa_signins", uint64_t(p.mfa));
    w.key("known_countries").begin_array();
    for (const auto& c : p.countries) w.value(std::string_view(c));
    w.end_array();
    w.key("signin");
    write_event_summary(w, ev);
    w.end_object();
    d.evidence_json = std::move(e);
    ctx.raise(d, ev);
  }

  int64_t min_history_, min_new_;
  double mfa_ratio_;
  size_t max_values_;
  AccountMap<Profile> profiles_;
  CounterSet counters_;
};

const Registration<IdentityDetectorApi> reg{{
    .name = "unfamiliar_signin",
    .description =
        "new country/ASN/device/client for the account, new legacy protocol, MFA dropped",
    .make = [](const YAML::Node& s) -> std::unique_ptr<IdentityDetector> {
      return std::make_unique<Unfamiliar>(s);
    },
}};

}  // namespace
}  // namespace komainu::logs
