// PAN-OS CSV records (quoted fields may hold commas).
#include <vector>

#include "logs/model/source.h"
#include "logs/model/text_util.h"

namespace komainu::logs {
namespace {

void split_csv(std::string_view s, std::vector<std::string_view>& out) {
  out.clear();
  size_t i = 0;
  while (i <= s.size()) {
    if (i < s.size() && s[i] == '"') {
      size_t e = s.find('"', i + 1);
      if (e == std::string_view::npos) e = s.size();
      out.push_back(s.substr(i + 1, e - i - 1));
      i = e + 1;
      if (i < s.size() && s[i] == ',')
        ++i;
      else if (i >= s.size())
        break;
      continue;
    }
    size_t e = s.find(',', i);
    if (e == std::string_view::npos) {
      out.push_back(s.substr(i));
      break;
    }
    out.push_back(s.substr(i, e - i));
    i = e + 1;
  }
}

std::string_view after(std::string_view s, std::string_view key) {
  size_t p = s.find(key);
  if (p == std::string_view::npos) return {};
  p += key.size();
  size_t e = s.find(',', p);
  return trim(s.substr(p, e == std::string_view::npos ? s.size() - p : e - p));
}

class PanParser : public LogParser {
 public:
  bool parse(std::string_view rec, LogEvent& ev, const char** reason) override {
    ev.kind = "paloalto";
    ev.product = "paloalto";
    ev.service = "globalprotect";
    ev.message.assign(rec);
    // The CSV starts at "<future_use>,YYYY/MM/DD HH:MM:SS,serial,TYPE".
    size_t p = std::string_view::npos;
    for (size_t i = 0; i + 21 < rec.size(); ++i) {
      if (rec[i] == ',' && rec[i + 5] == '/' && rec[i + 8] == '/' && rec[i + 11] == ' ') {
        p = i;
        while (p > 0 && rec[p - 1] != ' ') --p;
        break;
      }
    }
    if (p == std::string_view::npos) {
      *reason = "no_panos_csv";
      return false;
    }
    ev.host.assign(trim(rec.substr(0, p)));
    if (auto sp = ev.host.rfind(' '); sp != std::string::npos) ev.host.erase(0, sp + 1);
    split_csv(rec.substr(p), f_);
    if (f_.size() < 4) {
      *reason = "too_few_fields";
      return false;
    }
    std::string_view type = f_[3];
    ev.category.assign(type);
    // Generated time (field 6) when present, else receive time.
    TimeNs t;
    if (f_.size() > 6 && parse_ymd_hms(f_[6], t))
      ev.ts = t;
    else if (parse_ymd_hms(f_[1], t))
      ev.ts = t;
    else {
      *reason = "bad_date";
      return false;
    }
    if (type == "SYSTEM" && f_.size() > 14 && f_[4] == "globalprotect") {
      std::string_view id = f_[8], desc = f_[14];
      ev.action.assign(id);
      ev.object.assign(f_[9]);
      ev.failure_reason.assign(after(desc, "Reason: "));
      std::string_view ip = after(desc, "Login from: ");
      if (!ip.empty()) set_ip(ev, ip);
      ev.user.assign(after(desc, "User name: "));
      ev.os.assign(after(desc, "Client OS version: "));
      ev.message.assign(desc);
      bool portal = id.find("portal") != std::string_view::npos;
      ev.app.assign(portal ? "portal" : "gateway");
      if (id.ends_with("auth-succ")) {
        ev.cls = EventClass::kVpnAuth;
        ev.outcome = Outcome::kSuccess;
      } else if (id.ends_with("auth-fail")) {
        ev.cls = EventClass::kVpnAuth;
        ev.outcome = Outcome::kFailure;
      } else if (id.ends_with("regist-succ")) {
        ev.cls = EventClass::kVpnSessionStart;
        ev.outcome = Outcome::kSuccess;
      } else if (id.ends_with("logout-succ") || id.ends_with("config-release")) {
        ev.cls = EventClass::kVpnSessionEnd;
        ev.outcome = Outcome::kSuccess;
      }
    } else if (type == "GLOBALPROTECT" && f_.size() > 27) {
      // 9.1+: 8 event id, 9 stage, 10 auth method, 11 tunnel type, 12 user, 13 region,
      // 14 machine, 15 public ip, 17 private ip, 21 client version, 22 os, 23 os version,
      // 25 reason, 26 error, 27 description, 28 status.
      std::string_view id = f_[8];
      ev.action.assign(id);
      ev.user.assign(f_[12]);
      ev.country.assign(f_[13]);
      ev.device_name.assign(f_[14]);
      set_ip(ev, f_[15]);
      if (f_[17] != "0.0.0.0") ev.tunnel_ip.assign(f_[17]);
      ev.os.assign(f_[22]);
      ev.failure_reason.assign(f_.size() > 26 ? f_[26] : std::string_view());
      std::string_view status = f_.size() > 28 ? f_[28] : std::string_view();
      bool ok = status == "success";
      ev.outcome = ok ? Outcome::kSuccess : Outcome::kFailure;
      if (id == "gateway-connected" && ok)
        ev.cls = EventClass::kVpnSessionStart;
      else if (id == "gateway-logout" || id == "gateway-disconnected")
        ev.cls = EventClass::kVpnSessionEnd;
      else if (id.find("auth") != std::string_view::npos)
        ev.cls = EventClass::kVpnAuth;
    } else if (type == "TRAFFIC" && f_.size() > 14) {
      ev.cls = EventClass::kTraffic;
      set_ip(ev, f_[7]);
      ev.user.assign(f_[12]);
      ev.object.assign(f_[8]);
      ev.app.assign(f_[14]);
      ev.action.assign(f_.size() > 30 ? f_[30] : std::string_view());
    } else {
      ev.action.assign(f_.size() > 4 ? f_[4] : std::string_view());
    }
    to_lower(ev.user);
    return true;
  }

 private:
  std::vector<std::string_view> f_;
};

int sniff(std::string_view r) {
  // ",YYYY/MM/DD HH:MM:SS,<serial>,<TYPE>,"
  for (size_t i = 0; i + 21 < r.size(); ++i) {
    if (r[i] == ',' && r[i + 5] == '/' && r[i + 8] == '/' && r[i + 11] == ' ' && r[i + 20] == ',') {
      for (auto t : {",SYSTEM,", ",TRAFFIC,", ",THREAT,", ",CONFIG,", ",GLOBALPROTECT,"})
        if (r.find(t, i) != std::string_view::npos) return 80;
      return 30;
    }
  }
  return 0;
}

const Registration<LogSourceApi> reg{{
    .name = "paloalto",
    .description = "Palo Alto PAN-OS CSV syslog (GlobalProtect SYSTEM/GLOBALPROTECT, TRAFFIC)",
    .framing = Framing::kLine,
    .sniff = sniff,
    .make = []() -> std::unique_ptr<LogParser> { return std::make_unique<PanParser>(); },
}};

}  // namespace
}  // namespace komainu::logs
