#include "logs/model/log_event.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "logs/model/text_util.h"

namespace komainu::logs {

const char* event_class_name(EventClass c) {
  switch (c) {
    case EventClass::kOther:
      return "other";
    case EventClass::kSignIn:
      return "signin";
    case EventClass::kAudit:
      return "audit";
    case EventClass::kFileAccess:
      return "file_access";
    case EventClass::kMailAccess:
      return "mail_access";
    case EventClass::kMailboxRule:
      return "mailbox_rule";
    case EventClass::kAdmin:
      return "admin";
    case EventClass::kVpnAuth:
      return "vpn_auth";
    case EventClass::kVpnSessionStart:
      return "vpn_session_start";
    case EventClass::kVpnSessionEnd:
      return "vpn_session_end";
    case EventClass::kTraffic:
      return "traffic";
  }
  return "other";
}

namespace {
constexpr const char* kFieldNames[] = {
    "kind",           "class",      "time",          "user",        "user_id",    "user_display",
    "src_ip",         "country",    "city",          "state",       "asn",        "device_id",
    "device_name",    "os",         "browser",       "user_agent",  "app",        "app_id",
    "resource",       "client_app", "auth_protocol", "mfa",         "outcome",    "result_code",
    "failure_reason", "action",     "object",        "target_user", "risk_level", "tunnel_ip",
    "session_id",     "group",      "host",          "workload",    "count",      "forward_to",
    "interactive",    "category",   "message"};
static_assert(sizeof(kFieldNames) / sizeof(kFieldNames[0]) == size_t(NormField::kCount_));

const char* mfa_name(Mfa m) {
  switch (m) {
    case Mfa::kUnknown:
      return "";
    // Entra's own words, so Sigma's AuthenticationRequirement maps onto this field.
    case Mfa::kSingleFactor:
      return "singleFactorAuthentication";
    case Mfa::kMultiFactor:
      return "multiFactorAuthentication";
  }
  return "";
}
const char* outcome_name(Outcome o) {
  switch (o) {
    case Outcome::kUnknown:
      return "";
    case Outcome::kSuccess:
      return "success";
    case Outcome::kFailure:
      return "failure";
  }
  return "";
}
}  // namespace

const char* norm_field_name(NormField f) {
  return kFieldNames[size_t(f)];
}

bool norm_field_from_name(std::string_view name, NormField& out) {
  for (size_t i = 0; i < size_t(NormField::kCount_); ++i) {
    if (name == kFieldNames[i]) {
      out = NormField(i);
      return true;
    }
  }
  return false;
}

void LogEvent::clear() {
  kind = product = service = {};
  cls = EventClass::kOther;
  ts = 0;
  time_inferred = false;
  for (std::string* s : {&user,       &user_id,       &user_display, &src_ip,         &country,
                         &city,       &state,         &device_id,    &device_name,    &os,
                         &browser,    &user_agent,    &app,          &app_id,         &resource,
                         &client_app, &auth_protocol, &result_code,  &failure_reason, &action,
                         &object,     &target_user,   &risk_level,   &tunnel_ip,      &session_id,
                         &group,      &host,          &workload,     &forward_to,     &category,
                         &message})
    s->clear();
  ip = IpAddr{};
  ip_valid = false;
  lat = lon = 0;
  has_geo = false;
  asn = 0;
  mfa = Mfa::kUnknown;
  outcome = Outcome::kUnknown;
  count = 1;
  interactive = -1;
  raw = {};
  raw_is_json = false;
  has_json = false;
  json_top.clear();
  json_props.clear();
  has_json_members = false;
  line = 0;
  kv.clear();
}

bool LogEvent::get(NormField f, std::string_view& out, std::string& scratch) const {
  auto s = [&](const std::string& v) {
    out = v;
    return !v.empty();
  };
  auto num = [&](int64_t v) {
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    scratch.assign(buf, r.ptr);
    out = scratch;
    return true;
  };
  switch (f) {
    case NormField::kKind:
      out = kind;
      return !out.empty();
    case NormField::kClass:
      out = event_class_name(cls);
      return true;
    case NormField::kTime:
      scratch = format_eve_time(ts);
      out = scratch;
      return true;
    case NormField::kUser:
      return s(user);
    case NormField::kUserId:
      return s(user_id);
    case NormField::kUserDisplay:
      return s(user_display);
    case NormField::kSrcIp:
      return s(src_ip);
    case NormField::kCountry:
      return s(country);
    case NormField::kCity:
      return s(city);
    case NormField::kState:
      return s(state);
    case NormField::kAsn:
      return asn ? num(asn) : false;
    case NormField::kDeviceId:
      return s(device_id);
    case NormField::kDeviceName:
      return s(device_name);
    case NormField::kOs:
      return s(os);
    case NormField::kBrowser:
      return s(browser);
    case NormField::kUserAgent:
      return s(user_agent);
    case NormField::kApp:
      return s(app);
    case NormField::kAppId:
      return s(app_id);
    case NormField::kResource:
      return s(resource);
    case NormField::kClientApp:
      return s(client_app);
    case NormField::kAuthProtocol:
      return s(auth_protocol);
    case NormField::kMfa:
      out = mfa_name(mfa);
      return !out.empty();
    case NormField::kOutcome:
      out = outcome_name(outcome);
      return !out.empty();
    case NormField::kResultCode:
      return s(result_code);
    case NormField::kFailureReason:
      return s(failure_reason);
    case NormField::kAction:
      return s(action);
    case NormField::kObject:
      return s(object);
    case NormField::kTargetUser:
      return s(target_user);
    case NormField::kRiskLevel:
      return s(risk_level);
    case NormField::kTunnelIp:
      return s(tunnel_ip);
    case NormField::kSessionId:
      return s(session_id);
    case NormField::kGroup:
      return s(group);
    case NormField::kHost:
      return s(host);
    case NormField::kWorkload:
      return s(workload);
    case NormField::kCount:
      return num(count);
    case NormField::kForwardTo:
      return s(forward_to);
    case NormField::kInteractive:
      if (interactive < 0) return false;
      out = interactive ? "true" : "false";
      return true;
    case NormField::kCategory:
      return s(category);
    case NormField::kMessage:
      return s(message);
    case NormField::kCount_:
      break;
  }
  return false;
}

std::string_view LogEvent::kv_get(std::string_view key) const {
  for (const auto& [k, v] : kv)
    if (k == key) return v;
  return {};
}

void LogEvent::write_json(JsonWriter& w, bool with_raw) const {
  w.begin_object();
  std::string scratch;
  for (size_t i = 0; i < size_t(NormField::kCount_); ++i) {
    NormField f = NormField(i);
    if (f == NormField::kCount && count == 1) continue;
    std::string_view v;
    if (get(f, v, scratch)) w.kv(norm_field_name(f), v);
  }
  if (has_geo) {
    w.kv("lat", lat);
    w.kv("lon", lon);
  }
  if (line) w.kv("line", uint64_t(line));
  if (with_raw && !raw.empty()) {
    if (raw_is_json)
      w.kv_raw("raw", raw);
    else
      w.kv("raw", raw);
  }
  w.end_object();
}

void to_lower(std::string& s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = char(c + 32);
}

std::string_view clean_ip(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  if (!s.empty() && s.front() == '[') {
    size_t e = s.find(']');
    if (e != std::string_view::npos) return s.substr(1, e - 1);
    return s.substr(1);
  }
  // a.b.c.d:port — exactly one colon means IPv4 with port.
  size_t c = s.find(':');
  if (c != std::string_view::npos && s.find(':', c + 1) == std::string_view::npos)
    return s.substr(0, c);
  return s;
}

void set_ip(LogEvent& ev, std::string_view s) {
  s = clean_ip(s);
  ev.src_ip.assign(s);
  if (auto a = IpAddr::parse(s)) {
    ev.ip = *a;
    ev.ip_valid = true;
  }
}

double haversine_km(double lat1, double lon1, double lat2, double lon2) {
  constexpr double kRad = M_PI / 180.0;
  double dlat = (lat2 - lat1) * kRad, dlon = (lon2 - lon1) * kRad;
  double a = std::sin(dlat / 2) * std::sin(dlat / 2) + std::cos(lat1 * kRad) *
                                                           std::cos(lat2 * kRad) *
                                                           std::sin(dlon / 2) * std::sin(dlon / 2);
  return 2 * 6371.0 * std::asin(std::min(1.0, std::sqrt(a)));
}

}  // namespace komainu::logs

namespace komainu::logs {

bool is_credential_failure(const LogEvent& ev) {
  if (ev.outcome != Outcome::kFailure) return false;
  // Entra interrupts: the password was right, a further step is needed.
  static constexpr std::string_view kInterrupts[] = {
      "50074", "50076",  "50079",  "50097", "50125",  "50140", "50158", "50072",
      "53003", "530032", "500121", "65001", "700082", "70044", "70043", "16000"};
  for (auto c : kInterrupts)
    if (ev.result_code == c) return false;
  return true;
}

bool is_legacy_client(std::string_view c) {
  static constexpr std::string_view kLegacy[] = {"imap",
                                                 "pop",
                                                 "smtp",
                                                 "exchange activesync",
                                                 "autodiscover",
                                                 "exchange web services",
                                                 "mapi",
                                                 "offline address book",
                                                 "outlook anywhere",
                                                 "other clients",
                                                 "exchange online powershell",
                                                 "reporting web services",
                                                 "authenticated smtp"};
  for (auto l : kLegacy)
    if (find_ci(c, l) != std::string_view::npos) return true;
  return false;
}

}  // namespace komainu::logs
