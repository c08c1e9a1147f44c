// content and its modifiers, isdataat, bsize, urilen.
#include "detect/signatures/inspect.h"
#include "detect/signatures/keyword.h"

namespace komainu::sig {
namespace {

void add_item(ParseState& st, InspectItem item) {
  auto& l = st.current();
  l.items.push_back(std::move(item));
  st.last_list = st.current_list;
  st.last_item = static_cast<int>(l.items.size() - 1);
}

bool parse_content(ParseState& st, std::string_view v, std::string& err) {
  Content c;
  v = trim(v);
  if (!v.empty() && v[0] == '!') {
    c.negated = true;
    v = trim(v.substr(1));
  }
  // Snort 3: content:"x",nocase,within 10 -- options after the closing quote.
  std::string_view inline_opts;
  if (!v.empty() && v[0] == '"') {
    size_t q = 1;
    while (q < v.size() && v[q] != '"') q += v[q] == '\\' ? 2 : 1;
    if (q + 1 < v.size()) {
      inline_opts = trim(v.substr(q + 1));
      v = v.substr(0, q + 1);
      if (inline_opts.empty() || inline_opts[0] != ',') {
        err = "unexpected text after the content string";
        return false;
      }
      inline_opts.remove_prefix(1);
    }
  }
  if (!decode_content(v, c.pattern, err)) return false;
  if (c.pattern.empty()) {
    err = "empty content";
    return false;
  }
  add_item(st, std::move(c));
  st.content_list = st.last_list;
  st.content_item = st.last_item;
  if (inline_opts.empty()) return true;
  for (auto o : split_args(inline_opts)) {
    auto sp = o.find(' ');
    auto name = trim(o.substr(0, sp));
    auto arg = sp == std::string_view::npos ? std::string_view{} : trim(o.substr(sp + 1));
    const KeywordApi* kw = KeywordRegistry::find(name);
    if (!kw) {
      if (st.unsupported.empty()) st.unsupported = std::string(name);
      continue;
    }
    const KeywordApi* saved = st.kw;
    st.kw = kw;
    bool ok = kw->parse(st, arg, err);
    st.kw = saved;
    if (!ok) {
      err = std::string(name) + ": " + err;
      return false;
    }
  }
  return true;
}

Content* need_content(ParseState& st, std::string& err) {
  Content* c = st.last_content();
  if (!c) err = "must follow a content";
  return c;
}

bool no_value(std::string_view v, std::string& err) {
  if (v.empty()) return true;
  err = "takes no value";
  return false;
}

bool parse_nocase(ParseState& st, std::string_view v, std::string& err) {
  Content* c = need_content(st, err);
  if (!c || !no_value(v, err)) return false;
  c->nocase = true;
  return true;
}

bool parse_rawbytes(ParseState& st, std::string_view v, std::string& err) {
  // Suricata ignores rawbytes (it has no normalised payload); so do we.
  return need_content(st, err) && no_value(v, err);
}

bool conflicts_absolute(const Content& c, std::string& err) {
  if (c.has_distance || c.has_within) {
    err = "cannot mix depth/offset with distance/within on one content";
    return true;
  }
  if (c.startswith) {
    err = "startswith cannot be combined with depth/offset";
    return true;
  }
  return false;
}
bool conflicts_relative(const Content& c, std::string& err) {
  if (c.has_depth || c.has_offset) {
    err = "cannot mix distance/within with depth/offset on one content";
    return true;
  }
  if (c.startswith) {
    err = "startswith cannot be combined with distance/within";
    return true;
  }
  return false;
}

bool parse_depth(ParseState& st, std::string_view v, std::string& err) {
  Content* c = need_content(st, err);
  if (!c || conflicts_absolute(*c, err) || !st.value(v, c->depth, err)) return false;
  if (c->has_depth) {
    err = "depth given twice";
    return false;
  }
  if (c->depth.var < 0 && c->depth.v < int64_t(c->pattern.size())) {
    err = "depth is smaller than the content";
    return false;
  }
  c->has_depth = true;
  return true;
}

bool parse_offset(ParseState& st, std::string_view v, std::string& err) {
  Content* c = need_content(st, err);
  if (!c || conflicts_absolute(*c, err) || !st.value(v, c->offset, err)) return false;
  if (c->has_offset) {
    err = "offset given twice";
    return false;
  }
  if (c->offset.var < 0 && c->offset.v < 0) {
    err = "negative offset";
    return false;
  }
  c->has_offset = true;
  return true;
}

bool parse_distance(ParseState& st, std::string_view v, std::string& err) {
  Content* c = need_content(st, err);
  if (!c || conflicts_relative(*c, err) || !st.value(v, c->distance, err)) return false;
  if (c->has_distance) {
    err = "distance given twice";
    return false;
  }
  c->has_distance = true;
  return true;
}

bool parse_within(ParseState& st, std::string_view v, std::string& err) {
  Content* c = need_content(st, err);
  if (!c || conflicts_relative(*c, err) || !st.value(v, c->within, err)) return false;
  if (c->has_within) {
    err = "within given twice";
    return false;
  }
  if (c->within.var < 0 && c->within.v < int64_t(c->pattern.size())) {
    err = "within is smaller than the content";
    return false;
  }
  c->has_within = true;
  return true;
}

bool parse_startswith(ParseState& st, std::string_view v, std::string& err) {
  Content* c = need_content(st, err);
  if (!c || !no_value(v, err)) return false;
  if (c->has_depth || c->has_offset || c->has_distance || c->has_within) {
    err = "startswith cannot be combined with depth/offset/distance/within";
    return false;
  }
  c->startswith = true;
  return true;
}

bool parse_endswith(ParseState& st, std::string_view v, std::string& err) {
  Content* c = need_content(st, err);
  if (!c || !no_value(v, err)) return false;
  c->endswith = true;
  return true;
}

// fast_pattern; fast_pattern:only; fast_pattern:<offset>,<length>;
bool parse_fast_pattern(ParseState& st, std::string_view v, std::string& err) {
  Content* c = need_content(st, err);
  if (!c) return false;
  for (auto& l : st.sig.lists)
    for (auto& i : l.items)
      if (auto* o = std::get_if<Content>(&i); o && o != c && o->fast_pattern) {
        err = "only one content can be the fast_pattern";
        return false;
      }
  c->fast_pattern = true;
  v = trim(v);
  if (v.empty()) return true;
  if (v == "only") {
    c->fast_pattern_only = true;
    return true;
  }
  auto a = split_args(v);
  int64_t off, len;
  if (a.size() != 2 || !parse_int(a[0], off) || !parse_int(a[1], len) || off < 0 || len <= 0 ||
      off + len > int64_t(c->pattern.size())) {
    err = "bad fast_pattern chop '" + std::string(v) + "'";
    return false;
  }
  c->fp_chop_offset = static_cast<int>(off);
  c->fp_chop_len = static_cast<int>(len);
  return true;
}

// isdataat:[!]n[,relative][,rawbytes]
bool parse_isdataat(ParseState& st, std::string_view v, std::string& err) {
  IsDataAt d;
  auto a = split_args(v);
  std::string_view n = a[0];
  if (!n.empty() && n[0] == '!') {
    d.negated = true;
    n = trim(n.substr(1));
  }
  if (!st.value(n, d.n, err)) return false;
  for (size_t i = 1; i < a.size(); ++i) {
    if (a[i] == "relative") {
      d.relative = true;
    } else if (a[i] != "rawbytes") {
      err = "unknown option '" + std::string(a[i]) + "'";
      return false;
    }
  }
  add_item(st, d);
  return true;
}

bool parse_bsize(ParseState& st, std::string_view v, std::string& err) {
  if (st.current_list < 0) {
    err = "needs a sticky buffer";
    return false;
  }
  Bsize b;
  if (!parse_numcmp(v, b.cmp, err)) return false;
  add_item(st, b);
  return true;
}

// urilen:[<>]n | a<>b [,norm|raw]: the length of the (normalised or raw) URI.
bool parse_urilen(ParseState& st, std::string_view v, std::string& err) {
  auto a = split_args(v);
  Bsize b;
  if (!parse_numcmp(a[0], b.cmp, err)) return false;
  int buf = buffer_id("http.uri");
  if (a.size() > 1) {
    if (a[1] == "raw") {
      buf = buffer_id("http.uri.raw");
    } else if (a[1] != "norm") {
      err = "expected norm or raw";
      return false;
    }
  }
  if (st.sig.app_proto.empty()) st.sig.app_proto = "http";
  st.sig.lists.push_back(BufferList::of(static_cast<uint16_t>(buf)));
  st.sig.lists.back().items.push_back(b);
  return true;
}

const Registration<KeywordApi> r1{{.name = "content", .parse = parse_content, .matches = true}};
const Registration<KeywordApi> r2{{.name = "nocase", .parse = parse_nocase, .matches = true}};
const Registration<KeywordApi> r3{{.name = "depth", .parse = parse_depth, .matches = true}};
const Registration<KeywordApi> r4{{.name = "offset", .parse = parse_offset, .matches = true}};
const Registration<KeywordApi> r5{{.name = "distance", .parse = parse_distance, .matches = true}};
const Registration<KeywordApi> r6{{.name = "within", .parse = parse_within, .matches = true}};
const Registration<KeywordApi> r7{
    {.name = "startswith", .parse = parse_startswith, .matches = true}};
const Registration<KeywordApi> r8{{.name = "endswith", .parse = parse_endswith, .matches = true}};
const Registration<KeywordApi> r9{
    {.name = "fast_pattern", .parse = parse_fast_pattern, .matches = true}};
const Registration<KeywordApi> r10{
    {.name = "rawbytes", .parse = parse_rawbytes, .matches = true, .note = "ignored, as Suricata"}};
const Registration<KeywordApi> r11{{.name = "isdataat", .parse = parse_isdataat, .matches = true}};
const Registration<KeywordApi> r12{{.name = "bsize", .parse = parse_bsize, .matches = true}};
const Registration<KeywordApi> r13{{.name = "urilen", .parse = parse_urilen, .matches = true}};
const Registration<KeywordApi> r14{
    {.name = "bufferlen", .parse = parse_bsize, .matches = true, .note = "Snort 3 name of bsize"}};
// Snort 3 service:http,ssl -- the services a rule is written for. Informational here: the
// header ports and the buffers the rule inspects decide, as for Suricata rules.
bool parse_service(ParseState&, std::string_view v, std::string& err) {
  if (trim(v).empty()) {
    err = "needs a service name";
    return false;
  }
  return true;
}
const Registration<KeywordApi> r15{
    {.name = "service", .parse = parse_service, .matches = true, .note = "Snort 3; informational"}};

}  // namespace
}  // namespace komainu::sig
