#include "analyzers/tls/tls_analyzer.h"

#include <algorithm>
#include <cstdio>

#include "core/cursor.h"

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
  // SSLv2-format ClientHello offering SSL 3.0 / TLS.
  if ((d[0] & 0x80) && dir == Direction::kToServer) {
    if (d.size() < 5) return ProbeResult::kMaybe;
    return d[2] == 1 && d[3] == 3 && d[4] <= 3 ? ProbeResult::kYes : ProbeResult::kNo;
  }
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
  st_.transport = cfg.transport == Transport::kDtls   ? 'd'
                  : cfg.transport == Transport::kQuic ? 'q'
                                                      : 't';
}

void TlsSession::on_handshake_bytes(Direction dir, std::span<const uint8_t> data, TimeNs ts) {
  int d = int(dir);
  if (lost_[d]) return;
  if (!started_) {
    started_ = true;
    st_.ts = ts;
  }
  handshake_stream(d, data, ts);
}

// Zeek's check_flipped: a ClientHello must come from the originator, a ServerHello from the
// responder; when one does not, the roles swap ('^' in ssl_history), and swapping back is
// itself suspicious.
void TlsSession::check_flipped(int dir, int desired_role) {
  if (!flipped_ && dir != desired_role) {
    flipped_ = true;
    st_.history.push_back('^');
  } else if (flipped_ && dir == desired_role) {
    flipped_ = false;
    st_.history.push_back('^');
    if (!flip_alerted_) {
      flip_alerted_ = true;
      anomaly(dir, st_.ts, "SSL_unclear_connection_direction");
    }
  }
}

void TlsSession::anomaly(int dir, TimeNs ts, std::string_view name) {
  anomalies_.report(ctx_.sink, ctx_.flow, ts, name, dir == 1);
  uint8_t bit = dir == 1 ? 2 : 1;
  for (auto& [n, dirs] : st_.anomaly_dirs)
    if (n == name) {
      dirs |= bit;
      return;
    }
  st_.anomaly_dirs.emplace_back(name, bit);  // one entry per distinct name: bounded
}

void TlsSession::on_data(Direction dir, std::span<const uint8_t> data, TimeNs ts) {
  int d = int(dir);
  if (lost_[d]) return;
  if (!started_) {
    started_ = true;
    st_.ts = ts;
  }
  if (cfg_.transport == Transport::kDtls) {
    on_datagram(d, data, ts);
    return;
  }
  if (cfg_.transport == Transport::kQuic) {
    handshake_stream(d, data, ts);
    return;
  }
  auto& b = rec_[d];
  b.insert(b.end(), data.begin(), data.end());
  size_t off = 0;
  // An SSLv2-format ClientHello (RFC 6101 appendix E.1: 2-byte header with the top bit set)
  // opens some TLS 1.0 connections: Zeek logs it as the client hello ('C') and the server
  // then answers with TLS records.
  if (d == 0 && !st_.have_client_hello && b.size() >= 3 && (b[0] & 0x80) && b[2] == 1) {
    size_t len = size_t(b[0] & 0x7f) << 8 | b[1];
    if (b.size() < 2 + len) return;  // wait for the whole message
    ClientHello ch;
    if (parse_sslv2_client_hello(std::span<const uint8_t>(b.data() + 2, len), ch)) {
      st_.ch = std::move(ch);
      st_.have_client_hello = true;
      st_.history.push_back('C');
    } else {
      anomaly(d, ts, "SSL_malformed_client_hello");
    }
    off = 2 + len;
  }
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
  int r = role(d);
  switch (type) {
    case 20:  // change_cipher_spec
      st_.history.push_back(cased('I', r));
      encrypted_[d] = true;
      if (r == 0 && !st_.client_key_exchange && st_.ch.session_ticket_nonempty)
        st_.resumed = true;  // ticket resumption: no key exchange before the client's CCS
      return;
    case 21:  // alert
      if (encrypted_[d]) return;
      if (body.size() >= 2) {
        st_.has_alert = true;
        st_.last_alert = body[1];
        st_.history.push_back(cased('L', r));
      } else {
        anomaly(d, ts, "SSL_truncated_alert");
      }
      return;
    case 22:                // handshake
      if (encrypted_[d]) {  // Finished and TLS 1.3 handshake are encrypted
        if (!st_.established && encrypted_[0] && encrypted_[1]) {
          st_.established = true;
          publish(ts);
        }
        return;
      }
      if (cfg_.transport == Transport::kDtls)
        dtls_handshake(d, body, ts);
      else
        handshake_stream(d, body, ts);
      return;
    case 23:  // application_data
      if (negotiated_version(st_) == 0x0304) {
        // TLS 1.3 without middlebox-compat CCS: every record after the hellos is protected
        encrypted_[1 ^ int(flipped_)] = true;
        if (r == 0) encrypted_[d] = true;
      }
      if (!st_.established && encrypted_[0] && encrypted_[1]) {
        st_.established = true;
        publish(ts);
      }
      return;
    case 24:  // heartbeat
      st_.history.push_back(cased('B', r));
      return;
  }
}

void TlsSession::handshake_stream(int d, std::span<const uint8_t> body, TimeNs ts) {
  auto& h = hs_[d];
  h.insert(h.end(), body.begin(), body.end());
  size_t off = 0;
  while (h.size() - off >= 4) {
    uint8_t hs_type = h[off];
    size_t len = size_t(h[off + 1]) << 16 | size_t(h[off + 2]) << 8 | h[off + 3];
    // No handshake type above 26 is assigned but message_hash (254): Suricata's
    // invalid_handshake_message. Zeek keeps parsing (history 'Z'), so this only counts.
    if (hs_type > 26 && hs_type != 254) anomaly(d, ts, "SSL_unknown_handshake_type");
    if (len > cfg_.max_handshake_message) {
      anomaly(d, ts, "SSL_handshake_message_too_long");
      st_.truncated = true;
      h.clear();
      encrypted_[d] = true;  // stop parsing handshake bytes in this direction
      if (cfg_.transport == Transport::kQuic) lost_[d] = true;
      return;
    }
    if (h.size() - off < 4 + len) break;
    on_handshake(d, hs_type, std::span<const uint8_t>(h.data() + off + 4, len), ts);
    off += 4 + len;
  }
  h.erase(h.begin(), h.begin() + off);
}

// DTLS (RFC 6347): each datagram holds whole records of a 13-byte header (type, version,
// epoch, 48-bit sequence, length). Datagrams outside DTLS's first-byte range (RFC 7983:
// STUN, TURN channels, RTP share WebRTC flows) are not ours and are skipped silently.
void TlsSession::on_datagram(int d, std::span<const uint8_t> data, TimeNs ts) {
  if (data.empty() || data[0] < 20 || data[0] > 63) return;
  Cursor c(data);
  while (!c.empty() && !lost_[d]) {
    uint8_t type;
    uint16_t version, epoch, len;
    std::span<const uint8_t> body;
    if (!c.u8(type) || !c.be16(version) || !c.be16(epoch) || !c.skip(6) || !c.be16(len) ||
        !c.bytes(len, body)) {
      anomaly(d, ts, "DTLS_truncated_record");
      return;
    }
    if (type < 20 || type > 24 || (version >> 8) != 0xfe) {
      anomaly(d, ts, type < 20 || type > 24 ? "SSL_unknown_record_type" : "SSL_bad_record_version");
      return;  // the rest of this datagram cannot be framed
    }
    // A later epoch is protected (its CCS may have been lost).
    if (epoch != 0 && type == 22) encrypted_[d] = true;
    on_record(d, type, body, ts);
  }
}

// DTLS handshake messages have a 12-byte header (type, length, message_seq, fragment offset
// and length): a message may be split over records and datagrams, and is retransmitted
// whole on loss. One message per direction is rebuilt at a time (bounded by
// max_handshake_message); retransmissions of handled messages are skipped.
void TlsSession::dtls_handshake(int d, std::span<const uint8_t> body, TimeNs ts) {
  constexpr size_t kMaxFragments = 64;
  auto u24 = [](Cursor& c, size_t& v) {
    uint8_t a, b, e;
    if (!c.u8(a) || !c.u8(b) || !c.u8(e)) return false;
    v = size_t(a) << 16 | size_t(b) << 8 | e;
    return true;
  };
  Cursor c(body);
  DtlsMessage& m = dtls_[d];
  while (!c.empty()) {
    uint8_t type;
    uint16_t seq;
    size_t len, off, flen;
    std::span<const uint8_t> frag;
    if (!c.u8(type) || !u24(c, len) || !c.be16(seq) || !u24(c, off) || !u24(c, flen) ||
        !c.bytes(flen, frag)) {
      anomaly(d, ts, "DTLS_truncated_handshake");
      return;
    }
    if (len > cfg_.max_handshake_message) {
      anomaly(d, ts, "SSL_handshake_message_too_long");
      st_.truncated = true;
      continue;
    }
    if (off + flen > len) {
      anomaly(d, ts, "DTLS_bad_fragment");
      continue;
    }
    if (seq < m.next_seq) continue;  // a retransmission of a handled message
    if (off == 0 && flen == len) {
      m.open = false;
      m.next_seq = uint16_t(seq + 1);
      on_handshake(d, type, frag, ts);
      continue;
    }
    if (!m.open || m.seq != seq || m.type != type || m.length != len) {
      if (m.open) anomaly(d, ts, "DTLS_incomplete_handshake_message");
      m.open = true;
      m.seq = seq;
      m.type = type;
      m.length = len;
      m.body.assign(len, 0);
      m.have.clear();
    }
    if (flen == 0) continue;
    std::copy(frag.begin(), frag.end(), m.body.begin() + std::ptrdiff_t(off));
    m.have.push_back({off, off + flen});
    std::sort(m.have.begin(), m.have.end());
    size_t k = 0;
    for (size_t i = 1; i < m.have.size(); ++i) {
      if (m.have[i].first <= m.have[k].second)
        m.have[k].second = std::max(m.have[k].second, m.have[i].second);
      else
        m.have[++k] = m.have[i];
    }
    m.have.resize(k + 1);
    if (m.have.size() > kMaxFragments) {
      anomaly(d, ts, "DTLS_too_many_fragments");
      m.open = false;
      m.body.clear();
      continue;
    }
    if (m.have[0].first == 0 && m.have[0].second == len) {
      m.open = false;
      m.next_seq = uint16_t(seq + 1);
      std::vector<uint8_t> msg;
      msg.swap(m.body);
      on_handshake(d, type, msg, ts);
    }
  }
}

void TlsSession::on_handshake(int d, uint8_t type, std::span<const uint8_t> body, TimeNs ts) {
  if (type == 1) check_flipped(d, 0);
  if (type == 2) check_flipped(d, 1);
  const int r = role(d);
  if (type == 2 && r == 1) {
    ServerHello sh;
    bool ok = parse_server_hello(body, sh);
    st_.history.push_back(cased(sh.hello_retry ? 'J' : 'S', r));
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
  st_.history.push_back(cased(history_letter(type), r));
  switch (type) {
    case 1: {
      if (r != 0) break;
      // The first hello is the fingerprint (JA3/JA4), as Suricata: a second one after a
      // HelloRetryRequest differs (cookie, key share) and must not be merged into it.
      ClientHello ch;
      if (!parse_client_hello(body, ch, cfg_.transport == Transport::kDtls)) {
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
      auto& chain = r == 1 ? st_.server_certs : st_.client_certs;
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
        if (!chain.back().ok) {
          switch (classify_der_fault(der)) {
            case DerFault::kIncomplete:
              anomaly(d, ts, "x509_certificate_incomplete");
              break;
            case DerFault::kOverrun:
              anomaly(d, ts, "x509_certificate_malformed");
              break;
            case DerFault::kOther:
              anomaly(d, ts, "x509_certificate_parse_error");
              break;
          }
        }
        bool host_cert = chain.size() == 1;  // the first of the chain is the host's own
        if (ctx_.sink && chain.back().ok &&
            (!cache || cache->should_log(chain.back(), host_cert, r == 0, ts))) {
          X509Record rec;
          rec.ts = ts;
          rec.flow = ctx_.flow;
          rec.cert = &chain.back();
          rec.host_cert = host_cert;
          rec.client_cert = r == 0;
          ctx_.sink->publish(rec);
        }
      }
      return;
    }
    case 12:
      if (r == 1)
        if (uint16_t c = server_key_exchange_curve(body)) st_.curve = c;
      return;
    case 16:
      if (r == 0) st_.client_key_exchange = true;
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
  r.eve = cfg_.transport != Transport::kQuic;
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
  if (s.have_client_hello) w.kv("ja4", ja4(s.ch, s.transport));
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
