// VPN session tracking: attribution records and concurrent sessions.
#include <algorithm>
#include <unordered_map>

#include "logs/model/detector.h"

namespace komainu::logs {
namespace {

const AlertSpec kConcurrent{
    2000063,          "KOMAINU identity concurrent VPN sessions from distant places",
    "Initial Access", 2,
    "TA0001",         "T1133"};

struct Session {
  std::string user, public_ip, tunnel_ip, session_id, host, group;
  std::string_view kind;
  TimeNs start = 0;
  double lat = 0, lon = 0;
  bool geo = false;
  IpAddr ip;
  bool ip_valid = false;
};

class VpnSessionRecord : public Record {
 public:
  std::string_view event_type() const override { return "vpn_session"; }
  void write_eve(JsonWriter& w) const override {
    if (!s.public_ip.empty()) w.kv("src_ip", s.public_ip);
    w.key("vpn_session").begin_object();
    w.kv("state", state);
    if (!s.user.empty()) w.kv("user", s.user);
    if (!s.tunnel_ip.empty()) w.kv("tunnel_ip", s.tunnel_ip);
    if (!s.public_ip.empty()) w.kv("public_ip", s.public_ip);
    w.kv("start", format_eve_time(s.start));
    if (end) {
      w.kv("end", format_eve_time(end));
      w.kv("duration_s", int64_t((end - s.start) / kNsPerSec));
    }
    if (!s.session_id.empty()) w.kv("session_id", s.session_id);
    if (!s.group.empty()) w.kv("group", s.group);
    if (!s.host.empty()) w.kv("host", s.host);
    w.kv("log_kind", s.kind);
    w.end_object();
  }
  Session s;
  std::string_view state;
  TimeNs end = 0;
};

bool same16(const IpAddr& a, const IpAddr& b) {
  if (a.is_v4() != b.is_v4()) return false;
  if (a.is_v4()) return a.b[12] == b.b[12] && a.b[13] == b.b[13];
  return std::equal(a.b.begin(), a.b.begin() + 6, b.b.begin());
}

enum : size_t { kStarted, kEnded, kUnmatchedEnds, kTimedOut, kDropped };
const std::vector<CounterInfo> kCounters = {
    {"sessions_started", "VPN sessions started"},
    {"sessions_ended", "VPN sessions ended with a matching start"},
    {"unmatched_ends", "session ends without a known start (written with state end, no start)"},
    {"timed_out", "open sessions closed by session_timeout"},
    {"dropped", "sessions not tracked because max_sessions was reached"}};

class VpnSessions : public IdentityDetector {
 public:
  explicit VpnSessions(const YAML::Node& s)
      : timeout_(setting_duration(s, "session_timeout", 86400 * kNsPerSec)),
        min_km_(setting_double(s, "min_distance_km", 500)),
        cap_(size_t(setting_int(s, "max_sessions", 100000))),
        counters_("vpn_sessions", kCounters) {}

  void on_event(const LogEvent& ev, DetectorContext& ctx) override {
    if (ev.cls == EventClass::kVpnSessionStart && !ev.tunnel_ip.empty())
      start(ev, ctx);
    else if (ev.cls == EventClass::kVpnSessionEnd)
      end(ev, ctx);
  }

  void finish(DetectorContext& ctx) override {
    std::vector<Session*> all;
    for (auto& [k, s] : open_) all.push_back(&s);
    std::sort(all.begin(), all.end(), [](auto* a, auto* b) { return a->start < b->start; });
    for (Session* s : all) emit(ctx, *s, "open", 0);
    open_.clear();
  }
  const CounterSet* counters() const override { return &counters_; }

 private:
  static std::string key(std::string_view kind, std::string_view host, std::string_view tip) {
    std::string k(kind);
    k.append("|").append(host).append("|").append(tip);
    return k;
  }

  void emit(DetectorContext& ctx, const Session& s, std::string_view state, TimeNs end) {
    VpnSessionRecord r;
    r.s = s;
    r.state = state;
    r.end = end;
    r.ts = end ? end : s.start;
    ctx.sink().publish(r);
  }

  void expire(TimeNs now) {
    for (auto it = open_.begin(); it != open_.end();) {
      if (now - it->second.start > timeout_) {
        ++counters_[kTimedOut];
        it = open_.erase(it);
      } else {
        ++it;
      }
    }
  }

  void start(const LogEvent& ev, DetectorContext& ctx) {
    if (open_.size() >= cap_) expire(ev.ts);
    if (open_.size() >= cap_) {
      ++counters_[kDropped];
      return;
    }
    Session s;
    s.user = ev.user;
    s.public_ip = ev.src_ip;
    s.tunnel_ip = ev.tunnel_ip;
    s.session_id = ev.session_id;
    s.host = ev.host;
    s.group = ev.group;
    s.kind = ev.kind;
    s.start = ev.ts;
    s.geo = ev.has_geo;
    s.lat = ev.lat;
    s.lon = ev.lon;
    s.ip = ev.ip;
    s.ip_valid = ev.ip_valid;
    // Concurrent sessions of the same account from elsewhere.
    if (!s.user.empty()) {
      for (auto& [k, o] : open_) {
        if (o.user != s.user || o.public_ip == s.public_ip || ev.ts - o.start > timeout_) continue;
        bool distant = false;
        double km = -1;
        if (o.geo && s.geo) {
          km = haversine_km(o.lat, o.lon, s.lat, s.lon);
          distant = km >= min_km_;
        } else if (o.ip_valid && s.ip_valid) {
          distant = !same16(o.ip, s.ip);
        }
        if (!distant) continue;
        AlertDraft d;
        d.spec = &kConcurrent;
        add_entities(d, ev);
        d.ips.push_back(o.public_ip);
        std::string e;
        JsonWriter w(e);
        w.begin_object();
        if (km >= 0) w.kv("distance_km", km);
        w.key("other_session").begin_object();
        w.kv("public_ip", o.public_ip);
        w.kv("tunnel_ip", o.tunnel_ip);
        w.kv("start", format_eve_time(o.start));
        w.end_object();
        w.key("new_session");
        write_event_summary(w, ev);
        w.end_object();
        d.evidence_json = std::move(e);
        ctx.raise(d, ev);
        break;
      }
    }
    ++counters_[kStarted];
    emit(ctx, s, "start", 0);
    open_[key(ev.kind, ev.host, ev.tunnel_ip)] = std::move(s);
  }

  void end(const LogEvent& ev, DetectorContext& ctx) {
    auto it = open_.end();
    if (!ev.tunnel_ip.empty()) it = open_.find(key(ev.kind, ev.host, ev.tunnel_ip));
    if (it == open_.end()) {
      // Ends that carry no tunnel address (ASA 113019, Ivanti logout): match by account
      // and public address, then by session id.
      for (auto i = open_.begin(); i != open_.end(); ++i) {
        const Session& o = i->second;
        if (o.kind != ev.kind) continue;
        if ((!ev.session_id.empty() && o.session_id == ev.session_id) ||
            (!ev.user.empty() && o.user == ev.user &&
             (ev.src_ip.empty() || o.public_ip == ev.src_ip))) {
          it = i;
          break;
        }
      }
    }
    if (it == open_.end()) {
      ++counters_[kUnmatchedEnds];
      Session s;
      s.user = ev.user;
      s.public_ip = ev.src_ip;
      s.tunnel_ip = ev.tunnel_ip;
      s.session_id = ev.session_id;
      s.host = ev.host;
      s.kind = ev.kind;
      s.start = ev.ts;
      VpnSessionRecord r;
      r.s = s;
      r.state = "end";
      r.ts = ev.ts;
      ctx.sink().publish(r);
      return;
    }
    ++counters_[kEnded];
    emit(ctx, it->second, "end", ev.ts);
    open_.erase(it);
  }

  TimeNs timeout_;
  double min_km_;
  size_t cap_;
  std::unordered_map<std::string, Session> open_;
  CounterSet counters_;
};

const Registration<IdentityDetectorApi> reg{{
    .name = "vpn_sessions",
    .description = "tunnel-IP to user mapping records; concurrent sessions from distant places",
    .make = [](const YAML::Node& s) -> std::unique_ptr<IdentityDetector> {
      return std::make_unique<VpnSessions>(s);
    },
}};

}  // namespace
}  // namespace komainu::logs
