#include "analyzers/rdp/rdp_analyzer.h"

namespace komainu::rdp {

namespace {
constexpr size_t kMaxBuffered = 65535 + 4;  // one TPKT PDU at most
}

ProbeResult probe(std::span<const uint8_t> d, Direction dir, uint16_t) {
  if (d.empty()) return ProbeResult::kMaybe;
  if (d[0] != 3) return ProbeResult::kNo;
  if (d.size() < 6) return ProbeResult::kMaybe;
  size_t len = size_t(d[2]) << 8 | d[3];
  if (d[1] != 0 || len < 11 || d[4] + 5u > len) return ProbeResult::kNo;
  uint8_t want = dir == Direction::kToServer ? 0xe0 : 0xd0;
  return (d[5] & 0xf0) == want ? ProbeResult::kYes : ProbeResult::kNo;
}

RdpSession::RdpSession(const SessionContext& ctx) : ctx_(ctx) {
  if (ctx.worker) anomalies_.count_into(&ctx.worker->anomalies);
}

void RdpSession::on_data(Direction dir, std::span<const uint8_t> data, TimeNs ts) {
  if (tls_) {
    tls_->on_data(dir, data, ts);
    return;
  }
  int d = int(dir);
  if (done_[d]) return;
  auto& b = buf_[d];
  b.insert(b.end(), data.begin(), data.end());
  size_t off = 0;
  while (!done_[d] && !tls_) {
    size_t len = 0;
    Tpkt t = tpkt_frame(std::span<const uint8_t>(b).subspan(off), len);
    if (t == Tpkt::kNeedMore) break;
    if (t == Tpkt::kNotTpkt) {
      // Fast-path or encrypted PDUs: the connection sequence is over for this side.
      done_[d] = true;
      break;
    }
    pdu(d, std::span<const uint8_t>(b).subspan(off, len), ts);
    off += len;
  }
  if (tls_) {
    // The TLS handshake may already follow the Connection Confirm in the same segment.
    std::vector<uint8_t> rest(b.begin() + std::ptrdiff_t(std::min(off, b.size())), b.end());
    buf_[0].clear();
    buf_[1].clear();
    if (!rest.empty()) tls_->on_data(dir, rest, ts);
    return;
  }
  if (done_[d]) {
    b.clear();
    return;
  }
  b.erase(b.begin(), b.begin() + std::ptrdiff_t(off));
  if (b.size() > kMaxBuffered) {
    anomalies_.report(ctx_.sink, ctx_.flow, ts, "RDP_pdu_too_long", d == 1);
    b.clear();
    done_[d] = true;
  }
}

void RdpSession::pdu(int d, std::span<const uint8_t> p, TimeNs ts) {
  if (d == 0) {
    if (parse_connection_request(p, st_.request))
      st_.have_request = true;
    else
      anomalies_.report(ctx_.sink, ctx_.flow, ts, "RDP_bad_connection_request");
    done_[0] = true;  // later client PDUs carry nothing we log
    return;
  }
  if (!st_.have_confirm) {
    if (!parse_connection_confirm(p, st_.confirm)) {
      anomalies_.report(ctx_.sink, ctx_.flow, ts, "RDP_bad_connection_confirm", true);
      done_[1] = true;
      return;
    }
    st_.have_confirm = true;
    // SSL or CredSSP: the rest of the connection is TLS.
    if (st_.confirm.has_neg && !st_.confirm.failure && st_.confirm.selected_protocol != 0)
      start_tls(ts);
    return;
  }
  ServerSecurity sec;
  bool malformed = false;
  if (!parse_connect_response(p, sec, malformed)) {
    if (malformed) {
      anomalies_.report(ctx_.sink, ctx_.flow, ts, "RDP_bad_connect_response", true);
      done_[1] = true;
    }
    return;
  }
  st_.have_response = true;
  done_[1] = true;  // the server's data blocks were the last thing to read
  if (!sec.present) return;
  st_.encryption_method = sec.encryption_method;
  st_.encryption_level = sec.encryption_level;
  st_.has_certificate = sec.has_certificate;
  st_.cert_version = sec.cert_version;
  st_.cert_permanent = sec.cert_permanent;
  certificates(sec, ts);
}

void RdpSession::certificates(const ServerSecurity& sec, TimeNs ts) {
  auto* cache = dynamic_cast<tls::X509LogCache*>(ctx_.worker);
  for (auto der : sec.x509_chain) {
    ++st_.cert_count;
    tls::CertInfo own;
    const tls::CertInfo* c;
    if (cache) {
      c = &cache->parsed.get(der);
    } else {
      own = tls::parse_certificate(der);
      c = &own;
    }
    if (!c->ok) {
      anomalies_.report(ctx_.sink, ctx_.flow, ts, "x509_certificate_parse_error", true);
      continue;
    }
    // Zeek hands every RDP certificate to the X.509 analyzer as a server (host) certificate.
    if (!ctx_.sink || (cache && !cache->should_log(*c, true, false, ts))) continue;
    tls::X509Record r;
    r.ts = ts;
    r.flow = ctx_.flow;
    r.cert = c;
    r.host_cert = true;
    r.client_cert = false;
    ctx_.sink->publish(r);
  }
}

void RdpSession::start_tls(TimeNs) {
  tls_ = std::make_unique<tls::TlsSession>(ctx_);
}

void RdpSession::on_gap(Direction dir, uint64_t len, TimeNs ts) {
  if (tls_) {
    tls_->on_gap(dir, len, ts);
    return;
  }
  int d = int(dir);
  buf_[d].clear();
  done_[d] = true;
}

void RdpSession::on_close(TimeNs ts) {
  if (tls_) tls_->on_close(ts);
}

namespace {

std::unique_ptr<AppSession> create(const SessionContext& ctx) {
  return std::make_unique<RdpSession>(ctx);
}

const Registration<AnalyzerApi> registration{{.name = "rdp",
                                              .tcp = true,
                                              .udp = false,
                                              .probe = &probe,
                                              .create = &create,
                                              .make_worker_state = &tls::make_worker_state}};

}  // namespace
}  // namespace komainu::rdp
