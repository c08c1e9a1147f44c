// Impossible travel between consecutive successful sign-ins of an account.
#include "logs/model/detector.h"

namespace komainu::logs {
namespace {

const AlertSpec kTravel{2000010,          "KOMAINU identity impossible travel between sign-ins",
                        "Initial Access", 2,
                        "TA0001",         "T1078.004"};

struct Last {
  TimeNs ts = 0;
  double lat = 0, lon = 0;
  std::string ip, country, city;
  bool set = false;
};

enum : size_t { kTracked, kEvictions, kNoGeo };
const std::vector<CounterInfo> kCounters = {
    {"tracked_accounts", "accounts with a last known location"},
    {"evictions", "account states evicted by the cap"},
    {"signins_without_geo", "successful sign-ins without coordinates (not checked)"}};

class ImpossibleTravel : public IdentityDetector {
 public:
  ImpossibleTravel(double speed, double min_km, int64_t cap)
      : speed_(speed),
        min_km_(min_km),
        last_(size_t(cap), 30 * 86400 * kNsPerSec),
        counters_("impossible_travel", kCounters) {}

  void on_event(const LogEvent& ev, DetectorContext& ctx) override {
    if (ev.cls != EventClass::kSignIn || ev.outcome != Outcome::kSuccess || ev.user.empty()) return;
    if (!ev.has_geo) {
      ++counters_[kNoGeo];
      return;
    }
    Last& l = last_.touch(ctx.account(ev), ev.ts);
    if (l.set && ev.ts >= l.ts) {
      double km = haversine_km(l.lat, l.lon, ev.lat, ev.lon);
      double hours = double(ev.ts - l.ts) / double(3600 * kNsPerSec);
      double kmh = hours > 0 ? km / hours : 1e12;
      if (km >= min_km_ && kmh > speed_) {
        AlertDraft d;
        d.spec = &kTravel;
        add_entities(d, ev);
        if (!l.ip.empty() && l.ip != ev.src_ip) d.ips.push_back(l.ip);
        std::string e;
        JsonWriter w(e);
        w.begin_object();
        w.kv("distance_km", km);
        w.kv("elapsed_s", int64_t((ev.ts - l.ts) / kNsPerSec));
        w.kv("speed_kmh", kmh > 1e9 ? 1e9 : kmh);
        w.kv("max_speed_kmh", speed_);
        w.key("from").begin_object();
        w.kv("time", format_eve_time(l.ts));
        w.kv("ip", l.ip);
        w.kv("country", l.country);
        w.kv("city", l.city);
        w.kv("lat", l.lat);
        w.kv("lon", l.lon);
        w.end_object();
        w.key("to");
        write_event_summary(w, ev);
        w.end_object();
        d.evidence_json = std::move(e);
        ctx.raise(d, ev);
      }
    }
    if (!l.set || ev.ts >= l.ts) {
      l.set = true;
      l.ts = ev.ts;
      l.lat = ev.lat;
      l.lon = ev.lon;
      l.ip = ev.src_ip;
      l.country = ev.country;
      l.city = ev.city;
    }
    counters_[kTracked] = last_.size();
    counters_[kEvictions] = last_.evictions();
  }
  const CounterSet* counters() const override { return &counters_; }

 private:
  double speed_, min_km_;
  AccountMap<Last> last_;
  CounterSet counters_;
};

const Registration<IdentityDetectorApi> reg{{
    .name = "impossible_travel",
    .description = "successive sign-ins farther apart than an airliner can fly",
    .make = [](const YAML::Node& s) -> std::unique_ptr<IdentityDetector> {
      return std::make_unique<ImpossibleTravel>(setting_double(s, "max_speed_kmh", 900),
                                                setting_double(s, "min_distance_km", 500),
                                                setting_int(s, "max_accounts", 500000));
    },
}};

}  // namespace
}  // namespace komainu::logs
