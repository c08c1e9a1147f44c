#include "logs/sigma/sigma.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include <algorithm>
#include <array>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unordered_map>

#include "logs/model/detector.h"
#include "logs/model/json_util.h"
#include "logs/model/text_util.h"
#include "logs/sigma/mapping_builtin.h"

namespace komainu::logs {

// ---------------------------------------------------------------------------------------
// Compiled form

namespace {

struct RuleError {
  std::string reason;  // short, counted ("unsupported_modifier:xyz")
  std::string detail;
};

struct FieldRef {
  enum class Kind : uint8_t { kNorm, kRaw, kKv, kDefault } kind = Kind::kDefault;
  NormField nf = NormField::kUser;
  std::vector<std::string> path;  // raw JSON path (or the field name for kDefault)
  std::string name;               // as written in the rule
  uint32_t slot = 0;              // interned path[0]: its per-event lookup (Impl::key_slot)
  uint32_t path_id = 0;           // interned whole path: remembers "absent" per event
};

struct Regex {
  pcre2_code* code = nullptr;
  ~Regex() {
    if (code) pcre2_code_free(code);
  }
};

enum class Op : uint8_t {
  kEq,
  kContains,
  kStarts,
  kEnds,
  kGlob,
  kRegex,
  kCidr,
  kLt,
  kLte,
  kGt,
  kGte,
  kExists,
  kNull,
  kFieldRef,
  kTimePart
};

struct ValueMatcher {
  Op op = Op::kEq;
  bool ci = true;
  bool negate = false;  // neq
  std::string pat;      // lower-cased when ci
  std::shared_ptr<Regex> re;
  Cidr cidr;
  double num = 0;
  Op num_op = Op::kEq;  // for time parts: the comparison
  int time_part = 0;    // 1 minute 2 hour 3 day 4 week 5 month 6 year
  bool exists = true;
  FieldRef other;
};

struct FieldMatcher {
  FieldRef field;
  std::vector<ValueMatcher> values;
  bool all = false;
};

struct Selection {
  std::string name;
  bool keywords = false;
  std::vector<ValueMatcher> keyword_values;  // OR (or AND with |all)
  bool keyword_all = false;
  std::vector<std::vector<FieldMatcher>> alternatives;  // OR of ANDs
};

struct CondNode {
  enum class T : uint8_t { kAnd, kOr, kNot, kSel, kOneOf, kAllOf } t = T::kSel;
  std::vector<std::unique_ptr<CondNode>> kids;
  std::vector<size_t> sels;  // kSel: one; kOneOf/kAllOf: the set
};

struct Mapping;

// The field of a prefilter: a normalised field, or (raw set) a raw/default/kv field of the
// rule, whose values are read as the matcher reads them. Two raw fields are the same when
// kind, path and name are (values() then reads the same thing).
struct PreKey {
  NormField nf = NormField::kUser;
  const FieldRef* raw = nullptr;
  bool operator==(const PreKey& o) const {
    if (!raw || !o.raw) return !raw && !o.raw && nf == o.nf;
    return raw->kind == o.raw->kind && raw->path == o.raw->path && raw->name == o.raw->name;
  }
};

struct Rule {
  std::string id, name, title, level, status, origin;
  std::vector<std::string> tags;
  std::vector<Selection> sels;
  std::unique_ptr<CondNode> cond;
  const Mapping* map = nullptr;
  uint32_t sid = 0;
  int severity = 3;
  bool generate = true;
  bool generate_explicit = false;    // `generate: true` (alerts even when correlated)
  std::vector<size_t> correlations;  // correlations fed by this rule
  uint64_t matches = 0;
  // A necessary condition read off the detection: the rule can only match when field
  // `pre_field` equals (case-insensitively) one of `pre_values`, so every other event
  // skips the rule without evaluating its condition.
  bool has_pre = false;
  PreKey pre_field;
  std::vector<std::string> pre_values;  // lower-cased
  // Further necessary conditions of the same form, checked before the full evaluation
  // (e.g. `Status: Success` indexes the rule, `AuthenticationRequirement: single...` then
  // turns most events away without evaluating the condition tree).
  std::vector<std::pair<PreKey, std::vector<std::string>>> pre_extra;
};

// A necessary "field is one of these values" condition of a detection (or none).
struct Prefilter {
  bool ok = false;
  PreKey field;
  std::vector<std::string> values;  // lower-cased

  // Fields with few distinct values (outcome, mfa) let most events through: any other
  // normalised field is a better filter, then fewer values. A raw field costs a lookup in
  // every record, so it comes last (it still serves rules with nothing else to go by).
  int rank() const {
    if (field.raw) return 0;
    return norm_rank();
  }
  int norm_rank() const {
    switch (field.nf) {
      case NormField::kOutcome:
      case NormField::kMfa:
      case NormField::kClass:
      case NormField::kKind:
      case NormField::kInteractive:
      case NormField::kCategory:
        return 1;
      default:
        return 2;
    }
  }
  static Prefilter better(Prefilter a, Prefilter b) {
    if (!a.ok) return b;
    if (!b.ok) return a;
    if (a.rank() != b.rank()) return a.rank() > b.rank() ? a : b;
    return a.values.size() <= b.values.size() ? a : b;
  }
  // Either of two alternatives: both must constrain the same field.
  static Prefilter either(Prefilter a, const Prefilter& b) {
    if (!a.ok || !b.ok || !(a.field == b.field)) return {};
    for (const auto& v : b.values)
      if (std::find(a.values.begin(), a.values.end(), v) == a.values.end()) a.values.push_back(v);
    return a;
  }
};

// An equality on a field that a field matcher requires.
Prefilter field_prefilter(const FieldMatcher& fm) {
  Prefilter p;
  if (fm.field.name.empty() || fm.values.empty()) return p;
  for (const auto& vm : fm.values) {
    if (vm.op != Op::kEq || vm.negate) return Prefilter{};
    std::string v = vm.pat;
    to_lower(v);
    p.values.push_back(std::move(v));
  }
  p.ok = true;
  if (fm.field.kind == FieldRef::Kind::kNorm)
    p.field.nf = fm.field.nf;
  else
    p.field.raw = &fm.field;
  return p;
}

Prefilter selection_prefilter(const Selection& s) {
  if (s.keywords || s.alternatives.empty()) return {};
  Prefilter acc;
  for (size_t i = 0; i < s.alternatives.size(); ++i) {
    // Within an AND any required equality will do; across the OR of alternatives the
    // same field must be required by each.
    std::vector<Prefilter> cands;
    for (const auto& fm : s.alternatives[i])
      if (Prefilter p = field_prefilter(fm); p.ok) cands.push_back(std::move(p));
    if (i == 0) {
      for (auto& c : cands) acc = Prefilter::better(acc, c);
      if (s.alternatives.size() > 1) {
        // Keep the candidate fields that every alternative constrains; pick the best.
        Prefilter best;
        for (const auto& c : cands) {
          Prefilter u = c;
          for (size_t j = 1; j < s.alternatives.size() && u.ok; ++j) {
            Prefilter in_j;
            for (const auto& fm : s.alternatives[j])
              if (Prefilter p = field_prefilter(fm); p.ok && p.field == c.field)
                in_j = Prefilter::either(in_j.ok ? in_j : p, p);
            u = Prefilter::either(u, in_j);
          }
          best = Prefilter::better(best, u);
        }
        return best;
      }
    }
  }
  return acc;
}

// Every "normalised field is one of these values" condition a selection requires: all
// the equalities of a single alternative, or the fields every alternative constrains.
std::vector<Prefilter> selection_prefilters(const Selection& s) {
  std::vector<Prefilter> out;
  if (s.keywords || s.alternatives.empty()) return out;
  for (const auto& fm : s.alternatives[0]) {
    Prefilter acc = field_prefilter(fm);
    for (size_t j = 1; j < s.alternatives.size() && acc.ok; ++j) {
      Prefilter in_j;
      for (const auto& other : s.alternatives[j])
        if (Prefilter p = field_prefilter(other); p.ok && p.field == acc.field) {
          in_j = p;
          break;
        }
      acc = Prefilter::either(acc, in_j);
    }
    if (acc.ok) out.push_back(std::move(acc));
  }
  return out;
}

// Either of two lists of necessary conditions: per field both constrain, the union.
std::vector<Prefilter> either_all(const std::vector<Prefilter>& a,
                                  const std::vector<Prefilter>& b) {
  std::vector<Prefilter> out;
  for (const auto& x : a)
    for (const auto& y : b)
      if (x.field == y.field) {
        out.push_back(Prefilter::either(x, y));
        break;
      }
  return out;
}

struct Mapping {
  std::string product, service, category;
  std::vector<std::string> sources;
  std::unordered_map<std::string, std::string> fields;  // lower-cased sigma name -> target
};

// --- value helpers -----------------------------------------------------------------------

void lower(std::string& s) {
  to_lower(s);
}

bool ci_eq(std::string_view a, std::string_view lowered) {
  return iequals(a, lowered);
}

bool cs_contains(std::string_view hay, std::string_view n) {
  return hay.find(n) != std::string_view::npos;
}

// Glob with '*' and '?' (escapes already resolved into '\x01' '\x02' markers).
bool glob(std::string_view s, std::string_view p, bool ci) {
  size_t si = 0, pi = 0, star = std::string_view::npos, mark = 0;
  auto eq = [&](char a, char b) {
    if (ci && a >= 'A' && a <= 'Z') a = char(a + 32);
    return a == b;
  };
  while (si < s.size()) {
    if (pi < p.size() && p[pi] == '\x01') {
      star = pi++;
      mark = si;
    } else if (pi < p.size() && (p[pi] == '\x02' || eq(s[si], p[pi]))) {
      ++si;
      ++pi;
    } else if (star != std::string_view::npos) {
      pi = star + 1;
      si = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '\x01') ++pi;
  return pi == p.size();
}

bool to_number(std::string_view s, double& out) {
  s = trim(s);
  if (s.empty()) return false;
  std::string tmp(s);
  char* end = nullptr;
  out = strtod(tmp.c_str(), &end);
  return end && *end == '\0';
}

std::string base64(std::string_view in) {
  static const char* tbl = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = uint8_t(in[i]) << 16 | uint8_t(in[i + 1]) << 8 | uint8_t(in[i + 2]);
    out += tbl[v >> 18];
    out += tbl[(v >> 12) & 63];
    out += tbl[(v >> 6) & 63];
    out += tbl[v & 63];
  }
  if (i + 1 == in.size()) {
    uint32_t v = uint8_t(in[i]) << 16;
    out += tbl[v >> 18];
    out += tbl[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    uint32_t v = uint8_t(in[i]) << 16 | uint8_t(in[i + 1]) << 8;
    out += tbl[v >> 18];
    out += tbl[(v >> 12) & 63];
    out += tbl[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

// The three shifted encodings of base64offset, with the bytes that depend on unknown
// neighbours cut off (as the Sigma reference implementation does).
std::vector<std::string> base64_offsets(std::string_view in) {
  static const size_t start_cut[3] = {0, 2, 3};
  static const size_t end_cut[3] = {0, 3, 2};
  std::vector<std::string> out;
  for (size_t i = 0; i < 3; ++i) {
    std::string padded(i, ' ');
    padded.append(in);
    std::string enc = base64(padded);
    size_t s = start_cut[i], e = end_cut[(in.size() + i) % 3];
    if (enc.size() <= s + e) continue;
    out.push_back(enc.substr(s, enc.size() - s - e));
  }
  return out;
}

std::string utf16(std::string_view in, bool be, bool bom) {
  std::string out;
  if (bom) out += be ? "\xFE\xFF" : "\xFF\xFE";
  // ASCII/Latin-1 widening; multi-byte UTF-8 is decoded to its code point.
  for (size_t i = 0; i < in.size();) {
    uint32_t cp = uint8_t(in[i]);
    size_t n = 1;
    if (cp >= 0xC0 && cp < 0xE0 && i + 1 < in.size()) {
      cp = (cp & 0x1F) << 6 | (uint8_t(in[i + 1]) & 0x3F);
      n = 2;
    } else if (cp >= 0xE0 && cp < 0xF0 && i + 2 < in.size()) {
      cp = (cp & 0x0F) << 12 | (uint8_t(in[i + 1]) & 0x3F) << 6 | (uint8_t(in[i + 2]) & 0x3F);
      n = 3;
    }
    i += n;
    char lo = char(cp & 0xFF), hi = char((cp >> 8) & 0xFF);
    if (be) {
      out += hi;
      out += lo;
    } else {
      out += lo;
      out += hi;
    }
  }
  return out;
}

std::vector<std::string> windash_variants(const std::string& v) {
  static const char* dashes[] = {"-", "/", "\xE2\x80\x93", "\xE2\x80\x94", "\xE2\x80\x95"};
  std::vector<std::string> out{""};
  // Every '-' or '/' at a word start may be any dash (Sigma: all permutations).
  for (size_t i = 0; i < v.size(); ++i) {
    bool flag = (v[i] == '-' || v[i] == '/') && (i == 0 || v[i - 1] == ' ');
    std::vector<std::string> next;
    if (flag) {
      for (auto& o : out)
        for (auto* d : dashes) next.push_back(o + d);
      if (next.size() > 625) return {v};  // bounded: too many flags, keep the literal
    } else {
      for (auto& o : out) next.push_back(o + v[i]);
    }
    out.swap(next);
  }
  return out;
}

const char* tactic_id(std::string_view t) {
  static const std::pair<std::string_view, const char*> kTactics[] = {
      {"reconnaissance", "TA0043"},     {"resource-development", "TA0042"},
      {"initial-access", "TA0001"},     {"execution", "TA0002"},
      {"persistence", "TA0003"},        {"privilege-escalation", "TA0004"},
      {"defense-evasion", "TA0005"},    {"stealth", "TA0005"},
      {"defense-impairment", "TA0005"}, {"credential-access", "TA0006"},
      {"discovery", "TA0007"},          {"lateral-movement", "TA0008"},
      {"collection", "TA0009"},         {"command-and-control", "TA0011"},
      {"exfiltration", "TA0010"},       {"impact", "TA0040"}};
  for (auto& [n, id] : kTactics)
    if (t == n) return id;
  return nullptr;
}

}  // namespace

uint32_t sigma_sid(const std::string& id) {
  uint32_t h = 2166136261u;
  for (unsigned char c : id) {
    h ^= c;
    h *= 16777619u;
  }
  // Keep clear of small hand-assigned ranges and of the sign bit.
  return 1000000u + h % 2000000000u;
}

void SigmaCheckReport::write_json(JsonWriter& w) const {
  w.begin_object();
  w.kv("loaded", loaded);
  w.kv("correlations", correlations);
  w.kv("skipped", skipped);
  w.key("skipped_by_reason").begin_object();
  for (const auto& [k, v] : skipped_by_reason) w.kv(k, v);
  w.end_object();
  w.key("loaded_by_logsource").begin_object();
  for (const auto& [k, v] : loaded_by_logsource) w.kv(k, v);
  w.end_object();
  w.key("errors").begin_array();
  for (const auto& e : errors) w.value(std::string_view(e));
  w.end_array();
  w.end_object();
}

std::string SigmaCheckReport::to_text(bool verbose) const {
  std::string o;
  if (verbose)
    for (const auto& e : errors) o += e + "\n";
  o += std::to_string(loaded) + " Sigma rules loaded (" + std::to_string(correlations) +
       " correlations), " + std::to_string(skipped) + " skipped (" + std::to_string(failed()) +
       " with errors)\n";
  auto by_count = [](const std::map<std::string, uint64_t>& m) {
    std::vector<std::pair<std::string, uint64_t>> v(m.begin(), m.end());
    std::stable_sort(v.begin(), v.end(), [](auto& a, auto& b) { return a.second > b.second; });
    std::string s;
    for (const auto& [k, n] : v) s += " " + k + "=" + std::to_string(n);
    return s;
  };
  if (!skipped_by_reason.empty()) o += "skipped by reason:" + by_count(skipped_by_reason) + "\n";
  if (!loaded_by_logsource.empty())
    o += "loaded by logsource:" + by_count(loaded_by_logsource) + "\n";
  return o;
}

uint64_t SigmaCheckReport::failed() const {
  uint64_t n = 0;
  for (const char* r : {"yaml_error", "yaml_type_error", "not_a_rule"}) {
    auto it = skipped_by_reason.find(r);
    if (it != skipped_by_reason.end()) n += it->second;
  }
  return n;
}

// ---------------------------------------------------------------------------------------

struct Correlation {
  enum class Type { kEventCount, kValueCount, kTemporal, kTemporalOrdered } type;
  std::string id, title, level, origin;
  uint32_t sid = 0;
  int severity = 2;
  std::vector<std::string> tags;
  std::vector<std::string> rule_refs;
  std::vector<size_t> rules;  // resolved rule indices, in the listed order
  std::vector<std::string> group_by;
  // alias name -> (rule index -> field)
  std::unordered_map<std::string, std::unordered_map<size_t, std::string>> aliases;
  TimeNs timespan = 0;
  std::string count_field;  // value_count
  bool has_gt = false, has_gte = false, has_lt = false, has_lte = false, has_eq = false;
  int64_t gt = 0, gte = 0, lt = 0, lte = 0, eq = 0;
  struct Group {
    std::vector<TimeNs> times;                           // event_count
    std::vector<std::pair<std::string, TimeNs>> values;  // value_count
    std::vector<TimeNs> last;                            // temporal: per rule
  };
  std::unique_ptr<BoundedMap<Group>> groups;
  uint64_t fired = 0;

  bool cond_ok(int64_t n) const {
    if (has_gt && !(n > gt)) return false;
    if (has_gte && !(n >= gte)) return false;
    if (has_lt && !(n < lt)) return false;
    if (has_lte && !(n <= lte)) return false;
    if (has_eq && n != eq) return false;
    return true;
  }
};

struct SigmaEngine::Impl {
  std::vector<Mapping> mappings;
  std::unordered_map<std::string, std::vector<std::string>> placeholders;
  std::vector<std::unique_ptr<Rule>> rules;
  std::vector<std::unique_ptr<Correlation>> correlations;
  // kind -> rule indices; a handful of kinds, so a linear scan by view beats hashing.
  std::vector<std::pair<std::string, std::vector<size_t>>> by_source;
  std::vector<size_t>& source_rules(const std::string& kind) {
    for (auto& [k, v] : by_source)
      if (k == kind) return v;
    by_source.emplace_back(kind, std::vector<size_t>{});
    return by_source.back().second;
  }
  std::vector<std::pair<size_t, std::string>> pending_corr_refs;
  uint64_t alerts = 0;
  uint64_t events = 0;
  uint64_t group_evictions = 0;
  pcre2_match_data* md = nullptr;
  // Per-event scratch, reused.
  std::vector<std::string_view> vals;
  std::vector<std::string> scratch;
  size_t scratch_used = 0;
  std::vector<int8_t> sel_cache;
  std::vector<std::string_view> field_vals;
  std::vector<std::string_view> keyword_vals;

  // Top-level keys (path[0], lower-cased) of the raw fields the rules name, interned at
  // load. Each is resolved at most once per event, by one scan of the record's top level
  // and then of its `properties` envelope (first match wins, top level first), so a key
  // shared by many rules costs one lookup and the record's other members cost nothing.
  struct KeySlot {
    uint32_t gen = 0;  // event_gen when resolved
    bool found = false, from_props = false;
    // e is the properties object whose members the event lists (LogEvent::json_props).
    bool listed_props = false;
    simdjson::dom::element e;
  };
  std::vector<std::string> slot_keys;
  std::vector<KeySlot> slots;
  uint32_t event_gen = 0, props_gen = 0;
  bool has_props = false;
  simdjson::dom::object props_obj;

  uint32_t intern_key(std::string_view key) {
    std::string k(key);
    lower(k);
    for (size_t i = 0; i < slot_keys.size(); ++i)
      if (slot_keys[i] == k) return uint32_t(i);
    slot_keys.push_back(std::move(k));
    slots.emplace_back();
    return uint32_t(slot_keys.size() - 1);
  }

  // Whole raw paths (with their lookup kind), interned at load: several rules often name
  // the same path, and on most records it is absent; the first lookup in an event records
  // that, so the others return at once.
  std::vector<std::string> path_keys;
  std::vector<uint32_t> path_absent_gen;
  uint32_t intern_path(const FieldRef& f) {
    std::string k = f.kind == FieldRef::Kind::kDefault ? "d:" : "r:";
    for (const auto& part : f.path) k.append(part).push_back('.');
    lower(k);
    for (size_t i = 0; i < path_keys.size(); ++i)
      if (path_keys[i] == k) return uint32_t(i);
    path_keys.push_back(std::move(k));
    path_absent_gen.push_back(0);
    return uint32_t(path_keys.size() - 1);
  }

  // Rule dispatch of one source, built at the first event after a load. Each rule's
  // prefilter (a normalised field that must equal one of a few values) is indexed by field
  // and value, so an event reads each prefilter field once and compares it with the small
  // value list, instead of visiting every rule; the candidates are then evaluated in load
  // order, as the plain rule list would.
  struct PreValue {
    std::string value;                // lower-cased
    std::vector<uint32_t> positions;  // in the source's rule list
  };
  struct PreField {
    PreKey field;
    std::vector<PreValue> values;
  };
  struct SourceIndex {
    std::vector<uint32_t> always;  // rules without a prefilter
    std::vector<PreField> fields;
    std::vector<uint64_t> mask;  // per event: candidate positions
  };
  std::vector<SourceIndex> indexes;  // parallel to by_source
  bool index_dirty = true;

  void build_indexes() {
    indexes.assign(by_source.size(), SourceIndex{});
    for (size_t si = 0; si < by_source.size(); ++si) {
      SourceIndex& x = indexes[si];
      const auto& list = by_source[si].second;
      x.mask.assign((list.size() + 63) / 64, 0);
      for (uint32_t pos = 0; pos < list.size(); ++pos) {
        const Rule& r = *rules[list[pos]];
        if (!r.has_pre) {
          x.always.push_back(pos);
          continue;
        }
        PreField* pf = nullptr;
        for (auto& f : x.fields)
          if (f.field == r.pre_field) pf = &f;
        if (!pf) {
          x.fields.push_back(PreField{r.pre_field, {}});
          pf = &x.fields.back();
        }
        for (const auto& v : r.pre_values) {
          PreValue* pv = nullptr;
          for (auto& e : pf->values)
            if (e.value == v) pv = &e;
          if (!pv) {
            pf->values.push_back(PreValue{v, {}});
            pv = &pf->values.back();
          }
          if (pv->positions.empty() || pv->positions.back() != pos) pv->positions.push_back(pos);
        }
      }
    }
    index_dirty = false;
  }

  static bool find_member(simdjson::dom::object o, std::string_view key_lower,
                          simdjson::dom::element& out) {
    for (auto [k, v] : o)
      if (k.size() == key_lower.size() && iequals(k, key_lower)) {
        out = v;
        return true;
      }
    return false;
  }

  // The same first-match lookup over members a source listed (LogEvent::json_top/props):
  // a flat array whose key lengths are compared first, no DOM iteration.
  static bool find_listed(const LogEvent::JsonMembers& list, std::string_view key,
                          simdjson::dom::element& out) {
    for (const auto& [k, v] : list)
      if (k.size() == key.size() && iequals(k, key)) {
        out = v;
        return true;
      }
    return false;
  }

  const KeySlot& key_slot(const LogEvent& ev, uint32_t i) {
    KeySlot& sl = slots[i];
    if (sl.gen == event_gen) return sl;
    sl.gen = event_gen;
    sl.found = sl.from_props = sl.listed_props = false;
    if (ev.has_json_members) {
      // json_props holds the members of the first top-level "properties" object: the object
      // the DOM path below finds.
      if (find_listed(ev.json_top, slot_keys[i], sl.e)) {
        sl.found = true;
        sl.listed_props = slot_keys[i] == "properties" && sl.e.is_object();
      } else if (find_listed(ev.json_props, slot_keys[i], sl.e)) {
        sl.found = sl.from_props = true;
      }
      return sl;
    }
    if (!ev.json.is_object()) return sl;
    simdjson::dom::object root = ev.json.get_object().value_unsafe();
    if (find_member(root, slot_keys[i], sl.e)) {
      sl.found = true;
      return sl;
    }
    if (props_gen != event_gen) {
      props_gen = event_gen;
      has_props = false;
      for (auto [k, v] : root)
        if (v.is_object() && k.size() == 10 && iequals(k, "properties")) {
          props_obj = v.get_object().value_unsafe();
          has_props = true;
          break;
        }
    }
    if (has_props && find_member(props_obj, slot_keys[i], sl.e)) sl.found = sl.from_props = true;
    return sl;
  }

  // Case-insensitive `contains`: the value is lower-cased once (the patterns of a field,
  // and rules on the same field, follow each other), then searched with memmem. The cache
  // is keyed by content, so reused buffers can never serve a stale copy.
  // The lower-cased copy is followed by kHayPad zero bytes, so find_lower's block filters
  // may read past its end.
  static constexpr size_t kHayPad = 16;
  std::string hay_orig, hay_lower;
  bool contains_ci(std::string_view hay, std::string_view needle_lower) {
    if (needle_lower.empty()) return true;
    if (hay.size() < needle_lower.size()) return false;
    if (hay != std::string_view(hay_orig)) {
      hay_orig.assign(hay);
      hay_lower.assign(hay.size() + kHayPad, '\0');
      memcpy(hay_lower.data(), hay.data(), hay.size());
      lower_ascii(hay_lower.data(), hay.size());
    }
    return find_lower(hay_lower.data(), hay.size(), needle_lower);
  }

  // ASCII lower-case of p[0, n) in place, 16 bytes at a time; p has kHayPad bytes after n
  // (zeros stay zeros). Bytes >= 0x80 are negative as signed and never upper-case.
  static void lower_ascii(char* p, size_t n) {
#ifdef __SSE2__
    const __m128i before_a = _mm_set1_epi8('A' - 1), after_z = _mm_set1_epi8('Z' + 1),
                  bit = _mm_set1_epi8(0x20);
    for (size_t i = 0; i < n; i += 16) {
      __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
      const __m128i upper = _mm_and_si128(_mm_cmpgt_epi8(x, before_a), _mm_cmpgt_epi8(after_z, x));
      x = _mm_or_si128(x, _mm_and_si128(upper, bit));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(p + i), x);
    }
#else
    for (size_t i = 0; i < n; ++i) p[i] = char(p[i] + ((unsigned(p[i]) - 'A' < 26u) << 5));
#endif
  }

  // Substring search in a padded buffer: the needle's first and last bytes are compared at
  // 16 start positions at a time and only candidates are confirmed with memcmp (the
  // patterns of contains rules are short and their first/last byte pair is rare; memmem's
  // general algorithm cost several times more per record).
  static bool find_lower(const char* hay, size_t size, std::string_view n) {
    const size_t len = n.size();
    if (len > size) return false;
    if (len == 1) return memchr(hay, n[0], size) != nullptr;
#ifdef __SSE2__
    const size_t last_start = size - len;
    const __m128i first = _mm_set1_epi8(n[0]), last = _mm_set1_epi8(n[len - 1]);
    for (size_t i = 0; i <= last_start; i += 16) {
      const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(hay + i));
      const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(hay + i + len - 1));
      unsigned mask = unsigned(
          _mm_movemask_epi8(_mm_and_si128(_mm_cmpeq_epi8(a, first), _mm_cmpeq_epi8(b, last))));
      for (; mask; mask &= mask - 1) {
        const size_t p = i + size_t(__builtin_ctz(mask));
        if (p > last_start) break;  // bits come in increasing order
        if (memcmp(hay + p + 1, n.data() + 1, len - 2) == 0) return true;
      }
    }
    return false;
#else
    return memmem(hay, size, n.data(), len) != nullptr;
#endif
  }

  ~Impl() {
    if (md) pcre2_match_data_free(md);
  }

  // --- loading ---------------------------------------------------------------------------
  bool load_mapping(const YAML::Node& root, std::string* error) {
    mappings.clear();
    if (!root["logsources"] || !root["logsources"].IsSequence()) {
      if (error) *error = "mapping: missing 'logsources' list";
      return false;
    }
    for (const auto& e : root["logsources"]) {
      Mapping m;
      const auto& match = e["match"];
      if (match && match.IsMap()) {
        if (match["product"]) m.product = match["product"].as<std::string>();
        if (match["service"]) m.service = match["service"].as<std::string>();
        if (match["category"]) m.category = match["category"].as<std::string>();
      }
      if (e["sources"])
        for (const auto& s : e["sources"]) m.sources.push_back(s.as<std::string>());
      if (e["fields"] && e["fields"].IsMap())
        for (const auto& f : e["fields"]) {
          std::string k = f.first.as<std::string>();
          lower(k);
          m.fields[k] = f.second.as<std::string>();
        }
      mappings.push_back(std::move(m));
    }
    return true;
  }

  const Mapping* find_mapping(const std::string& product, const std::string& service,
                              const std::string& category) const {
    for (const auto& m : mappings) {
      if (!m.product.empty() && m.product != product) continue;
      if (!m.service.empty() && m.service != service) continue;
      if (!m.category.empty() && m.category != category) continue;
      return &m;
    }
    return nullptr;
  }

  FieldRef resolve_field(const std::string& name, const Mapping* m) {
    FieldRef f;
    f.name = name;
    std::string target;
    if (m) {
      std::string k = name;
      lower(k);
      auto it = m->fields.find(k);
      if (it != m->fields.end()) target = it->second;
    }
    auto split_path = [](std::string_view p) {
      std::vector<std::string> out;
      size_t s = 0;
      while (s <= p.size()) {
        size_t e = p.find('.', s);
        if (e == std::string_view::npos) e = p.size();
        out.emplace_back(p.substr(s, e - s));
        s = e + 1;
      }
      return out;
    };
    if (!target.empty()) {
      if (target.rfind("raw:", 0) == 0) {
        f.kind = FieldRef::Kind::kRaw;
        f.path = split_path(std::string_view(target).substr(4));
        f.slot = intern_key(f.path[0]);
        f.path_id = intern_path(f);
        return f;
      }
      if (target.rfind("kv:", 0) == 0) {
        f.kind = FieldRef::Kind::kKv;
        f.path = {target.substr(3)};
        return f;
      }
      NormField nf;
      if (norm_field_from_name(target, nf)) {
        f.kind = FieldRef::Kind::kNorm;
        f.nf = nf;
        return f;
      }
    }
    f.kind = FieldRef::Kind::kDefault;
    f.path = split_path(name);
    f.slot = intern_key(f.path[0]);
    f.path_id = intern_path(f);
    return f;
  }

  void compile_value(const YAML::Node& node, const std::vector<std::string>& mods, const Mapping* m,
                     std::vector<ValueMatcher>& out, RuleError& err) {
    // Scalars: strings, numbers, booleans; null.
    bool is_null = !node || node.IsNull();
    std::string raw = is_null ? "" : node.Scalar();
    bool contains = false, starts = false, ends = false, re = false, cidr = false, b64 = false,
         b64off = false, wide_le = false, wide_be = false, bom = false, windash = false,
         cased = false, exists = false, fieldref = false, expand = false, neq = false;
    Op cmp = Op::kEq;
    int time_part = 0;
    uint32_t re_flags = 0;
    for (const auto& mod : mods) {
      if (mod == "contains")
        contains = true;
      else if (mod == "startswith")
        starts = true;
      else if (mod == "endswith")
        ends = true;
      else if (mod == "all") {
      } else if (mod == "re")
        re = true;
      else if (mod == "i")
        re_flags |= PCRE2_CASELESS;
      else if (mod == "m")
        re_flags |= PCRE2_MULTILINE;
      else if (mod == "s")
        re_flags |= PCRE2_DOTALL;
      else if (mod == "cidr")
        cidr = true;
      else if (mod == "base64")
        b64 = true;
      else if (mod == "base64offset")
        b64off = true;
      else if (mod == "utf16le" || mod == "wide")
        wide_le = true;
      else if (mod == "utf16be")
        wide_be = true;
      else if (mod == "utf16") {
        wide_le = true;
        bom = true;
      } else if (mod == "windash")
        windash = true;
      else if (mod == "cased")
        cased = true;
      else if (mod == "exists")
        exists = true;
      else if (mod == "fieldref")
        fieldref = true;
      else if (mod == "expand")
        expand = true;
      else if (mod == "neq")
        neq = true;
      else if (mod == "lt")
        cmp = Op::kLt;
      else if (mod == "lte")
        cmp = Op::kLte;
      else if (mod == "gt")
        cmp = Op::kGt;
      else if (mod == "gte")
        cmp = Op::kGte;
      else if (mod == "minute")
        time_part = 1;
      else if (mod == "hour")
        time_part = 2;
      else if (mod == "day")
        time_part = 3;
      else if (mod == "week")
        time_part = 4;
      else if (mod == "month")
        time_part = 5;
      else if (mod == "year")
        time_part = 6;
      else {
        err.reason = "unsupported_modifier:" + mod;
        return;
      }
    }
    if (exists) {
      ValueMatcher v;
      v.op = Op::kExists;
      v.exists = !(raw == "false" || raw == "False" || raw == "no");
      out.push_back(std::move(v));
      return;
    }
    if (fieldref) {
      ValueMatcher v;
      v.op = Op::kFieldRef;
      v.other = resolve_field(raw, m);
      v.negate = neq;
      v.ci = !cased;
      out.push_back(std::move(v));
      return;
    }
    if (time_part) {
      ValueMatcher v;
      v.op = Op::kTimePart;
      v.time_part = time_part;
      v.num_op = cmp;
      if (!to_number(raw, v.num)) {
        err.reason = "bad_number";
        return;
      }
      out.push_back(std::move(v));
      return;
    }
    if (cmp != Op::kEq) {
      ValueMatcher v;
      v.op = cmp;
      if (!to_number(raw, v.num)) {
        err.reason = "bad_number";
        err.detail = raw;
        return;
      }
      out.push_back(std::move(v));
      return;
    }
    // `field: ''` means "empty", and an absent field is empty too (normalised fields do not
    // keep empty strings apart from unset ones).
    if (is_null || (raw.empty() && !contains && !starts && !ends && !re && !expand)) {
      ValueMatcher v;
      v.op = Op::kNull;
      v.negate = neq;
      out.push_back(std::move(v));
      return;
    }
    if (re) {
      ValueMatcher v;
      v.op = Op::kRegex;
      v.negate = neq;
      int ec;
      PCRE2_SIZE eo;
      pcre2_code* code =
          pcre2_compile(reinterpret_cast<PCRE2_SPTR>(raw.data()), raw.size(),
                        re_flags | PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &ec, &eo, nullptr);
      if (!code) {
        PCRE2_UCHAR buf[256];
        pcre2_get_error_message(ec, buf, sizeof buf);
        err.reason = "bad_regex";
        err.detail = reinterpret_cast<char*>(buf);
        return;
      }
      pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // interpretive fallback if JIT is absent
      v.re = std::make_shared<Regex>();
      v.re->code = code;
      out.push_back(std::move(v));
      return;
    }
    if (cidr) {
      ValueMatcher v;
      v.op = Op::kCidr;
      v.negate = neq;
      auto c = Cidr::parse(raw);
      if (!c) {
        err.reason = "bad_cidr";
        err.detail = raw;
        return;
      }
      v.cidr = *c;
      out.push_back(std::move(v));
      return;
    }
    // String values: expansions first, then transforms, then wildcard placement.
    std::vector<std::string> values{raw};
    if (expand) {
      std::vector<std::string> ex;
      for (const auto& val : values) {
        size_t a = val.find('%'), b = a == std::string::npos ? a : val.find('%', a + 1);
        if (b == std::string::npos) {
          ex.push_back(val);
          continue;
        }
        std::string name = val.substr(a + 1, b - a - 1);
        auto it = placeholders.find(name);
        if (it == placeholders.end()) {
          err.reason = "unknown_placeholder:" + name;
          return;
        }
        for (const auto& pv : it->second) ex.push_back(val.substr(0, a) + pv + val.substr(b + 1));
      }
      values.swap(ex);
    }
    if (windash) {
      std::vector<std::string> ex;
      for (const auto& val : values)
        for (auto& w : windash_variants(val)) ex.push_back(std::move(w));
      values.swap(ex);
    }
    bool transformed = false;
    if (wide_le || wide_be) {
      for (auto& val : values) val = utf16(val, wide_be, bom);
      transformed = true;
    }
    if (b64 || b64off) {
      std::vector<std::string> ex;
      for (const auto& val : values) {
        if (b64)
          ex.push_back(base64(val));
        else
          for (auto& o : base64_offsets(val)) ex.push_back(std::move(o));
      }
      values.swap(ex);
      transformed = true;
      if (b64off && !starts && !ends) contains = true;
    }
    for (auto& val : values) {
      ValueMatcher v;
      v.ci = !cased && !transformed;
      v.negate = neq;
      // Resolve Sigma escapes: \* \? \\ are literals; bare * ? are wildcards.
      std::string p;
      bool wild = false;
      for (size_t i = 0; i < val.size(); ++i) {
        char c = val[i];
        if (!transformed && c == '\\' && i + 1 < val.size() &&
            (val[i + 1] == '*' || val[i + 1] == '?' || val[i + 1] == '\\')) {
          p += val[++i];
        } else if (!transformed && c == '*') {
          p += '\x01';
          wild = true;
        } else if (!transformed && c == '?') {
          p += '\x02';
          wild = true;
        } else {
          p += c;
        }
      }
      if (v.ci) lower(p);
      if (wild) {
        v.op = Op::kGlob;
        v.pat = (contains || ends ? "\x01" : "") + p + (contains || starts ? "\x01" : "");
      } else {
        v.op = contains ? Op::kContains : starts ? Op::kStarts : ends ? Op::kEnds : Op::kEq;
        v.pat = std::move(p);
      }
      out.push_back(std::move(v));
    }
  }

  void compile_map(const YAML::Node& map, const Mapping* m, std::vector<FieldMatcher>& out,
                   RuleError& err) {
    for (const auto& kv : map) {
      std::string key = kv.first.Scalar();
      std::vector<std::string> parts;
      size_t s = 0;
      while (true) {
        size_t e = key.find('|', s);
        parts.push_back(key.substr(s, e == std::string::npos ? std::string::npos : e - s));
        if (e == std::string::npos) break;
        s = e + 1;
      }
      FieldMatcher fm;
      std::vector<std::string> mods(parts.begin() + 1, parts.end());
      fm.all = std::find(mods.begin(), mods.end(), "all") != mods.end();
      if (parts[0].empty()) {
        // "|contains: x" with no field: a keyword search with modifiers.
        fm.field.kind = FieldRef::Kind::kDefault;
        fm.field.name = "";
      } else {
        fm.field = resolve_field(parts[0], m);
      }
      const YAML::Node& v = kv.second;
      if (v.IsSequence()) {
        if (v.size() == 0) {
          err.reason = "empty_value_list";
          return;
        }
        for (const auto& item : v) {
          if (item.IsMap() || item.IsSequence()) {
            err.reason = "nested_value";
            return;
          }
          compile_value(item, mods, m, fm.values, err);
          if (!err.reason.empty()) return;
        }
      } else if (v.IsMap()) {
        err.reason = "nested_map";
        return;
      } else {
        compile_value(v, mods, m, fm.values, err);
        if (!err.reason.empty()) return;
      }
      out.push_back(std::move(fm));
    }
  }

  // --- condition parsing -----------------------------------------------------------------
  struct CondParser {
    std::vector<std::string> toks;
    size_t pos = 0;
    const std::vector<Selection>* sels;
    RuleError* err;

    static std::vector<std::string> tokenize(const std::string& s) {
      std::vector<std::string> out;
      size_t i = 0;
      while (i < s.size()) {
        char c = s[i];
        if (c == ' ' || c == '\t' || c == '\n') {
          ++i;
        } else if (c == '(' || c == ')' || c == '|') {
          out.emplace_back(1, c);
          ++i;
        } else {
          size_t j = i;
          while (j < s.size() && s[j] != ' ' && s[j] != '\t' && s[j] != '\n' && s[j] != '(' &&
                 s[j] != ')' && s[j] != '|')
            ++j;
          out.push_back(s.substr(i, j - i));
          i = j;
        }
      }
      return out;
    }
    bool at(const char* t) const { return pos < toks.size() && iequals(toks[pos], t); }
    std::unique_ptr<CondNode> parse_or() {
      auto l = parse_and();
      while (l && at("or")) {
        ++pos;
        auto r = parse_and();
        if (!r) return nullptr;
        auto n = std::make_unique<CondNode>();
        n->t = CondNode::T::kOr;
        n->kids.push_back(std::move(l));
        n->kids.push_back(std::move(r));
        l = std::move(n);
      }
      return l;
    }
    std::unique_ptr<CondNode> parse_and() {
      auto l = parse_not();
      while (l && at("and")) {
        ++pos;
        auto r = parse_not();
        if (!r) return nullptr;
        auto n = std::make_unique<CondNode>();
        n->t = CondNode::T::kAnd;
        n->kids.push_back(std::move(l));
        n->kids.push_back(std::move(r));
        l = std::move(n);
      }
      return l;
    }
    std::unique_ptr<CondNode> parse_not() {
      if (at("not")) {
        ++pos;
        auto k = parse_not();
        if (!k) return nullptr;
        auto n = std::make_unique<CondNode>();
        n->t = CondNode::T::kNot;
        n->kids.push_back(std::move(k));
        return n;
      }
      return parse_atom();
    }
    std::unique_ptr<CondNode> parse_atom() {
      if (pos >= toks.size()) {
        err->reason = "condition_syntax";
        return nullptr;
      }
      if (toks[pos] == "|") {
        err->reason = "deprecated_aggregation";
        return nullptr;
      }
      if (toks[pos] == "(") {
        ++pos;
        auto n = parse_or();
        if (!n) return nullptr;
        if (!at(")")) {
          err->reason = "condition_syntax";
          return nullptr;
        }
        ++pos;
        return n;
      }
      if ((toks[pos] == "1" || iequals(toks[pos], "all") || iequals(toks[pos], "any")) &&
          pos + 2 < toks.size() + 0 && pos + 1 < toks.size() && iequals(toks[pos + 1], "of")) {
        bool all = iequals(toks[pos], "all");
        if (pos + 2 >= toks.size()) {
          err->reason = "condition_syntax";
          return nullptr;
        }
        std::string pat = toks[pos + 2];
        pos += 3;
        auto n = std::make_unique<CondNode>();
        n->t = all ? CondNode::T::kAllOf : CondNode::T::kOneOf;
        for (size_t i = 0; i < sels->size(); ++i) {
          const std::string& name = (*sels)[i].name;
          if (iequals(pat, "them") ? name.rfind('_', 0) != 0 : glob(name, pattern(pat), false))
            n->sels.push_back(i);
        }
        if (n->sels.empty()) {
          err->reason = "undefined_identifier";
          err->detail = pat;
          return nullptr;
        }
        return n;
      }
      if (iequals(toks[pos], "near") || toks[pos] == "count") {
        err->reason = "deprecated_aggregation";
        return nullptr;
      }
      const std::string& name = toks[pos++];
      for (size_t i = 0; i < sels->size(); ++i) {
        if ((*sels)[i].name == name) {
          auto n = std::make_unique<CondNode>();
          n->t = CondNode::T::kSel;
          n->sels.push_back(i);
          return n;
        }
      }
      err->reason = "undefined_identifier";
      err->detail = name;
      return nullptr;
    }
    static std::string pattern(const std::string& p) {
      std::string out;
      for (char c : p) out += c == '*' ? '\x01' : c;
      return out;
    }
  };

  // --- rules -----------------------------------------------------------------------------
  void add_rule(const YAML::Node& doc, const std::string& origin, SigmaCheckReport& rep) {
    auto skip = [&](const std::string& reason, const std::string& detail,
                    const std::string& title) {
      ++rep.skipped;
      ++rep.skipped_by_reason[reason];
      if (rep.errors.size() < 2000)
        rep.errors.push_back(origin + ": rule '" + title + "': " + reason +
                             (detail.empty() ? "" : " (" + detail + ")"));
    };
    std::string title = doc["title"] ? doc["title"].as<std::string>("") : "";
    if (doc["correlation"]) {
      add_correlation(doc, origin, rep, skip);
      return;
    }
    if (doc["action"] && doc["action"].as<std::string>("") == "global") {
      skip("global_action_document", "", title);
      return;
    }
    if (doc["filter"] && !doc["detection"]) {
      skip("sigma_filter_document", "", title);
      return;
    }
    const YAML::Node det = doc["detection"];
    if (!det || !det.IsMap()) {
      skip("missing_detection", "", title);
      return;
    }
    auto rule = std::make_unique<Rule>();
    rule->origin = origin;
    rule->title = title;
    rule->id = doc["id"] ? doc["id"].as<std::string>("") : "";
    rule->name = doc["name"] ? doc["name"].as<std::string>("") : "";
    rule->level = doc["level"] ? doc["level"].as<std::string>("") : "medium";
    rule->status = doc["status"] ? doc["status"].as<std::string>("") : "";
    if (doc["tags"] && doc["tags"].IsSequence())
      for (const auto& t : doc["tags"]) rule->tags.push_back(t.as<std::string>(""));
    rule->severity = (rule->level == "critical" || rule->level == "high") ? 1
                     : rule->level == "medium"                            ? 2
                                                                          : 3;
    rule->sid = sigma_sid(rule->id.empty() ? title : rule->id);
    if (doc["generate"]) rule->generate_explicit = doc["generate"].as<bool>(false);
    std::string product, service, category;
    if (const auto ls = doc["logsource"]; ls && ls.IsMap()) {
      if (ls["product"]) product = ls["product"].as<std::string>("");
      if (ls["service"]) service = ls["service"].as<std::string>("");
      if (ls["category"]) category = ls["category"].as<std::string>("");
    }
    const Mapping* m = find_mapping(product, service, category);
    rule->map = m;
    RuleError err;
    std::string condition;
    for (const auto& kv : det) {
      std::string key = kv.first.Scalar();
      if (key == "condition") {
        if (kv.second.IsSequence()) {
          // Several conditions are OR-ed (Sigma 1.0 allowed a list).
          for (const auto& c : kv.second)
            condition += (condition.empty() ? "(" : " or (") + c.as<std::string>("") + ")";
        } else {
          condition = kv.second.as<std::string>("");
        }
        continue;
      }
      if (key == "timeframe") {
        err.reason = "deprecated_timeframe";
        break;
      }
      Selection sel;
      sel.name = key;
      const YAML::Node& v = kv.second;
      if (v.IsMap()) {
        sel.alternatives.emplace_back();
        compile_map(v, m, sel.alternatives.back(), err);
      } else if (v.IsSequence()) {
        bool all_maps = true, all_scalars = true;
        for (const auto& item : v) {
          if (item.IsMap())
            all_scalars = false;
          else
            all_maps = false;
        }
        if (all_maps) {
          for (const auto& item : v) {
            sel.alternatives.emplace_back();
            compile_map(item, m, sel.alternatives.back(), err);
            if (!err.reason.empty()) break;
          }
        } else if (all_scalars) {
          sel.keywords = true;
          for (const auto& item : v) {
            compile_value(item, {"contains"}, m, sel.keyword_values, err);
            if (!err.reason.empty()) break;
          }
        } else {
          err.reason = "mixed_selection_list";
        }
      } else if (v.IsScalar()) {
        sel.keywords = true;
        compile_value(v, {"contains"}, m, sel.keyword_values, err);
      } else {
        err.reason = "empty_selection";
        err.detail = key;
      }
      if (!err.reason.empty()) break;
      // Within an AND the order is free: normalised and syslog-key fields are a few
      // instructions, raw JSON lookups cost an index build, so cheap fields go first.
      for (auto& alt : sel.alternatives)
        std::stable_sort(alt.begin(), alt.end(), [](const FieldMatcher& a, const FieldMatcher& b) {
          auto cost = [](const FieldMatcher& f) {
            return f.field.kind == FieldRef::Kind::kNorm || f.field.kind == FieldRef::Kind::kKv ? 0
                                                                                                : 1;
          };
          return cost(a) < cost(b);
        });
      rule->sels.push_back(std::move(sel));
    }
    if (err.reason.empty() && condition.empty()) err.reason = "missing_condition";
    if (err.reason.empty()) {
      CondParser cp;
      cp.toks = CondParser::tokenize(condition);
      cp.sels = &rule->sels;
      cp.err = &err;
      rule->cond = cp.parse_or();
      if (rule->cond && cp.pos != cp.toks.size() && err.reason.empty())
        err.reason = cp.toks[cp.pos] == "|" ? "deprecated_aggregation" : "condition_syntax";
    }
    if (!err.reason.empty()) {
      skip(err.reason, err.detail, title);
      return;
    }
    std::string ls = (product.empty() ? "-" : product) + "/" + (service.empty() ? "-" : service) +
                     "/" + (category.empty() ? "-" : category);
    if (!m || m->sources.empty()) {
      // Compiled fine, but no komainu source produces this logsource.
      skip("unmapped_logsource", ls, title);
      return;
    }
    ++rep.loaded;
    ++rep.loaded_by_logsource[ls];
    if (Prefilter pf = cond_prefilter(*rule, *rule->cond); pf.ok) {
      rule->has_pre = true;
      rule->pre_field = pf.field;
      rule->pre_values = std::move(pf.values);
      auto extra = cond_prefilters(*rule, *rule->cond);
      // Cheapest first: normalised fields before raw lookups.
      std::stable_sort(extra.begin(), extra.end(), [](const Prefilter& a, const Prefilter& b) {
        return (a.field.raw == nullptr) > (b.field.raw == nullptr);
      });
      for (auto& x : extra)
        if (!(x.field == rule->pre_field) || x.values != rule->pre_values)
          rule->pre_extra.emplace_back(x.field, std::move(x.values));
    }
    size_t idx = rules.size();
    for (const auto& s : m->sources) source_rules(s).push_back(idx);
    rules.push_back(std::move(rule));
    index_dirty = true;
  }

  // All the necessary conditions cond_prefilter chooses from.
  static std::vector<Prefilter> cond_prefilters(const Rule& r, const CondNode& n) {
    switch (n.t) {
      case CondNode::T::kAnd: {
        auto a = cond_prefilters(r, *n.kids[0]);
        for (auto& x : cond_prefilters(r, *n.kids[1])) a.push_back(std::move(x));
        return a;
      }
      case CondNode::T::kOr:
        return either_all(cond_prefilters(r, *n.kids[0]), cond_prefilters(r, *n.kids[1]));
      case CondNode::T::kNot:
        return {};
      case CondNode::T::kSel:
        return selection_prefilters(r.sels[n.sels[0]]);
      case CondNode::T::kOneOf: {
        if (n.sels.empty()) return {};
        auto acc = selection_prefilters(r.sels[n.sels[0]]);
        for (size_t i = 1; i < n.sels.size(); ++i)
          acc = either_all(acc, selection_prefilters(r.sels[n.sels[i]]));
        return acc;
      }
      case CondNode::T::kAllOf: {
        std::vector<Prefilter> acc;
        for (size_t s : n.sels)
          for (auto& x : selection_prefilters(r.sels[s])) acc.push_back(std::move(x));
        return acc;
      }
    }
    return {};
  }

  static Prefilter cond_prefilter(const Rule& r, const CondNode& n) {
    switch (n.t) {
      case CondNode::T::kAnd:
        return Prefilter::better(cond_prefilter(r, *n.kids[0]), cond_prefilter(r, *n.kids[1]));
      case CondNode::T::kOr:
        return Prefilter::either(cond_prefilter(r, *n.kids[0]), cond_prefilter(r, *n.kids[1]));
      case CondNode::T::kNot:
        return {};
      case CondNode::T::kSel:
        return selection_prefilter(r.sels[n.sels[0]]);
      case CondNode::T::kOneOf: {
        if (n.sels.empty()) return {};
        Prefilter acc = selection_prefilter(r.sels[n.sels[0]]);
        for (size_t i = 1; i < n.sels.size(); ++i)
          acc = Prefilter::either(acc, selection_prefilter(r.sels[n.sels[i]]));
        return acc;
      }
      case CondNode::T::kAllOf: {
        Prefilter acc;
        for (size_t s : n.sels) acc = Prefilter::better(acc, selection_prefilter(r.sels[s]));
        return acc;
      }
    }
    return {};
  }

  template <typename Skip>
  void add_correlation(const YAML::Node& doc, const std::string& origin, SigmaCheckReport& rep,
                       Skip& skip) {
    std::string title = doc["title"] ? doc["title"].as<std::string>("") : "";
    const YAML::Node c = doc["correlation"];
    auto corr = std::make_unique<Correlation>();
    corr->title = title;
    corr->origin = origin;
    corr->id = doc["id"]     ? doc["id"].as<std::string>("")
               : doc["name"] ? doc["name"].as<std::string>("")
                             : title;
    corr->level = doc["level"] ? doc["level"].as<std::string>("") : "medium";
    corr->severity = (corr->level == "critical" || corr->level == "high") ? 1
                     : corr->level == "medium"                            ? 2
                                                                          : 3;
    if (doc["tags"] && doc["tags"].IsSequence())
      for (const auto& t : doc["tags"]) corr->tags.push_back(t.as<std::string>(""));
    corr->sid = sigma_sid(corr->id);
    std::string type = c["type"] ? c["type"].as<std::string>("") : "";
    if (type == "event_count")
      corr->type = Correlation::Type::kEventCount;
    else if (type == "value_count")
      corr->type = Correlation::Type::kValueCount;
    else if (type == "temporal")
      corr->type = Correlation::Type::kTemporal;
    else if (type == "temporal_ordered")
      corr->type = Correlation::Type::kTemporalOrdered;
    else {
      skip("unsupported_correlation:" + type, "", title);
      return;
    }
    if (c["rules"]) {
      if (c["rules"].IsSequence())
        for (const auto& r : c["rules"]) corr->rule_refs.push_back(r.as<std::string>(""));
      else
        corr->rule_refs.push_back(c["rules"].as<std::string>(""));
    }
    if (corr->rule_refs.empty()) {
      skip("correlation_without_rules", "", title);
      return;
    }
    if (c["group-by"]) {
      if (c["group-by"].IsSequence())
        for (const auto& g : c["group-by"]) corr->group_by.push_back(g.as<std::string>(""));
      else
        corr->group_by.push_back(c["group-by"].as<std::string>(""));
    }
    if (!c["timespan"] || !parse_duration(c["timespan"].as<std::string>(""), corr->timespan) ||
        corr->timespan <= 0) {
      skip("correlation_bad_timespan", "", title);
      return;
    }
    if (const auto cond = c["condition"]; cond && cond.IsMap()) {
      for (const auto& kv : cond) {
        std::string k = kv.first.as<std::string>("");
        if (k == "field") {
          corr->count_field = kv.second.as<std::string>("");
          continue;
        }
        int64_t n = kv.second.as<int64_t>(0);
        if (k == "gt")
          corr->has_gt = true, corr->gt = n;
        else if (k == "gte")
          corr->has_gte = true, corr->gte = n;
        else if (k == "lt")
          corr->has_lt = true, corr->lt = n;
        else if (k == "lte")
          corr->has_lte = true, corr->lte = n;
        else if (k == "eq")
          corr->has_eq = true, corr->eq = n;
        else {
          skip("correlation_bad_condition:" + k, "", title);
          return;
        }
      }
    } else if (corr->type == Correlation::Type::kEventCount ||
               corr->type == Correlation::Type::kValueCount) {
      skip("correlation_missing_condition", "", title);
      return;
    }
    if (corr->type == Correlation::Type::kValueCount && corr->count_field.empty()) {
      skip("correlation_value_count_without_field", "", title);
      return;
    }
    if (const auto al = c["aliases"]; al && al.IsMap()) {
      for (const auto& a : al) {
        if (!a.second.IsMap()) continue;
        for (const auto& rf : a.second) {
          // Bound to rule indices once every file is loaded.
          corr_alias_refs.push_back({correlations.size(), a.first.as<std::string>(""),
                                     rf.first.as<std::string>(""), rf.second.as<std::string>("")});
        }
      }
    }
    corr->groups = std::make_unique<BoundedMap<Correlation::Group>>(100000, corr->timespan * 2);
    ++rep.loaded;
    ++rep.correlations;
    ++rep.loaded_by_logsource["correlation"];
    correlations.push_back(std::move(corr));
  }

  struct AliasRef {
    size_t corr;
    std::string alias, rule_ref, field;
  };
  std::vector<AliasRef> corr_alias_refs;

  // Binds correlation rule references (by name or id) once all files are loaded. A
  // correlation whose rules are missing is unloaded and reported.
  void resolve_correlations(SigmaCheckReport& rep) {
    auto find_rule = [&](const std::string& ref) -> long {
      for (size_t i = 0; i < rules.size(); ++i)
        if (rules[i]->name == ref || rules[i]->id == ref) return long(i);
      return -1;
    };
    for (size_t ci = 0; ci < correlations.size(); ++ci) {
      auto& c = correlations[ci];
      if (!c || !c->rules.empty()) continue;
      bool ok = true;
      for (const auto& ref : c->rule_refs) {
        long r = find_rule(ref);
        if (r < 0) {
          ok = false;
          --rep.loaded;
          --rep.correlations;
          if (--rep.loaded_by_logsource["correlation"] == 0)
            rep.loaded_by_logsource.erase("correlation");
          ++rep.skipped;
          ++rep.skipped_by_reason["correlation_unknown_rule"];
          rep.errors.push_back(c->origin + ": correlation '" + c->title + "': rule '" + ref +
                               "' not loaded");
          break;
        }
        c->rules.push_back(size_t(r));
      }
      if (!ok) {
        c.reset();
        continue;
      }
      for (size_t r : c->rules) {
        rules[r]->correlations.push_back(ci);
        // Sigma 2: rules referenced by a correlation only alert when they say so.
        rules[r]->generate = rules[r]->generate_explicit;
      }
      c->aliases.clear();
      for (const auto& a : corr_alias_refs) {
        if (a.corr != ci) continue;
        long r = find_rule(a.rule_ref);
        if (r >= 0) c->aliases[a.alias][size_t(r)] = a.field;
      }
    }
  }

  // --- matching --------------------------------------------------------------------------
  std::string& next_scratch() {
    if (scratch_used == scratch.size()) scratch.emplace_back();
    return scratch[scratch_used++];
  }

  void raw_lookup(simdjson::dom::element e, const std::vector<std::string>& path, size_t i,
                  std::vector<std::string_view>& out) {
    if (i == path.size()) {
      if (e.is_string()) {
        out.push_back(e.get_string().value_unsafe());
      } else if (e.is_array()) {
        simdjson::dom::array arr = e.get_array().value_unsafe();
        for (simdjson::dom::element x : arr) raw_lookup(x, path, i, out);
      } else if (!e.is_null()) {
        std::string& s = next_scratch();
        s.clear();
        scalar_text(e, s);
        out.push_back(s);
      }
      return;
    }
    if (e.is_array()) {
      simdjson::dom::array arr = e.get_array().value_unsafe();
      for (simdjson::dom::element x : arr) raw_lookup(x, path, i, out);
      return;
    }
    if (!e.is_object()) return;
    auto r = get_ci(e.get_object().value_unsafe(), path[i]);
    if (r.error()) return;
    raw_lookup(r.value_unsafe(), path, i + 1, out);
  }

  // Values of a field in the event; empty when absent.
  void values(const LogEvent& ev, const FieldRef& f, std::vector<std::string_view>& out) {
    out.clear();
    switch (f.kind) {
      case FieldRef::Kind::kNorm: {
        std::string_view v;
        std::string& s = next_scratch();
        if (ev.get(f.nf, v, s)) out.push_back(v);
        return;
      }
      case FieldRef::Kind::kKv: {
        std::string_view v = ev.kv_get(f.path[0]);
        if (!v.empty()) out.push_back(v);
        return;
      }
      case FieldRef::Kind::kRaw:
      case FieldRef::Kind::kDefault:
        if (ev.has_json) {
          if (path_absent_gen[f.path_id] == event_gen) return;
          const bool props = f.kind == FieldRef::Kind::kDefault;
          const KeySlot& sl = key_slot(ev, f.slot);
          if (sl.found && (props || !sl.from_props)) {
            simdjson::dom::element e;
            if (!sl.listed_props || f.path.size() < 2)
              raw_lookup(sl.e, f.path, 1, out);
            else if (find_listed(ev.json_props, f.path[1], e))  // raw_lookup's first step
              raw_lookup(e, f.path, 2, out);
          }
          if (out.empty()) path_absent_gen[f.path_id] = event_gen;
        } else if (f.kind == FieldRef::Kind::kDefault) {
          for (const auto& [k, v] : ev.kv)
            if (iequals(k, f.name)) out.push_back(v);
        }
        return;
    }
  }

  bool match_value(const ValueMatcher& m, std::string_view v, const LogEvent& ev) {
    bool r = false;
    switch (m.op) {
      case Op::kEq:
        r = m.ci ? ci_eq(v, m.pat) : v == m.pat;
        break;
      case Op::kContains:
        r = m.ci ? contains_ci(v, m.pat) : cs_contains(v, m.pat);
        break;
      case Op::kStarts:
        r = v.size() >= m.pat.size() &&
            (m.ci ? ci_eq(v.substr(0, m.pat.size()), m.pat) : v.substr(0, m.pat.size()) == m.pat);
        break;
      case Op::kEnds:
        r = v.size() >= m.pat.size() && (m.ci ? ci_eq(v.substr(v.size() - m.pat.size()), m.pat)
                                              : v.substr(v.size() - m.pat.size()) == m.pat);
        break;
      case Op::kGlob:
        r = glob(v, m.pat, m.ci);
        break;
      case Op::kRegex: {
        if (!md) md = pcre2_match_data_create(16, nullptr);
        int rc = pcre2_match(m.re->code, reinterpret_cast<PCRE2_SPTR>(v.data()), v.size(), 0, 0, md,
                             nullptr);
        r = rc >= 0;
        break;
      }
      case Op::kCidr: {
        auto a = IpAddr::parse(clean_ip(v));
        r = a && m.cidr.contains(*a);
        break;
      }
      case Op::kLt:
      case Op::kLte:
      case Op::kGt:
      case Op::kGte: {
        double d;
        if (!to_number(v, d)) return false;
        r = m.op == Op::kLt    ? d < m.num
            : m.op == Op::kLte ? d <= m.num
            : m.op == Op::kGt  ? d > m.num
                               : d >= m.num;
        break;
      }
      case Op::kTimePart: {
        TimeNs t;
        if (!parse_any_time(v, t)) return false;
        int64_t secs = t / kNsPerSec;
        int64_t days = secs / 86400;
        const CivilDate date = civil_from_days(days);
        const int64_t y = date.year;
        const unsigned mo = date.month, d = date.day;
        double part = 0;
        switch (m.time_part) {
          case 1:
            part = double((secs / 60) % 60);
            break;
          case 2:
            part = double((secs / 3600) % 24);
            break;
          case 3:
            part = d;
            break;
          case 4:
            part = double((doy_of(y, mo, d) / 7) + 1);
            break;
          case 5:
            part = mo;
            break;
          case 6:
            part = double(y);
            break;
        }
        switch (m.num_op) {
          case Op::kLt:
            r = part < m.num;
            break;
          case Op::kLte:
            r = part <= m.num;
            break;
          case Op::kGt:
            r = part > m.num;
            break;
          case Op::kGte:
            r = part >= m.num;
            break;
          default:
            r = part == m.num;
        }
        break;
      }
      case Op::kFieldRef: {
        std::vector<std::string_view> other;
        values(ev, m.other, other);
        for (auto o : other)
          if (m.ci ? iequals(v, o) : v == o) r = true;
        break;
      }
      case Op::kExists:
      case Op::kNull:
        break;
    }
    return m.negate ? !r : r;
  }

  static int64_t doy_of(int64_t y, unsigned m, unsigned d) {
    return days_from_civil(y, m, d) - days_from_civil(y, 1, 1);
  }

  bool match_field(const FieldMatcher& fm, const LogEvent& ev) {
    std::vector<std::string_view>& vals_local = field_vals;
    if (fm.field.name.empty()) {
      vals_local.push_back(ev.raw);
    } else {
      values(ev, fm.field, vals_local);
    }
    if (fm.all) {
      for (const auto& vm : fm.values)
        if (!match_one(vm, vals_local, ev)) return false;
      return true;
    }
    for (const auto& vm : fm.values)
      if (match_one(vm, vals_local, ev)) return true;
    return false;
  }

  bool match_one(const ValueMatcher& vm, const std::vector<std::string_view>& vals_local,
                 const LogEvent& ev) {
    if (vm.op == Op::kExists) return vals_local.empty() != vm.exists;
    if (vm.op == Op::kNull) {
      bool empty = vals_local.empty() || (vals_local.size() == 1 && vals_local[0].empty());
      return vm.negate ? !empty : empty;
    }
    for (auto v : vals_local)
      if (match_value(vm, v, ev)) return true;
    return false;
  }

  bool match_sel(const Rule& r, size_t i, const LogEvent& ev) {
    int8_t& c = sel_cache[i];
    if (c >= 0) return c;
    const Selection& s = r.sels[i];
    bool res = false;
    if (s.keywords) {
      std::vector<std::string_view>& whole = keyword_vals;
      whole.assign(1, ev.raw);
      if (!ev.message.empty() && ev.message.data() != ev.raw.data()) whole.push_back(ev.message);
      for (const auto& vm : s.keyword_values)
        if (match_one(vm, whole, ev)) {
          res = true;
          break;
        }
    } else {
      for (const auto& alt : s.alternatives) {
        bool all = true;
        for (const auto& fm : alt)
          if (!match_field(fm, ev)) {
            all = false;
            break;
          }
        if (all) {
          res = true;
          break;
        }
      }
    }
    c = res;
    return res;
  }

  bool eval(const Rule& r, const CondNode& n, const LogEvent& ev) {
    switch (n.t) {
      case CondNode::T::kAnd:
        return eval(r, *n.kids[0], ev) && eval(r, *n.kids[1], ev);
      case CondNode::T::kOr:
        return eval(r, *n.kids[0], ev) || eval(r, *n.kids[1], ev);
      case CondNode::T::kNot:
        return !eval(r, *n.kids[0], ev);
      case CondNode::T::kSel:
        return match_sel(r, n.sels[0], ev);
      case CondNode::T::kOneOf:
        for (size_t s : n.sels)
          if (match_sel(r, s, ev)) return true;
        return false;
      case CondNode::T::kAllOf:
        for (size_t s : n.sels)
          if (!match_sel(r, s, ev)) return false;
        return true;
    }
    return false;
  }

  void alert(const Rule* r, const Correlation* c, const LogEvent& ev, EventSink& sink,
             const std::string& evidence) {
    AlertRecord a;
    a.ts = ev.ts;
    a.alert.gid = kSigmaGid;
    a.alert.signature_id = r ? r->sid : c->sid;
    a.alert.signature = r ? r->title : c->title;
    a.alert.category = "Sigma";
    a.alert.severity = r ? r->severity : c->severity;
    auto& md_ = a.alert.metadata;
    md_.push_back({"sigma_id", {r ? r->id : c->id}});
    md_.push_back({"sigma_level", {r ? r->level : c->level}});
    if (c) md_.push_back({"sigma_correlation", {c->origin}});
    const auto& tags = r ? r->tags : c->tags;
    std::vector<std::string> tactics, techniques, other;
    for (const auto& t : tags) {
      if (t.rfind("attack.", 0) != 0) {
        other.push_back(t);
        continue;
      }
      std::string rest = t.substr(7);
      if ((rest[0] == 't' || rest[0] == 'T') && rest.size() > 1 && isdigit(uint8_t(rest[1]))) {
        std::string id = rest;
        for (auto& ch : id) ch = char(toupper(uint8_t(ch)));
        techniques.push_back(id);
      } else if (const char* ta = tactic_id(rest)) {
        if (std::find(tactics.begin(), tactics.end(), ta) == tactics.end()) tactics.push_back(ta);
      } else {
        other.push_back(t);
      }
    }
    if (!tactics.empty()) md_.push_back({"mitre_tactic_id", tactics});
    if (!techniques.empty()) md_.push_back({"mitre_technique_id", techniques});
    if (!other.empty()) md_.push_back({"tags", other});
    if (!ev.user.empty()) {
      md_.push_back({"user", {ev.user}});
      auto d = user_domain(ev.user);
      if (!d.empty()) md_.push_back({"domain", {std::string(d)}});
    }
    if (!ev.src_ip.empty()) md_.push_back({"ip", {ev.src_ip}});
    if (!ev.host.empty()) md_.push_back({"host", {ev.host}});
    md_.push_back({"log_kind", {std::string(ev.kind)}});
    a.src_ip = ev.src_ip;
    if (!evidence.empty()) a.extra_json.emplace_back("evidence", evidence);
    std::string log;
    JsonWriter w(log);
    ev.write_json(w, true);
    a.extra_json.emplace_back("log", std::move(log));
    ++alerts;
    sink.publish(a);
  }

  std::string group_key(const Correlation& c, size_t rule, const LogEvent& ev,
                        std::vector<std::string>* parts) {
    std::string key;
    for (const auto& g : c.group_by) {
      std::string field = g;
      auto al = c.aliases.find(g);
      if (al != c.aliases.end()) {
        auto it = al->second.find(rule);
        if (it != al->second.end()) field = it->second;
      }
      FieldRef f = resolve_field(field, rules[rule]->map);
      std::vector<std::string_view> v;
      values(ev, f, v);
      std::string val = v.empty() ? "" : std::string(v[0]);
      key += val;
      key += '\x1f';
      if (parts) parts->push_back(g + "=" + val);
    }
    return key;
  }

  void feed_correlation(Correlation& c, size_t rule, const LogEvent& ev, EventSink& sink) {
    std::string key = group_key(c, rule, ev, nullptr);
    auto& g = c.groups->touch(key, ev.ts);
    TimeNs from = ev.ts - c.timespan;
    bool fire = false;
    int64_t n = 0;
    switch (c.type) {
      case Correlation::Type::kEventCount:
        g.times.push_back(ev.ts);
        g.times.erase(g.times.begin(), std::find_if(g.times.begin(), g.times.end(),
                                                    [&](TimeNs t) { return t >= from; }));
        n = int64_t(g.times.size());
        fire = c.cond_ok(n);
        break;
      case Correlation::Type::kValueCount: {
        std::vector<std::string_view> v;
        values(ev, resolve_field(c.count_field, rules[rule]->map), v);
        if (v.empty()) return;
        std::erase_if(g.values, [&](const auto& p) { return p.second < from; });
        bool found = false;
        for (auto& p : g.values)
          if (p.first == v[0]) {
            p.second = ev.ts;
            found = true;
          }
        if (!found && g.values.size() < 100000) g.values.emplace_back(std::string(v[0]), ev.ts);
        n = int64_t(g.values.size());
        fire = c.cond_ok(n);
        break;
      }
      case Correlation::Type::kTemporal:
      case Correlation::Type::kTemporalOrdered: {
        if (g.last.empty()) g.last.assign(c.rules.size(), INT64_MIN);
        for (size_t i = 0; i < c.rules.size(); ++i)
          if (c.rules[i] == rule) g.last[i] = ev.ts;
        fire = true;
        for (size_t i = 0; i < c.rules.size() && fire; ++i) {
          if (g.last[i] == INT64_MIN || g.last[i] < from) fire = false;
          if (c.type == Correlation::Type::kTemporalOrdered && i > 0 && g.last[i] < g.last[i - 1])
            fire = false;
        }
        n = int64_t(c.rules.size());
        break;
      }
    }
    if (!fire) return;
    ++c.fired;
    std::vector<std::string> parts;
    group_key(c, rule, ev, &parts);
    std::string evidence;
    JsonWriter w(evidence);
    w.begin_object();
    w.kv("correlation_type", c.type == Correlation::Type::kEventCount   ? "event_count"
                             : c.type == Correlation::Type::kValueCount ? "value_count"
                             : c.type == Correlation::Type::kTemporal   ? "temporal"
                                                                        : "temporal_ordered");
    w.kv("count", n);
    w.kv("timespan_s", int64_t(c.timespan / kNsPerSec));
    w.key("group").begin_array();
    for (const auto& p : parts) w.value(std::string_view(p));
    w.end_array();
    w.key("rules").begin_array();
    for (size_t r : c.rules)
      w.value(std::string_view(rules[r]->id.empty() ? rules[r]->title : rules[r]->id));
    w.end_array();
    w.end_object();
    alert(nullptr, &c, ev, sink, evidence);
    // Start a new window so one burst raises one alert.
    g.times.clear();
    g.values.clear();
    g.last.assign(c.rules.size(), INT64_MIN);
  }

  // The values a prefilter compares: the normalised field, or the raw field as its
  // matcher reads it (views valid until scratch_used is reset).
  std::vector<std::string_view> pre_vals;
  const std::vector<std::string_view>& pre_values_of(const PreKey& k, const LogEvent& ev) {
    pre_vals.clear();
    if (k.raw) {
      values(ev, *k.raw, pre_vals);
    } else {
      std::string_view v;
      if (ev.get(k.nf, v, next_scratch())) pre_vals.push_back(v);
    }
    return pre_vals;
  }

  bool extra_prefilters_pass(const Rule& r, const LogEvent& ev) {
    for (const auto& [field, values] : r.pre_extra) {
      bool any = false;
      for (std::string_view v : pre_values_of(field, ev)) {
        for (const auto& p : values)
          if (iequals(v, p)) {
            any = true;
            break;
          }
        if (any) break;
      }
      if (!any) return false;
    }
    return true;
  }

  void on_event(const LogEvent& ev, EventSink& sink) {
    ++events;
    if (++event_gen == 0) {
      // Generation wrapped: clear so stale lookups cannot look current.
      for (auto& sl : slots) sl.gen = 0;
      std::fill(path_absent_gen.begin(), path_absent_gen.end(), 0);
      props_gen = 0;
      event_gen = 1;
    }
    if (index_dirty) build_indexes();
    size_t si = 0;
    while (si < by_source.size() && by_source[si].first != ev.kind) ++si;
    if (si == by_source.size()) return;
    const std::vector<size_t>& list = by_source[si].second;
    SourceIndex& x = indexes[si];
    std::fill(x.mask.begin(), x.mask.end(), 0);
    for (uint32_t pos : x.always) x.mask[pos / 64] |= uint64_t(1) << (pos % 64);
    scratch_used = 0;
    for (const PreField& pf : x.fields) {
      const std::vector<std::string_view>& vs = pre_values_of(pf.field, ev);
      for (const PreValue& pv : pf.values)
        for (std::string_view v : vs)
          if (iequals(v, pv.value)) {
            for (uint32_t pos : pv.positions) x.mask[pos / 64] |= uint64_t(1) << (pos % 64);
            break;
          }
    }
    for (size_t w = 0; w < x.mask.size(); ++w) {
      for (uint64_t bits = x.mask[w]; bits; bits &= bits - 1) {
        const size_t idx = list[w * 64 + size_t(__builtin_ctzll(bits))];
        Rule& r = *rules[idx];
        scratch_used = 0;
        if (!extra_prefilters_pass(r, ev)) continue;
        sel_cache.assign(r.sels.size(), -1);
        if (!eval(r, *r.cond, ev)) continue;
        ++r.matches;
        if (r.generate) alert(&r, nullptr, ev, sink, "");
        for (size_t ci : r.correlations)
          if (correlations[ci]) feed_correlation(*correlations[ci], idx, ev, sink);
      }
    }
  }
};

SigmaEngine::SigmaEngine() : impl_(std::make_unique<Impl>()) {
  std::string err;
  impl_->load_mapping(YAML::Load(std::string(kBuiltinSigmaMapping)), &err);
}

SigmaEngine::~SigmaEngine() = default;

bool SigmaEngine::configure(const SigmaLoadOptions& opts, std::string* error) {
  const YAML::Node& c = opts.config;
  if (!c || !c.IsMap()) return true;
  try {
    if (c["mapping"]) {
      std::string file = c["mapping"].as<std::string>();
      YAML::Node m;
      try {
        m = YAML::LoadFile(file);
      } catch (const YAML::Exception& e) {
        if (error) *error = file + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg;
        return false;
      }
      if (!impl_->load_mapping(m, error)) {
        if (error) *error = file + ": " + *error;
        return false;
      }
    }
    if (c["placeholders"] && c["placeholders"].IsMap())
      for (const auto& p : c["placeholders"]) {
        auto& v = impl_->placeholders[p.first.as<std::string>()];
        if (p.second.IsSequence())
          for (const auto& x : p.second) v.push_back(x.as<std::string>());
        else
          v.push_back(p.second.as<std::string>());
      }
  } catch (const YAML::Exception& e) {
    if (error) *error = "sigma config line " + std::to_string(e.mark.line + 1) + ": " + e.msg;
    return false;
  }
  return true;
}

void SigmaEngine::load_text(const std::string& yaml, const std::string& origin) {
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAll(yaml);
  } catch (const YAML::Exception& e) {
    ++report_.skipped;
    ++report_.skipped_by_reason["yaml_error"];
    report_.errors.push_back(origin + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
    return;
  }
  for (size_t i = 0; i < docs.size(); ++i) {
    const YAML::Node& d = docs[i];
    if (!d || d.IsNull()) continue;
    std::string where = origin + (docs.size() > 1 ? "#" + std::to_string(i + 1) : "");
    if (!d.IsMap()) {
      ++report_.skipped;
      ++report_.skipped_by_reason["not_a_rule"];
      report_.errors.push_back(where + ": not a YAML map");
      continue;
    }
    try {
      impl_->add_rule(d, where, report_);
    } catch (const YAML::Exception& e) {
      ++report_.skipped;
      ++report_.skipped_by_reason["yaml_type_error"];
      report_.errors.push_back(where + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
    }
  }
  impl_->resolve_correlations(report_);
}

void SigmaEngine::load_path(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::vector<std::string> files;
  if (fs::is_directory(path, ec)) {
    for (auto it = fs::recursive_directory_iterator(path, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (!it->is_regular_file()) continue;
      auto ext = it->path().extension().string();
      if (ext == ".yml" || ext == ".yaml") files.push_back(it->path().string());
    }
    std::sort(files.begin(), files.end());
  } else {
    files.push_back(path);
  }
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    if (!in) {
      report_.errors.push_back(f + ": cannot read");
      continue;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    load_text(ss.str(), f);
  }
}

void SigmaEngine::on_event(const LogEvent& ev, EventSink& sink) {
  impl_->on_event(ev, sink);
}

void SigmaEngine::finish(EventSink&) {}

uint64_t SigmaEngine::alerts() const {
  return impl_->alerts;
}

void SigmaEngine::write_stats(JsonWriter& w) const {
  w.begin_object();
  w.kv("rules_loaded", report_.loaded);
  w.kv("rules_skipped", report_.skipped);
  w.kv("events_evaluated", impl_->events);
  w.kv("alerts", impl_->alerts);
  uint64_t evictions = 0;
  for (const auto& c : impl_->correlations)
    if (c) evictions += c->groups->evictions();
  w.kv("correlation_group_evictions", evictions);
  w.key("matches_by_rule").begin_object();
  for (const auto& r : impl_->rules)
    if (r->matches) w.kv(r->id.empty() ? r->title : r->id, r->matches);
  w.end_object();
  w.end_object();
}

bool sigma_check_report(const std::vector<std::string>& paths, SigmaCheckReport& out,
                        const std::string& config_file, std::string* error) {
  SigmaEngine e;
  if (!config_file.empty()) {
    SigmaLoadOptions o;
    try {
      YAML::Node c = YAML::LoadFile(config_file);
      o.config = c["sigma"];
    } catch (const YAML::Exception& ex) {
      if (error) *error = config_file + ":" + std::to_string(ex.mark.line + 1) + ": " + ex.msg;
      return false;
    }
    if (!e.configure(o, error)) return false;
  }
  for (const auto& p : paths) e.load_path(p);
  out = e.report();
  return true;
}

bool sigma_check(const std::vector<std::string>& paths, std::string& json_out,
                 const std::string& config_file) {
  SigmaCheckReport r;
  std::string err;
  json_out.clear();
  JsonWriter w(json_out);
  if (!sigma_check_report(paths, r, config_file, &err)) {
    w.begin_object().kv("error", err).end_object();
    return false;
  }
  r.write_json(w);
  return r.loaded + r.skipped > 0;
}

}  // namespace komainu::logs
