// Incremental HTTP/1.0/1.1 (and 0.9) parser for one connection: both directions, fed in
// arbitrary chunks. Requests and responses are matched in order (pipelining); bodies are
// de-chunked and gzip/deflate-decoded with a bounded output (decompression bombs stop, are
// counted, and mark the body truncated); CONNECT and 101 stop parsing; HEAD, 1xx, 204 and
// 304 responses have no body. Every limit (line, header count and bytes, pending
// transactions, inspected body prefix, decoded bytes) is configuration; exceeding one is a
// named anomaly, never a crash. Completed transactions and file bodies go to an HttpEvents.
#pragma once
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "analyzers/analyzer.h"
#include "analyzers/files/file_tracker.h"
#include "analyzers/http/multipart.h"

namespace komainu::http {

struct HttpLimits {
  size_t max_line = 16 * 1024;          // request/status/header line
  size_t max_headers = 128;             // per message
  size_t max_header_bytes = 64 * 1024;  // per message
  size_t max_pending = 64;              // pipelined transactions awaiting a response
  size_t inspect_body = 4096;           // body prefix kept for the signature engine
  uint64_t max_decoded = 32ull << 20;   // decoded bytes per body
  uint64_t max_ratio = 1000;            // decoded / encoded, once above 1 MiB
  bool files = true;                    // hash and log bodies as files
  bool capture_password = false;        // Zeek's HTTP::default_capture_password
};

struct HttpHeader {
  std::string name;
  std::string value;
};

// The parsed buffers a signature engine inspects (Suricata's http.* sticky buffers).
struct HttpBuffers {
  std::string request_line;
  std::string method;
  std::string uri_raw;
  std::string uri_normalized;  // percent-decoded, dot segments removed
  std::string protocol;        // "HTTP/1.1"
  std::string request_headers_raw;
  std::string request_header_names;  // "\r\nHost\r\nUser-Agent\r\n\r\n" as Suricata
  std::string host;
  std::string user_agent;
  std::string cookie;
  std::string request_body;  // decoded prefix
  std::string response_line;
  std::string status_code;
  std::string status_msg;
  std::string response_headers_raw;
  std::string response_header_names;
  std::string set_cookie;
  std::string response_body;  // decoded prefix
};

struct HttpTransaction {
  uint64_t tx_id = 0;  // 0-based; Zeek trans_depth = tx_id + 1
  TimeNs ts = 0;       // request start (or response start when there was no request)
  TimeNs ts_end = 0;
  bool has_request = false;
  bool has_response = false;
  bool request_done = false;
  bool response_done = false;
  bool http09 = false;
  bool connect = false;
  bool head = false;
  bool truncated = false;  // a gap or the connection's end cut a message short
  // Zeek's empty http.log row after an HTTP/0.9 reply (its scripts open a new transaction
  // when the reply entity ends after the message): logged to http.log only.
  bool zeek_only = false;
  HttpBuffers buf;
  std::vector<HttpHeader> request_headers;
  std::vector<HttpHeader> response_headers;
  std::string request_version;  // "1.1"
  std::string response_version;
  std::string referrer, origin, content_type, location, username, password;
  std::vector<std::string> proxied;  // "NAME -> value"
  int status = 0;
  bool has_status = false;
  int info_code = 0;
  std::string info_msg;
  uint64_t request_body_len = 0;   // decoded (Zeek's request_body_len)
  uint64_t response_body_len = 0;  // decoded (Zeek's response_body_len)
  uint64_t request_wire_len = 0;   // as seen on the wire (Suricata's length)
  uint64_t response_wire_len = 0;
  std::vector<std::string> orig_fuids, orig_filenames, orig_mime_types;
  std::vector<std::string> resp_fuids, resp_filenames, resp_mime_types;
  // Distinct anomalies raised while parsing this transaction (the signature engine's
  // app-layer events), at most kMaxTxAnomalies. Names starting "http." are Suricata's own
  // events (no Zeek weird): they belong to the transaction, not to one direction.
  static constexpr size_t kMaxTxAnomalies = 16;
  std::vector<std::pair<std::string_view, Direction>> anomalies;

  const std::string* request_header(std::string_view name) const;
  const std::string* response_header(std::string_view name) const;
};

// Where the parser's results go (the session turns them into records).
class HttpEvents {
 public:
  virtual ~HttpEvents() = default;
  virtual void on_transaction(const HttpTransaction& tx) = 0;
  // The file's record may be completed (flow, app object) before publishing.
  virtual void on_file(const HttpTransaction& tx, files::FileRecord& file) = 0;
  virtual void on_anomaly(std::string_view name, Direction dir, TimeNs ts) = 0;
  // A 206 response to a range request (Zeek's range_request) carries a piece of a file that
  // Zeek names by client and URL and joins across responses and connections. Returns the
  // joined file's fuid, or nullptr when not joined (the body is then a file of its own).
  virtual const std::string* on_range_start(const HttpTransaction&, uint64_t /*total*/,
                                            bool /*has_total*/, TimeNs) {
    return nullptr;
  }
  // Body bytes of that response at their offset in the joined file.
  virtual void on_range_data(uint64_t /*offset*/, std::span<const uint8_t>, TimeNs) {}
};

class HttpParser {
 public:
  HttpParser(HttpEvents& events, HttpLimits limits = {}, std::string_view flow_uid = {});
  ~HttpParser();
  HttpParser(const HttpParser&) = delete;
  HttpParser& operator=(const HttpParser&) = delete;

  void data(Direction dir, std::span<const uint8_t> bytes, TimeNs ts);
  void gap(Direction dir, uint64_t len, TimeNs ts);
  void close(TimeNs ts);

  // Transactions parsed but not yet complete (the oldest first).
  const std::deque<HttpTransaction>& pending() const { return txs_; }
  uint64_t transactions() const { return next_tx_id_; }
  bool tunnel() const { return tunnel_; }
  // The tunnel is a CONNECT's (another protocol from the next byte on), not a 101 upgrade.
  bool connect_tunnel() const { return connect_tunnel_; }

 private:
  enum class State : uint8_t {
    kLine,
    kHeaders,
    kBody,
    kChunkSize,
    kChunkData,
    kChunkEnd,
    kTrailers,
    kDead
  };
  enum class BodyMode : uint8_t { kNone, kLength, kChunked, kClose };
  enum class Coding : uint8_t { kIdentity, kGzip, kDeflate };

  struct Side {
    State state = State::kLine;
    std::string line;
    bool line_overflow = false;
    BodyMode mode = BodyMode::kNone;
    uint64_t remaining = 0;
    size_t header_count = 0;
    size_t header_bytes = 0;
    bool headers_overflow = false;
    std::string no_colon;  // the last header line, when it had no colon (may be folded)
    bool interim = false;  // inside a 1xx response
    HttpTransaction* tx = nullptr;
    // content decoding
    Coding coding = Coding::kIdentity;
    bool z_init = false;
    bool z_failed = false;
    bool z_raw_tried = false;
    z_stream z{};
    // Further compression layers (Content-Encoding naming several; libhtp decodes the
    // codings among the first three names): each layer's output goes through the next.
    // Every layer then detects gzip, zlib or raw deflate from its first bytes; a layer that
    // is no compressed data passes it on.
    struct Layer {
      bool init = false, failed = false, passthrough = false;
      z_stream z{};
      uint64_t decoded = 0;
    };
    static constexpr size_t kMaxInnerLayers = 2;
    uint8_t inner_layers = 0;
    std::array<Layer, kMaxInnerLayers> inner{};
    uint64_t decoded = 0;
    uint64_t encoded = 0;
    // file for the current body (or the current part of a multipart body)
    files::FileTracker file;
    std::string filename;
    MultipartSplitter multipart;
    uint8_t last_byte = 0;  // of the decoded body so far
    // The body is a piece of a joined range file (on_range_start), next at range_offset.
    bool range = false;
    uint64_t range_offset = 0;
  };
  struct PartEvents;

  Side& side(Direction d) { return sides_[static_cast<int>(d)]; }
  void feed(Direction dir, const uint8_t* p, size_t n, TimeNs ts);
  // Line assembly; true when `s.line` holds a complete line (without CRLF).
  bool take_line(Side& s, Direction dir, const uint8_t*& p, const uint8_t* end, TimeNs ts);
  void on_request_line(Side& s, TimeNs ts);
  void on_status_line(Side& s, TimeNs ts);
  void on_header_line(Side& s, Direction dir, TimeNs ts);
  void on_headers_done(Side& s, Direction dir, TimeNs ts);
  void body_bytes(Side& s, Direction dir, const uint8_t* p, size_t n, TimeNs ts);
  void decoded_bytes(Side& s, Direction dir, const uint8_t* p, size_t n, TimeNs ts);
  void raw_body_prefix(Side& s, Direction dir, const uint8_t* p, size_t n);
  void inner_layer(Side& s, size_t k, Direction dir, const uint8_t* p, size_t n, TimeNs ts);
  void end_message(Side& s, Direction dir, TimeNs ts, bool complete);
  void end_decoder(Side& s);
  void open_file(Side& s, Direction dir, TimeNs ts);
  void close_file(Side& s, Direction dir, TimeNs ts, bool complete);
  HttpTransaction* new_tx(TimeNs ts);
  void flush_done(bool force, TimeNs ts);
  // `name` is a string literal: transactions keep it as a view.
  void anomaly(std::string_view name, Direction dir, TimeNs ts) {
    if (HttpTransaction* t = side(dir).tx;
        t && t->anomalies.size() < HttpTransaction::kMaxTxAnomalies &&
        std::find(t->anomalies.begin(), t->anomalies.end(), std::pair{name, dir}) ==
            t->anomalies.end())
      t->anomalies.emplace_back(name, dir);
    events_.on_anomaly(name, dir, ts);
  }

  // An app-layer event Suricata (libhtp) raises where Zeek has no weird: kept on the
  // transaction for the signature engine only (`name`: "http.<event>", a string literal), so
  // weird.log stays Zeek's.
  static void suricata_event(HttpTransaction& t, std::string_view name, Direction dir) {
    if (t.anomalies.size() < HttpTransaction::kMaxTxAnomalies &&
        std::find(t.anomalies.begin(), t.anomalies.end(), std::pair{name, dir}) ==
            t.anomalies.end())
      t.anomalies.emplace_back(name, dir);
  }

  HttpEvents& events_;
  HttpLimits limits_;
  std::string flow_uid_;
  Side sides_[2];
  std::deque<HttpTransaction> txs_;
  uint64_t next_tx_id_ = 0;
  uint64_t file_count_ = 0;
  bool tunnel_ = false;
  bool connect_tunnel_ = false;
  bool stopped_ = false;  // protocol violation after a valid exchange
  // Inflate output: only the bytes zlib produced are read (not zeroed: every HTTP flow makes
  // a parser, and clearing 16 KiB each time showed in the profile).
  std::array<uint8_t, 16384> zbuf_;
  // Output of inner layers, made on first use (bodies with several codings are rare).
  std::array<std::unique_ptr<std::array<uint8_t, 16384>>, Side::kMaxInnerLayers> zbuf_inner_;
};

// Zeek's unescaped URI: %XX decoded where XX is hex, everything else kept.
std::string unescape_uri(std::string_view uri);
// Signature-engine form: unescaped, then "." and ".." path segments removed.
std::string normalize_uri(std::string_view uri);

}  // namespace komainu::http
