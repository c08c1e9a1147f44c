#include "analyzers/http/http_record.h"

#include <cctype>

#include "core/ascii.h"

namespace komainu::http {

const ZeekSchema& http_schema() {
  static const ZeekSchema schema{"http",
                                 zeek_conn_fields({{"trans_depth", ZeekType::kCount},
                                                   {"method", ZeekType::kString},
                                                   {"host", ZeekType::kString},
                                                   {"uri", ZeekType::kString},
                                                   {"referrer", ZeekType::kString},
                                                   {"version", ZeekType::kString},
                                                   {"user_agent", ZeekType::kString},
                                                   {"origin", ZeekType::kString},
                                                   {"request_body_len", ZeekType::kCount},
                                                   {"response_body_len", ZeekType::kCount},
                                                   {"status_code", ZeekType::kCount},
                                                   {"status_msg", ZeekType::kString},
                                                   {"info_code", ZeekType::kCount},
                                                   {"info_msg", ZeekType::kString},
                                                   {"tags", ZeekType::kSetEnum},
                                                   {"username", ZeekType::kString},
                                                   {"password", ZeekType::kString},
                                                   {"proxied", ZeekType::kSetString},
                                                   {"orig_fuids", ZeekType::kVectorString},
                                                   {"orig_filenames", ZeekType::kVectorString},
                                                   {"orig_mime_types", ZeekType::kVectorString},
                                                   {"resp_fuids", ZeekType::kVectorString},
                                                   {"resp_filenames", ZeekType::kVectorString},
                                                   {"resp_mime_types", ZeekType::kVectorString}})};
  return schema;
}

namespace {

// Host header (or absolute-URI authority) without port, lower-cased as libhtp does.
void split_host(const HttpTransaction& tx, std::string& host, int& port) {
  std::string_view h = tx.buf.host;
  std::string_view uri = tx.buf.uri_raw;
  if (h.empty()) {
    size_t scheme = uri.find("://");
    if (scheme != std::string_view::npos && scheme < 10) {
      std::string_view rest = uri.substr(scheme + 3);
      h = rest.substr(0, rest.find_first_of("/?#"));
      if (size_t at = h.rfind('@'); at != std::string_view::npos) h.remove_prefix(at + 1);
    }
  }
  port = 0;
  size_t colon = h.rfind(':');
  if (colon != std::string_view::npos && h.find(']', colon) == std::string_view::npos) {
    std::string_view p = h.substr(colon + 1);
    int v = 0;
    bool ok = !p.empty() && p.size() <= 5;
    for (size_t i = 0; ok && i < p.size(); ++i) {
      ok = p[i] >= '0' && p[i] <= '9';
      v = v * 10 + (p[i] - '0');
    }
    if (ok && v <= 65535) port = v;
    h = h.substr(0, colon);
  }
  host.clear();
  for (char c : h) host.push_back(static_cast<char>(ascii_lower(c)));
}

void write_headers(JsonWriter& w, std::string_view key, const std::vector<HttpHeader>& hs) {
  w.key(key).begin_array();
  for (const auto& h : hs) w.begin_object().kv("name", h.name).kv("value", h.value).end_object();
  w.end_array();
}

void vec_or_unset(ZeekRow& row, const std::vector<std::string>& v) {
  if (v.empty())
    row.unset();
  else
    row.strings(v);
}

}  // namespace

void write_http_object(JsonWriter& w, const HttpTransaction& tx, const HttpLogOptions& opts) {
  w.key("http").begin_object();
  write_http_members(w, tx, opts);
  w.end_object();
}

void write_http_members(JsonWriter& w, const HttpTransaction& tx, const HttpLogOptions& opts) {
  std::string host;
  int port = 0;
  split_host(tx, host, port);
  if (!host.empty()) w.kv("hostname", host);
  if (port) w.kv("http_port", port);
  if (tx.has_request) w.kv("url", tx.buf.uri_raw);
  if (!tx.buf.user_agent.empty()) w.kv("http_user_agent", tx.buf.user_agent);
  if (!tx.content_type.empty()) {
    std::string_view ct = tx.content_type;
    ct = ct.substr(0, ct.find(';'));
    while (!ct.empty() && ct.back() == ' ') ct.remove_suffix(1);
    w.kv("http_content_type", ct);
  }
  if (const std::string* xff = tx.request_header("X-Forwarded-For")) w.kv("xff", *xff);
  if (!tx.referrer.empty()) w.kv("http_refer", tx.referrer);
  if (tx.has_request) w.kv("http_method", tx.buf.method);
  if (!tx.buf.protocol.empty()) w.kv("protocol", tx.buf.protocol);
  if (tx.has_status && tx.status > 0) w.kv("status", tx.status);
  if (!tx.location.empty()) w.kv("redirect", tx.location);
  w.kv("length", tx.response_wire_len);
  if (opts.dump_headers) {
    write_headers(w, "request_headers", tx.request_headers);
    write_headers(w, "response_headers", tx.response_headers);
  }
}

void HttpRecord::write_eve(JsonWriter& w) const {
  if (!tx) return;
  w.kv("tx_id", tx->tx_id);
  write_http_object(w, *tx, opts);
}

void HttpRecord::write_zeek(ZeekRow& row) const {
  row.time(ts);
  if (flow) {
    row.str(flow->uid)
        .addr(flow->tuple.src)
        .count(flow->tuple.sport)
        .addr(flow->tuple.dst)
        .count(flow->tuple.dport);
  } else {
    row.unset().unset().unset().unset().unset();
  }
  const HttpTransaction& t = *tx;
  row.count(t.tx_id + 1);
  t.has_request ? row.str(t.buf.method) : row.unset();
  t.buf.host.empty() ? row.unset() : row.str(t.buf.host);
  t.has_request ? row.str(unescape_uri(t.buf.uri_raw)) : row.unset();
  t.referrer.empty() ? row.unset() : row.str(t.referrer);
  // Zeek takes the version from the reply (0.9 when the reply had no status line).
  if (!t.response_version.empty())
    row.str(t.response_version);
  else if (t.http09 && t.has_response)
    row.str("0.9");
  else
    row.unset();
  t.buf.user_agent.empty() ? row.unset() : row.str(t.buf.user_agent);
  t.origin.empty() ? row.unset() : row.str(t.origin);
  row.count(t.request_body_len).count(t.response_body_len);
  if (t.has_status) {
    // Zeek logs an empty reason phrase (and HTTP/0.9's missing one) as "<empty>".
    row.count(uint64_t(t.status)).str(t.buf.status_msg.empty() ? "<empty>" : t.buf.status_msg);
  } else {
    row.unset().unset();
  }
  if (t.info_code) {
    row.count(uint64_t(t.info_code)).str(t.info_msg);
  } else {
    row.unset().unset();
  }
  row.strings({});
  t.username.empty() ? row.unset() : row.str(t.username);
  (opts.capture_password && !t.password.empty()) ? row.str(t.password) : row.unset();
  vec_or_unset(row, t.proxied);
  vec_or_unset(row, t.orig_fuids);
  vec_or_unset(row, t.orig_filenames);
  vec_or_unset(row, t.orig_mime_types);
  vec_or_unset(row, t.resp_fuids);
  vec_or_unset(row, t.resp_filenames);
  vec_or_unset(row, t.resp_mime_types);
}

}  // namespace komainu::http
