// Pulse/Ivanti Connect Secure event lines.
#include "logs/model/source.h"
#include "logs/model/text_util.h"

namespace komainu::logs {
namespace {

class PulseParser : public LogParser {
 public:
  bool parse(std::string_view rec, LogEvent& ev, const char** reason) override {
    ev.kind = "pulse_secure";
    ev.product = "pulsesecure";
    ev.service = "";
    // Find "YYYY-MM-DD HH:MM:SS - " anywhere (a syslog header may precede it).
    size_t p = 0;
    TimeNs t = 0;
    for (; p + 19 <= rec.size(); ++p) {
      if (rec[p] >= '0' && rec[p] <= '9' && rec[p + 4] == '-' && rec[p + 7] == '-' &&
          rec[p + 10] == ' ' && parse_ymd_hms(rec.substr(p, 19), t))
        break;
    }
    if (p + 19 > rec.size()) {
      *reason = "missing_date";
      return false;
    }
    ev.ts = t;
    std::string_view rest = rec.substr(p + 19);
    if (rest.substr(0, 3) != " - ") {
      *reason = "bad_layout";
      return false;
    }
    rest.remove_prefix(3);
    size_t d = rest.find(" - ");
    if (d == std::string_view::npos) {
      *reason = "bad_layout";
      return false;
    }
    ev.host.assign(rest.substr(0, d));
    rest.remove_prefix(d + 3);
    // [ip] user(realm)[roles] - message
    if (rest.empty() || rest.front() != '[') {
      *reason = "bad_layout";
      return false;
    }
    size_t cb = rest.find(']');
    if (cb == std::string_view::npos) {
      *reason = "bad_layout";
      return false;
    }
    set_ip(ev, rest.substr(1, cb - 1));
    rest.remove_prefix(cb + 1);
    rest = trim(rest);
    size_t op = rest.find('(');
    size_t sep = rest.find(" - ");
    if (sep == std::string_view::npos || op == std::string_view::npos || op > sep) {
      *reason = "bad_layout";
      return false;
    }
    std::string_view user = rest.substr(0, op);
    size_t cp = rest.find(')', op);
    if (cp != std::string_view::npos && cp < sep) ev.group.assign(rest.substr(op + 1, cp - op - 1));
    if (user != "System") ev.user.assign(user);
    to_lower(ev.user);
    std::string_view msg = trim(rest.substr(sep + 3));
    // Optional event id "AUT24326: "
    if (msg.size() > 9 && msg[8] == ':' && msg[0] >= 'A' && msg[0] <= 'Z') {
      ev.result_code.assign(msg.substr(0, 8));
      msg = trim(msg.substr(9));
    }
    ev.message.assign(msg);
    ev.action.assign(msg.substr(0, std::min(msg.size(), msg.find_first_of(".:("))));
    if (starts_with_ci(msg, "Login succeeded")) {
      ev.cls = EventClass::kVpnAuth;
      ev.outcome = Outcome::kSuccess;
      size_t s = msg.find("(session:");
      if (s != std::string_view::npos)
        ev.session_id.assign(msg.substr(s + 9, msg.find(')', s) - s - 9));
      size_t w = msg.find(" with ");
      if (w != std::string_view::npos) ev.user_agent.assign(trim(msg.substr(w + 6)));
    } else if (starts_with_ci(msg, "Login failed") ||
               find_ci(msg, "authentication failed") != std::string_view::npos) {
      ev.cls = EventClass::kVpnAuth;
      ev.outcome = Outcome::kFailure;
      size_t r = msg.find("Reason: ");
      if (r != std::string_view::npos) ev.failure_reason.assign(trim(msg.substr(r + 8)));
    } else if (starts_with_ci(msg, "Primary authentication successful")) {
      ev.cls = EventClass::kVpnAuth;
      ev.outcome = Outcome::kSuccess;
    } else if (find_ci(msg, "VPN Tunneling: Session started") != std::string_view::npos ||
               find_ci(msg, "VPN Tunneling: Session ended") != std::string_view::npos) {
      bool start = find_ci(msg, "started") != std::string_view::npos;
      ev.cls = start ? EventClass::kVpnSessionStart : EventClass::kVpnSessionEnd;
      ev.outcome = Outcome::kSuccess;
      size_t a = find_ci(msg, "IPv4 address ");
      if (a != std::string_view::npos) {
        std::string_view ip = msg.substr(a + 13);
        ev.tunnel_ip.assign(ip.substr(0, ip.find_first_of(" ,")));
      }
    } else if (starts_with_ci(msg, "Key Exchange number")) {
      size_t a = msg.find("NCIP ");
      if (a != std::string_view::npos) {
        std::string_view ip = msg.substr(a + 5);
        ev.tunnel_ip.assign(ip.substr(0, ip.find_first_of(" ,")));
      }
      ev.cls = EventClass::kOther;
    } else if (starts_with_ci(msg, "Logout") ||
               find_ci(msg, "Max session timeout") != std::string_view::npos) {
      ev.cls = EventClass::kVpnSessionEnd;
    }
    return true;
  }
};

int sniff(std::string_view r) {
  // "2020-05-01 08:35:44 - ive - [1.2.3.4] user(realm)[roles] - "
  size_t a = r.find(" - [");
  if (a == std::string_view::npos || a < 19) return 0;
  TimeNs t;
  if (!parse_ymd_hms(r.substr(0, 19), t) && r.find(" - ") == a) {
    // the date must directly precede the node name: "<date> <time> - <node> - ["
    size_t d = r.find(" - ");
    if (d < 19 || !parse_ymd_hms(r.substr(d - 19, 19), t)) return 0;
  }
  size_t b = r.find("] ", a);
  if (b == std::string_view::npos) return 0;
  return r.find(" - ", b) != std::string_view::npos ? 80 : 20;
}

const Registration<LogSourceApi> reg{{
    .name = "pulse_secure",
    .description = "Ivanti / Pulse Connect Secure syslog",
    .framing = Framing::kLine,
    .sniff = sniff,
    .make = []() -> std::unique_ptr<LogParser> { return std::make_unique<PulseParser>(); },
}};

}  // namespace
}  // namespace komainu::logs
