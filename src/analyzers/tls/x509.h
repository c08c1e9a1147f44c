// X.509 certificates from a TLS Certificate message, parsed with OpenSSL (d2i_X509) into
// what Zeek's x509.log and Suricata's tls event need. DER that OpenSSL rejects yields
// ok=false (a counted anomaly), never a crash.
#pragma once
#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "analyzers/analyzer.h"
#include "core/event.h"

namespace komainu::tls {

struct CertInfo {
  bool ok = false;
  std::string sha256, sha1;  // lowercase hex of the DER
  uint64_t version = 0;
  std::string serial;                   // uppercase hex, as Zeek
  std::string serial_eve;               // DER content bytes "00:97:E6:...", as Suricata
  std::string subject, issuer;          // RFC 2253 order (Zeek)
  std::string subject_fwd, issuer_fwd;  // forward order, ", " separated (Suricata)
  TimeNs not_before = 0, not_after = 0;
  std::string key_alg, sig_alg, key_type, exponent, curve;
  uint64_t key_length = 0;
  bool has_key_length = false;
  std::vector<std::string> san_dns, san_uri, san_email, san_ip;
  std::vector<uint8_t> der;  // as sent, for the signature engine's tls.certs
  bool has_basic_constraints = false;
  bool ca = false;
  bool has_path_len = false;
  uint64_t path_len = 0;
};

CertInfo parse_certificate(std::span<const uint8_t> der);

// Why DER that OpenSSL rejected is broken, as Suricata's certificate events tell it apart:
// a TLV header (or the whole certificate) cut short (tls.certificate_invalid_length), a
// length running past its enclosing SEQUENCE (tls.invalid_certificate), or anything else.
enum class DerFault : uint8_t { kOther, kIncomplete, kOverrun };
DerFault classify_der_fault(std::span<const uint8_t> der);

// Hostname check as Zeek's sni_matches_cert: DNS SANs, else the subject CN; "*." matches
// one label.
bool cert_matches_host(const CertInfo& c, std::string_view host);

const ZeekSchema& x509_zeek_schema();

// One x509.log row (Zeek only: Suricata has no per-certificate event).
class X509Record : public Record {
 public:
  std::string_view event_type() const override { return "x509"; }
  bool has_eve() const override { return false; }
  void write_eve(JsonWriter&) const override {}
  const ZeekSchema* zeek_schema() const override { return &x509_zeek_schema(); }
  void write_zeek(ZeekRow& row) const override;

  const CertInfo* cert = nullptr;
  bool host_cert = true;
  bool client_cert = false;
};

// Parsed certificates by their DER bytes, per worker. Servers send the same chain on every
// connection, and decoding it (OpenSSL's d2i_X509, names, digests) was a quarter of a whole
// run with every analyzer on. Bounded: past `max_entries` the oldest entry is forgotten
// (counted); a hit is a byte-for-byte match, never a hash match alone.
class CertParseCache {
 public:
  explicit CertParseCache(size_t max_entries = 2048) : max_entries_(max_entries) {}
  // The parse of `der` (with `der` filled in), from the cache when these bytes were seen.
  const CertInfo& get(std::span<const uint8_t> der);
  size_t size() const { return map_.size(); }
  uint64_t hits() const { return hits_; }
  uint64_t misses() const { return misses_; }
  uint64_t evicted() const { return evicted_; }

 private:
  size_t max_entries_;
  // Keys view the entry's own `der`, which the unique_ptr keeps in place.
  std::unordered_map<std::string_view, std::unique_ptr<CertInfo>> map_;
  std::deque<std::string_view> order_;  // insertion order = eviction order
  uint64_t hits_ = 0, misses_ = 0, evicted_ = 0;
};

// Zeek's x509.log de-duplication (X509::known_log_certs): a certificate is logged once per
// (fingerprint, host_cert, client_cert) and again only after `relog_after` in data time
// (X509::relog_known_certificates_after). Per worker, as Zeek's is per worker; bounded: past
// `max_entries` the oldest is forgotten (it may then be logged again) and counted.
class X509LogCache : public AnalyzerWorkerState {
 public:
  explicit X509LogCache(TimeNs relog_after = 86400 * kNsPerSec, size_t max_entries = 100000)
      : relog_after_(relog_after), max_entries_(max_entries) {}
  // True when the row should be written now (first sighting, or the last log expired).
  bool should_log(const CertInfo& c, bool host_cert, bool client_cert, TimeNs now);
  size_t size() const { return known_.size(); }
  uint64_t suppressed() const { return suppressed_; }
  uint64_t evicted() const { return evicted_; }

  CertParseCache parsed;  // the same worker's parsed certificates

 private:
  TimeNs relog_after_;
  size_t max_entries_;
  std::unordered_set<std::string> known_;
  std::deque<std::pair<TimeNs, std::string>> order_;  // creation order = expiry order
  uint64_t suppressed_ = 0, evicted_ = 0;
};

}  // namespace komainu::tls
