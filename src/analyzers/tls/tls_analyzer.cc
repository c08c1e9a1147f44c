#include "analyzers/tls/tls_analyzer.h"

#include <cstdio>

namespace komainu::tls {

namespace {

constexpr size_t kMaxRecord = 16384 + 2048;

char history_letter(uint8_t hs_type) {
  switch (hs_type) {
    case 0:
      return 'H';
    case 1:
      return 'C';
    case 2:
      return 'S';
    case 3:
      return 'V';
    case 4:
      return 'T';
    case 5:
      return 'E';
    case 6:
      return 'J';
    case 8:
      return 'O';
    case 11:
      return 'X';
    case 12:
      return 'K';
    case 13:
      return 'R';
    case 14:
      return 'N';
    case 15:
      return 'Y';
    case 16:
      return 'G';
    case 20:
      return 'F';
    case 21:
      return 'W';
    case 22:
      return 'U';
    case 23:
      return 'A';
    case 24:
      return 'P';
    case 254:
      return 'M';
  }
  return 'Z';
}

char cased(char c, int dir) {
  return dir == 0 ? c : char(c - 'A' + 'a');
}

uint16_t negotiated_version(const TlsState& s) {
  if (!s.have_server_hello) return 0;
  return s.sh.selected_version ? s.sh.selected_version : s.sh.version;
}

}  // namespace

ProbeResult probe(std::span<const uint8_t> d, Direction dir, uint16_t) {
  if (d.empty()) return ProbeResult::kMaybe;
  if (d[0] != 22) return ProbeResult::kNo;
  if (d.size() < 6) return ProbeResult::kMaybe;
  if (d[1] != 3 || d[2] > 4) return ProbeResult::kNo;
  uint16_t len = uint16_t(d[3] << 8 | d[4]);
  if (len < 4 || len > kMaxRecord) return ProbeResult::kNo;
  uint8_t hs = d[5];
  if (dir == Direction::kToServer ? hs == 1 : hs == 2) return ProbeResult::kYes;
  return ProbeResult::kNo;
}

TlsSession::TlsSession(const SessionContext& ctx, const Config& cfg) : ctx_(ctx), cfg_(cfg) {
  if (ctx.worker) anomalies_.count_into(&ctx.worker->anomalies);
}

void TlsSession::anomaly(int dir, TimeNs ts, std::string_view name) {
  anomalies_.report(ctx_.sink, ctx_.flow, ts, name, dir == 1);
}

void TlsSession::on_data(Direction dir, std::span<const uint8_t> data, TimeNs ts) {
  int d = int(dir);
  if (lost_[d]) return;
  if (!started_) {
    started_ = true;
    st_.ts = ts;
  }
  auto& b = rec_[d];
  b.insert(b.end(), data.begin(), data.end());
  size_t off = 0;
  while (b.size() - off >= 5) {
    uint8_t type = b[off];
    size_t len = size_t(b[off + 3] << 8 | b[off + 4]);
    if (type < 20 || type > 24 || b[off + 1] != 3) {
      // Not TLS (or SSLv2) past this point: like Zeek's protocol violation, the analyzer
      // stops for the whole flow, as the other direction cannot be trusted either.
      anomaly(d, ts, type < 20 || type > 24 ? "SSL_unknown_record_type" : "SSL_bad_record_version");
      lost_[0] = lost_[1] = true;
      b.clear();
      return;
    }
    if (len > kMaxRecord) {
      anomaly(d, ts, "SSL_record_too_long");
      lost_[d] = true;
      b.clear();
      return;
    }
    if (b.size() - off < 5 + len) break;
    on_record(d, type, std::span<const uint8_t>(b.data() + off + 5, len), ts);
    off += 5 + len;
    if (lost_[d]) {
      b.clear();
      return;
    }
  }
  b.erase(b.begin(), b.begin() + off);
}

void TlsSession::on_record(int d, uint8_t type, std::span<const uint8_t> body, TimeNs ts) {
  switch (type) {
    case 20:  // change_cipher_spec
      st_.history.push_back(cased('I', d));
      encrypted_[d] = true;
      if (d == 0 && !st_.client_key_exchange && st_.ch.session_ticket_nonempty)
        st_.resumed = true;  // ticket resumption: no key exchange before the client's CCS
      return;
    case 21:  // alert
      if (encrypted_[d]) return;
      if (body.size() >= 2) {
        st_.has_alert = true;
        st_.last_alert = body[1];
        st_.history.push_back(cased('L', d));
      } else {
        anomaly(d, ts, "SSL_truncated_alert");
      }
      return;
    case 22: {              // handshake
      if (encrypted_[d]) {  // Finished and TLS 1.3 handshake are encrypted
        if (!st_.established && encrypted_[0] && encrypted_[1]) {
          st_.established = true;
          publish(ts);
        }
        return;
      }
      auto& h = hs_[d];
      h.insert(h.end(), body.begin(), body.end());
      size_t off = 0;
      while (h.size() - off >= 4) {
        uint8_t hs_type = h[off];
        size_t len = size_t(h[off + 1]) << 16 | size_t(h[off + 2]) << 8 | h[off + 3];
        if (len > cfg_.max_handshake_message) {
          anomaly(d, ts, "SSL_handshake_message_too_long");
          st_.truncated = true;
          h.clear();
          encrypted_[d] = true;  // stop parsing handshake bytes in this direction
          return;
        }
        if (h.size() - off < 4 + len) break;
        on_handshake(d, hs_type, std::span<const uint8_t>(h.data() + off + 4, len), ts);
        off += 4 + len;
      }
      h.erase(h.begin(), h.begin() + off);
      return;
    }
    case 23:  // application_data
      if (negotiated_version(st_) == 0x0304) {
        // TLS 1.3 without middlebox-compat CCS: every record after the hellos is protected
        encrypted_[1] = true;
        if (d == 0) encrypted_[0] = true;
      }
      if (!st_.established && encrypted_[0] && encrypted_[1]) {
        st_.established = true;
        publish(ts);
      }
      return;
    case 24:  // heartbeat
      st_.history.push_back(cased('B', d));
      return;
  }
}

void TlsSession::on_handshake(int d, uint8_t type, std::span<const uint8_t> body, TimeNs ts) {
  if (type == 2 && d == 1) {
    ServerHello sh;
    bool ok = parse_server_hello(body, sh);
    st_.history.push_back(cased(sh.hello_retry ? 'J' : 'S', d));
    if (!ok) {
      anomaly(d, ts, "SSL_malformed_server_hello");
      return;
    }
    st_.sh = std::move(sh);
    st_.have_server_hello = true;
    if (!st_.sh.session_id.empty() && st_.sh.session_id == st_.ch.session_id) st_.resumed = true;
    if (st_.sh.has_psk) st_.resumed = true;
    if (st_.sh.key_share_group) st_.curve = st_.sh.key_share_group;
    return;
  }
  st_.history.push_back(cased(history_letter(type), d));
  switch (type) {
    case 1: {
      if (d != 0) break;
      // The first hello is the fingerprint (JA3/JA4), as Suricata: a second one after a
      // HelloRetryRequest differs (cookie, key share) and must not be merged into it.
      ClientHello ch;
      if (!parse_client_hello(body, ch)) {
        anomaly(d, ts, "SSL_malformed_client_hello");
        return;
      }
      if (!st_.have_client_hello) st_.ch = std::move(ch);
      st_.have_client_hello = true;
      return;
    }
    case 11: {
      std::vector<std::span<const uint8_t>> ders;
      if (!parse_certificate_list(body, ders)) {
        anomaly(d, ts, "SSL_malformed_certificate_list");
        return;
      }
      st_.saw_certificate = true;
      auto& chain = d == 1 ? st_.server_certs : st_.client_certs;
      for (auto der : ders) {
        if (chain.size() >= cfg_.max_certificates) {
          anomaly(d, ts, "SSL_too_many_certificates");
          break;
        }
        auto* cache = dynamic_cast<X509LogCache*>(ctx_.worker);
        if (cache) {
          chain.push_back(cache->parsed.get(der));
        } else {
          chain.push_back(parse_certificate(der));
          chain.back().der.assign(der.begin(), der.end());
        }
        if (!chain.back().ok) anomaly(d, ts, "x509_certificate_parse_error");
        bool host_cert = chain.size() == 1;  // the first of the chain is the host's own
        if (ctx_.sink && chain.back().ok &&
            (!cache || cache->should_log(chain.back(), host_cert, d == 0, ts))) {
          X509Record r;
          r.ts = ts;
          r.flow = ctx_.flow;
          r.cert = &chain.back();
          r.host_cert = host_cert;
          r.client_cert = d == 0;
          ctx_.sink->publish(r);
        }
      }
      return;
    }
    case 12:
      if (d == 1)
        if (uint16_t c = server_key_exchange_curve(body)) st_.curve = c;
      return;
    case 16:
      if (d == 0) st_.client_key_exchange = true;
      return;
  }
}

void TlsSession::on_gap(Direction dir, uint64_t, TimeNs ts) {
  int d = int(dir);
  rec_[d].clear();
  hs_[d].clear();
  lost_[d] = true;
  st_.truncated = true;
  anomaly(d, ts, "SSL_stream_gap");
}

void TlsSession::publish(TimeNs ts) {
  if (logged_ || !ctx_.sink) return;
  logged_ = true;
  TlsRecord r;
  r.ts = ts;
  r.flow = ctx_.flow;
  r.state = &st_;
  r.anomalies = &anomalies_;
  ctx_.sink->publish(r);
}

void TlsSession::on_close(TimeNs ts) {
  if (started_) publish(ts);
}

// --- record -----------------------------------------------------------------------------

namespace {

std::string colon_hex(std::string_view hex, bool upper) {
  std::string o;
  for (size_t i = 0; i < hex.size(); i += 2) {
    if (i) o.push_back(':');
    for (size_t k = i; k < i + 2 && k < hex.size(); ++k)
      o.push_back(upper ? char(std::toupper(static_cast<unsigned char>(hex[k])))
                        : char(std::tolower(static_cast<unsigned char>(hex[k]))));
  }
  return o;
}

std::string eve_time(TimeNs t) {
  time_t s = time_t(t / kNsPerSec);
  struct tm tm {};
  gmtime_r(&s, &tm);
  char b[32];
  strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%S", &tm);
  return b;
}

const ZeekSchema& ssl_schema() {
  static const ZeekSchema schema{
      "ssl", zeek_conn_fields({{"version", ZeekType::kString},
                               {"cipher", ZeekType::kString},
                               {"curve", ZeekType::kString},
                               {"server_name", ZeekType::kString},
                               {"resumed", ZeekType::kBool},
                               {"last_alert", ZeekType::kString},
                               {"next_protocol", ZeekType::kString},
                               {"established", ZeekType::kBool},
                               {"ssl_history", ZeekType::kString},
                               {"cert_chain_fps", ZeekType::kVectorString},
                               {"client_cert_chain_fps", ZeekType::kVectorString},
                               {"sni_matches_cert", ZeekType::kBool}})};
  return schema;
}

}  // namespace

const ZeekSchema* TlsRecord::zeek_schema() const {
  return &ssl_schema();
}

void TlsRecord::write_zeek(ZeekRow& row) const {
  const TlsState& s = *state;
  const FlowTuple& ft = flow->tuple;
  row.time(s.ts).str(flow->uid).addr(ft.src).count(ft.sport).addr(ft.dst).count(ft.dport);
  if (s.have_server_hello) {
    row.str(zeek_version_name(negotiated_version(s))).str(zeek_cipher_name(s.sh.cipher));
  } else {
    row.unset().unset();
  }
  if (s.curve)
    row.str(zeek_curve_name(s.curve));
  else
    row.unset();
  if (s.ch.has_sni)
    row.str(s.ch.sni);
  else
    row.unset();
  row.boolean(s.resumed);
  if (s.has_alert)
    row.str(zeek_alert_name(s.last_alert));
  else
    row.unset();
  if (!s.sh.alpn.empty())
    row.str(s.sh.alpn);
  else
    row.unset();
  row.boolean(s.established);
  if (s.history.empty())
    row.unset();
  else
    row.str(s.history);
  if (s.saw_certificate) {
    std::vector<std::string> srv, cli;
    for (const auto& c : s.server_certs) srv.push_back(c.sha256);
    for (const auto& c : s.client_certs) cli.push_back(c.sha256);
    row.strings(srv).strings(cli);
  } else {
    row.unset().unset();
  }
  if (s.ch.has_sni && !s.server_certs.empty() && s.server_certs[0].ok)
    row.boolean(cert_matches_host(s.server_certs[0], s.ch.sni));
  else
    row.unset();
}

void TlsRecord::write_eve(JsonWriter& w) const {
  const TlsState& s = *state;
  w.key("tls").begin_object();
  if (!s.server_certs.empty() && s.server_certs[0].ok) {
    const CertInfo& c = s.server_certs[0];
    w.kv("subject", c.subject_fwd).kv("issuerdn", c.issuer_fwd);
    w.kv("serial", c.serial_eve);
    w.kv("fingerprint", colon_hex(c.sha1, false));
  }
  if (s.ch.has_sni) w.kv("sni", s.ch.sni);
  uint16_t v = negotiated_version(s);
  w.kv("version", v ? eve_version_name(v) : std::string("UNDETERMINED"));
  if (!s.server_certs.empty() && s.server_certs[0].ok) {
    w.kv("notbefore", eve_time(s.server_certs[0].not_before));
    w.kv("notafter", eve_time(s.server_certs[0].not_after));
  }
  if (!s.server_certs.empty() && !s.server_certs[0].san_dns.empty()) {
    w.key("subjectaltname").begin_array();
    for (const auto& n : s.server_certs[0].san_dns) w.value(n);
    w.end_array();
  }
  if (s.resumed) w.kv("session_resumed", true);
  if (s.have_client_hello) {
    std::string j = ja3_string(s.ch);
    w.key("ja3").begin_object().kv("hash", md5_hex(j)).kv("string", j).end_object();
  }
  if (s.have_server_hello) {
    std::string j = ja3s_string(s.sh);
    w.key("ja3s").begin_object().kv("hash", md5_hex(j)).kv("string", j).end_object();
  }
  if (s.have_client_hello) w.kv("ja4", ja4(s.ch));
  if (!s.ch.alpn.empty()) {
    w.key("client_alpns").begin_array();
    for (const auto& a : s.ch.alpn) w.value(a);
    w.end_array();
  }
  if (!s.sh.alpn.empty()) w.key("server_alpns").begin_array().value(s.sh.alpn).end_array();
  if (s.truncated) w.kv("truncated", true);
  w.end_object();
}

std::unique_ptr<AnalyzerWorkerState> make_worker_state(const AnalyzerOptions*) {
  return std::make_unique<X509LogCache>();
}

namespace {
std::unique_ptr<AppSession> create(const SessionContext& ctx) {
  return std::make_unique<TlsSession>(ctx);
}
// Zeek's service name for TLS is "ssl"; Suricata's app_proto is "tls".
const Registration<AnalyzerApi> registration{{.name = "ssl",
                                              .tcp = true,
                                              .udp = false,
                                              .probe = &probe,
                                              .create = &create,
                                              .eve_name = "tls",
                                              .make_worker_state = &make_worker_state}};
}  // namespace

}  // namespace komainu::tls
