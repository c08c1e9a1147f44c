// DTLS over UDP (RFC 6347; 1.0 and 1.2): the TLS session in datagram mode (see
// TlsSession::on_datagram), registered as Zeek's `dtls` service. Found by content: a
// ClientHello record in either direction (a WebRTC peer may answer first, which Zeek logs
// as a flipped connection); STUN binding messages that precede it on the same flow keep
// the probe waiting instead of giving up.
#include "analyzers/tls/tls_analyzer.h"

namespace komainu::tls {

ProbeResult probe_dtls(std::span<const uint8_t> d, Direction, uint16_t) {
  constexpr size_t kRecordHeader = 13, kHandshakeHeader = 12;
  // STUN (RFC 5389): top two bits zero and the magic cookie.
  if (d.size() >= 20 && d[0] < 4 && d[4] == 0x21 && d[5] == 0x12 && d[6] == 0xa4 && d[7] == 0x42)
    return ProbeResult::kMaybe;
  if (d.size() < kRecordHeader + kHandshakeHeader) return ProbeResult::kNo;
  if (d[0] != 22 || d[1] != 0xfe || (d[2] != 0xff && d[2] != 0xfd && d[2] != 0xfc))
    return ProbeResult::kNo;
  if (d[3] != 0 || d[4] != 0) return ProbeResult::kNo;  // epoch 0: the clear handshake
  size_t len = size_t(d[11]) << 8 | d[12];
  if (len < kHandshakeHeader || kRecordHeader + len > d.size()) return ProbeResult::kNo;
  return d[13] == 1 ? ProbeResult::kYes : ProbeResult::kNo;
}

namespace {

std::unique_ptr<AppSession> create(const SessionContext& ctx) {
  Config cfg;
  cfg.transport = Transport::kDtls;
  return std::make_unique<TlsSession>(ctx, cfg);
}

const Registration<AnalyzerApi> registration{{.name = "dtls",
                                              .tcp = false,
                                              .udp = true,
                                              .probe = &probe_dtls,
                                              .create = &create,
                                              .make_worker_state = &make_worker_state}};

}  // namespace
}  // namespace komainu::tls
