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

AccountTable::AccountTable(size_t cap, TimeNs idle) : cap_(std::max<size_t>(cap, 1)), idle_(idle) {
  table_.resize(64);
}

uint32_t AccountTable::lookup(std::string_view key, uint64_t h, size_t& pos) const {
  size_t mask = table_.size() - 1;
  for (pos = size_t(h) & mask;; pos = (pos + 1) & mask) {
    const Bucket& b = table_[pos];
    if (b.idx == kEmpty) return kEmpty;
    if (b.hash == h && entries_[b.idx].key() == key) return b.idx;
  }
}

AccountRef AccountTable::intern(std::string_view key, TimeNs now) {
  uint64_t h = key_hash(key);
  size_t pos;
  uint32_t idx = lookup(key, h, pos);
  if (idx == kEmpty) {
    if (live_ >= cap_) {
      evict(now);
      lookup(key, h, pos);  // the table was rebuilt: find the free position again
    }
    if (!free_.empty()) {
      idx = free_.back();
      free_.pop_back();
    } else {
      idx = uint32_t(entries_.size());
      entries_.emplace_back();
    }
    Entry& e = entries_[idx];
    e.key_len = uint32_t(key.size());
    if (key.size() <= kInline)
      memcpy(e.key_inline, key.data(), key.size());
    else
      e.key_heap.assign(key);
    e.hash = h;
    e.live = true;
    ++e.gen;  // a reused id is a new account to the detectors' AccountMaps
    table_[pos] = Bucket{h, idx};
    ++live_;
    if (live_ * 2 > table_.size()) rebuild(table_.size() * 2);
  }
  Entry& e = entries_[idx];
  e.last = now;
  return AccountRef{idx, e.gen};
}

void AccountTable::rebuild(size_t buckets) {
  table_.assign(buckets, Bucket{});
  size_t mask = buckets - 1;
  for (uint32_t i = 0; i < entries_.size(); ++i) {
    if (!entries_[i].live) continue;
    size_t pos = size_t(entries_[i].hash) & mask;
    while (table_[pos].idx != kEmpty) pos = (pos + 1) & mask;
    table_[pos] = Bucket{entries_[i].hash, i};
  }
}

void AccountTable::evict(TimeNs now) {
  auto kill = [&](uint32_t i) {
    entries_[i].live = false;
    entries_[i].key_heap.clear();
    free_.push_back(i);
    --live_;
    ++evictions_;
  };
  for (uint32_t i = 0; i < entries_.size(); ++i)
    if (entries_[i].live && now - entries_[i].last > idle_) kill(i);
  if (live_ >= cap_ && live_ > 0) {
    std::vector<TimeNs> lasts;
    lasts.reserve(live_);
    for (const Entry& e : entries_)
      if (e.live) lasts.push_back(e.last);
    size_t nth = lasts.size() / 8;
    std::nth_element(lasts.begin(), lasts.begin() + nth, lasts.end());
    TimeNs cut = lasts[nth];
    for (uint32_t i = 0; i < entries_.size(); ++i)
      if (entries_[i].live && entries_[i].last <= cut) kill(i);
  }
  rebuild(table_.size());
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
