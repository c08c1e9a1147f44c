// Entra audit records in their three shapes.
#include <simdjson.h>

#include "logs/model/json_util.h"
#include "logs/model/source.h"
#include "logs/model/text_util.h"

namespace komainu::logs {
namespace {

class EntraAuditParser : public LogParser {
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
    ev.kind = "entra_audit";
    ev.product = "azure";
    ev.service = "auditlogs";
    ev.cls = EventClass::kAudit;
    ev.raw_is_json = true;
    ev.json = doc.value_unsafe();
    ev.has_json = true;
    time_out_of_range_ = false;
    walk(root, ev, 0);
    if (ev.ts == 0) {
      *reason = time_out_of_range_ ? "time_out_of_range" : "missing_time";
      return false;
    }
    to_lower(ev.user);
    to_lower(ev.target_user);
    return true;
  }

 private:
  void walk(simdjson::dom::object o, LogEvent& ev, int depth) {
    char buf[64];
    for (auto [key, v] : o) {
      std::string_view k = fold_key(key, buf);
      if (k == "activitydatetime") {
        TimeNs t;
        if (v.is_string() && parse_any_time(v.get_string().value_unsafe(), t, &time_out_of_range_))
          ev.ts = t;
      } else if (k == "time" || k == "timegenerated") {
        if (ev.ts == 0 && v.is_string())
          parse_any_time(v.get_string().value_unsafe(), ev.ts, &time_out_of_range_);
      } else if (k == "activitydisplayname") {
        assign_text(v, ev.action);
      } else if (k == "operationname") {
        if (ev.action.empty()) assign_text(v, ev.action);
      } else if (k == "category") {
        if (depth > 0 || ev.category.empty()) assign_text(v, ev.category);
      } else if (k == "result") {
        std::string r;
        scalar_text(v, r);
        if (iequals(r, "success"))
          ev.outcome = Outcome::kSuccess;
        else if (!r.empty())
          ev.outcome = Outcome::kFailure;
        ev.result_code = r;
      } else if (k == "resultreason") {
        assign_text(v, ev.failure_reason);
      } else if (k == "loggedbyservice") {
        assign_text(v, ev.app);
      } else if (k == "calleripaddress") {
        if (ev.src_ip.empty() && v.is_string()) set_ip(ev, v.get_string().value_unsafe());
      } else if (k == "correlationid") {
        assign_text(v, ev.session_id);
      } else if (k == "useragent") {
        assign_text(v, ev.user_agent);
      } else if (k == "properties" && v.is_object() && depth < 2) {
        simdjson::dom::object p = v.get_object().value_unsafe();
        walk(p, ev, depth + 1);
      } else if (k == "initiatedby") {
        simdjson::dom::element e;
        if (parse_embedded(sub_, v, e) && e.is_object()) {
          simdjson::dom::object io = e.get_object().value_unsafe();
          initiator(io, ev);
        }
      } else if (k == "targetresources") {
        simdjson::dom::element e;
        if (parse_embedded(sub2_, v, e) && e.is_array()) {
          simdjson::dom::array arr = e.get_array().value_unsafe();
          for (simdjson::dom::element t : arr) {
            if (!t.is_object()) continue;
            simdjson::dom::object to = t.get_object().value_unsafe();
            auto dn = get_ci(to, "displayName");
            auto upn = get_ci(to, "userPrincipalName");
            if (!dn.error()) assign_text(dn.value_unsafe(), ev.object);
            if (!upn.error()) assign_text(upn.value_unsafe(), ev.target_user);
            break;
          }
        }
      }
    }
  }

  void initiator(simdjson::dom::object o, LogEvent& ev) {
    auto user = get_ci(o, "user");
    if (!user.error() && user.value_unsafe().is_object()) {
      simdjson::dom::object u = user.value_unsafe().get_object().value_unsafe();
      auto upn = get_ci(u, "userPrincipalName");
      if (!upn.error()) assign_text(upn.value_unsafe(), ev.user);
      auto id = get_ci(u, "id");
      if (!id.error()) assign_text(id.value_unsafe(), ev.user_id);
      auto ip = get_ci(u, "ipAddress");
      if (!ip.error() && ip.value_unsafe().is_string() &&
          !ip.value_unsafe().get_string().value_unsafe().empty())
        set_ip(ev, ip.value_unsafe().get_string().value_unsafe());
    }
    auto app = get_ci(o, "app");
    if (!app.error() && app.value_unsafe().is_object()) {
      simdjson::dom::object a = app.value_unsafe().get_object().value_unsafe();
      auto dn = get_ci(a, "displayName");
      if (!dn.error()) assign_text(dn.value_unsafe(), ev.user_display);
      auto sp = get_ci(a, "servicePrincipalName");
      if (ev.user_display.empty() && !sp.error()) assign_text(sp.value_unsafe(), ev.user_display);
      auto id = get_ci(a, "appId");
      if (!id.error()) assign_text(id.value_unsafe(), ev.app_id);
    }
  }

  simdjson::dom::parser parser_, sub_, sub2_;
  bool time_out_of_range_ = false;
};

int sniff(std::string_view r) {
  if (r.empty() || (r.front() != '{' && r.front() != '[')) return 0;
  int s = 0;
  if (find_ci(r, "\"activityDisplayName\"") != std::string_view::npos) s += 50;
  if (find_ci(r, "\"initiatedBy\"") != std::string_view::npos) s += 30;
  if (find_ci(r, "\"AuditLogs\"") != std::string_view::npos) s += 30;
  if (find_ci(r, "directoryAudits") != std::string_view::npos) s += 30;
  if (find_ci(r, "\"loggedByService\"") != std::string_view::npos) s += 10;
  return std::min(s, 100);
}

const Registration<LogSourceApi> reg{{
    .name = "entra_audit",
    .description = "Entra ID audit: Graph directoryAudit, diagnostic export, Sentinel AuditLogs",
    .framing = Framing::kJson,
    .sniff = sniff,
    .make = []() -> std::unique_ptr<LogParser> { return std::make_unique<EntraAuditParser>(); },
}};

}  // namespace
}  // namespace komainu::logs
