// Inbox rules forwarding or redirecting mail to external domains.
#include <algorithm>

#include "logs/model/detector.h"
#include "logs/model/text_util.h"

namespace komainu::logs {
namespace {

const AlertSpec kForward{
    2000050,      "KOMAINU identity inbox rule forwards mail to an external address",
    "Collection", 1,
    "TA0009",     "T1114.003"};
const AlertSpec kHide{
    2000051,           "KOMAINU identity inbox rule hides or deletes incoming mail",
    "Defense Evasion", 3,
    "TA0005",          "T1564.008"};

enum : size_t { kRules, kExternal };
const std::vector<CounterInfo> kCounters = {
    {"mailbox_rules", "inbox rule / forwarding changes seen"},
    {"external_targets", "rules with external targets"}};

std::string domain_of(std::string_view addr) {
  // "smtp:a@b.com", "a@b.com;c@d.com", "[EX:/o=...]"
  auto at = addr.rfind('@');
  if (at == std::string_view::npos) return "";
  std::string d(addr.substr(at + 1));
  while (!d.empty() && (d.back() == ']' || d.back() == '>' || d.back() == ' ' || d.back() == '"'))
    d.pop_back();
  to_lower(d);
  return d;
}

class InboxForward : public IdentityDetector {
 public:
  explicit InboxForward(const YAML::Node& s) : counters_("inbox_forward", kCounters) {
    if (s && s.IsMap() && s["internal_domains"])
      for (const auto& d : s["internal_domains"]) {
        std::string v = d.as<std::string>();
        to_lower(v);
        internal_.push_back(v);
      }
  }

  void on_event(const LogEvent& ev, DetectorContext& ctx) override {
    if (ev.cls != EventClass::kMailboxRule) return;
    ++counters_[kRules];
    std::string own(user_domain(ev.user));
    std::vector<std::string> external;
    std::string_view targets = ev.forward_to;
    size_t p = 0;
    while (p < targets.size()) {
      size_t e = targets.find_first_of(",;", p);
      if (e == std::string_view::npos) e = targets.size();
      std::string_view t = trim(targets.substr(p, e - p));
      std::string d = domain_of(t);
      bool internal = d.empty() || d == own ||
                      std::find(internal_.begin(), internal_.end(), d) != internal_.end() ||
                      (own.size() && d.size() > own.size() && d.ends_with("." + own));
      if (!internal) external.emplace_back(t);
      p = e + 1;
    }
    if (!external.empty()) {
      ++counters_[kExternal];
      AlertDraft d;
      d.spec = &kForward;
      add_entities(d, ev);
      for (const auto& x : external) {
        std::string dom = domain_of(x);
        if (!dom.empty()) d.domains.push_back(dom);
      }
      std::string e;
      JsonWriter w(e);
      w.begin_object();
      w.kv("operation", ev.action);
      w.kv("rule", ev.group);
      w.kv("object", ev.object);
      w.key("external_targets").begin_array();
      for (const auto& x : external) w.value(std::string_view(x));
      w.end_array();
      w.end_object();
      d.evidence_json = std::move(e);
      ctx.raise(d, ev);
      return;
    }
    // Hiding rules: delete or move to an out-of-sight folder, keyed on words.
    if (ev.has_json && hides(ev)) {
      AlertDraft d;
      d.spec = &kHide;
      add_entities(d, ev);
      std::string e;
      JsonWriter w(e);
      w.begin_object();
      w.kv("operation", ev.action);
      w.kv("rule", ev.group);
      w.kv("object", ev.object);
      w.end_object();
      d.evidence_json = std::move(e);
      ctx.raise(d, ev);
    }
  }
  const CounterSet* counters() const override { return &counters_; }

 private:
  static bool hides(const LogEvent& ev) {
    std::string_view raw = ev.raw;
    bool words = find_ci(raw, "SubjectContainsWords") != std::string_view::npos ||
                 find_ci(raw, "BodyContainsWords") != std::string_view::npos ||
                 find_ci(raw, "SubjectOrBodyContainsWords") != std::string_view::npos;
    bool hide = find_ci(raw, "DeleteMessage") != std::string_view::npos ||
                find_ci(raw, "RSS Subscriptions") != std::string_view::npos ||
                find_ci(raw, "RSS Feeds") != std::string_view::npos ||
                find_ci(raw, "Conversation History") != std::string_view::npos ||
                find_ci(raw, "Junk Email") != std::string_view::npos ||
                find_ci(raw, "\"Archive\"") != std::string_view::npos;
    return words && hide;
  }
  std::vector<std::string> internal_;
  CounterSet counters_;
};

const Registration<IdentityDetectorApi> reg{{
    .name = "inbox_forward",
    .description = "inbox rules / mailbox forwarding to external domains; mail-hiding rules",
    .make = [](const YAML::Node& s) -> std::unique_ptr<IdentityDetector> {
      return std::make_unique<InboxForward>(s);
    },
}};

}  // namespace
}  // namespace komainu::logs
