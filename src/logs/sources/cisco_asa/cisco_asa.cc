// Cisco ASA syslog: header time, message id, and the fields of the AAA/VPN messages.
#include <string>

#include "logs/model/source.h"
#include "logs/model/text_util.h"

namespace komainu::logs {
namespace {

// Text between `after` and the next delimiter in `s`.
std::string_view field_after(std::string_view s, std::string_view after, std::string_view delims) {
  size_t p = find_ci(s, after);
  if (p == std::string_view::npos) return {};
  p += after.size();
  while (p < s.size() && s[p] == ' ') ++p;
  size_t e = s.find_first_of(delims, p);
  return trim(s.substr(p, e == std::string_view::npos ? s.size() - p : e - p));
}

class AsaParser : public LogParser {
 public:
  bool parse(std::string_view rec, LogEvent& ev, const char** reason) override {
    ev.kind = "cisco_asa";
    ev.product = "cisco";
    ev.service = "asa";
    size_t pct = rec.find("%ASA-");
    if (pct == std::string_view::npos) pct = rec.find("%FTD-");
    if (pct == std::string_view::npos) {
      *reason = "no_asa_tag";
      return false;
    }
    std::string_view header = trim(rec.substr(0, pct));
    std::string_view tag = rec.substr(pct + 5);
    size_t colon = tag.find(':');
    if (colon == std::string_view::npos || colon < 3) {
      *reason = "bad_asa_tag";
      return false;
    }
    std::string_view sev_id = tag.substr(0, colon);  // "6-113005"
    size_t dash = sev_id.find('-');
    if (dash == std::string_view::npos) {
      *reason = "bad_asa_tag";
      return false;
    }
    std::string_view id = sev_id.substr(dash + 1);
    std::string_view msg = trim(tag.substr(colon + 1));
    ev.result_code.assign(id);
    ev.category.assign("ASA-").append(sev_id);
    ev.message.assign(msg);

    // Header: "<166>Jan  5 08:52:35 10.22.8.216", "7/5/2023, 2:04:24.792 PM\t", or none.
    std::string_view h = header;
    if (!h.empty() && h.front() == '<') {
      size_t gt = h.find('>');
      if (gt != std::string_view::npos) h.remove_prefix(gt + 1);
    }
    TimeNs t = 0;
    size_t used = 0;
    if (h.size() >= 15 && (used = parse_bsd_time(h, last_year_, t))) {
      bool has_year = h.size() > 11 && h[6] == ' ' &&
                      h.substr(7, 4).find(':') == std::string_view::npos && h[11] == ' ';
      ev.ts = t;
      ev.time_inferred = !has_year;
      if (has_year) last_year_ = year_of(t);
      std::string_view rest = trim(h.substr(used));
      if (!rest.empty() && rest.back() == ':') rest.remove_suffix(1);
      ev.host.assign(trim(rest));
    } else if (!h.empty() && parse_any_time(h.substr(0, h.find('\t')), t)) {
      ev.ts = t;
      last_year_ = year_of(t);
    } else {
      ev.ts = last_ts_;
      ev.time_inferred = true;
    }
    last_ts_ = ev.ts;

    int64_t n = 0;
    parse_int(id, n);
    switch (n) {
      case 113004:  // AAA user authentication Successful : server = x : user = u
      case 113005:  // AAA user authentication Rejected : reason = r : server = s : user = u : user
                    // IP = ip
      case 113015: {
        ev.cls = EventClass::kVpnAuth;
        ev.outcome = n == 113004 ? Outcome::kSuccess : Outcome::kFailure;
        ev.user.assign(field_after(msg, "user = ", " :,"));
        if (ev.user.empty()) ev.user.assign(field_after(msg, "User = ", " :,"));
        std::string_view ip = field_after(msg, "user IP = ", " :,");
        if (!ip.empty()) set_ip(ev, ip);
        ev.failure_reason.assign(field_after(msg, "reason = ", ":"));
        break;
      }
      case 611101:
      case 611102: {  // User authentication succeeded/failed: IP address: ip, Uname: u
        ev.cls = EventClass::kAdmin;
        ev.outcome = n == 611101 ? Outcome::kSuccess : Outcome::kFailure;
        std::string_view ip = field_after(msg, "IP address: ", ", ");
        if (!ip.empty()) set_ip(ev, ip);
        ev.user.assign(field_after(msg, "Uname: ", " ,"));
        break;
      }
      case 605004:
      case 605005: {  // Login denied/permitted from ip/port to if:ip/svc for user "u"
        ev.cls = EventClass::kAdmin;
        ev.outcome = n == 605005 ? Outcome::kSuccess : Outcome::kFailure;
        std::string_view from = field_after(msg, "from ", " ");
        if (!from.empty()) set_ip(ev, from.substr(0, from.find('/')));
        std::string_view u = field_after(msg, "for user ", " ");
        if (u.size() >= 2 && u.front() == '"' && u.back() == '"') u = u.substr(1, u.size() - 2);
        ev.user.assign(u);
        break;
      }
      case 113039:    // Group g User u IP ip AnyConnect parent session started.
      case 716001:    // Group g User u IP ip WebVPN session started.
      case 722051: {  // Group g User u IP ip IPv4 Address a assigned to session
        ev.cls = n == 722051 || n == 113039 || n == 716001 ? EventClass::kVpnSessionStart
                                                           : EventClass::kOther;
        ev.outcome = Outcome::kSuccess;
        ev.group.assign(field_between(msg, "Group <", ">"));
        ev.user.assign(field_between(msg, "User <", ">"));
        std::string_view ip = field_between(msg, "IP <", ">");
        if (!ip.empty()) set_ip(ev, ip);
        std::string_view tip = field_between(msg, "IPv4 Address <", ">");
        if (!tip.empty()) ev.tunnel_ip.assign(tip);
        if (n == 113039 || n == 716001) ev.cls = EventClass::kVpnAuth;
        break;
      }
      case 716002:
      case 113019: {  // Group = g, Username = u, IP = ip, Session disconnected. Session Type: t,
                      // ...
        ev.cls = EventClass::kVpnSessionEnd;
        ev.outcome = Outcome::kSuccess;
        ev.group.assign(field_after(msg, "Group = ", ","));
        ev.user.assign(field_after(msg, "Username = ", ","));
        std::string_view ip = field_after(msg, "IP = ", ",");
        if (!ip.empty()) set_ip(ev, ip);
        ev.app.assign(field_after(msg, "Session Type: ", ","));
        ev.failure_reason.assign(field_after(msg, "Reason: ", ""));
        if (n == 716002) {
          ev.group.assign(field_between(msg, "Group <", ">"));
          ev.user.assign(field_between(msg, "User <", ">"));
          std::string_view ip2 = field_between(msg, "IP <", ">");
          if (!ip2.empty()) set_ip(ev, ip2);
        }
        break;
      }
      default:
        ev.cls = (n >= 302013 && n <= 302021) ? EventClass::kTraffic : EventClass::kOther;
    }
    if (ev.user == "*****") ev.user.clear();  // redacted in the Sentinel sample
    to_lower(ev.user);
    return true;
  }

 private:
  static std::string_view field_between(std::string_view s, std::string_view open,
                                        std::string_view close) {
    size_t p = s.find(open);
    if (p == std::string_view::npos) return {};
    p += open.size();
    size_t e = s.find(close, p);
    if (e == std::string_view::npos) return {};
    return s.substr(p, e - p);
  }
  int last_year_ = 1970;
  TimeNs last_ts_ = 0;
};

int sniff(std::string_view r) {
  if (r.find("%ASA-") != std::string_view::npos || r.find("%FTD-") != std::string_view::npos)
    return 90;
  return 0;
}

const Registration<LogSourceApi> reg{{
    .name = "cisco_asa",
    .description = "Cisco ASA / FTD syslog (%ASA- messages: AAA, AnyConnect, management)",
    .framing = Framing::kLine,
    .sniff = sniff,
    .make = []() -> std::unique_ptr<LogParser> { return std::make_unique<AsaParser>(); },
}};

}  // namespace
}  // namespace komainu::logs
