// Microsoft 365 unified audit records.
#include <simdjson.h>

#include "logs/model/json_util.h"
#include "logs/model/source.h"
#include "logs/model/text_util.h"

namespace komainu::logs {
namespace {

bool is_forward_param(std::string_view n) {
  return iequals(n, "ForwardTo") || iequals(n, "ForwardAsAttachmentTo") ||
         iequals(n, "RedirectTo") || iequals(n, "ForwardingSmtpAddress") ||
         iequals(n, "ForwardingAddress");
}

class M365Parser : public LogParser {
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
    ev.kind = "m365_audit";
    ev.product = "m365";
    ev.service = "audit";
    ev.raw_is_json = true;
    ev.json = doc.value_unsafe();
    ev.has_json = true;
    std::string_view client_ip, client_ip2;
    std::string status;
    bool out_of_range = false;
    char buf[64];
    for (auto [key, v] : root) {
      std::string_view k = fold_key(key, buf);
      if (k == "creationtime" || k == "start_time") {
        TimeNs t;
        if (v.is_string() && parse_any_time(v.get_string().value_unsafe(), t, &out_of_range))
          ev.ts = t;
      } else if (k == "timegenerated") {
        if (ev.ts == 0 && v.is_string())
          parse_any_time(v.get_string().value_unsafe(), ev.ts, &out_of_range);
      } else if (k == "operation") {
        assign_text(v, ev.action);
      } else if (k == "recordtype") {
        assign_text(v, ev.category);
      } else if (k == "workload" || k == "officeworkload") {
        assign_text(v, ev.workload);
      } else if (k == "userid" || k == "userid_") {
        if (ev.user.empty()) assign_text(v, ev.user);
      } else if (k == "clientip" || k == "actoripaddress") {
        if (v.is_string() && client_ip.empty()) client_ip = v.get_string().value_unsafe();
      } else if (k == "clientipaddress" || k == "client_ipaddress") {
        if (v.is_string()) client_ip2 = v.get_string().value_unsafe();
      } else if (k == "objectid" || k == "officeobjectid") {
        assign_text(v, ev.object);
      } else if (k == "resultstatus") {
        scalar_text(v, status);
      } else if (k == "useragent") {
        assign_text(v, ev.user_agent);
      } else if (k == "clientinfostring") {
        if (ev.user_agent.empty()) assign_text(v, ev.user_agent);
      } else if (k == "operationcount") {
        std::string t;
        int64_t n;
        if (scalar_text(v, t) && parse_int(t, n) && n > 0) ev.count = n;
      } else if (k == "appid" || k == "applicationid" || k == "clientappid") {
        if (ev.app_id.empty()) assign_text(v, ev.app_id);
      } else if (k == "sourcefilename") {
        if (ev.object.empty()) assign_text(v, ev.object);
      } else if (k == "mailboxownerupn") {
        assign_text(v, ev.target_user);
      } else if (k == "sessionid") {
        assign_text(v, ev.session_id);
      } else if (k == "logonerror") {
        assign_text(v, ev.failure_reason);
      } else if (k == "parameters") {
        simdjson::dom::element e;
        if (parse_embedded(sub_, v, e) && e.is_array()) {
          simdjson::dom::array arr = e.get_array().value_unsafe();
          for (simdjson::dom::element p : arr) {
            if (!p.is_object()) continue;
            simdjson::dom::object po = p.get_object().value_unsafe();
            auto n = get_ci(po, "Name");
            auto val = get_ci(po, "Value");
            if (n.error() || val.error() || !n.value_unsafe().is_string()) continue;
            std::string_view name = n.value_unsafe().get_string().value_unsafe();
            if (is_forward_param(name)) {
              std::string t;
              scalar_text(val.value_unsafe(), t);
              if (t.empty()) continue;
              if (!ev.forward_to.empty()) ev.forward_to += ',';
              ev.forward_to += t;
            } else if (iequals(name, "Name") && ev.group.empty()) {
              assign_text(val.value_unsafe(), ev.group);  // the rule's name
            }
          }
        }
      }
    }
    if (ev.action.empty() && ev.category.empty()) {
      *reason = "not_an_audit_record";  // e.g. collector metadata lines between records
      return false;
    }
    if (ev.ts == 0) {
      *reason = out_of_range ? "time_out_of_range" : "missing_time";
      return false;
    }
    if (!client_ip.empty())
      set_ip(ev, client_ip);
    else if (!client_ip2.empty())
      set_ip(ev, client_ip2);
    if (!ev.src_ip.empty() && !ev.ip_valid) ev.src_ip.clear();  // "sanitized", "<null>"
    ev.result_code = status;
    if (iequals(status, "Succeeded") || iequals(status, "Success") || iequals(status, "true") ||
        iequals(status, "PartiallySucceeded"))
      ev.outcome = Outcome::kSuccess;
    else if (iequals(status, "Failed") || iequals(status, "false") || iequals(status, "failure"))
      ev.outcome = Outcome::kFailure;
    const std::string& op = ev.action;
    if (op == "FileDownloaded" || op == "FileSyncDownloadedFull" ||
        op == "FileSyncDownloadedPartial" || op == "FileAccessed" || op == "FilePreviewed" ||
        op == "FileUploaded" || op == "FileDeleted" || op == "FileModified" || op == "FileCopied") {
      ev.cls = EventClass::kFileAccess;
    } else if (op == "MailItemsAccessed") {
      ev.cls = EventClass::kMailAccess;
    } else if (op == "New-InboxRule" || op == "Set-InboxRule" || op == "UpdateInboxRules" ||
               op == "Set-Mailbox" || op == "New-TransportRule") {
      ev.cls = EventClass::kMailboxRule;
    } else if (op == "UserLoggedIn" || op == "UserLoginFailed" ||
               op == "PasswordLogonInitialAuthUsingPassword") {
      ev.cls = EventClass::kSignIn;
      if (op == "UserLoginFailed") ev.outcome = Outcome::kFailure;
    } else if (!op.empty() && (op.find('-') != std::string::npos)) {
      ev.cls = EventClass::kAdmin;  // Exchange cmdlets
    }
    to_lower(ev.user);
    to_lower(ev.target_user);
    return true;
  }

 private:
  simdjson::dom::parser parser_, sub_;
};

int sniff(std::string_view r) {
  if (r.empty() || (r.front() != '{' && r.front() != '[')) return 0;
  int s = 0;
  if (find_ci(r, "\"RecordType\"") != std::string_view::npos) s += 40;
  if (find_ci(r, "\"Operation\"") != std::string_view::npos) s += 20;
  if (find_ci(r, "\"OfficeActivity\"") != std::string_view::npos) s += 40;
  if (find_ci(r, "\"OfficeWorkload\"") != std::string_view::npos) s += 30;
  if (find_ci(r, "\"Workload\"") != std::string_view::npos) s += 20;
  if (find_ci(r, "\"CreationTime\"") != std::string_view::npos) s += 10;
  return std::min(s, 100);
}

const Registration<LogSourceApi> reg{{
    .name = "m365_audit",
    .description = "Microsoft 365 unified audit: Management Activity API, Sentinel OfficeActivity",
    .framing = Framing::kJson,
    .sniff = sniff,
    .make = []() -> std::unique_ptr<LogParser> { return std::make_unique<M365Parser>(); },
}};

}  // namespace
}  // namespace komainu::logs
