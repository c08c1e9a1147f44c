#include "analyzers/quic/quic_analyzer.h"

#include <cstdio>

namespace komainu::quic {

namespace {

std::string hex(std::span<const uint8_t> b) {
  static const char* d = "0123456789abcdef";
  std::string s;
  s.reserve(b.size() * 2);
  for (uint8_t c : b) {
    s.push_back(d[c >> 4]);
    s.push_back(d[c & 15]);
  }
  return s;
}

char cased(char c, int d) {
  return d == 0 ? c : char(c - 'A' + 'a');
}

}  // namespace

ProbeResult probe(std::span<const uint8_t> d, Direction dir, uint16_t) {
  if (dir != Direction::kToServer) return ProbeResult::kNo;
  if (d.size() < 7) return ProbeResult::kNo;
  uint32_t v = uint32_t(d[1]) << 24 | uint32_t(d[2]) << 16 | uint32_t(d[3]) << 8 | d[4];
  // Zeek's dpd.sig: the Initial type bits of each version, fixed bit set.
  if (v == kVersion1 && (d[0] & 0xf0) == 0xc0) return ProbeResult::kYes;
  if (v == kVersion2 && (d[0] & 0xf0) == 0xd0) return ProbeResult::kYes;
  return ProbeResult::kNo;
}

QuicSession::QuicSession(const SessionContext& ctx, const Config& cfg)
    : ctx_(ctx), cfg_(cfg), tls_(ctx, [] {
        tls::Config c;
        c.transport = tls::Transport::kQuic;
        return c;
      }()) {
  if (ctx.worker) anomalies_.count_into(&ctx.worker->anomalies);
}

void QuicSession::history(int d, char letter) {
  if (!active_ || info_.history.size() >= cfg_.max_history) return;
  info_.history.push_back(cased(letter, d));
  if (info_.history.size() == cfg_.max_history)
    anomalies_.report(ctx_.sink, ctx_.flow, info_.ts, "QUIC_max_history_length_reached");
}

void QuicSession::set_session(int d, const PacketHeader& h, TimeNs ts) {
  if (!active_) {
    active_ = true;
    info_ = QuicInfo{};
    info_.ts = ts;
    info_.version = h.version;
  }
  if (d == 0 && !h.dcid.empty() && !info_.has_client_initial_dcid) {
    info_.client_initial_dcid = hex(h.dcid);
    info_.has_client_initial_dcid = true;
  }
  if (d == 0) {
    info_.client_scid = hex(h.scid);
    info_.has_client_scid = true;
  } else {
    info_.server_scid = hex(h.scid);
    info_.has_server_scid = true;
  }
}

void QuicSession::on_data(Direction dir, std::span<const uint8_t> data, TimeNs ts) {
  int d = int(dir);
  size_t off = 0;
  while (off < data.size()) {
    std::span<const uint8_t> rest = data.subspan(off);
    PacketHeader h;
    if (!parse_header(rest, h)) {
      // Zero bytes after coalesced packets are padding; anything else is not QUIC.
      if (rest[0] != 0) anomalies_.report(ctx_.sink, ctx_.flow, ts, "QUIC_malformed_packet", d);
      return;
    }
    if (h.type == PacketType::kShort) {
      if (++short_packets_[d] == next_short_mark_[d]) {
        next_short_mark_[d] *= 2;
        history(d, 'O');
      }
      return;  // a short-header packet fills the rest of the datagram
    }
    long_packet(d, rest.subspan(0, h.size), h, ts);
    off += h.size;
  }
}

void QuicSession::long_packet(int d, std::span<const uint8_t> pkt, const PacketHeader& h,
                              TimeNs ts) {
  if (h.type == PacketType::kVersionNeg) return;
  if (!version_supported(h.version)) {
    if (!active_) set_session(d, h, ts);
    history(d, 'U');
    log(ts);
    return;
  }
  switch (h.type) {
    case PacketType::kRetry:
      if (!active_) set_session(d, h, ts);
      history(d, 'R');
      log(ts);
      // The client's next Initial goes to the DCID the Retry chose, with keys derived from
      // it (RFC 9001 §5.2); the CRYPTO streams restart at offset 0 with the same hello.
      initial_dcid_.clear();
      keys_[0] = keys_[1] = InitialKeys{};
      return;
    case PacketType::kHandshake:
      set_session(d, h, ts);
      history(d, 'H');
      return;
    case PacketType::kZeroRtt:
      set_session(d, h, ts);
      history(d, 'Z');
      return;
    case PacketType::kInitial:
      break;
    default:
      return;
  }
  set_session(d, h, ts);
  history(d, 'I');
  if (d == 0 && initial_dcid_.empty()) {
    // Both directions' Initial keys come from the client's first DCID (RFC 9001 §5.2).
    initial_dcid_.assign(h.dcid.begin(), h.dcid.end());
    key_version_ = h.version;
    derive_initial_keys(h.version, initial_dcid_, false, keys_[0]);
    derive_initial_keys(h.version, initial_dcid_, true, keys_[1]);
  }
  if (!keys_[d].ready || h.version != key_version_) return;
  const tls::TlsState& st = tls_.state();
  if (st.have_client_hello && st.have_server_hello) return;  // nothing more to learn here
  uint64_t pn = 0;
  if (!decrypt_packet(keys_[d], pkt, h, plain_, pn)) {
    anomalies_.report(ctx_.sink, ctx_.flow, ts, "QUIC_initial_decryption_failed", d);
    return;
  }
  FrameSummary frames;
  parse_frames(plain_, frames);
  if (frames.malformed)
    anomalies_.report(ctx_.sink, ctx_.flow, ts, "QUIC_malformed_initial_frames", d);
  for (const auto& c : frames.crypto) crypto(d, c.offset, c.data, ts);
  if (frames.connection_close) {
    history(d, 'C');
    log(ts);
  }
}

// CRYPTO frames may arrive out of order (and some clients scatter them on purpose): bytes
// are delivered to TLS in offset order; later pieces wait, bounded.
void QuicSession::crypto(int d, uint64_t offset, std::span<const uint8_t> data, TimeNs ts) {
  CryptoStream& s = crypto_[d];
  uint64_t end = offset + data.size();
  if (end <= s.delivered || data.empty()) return;  // already delivered
  if (end > cfg_.max_crypto_offset) {
    anomalies_.report(ctx_.sink, ctx_.flow, ts, "QUIC_crypto_limit_exceeded", d);
    return;
  }
  if (offset > s.delivered) {
    if (s.pending_bytes + data.size() > cfg_.max_pending_crypto) {
      anomalies_.report(ctx_.sink, ctx_.flow, ts, "QUIC_crypto_limit_exceeded", d);
      return;
    }
    auto& slot = s.pending[offset];
    if (slot.size() < data.size()) {
      s.pending_bytes += data.size() - slot.size();
      slot.assign(data.begin(), data.end());
    }
    return;
  }
  deliver(d, data.subspan(size_t(s.delivered - offset)), ts);
  for (auto it = s.pending.begin(); it != s.pending.end() && it->first <= s.delivered;) {
    const auto& b = it->second;
    if (it->first + b.size() > s.delivered)
      deliver(d, std::span<const uint8_t>(b).subspan(size_t(s.delivered - it->first)), ts);
    s.pending_bytes -= b.size();
    it = s.pending.erase(it);
  }
}

void QuicSession::deliver(int d, std::span<const uint8_t> data, TimeNs ts) {
  crypto_[d].delivered += data.size();
  const tls::TlsState& st = tls_.state();
  bool had_ch = st.have_client_hello, had_sh = st.have_server_hello;
  tls_.on_handshake_bytes(Direction(d), data, ts);
  // Zeek's quic.log 'S': a TLS hello was parsed from this side's CRYPTO data.
  if (!had_ch && st.have_client_hello) history(0, 'S');
  if (!had_sh && st.have_server_hello) history(1, 'S');
}

void QuicSession::on_gap(Direction, uint64_t, TimeNs) {}

void QuicSession::log(TimeNs ts) {
  if (!active_) return;
  active_ = false;
  if (!ctx_.sink) return;
  QuicRecord r;
  r.ts = info_.ts ? info_.ts : ts;
  r.flow = ctx_.flow;
  r.info = &info_;
  r.tls = &tls_.state();
  ctx_.sink->publish(r);
}

void QuicSession::on_close(TimeNs ts) {
  log(ts);
  tls_.on_close(ts);
}

// --- record -----------------------------------------------------------------------------

namespace {

const ZeekSchema& quic_schema() {
  static const ZeekSchema schema{"quic",
                                 zeek_conn_fields({{"version", ZeekType::kString},
                                                   {"client_initial_dcid", ZeekType::kString},
                                                   {"client_scid", ZeekType::kString},
                                                   {"server_scid", ZeekType::kString},
                                                   {"server_name", ZeekType::kString},
                                                   {"client_protocol", ZeekType::kString},
                                                   {"history", ZeekType::kString}})};
  return schema;
}

// Suricata's names of TLS extensions in its quic event.
const char* extension_name(uint16_t t) {
  switch (t) {
    case 0:
      return "server_name";
    case 1:
      return "max_fragment_length";
    case 5:
      return "status_request";
    case 10:
      return "supported_groups";
    case 11:
      return "ec_point_formats";
    case 13:
      return "signature_algorithms";
    case 14:
      return "use_srtp";
    case 15:
      return "heartbeat";
    case 16:
      return "alpn";
    case 18:
      return "signed_certificate_timestamp";
    case 21:
      return "padding";
    case 22:
      return "encrypt_then_mac";
    case 23:
      return "extended_master_secret";
    case 27:
      return "compress_certificate";
    case 28:
      return "record_size_limit";
    case 35:
      return "session_ticket";
    case 41:
      return "pre_shared_key";
    case 42:
      return "early_data";
    case 43:
      return "supported_versions";
    case 44:
      return "cookie";
    case 45:
      return "psk_key_exchange_modes";
    case 49:
      return "post_handshake_auth";
    case 50:
      return "signature_algorithms_cert";
    case 51:
      return "key_share";
    case 57:
      return "quic_transport_parameters";
    case 65281:
      return "renegotiation_info";
  }
  return nullptr;
}

// Suricata's rendering of the version: "1", draft names, else hex.
std::string eve_version(uint32_t v) {
  if (v == kVersion1) return "1";
  if (v == kDraft29) return "DRAFT29";
  char b[16];
  snprintf(b, sizeof b, "%x", v);
  return b;
}

}  // namespace

const ZeekSchema* QuicRecord::zeek_schema() const {
  return &quic_schema();
}

void QuicRecord::write_zeek(ZeekRow& row) const {
  const FlowTuple& ft = flow->tuple;
  row.time(info->ts).str(flow->uid).addr(ft.src).count(ft.sport).addr(ft.dst).count(ft.dport);
  row.str(version_name(info->version));
  auto opt = [&](bool has, const std::string& s) {
    if (has)
      row.str(s);
    else
      row.unset();
  };
  opt(info->has_client_initial_dcid, info->client_initial_dcid);
  opt(info->has_client_scid, info->client_scid);
  opt(info->has_server_scid, info->server_scid);
  opt(tls && tls->ch.has_sni, tls ? tls->ch.sni : std::string());
  opt(tls && !tls->ch.alpn.empty(), tls && !tls->ch.alpn.empty() ? tls->ch.alpn[0] : "");
  row.str(info->history);
}

void QuicRecord::write_eve(JsonWriter& w) const {
  w.key("quic").begin_object();
  w.kv("version", eve_version(info->version));
  if (tls && tls->have_client_hello) {
    const tls::ClientHello& ch = tls->ch;
    if (ch.has_sni) w.kv("sni", ch.sni);
    std::string j = tls::ja3_string(ch);
    w.key("ja3").begin_object().kv("hash", tls::md5_hex(j)).kv("string", j).end_object();
    w.kv("ja4", tls::ja4(ch, 'q'));
    w.key("extensions").begin_array();
    for (uint16_t t : ch.extensions) {
      w.begin_object();
      if (const char* n = extension_name(t)) w.kv("name", n);
      w.kv("type", uint64_t(t));
      if (t == 16 && !ch.alpn.empty()) {
        w.key("values").begin_array();
        for (const auto& a : ch.alpn) w.value(a);
        w.end_array();
      } else if (t == 0 && ch.has_sni) {
        w.key("values").begin_array().value(ch.sni).end_array();
      }
      w.end_object();
    }
    w.end_array();
  }
  w.end_object();
}

namespace {

std::unique_ptr<AppSession> create(const SessionContext& ctx) {
  return std::make_unique<QuicSession>(ctx);
}

const Registration<AnalyzerApi> registration{{.name = "quic",
                                              .tcp = false,
                                              .udp = true,
                                              .probe = &probe,
                                              .create = &create,
                                              .make_worker_state = &tls::make_worker_state}};

}  // namespace
}  // namespace komainu::quic
