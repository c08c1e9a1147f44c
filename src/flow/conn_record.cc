// ConnRecord: the EVE "flow" event and Zeek's conn.log row of a finished flow.
#include <string>

#include "core/site.h"
#include "flow/flow.h"

namespace komainu {

namespace {

bool is_reset(TcpState s) {
  return s == TcpState::kReset;
}
bool inactive_or_partial(TcpState s) {
  return s == TcpState::kInactive || s == TcpState::kPartial;
}

// Zeek's /^\^?S[^HAFGIQ]*R.*/ on the history.
bool history_syn_then_reset(const Flow& f) {
  int i = 0;
  if (i < f.hist_len && f.history[i] == '^') ++i;
  if (i >= f.hist_len || f.history[i] != 'S') return false;
  for (++i; i < f.hist_len; ++i) {
    char c = f.history[i];
    if (c == 'R') return true;
    if (c == 'H' || c == 'A' || c == 'F' || c == 'G' || c == 'I' || c == 'Q') return false;
  }
  return false;
}

}  // namespace

const char* ConnRecord::eve_proto(uint8_t proto) {
  switch (proto) {
    case 6:
      return "TCP";
    case 17:
      return "UDP";
    case 1:
      return "ICMP";
    case 58:
      return "IPv6-ICMP";
    case 132:
      return "SCTP";
    case 47:
      return "GRE";
  }
  return nullptr;
}

const char* ConnRecord::conn_state(const Flow& f) {
  if (f.proto == 6) {
    TcpState os = f.ep[0].state, rs = f.ep[1].state;
    bool o_inactive = inactive_or_partial(os), r_inactive = inactive_or_partial(rs);
    if (is_reset(rs)) {
      if (os == TcpState::kSynSent || os == TcpState::kSynAckSent ||
          (is_reset(os) && f.ep[0].size(f.ep[1]) == 0 && f.ep[1].size(f.ep[0]) == 0))
        return "REJ";
      return o_inactive ? "RSTRH" : "RSTR";
    }
    if (is_reset(os)) {
      if (r_inactive) return history_syn_then_reset(f) ? "RSTOS0" : "OTH";
      return "RSTO";
    }
    if (rs == TcpState::kClosed && os == TcpState::kClosed) return "SF";
    if (os == TcpState::kClosed) return r_inactive ? "SH" : "S2";
    if (rs == TcpState::kClosed) return o_inactive ? "SHR" : "S3";
    if (os == TcpState::kSynSent && rs == TcpState::kInactive) return "S0";
    if (os == TcpState::kEstablished && rs == TcpState::kEstablished) return "S1";
    return "OTH";
  }
  if (f.proto == 17) {
    if (f.active[0]) return f.active[1] ? "SF" : "S0";
    return f.active[1] ? "SHR" : "OTH";
  }
  return "OTH";
}

const ZeekSchema& ConnRecord::schema() {
  static const ZeekSchema s{"conn", zeek_conn_fields({{"proto", ZeekType::kEnum},
                                                      {"service", ZeekType::kString},
                                                      {"duration", ZeekType::kInterval},
                                                      {"orig_bytes", ZeekType::kCount},
                                                      {"resp_bytes", ZeekType::kCount},
                                                      {"conn_state", ZeekType::kString},
                                                      {"local_orig", ZeekType::kBool},
                                                      {"local_resp", ZeekType::kBool},
                                                      {"missed_bytes", ZeekType::kCount},
                                                      {"history", ZeekType::kString},
                                                      {"orig_pkts", ZeekType::kCount},
                                                      {"orig_ip_bytes", ZeekType::kCount},
                                                      {"resp_pkts", ZeekType::kCount},
                                                      {"resp_ip_bytes", ZeekType::kCount},
                                                      {"tunnel_parents", ZeekType::kSetString},
                                                      {"ip_proto", ZeekType::kCount}})};
  return s;
}

const ZeekSchema* ConnRecord::zeek_schema() const {
  // Zeek makes connections of TCP, UDP and ICMP only.
  if (!f || !(f->proto == 6 || f->proto == 17 || f->proto == 1 || f->proto == 58)) return nullptr;
  return &schema();
}

void ConnRecord::write_zeek(ZeekRow& row) const {
  const FlowTuple& t = f->ctx.tuple;
  const char* proto = f->proto == 6 ? "tcp" : f->proto == 17 ? "udp" : "icmp";
  row.time(f->start).str(f->ctx.uid).addr(t.src).count(t.sport).addr(t.dst).count(t.dport);
  row.str(proto);
  if (f->ctx.service.empty())
    row.unset();
  else
    row.str(f->ctx.service);
  TimeNs duration = f->last - f->start;
  if (duration > 0)
    row.interval(duration).count(orig_bytes).count(resp_bytes);
  else
    row.unset().unset().unset();
  row.str(conn_state(*f));
  row.boolean(is_zeek_local(t.src)).boolean(is_zeek_local(t.dst));
  row.count(f->missed_bytes);
  if (f->hist_len)
    row.str(std::string_view(f->history, f->hist_len));
  else
    row.unset();
  row.count(f->pkts[0]).count(f->ip_bytes[0]).count(f->pkts[1]).count(f->ip_bytes[1]);
  if (f->n_parents) {
    std::vector<std::string> parents;
    for (uint8_t i = 0; i < f->n_parents; ++i) parents.push_back(zeek_uid(f->parents[i]));
    row.strings(parents);
  } else {
    row.unset();
  }
  row.count(f->proto);
}

void ConnRecord::write_eve(JsonWriter& w) const {
  if (!f->ctx.app_proto.empty()) w.kv("app_proto", f->ctx.app_proto);
  w.key("flow").begin_object();
  w.kv("pkts_toserver", f->pkts[0]).kv("pkts_toclient", f->pkts[1]);
  w.kv("bytes_toserver", f->wire_bytes[0]).kv("bytes_toclient", f->wire_bytes[1]);
  w.kv_eve_time("start", f->start).kv_eve_time("end", f->seen_last);
  w.kv("age", int64_t((f->seen_last - f->start) / kNsPerSec));
  const char* state = "new";
  if (f->proto == 6) {
    const TcpEndpoint& o = f->ep[0];
    const TcpEndpoint& r = f->ep[1];
    if (o.state == TcpState::kClosed || o.state == TcpState::kReset ||
        r.state == TcpState::kClosed || r.state == TcpState::kReset)
      state = "closed";
    else if (o.seen && r.seen)
      state = "established";
  } else if (f->pkts[0] && f->pkts[1]) {
    state = "established";
  }
  w.kv("state", state);
  w.kv("reason", reason == EndReason::kTimeout  ? "timeout"
                 : reason == EndReason::kForced ? "forced"
                                                : "shutdown");
  w.end_object();
  if (f->proto == 6) {
    // Suricata's tcp object: flags seen in either direction, to server, to client.
    auto hex = [](uint8_t v) {
      static constexpr char kHex[] = "0123456789abcdef";
      return std::string{kHex[v >> 4], kHex[v & 15]};
    };
    uint8_t all = f->tcp_flags[0] | f->tcp_flags[1];
    w.key("tcp").begin_object();
    w.kv("tcp_flags", hex(all)).kv("tcp_flags_ts", hex(f->tcp_flags[0]));
    w.kv("tcp_flags_tc", hex(f->tcp_flags[1]));
    static constexpr std::pair<uint8_t, const char*> kNames[] = {
        {tcpflag::kFin, "fin"}, {tcpflag::kSyn, "syn"}, {tcpflag::kRst, "rst"},
        {tcpflag::kPsh, "psh"}, {tcpflag::kAck, "ack"}, {tcpflag::kUrg, "urg"},
        {tcpflag::kEce, "ecn"}, {tcpflag::kCwr, "cwr"}};
    for (const auto& [bit, name] : kNames)
      if (all & bit) w.kv(name, true);
    w.end_object();
  }
}

}  // namespace komainu
