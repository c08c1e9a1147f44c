// Per-account sign-in baseline: unfamiliar properties, new legacy protocol, MFA dropped.
#include <algorithm>
#include <cstring>

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

// The properties a baseline learns, in the order alerts list them.
enum Prop : uint8_t { kCountry, kAsn, kRange, kOs, kBrowser, kDevice, kClient, kApp, kProps };

// A baseline holds every learned value in one buffer of (property, length, bytes) entries,
// so checking a sign-in against it reads one short contiguous block (it was eight vectors of
// strings: eight cache misses per sign-in). ASNs are stored as their four bytes, IP ranges
// as the 16 bytes of the masked address, browsers by family (first word).
struct Profile {
  uint32_t successes = 0, mfa = 0;
  uint16_t count[kProps] = {};
  std::string values;

  static constexpr size_t kHeader = 1 + sizeof(uint32_t);
  // found[p] = the value of property p is already known (empty values are never looked up).
  void find(const std::string_view (&v)[kProps], bool (&found)[kProps]) const {
    for (size_t i = 0; i + kHeader <= values.size();) {
      const uint8_t prop = uint8_t(values[i]);
      uint32_t len;
      memcpy(&len, values.data() + i + 1, sizeof len);
      if (prop < kProps && !found[prop] && v[prop].size() == len &&
          memcmp(v[prop].data(), values.data() + i + kHeader, len) == 0)
        found[prop] = true;
      i += kHeader + len;
    }
  }
  void add(Prop prop, std::string_view v) {
    const uint32_t len = uint32_t(v.size());
    values.push_back(char(prop));
    values.append(reinterpret_cast<const char*>(&len), sizeof len);
    values.append(v);
    ++count[prop];
  }
  std::vector<std::string_view> all(Prop prop) const {
    std::vector<std::string_view> out;
    for (size_t i = 0; i + kHeader <= values.size();) {
      uint32_t len;
      memcpy(&len, values.data() + i + 1, sizeof len);
      if (uint8_t(values[i]) == prop) out.emplace_back(values.data() + i + kHeader, len);
      i += kHeader + len;
    }
    return out;
  }
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
    const uint32_t asn = ev.asn;
    std::string_view v[kProps];
    v[kCountry] = ev.country;
    if (asn) v[kAsn] = std::string_view(reinterpret_cast<const char*>(&asn), sizeof asn);
    if (ev.ip_valid)
      v[kRange] = std::string_view(reinterpret_cast<const char*>(range.b.data()), range.b.size());
    v[kOs] = ev.os;
    const std::string_view browser = v[kBrowser] = family(ev.browser);
    v[kDevice] = ev.device_id;
    v[kClient] = ev.client_app;
    v[kApp] = ev.app;
    // Each property is looked up once; the answer serves the alert and the learning below.
    bool found[kProps] = {};
    p.find(v, found);
    bool is_new[kProps];
    for (size_t i = 0; i < kProps; ++i) is_new[i] = !v[i].empty() && !found[i];
    const bool new_country = is_new[kCountry], new_asn = is_new[kAsn], new_range = is_new[kRange],
               new_os = is_new[kOs], new_browser = is_new[kBrowser], new_device = is_new[kDevice],
               new_client = is_new[kClient], new_app = is_new[kApp];
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
    for (size_t i = 0; i < kProps; ++i)
      if (is_new[i] && p.count[i] < std::min<size_t>(max_values_, UINT16_MAX)) p.add(Prop(i), v[i]);
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
    for (auto c : p.all(kCountry)) w.value(c);
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
