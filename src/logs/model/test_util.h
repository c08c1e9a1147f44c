// Test helpers for log sources and detectors (header-only; used by *_test.cc only).
#pragma once
#include <string>
#include <vector>

#include "core/event.h"
#include "logs/model/detector.h"
#include "logs/model/log_event.h"

namespace komainu::logs::testing {

// Keeps every published record as its EVE line plus the alert fields tests look at.
class CollectingSink : public EventSink {
 public:
  struct Item {
    std::string event_type;
    uint32_t gid = 0, sid = 0;
    int severity = 0;
    TimeNs ts = 0;
    std::string eve;
  };
  void publish(const Record& r) override {
    Item it;
    it.event_type = std::string(r.event_type());
    it.ts = r.ts;
    if (auto* a = dynamic_cast<const AlertRecord*>(&r)) {
      it.gid = a->alert.gid;
      it.sid = a->alert.signature_id;
      it.severity = a->alert.severity;
    }
    JsonWriter w(it.eve);
    w.begin_object();
    w.kv("timestamp", format_eve_time(r.ts));
    w.kv("event_type", r.event_type());
    r.write_eve(w);
    w.end_object();
    items.push_back(std::move(it));
  }
  size_t count_sid(uint32_t sid) const {
    size_t n = 0;
    for (const auto& i : items) n += i.sid == sid;
    return n;
  }
  std::vector<Item> items;
};

inline TimeNs at(int day, int hour, int minute = 0, int second = 0) {
  // 2025-03-03 00:00:00 UTC + offsets
  return (TimeNs(1740960000) + day * 86400 + hour * 3600 + minute * 60 + second) * kNsPerSec;
}

// A successful interactive MFA Entra sign-in from Paris; tests change what they need.
inline LogEvent signin(const std::string& user, TimeNs ts, const std::string& ip = "90.84.1.1") {
  LogEvent ev;
  ev.kind = "entra_signin";
  ev.cls = EventClass::kSignIn;
  ev.ts = ts;
  ev.user = user;
  set_ip(ev, ip);
  ev.country = "FR";
  ev.city = "Paris";
  ev.lat = 48.8566;
  ev.lon = 2.3522;
  ev.has_geo = true;
  ev.asn = 3215;
  ev.os = "Windows 10";
  ev.browser = "Edge 120";
  ev.device_id = "dev-1";
  ev.client_app = "Browser";
  ev.app = "Microsoft Teams";
  ev.mfa = Mfa::kMultiFactor;
  ev.outcome = Outcome::kSuccess;
  ev.result_code = "0";
  ev.interactive = 1;
  return ev;
}

inline LogEvent failed(const std::string& user, TimeNs ts, const std::string& ip,
                       const std::string& code = "50126") {
  LogEvent ev = signin(user, ts, ip);
  ev.outcome = Outcome::kFailure;
  ev.result_code = code;
  return ev;
}

// Runs events through one registered detector built with the given YAML settings.
struct DetectorHarness {
  explicit DetectorHarness(const char* name, const std::string& yaml = "") : ctx(sink, lists) {
    const IdentityDetectorApi* api = DetectorRegistry::find(name);
    if (api) det = api->make(yaml.empty() ? YAML::Node() : YAML::Load(yaml));
  }
  void feed(const LogEvent& ev) { det->on_event(ev, ctx); }
  CollectingSink sink;
  Watchlists lists;
  DetectorContext ctx;
  std::unique_ptr<IdentityDetector> det;
};

}  // namespace komainu::logs::testing
