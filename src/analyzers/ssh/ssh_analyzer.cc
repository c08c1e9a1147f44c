#include "analyzers/ssh/ssh_analyzer.h"

#include <algorithm>
#include <cstring>

#include "core/cursor.h"
#include "core/site.h"

namespace komainu::ssh {

ProbeResult probe(std::span<const uint8_t> d, Direction, uint16_t) {
  static const char kMagic[] = "SSH-";
  size_t n = std::min<size_t>(d.size(), 4);
  if (memcmp(d.data(), kMagic, n) != 0) return ProbeResult::kNo;
  return n < 4 ? ProbeResult::kMaybe : ProbeResult::kYes;
}

SshSession::SshSession(const SessionContext& ctx, const Config& cfg) : ctx_(ctx), cfg_(cfg) {
  if (ctx.worker) anomalies_.count_into(&ctx.worker->anomalies);
}

bool SshSession::ssh2() const {
  if (!st_.have_banner[0]) return false;
  const std::string& v = st_.banner[0].proto_version;
  return v == "2.0" || v == "1.99";
}

void SshSession::on_data(Direction dir, std::span<const uint8_t> data, TimeNs ts) {
  int d = int(dir);
  if (!started_) {
    started_ = true;
    st_.ts = ts;
  }
  if (phase_[d] == Phase::kStopped) return;
  if (phase_[d] == Phase::kEncrypted) {
    encrypted(d, data.size(), ts);
    return;
  }
  auto& b = buf_[d];
  b.insert(b.end(), data.begin(), data.end());
  while (phase_[d] == Phase::kBanner) {
    auto nl = std::find(b.begin(), b.end(), uint8_t('\n'));
    if (nl == b.end()) {
      if (b.size() > cfg_.max_banner_bytes) {
        anomalies_.report(ctx_.sink, ctx_.flow, ts, "SSH_banner_too_long", d == 1);
        phase_[d] = Phase::kStopped;
        b.clear();
      }
      return;
    }
    std::string_view line(reinterpret_cast<const char*>(b.data()), size_t(nl - b.begin()));
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    Banner banner;
    if (parse_banner(line, banner)) {
      st_.banner[d] = std::move(banner);
      st_.have_banner[d] = true;
      const std::string& v = st_.banner[d].proto_version;
      phase_[d] = v == "2.0" || v == "1.99" ? Phase::kPackets : Phase::kStopped;
    }
    b.erase(b.begin(), nl + 1);
    if (phase_[d] == Phase::kBanner && (d == 0 || b.size() > cfg_.max_banner_bytes)) {
      // A client sends its banner first (RFC 4253 §4.2): anything else is not SSH.
      anomalies_.report(ctx_.sink, ctx_.flow, ts, "SSH_invalid_banner", d == 1);
      phase_[d] = Phase::kStopped;
    }
  }
  // An SSH-1 client makes the whole connection SSH-1: its packets are not parsed.
  if (st_.have_banner[0] && !ssh2()) phase_[0] = phase_[1] = Phase::kStopped;
  // Packets are parsed once the client's banner has fixed the protocol version (Zeek's
  // parser needs it too: a server-only capture logs no algorithms).
  if (phase_[d] == Phase::kPackets && ssh2()) {
    packets(d, ts);
    if (d == 0 && phase_[1] == Phase::kPackets) packets(1, ts);
  } else if (phase_[d] == Phase::kPackets && b.size() > 2 * cfg_.max_packet) {
    b.clear();  // waiting for a client banner that never came: stay bounded
    phase_[d] = Phase::kStopped;
  }
  if (phase_[d] == Phase::kStopped) b.clear();
}

void SshSession::packets(int d, TimeNs ts) {
  auto& b = buf_[d];
  size_t off = 0;
  while (phase_[d] == Phase::kPackets && b.size() - off >= 5) {
    uint32_t plen = uint32_t(b[off]) << 24 | uint32_t(b[off + 1]) << 16 |
                    uint32_t(b[off + 2]) << 8 | b[off + 3];
    uint8_t pad = b[off + 4];
    if (plen > cfg_.max_packet || plen < 1u + pad) {
      anomalies_.report(ctx_.sink, ctx_.flow, ts, "SSH_bad_packet_length", d == 1);
      phase_[d] = Phase::kStopped;
      break;
    }
    if (b.size() - off < 4 + size_t(plen)) break;
    std::span<const uint8_t> payload(b.data() + off + 5, plen - 1 - pad);
    off += 4 + size_t(plen);
    if (payload.empty()) continue;
    uint8_t msg = payload[0];
    auto body = payload.subspan(1);
    if (msg == 20) {
      KexInit k;
      if (parse_kexinit(body, k)) {
        st_.kex[d] = std::move(k);
        st_.have_kex[d] = true;
      } else {
        anomalies_.report(ctx_.sink, ctx_.flow, ts, "SSH_malformed_kexinit", d == 1);
      }
    } else if (d == 1 && (msg == 31 || msg == 33)) {
      // 31 is the DH/ECDH reply, or the group of a group exchange (whose reply is 33)
      bool gex = st_.have_kex[0] && st_.have_kex[1] &&
                 negotiate(st_.kex[0].lists[kKex], st_.kex[1].lists[kKex]).find("group-exchange") !=
                     std::string::npos;
      std::span<const uint8_t> key;
      if ((msg == 33 || !gex) && kex_reply_host_key(body, key))
        st_.host_key_fp = host_key_fingerprint(key);
    } else if (msg == 21) {
      phase_[d] = Phase::kEncrypted;
    }
  }
  if (phase_[d] == Phase::kEncrypted) {
    // Bytes after NEWKEYS in the same delivery are already ciphertext.
    size_t rest = b.size() - std::min(off, b.size());
    b.clear();
    encrypted(d, rest, ts);
    return;
  }
  b.erase(b.begin(), b.begin() + std::min(off, b.size()));
}

// Zeek's heuristic over the sizes of encrypted deliveries. The server is only watched once
// the client has sent encrypted data; its first delivery is SERVICE_ACCEPT; one 16 bytes
// shorter is USERAUTH_SUCCESS; the first other size (after skipping one large pre-auth
// banner) is USERAUTH_FAILURE, and every repeat of it is a failed attempt.
void SshSession::encrypted(int d, size_t len, TimeNs ts) {
  if (!ssh2() || auth_decided_ || len == 0) return;
  if (d == 0) {
    saw_client_ciphertext_ = true;
    return;
  }
  if (!saw_client_ciphertext_) return;
  if (!service_accept_size_) {
    service_accept_size_ = len;
    return;
  }
  // Zeek (SSH::compression_algorithms) ignores the verdicts when both directions compress
  // with zlib: packet sizes say nothing then. A success still ends the analysis.
  if (zlib_ < 0) {  // once per connection: both KEXINITs precede any ciphertext
    zlib_ = 0;
    if (st_.have_kex[0] && st_.have_kex[1]) {
      std::string c2s = negotiate(st_.kex[0].lists[kCompC2S], st_.kex[1].lists[kCompC2S]);
      std::string s2c = negotiate(st_.kex[0].lists[kCompS2C], st_.kex[1].lists[kCompS2C]);
      zlib_ = c2s == s2c && (c2s == "zlib" || c2s == "zlib@openssh.com");
    }
  }
  const bool zlib = zlib_ > 0;
  auto success = [&] {
    auth_decided_ = true;
    if (!zlib) {
      ++st_.auth_attempts;
      st_.auth_success = true;
    }
    publish(ts);
  };
  if (!userauth_failure_size_ && len + 16 == service_accept_size_) return success();
  if (!userauth_failure_size_) {
    if (!skipped_banner_ && len > service_accept_size_ + 256) {
      skipped_banner_ = true;
      return;
    }
    userauth_failure_size_ = len;
    return;
  }
  if (len == userauth_failure_size_) {
    if (!zlib) ++st_.auth_attempts;
    return;
  }
  if (len + 16 == service_accept_size_) success();
}

void SshSession::on_gap(Direction dir, uint64_t, TimeNs ts) {
  int d = int(dir);
  st_.truncated = true;
  buf_[d].clear();
  if (phase_[d] != Phase::kEncrypted) phase_[d] = Phase::kStopped;
  anomalies_.report(ctx_.sink, ctx_.flow, ts, "SSH_stream_gap", d == 1);
}

void SshSession::publish(TimeNs ts) {
  if (logged_ || !ctx_.sink) return;
  logged_ = true;
  SshRecord r;
  r.ts = ts;
  r.flow = ctx_.flow;
  r.state = &st_;
  r.anomalies = &anomalies_;
  ctx_.sink->publish(r);
}

void SshSession::on_close(TimeNs ts) {
  if (started_) publish(ts);
}

// --- record -----------------------------------------------------------------------------

namespace {

const ZeekSchema& ssh_schema() {
  static const ZeekSchema schema{"ssh",
                                 zeek_conn_fields({{"version", ZeekType::kCount},
                                                   {"auth_success", ZeekType::kBool},
                                                   {"auth_attempts", ZeekType::kCount},
                                                   {"direction", ZeekType::kEnum},
                                                   {"client", ZeekType::kString},
                                                   {"server", ZeekType::kString},
                                                   {"cipher_alg", ZeekType::kString},
                                                   {"mac_alg", ZeekType::kString},
                                                   {"compression_alg", ZeekType::kString},
                                                   {"kex_alg", ZeekType::kString},
                                                   {"host_key_alg", ZeekType::kString},
                                                   {"host_key_fingerprint", ZeekType::kString}})};
  return schema;
}

}  // namespace

const ZeekSchema* SshRecord::zeek_schema() const {
  return &ssh_schema();
}

void SshRecord::write_zeek(ZeekRow& row) const {
  const SshState& s = *state;
  const FlowTuple& ft = flow->tuple;
  row.time(s.ts).str(flow->uid).addr(ft.src).count(ft.sport).addr(ft.dst).count(ft.dport);
  if (s.have_banner[0]) {
    const std::string& v = s.banner[0].proto_version;
    row.count(v == "2.0" || v == "1.99" ? 2 : 1);
  } else {
    row.unset();
  }
  if (s.auth_attempts)
    row.boolean(s.auth_success);
  else
    row.unset();
  row.count(s.auth_attempts);
  bool lo = is_zeek_local(ft.src), lr = is_zeek_local(ft.dst);
  if (lo && !lr)
    row.str("OUTBOUND");
  else if (!lo && lr)
    row.str("INBOUND");
  else
    row.unset();
  for (int d = 0; d < 2; ++d) {
    if (s.have_banner[d])
      row.str(s.banner[d].line);
    else
      row.unset();
  }
  auto alg = [&](int c2s, int s2c) {
    if (!s.have_kex[0] || !s.have_kex[1]) {
      row.unset();
      return;
    }
    std::string a = negotiate(s.kex[0].lists[c2s], s.kex[1].lists[c2s]);
    std::string b = negotiate(s.kex[0].lists[s2c], s.kex[1].lists[s2c]);
    if (a.empty() && b.empty())
      row.unset();
    else if (a == b || b.empty())
      row.str(a);
    else
      row.str("to_server=" + a + " to_client=" + b);
  };
  alg(kEncC2S, kEncS2C);
  alg(kMacC2S, kMacS2C);
  alg(kCompC2S, kCompS2C);
  alg(kKex, kKex);
  alg(kHostKey, kHostKey);
  if (s.host_key_fp.empty())
    row.unset();
  else
    row.str(s.host_key_fp);
}

void SshRecord::write_eve(JsonWriter& w) const {
  const SshState& s = *state;
  w.key("ssh").begin_object();
  const char* names[2] = {"client", "server"};
  for (int d = 0; d < 2; ++d) {
    if (!s.have_banner[d]) continue;
    w.key(names[d]).begin_object();
    w.kv("proto_version", s.banner[d].proto_version);
    w.kv("software_version", s.banner[d].software);
    if (s.have_kex[d]) {
      std::string h = hassh_string(s.kex[d], d == 1);
      w.key("hassh").begin_object().kv("hash", md5_hex(h)).kv("string", h).end_object();
    }
    w.end_object();
  }
  if (s.truncated) w.kv("truncated", true);
  w.end_object();
}

namespace {
std::unique_ptr<AppSession> create(const SessionContext& ctx) {
  return std::make_unique<SshSession>(ctx);
}
const Registration<AnalyzerApi> registration{
    {.name = "ssh", .tcp = true, .udp = false, .probe = &probe, .create = &create}};
}  // namespace

}  // namespace komainu::ssh
