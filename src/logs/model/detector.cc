#include "logs/model/detector.h"

#include <algorithm>
#include <fstream>

#include "logs/model/text_util.h"

namespace komainu::logs {

bool Watchlists::load(const std::string& name, const std::string& path, std::string* error) {
  std::ifstream in(path);
  if (!in) {
    if (error) *error = "watchlist " + name + ": cannot open " + path;
    return false;
  }
  std::string line;
  size_t n = 0;
  while (std::getline(in, line)) {
    std::string_view v = trim(line);
    if (v.empty() || v.front() == '#') continue;
    add(name, std::string(v));
    ++n;
  }
  if (n == 0) {
    // An empty list is allowed but worth knowing: it guards nothing.
    for (auto& [ln, set] : lists_)
      if (ln == name) return true;
    lists_.emplace_back(name, std::unordered_set<std::string>{});
  }
  return true;
}

void Watchlists::add(const std::string& name, std::string account) {
  to_lower(account);
  for (auto& [ln, set] : lists_) {
    if (ln == name) {
      set.insert(std::move(account));
      return;
    }
  }
  lists_.emplace_back(name, std::unordered_set<std::string>{std::move(account)});
}

std::vector<std::string_view> Watchlists::lists_for(std::string_view user) const {
  std::vector<std::string_view> out;
  if (user.empty() || lists_.empty()) return out;
  std::string key(user);
  to_lower(key);
  // Lists may hold bare account names: "ceo" matches "ceo@contoso.com" and "CONTOSO\ceo".
  std::string bare = key;
  if (auto at = bare.find('@'); at != std::string::npos) bare.resize(at);
  if (auto bs = bare.rfind('\\'); bs != std::string::npos) bare.erase(0, bs + 1);
  for (const auto& [ln, set] : lists_)
    if (set.count(key) || set.count(bare)) out.push_back(ln);
  return out;
}

size_t Watchlists::size(const std::string& name) const {
  for (const auto& [ln, set] : lists_)
    if (ln == name) return set.size();
  return 0;
}

void DetectorContext::raise(const AlertDraft& d, const LogEvent& ev) {
  AlertRecord r;
  r.ts = ev.ts;
  r.alert.gid = kIdentityGid;
  r.alert.signature_id = d.spec->sid;
  r.alert.signature = d.spec->signature;
  r.alert.category = d.spec->category;
  r.alert.severity = d.severity ? d.severity : d.spec->severity;
  auto& md = r.alert.metadata;
  md.push_back({"mitre_tactic_id", {d.spec->tactic_id}});
  md.push_back({"mitre_technique_id", {d.spec->technique_id}});
  std::vector<std::string> lists;
  for (const auto& u : d.users)
    for (auto l : watchlists_.lists_for(u))
      if (std::find(lists.begin(), lists.end(), l) == lists.end()) lists.emplace_back(l);
  if (!lists.empty()) {
    r.alert.severity = 1;
    md.push_back({"watchlist", lists});
  }
  std::vector<std::string> domains = d.domains;
  for (const auto& u : d.users) {
    auto dom = user_domain(u);
    if (!dom.empty() && std::find(domains.begin(), domains.end(), dom) == domains.end())
      domains.emplace_back(dom);
  }
  if (!d.users.empty()) md.push_back({"user", d.users});
  if (!d.ips.empty()) md.push_back({"ip", d.ips});
  if (!domains.empty()) md.push_back({"domain", domains});
  if (!d.hosts.empty()) md.push_back({"host", d.hosts});
  md.push_back({"log_kind", {std::string(ev.kind)}});
  if (!d.ips.empty()) r.src_ip = d.ips.front();
  if (!d.evidence_json.empty()) r.extra_json.emplace_back("evidence", d.evidence_json);
  std::string log;
  JsonWriter w(log);
  ev.write_json(w, true);
  r.extra_json.emplace_back("log", std::move(log));
  ++alerts_;
  sink_.publish(r);
}

bool parse_duration(std::string_view s, TimeNs& out) {
  s = trim(s);
  if (s.empty()) return false;
  char unit = s.back();
  TimeNs mul = kNsPerSec;
  if (unit >= '0' && unit <= '9') {
    unit = 's';
  } else {
    s.remove_suffix(1);
  }
  switch (unit) {
    case 's':
      mul = kNsPerSec;
      break;
    case 'm':
      mul = 60 * kNsPerSec;
      break;
    case 'h':
      mul = 3600 * kNsPerSec;
      break;
    case 'd':
      mul = 86400 * kNsPerSec;
      break;
    case 'M':
      mul = 30 * 86400 * kNsPerSec;
      break;
    case 'y':
      mul = 365 * 86400 * kNsPerSec;
      break;
    default:
      return false;
  }
  int64_t v;
  // Bounded to ~100 years so window arithmetic on data times cannot overflow.
  if (!parse_int(s, v) || v < 0 || v > int64_t(100) * 365 * 86400 * kNsPerSec / mul) return false;
  out = v * mul;
  return true;
}

TimeNs setting_duration(const YAML::Node& n, const char* key, TimeNs def) {
  if (!n || !n.IsMap() || !n[key]) return def;
  TimeNs v;
  if (!parse_duration(n[key].as<std::string>(), v))
    throw YAML::ParserException(n[key].Mark(), std::string("bad duration for ") + key);
  return v;
}
int64_t setting_int(const YAML::Node& n, const char* key, int64_t def) {
  if (!n || !n.IsMap() || !n[key]) return def;
  return n[key].as<int64_t>();
}
double setting_double(const YAML::Node& n, const char* key, double def) {
  if (!n || !n.IsMap() || !n[key]) return def;
  return n[key].as<double>();
}
bool setting_bool(const YAML::Node& n, const char* key, bool def) {
  if (!n || !n.IsMap() || !n[key]) return def;
  return n[key].as<bool>();
}

namespace {
void add_unique(std::vector<std::string>& v, std::string_view s) {
  if (s.empty()) return;
  for (const auto& x : v)
    if (x == s) return;
  v.emplace_back(s);
}
}  // namespace

void add_entities(AlertDraft& d, const LogEvent& ev) {
  add_unique(d.users, ev.user);
  add_unique(d.ips, ev.src_ip);
  add_unique(d.hosts, ev.host);
  add_unique(d.hosts, ev.device_name);
}

void write_event_summary(JsonWriter& w, const LogEvent& ev) {
  w.begin_object();
  w.kv("time", format_eve_time(ev.ts));
  if (!ev.user.empty()) w.kv("user", ev.user);
  if (!ev.src_ip.empty()) w.kv("ip", ev.src_ip);
  if (!ev.country.empty()) w.kv("country", ev.country);
  if (!ev.city.empty()) w.kv("city", ev.city);
  if (ev.has_geo) {
    w.kv("lat", ev.lat);
    w.kv("lon", ev.lon);
  }
  if (!ev.result_code.empty()) w.kv("result_code", ev.result_code);
  w.kv("outcome", ev.outcome == Outcome::kSuccess   ? "success"
                  : ev.outcome == Outcome::kFailure ? "failure"
                                                    : "unknown");
  if (!ev.app.empty()) w.kv("app", ev.app);
  if (ev.line) w.kv("line", uint64_t(ev.line));
  w.end_object();
}

std::string ip_range(const LogEvent& ev) {
  if (!ev.ip_valid) return ev.src_ip;
  IpAddr a = ev.ip;
  if (a.is_v4()) {
    a.b[15] = 0;
    return a.str() + "/24";
  }
  for (int i = 6; i < 16; ++i) a.b[i] = 0;
  return a.str() + "/48";
}

std::string_view user_domain(std::string_view user) {
  auto at = user.rfind('@');
  if (at == std::string_view::npos) return {};
  return user.substr(at + 1);
}

}  // namespace komainu::logs
