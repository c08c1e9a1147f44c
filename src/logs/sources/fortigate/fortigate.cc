// FortiOS key=value records. Keys stay available to Sigma as views into the line.
#include "logs/model/source.h"
#include "logs/model/text_util.h"

namespace komainu::logs {
namespace {

class FortigateParser : public LogParser {
 public:
  bool parse(std::string_view rec, LogEvent& ev, const char** reason) override {
    ev.kind = "fortigate";
    ev.product = "fortigate";
    ev.service = "event";
    ev.message.assign(rec);
    if (!split_kv(rec, ev.kv) && ev.kv.empty()) {
      *reason = "kv_syntax";
      return false;
    }
    if (ev.kv.empty()) {
      *reason = "no_key_values";
      return false;
    }
    std::string_view date = ev.kv_get("date"), time = ev.kv_get("time"),
                     eventtime = ev.kv_get("eventtime");
    int64_t et;
    if (!date.empty() && !time.empty()) {
      std::string dt;
      dt.append(date).append(" ").append(time);
      if (!parse_ymd_hms(dt, ev.ts)) {
        // Some relays split "time=10: 13:03"; the syslog header still has the clock time.
        TimeNs d;
        if (!parse_ymd_hms(std::string(date) + " 00:00:00", d) ||
            !parse_bsd_time(rec, year_of(d), ev.ts)) {
          *reason = "bad_date";
          return false;
        }
        ev.time_inferred = true;
      }
    } else if (!eventtime.empty() && parse_int(eventtime, et) && et > 0 &&
               et < 9000000000000000000LL) {
      // eventtime is ns in FortiOS 6.x/7.x, s in older releases.
      if (et > 100000000000000000LL)
        ev.ts = et;
      else if (et > 100000000000LL && et < 9000000000000000LL)
        ev.ts = et * 1000;
      else if (et < 9000000000LL)
        ev.ts = et * kNsPerSec;
      else {
        *reason = "bad_date";
        return false;
      }
    } else {
      *reason = "missing_date";
      return false;
    }
    std::string_view type = ev.kv_get("type"), subtype = ev.kv_get("subtype"),
                     action = ev.kv_get("action"), logdesc = ev.kv_get("logdesc");
    ev.host.assign(ev.kv_get("devname"));
    ev.action.assign(action.empty() ? logdesc : action);
    ev.category.assign(type);
    if (!subtype.empty()) ev.category.append("/").append(subtype);
    ev.user.assign(ev.kv_get("user"));
    if (ev.user == "N/A") ev.user.clear();
    to_lower(ev.user);
    ev.group.assign(ev.kv_get("group"));
    ev.failure_reason.assign(ev.kv_get("reason"));
    if (ev.failure_reason == "N/A") ev.failure_reason.clear();
    std::string_view remip = ev.kv_get("remip");
    if (remip.empty()) remip = ev.kv_get("srcip");
    if (!remip.empty()) set_ip(ev, remip);
    std::string_view tip = ev.kv_get("tunnelip");
    if (!tip.empty() && tip != "(null)" && tip != "N/A") ev.tunnel_ip.assign(tip);
    ev.session_id.assign(ev.kv_get("tunnelid"));
    ev.app.assign(ev.kv_get("tunneltype"));
    ev.result_code.assign(ev.kv_get("logid"));
    if (type == "event" && subtype == "vpn") {
      if (action == "ssl-login-fail") {
        ev.cls = EventClass::kVpnAuth;
        ev.outcome = Outcome::kFailure;
      } else if (action == "tunnel-up") {
        ev.cls = EventClass::kVpnSessionStart;
        ev.outcome = Outcome::kSuccess;
      } else if (action == "tunnel-down") {
        ev.cls = EventClass::kVpnSessionEnd;
        ev.outcome = Outcome::kSuccess;
      } else {
        ev.cls = EventClass::kOther;
      }
    } else if (type == "event" && subtype == "system" &&
               find_ci(logdesc, "admin login") != std::string_view::npos) {
      ev.cls = EventClass::kAdmin;
      ev.outcome = find_ci(logdesc, "fail") != std::string_view::npos ? Outcome::kFailure
                                                                      : Outcome::kSuccess;
      // ui=ssh(1.2.3.4) / ui=https(1.2.3.4): the admin's address.
      std::string_view ui = ev.kv_get("ui");
      size_t o = ui.find('('), c = ui.find(')');
      if (o != std::string_view::npos && c != std::string_view::npos && c > o)
        set_ip(ev, ui.substr(o + 1, c - o - 1));
      ev.client_app.assign(ui.substr(0, o));
    } else if (type == "traffic") {
      ev.cls = EventClass::kTraffic;
    }
    return true;
  }
};

int sniff(std::string_view r) {
  int s = 0;
  if (r.find("devid=") != std::string_view::npos) s += 40;
  if (r.find("logid=") != std::string_view::npos) s += 30;
  if (r.find("date=") != std::string_view::npos && r.find("time=") != std::string_view::npos)
    s += 20;
  if (r.find("devname=") != std::string_view::npos) s += 10;
  return std::min(s, 100);
}

const Registration<LogSourceApi> reg{{
    .name = "fortigate",
    .description = "Fortinet FortiGate key=value syslog (SSL-VPN, IPsec, admin events)",
    .framing = Framing::kLine,
    .sniff = sniff,
    .make = []() -> std::unique_ptr<LogParser> { return std::make_unique<FortigateParser>(); },
}};

}  // namespace
}  // namespace komainu::logs
