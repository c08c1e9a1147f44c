// Flow-level keywords: flow, flowbits, flowint, stream_size, app-layer-protocol,
// app-layer-event, threshold, detection_filter.
#include "detect/signatures/keyword.h"

namespace komainu::sig {
namespace {

bool parse_flow(ParseState& st, std::string_view v, std::string& err) {
  auto& f = st.sig.flow;
  for (auto o : split_args(v)) {
    if (o == "to_server" || o == "from_client")
      f.to_server = true;
    else if (o == "to_client" || o == "from_server")
      f.to_client = true;
    else if (o == "established")
      f.established = true;
    else if (o == "not_established")
      f.not_established = true;
    else if (o == "stateless")
      f.stateless = true;
    else if (o == "only_stream")
      f.only_stream = true;
    else if (o == "no_stream")
      f.no_stream = true;
    else if (o == "only_frag")
      f.only_frag = true;
    else if (o == "no_frag")
      f.no_frag = true;
    else {
      err = "unknown flow option '" + std::string(o) + "'";
      return false;
    }
  }
  if ((f.to_server && f.to_client) || (f.established && f.not_established) ||
      (f.only_stream && f.no_stream) || (f.only_frag && f.no_frag)) {
    err = "contradictory flow options";
    return false;
  }
  st.sig.has_flow = f.to_server || f.to_client || f.established || f.not_established ||
                    f.only_stream || f.no_stream;
  return true;
}

void split_names(std::string_view s, std::vector<std::string_view>& out, bool& any) {
  any = s.find('|') != std::string_view::npos;
  char sep = any ? '|' : '&';
  for (auto n : split_args(s, sep))
    if (!n.empty()) out.push_back(n);
}

bool parse_flowbits(ParseState& st, std::string_view v, std::string& err) {
  auto a = split_args(v);
  std::string_view cmd = a[0];
  if (cmd == "noalert") {
    if (a.size() != 1) {
      err = "noalert takes no name";
      return false;
    }
    st.sig.noalert = true;
    return true;
  }
  if (a.size() != 2 || a[1].empty()) {
    err = "expected command,name";
    return false;
  }
  std::vector<std::string_view> names;
  bool any = false;
  split_names(a[1], names, any);
  std::vector<uint32_t> ids;
  for (auto n : names) ids.push_back(st.flowbits->intern(n));
  if (cmd == "isset" || cmd == "isnotset") {
    st.sig.flowbit_checks.push_back(
        {cmd == "isset" ? FlowbitCheck::Op::kIsSet : FlowbitCheck::Op::kIsNotSet, ids, any});
  } else if (cmd == "set" || cmd == "unset" || cmd == "toggle") {
    if (any) {
      err = "'|' is only for isset/isnotset";
      return false;
    }
    auto op = cmd == "set"     ? FlowbitAction::Op::kSet
              : cmd == "unset" ? FlowbitAction::Op::kUnset
                               : FlowbitAction::Op::kToggle;
    st.sig.flowbit_actions.push_back({op, ids});
  } else {
    err = "unknown flowbits command '" + std::string(cmd) + "'";
    return false;
  }
  return true;
}

// flowint:name,op[,value]
bool parse_flowint(ParseState& st, std::string_view v, std::string& err) {
  auto a = split_args(v);
  if (a.size() < 2 || a[0].empty()) {
    err = "expected name,operator[,value]";
    return false;
  }
  FlowintOp f;
  f.var = st.flowints->intern(a[0]);
  auto op = a[1];
  if (op == "isset")
    f.op = 'i';
  else if (op == "notset" || op == "isnotset")
    f.op = 'n';
  else if (op == "==")
    f.op = '=';
  else if (op == "!=")
    f.op = '!';
  else if (op == "<")
    f.op = '<';
  else if (op == ">")
    f.op = '>';
  else if (op == "<=")
    f.op = 'l';
  else if (op == ">=")
    f.op = 'g';
  else if (op == "+" || op == "-" || op == "=") {
    f.is_check = false;
    f.op = op == "=" ? 's' : op[0];
  } else {
    err = "bad flowint operator '" + std::string(op) + "'";
    return false;
  }
  if (f.op == 'i' || f.op == 'n') {
    if (a.size() != 2) {
      err = "isset/notset take no value";
      return false;
    }
  } else {
    if (a.size() != 3) {
      err = "operator needs a value";
      return false;
    }
    if (!parse_int(a[2], f.value.v)) f.from_var = st.flowints->intern(a[2]);
  }
  st.sig.flowints.push_back(f);
  return true;
}

bool parse_stream_size(ParseState& st, std::string_view v, std::string& err) {
  auto a = split_args(v);
  if (a.size() != 3) {
    err = "expected side,operator,value";
    return false;
  }
  StreamSizeCheck s;
  if (a[0] == "server")
    s.side = StreamSizeCheck::Side::kServer;
  else if (a[0] == "client")
    s.side = StreamSizeCheck::Side::kClient;
  else if (a[0] == "both")
    s.side = StreamSizeCheck::Side::kBoth;
  else if (a[0] == "either")
    s.side = StreamSizeCheck::Side::kEither;
  else {
    err = "bad side '" + std::string(a[0]) + "'";
    return false;
  }
  std::string cmp = std::string(a[1] == "!=" ? "!" : a[1] == "=" ? "" : a[1]) + std::string(a[2]);
  if (!parse_numcmp(cmp, s.cmp, err)) return false;
  st.sig.stream_sizes.push_back(s);
  return true;
}

bool parse_app_layer_protocol(ParseState& st, std::string_view v, std::string& err) {
  AppProtoCheck c;
  v = trim(v);
  if (!v.empty() && v[0] == '!') {
    c.negated = true;
    v = trim(v.substr(1));
  }
  auto comma = v.find(',');  // ",final"/",original" selectors: the flow has one protocol
  if (comma != std::string_view::npos) v = trim(v.substr(0, comma));
  if (v.empty()) {
    err = "missing protocol";
    return false;
  }
  c.proto = std::string(v);
  st.sig.app_protos.push_back(std::move(c));
  return true;
}

bool parse_app_layer_event(ParseState& st, std::string_view v, std::string& err) {
  v = trim(v);
  if (v.empty() || v[0] == '!') {
    err = "expected proto.event (negation is not allowed)";
    return false;
  }
  st.sig.app_events.push_back({std::string(v)});
  return true;
}

bool parse_threshold_common(ParseState& st, std::string_view v, std::string& err,
                            bool detection_filter) {
  auto& t = st.sig.threshold;
  if (t.type != Threshold::Type::kNone) {
    err = "only one threshold or detection_filter per rule";
    return false;
  }
  bool have_track = false, have_count = false, have_seconds = false;
  t.type = detection_filter ? Threshold::Type::kDetectionFilter : Threshold::Type::kNone;
  for (auto o : split_args(v)) {
    auto sp = o.find(' ');
    auto k = o.substr(0, sp);
    auto val = sp == std::string_view::npos ? std::string_view{} : trim(o.substr(sp + 1));
    uint64_t n;
    if (k == "type" && !detection_filter) {
      if (val == "limit")
        t.type = Threshold::Type::kLimit;
      else if (val == "threshold")
        t.type = Threshold::Type::kThreshold;
      else if (val == "both")
        t.type = Threshold::Type::kBoth;
      else if (val == "backoff")
        t.type = Threshold::Type::kBackoff;
      else {
        err = "bad type '" + std::string(val) + "'";
        return false;
      }
    } else if (k == "track") {
      if (val == "by_src")
        t.track = Threshold::Track::kBySrc;
      else if (val == "by_dst")
        t.track = Threshold::Track::kByDst;
      else if (val == "by_rule")
        t.track = Threshold::Track::kByRule;
      else if (val == "by_both")
        t.track = Threshold::Track::kByBoth;
      else if (val == "by_flow")
        t.track = Threshold::Track::kByFlow;
      else {
        err = "bad track '" + std::string(val) + "'";
        return false;
      }
      have_track = true;
    } else if (k == "count" && parse_uint(val, n) && n > 0 && n <= UINT32_MAX) {
      t.count = static_cast<uint32_t>(n);
      have_count = true;
    } else if (k == "seconds" && parse_uint(val, n) && n <= UINT32_MAX) {
      t.seconds = static_cast<uint32_t>(n);
      have_seconds = true;
    } else if (k == "multiplier" && parse_uint(val, n) && n > 1) {
      t.seconds = static_cast<uint32_t>(n);  // backoff: the multiplier replaces the window
      have_seconds = true;
    } else {
      err = "bad option '" + std::string(o) + "'";
      return false;
    }
  }
  if (t.type == Threshold::Type::kNone || !have_track || !have_count || !have_seconds) {
    err = "needs type, track, count and seconds";
    return false;
  }
  return true;
}

bool parse_threshold(ParseState& st, std::string_view v, std::string& err) {
  return parse_threshold_common(st, v, err, false);
}
bool parse_detection_filter(ParseState& st, std::string_view v, std::string& err) {
  return parse_threshold_common(st, v, err, true);
}

// xbits:<set|unset|toggle|isset|isnotset>,<name>,track <ip_src|ip_dst|ip_pair>[,expire <s>]
bool parse_xbits(ParseState& st, std::string_view v, std::string& err) {
  auto a = split_args(v);
  if (a.size() == 1 && a[0] == "noalert") {
    st.sig.noalert = true;
    return true;
  }
  if (a.size() < 3) {
    err = "expected command,name,track <ip_src|ip_dst|ip_pair>[,expire <seconds>]";
    return false;
  }
  XbitOp x;
  if (a[0] == "set")
    x.op = XbitOp::Op::kSet;
  else if (a[0] == "unset")
    x.op = XbitOp::Op::kUnset;
  else if (a[0] == "toggle")
    x.op = XbitOp::Op::kToggle;
  else if (a[0] == "isset")
    x.op = XbitOp::Op::kIsSet;
  else if (a[0] == "isnotset")
    x.op = XbitOp::Op::kIsNotSet;
  else {
    err = "bad xbits command '" + std::string(a[0]) + "'";
    return false;
  }
  if (a[1].empty()) {
    err = "missing xbit name";
    return false;
  }
  x.bit = st.flowbits->intern(std::string("xbits:") + std::string(a[1]));
  auto track = trim(a[2]);
  if (!track.starts_with("track")) {
    err = "expected track";
    return false;
  }
  track = trim(track.substr(5));
  if (track == "ip_src")
    x.track = XbitOp::Track::kIpSrc;
  else if (track == "ip_dst")
    x.track = XbitOp::Track::kIpDst;
  else if (track == "ip_pair")
    x.track = XbitOp::Track::kIpPair;
  else {
    err = "unsupported track '" + std::string(track) + "'";
    return false;
  }
  if (a.size() > 3) {
    auto e = trim(a[3]);
    uint64_t n;
    if (!e.starts_with("expire") || !parse_uint(trim(e.substr(6)), n) || n == 0) {
      err = "bad expire";
      return false;
    }
    x.expire = static_cast<uint32_t>(n);
  }
  st.sig.xbits.push_back(x);
  return true;
}

const Registration<KeywordApi> r1{{.name = "flow", .parse = parse_flow, .matches = true}};
const Registration<KeywordApi> r9{{.name = "xbits",
                                   .parse = parse_xbits,
                                   .matches = true,
                                   .note = "host state is per worker (see README)"}};
const Registration<KeywordApi> r2{{.name = "flowbits", .parse = parse_flowbits, .matches = true}};
const Registration<KeywordApi> r3{{.name = "flowint", .parse = parse_flowint, .matches = true}};
const Registration<KeywordApi> r4{
    {.name = "stream_size", .parse = parse_stream_size, .matches = true}};
const Registration<KeywordApi> r5{
    {.name = "app-layer-protocol", .parse = parse_app_layer_protocol, .matches = true}};
const Registration<KeywordApi> r6{{.name = "app-layer-event",
                                   .parse = parse_app_layer_event,
                                   .matches = true,
                                   .note = "matches events the analyzers report"}};
const Registration<KeywordApi> r7{{.name = "threshold", .parse = parse_threshold, .matches = true}};
const Registration<KeywordApi> r8{
    {.name = "detection_filter", .parse = parse_detection_filter, .matches = true}};

}  // namespace
}  // namespace komainu::sig
