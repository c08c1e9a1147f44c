// The one event model every log source normalises into. Sources fill a reused LogEvent per
// record (strings keep their capacity, so a warm pipeline does not allocate per record);
// Sigma, the identity detectors and the outputs read only this type.
#pragma once
#include <simdjson.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/addr.h"
#include "core/json.h"
#include "core/time.h"

namespace komainu::logs {

enum class Outcome : uint8_t { kUnknown, kSuccess, kFailure };

// What the record is about, for detectors that only look at some classes.
enum class EventClass : uint8_t {
  kOther,
  kSignIn,       // Entra / UAL logon, success or failure
  kAudit,        // directory change (Entra audit)
  kFileAccess,   // SharePoint/OneDrive file operation
  kMailAccess,   // MailItemsAccessed and other mailbox reads
  kMailboxRule,  // New-InboxRule / Set-InboxRule / Set-Mailbox forwarding
  kAdmin,        // other admin cmdlets, appliance admin logins
  kVpnAuth,      // VPN login attempt (portal/gateway/AAA)
  kVpnSessionStart,
  kVpnSessionEnd,
  kTraffic,  // firewall traffic records carried by VPN appliances
};
const char* event_class_name(EventClass c);

// MFA state of a sign-in as the log states it.
enum class Mfa : uint8_t { kUnknown, kSingleFactor, kMultiFactor };

// Normalised fields addressable by name (Sigma mapping, golden output, docs).
enum class NormField : uint8_t {
  kKind,
  kClass,
  kTime,
  kUser,
  kUserId,
  kUserDisplay,
  kSrcIp,
  kCountry,
  kCity,
  kState,
  kAsn,
  kDeviceId,
  kDeviceName,
  kOs,
  kBrowser,
  kUserAgent,
  kApp,
  kAppId,
  kResource,
  kClientApp,
  kAuthProtocol,
  kMfa,
  kOutcome,
  kResultCode,
  kFailureReason,
  kAction,
  kObject,
  kTargetUser,
  kRiskLevel,
  kTunnelIp,
  kSessionId,
  kGroup,
  kHost,
  kWorkload,
  kCount,
  kForwardTo,
  kInteractive,
  kCategory,
  kMessage,
  kCount_  // number of fields
};
const char* norm_field_name(NormField f);
bool norm_field_from_name(std::string_view name, NormField& out);

struct LogEvent {
  // Set by the source.
  std::string_view kind;     // source name, e.g. "entra_signin"
  std::string_view product;  // Sigma logsource product/service of this record
  std::string_view service;
  EventClass cls = EventClass::kOther;
  TimeNs ts = 0;
  // The record carried no full timestamp (syslog without year, or none at all): ts was
  // completed from the previous record / the data clock. Counted in stats.
  bool time_inferred = false;

  std::string user;  // UPN / account name, lower-cased
  std::string user_id;
  std::string user_display;
  std::string src_ip;  // textual, as logged (brackets/port removed)
  IpAddr ip;
  bool ip_valid = false;
  std::string country, city, state;
  double lat = 0, lon = 0;
  bool has_geo = false;
  uint32_t asn = 0;
  std::string device_id, device_name, os, browser, user_agent;
  std::string app, app_id, resource;
  std::string client_app;     // Browser, IMAP4, "Exchange ActiveSync", ...
  std::string auth_protocol;  // deviceCode, ropc, ...
  Mfa mfa = Mfa::kUnknown;
  Outcome outcome = Outcome::kUnknown;
  std::string result_code;  // error code as text ("0", "50126", "ssl-login-fail")
  std::string failure_reason;
  std::string action;  // operation / activity / VPN action
  std::string object;  // file, rule, target resource
  std::string target_user;
  std::string risk_level;  // none/low/medium/high
  std::string tunnel_ip;   // address assigned inside the VPN
  std::string session_id;
  std::string group;  // VPN group / realm, audit category
  std::string host;   // appliance or device that logged it
  std::string workload;
  std::string forward_to;  // inbox rule / mailbox forwarding targets, comma-separated
  std::string category;    // upstream category (SignInLogs, AuditLogs, RecordType...)
  std::string message;     // free text of syslog records
  int64_t count = 1;       // items the record stands for (OperationCount)
  int interactive = -1;    // -1 unknown

  // Where it came from.
  std::string_view raw;  // the record as read (valid until the next record)
  bool raw_is_json = false;
  // The parsed record of JSON sources (valid until the next record), for Sigma fields that
  // the normalised model does not carry. Unset for text sources.
  simdjson::dom::element json;
  bool has_json = false;
  // The members of `json`'s top level and of the first `properties` object among them (the
  // diagnostic-settings envelope), in record order, when the source lists them (Entra
  // sign-ins, which visit every member anyway): Sigma's raw-field lookups then scan these
  // flat arrays instead of iterating the DOM. Valid until the next record.
  using JsonMembers = std::vector<std::pair<std::string_view, simdjson::dom::element>>;
  JsonMembers json_top, json_props;
  bool has_json_members = false;
  uint64_t line = 0;
  // key=value pairs of syslog sources (views into raw), for Sigma fields not normalised.
  std::vector<std::pair<std::string_view, std::string_view>> kv;

  void clear();
  // Field text for NormField (numbers rendered into scratch); false when empty/unset.
  bool get(NormField f, std::string_view& out, std::string& scratch) const;
  std::string_view kv_get(std::string_view key) const;
  // The EVE "log" member: normalised fields (non-empty ones) plus the raw record.
  void write_json(JsonWriter& w, bool with_raw) const;
};

// ASCII lower-case in place (user names, keys).
void to_lower(std::string& s);
inline bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = char(x + 32);
    if (y >= 'A' && y <= 'Z') y = char(y + 32);
    if (x != y) return false;
  }
  return true;
}
// Strips "[v6]:port" / "v4:port" decoration from a logged client address.
std::string_view clean_ip(std::string_view s);
// Sets ev.src_ip and ev.ip from a logged address.
void set_ip(LogEvent& ev, std::string_view s);
// Great-circle distance in km.
double haversine_km(double lat1, double lon1, double lat2, double lon2);

}  // namespace komainu::logs

namespace komainu::logs {
// A failed sign-in that tested a credential (wrong password, locked, unknown user), as
// opposed to interrupts such as "MFA required" that follow a correct password.
bool is_credential_failure(const LogEvent& ev);
// Legacy authentication clients that cannot do MFA (IMAP, POP, SMTP AUTH, EAS basic...).
bool is_legacy_client(std::string_view client_app);
}  // namespace komainu::logs
