// TLS handshake → tls.* / ja3 / ja3s / ja4 buffers, tls.version.raw and tls.* app-layer
// events. Inspections in Suricata's directions: the ClientHello side (to_server: tls.sni,
// ja3.*, ja4.hash, the client's version, a client certificate), then the server side
// (to_client: ja3s.*, the negotiated version, the server certificate's subject, issuer,
// serial and fingerprint, and tls.certs for the first certificate). tls.certs is a
// multi-buffer: every further certificate of the chain is one more to_client inspection
// holding only tls.certs, so a rule on the other buffers still sees the chain once.
#include <cctype>

#include "analyzers/tls/tls_analyzer.h"
#include "detect/signatures/app_provider.h"

namespace komainu::sig {
namespace {

using app::id_of;
using tls::CertInfo;
using tls::TlsState;

struct Ids {
  BufferId sni = id_of("tls.sni"), subject = id_of("tls.cert_subject"),
           issuer = id_of("tls.cert_issuer"), serial = id_of("tls.cert_serial"),
           fingerprint = id_of("tls.cert_fingerprint"), certs = id_of("tls.certs"),
           ja3 = id_of("ja3.hash"), ja3_string = id_of("ja3.string"), ja3s = id_of("ja3s.hash"),
           ja3s_string = id_of("ja3s.string"), ja4 = id_of("ja4.hash"),
           version = id_of("tls.version.raw");
};

constexpr app::EventName kEvents[] = {
    {"SSL_unknown_record_type", "tls.invalid_record_type"},
    {"SSL_bad_record_version", "tls.invalid_record_version"},
    {"SSL_record_too_long", "tls.invalid_ssl_record"},
    {"SSL_truncated_alert", "tls.invalid_alert_message"},
    {"SSL_handshake_message_too_long", "tls.handshake_invalid_length"},
    {"SSL_malformed_client_hello", "tls.invalid_handshake_message"},
    {"SSL_malformed_server_hello", "tls.invalid_handshake_message"},
    {"SSL_malformed_certificate_list", "tls.invalid_certificate"},
    {"x509_certificate_parse_error", "tls.certificate_invalid_der"},
    {"SSL_unknown_handshake_type", "tls.invalid_handshake_message"},
    {"x509_certificate_incomplete", "tls.certificate_invalid_length"},
    {"x509_certificate_malformed", "tls.invalid_certificate"},
};

enum Slot : size_t { kHashString, kHash, kJa4, kVersion, kFingerprint };

void set_version(InspectBuffers& b, BufferId id, uint16_t v, std::string& out) {
  out.assign({static_cast<char>(v >> 8), static_cast<char>(v & 0xff)});
  b.set(id, out);
}

// Suricata's fingerprint form: SHA-1 as lowercase hex pairs joined by ':'.
void colon_hex(std::string_view hex, std::string& out) {
  out.clear();
  for (size_t k = 0; k < hex.size(); ++k) {
    if (k && k % 2 == 0) out.push_back(':');
    out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(hex[k]))));
  }
}

void set_cert(InspectBuffers& b, const Ids& ids, const CertInfo& c, AppBufferScratch& s) {
  if (!c.der.empty()) b.set(ids.certs, std::span<const uint8_t>(c.der));
  if (!c.ok) return;
  b.set(ids.subject, c.subject_fwd);
  b.set(ids.issuer, c.issuer_fwd);
  b.set(ids.serial, c.serial_eve);
  colon_hex(c.sha1, s.str[kFingerprint]);
  b.set(ids.fingerprint, s.str[kFingerprint]);
}

void fill_client(const TlsState& st, InspectBuffers& b, const Ids& ids, AppBufferScratch& s) {
  if (st.have_client_hello) {
    const tls::ClientHello& ch = st.ch;
    if (ch.has_sni) b.set(ids.sni, ch.sni);
    s.str[kHashString] = tls::ja3_string(ch);
    s.str[kHash] = tls::md5_hex(s.str[kHashString]);
    b.set(ids.ja3_string, s.str[kHashString]);
    b.set(ids.ja3, s.str[kHash]);
    s.str[kJa4] = tls::ja4(ch);
    b.set(ids.ja4, s.str[kJa4]);
    set_version(b, ids.version, ch.version, s.str[kVersion]);
  }
  if (!st.client_certs.empty()) set_cert(b, ids, st.client_certs[0], s);
}

void fill_server(const TlsState& st, InspectBuffers& b, const Ids& ids, AppBufferScratch& s) {
  if (st.have_server_hello) {
    s.str[kHashString] = tls::ja3s_string(st.sh);
    s.str[kHash] = tls::md5_hex(s.str[kHashString]);
    b.set(ids.ja3s_string, s.str[kHashString]);
    b.set(ids.ja3s, s.str[kHash]);
    uint16_t v = st.sh.selected_version ? st.sh.selected_version : st.sh.version;
    set_version(b, ids.version, v, s.str[kVersion]);
  }
  if (!st.server_certs.empty()) set_cert(b, ids, st.server_certs[0], s);
}

bool fill(const Record& r, size_t i, InspectBuffers& b, InspectContext& ctx, AppBufferScratch& s) {
  static const Ids ids;
  const auto* rec = dynamic_cast<const tls::TlsRecord*>(&r);
  if (!rec || !rec->state) return false;
  const TlsState& st = *rec->state;
  bool client = st.have_client_hello || !st.client_certs.empty();
  bool server = st.have_server_hello || !st.server_certs.empty();
  size_t extra = st.server_certs.size() > 1 ? st.server_certs.size() - 1 : 0;
  size_t k = i;
  if (client && k == 0) {
    fill_client(st, b, ids, s);
    ctx.to_server = true;
  } else {
    k -= client ? 1 : 0;
    if (!server || k > extra) return false;
    if (k == 0)
      fill_server(st, b, ids, s);
    else if (!st.server_certs[k].der.empty())
      b.set(ids.certs, std::span<const uint8_t>(st.server_certs[k].der));
    ctx.to_server = false;
  }
  app::EventList ev(s);
  // Each event in the direction it was raised in (a server-side fault alerts once), or in
  // the only inspection there is.
  uint8_t mine = ctx.to_server ? (server ? 1 : 3) : (client ? 2 : 3);
  for (const auto& [name, dirs] : st.anomaly_dirs)
    if (dirs & mine) ev.add(app::map_event(kEvents, name));
  ctx.app_proto = "tls";
  ctx.events = ev.span();
  return true;
}

const Registration<AppBufferApi> reg{{.name = "tls", .app_proto = "tls", .fill = fill}};

}  // namespace
}  // namespace komainu::sig
