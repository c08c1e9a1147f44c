// Rule metadata: msg, sid, rev, gid, classtype, reference, metadata, priority, target,
// noalert, tag.
#include "detect/signatures/classification.h"
#include "detect/signatures/keyword.h"

namespace komainu::sig {
namespace {

bool parse_msg(ParseState& st, std::string_view v, std::string& err) {
  v = trim(v);
  if (v.size() < 2 || v.front() != '"' || v.back() != '"') {
    err = "msg must be a quoted string";
    return false;
  }
  v = v.substr(1, v.size() - 2);
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] == '\\' && i + 1 < v.size()) ++i;
    out.push_back(v[i]);
  }
  st.sig.msg = std::move(out);
  return true;
}

bool parse_u32(std::string_view v, uint32_t& out, std::string& err, bool allow_zero) {
  uint64_t n;
  if (!parse_uint(unquote(v), n) || n > UINT32_MAX || (!allow_zero && n == 0)) {
    err = "expected a positive number, got '" + std::string(v) + "'";
    return false;
  }
  out = static_cast<uint32_t>(n);
  return true;
}

bool parse_sid(ParseState& st, std::string_view v, std::string& err) {
  return parse_u32(v, st.sig.sid, err, false);
}
bool parse_rev(ParseState& st, std::string_view v, std::string& err) {
  return parse_u32(v, st.sig.rev, err, true);
}
bool parse_gid(ParseState& st, std::string_view v, std::string& err) {
  return parse_u32(v, st.sig.gid, err, true);
}
bool parse_priority(ParseState& st, std::string_view v, std::string& err) {
  uint32_t p;
  if (!parse_u32(v, p, err, false)) return false;
  if (p > 255) {
    err = "priority out of range";
    return false;
  }
  st.sig.priority = static_cast<int>(p);
  st.sig.priority_set = true;
  return true;
}

bool parse_classtype(ParseState& st, std::string_view v, std::string& err) {
  v = trim(v);
  if (v.empty()) {
    err = "empty classtype";
    return false;
  }
  if (st.classes && !st.classes->find(v)) {
    err = "unknown classtype '" + std::string(v) + "'";
    return false;
  }
  st.sig.classtype = std::string(v);
  return true;
}

bool parse_reference(ParseState& st, std::string_view v, std::string& err) {
  auto comma = v.find(',');
  if (comma == std::string_view::npos) {
    err = "expected 'type,value'";
    return false;
  }
  st.sig.references.push_back(
      {std::string(trim(v.substr(0, comma))), std::string(trim(v.substr(comma + 1)))});
  return true;
}

// "key value, key value": Suricata renders each as alert.metadata.key = [values].
bool parse_metadata(ParseState& st, std::string_view v, std::string&) {
  for (auto item : split_args(v)) {
    if (item.empty()) continue;
    auto sp = item.find(' ');
    std::string key(trim(item.substr(0, sp)));
    std::string val(sp == std::string_view::npos ? "" : trim(item.substr(sp + 1)));
    st.sig.metadata.emplace_back(std::move(key), std::move(val));
  }
  return true;
}

bool parse_target(ParseState& st, std::string_view v, std::string& err) {
  v = trim(v);
  if (v != "src_ip" && v != "dest_ip") {
    err = "target must be src_ip or dest_ip";
    return false;
  }
  st.sig.target = std::string(v);
  return true;
}

bool parse_noalert(ParseState& st, std::string_view v, std::string& err) {
  if (!v.empty()) {
    err = "takes no value";
    return false;
  }
  st.sig.noalert = true;
  return true;
}

// tag:session|host, count, packets|seconds|bytes [, src|dst]
bool parse_tag(ParseState&, std::string_view v, std::string& err) {
  auto a = split_args(v);
  if (a.empty() || (a[0] != "session" && a[0] != "host")) {
    err = "expected session or host";
    return false;
  }
  if (a.size() >= 2) {
    uint64_t n;
    if (!parse_uint(a[1], n)) {
      err = "bad tag count";
      return false;
    }
    if (a.size() < 3 || (a[2] != "packets" && a[2] != "seconds" && a[2] != "bytes")) {
      err = "expected packets, seconds or bytes";
      return false;
    }
  }
  return true;
}

const Registration<KeywordApi> r1{{.name = "msg", .parse = parse_msg, .matches = true}};
const Registration<KeywordApi> r2{{.name = "sid", .parse = parse_sid, .matches = true}};
const Registration<KeywordApi> r3{{.name = "rev", .parse = parse_rev, .matches = true}};
const Registration<KeywordApi> r4{{.name = "gid", .parse = parse_gid, .matches = true}};
const Registration<KeywordApi> r5{{.name = "classtype", .parse = parse_classtype, .matches = true}};
const Registration<KeywordApi> r6{{.name = "reference", .parse = parse_reference, .matches = true}};
const Registration<KeywordApi> r7{{.name = "metadata", .parse = parse_metadata, .matches = true}};
const Registration<KeywordApi> r8{{.name = "priority", .parse = parse_priority, .matches = true}};
const Registration<KeywordApi> r9{{.name = "target", .parse = parse_target, .matches = true}};
const Registration<KeywordApi> r10{{.name = "noalert", .parse = parse_noalert, .matches = true}};
const Registration<KeywordApi> r11{
    {.name = "tag",
     .parse = parse_tag,
     .matches = true,
     .note = "validated; the alert fires, follow-up packets are not tagged"}};

}  // namespace
}  // namespace komainu::sig
