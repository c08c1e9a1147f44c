#include "detect/signatures/ruleset.h"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>

#include "analyzers/analyzer.h"
#include "core/json.h"
#include "detect/signatures/inspect.h"

namespace komainu::sig {

const char* action_name(Action a) {
  switch (a) {
    case Action::kPass:
      return "pass";
    case Action::kDrop:
      return "drop";
    case Action::kReject:
      return "reject";
    case Action::kAlert:
      return "alert";
  }
  return "alert";
}

namespace {

struct ProtoInfo {
  std::string_view name;
  uint8_t ip_proto;  // 0 any
  std::string_view app;
  bool v4 = false, v6 = false;
};

// Header protocols. App-layer names imply their transport where it is fixed.
constexpr ProtoInfo kProtos[] = {
    {"ip", 0, ""},
    {"pkthdr", 0, ""},
    {"ipv4", 0, "", true},
    {"ip4", 0, "", true},
    {"ipv6", 0, "", false, true},
    {"ip6", 0, "", false, true},
    {"tcp", 6, ""},
    {"tcp-pkt", 6, ""},
    {"tcp-stream", 6, ""},
    {"udp", 17, ""},
    {"icmp", 0, ""},
    {"icmpv4", 1, ""},
    {"icmpv6", 58, ""},
    {"sctp", 132, ""},
    {"igmp", 2, ""},
    {"http", 6, "http"},
    {"http1", 6, "http"},
    {"http2", 6, "http2"},
    {"ftp", 6, "ftp"},
    {"ftp-data", 6, "ftp-data"},
    {"smtp", 6, "smtp"},
    {"tls", 6, "tls"},
    {"ssl", 6, "tls"},
    {"ssh", 6, "ssh"},
    {"dns", 0, "dns"},
    {"smb", 6, "smb"},
    {"dcerpc", 0, "dcerpc"},
    {"nfs", 0, "nfs"},
    {"tftp", 17, "tftp"},
    {"krb5", 0, "krb5"},
    {"dhcp", 17, "dhcp"},
    {"ike", 17, "ike"},
    {"ikev2", 17, "ike"},
    {"snmp", 17, "snmp"},
    {"sip", 0, "sip"},
    {"rfb", 6, "rfb"},
    {"mqtt", 6, "mqtt"},
    {"rdp", 6, "rdp"},
    {"modbus", 6, "modbus"},
    {"dnp3", 6, "dnp3"},
    {"enip", 0, "enip"},
    {"ntp", 17, "ntp"},
    {"imap", 6, "imap"},
    {"pop3", 6, "pop3"},
    {"quic", 17, "quic"},
    {"ldap", 0, "ldap"},
    {"pgsql", 6, "pgsql"},
    {"telnet", 6, "telnet"},
    {"websocket", 6, "websocket"},
    {"bittorrent-dht", 17, "bittorrent-dht"},
    {"mdns", 17, "mdns"},
    {"doh2", 6, "doh2"},
    {"irc", 6, "irc"},
};

const ProtoInfo* find_proto(std::string_view name) {
  for (const auto& p : kProtos)
    if (p.name == name) return &p;
  return nullptr;
}

// App-layer protocols (Suricata's names) served by an analyzer: those of the signature
// engine's own buffer providers (app_*.cc, always linked with it) plus every analyzer
// registered in the program (src/analyzers). A rule that needs another protocol could never
// match, so it is reported as unsupported (protocol named) rather than loaded to sit idle.
constexpr std::string_view kProviderProtos[] = {"http", "tls", "ssh", "dns", "smb"};

bool analyzed(std::string_view app) {
  for (auto p : kProviderProtos)
    if (p == app) return true;
  for (const AnalyzerApi* a : Registry<AnalyzerApi>::all())
    if (app == a->name || app == a->eve_name || app_proto_matches(app, a->name)) return true;
  return false;
}

// The app-layer protocol a rule needs that no analyzer serves ("" when none): from the header
// or a buffer (sig.app_proto), a non-negated app-layer-protocol, or an app-layer-event's
// "proto." prefix. Names that are not protocols (app-layer-protocol:failed, decoder.*
// events) never count.
std::string_view missing_analyzer(const Signature& s) {
  auto absent = [](std::string_view name) -> std::string_view {
    const ProtoInfo* p = find_proto(name);
    return p && !p->app.empty() && !analyzed(p->app) ? p->app : std::string_view{};
  };
  if (!s.app_proto.empty() && !analyzed(s.app_proto)) return s.app_proto;
  for (const auto& c : s.app_protos)
    if (!c.negated)
      if (auto a = absent(c.proto); !a.empty()) return a;
  for (const auto& e : s.app_events) {
    auto dot = e.event.find('.');
    if (dot == std::string::npos) continue;
    if (auto a = absent(std::string_view(e.event).substr(0, dot)); !a.empty()) return a;
  }
  return {};
}

// Next whitespace-separated header token; brackets may hold blanks ("[1.2.3.4, 5.6.7.8]").
std::string_view next_token(std::string_view& s) {
  s = trim(s);
  int level = 0;
  size_t i = 0;
  for (; i < s.size(); ++i) {
    char c = s[i];
    if (c == '[') ++level;
    if (c == ']') --level;
    if (level <= 0 && (c == ' ' || c == '\t' || c == '(')) break;
  }
  auto tok = s.substr(0, i);
  s = s.substr(i);
  return tok;
}

// Suricata's pattern strength: distinct letters 3, other printable (and 0x00/0x01/0xff) 4,
// other bytes 6, repeats 1. It breaks ties between equally long fast-pattern candidates.
uint32_t pattern_strength(std::string_view p) {
  bool seen[256] = {};
  uint32_t s = 0;
  for (unsigned char c : p) {
    if (seen[c]) {
      ++s;
      continue;
    }
    seen[c] = true;
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
      s += 3;
    else if ((c >= 0x20 && c < 0x7f) || c == 0 || c == 1 || c == 0xff)
      s += 4;
    else
      s += 6;
  }
  return s;
}

bool same_transforms(const BufferList& a, const BufferList& b) {
  return a.buffer == b.buffer && a.transforms == b.transforms && a.base64_data_at < 0 &&
         b.base64_data_at < 0;
}

// After all options: merge lists of the same buffer, lowercase nocase patterns, pick the
// fast pattern, fill priority from the classtype.
bool finalize(Signature& s, const Classifications* classes, std::string& err) {
  std::vector<BufferList> merged;
  for (auto& l : s.lists) {
    if (l.items.empty()) continue;
    auto it = std::find_if(merged.begin(), merged.end(),
                           [&](const BufferList& m) { return same_transforms(m, l); });
    if (it == merged.end()) {
      merged.push_back(std::move(l));
    } else {
      for (auto& item : l.items) it->items.push_back(std::move(item));
    }
  }
  s.lists = std::move(merged);

  for (auto& l : s.lists)
    for (auto& item : l.items)
      if (auto* c = std::get_if<Content>(&item)) {
        if (c->pattern.empty()) {
          err = "empty content";
          return false;
        }
        if (c->nocase)
          for (auto& ch : c->pattern) ch = static_cast<char>(std::tolower((unsigned char)ch));
      }

  // Fast pattern, as Suricata documents it: an explicit fast_pattern wins; else among the
  // contents of the highest-priority buffers (app-layer buffers over the payload, the
  // payload over http.method) the longest, then the strongest by pattern strength. Negated
  // contents count only when the rule has no positive one.
  static const int kMethod = buffer_id("http.method");
  auto priority = [](uint16_t buf) { return buf == 0 ? 2 : buf == kMethod ? 3 : 1; };
  bool any_positive = false;
  for (const auto& l : s.lists)
    for (const auto& item : l.items)
      if (const auto* c = std::get_if<Content>(&item); c && !c->negated) any_positive = true;
  int best_l = -1, best_i = -1, best_prio = 99;
  uint32_t best_strength = 0;
  size_t best_len = 0;
  for (size_t li = 0; li < s.lists.size(); ++li) {
    const auto& l = s.lists[li];
    for (size_t ii = 0; ii < l.items.size(); ++ii) {
      const auto* c = std::get_if<Content>(&l.items[ii]);
      if (!c) continue;
      if (l.base64_data_at >= 0 && int(ii) >= l.base64_data_at) continue;
      if (c->fast_pattern) {
        best_l = int(li);
        best_i = int(ii);
        goto done;
      }
      if (c->negated && any_positive) continue;
      int prio = priority(l.buffer);
      uint32_t st = pattern_strength(c->pattern);
      size_t len = c->pattern.size();
      if (best_l < 0 || prio < best_prio ||
          (prio == best_prio && (len > best_len || (len == best_len && st > best_strength)))) {
        best_l = int(li);
        best_i = int(ii);
        best_prio = prio;
        best_strength = st;
        best_len = len;
      }
    }
  }
done:
  // A negated fast pattern cannot prefilter: such a rule is inspected for every packet.
  if (best_l >= 0 && std::get<Content>(s.lists[best_l].items[best_i]).negated) best_l = -1;
  s.fp_list = best_l;
  s.fp_item = best_l >= 0 ? best_i : -1;

  if (!s.classtype.empty() && classes) {
    const auto* e = classes->find(s.classtype);
    if (!e) {
      err = "unknown classtype '" + s.classtype + "'";
      return false;
    }
    s.class_description = e->description;
    if (!s.priority_set) s.priority = e->priority;
  }
  if (s.sid == 0) {
    err = "rule has no sid";
    return false;
  }
  s.src_set = IpRanges::compile(s.src);
  s.dst_set = IpRanges::compile(s.dst);
  if (!s.flowbit_checks.empty() || !s.flowbit_actions.empty() || !s.flowints.empty())
    s.has_flow = true;
  return true;
}

}  // namespace

bool app_proto_matches(std::string_view rule, std::string_view flow) {
  if (rule == flow) return true;
  if (rule == "tls") return flow == "ssl";
  if (rule == "krb5") return flow == "krb";
  // "http" is either HTTP version; "http1" only HTTP/1 (which analyzers call "http").
  if (rule == "http") return flow == "http1" || flow == "http2";
  if (rule == "http1") return flow == "http";
  if (rule == "ike") return flow == "ikev2";
  return false;
}

RuleLoader::RuleLoader(RuleVars vars, Classifications classes) : vars_(std::move(vars)) {
  set_.classes = std::move(classes);
}

ParseOutcome RuleLoader::parse_rule(std::string_view text, const std::string& file, int line,
                                    Signature& s, std::string& err, std::string& unsupported) {
  s = Signature{};
  s.file = file;
  s.line = line;
  s.text = std::string(trim(text));
  std::string_view rest = trim(text);

  auto action = next_token(rest);
  if (action == "alert") {
    s.action = Action::kAlert;
  } else if (action == "pass") {
    s.action = Action::kPass;
  } else if (action == "drop") {
    s.action = Action::kDrop;
  } else if (action == "reject" || action == "rejectsrc" || action == "rejectdst" ||
             action == "rejectboth") {
    s.action = Action::kReject;
  } else if (action == "config") {
    s.action = Action::kAlert;
    s.noalert = true;  // config rules change logging, they never alert
  } else {
    err = "unknown action '" + std::string(action) + "'";
    return ParseOutcome::kError;
  }
  s.action_text = std::string(action);

  auto proto = next_token(rest);
  const ProtoInfo* pi = find_proto(proto);
  if (!pi) {
    err = "unknown protocol '" + std::string(proto) + "'";
    return ParseOutcome::kError;
  }
  s.proto_text = std::string(proto);
  s.ip_proto = pi->ip_proto;
  s.app_proto = std::string(pi->app);
  s.ipv4_only = pi->v4;
  s.ipv6_only = pi->v6;
  if (proto == "icmp") {
    s.ip_proto = 1;
    s.icmp_both = true;
  }
  if (proto == "tcp-pkt") {
    s.flow.no_stream = true;
  } else if (proto == "tcp-stream") {
    s.flow.only_stream = true;
  }

  rest = trim(rest);
  if (rest.empty() || rest[0] != '(') {
    auto src = next_token(rest), sport = next_token(rest), dir = next_token(rest),
         dst = next_token(rest), dport = next_token(rest);
    if (dport.empty()) {
      err = "incomplete rule header";
      return ParseOutcome::kError;
    }
    if (dir == "<>") {
      s.bidirectional = true;
    } else if (dir != "->") {
      err = "bad direction '" + std::string(dir) + "' (expected -> or <>)";
      return ParseOutcome::kError;
    }
    if (!vars_.parse_address(src, s.src, err) || !vars_.parse_port(sport, s.sport, err) ||
        !vars_.parse_address(dst, s.dst, err) || !vars_.parse_port(dport, s.dport, err))
      return ParseOutcome::kError;
  }
  rest = trim(rest);
  if (rest.size() < 2 || rest.front() != '(' || rest.back() != ')') {
    err = "rule options must be enclosed in ( )";
    return ParseOutcome::kError;
  }
  std::string_view opts = rest.substr(1, rest.size() - 2);

  ParseState st(s);
  st.classes = &set_.classes;
  st.flowbits = &set_.flowbits;
  st.flowints = &set_.flowints;
  // Options end at an unescaped ';' (Suricata does not track quotes here, so a '"' inside a
  // pcre is plain text).
  std::vector<std::pair<std::string_view, std::string_view>> options;
  size_t i = 0;
  while (i < opts.size()) {
    while (i < opts.size() && (opts[i] == ' ' || opts[i] == '\t')) ++i;
    if (i >= opts.size()) break;
    size_t start = i;
    while (i < opts.size() && opts[i] != ';') {
      if (opts[i] == '\\' && i + 1 < opts.size()) ++i;
      ++i;
    }
    if (i >= opts.size()) {
      err = "option '" + std::string(trim(opts.substr(start))) + "' is not terminated by ';'";
      return ParseOutcome::kError;
    }
    std::string_view opt = trim(opts.substr(start, i - start));
    ++i;
    if (opt.empty()) continue;
    auto colon = opt.find(':');
    std::string_view name = trim(opt.substr(0, colon));
    std::string_view value = colon == std::string_view::npos ? "" : trim(opt.substr(colon + 1));
    options.emplace_back(name, value);
    // Snort 3 writes content options inline ("x",nocase) and names services.
    if (name == "service" || (name == "content" && !value.empty() && value.back() != '"'))
      st.snort3 = true;
  }
  for (auto [name, value] : options) {
    const KeywordApi* kw = KeywordRegistry::find(name);
    if (!kw) {
      if (unsupported.empty()) unsupported = std::string(name);
      continue;
    }
    st.kw = kw;
    if (!kw->parse(st, value, err)) {
      err = std::string(name) + ": " + err;
      return ParseOutcome::kError;
    }
    if (!kw->matches && unsupported.empty()) unsupported = std::string(name);
  }
  if (!st.unsupported.empty() && unsupported.empty()) unsupported = st.unsupported;
  if (s.msg.empty() && s.sid == 0) {
    err = "rule has no msg and no sid";
    return ParseOutcome::kError;
  }
  s.byte_vars = static_cast<uint8_t>(st.byte_var_names.size());
  if (!finalize(s, &set_.classes, err)) return ParseOutcome::kError;
  if (auto app = missing_analyzer(s); !app.empty() && unsupported.empty())
    unsupported = "app-layer protocol '" + std::string(app) + "' (no analyzer)";
  return unsupported.empty() ? ParseOutcome::kLoaded : ParseOutcome::kUnsupported;
}

void RuleLoader::add_rule(std::string_view text, const std::string& file, int line) {
  auto& r = set_.report;
  Signature s;
  std::string err, unsupported;
  switch (parse_rule(text, file, line, s, err, unsupported)) {
    case ParseOutcome::kError:
      ++r.skipped;
      ++r.failed;
      r.errors.push_back({file, line, s.sid, "", err});
      return;
    case ParseOutcome::kUnsupported:
      ++r.skipped;
      ++r.skipped_by_keyword[unsupported];
      r.warnings.push_back(
          {file, line, s.sid, unsupported,
           (unsupported.find(' ') == std::string::npos ? "unsupported keyword '" + unsupported + "'"
                                                       : "unsupported " + unsupported) +
               ": rule skipped"});
      return;
    case ParseOutcome::kLoaded:
      break;
  }
  auto key = std::make_pair(s.gid, s.sid);
  if (seen_.count(key)) {
    // Suricata keeps the higher revision of a duplicate sid.
    auto& old = set_.sigs[seen_[key]];
    ++r.duplicates;
    r.warnings.push_back({file, line, s.sid, "",
                          "duplicate sid " + std::to_string(s.sid) + " (first at " + old.file +
                              ":" + std::to_string(old.line) + "): keeping the higher rev"});
    if (s.rev > old.rev) old = std::move(s);
    return;
  }
  seen_[key] = set_.sigs.size();
  set_.sigs.push_back(std::move(s));
  ++r.loaded;
}

void RuleLoader::load_text(std::string_view text, const std::string& name) {
  std::string joined;
  int start_line = 0, lineno = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view raw = text.substr(pos, nl - pos);
    pos = nl + 1;
    ++lineno;
    std::string_view line = trim(raw);
    if (joined.empty()) {
      if (line.empty() || line[0] == '#') continue;
      start_line = lineno;
    }
    if (!line.empty() && line.back() == '\\') {
      joined.append(line.substr(0, line.size() - 1));
      continue;
    }
    joined.append(line);
    add_rule(joined, name, start_line);
    joined.clear();
  }
  if (!joined.empty()) add_rule(joined, name, start_line);
}

bool RuleLoader::load_file(const std::string& path) {
  // Every file's reading and parsing counts in the report's load time (stats load_time_s).
  auto t0 = std::chrono::steady_clock::now();
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    set_.report.errors.push_back({path, 0, 0, "", "cannot open rules file"});
    return false;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  load_text(ss.str(), path);
  set_.report.load_seconds +=
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return true;
}

RuleSet RuleLoader::take() {
  return std::move(set_);
}

LoadReport check_rules(const std::vector<std::string>& files, const RuleVars& vars) {
  auto t0 = std::chrono::steady_clock::now();
  RuleLoader loader(vars);
  for (const auto& f : files) loader.load_file(f);
  LoadReport r = loader.report();
  r.load_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

std::string LoadReport::to_json() const {
  std::string out;
  JsonWriter w(out);
  w.begin_object();
  w.kv("loaded", uint64_t(loaded));
  w.kv("skipped", uint64_t(skipped));
  w.key("skipped_by_keyword").begin_object();
  for (const auto& [k, n] : skipped_by_keyword) w.kv(k, uint64_t(n));
  w.end_object();
  w.key("errors").begin_array();
  for (const auto& e : errors) {
    w.begin_object();
    w.kv("file", e.file).kv("line", e.line);
    if (e.sid) w.kv("sid", uint64_t(e.sid));
    w.kv("message", e.message);
    w.end_object();
  }
  w.end_array();
  w.key("warnings").begin_array();
  for (const auto& e : warnings) {
    w.begin_object();
    w.kv("file", e.file).kv("line", e.line).kv("sid", uint64_t(e.sid));
    if (!e.keyword.empty()) w.kv("keyword", e.keyword);
    w.kv("message", e.message);
    w.end_object();
  }
  w.end_array();
  w.kv("failed", uint64_t(failed));
  w.kv("duplicates", uint64_t(duplicates));
  w.kv("load_seconds", load_seconds);
  w.end_object();
  return out;
}

std::string LoadReport::to_text(bool verbose) const {
  std::ostringstream o;
  for (const auto& e : errors) o << e.where() << ": error: " << e.message << "\n";
  if (verbose)
    for (const auto& w : warnings)
      o << w.where() << ": warning: sid " << w.sid << ": " << w.message << "\n";
  o << loaded << " rules loaded, " << skipped << " skipped (" << failed << " with errors)";
  if (duplicates) o << ", " << duplicates << " duplicate sids";
  o << "\n";
  if (!skipped_by_keyword.empty()) {
    std::vector<std::pair<std::string, size_t>> v(skipped_by_keyword.begin(),
                                                  skipped_by_keyword.end());
    std::sort(v.begin(), v.end(), [](auto& a, auto& b) { return a.second > b.second; });
    o << "skipped by keyword:";
    for (const auto& [k, n] : v) o << " " << k << "=" << n;
    o << "\n";
  }
  return o.str();
}

}  // namespace komainu::sig
