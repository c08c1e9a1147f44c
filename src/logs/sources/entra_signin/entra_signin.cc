// Entra ID sign-ins in their three shapes, normalised in one pass over the object's members
// (nested objects recurse with the same key table).
#include <simdjson.h>

#include <string>
#include <unordered_map>

#include "logs/model/json_util.h"
#include "logs/model/source.h"
#include "logs/model/text_util.h"

namespace komainu::logs {
namespace {

enum class K : uint8_t {
  kTime,
  kCreated,
  kCategory,
  kResultType,
  kResultDescription,
  kCallerIp,
  kProperties,
  kLocation,
  kUpn,
  kUserId,
  kUserDisplay,
  kIdentity,
  kIp,
  kAppName,
  kAppId,
  kResource,
  kClientApp,
  kAuthReq,
  kAuthProto,
  kStatus,
  kDevice,
  kRiskDuring,
  kUserAgent,
  kInteractive,
  kAsn,
  kId,
  kSessionId,
  kSpName,
  kOperationName,
  kErrorCode,
  kFailureReason,
  kCity,
  kState,
  kCountry,
  kGeo,
  kLat,
  kLon,
  kDeviceId,
  kDisplayName,
  kOs,
  kBrowser,
  kAuthDetails,
};

// Built at static initialisation: the per-member lookup needs no guard check.
const KeyTable kKeys = {
    {"time", int(K::kTime)},
    {"timegenerated", int(K::kTime)},
    {"createddatetime", int(K::kCreated)},
    {"category", int(K::kCategory)},
    {"resulttype", int(K::kResultType)},
    {"resultdescription", int(K::kResultDescription)},
    {"calleripaddress", int(K::kCallerIp)},
    {"properties", int(K::kProperties)},
    {"location", int(K::kLocation)},
    {"locationdetails", int(K::kLocation)},
    {"userprincipalname", int(K::kUpn)},
    {"userid", int(K::kUserId)},
    {"userdisplayname", int(K::kUserDisplay)},
    {"identity", int(K::kIdentity)},
    {"ipaddress", int(K::kIp)},
    {"appdisplayname", int(K::kAppName)},
    {"appid", int(K::kAppId)},
    {"resourcedisplayname", int(K::kResource)},
    {"clientappused", int(K::kClientApp)},
    {"authenticationrequirement", int(K::kAuthReq)},
    {"authenticationprotocol", int(K::kAuthProto)},
    {"status", int(K::kStatus)},
    {"devicedetail", int(K::kDevice)},
    {"risklevelduringsignin", int(K::kRiskDuring)},
    {"useragent", int(K::kUserAgent)},
    {"isinteractive", int(K::kInteractive)},
    {"autonomoussystemnumber", int(K::kAsn)},
    {"id", int(K::kId)},
    {"sessionid", int(K::kSessionId)},
    {"serviceprincipalname", int(K::kSpName)},
    {"operationname", int(K::kOperationName)},
    {"errorcode", int(K::kErrorCode)},
    {"failurereason", int(K::kFailureReason)},
    {"city", int(K::kCity)},
    {"state", int(K::kState)},
    {"countryorregion", int(K::kCountry)},
    {"geocoordinates", int(K::kGeo)},
    {"latitude", int(K::kLat)},
    {"longitude", int(K::kLon)},
    {"deviceid", int(K::kDeviceId)},
    {"displayname", int(K::kDisplayName)},
    {"operatingsystem", int(K::kOs)},
    {"browser", int(K::kBrowser)},
    {"authenticationdetails", int(K::kAuthDetails)},
};

const KeyTable& keys() {
  return kKeys;
}

class EntraSigninParser : public LogParser {
 public:
  bool parse(std::string_view rec, LogEvent& ev, const char** reason) override {
    auto doc = parser_.parse(rec.data(), rec.size(), false);
    if (doc.error()) {
      *reason = "json_syntax";
      return false;
    }
    simdjson::dom::object root;
    if (doc.value_unsafe().get_object().get(root)) {
      *reason = "not_an_object";
      return false;
    }
    ev.kind = "entra_signin";
    ev.product = "azure";
    ev.service = "signinlogs";
    ev.cls = EventClass::kSignIn;
    ev.raw_is_json = true;
    ev.json = doc.value_unsafe();
    ev.has_json = true;
    error_code_set_ = false;
    time_out_of_range_ = false;
    time_text_ = {};
    result_text_.clear();
    props_listed_ = false;
    listed_all_ = true;
    walk(root, ev, 0, &ev.json_top);
    ev.has_json_members = listed_all_;
    if (ev.ts == 0) {
      *reason = time_out_of_range_ ? "time_out_of_range" : "missing_time";
      return false;
    }
    if (!error_code_set_) {
      // Envelope-only outcome: "0"/"Success" or a numeric code / "Failure".
      std::string_view r = result_text_;
      if (r.empty()) {
        ev.outcome = Outcome::kUnknown;
      } else if (r == "0" || iequals(r, "success")) {
        ev.outcome = Outcome::kSuccess;
        ev.result_code.assign(1, '0');  // not = "0": GCC 12 -O3 false -Wrestrict (PR105329)
      } else {
        ev.outcome = Outcome::kFailure;
        ev.result_code = iequals(r, "failure") ? "" : std::string(r);
      }
    }
    to_lower(ev.user);
    return true;
  }

 private:
  // Members are listed into `members` when set (the top level and the first properties
  // object: LogEvent::json_top / json_props).
  void walk(simdjson::dom::object o, LogEvent& ev, int depth, LogEvent::JsonMembers* members) {
    if (members && o.size() > kMaxListed) {  // the tape's member count (saturates high)
      listed_all_ = false;
      members = nullptr;
    }
    KeyOrder& order = walk_order_[depth];
    size_t pos = 0;
    for (auto [key, v] : o) {
      if (members) members->emplace_back(key, v);
      int id = order.find(keys(), pos++, key);
      if (id < 0) continue;
      switch (K(id)) {
        case K::kTime:
          if (ev.ts == 0 && v.is_string()) {
            TimeNs t;
            if (parse_time(v.get_string().value_unsafe(), t)) ev.ts = t;
          }
          break;
        case K::kCreated:  // the sign-in's own time wins over the envelope's
          if (v.is_string()) {
            TimeNs t;
            if (parse_time(v.get_string().value_unsafe(), t)) ev.ts = t;
          }
          break;
        case K::kCategory:
          assign_text(v, ev.category);
          break;
        case K::kResultType:
          result_text_.clear();
          scalar_text(v, result_text_);
          break;
        case K::kResultDescription:
          if (ev.failure_reason.empty()) assign_text(v, ev.failure_reason);
          break;
        case K::kCallerIp:
          if (ev.src_ip.empty() && v.is_string()) set_ip(ev, v.get_string().value_unsafe());
          break;
        case K::kIp:
          // The same address as the envelope's callerIpAddress (the usual case) is
          // already parsed.
          if (v.is_string() && !v.get_string().value_unsafe().empty() &&
              clean_ip(v.get_string().value_unsafe()) != ev.src_ip)
            set_ip(ev, v.get_string().value_unsafe());
          break;
        case K::kProperties:
          if (v.is_object() && depth < 3) {
            simdjson::dom::object props = v.get_object().value_unsafe();
            LogEvent::JsonMembers* list = nullptr;
            if (depth == 0 && !props_listed_) {
              props_listed_ = true;
              list = &ev.json_props;
            }
            walk(props, ev, depth + 1, list);
          }
          break;
        case K::kLocation: {
          simdjson::dom::element e;
          if (parse_embedded(sub_, v, e) && e.is_object()) {
            simdjson::dom::object eo = e.get_object().value_unsafe();
            geo(eo, ev);
          } else if (v.is_string() && ev.country.empty()) {
            ev.country.assign(v.get_string().value_unsafe());
          }
          break;
        }
        case K::kUpn:
          assign_text(v, ev.user);
          break;
        case K::kUserId:
          assign_text(v, ev.user_id);
          break;
        case K::kUserDisplay:
          assign_text(v, ev.user_display);
          break;
        case K::kIdentity:
          if (ev.user_display.empty()) assign_text(v, ev.user_display);
          break;
        case K::kAppName:
          assign_text(v, ev.app);
          break;
        case K::kAppId:
          assign_text(v, ev.app_id);
          break;
        case K::kResource:
          assign_text(v, ev.resource);
          break;
        case K::kClientApp:
          assign_text(v, ev.client_app);
          break;
        case K::kAuthReq:
          if (v.is_string()) {
            std::string_view s = v.get_string().value_unsafe();
            if (iequals(s, "multiFactorAuthentication"))
              ev.mfa = Mfa::kMultiFactor;
            else if (iequals(s, "singleFactorAuthentication"))
              ev.mfa = Mfa::kSingleFactor;
          }
          break;
        case K::kAuthProto:
          assign_text(v, ev.auth_protocol);
          break;
        case K::kStatus: {
          simdjson::dom::element e;
          if (parse_embedded(sub_, v, e) && e.is_object()) {
            simdjson::dom::object eo = e.get_object().value_unsafe();
            status(eo, ev);
          }
          break;
        }
        case K::kDevice: {
          simdjson::dom::element e;
          if (parse_embedded(sub_, v, e) && e.is_object()) {
            simdjson::dom::object eo = e.get_object().value_unsafe();
            device(eo, ev);
          }
          break;
        }
        case K::kRiskDuring:
          assign_text(v, ev.risk_level);
          break;
        case K::kUserAgent:
          assign_text(v, ev.user_agent);
          break;
        case K::kInteractive:
          if (v.is_bool())
            ev.interactive = v.get_bool().value_unsafe();
          else if (v.is_string())
            ev.interactive = iequals(v.get_string().value_unsafe(), "true");
          break;
        case K::kAsn: {
          int64_t n;
          if (v.get_int64().get(n) != simdjson::SUCCESS) {
            std::string t;  // "3352" in string-typed exports; short, so no allocation
            if (!scalar_text(v, t) || !parse_int(t, n)) break;
          }
          if (n > 0 && n < (1LL << 32)) ev.asn = uint32_t(n);
          break;
        }
        case K::kId:
          if (depth > 0 || ev.object.empty()) assign_text(v, ev.object);
          break;
        case K::kSessionId:
          assign_text(v, ev.session_id);
          break;
        case K::kSpName:
          if (ev.user_display.empty()) assign_text(v, ev.user_display);
          break;
        case K::kOperationName:
          assign_text(v, ev.action);
          break;
        default:
          break;
      }
    }
  }

  // The envelope's time and the sign-in's createdDateTime are usually the same text: it is
  // parsed once per record (same text, same result and the same out-of-range flag).
  bool parse_time(std::string_view text, TimeNs& t) {
    if (!time_text_.data() || text != time_text_) {
      time_text_ = text;
      time_ok_ = parse_any_time(text, time_value_, &time_out_of_range_);
    }
    t = time_value_;
    return time_ok_;
  }

  void status(simdjson::dom::object o, LogEvent& ev) {
    size_t pos = 0;
    for (auto [key, v] : o) {
      const int id = status_order_.find(keys(), pos++, key);
      if (id == int(K::kErrorCode)) {
        ev.result_code.clear();
        if (scalar_text(v, ev.result_code)) {
          error_code_set_ = true;
          ev.outcome = ev.result_code == "0" ? Outcome::kSuccess : Outcome::kFailure;
        }
      } else if (id == int(K::kFailureReason)) {
        std::string t;
        if (scalar_text(v, t) && !t.empty() && t != "Other.") ev.failure_reason = t;
      }
    }
  }

  void geo(simdjson::dom::object o, LogEvent& ev) {
    size_t pos = 0;
    for (auto [key, v] : o) {
      const int id = geo_order_.find(keys(), pos++, key);
      if (id == int(K::kCity))
        assign_text(v, ev.city);
      else if (id == int(K::kState))
        assign_text(v, ev.state);
      else if (id == int(K::kCountry))
        assign_text(v, ev.country);
      else if (id == int(K::kGeo) && v.is_object()) {
        bool la = false, lo = false;
        simdjson::dom::object coords = v.get_object().value_unsafe();
        for (auto [k2, c] : coords) {
          double d;
          if (c.get_double().get(d)) {
            int64_t i;
            if (c.get_int64().get(i)) continue;
            d = double(i);
          }
          if (k2 == "latitude") {
            ev.lat = d;
            la = true;
          } else if (k2 == "longitude") {
            ev.lon = d;
            lo = true;
          }
        }
        ev.has_geo = la && lo;
      }
    }
  }

  void device(simdjson::dom::object o, LogEvent& ev) {
    size_t pos = 0;
    for (auto [key, v] : o) {
      const int id = device_order_.find(keys(), pos++, key);
      if (id == int(K::kDeviceId))
        assign_text(v, ev.device_id);
      else if (id == int(K::kDisplayName))
        assign_text(v, ev.device_name);
      else if (id == int(K::kOs))
        assign_text(v, ev.os);
      else if (id == int(K::kBrowser))
        assign_text(v, ev.browser);
    }
  }

  simdjson::dom::parser parser_;
  simdjson::dom::parser sub_;  // Sentinel's JSON-in-a-string columns
  // Member order of the last record per object (walk depth 0..3, then the nested objects).
  KeyOrder walk_order_[4], status_order_, geo_order_, device_order_;
  bool error_code_set_ = false;
  bool time_out_of_range_ = false;
  bool props_listed_ = false;
  // Objects with more members are not listed (Sigma then reads the DOM): the lists stay
  // small whatever a hostile record holds.
  static constexpr size_t kMaxListed = 1024;
  bool listed_all_ = true;
  std::string_view time_text_;  // the last time text parsed in this record (DOM strings)
  TimeNs time_value_ = 0;
  bool time_ok_ = false;
  std::string result_text_;
};

int sniff(std::string_view r) {
  if (r.empty() || (r.front() != '{' && r.front() != '[')) return 0;
  int score = 0;
  if (find_ci(r, "signinlogs\"") != std::string_view::npos) score += 60;
  if (find_ci(r, "\"Sign-in activity\"") != std::string_view::npos) score += 30;
  if (find_ci(r, "\"userPrincipalName\"") != std::string_view::npos) score += 10;
  if (find_ci(r, "\"clientAppUsed\"") != std::string_view::npos) score += 20;
  if (find_ci(r, "\"appDisplayName\"") != std::string_view::npos) score += 10;
  if (find_ci(r, "\"createdDateTime\"") != std::string_view::npos) score += 10;
  if (find_ci(r, "\"activityDisplayName\"") != std::string_view::npos) score -= 50;
  if (find_ci(r, "\"RecordType\"") != std::string_view::npos) score -= 50;
  return std::max(0, std::min(score, 100));
}

const Registration<LogSourceApi> reg{{
    .name = "entra_signin",
    .description = "Entra ID sign-ins: Graph signIn, diagnostic export, Sentinel SigninLogs",
    .framing = Framing::kJson,
    .sniff = sniff,
    .make = []() -> std::unique_ptr<LogParser> { return std::make_unique<EntraSigninParser>(); },
}};

}  // namespace
}  // namespace komainu::logs
