// VPN brute force (per source, per account) and unfamiliar VPN logins.
#include <algorithm>
#include <array>
#include <deque>

#include "logs/model/detector.h"

namespace komainu::logs {
namespace {

const AlertSpec kSrcBrute{2000060,
                          "KOMAINU identity VPN login brute force from one source",
                          "Credential Access",
                          2,
                          "TA0006",
                          "T1110"};
const AlertSpec kUserBrute{2000061,
                           "KOMAINU identity VPN login brute force against one account",
                           "Credential Access",
                           2,
                           "TA0006",
                           "T1110.001"};
const AlertSpec kNewPlace{
    2000062,          "KOMAINU identity VPN login from a new country or IP range",
    "Initial Access", 2,
    "TA0001",         "T1133"};
const AlertSpec kOddHour{2000064,          "KOMAINU identity VPN login at an unusual hour",
                         "Initial Access", 3,
                         "TA0001",         "T1133"};

struct Fails {
  std::deque<std::pair<TimeNs, std::string>> items;
  TimeNs alerted_at = kNever;
};

struct Profile {
  uint32_t successes = 0;
  std::vector<std::string> countries, ranges;
  std::array<uint32_t, 24> hours{};
};

enum : size_t { kTracked, kEvictions, kFailures };
const std::vector<CounterInfo> kCounters = {
    {"tracked_entities", "sources/accounts/profiles tracked"},
    {"evictions", "states evicted by the caps"},
    {"vpn_login_failures", "failed VPN logins seen"}};

class VpnAuth : public IdentityDetector {
 public:
  explicit VpnAuth(const YAML::Node& s)
      : window_(setting_duration(s, "window", 600 * kNsPerSec)),
        min_fail_(setting_int(s, "bruteforce_min_failures", 10)),
        min_hist_(setting_int(s, "min_history", 5)),
        hours_hist_(setting_int(s, "hours_min_history", 20)),
        by_src_(size_t(setting_int(s, "max_entities", 200000)), window_ * 2),
        by_user_(size_t(setting_int(s, "max_entities", 200000)), window_ * 2),
        profiles_(size_t(setting_int(s, "max_entities", 200000)), 180 * 86400 * kNsPerSec),
        counters_("vpn_auth", kCounters) {}

  void on_event(const LogEvent& ev, DetectorContext& ctx) override {
    bool auth = ev.cls == EventClass::kVpnAuth;
    bool start = ev.cls == EventClass::kVpnSessionStart;
    if (!auth && !start) return;
    if (auth && ev.outcome == Outcome::kFailure) {
      ++counters_[kFailures];
      if (!ev.src_ip.empty()) fail(by_src_, ev.src_ip, ev.user, kSrcBrute, ev, ctx);
      if (!ev.user.empty()) fail(by_user_, ev.user, ev.src_ip, kUserBrute, ev, ctx);
    } else if (ev.outcome == Outcome::kSuccess && !ev.user.empty() &&
               (auth || ev.tunnel_ip.empty() == false)) {
      success(ev, ctx);
    }
    counters_[kTracked] = by_src_.size() + by_user_.size() + profiles_.size();
    counters_[kEvictions] = by_src_.evictions() + by_user_.evictions() + profiles_.evictions();
  }
  const CounterSet* counters() const override { return &counters_; }

 private:
  void fail(BoundedMap<Fails>& map, const std::string& key, const std::string& other,
            const AlertSpec& spec, const LogEvent& ev, DetectorContext& ctx) {
    Fails& f = map.touch(key, ev.ts);
    while (!f.items.empty() && ev.ts - f.items.front().first > window_) f.items.pop_front();
    if (f.items.size() < 10000) f.items.emplace_back(ev.ts, other);
    if (int64_t(f.items.size()) < min_fail_ || ev.ts - f.alerted_at <= window_) return;
    f.alerted_at = ev.ts;
    AlertDraft d;
    d.spec = &spec;
    add_entities(d, ev);
    std::vector<std::string> others;
    for (auto& [t, o] : f.items)
      if (!o.empty() && std::find(others.begin(), others.end(), o) == others.end())
        others.push_back(o);
    std::string e;
    JsonWriter w(e);
    w.begin_object();
    w.kv("failures", uint64_t(f.items.size()));
    w.kv("window_s", int64_t(window_ / kNsPerSec));
    w.kv("first", format_eve_time(f.items.front().first));
    w.key(&spec == &kSrcBrute ? "accounts" : "sources").begin_array();
    for (size_t i = 0; i < others.size() && i < 50; ++i) w.value(std::string_view(others[i]));
    w.end_array();
    w.end_object();
    d.evidence_json = std::move(e);
    if (&spec == &kSrcBrute)
      for (size_t i = 0; i < others.size() && i < 50; ++i) d.users.push_back(others[i]);
    ctx.raise(d, ev);
  }

  void success(const LogEvent& ev, DetectorContext& ctx) {
    Profile& p = profiles_.touch(ev.user, ev.ts);
    std::string range = ev.ip_valid ? ip_range(ev) : "";
    bool new_country = !ev.country.empty() && std::find(p.countries.begin(), p.countries.end(),
                                                        ev.country) == p.countries.end();
    bool new_range =
        !range.empty() && std::find(p.ranges.begin(), p.ranges.end(), range) == p.ranges.end();
    int hour = int((ev.ts / kNsPerSec) % 86400 / 3600);
    if (int64_t(p.successes) >= min_hist_ && (new_country || (ev.country.empty() && new_range))) {
      AlertDraft d;
      d.spec = &kNewPlace;
      add_entities(d, ev);
      std::string e;
      JsonWriter w(e);
      w.begin_object();
      if (new_country) w.kv("new_country", ev.country);
      if (new_range) w.kv("new_ip_range", range);
      w.kv("baseline_logins", uint64_t(p.successes));
      w.key("known_ranges").begin_array();
      for (size_t i = 0; i < p.ranges.size() && i < 10; ++i) w.value(std::string_view(p.ranges[i]));
      w.end_array();
      w.end_object();
      d.evidence_json = std::move(e);
      ctx.raise(d, ev);
    }
    if (int64_t(p.successes) >= hours_hist_) {
      uint32_t near = p.hours[size_t(hour)] + p.hours[size_t((hour + 1) % 24)] +
                      p.hours[size_t((hour + 23) % 24)];
      if (near == 0) {
        AlertDraft d;
        d.spec = &kOddHour;
        add_entities(d, ev);
        std::string e;
        JsonWriter w(e);
        w.begin_object();
        w.kv("hour_utc", int64_t(hour));
        w.kv("baseline_logins", uint64_t(p.successes));
        w.key("logins_by_hour").begin_array();
        for (auto h : p.hours) w.value(uint64_t(h));
        w.end_array();
        w.end_object();
        d.evidence_json = std::move(e);
        ctx.raise(d, ev);
      }
    }
    ++p.successes;
    ++p.hours[size_t(hour)];
    if (new_country && p.countries.size() < 32) p.countries.push_back(ev.country);
    if (new_range && p.ranges.size() < 64) p.ranges.push_back(range);
  }

  TimeNs window_;
  int64_t min_fail_, min_hist_, hours_hist_;
  BoundedMap<Fails> by_src_, by_user_;
  BoundedMap<Profile> profiles_;
  CounterSet counters_;
};

const Registration<IdentityDetectorApi> reg{{
    .name = "vpn_auth",
    .description = "VPN login brute force; VPN logins from new places or at unusual hours",
    .make = [](const YAML::Node& s) -> std::unique_ptr<IdentityDetector> {
      return std::make_unique<VpnAuth>(s);
    },
}};

}  // namespace
}  // namespace komainu::logs
