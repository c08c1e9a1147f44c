#include "analyzers/krb5/krb5_analyzer.h"

#include <algorithm>

namespace komainu::krb5 {

namespace {

bool to_server_type(uint8_t t) {
  return t == kAsReq || t == kTgsReq || t == kApReq;
}

// First octet of each message type: [APPLICATION n] constructed.
bool request_octet(uint8_t b) {
  return b == 0x6a || b == 0x6c;
}
bool reply_octet(uint8_t b) {
  return b == 0x6b || b == 0x6d || b == 0x7e;
}

std::string client_form(const Message& m, const char* sep_if_name) {
  std::string s = m.has_cname ? m.cname + sep_if_name : std::string();
  if (m.has_crealm) s += m.crealm;
  return s;
}

}  // namespace

ProbeResult probe_udp(std::span<const uint8_t> d, Direction dir, uint16_t) {
  Message m;
  if (!parse(d, m)) return ProbeResult::kNo;
  // The message must travel the way its type says (a reply may open a capture).
  bool server_bound = to_server_type(m.type);
  return server_bound == (dir == Direction::kToServer) ? ProbeResult::kYes : ProbeResult::kNo;
}

ProbeResult probe_tcp(std::span<const uint8_t> d, Direction dir, uint16_t) {
  if (d.size() < 4) return ProbeResult::kMaybe;
  uint32_t len = uint32_t(d[0]) << 24 | uint32_t(d[1]) << 16 | uint32_t(d[2]) << 8 | d[3];
  if (len < 16 || len > (1u << 20)) return ProbeResult::kNo;
  if (d.size() < 5) return ProbeResult::kMaybe;
  bool expected = dir == Direction::kToServer ? request_octet(d[4]) : reply_octet(d[4]);
  if (!expected) return ProbeResult::kNo;
  if (d.size() < 4 + size_t(len)) return ProbeResult::kMaybe;
  return probe_udp(d.subspan(4, len), dir, 0);
}

KrbSession::KrbSession(const SessionContext& ctx, const Config& cfg) : ctx_(ctx), cfg_(cfg) {
  if (ctx.worker) anomalies_.count_into(&ctx.worker->anomalies);
  tcp_ = ctx.flow && ctx.flow->tuple.proto == 6;
}

void KrbSession::on_data(Direction dir, std::span<const uint8_t> data, TimeNs ts) {
  if (!tcp_) {
    on_message(dir, data, ts);
    return;
  }
  int d = int(dir);
  if (stopped_[d]) return;
  auto& b = buf_[d];
  b.insert(b.end(), data.begin(), data.end());
  size_t off = 0;
  while (b.size() - off >= 4) {
    uint32_t len = uint32_t(b[off]) << 24 | uint32_t(b[off + 1]) << 16 | uint32_t(b[off + 2]) << 8 |
                   b[off + 3];
    if (len > cfg_.max_message) {
      anomalies_.report(ctx_.sink, ctx_.flow, ts, "KRB_message_too_large", d == 1);
      stopped_[d] = true;
      b.clear();
      return;
    }
    if (b.size() - off - 4 < len) break;
    on_message(dir, std::span<const uint8_t>(b.data() + off + 4, len), ts);
    off += 4 + size_t(len);
  }
  b.erase(b.begin(), b.begin() + off);
}

bool KrbSession::start(TimeNs ts) {
  if (!active_) {
    active_ = true;
    ex_ = Exchange{};
    ex_.ts = ts;
  }
  return logged_;
}

void KrbSession::on_message(Direction dir, std::span<const uint8_t> data, TimeNs ts) {
  Message m;
  if (!parse(data, m)) {
    anomalies_.report(ctx_.sink, ctx_.flow, ts, "KRB_malformed_message",
                      dir == Direction::kToClient);
    return;
  }
  switch (m.type) {
    case kAsReq:
    case kTgsReq:
      if (start(ts)) return;
      ex_.request_msg = m.type;
      ex_.request_type = m.type == kAsReq ? "AS" : "TGS";
      if (m.type == kAsReq) {
        ex_.client = (m.has_cname ? m.cname : "") + "/" + (m.has_srealm ? m.srealm : "");
        ex_.has_client = true;
      }
      if (m.has_sname) {
        ex_.service = m.sname;
        ex_.has_service = true;
      }
      if (m.has_from) {
        ex_.has_from = true;
        ex_.from = m.from;
      }
      if (m.has_till) {
        ex_.has_till = true;
        ex_.till = m.till;
      }
      if (m.has_kdc_options) {
        ex_.forwardable = m.forwardable();
        ex_.renewable = m.renewable();
      }
      if (m.has_cname) ex_.user = m.cname;
      if (m.has_srealm) ex_.realm = m.srealm;
      if (m.has_sname) ex_.sname = m.sname;
      ex_.pa_enc_timestamp = m.pa_enc_timestamp;
      ex_.etypes = std::move(m.etypes);
      return;
    case kAsRep:
    case kTgsRep:
      if (start(ts)) return;
      ex_.reply_msg = m.type;
      if (!ex_.has_client && (m.has_cname || m.has_crealm)) {
        ex_.client = (m.has_cname ? m.cname : "") + "/" + (m.has_crealm ? m.crealm : "");
        ex_.has_client = true;
      }
      if (m.has_sname) {
        ex_.service = m.sname;
        ex_.has_service = true;
        if (ex_.sname.empty()) ex_.sname = m.sname;
      }
      if (m.has_ticket_etype) {
        ex_.cipher = cipher_name(m.ticket_etype);
        ex_.has_ticket_etype = true;
        ex_.ticket_etype = m.ticket_etype;
      }
      if (ex_.user.empty() && m.has_cname) ex_.user = m.cname;
      if (ex_.realm.empty() && m.has_crealm) ex_.realm = m.crealm;
      ex_.success = 1;
      ex_.reply_ts = ts;
      log();
      return;
    case kError:
      if (start(ts)) return;
      if (m.has_error_text && (m.error_text == "NEEDED_PREAUTH" ||
                               m.error_text == "Need to use PA-ENC-TIMESTAMP/PA-PK-AS-REQ")) {
        active_ = false;  // Zeek forgets the exchange: the client retries with a password
        return;
      }
      ex_.reply_msg = kError;
      if (!ex_.has_client && (m.has_cname || m.has_crealm)) {
        ex_.client = client_form(m, "/");
        ex_.has_client = true;
      }
      if (m.has_sname) {
        ex_.service = m.sname;
        ex_.has_service = true;
        if (ex_.sname.empty()) ex_.sname = m.sname;
      }
      if (ex_.user.empty() && m.has_cname) ex_.user = m.cname;
      if (ex_.realm.empty() && m.has_crealm) ex_.realm = m.crealm;
      ex_.success = 0;
      ex_.has_error = true;
      ex_.error_code = m.error_code;
      ex_.error_msg = m.has_error_text ? m.error_text : error_name(m.error_code);
      ex_.reply_ts = ts;
      log();
      return;
    default:  // AP-REQ/AP-REP: the exchange exists, nothing to log from it
      start(ts);
      return;
  }
}

void KrbSession::log() {
  if (!active_ || logged_) return;
  logged_ = true;
  if (!ctx_.sink) return;
  KrbRecord r;
  r.ts = ex_.ts;
  r.flow = ctx_.flow;
  r.ex = &ex_;
  ctx_.sink->publish(r);
}

void KrbSession::on_gap(Direction dir, uint64_t, TimeNs ts) {
  int d = int(dir);
  buf_[d].clear();
  stopped_[d] = true;  // record marking cannot be resynchronised
  anomalies_.report(ctx_.sink, ctx_.flow, ts, "KRB_stream_gap", d == 1);
}

void KrbSession::on_close(TimeNs) {
  log();
}

// --- record -----------------------------------------------------------------------------

namespace {

const ZeekSchema& krb_schema() {
  static const ZeekSchema schema{"kerberos",
                                 zeek_conn_fields({{"request_type", ZeekType::kString},
                                                   {"client", ZeekType::kString},
                                                   {"service", ZeekType::kString},
                                                   {"success", ZeekType::kBool},
                                                   {"error_msg", ZeekType::kString},
                                                   {"from", ZeekType::kTime},
                                                   {"till", ZeekType::kTime},
                                                   {"cipher", ZeekType::kString},
                                                   {"forwardable", ZeekType::kBool},
                                                   {"renewable", ZeekType::kBool},
                                                   {"client_cert_subject", ZeekType::kString},
                                                   {"client_cert_fuid", ZeekType::kString},
                                                   {"server_cert_subject", ZeekType::kString},
                                                   {"server_cert_fuid", ZeekType::kString}})};
  return schema;
}

}  // namespace

const ZeekSchema* KrbRecord::zeek_schema() const {
  return &krb_schema();
}

void KrbRecord::write_zeek(ZeekRow& row) const {
  const Exchange& e = *ex;
  const FlowTuple& ft = flow->tuple;
  row.time(e.ts).str(flow->uid).addr(ft.src).count(ft.sport).addr(ft.dst).count(ft.dport);
  auto opt_str = [&](bool has, const std::string& s) {
    if (has)
      row.str(s);
    else
      row.unset();
  };
  auto opt_bool = [&](int v) {
    if (v < 0)
      row.unset();
    else
      row.boolean(v != 0);
  };
  opt_str(!e.request_type.empty(), e.request_type);
  opt_str(e.has_client, e.client);
  opt_str(e.has_service, e.service);
  opt_bool(e.success);
  opt_str(e.has_error, e.error_msg);
  if (e.has_from)
    row.time(e.from * kNsPerSec);
  else
    row.unset();
  if (e.has_till)
    row.time(e.till * kNsPerSec);
  else
    row.unset();
  opt_str(!e.cipher.empty(), e.cipher);
  opt_bool(e.forwardable);
  opt_bool(e.renewable);
  // PKINIT certificates are not extracted.
  row.unset().unset().unset().unset();
}

void KrbRecord::write_eve(JsonWriter& w) const {
  const Exchange& e = *ex;
  w.key("krb5").begin_object();
  uint8_t type = e.reply_msg ? e.reply_msg : e.request_msg;
  w.kv("msg_type", msg_type_name(type));
  if (e.reply_msg == kError) {
    if (e.request_msg) w.kv("failed_request", msg_type_name(e.request_msg));
    w.kv("error_code", error_name(e.error_code));
  }
  w.kv("cname", e.user.empty() ? "<empty>" : e.user);
  w.kv("realm", e.realm.empty() ? "<empty>" : e.realm);
  w.kv("sname", e.sname.empty() ? "<empty>" : e.sname);
  if (e.has_ticket_etype) {
    w.kv("encryption", e.cipher);
    w.kv("weak_encryption", weak_cipher(e.ticket_etype));
  }
  w.end_object();
}

namespace {
std::unique_ptr<AppSession> create(const SessionContext& ctx) {
  return std::make_unique<KrbSession>(ctx);
}
// Zeek names the UDP and TCP analyzers (and conn.log services) krb and krb_tcp; Suricata
// calls both krb5.
const Registration<AnalyzerApi> udp_registration{{.name = "krb",
                                                  .tcp = false,
                                                  .udp = true,
                                                  .probe = &probe_udp,
                                                  .create = &create,
                                                  .eve_name = "krb5"}};
const Registration<AnalyzerApi> tcp_registration{{.name = "krb_tcp",
                                                  .tcp = true,
                                                  .udp = false,
                                                  .probe = &probe_tcp,
                                                  .create = &create,
                                                  .eve_name = "krb5"}};
}  // namespace

}  // namespace komainu::krb5
