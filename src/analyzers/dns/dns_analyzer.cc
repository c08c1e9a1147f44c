#include "analyzers/dns/dns_analyzer.h"

#include <yaml-cpp/yaml.h>

#include <cctype>

#include "analyzers/analyzer_settings.h"
#include "core/ascii.h"

namespace komainu::dns {

namespace {

std::string lower(std::string_view s) {
  std::string o(s);
  for (auto& c : o) c = char(ascii_lower(c));
  return o;
}

constexpr size_t kMaxTcpMessage = 65535;

bool header_plausible(std::span<const uint8_t> m) {
  if (m.size() < 12) return false;
  uint16_t flags = uint16_t(m[2] << 8 | m[3]);
  uint8_t opcode = (flags >> 11) & 0xf;
  if (opcode == 3 || opcode > 6) return false;
  uint16_t qd = uint16_t(m[4] << 8 | m[5]);
  uint16_t an = uint16_t(m[6] << 8 | m[7]);
  uint16_t ns = uint16_t(m[8] << 8 | m[9]);
  uint16_t ar = uint16_t(m[10] << 8 | m[11]);
  if (qd > 16 || an > 1024 || ns > 1024 || ar > 1024) return false;
  if (!(flags & 0x8000) && an > 16) return false;
  return true;
}

bool parses(std::span<const uint8_t> m) {
  if (!header_plausible(m)) return false;
  Message msg;
  Limits lim;
  Error e = parse_message(m, msg, lim);
  return e == Error::kNone && (!msg.questions.empty() || (msg.flags & 0x8000));
}

bool dns_port(uint16_t p) {
  return p == 53 || p == 5353 || p == 5355 || p == 137;
}

}  // namespace

ProbeResult probe(std::span<const uint8_t> d, Direction, uint16_t server_port) {
  if (parses(d)) return ProbeResult::kYes;  // a whole datagram
  if (d.size() >= 2) {                      // TCP: length-prefixed
    size_t len = size_t(d[0] << 8 | d[1]);
    if (len >= 12 && d.size() >= 2 + len && parses(d.subspan(2, len))) return ProbeResult::kYes;
    if (len >= 12 && d.size() < 2 + len) {
      if (d.size() < 14) return ProbeResult::kMaybe;
      if (header_plausible(d.subspan(2))) return ProbeResult::kMaybe;
    }
  }
  if (d.size() < 12) return ProbeResult::kMaybe;
  // The port is only a hint: a plausible header on a DNS port is enough.
  if (dns_port(server_port) && header_plausible(d)) return ProbeResult::kYes;
  return ProbeResult::kNo;
}

DnsSession::DnsSession(const SessionContext& ctx, const Config& cfg) : ctx_(ctx), cfg_(cfg) {
  if (ctx.worker) anomalies_.count_into(&ctx.worker->anomalies);
  auto* w = dynamic_cast<DnsWorkerState*>(ctx.worker);
  msg_ = w ? &w->scratch : &own_msg_;
  tcp_ = ctx.flow && ctx.flow->tuple.proto == 6;
}

void DnsSession::on_data(Direction dir, std::span<const uint8_t> data, TimeNs ts) {
  if (!tcp_) {
    on_message(dir, data, ts);
    return;
  }
  int d = int(dir);
  if (lost_[d]) return;
  auto& b = buf_[d];
  b.insert(b.end(), data.begin(), data.end());
  size_t off = 0;
  while (b.size() - off >= 2) {
    size_t len = size_t(b[off] << 8 | b[off + 1]);
    if (len == 0) {
      anomalies_.report(ctx_.sink, ctx_.flow, ts, "DNS_zero_length_message",
                        dir == Direction::kToClient);
      off += 2;
      continue;
    }
    if (b.size() - off < 2 + len) break;
    on_message(dir, std::span<const uint8_t>(b.data() + off + 2, len), ts);
    off += 2 + len;
  }
  b.erase(b.begin(), b.begin() + off);
  if (b.size() > kMaxTcpMessage + 2) {  // cannot happen with valid framing; stay bounded
    b.clear();
    lost_[d] = true;
  }
}

void DnsSession::on_gap(Direction dir, uint64_t, TimeNs ts) {
  if (!tcp_) return;
  // Without the length prefix of the message in flight, framing is lost for good.
  int d = int(dir);
  buf_[d].clear();
  lost_[d] = true;
  anomalies_.report(ctx_.sink, ctx_.flow, ts, "DNS_stream_gap", dir == Direction::kToClient);
}

void DnsSession::publish(Transaction& t) {
  if (!ctx_.sink) return;
  DnsLogRecord r;
  r.ts = t.ts;
  r.flow = ctx_.flow;
  r.txn = &t;
  ctx_.sink->publish(r);
}

void DnsSession::expire(TimeNs now) {
  while (!pending_.empty() && now - pending_.front().ts > cfg_.txn_timeout) {
    publish(pending_.front());
    pending_.erase(pending_.begin());
  }
}

void DnsSession::on_message(Direction dir, std::span<const uint8_t> data, TimeNs ts) {
  ++messages_;
  bool to_client = dir == Direction::kToClient;
  Error err = parse_message(data, *msg_, cfg_.limits);
  if (err != Error::kNone) anomalies_.report(ctx_.sink, ctx_.flow, ts, error_name(err), to_client);
  if (err == Error::kHeaderTooShort) return;
  const Message& m = *msg_;
  expire(ts);

  // EVE: per message.
  if (ctx_.sink) {
    DnsEveRecord ev;
    ev.ts = ts;
    ev.flow = ctx_.flow;
    ev.to_client = to_client;
    ev.msg = &m;
    ev.version = cfg_.eve_version;
    ev.error = err;
    ev.raw = data;
    if (cfg_.eve_version == 3) {
      ev.tx_id = tx_id_++;  // Suricata 8: every message is its own transaction
      ctx_.sink->publish(ev);
    } else if (!m.qr()) {
      ev.tx_id = tx_id_++;
      for (size_t i = 0; i < m.questions.size(); ++i) {
        ev.question = i;
        ctx_.sink->publish(ev);
      }
    } else {
      ctx_.sink->publish(ev);
    }
  }

  // dns.log: Zeek's pairing. A query takes the oldest waiting reply with its id, a reply
  // the oldest waiting query; otherwise the message opens a transaction that waits.
  bool is_query = !m.qr();
  auto it = pending_.begin();
  for (; it != pending_.end(); ++it)
    if (it->trans_id == m.id && it->is_reply_first == is_query) break;
  Transaction local;
  bool matched = it != pending_.end();
  if (matched) {
    local = std::move(*it);
    pending_.erase(it);
  } else {
    local.ts = ts;
    local.trans_id = m.id;
    local.is_reply_first = !is_query;
  }
  Transaction& t = local;
  t.has_opcode = true;
  t.opcode = m.opcode();
  if (is_query) {
    for (const auto& q : m.questions) {
      t.RD = m.rd();
      t.TC = m.tc();
      t.has_qinfo = true;
      t.qclass = q.cls;
      t.qtype = q.type;
      t.Z = m.zeek_z();
      t.has_query = true;
      t.query = lower(q.name);
    }
    t.saw_query = true;
  } else {
    t.has_rcode = true;
    t.rcode = m.rcode();
    if (m.rcode() != 0 && m.qdcount == 0) t.rejected = true;
    if (!m.questions.empty() && m.ancount == 0 && m.nscount == 0 && m.arcount == 0)
      t.rejected = true;
    for (const auto& rr : m.records) {
      if (rr.section != Section::kAnswer || !rr.zeek_event) continue;
      if (!t.has_query) {
        t.has_query = true;
        t.query = lower(rr.name);
      }
      t.AA = m.aa();
      t.RA = m.ra();
      if (!t.has_rtt && ts != t.ts) {
        t.has_rtt = true;
        t.rtt = ts - t.ts;
      }
      if (!rr.zeek_text.empty()) {
        // Zeek lower-cases names it extracts; texts (TXT) keep their case.
        bool is_name = rr.type == 2 || rr.type == 5 || rr.type == 12 || rr.type == 15 ||
                       rr.type == 6 || rr.type == 33;
        t.answers.push_back(is_name ? lower(rr.zeek_text) : rr.zeek_text);
        t.ttls.push_back(TimeNs(rr.ttl) * kNsPerSec);
      }
    }
    t.saw_reply = true;
  }
  if (t.saw_query && t.saw_reply) {
    publish(t);
    return;
  }
  pending_.push_back(std::move(local));
  if (pending_.size() > cfg_.max_pending) {
    ++evicted_;
    anomalies_.report(ctx_.sink, ctx_.flow, ts, "DNS_pending_transactions_evicted", to_client);
    publish(pending_.front());
    pending_.erase(pending_.begin());
  }
}

void DnsSession::on_close(TimeNs) {
  for (auto& t : pending_) publish(t);
  pending_.clear();
}

std::shared_ptr<const AnalyzerOptions> configure(const YAML::Node& section,
                                                 AnalyzerConfigError& error) {
  using S = AnalyzerSetting<Config>;
  static const S kSettings[] = {
      {"eve-version", S::Custom{[](const YAML::Node& v, Config& c, std::string& expected) {
         int n = v.as<int>();
         expected = "2 or 3";
         if (n != 2 && n != 3) return false;
         c.eve_version = n;
         return true;
       }}},
      {"transaction-timeout", S::Custom{[](const YAML::Node& v, Config& c, std::string& expected) {
         double sec = v.as<double>();
         expected = "seconds in (0, 1e6)";
         if (!(sec > 0 && sec < 1e6)) return false;
         c.txn_timeout = TimeNs(sec * double(kNsPerSec));
         return true;
       }}},
      {"max-pending-transactions", S::Size{&Config::max_pending, 1, 65536}},
  };
  return read_analyzer_settings<Options, Config>(section, kSettings, error);
}

std::unique_ptr<AnalyzerWorkerState> make_worker_state(const AnalyzerOptions*) {
  return std::make_unique<DnsWorkerState>();
}

namespace {
const Registration<AnalyzerApi> registration{{.name = "dns",
                                              .tcp = true,
                                              .udp = true,
                                              .probe = &probe,
                                              .create = &create_configured<DnsSession, Options>,
                                              .configure = &configure,
                                              .make_worker_state = &make_worker_state}};
}  // namespace

}  // namespace komainu::dns
