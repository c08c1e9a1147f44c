// Password spray and brute force over sliding data-time windows.
#include <algorithm>
#include <deque>

#include "logs/model/detector.h"

namespace komainu::logs {
namespace {

const AlertSpec kSpray{
    2000001,    "KOMAINU identity password spray from one source", "Credential Access", 2, "TA0006",
    "T1110.003"};
const AlertSpec kBrute{2000002,
                       "KOMAINU identity brute force against one account",
                       "Credential Access",
                       2,
                       "TA0006",
                       "T1110.001"};
const AlertSpec kValidated{2000003,
                           "KOMAINU identity password spray validated a credential",
                           "Credential Access",
                           1,
                           "TA0006",
                           "T1110.003"};
const AlertSpec kAfter{2000004,
                       "KOMAINU identity sign-in success after repeated failures",
                       "Credential Access",
                       2,
                       "TA0006",
                       "T1110"};

struct Config {
  TimeNs window, validated_window;
  int64_t spray_min_users, brute_min, after_min, max_sources, max_accounts;
};

// Failures in the window, oldest first: a vector with a moving head. A state allocates
// nothing until its first failure (a std::deque allocates ~600 bytes up front, for each
// of the thousands of accounts and sources that have a state).
class FailWindow {
 public:
  using Item = std::pair<TimeNs, std::string>;
  bool empty() const { return head_ == items_.size(); }
  size_t size() const { return items_.size() - head_; }
  const Item& front() const { return items_[head_]; }
  void pop_front() {
    if (++head_ == items_.size()) {
      clear();
    } else if (head_ >= 32 && head_ * 2 >= items_.size()) {
      items_.erase(items_.begin(), items_.begin() + std::ptrdiff_t(head_));
      head_ = 0;
    }
  }
  void emplace_back(TimeNs t, const std::string& s) { items_.emplace_back(t, s); }
  void clear() {
    items_.clear();
    head_ = 0;
  }
  std::vector<Item>::const_iterator begin() const { return items_.begin() + std::ptrdiff_t(head_); }
  std::vector<Item>::const_iterator end() const { return items_.end(); }

 private:
  std::vector<Item> items_;
  size_t head_ = 0;
};

struct SourceState {
  FailWindow fails;                        // time, user
  TimeNs alerted_at = kNever;              // last spray alert
  std::vector<std::string> sprayed_users;  // evidence of the last spray
};

struct AccountState {
  FailWindow fails;  // time, source ip
  TimeNs alerted_at = kNever;
};

enum : size_t { kTrackedSources, kTrackedAccounts, kEvictions, kCredentialFailures };
const std::vector<CounterInfo> kCounters = {
    {"tracked_sources", "source IPs with recent failures"},
    {"tracked_accounts", "accounts with recent failures"},
    {"evictions", "per-source/account states evicted by the caps"},
    {"credential_failures", "credential failures seen"}};

class PasswordSpray : public IdentityDetector {
 public:
  explicit PasswordSpray(const Config& c)
      : c_(c),
        sources_(size_t(c.max_sources), std::max(c.window, c.validated_window) * 2),
        accounts_(size_t(c.max_accounts), c.window * 2),
        counters_("password_spray", kCounters) {}

  void on_event(const LogEvent& ev, DetectorContext& ctx) override {
    if (ev.cls != EventClass::kSignIn || ev.user.empty()) return;
    if (is_credential_failure(ev)) {
      ++counters_[kCredentialFailures];
      failure(ev, ctx);
    } else if (ev.outcome == Outcome::kSuccess) {
      success(ev, ctx);
    }
    counters_[kTrackedSources] = sources_.size();
    counters_[kTrackedAccounts] = accounts_.size();
    counters_[kEvictions] = sources_.evictions() + accounts_.evictions();
  }
  const CounterSet* counters() const override { return &counters_; }

 private:
  template <typename D>
  void expire(D& dq, TimeNs now) {
    while (!dq.empty() && now - dq.front().first > c_.window) dq.pop_front();
  }

  void failure(const LogEvent& ev, DetectorContext& ctx) {
    if (!ev.src_ip.empty()) {
      SourceState& s = sources_.touch(ev.src_ip, ev.ts);
      expire(s.fails, ev.ts);
      if (s.fails.size() < 10000) s.fails.emplace_back(ev.ts, ev.user);
      std::vector<std::string> users;
      for (auto& [t, u] : s.fails)
        if (std::find(users.begin(), users.end(), u) == users.end()) users.push_back(u);
      if (int64_t(users.size()) >= c_.spray_min_users && ev.ts - s.alerted_at > c_.window) {
        s.alerted_at = ev.ts;
        any_spray_ = true;
        s.sprayed_users = users;
        AlertDraft d;
        d.spec = &kSpray;
        d.ips.push_back(ev.src_ip);
        std::string e;
        JsonWriter w(e);
        w.begin_object();
        w.kv("source_ip", ev.src_ip);
        w.kv("distinct_accounts", uint64_t(users.size()));
        w.kv("failures", uint64_t(s.fails.size()));
        w.kv("window_s", int64_t(c_.window / kNsPerSec));
        w.kv("first", format_eve_time(s.fails.front().first));
        w.key("accounts").begin_array();
        for (size_t i = 0; i < users.size() && i < 50; ++i) w.value(std::string_view(users[i]));
        w.end_array();
        w.end_object();
        d.evidence_json = std::move(e);
        // Accounts sprayed are entities too, so watchlisted targets raise the severity.
        for (size_t i = 0; i < users.size() && i < 50; ++i) d.users.push_back(users[i]);
        ctx.raise(d, ev);
      }
    }
    AccountState& a = accounts_.touch(ctx.account(ev), ev.ts);
    expire(a.fails, ev.ts);
    if (a.fails.size() < 10000) a.fails.emplace_back(ev.ts, ev.src_ip);
    if (int64_t(a.fails.size()) >= c_.brute_min && ev.ts - a.alerted_at > c_.window) {
      a.alerted_at = ev.ts;
      AlertDraft d;
      d.spec = &kBrute;
      d.users.push_back(ev.user);
      std::vector<std::string> ips;
      for (auto& [t, ip] : a.fails)
        if (!ip.empty() && std::find(ips.begin(), ips.end(), ip) == ips.end()) ips.push_back(ip);
      d.ips = ips;
      if (d.ips.size() > 20) d.ips.resize(20);
      std::string e;
      JsonWriter w(e);
      w.begin_object();
      w.kv("account", ev.user);
      w.kv("failures", uint64_t(a.fails.size()));
      w.kv("distinct_sources", uint64_t(ips.size()));
      w.kv("window_s", int64_t(c_.window / kNsPerSec));
      w.kv("first", format_eve_time(a.fails.front().first));
      w.end_object();
      d.evidence_json = std::move(e);
      ctx.raise(d, ev);
    }
  }

  void success(const LogEvent& ev, DetectorContext& ctx) {
    // Until a spray has been raised no source can validate one: skip the lookup.
    if (any_spray_ && !ev.src_ip.empty()) {
      if (SourceState* s = sources_.find(ev.src_ip);
          s && s->alerted_at != kNever && ev.ts - s->alerted_at <= c_.validated_window) {
        AlertDraft d;
        d.spec = &kValidated;
        add_entities(d, ev);
        std::string e;
        JsonWriter w(e);
        w.begin_object();
        w.kv("source_ip", ev.src_ip);
        w.kv("validated_account", ev.user);
        w.kv("spray_alerted_at", format_eve_time(s->alerted_at));
        w.kv("sprayed_accounts", uint64_t(s->sprayed_users.size()));
        w.key("success");
        write_event_summary(w, ev);
        w.end_object();
        d.evidence_json = std::move(e);
        ctx.raise(d, ev);
      }
    }
    AccountState* a = accounts_.find(ctx.account(ev));
    if (!a) return;
    expire(a->fails, ev.ts);
    if (int64_t(a->fails.size()) >= c_.after_min) {
      AlertDraft d;
      d.spec = &kAfter;
      add_entities(d, ev);
      std::string e;
      JsonWriter w(e);
      w.begin_object();
      w.kv("account", ev.user);
      w.kv("failures_before", uint64_t(a->fails.size()));
      w.kv("first_failure", format_eve_time(a->fails.front().first));
      w.key("failure_sources").begin_array();
      std::vector<std::string> ips;
      for (auto& [t, ip] : a->fails)
        if (!ip.empty() && std::find(ips.begin(), ips.end(), ip) == ips.end()) ips.push_back(ip);
      for (size_t i = 0; i < ips.size() && i < 20; ++i) w.value(std::string_view(ips[i]));
      w.end_array();
      w.key("success");
      write_event_summary(w, ev);
      w.end_object();
      d.evidence_json = std::move(e);
      ctx.raise(d, ev);
    }
    a->fails.clear();
  }

  Config c_;
  bool any_spray_ = false;
  BoundedMap<SourceState> sources_;
  AccountMap<AccountState> accounts_;
  CounterSet counters_;
};

std::unique_ptr<IdentityDetector> make(const YAML::Node& s) {
  Config c;
  c.window = setting_duration(s, "window", 10 * 60 * kNsPerSec);
  c.validated_window = setting_duration(s, "validated_window", 3600 * kNsPerSec);
  c.spray_min_users = setting_int(s, "spray_min_users", 10);
  c.brute_min = setting_int(s, "bruteforce_min_failures", 10);
  c.after_min = setting_int(s, "success_after_min_failures", 5);
  c.max_sources = setting_int(s, "max_sources", 100000);
  c.max_accounts = setting_int(s, "max_accounts", 200000);
  return std::make_unique<PasswordSpray>(c);
}

const Registration<IdentityDetectorApi> reg{{
    .name = "password_spray",
    .description = "password spray, brute force, validated spray, success after failures",
    .make = make,
}};

}  // namespace
}  // namespace komainu::logs
