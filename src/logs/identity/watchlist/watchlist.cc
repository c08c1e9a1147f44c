// Risky sign-ins to accounts on a watchlist (VIPs, leaked credentials).
#include <algorithm>

#include "logs/model/detector.h"

namespace komainu::logs {
namespace {

const AlertSpec kRisky{2000030,          "KOMAINU identity risky sign-in to a watchlisted account",
                       "Initial Access", 1,
                       "TA0001",         "T1078"};

struct Seen {
  uint32_t successes = 0, mfa = 0;
  std::vector<std::string> countries;
};

enum : size_t { kTracked, kEvictions, kListedSignins };
const std::vector<CounterInfo> kCounters = {
    {"tracked_accounts", "watchlisted accounts with a baseline"},
    {"evictions", "baselines evicted by the cap"},
    {"watchlisted_signins", "successful sign-ins to listed accounts"}};

class Watchlist : public IdentityDetector {
 public:
  explicit Watchlist(const YAML::Node& s)
      : min_history_(setting_int(s, "min_history", 3)),
        seen_(size_t(setting_int(s, "max_accounts", 100000)), 365 * 86400 * kNsPerSec),
        counters_("watchlist", kCounters) {}

  void on_event(const LogEvent& ev, DetectorContext& ctx) override {
    if (ev.cls != EventClass::kSignIn || ev.outcome != Outcome::kSuccess || ev.user.empty()) return;
    if (ctx.watchlists().empty()) return;
    auto lists = ctx.watchlists().lists_for(ev.user);
    if (lists.empty()) return;
    ++counters_[kListedSignins];
    Seen& s = seen_.touch(ctx.account(ev), ev.ts);
    std::vector<std::string> reasons;
    if (ev.risk_level == "high" || ev.risk_level == "medium")
      reasons.push_back("entra_risk:" + ev.risk_level);
    bool new_country = !ev.country.empty() && std::find(s.countries.begin(), s.countries.end(),
                                                        ev.country) == s.countries.end();
    if (new_country && int64_t(s.successes) >= min_history_)
      reasons.push_back("new_country:" + ev.country);
    if (is_legacy_client(ev.client_app)) reasons.push_back("legacy_client:" + ev.client_app);
    if (ev.mfa == Mfa::kSingleFactor && s.successes >= uint32_t(min_history_) &&
        s.mfa * 10 >= s.successes * 9)
      reasons.push_back("mfa_dropped");
    if (!reasons.empty()) {
      AlertDraft d;
      d.spec = &kRisky;
      add_entities(d, ev);
      std::string e;
      JsonWriter w(e);
      w.begin_object();
      w.key("watchlists").begin_array();
      for (auto l : lists) w.value(l);
      w.end_array();
      w.key("reasons").begin_array();
      for (const auto& r : reasons) w.value(std::string_view(r));
      w.end_array();
      w.kv("baseline_signins", uint64_t(s.successes));
      w.key("signin");
      write_event_summary(w, ev);
      w.end_object();
      d.evidence_json = std::move(e);
      ctx.raise(d, ev);
    }
    ++s.successes;
    if (ev.mfa == Mfa::kMultiFactor) ++s.mfa;
    if (new_country && s.countries.size() < 32) s.countries.push_back(ev.country);
    counters_[kTracked] = seen_.size();
    counters_[kEvictions] = seen_.evictions();
  }
  const CounterSet* counters() const override { return &counters_; }

 private:
  int64_t min_history_;
  AccountMap<Seen> seen_;
  CounterSet counters_;
};

const Registration<IdentityDetectorApi> reg{{
    .name = "watchlist",
    .description = "risky sign-ins to accounts on --watchlist lists",
    .make = [](const YAML::Node& s) -> std::unique_ptr<IdentityDetector> {
      return std::make_unique<Watchlist>(s);
    },
}};

}  // namespace
}  // namespace komainu::logs
