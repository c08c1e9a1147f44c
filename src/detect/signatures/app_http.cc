// HTTP/1.x transaction → Suricata's http.* sticky buffers, file.data and http.* app-layer
// events. One transaction is two inspections, as Suricata inspects it: the request
// (to_server) and the response (to_client). Buffers follow libhtp/Suricata's forms:
// http.header is "Name: Value\r\n" per header without Cookie (request) / Set-Cookie
// (response), http.header.raw the header block as sent (ending in the empty line),
// http.start the start line plus the normalised headers and the empty line, http.uri the
// normalised path (an absolute-form URI loses its scheme and authority), http.host the
// lowercased hostname without port. Bodies are the decoded prefix the analyzer keeps
// (HttpLimits::inspect_body); file.data is that body in both directions.
#include <cctype>

#include "analyzers/http/http_parser.h"
#include "analyzers/http/http_record.h"
#include "core/ascii.h"
#include "detect/signatures/app_provider.h"

namespace komainu::sig {
namespace {

using app::id_of;
using app::set_if;
using http::HttpHeader;
using http::HttpTransaction;

struct Ids {
  BufferId uri = id_of("http.uri"), uri_raw = id_of("http.uri.raw"), method = id_of("http.method"),
           header = id_of("http.header"), header_raw = id_of("http.header.raw"),
           header_names = id_of("http.header_names"), host = id_of("http.host"),
           host_raw = id_of("http.host.raw"), user_agent = id_of("http.user_agent"),
           cookie = id_of("http.cookie"), referer = id_of("http.referer"),
           accept = id_of("http.accept"), accept_enc = id_of("http.accept_enc"),
           accept_lang = id_of("http.accept_lang"), connection = id_of("http.connection"),
           content_type = id_of("http.content_type"), content_len = id_of("http.content_len"),
           request_line = id_of("http.request_line"), request_body = id_of("http.request_body"),
           stat_code = id_of("http.stat_code"), stat_msg = id_of("http.stat_msg"),
           response_line = id_of("http.response_line"), response_body = id_of("http.response_body"),
           server = id_of("http.server"), location = id_of("http.location"),
           protocol = id_of("http.protocol"), start = id_of("http.start"),
           file_data = id_of("file.data");
};

// Scratch string slots.
enum Slot : size_t { kHeader, kHeaderRaw, kHost, kStart, kUri, kProtocol };

// Our anomaly names → Suricata's (libhtp's) event for the request / the response side.
struct HttpEvent {
  std::string_view anomaly, request, response;
};
constexpr HttpEvent kEvents[] = {
    {"http_line_too_long", "http.request_field_too_long", "http.response_field_too_long"},
    {"http_bad_chunk_size", "http.invalid_request_chunk_len", "http.invalid_response_chunk_len"},
    {"http_too_many_headers", "http.request_too_many_headers", "http.response_too_many_headers"},
    {"http_header_missing_colon", "http.request_field_missing_colon",
     "http.response_field_missing_colon"},
    {"HTTP_bad_content_length", "http.invalid_content_length_field_in_request",
     "http.invalid_content_length_field_in_response"},
    {"http_decompression_failed", "http.gzip_decompression_failed",
     "http.gzip_decompression_failed"},
    {"http_decompression_bomb", "http.compression_bomb", "http.compression_bomb"},
    {"missing_HTTP_uri", "http.request_line_invalid", ""},
    {"bad_HTTP_request", "http.request_line_invalid", ""},
    {"bad_HTTP_reply", "", "http.response_invalid_status"},
};

const std::string* header(const std::vector<HttpHeader>& hs, std::string_view name) {
  for (const auto& h : hs)
    if (ascii_iequals(h.name, name)) return &h.value;
  return nullptr;
}

void set_header(InspectBuffers& b, BufferId id, const std::vector<HttpHeader>& hs,
                std::string_view name) {
  if (const std::string* v = header(hs, name)) b.set(id, *v);
}

// "Name: Value\r\n" per header; `skip` (Cookie / Set-Cookie) left out as Suricata does.
void normalized_headers(const std::vector<HttpHeader>& hs, std::string_view skip,
                        std::string& out) {
  for (const auto& h : hs) {
    if (!skip.empty() && ascii_iequals(h.name, skip)) continue;
    out.append(h.name).append(": ").append(h.value).append("\r\n");
  }
}

// Absolute-form request target ("http://host:80/path?q"): the authority and the rest.
bool split_absolute(std::string_view uri, std::string_view& authority, std::string_view& rest) {
  size_t scheme = uri.find("://");
  if (scheme == std::string_view::npos || scheme == 0) return false;
  for (size_t i = 0; i < scheme; ++i)
    if (!std::isalpha(static_cast<unsigned char>(uri[i]))) return false;
  std::string_view after = uri.substr(scheme + 3);
  size_t slash = after.find_first_of("/?#");
  authority = after.substr(0, slash);
  rest = slash == std::string_view::npos ? std::string_view("/") : after.substr(slash);
  return true;
}

// libhtp's hostname: userinfo and port dropped, lowercased, a trailing dot removed.
void normalize_host(std::string_view raw, std::string& out) {
  if (size_t at = raw.rfind('@'); at != std::string_view::npos) raw.remove_prefix(at + 1);
  if (!raw.empty() && raw.front() == '[') {
    size_t close = raw.find(']');
    raw = raw.substr(0, close == std::string_view::npos ? raw.size() : close + 1);
  } else if (size_t colon = raw.find(':'); colon != std::string_view::npos) {
    raw = raw.substr(0, colon);
  }
  while (!raw.empty() && raw.back() == '.') raw.remove_suffix(1);
  out.clear();
  for (char c : raw) out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
}

void fill_request(const HttpTransaction& tx, InspectBuffers& b, AppBufferScratch& s,
                  app::EventList& ev) {
  static const Ids ids;
  const auto& buf = tx.buf;
  const auto& hs = tx.request_headers;
  std::string_view authority, rest;
  bool absolute = split_absolute(buf.uri_raw, authority, rest);
  if (absolute) {
    s.str[kUri] = http::normalize_uri(rest);
    b.set(ids.uri, s.str[kUri]);
  } else {
    set_if(b, ids.uri, buf.uri_normalized, !buf.uri_raw.empty() || !buf.method.empty());
  }
  set_if(b, ids.uri_raw, buf.uri_raw, !buf.method.empty());
  set_if(b, ids.method, buf.method, !buf.method.empty());
  set_if(b, ids.protocol, buf.protocol, !buf.protocol.empty());
  set_if(b, ids.request_line, buf.request_line, !buf.request_line.empty());

  s.str[kHeader].clear();
  normalized_headers(hs, "Cookie", s.str[kHeader]);
  set_if(b, ids.header, s.str[kHeader], !hs.empty());
  s.str[kHeaderRaw].assign(buf.request_headers_raw).append("\r\n");
  set_if(b, ids.header_raw, s.str[kHeaderRaw], !buf.request_headers_raw.empty());
  set_if(b, ids.header_names, buf.request_header_names, !buf.request_header_names.empty());
  s.str[kStart].assign(buf.request_line).append("\r\n");
  normalized_headers(hs, {}, s.str[kStart]);
  s.str[kStart].append("\r\n");
  set_if(b, ids.start, s.str[kStart], !buf.request_line.empty());

  const std::string* host = header(hs, "Host");
  if (absolute && !authority.empty()) {
    b.set(ids.host_raw, authority);
    normalize_host(authority, s.str[kHost]);
    b.set(ids.host, s.str[kHost]);
  } else if (host) {
    b.set(ids.host_raw, *host);
    normalize_host(*host, s.str[kHost]);
    b.set(ids.host, s.str[kHost]);
  }
  set_header(b, ids.user_agent, hs, "User-Agent");
  set_header(b, ids.cookie, hs, "Cookie");
  set_header(b, ids.referer, hs, "Referer");
  set_header(b, ids.accept, hs, "Accept");
  set_header(b, ids.accept_enc, hs, "Accept-Encoding");
  set_header(b, ids.accept_lang, hs, "Accept-Language");
  set_header(b, ids.connection, hs, "Connection");
  set_header(b, ids.content_type, hs, "Content-Type");
  set_header(b, ids.content_len, hs, "Content-Length");
  if (!buf.request_body.empty()) {
    b.set(ids.request_body, buf.request_body);
    b.set(ids.file_data, buf.request_body);
  }

  for (const auto& [name, dir] : tx.anomalies) {
    if (name.starts_with("http.")) ev.add(name);  // Suricata's own: the transaction's
    if (dir == Direction::kToServer)
      for (const auto& e : kEvents)
        if (e.anomaly == name) ev.add(e.request);
  }
  if (tx.http09) ev.add("http.request_line_missing_protocol");
  if (buf.protocol == "HTTP/1.1" && !host) ev.add("http.missing_host_header");
}

void fill_response(const HttpTransaction& tx, InspectBuffers& b, AppBufferScratch& s,
                   app::EventList& ev) {
  static const Ids ids;
  const auto& buf = tx.buf;
  const auto& hs = tx.response_headers;
  std::string_view line = buf.response_line;
  set_if(b, ids.response_line, line, !line.empty());
  set_if(b, ids.stat_code, buf.status_code, !buf.status_code.empty());
  set_if(b, ids.stat_msg, buf.status_msg, !line.empty());
  if (!line.empty()) {
    s.str[kProtocol].assign(line.substr(0, line.find_first_of(" \t")));
    b.set(ids.protocol, s.str[kProtocol]);
  }

  s.str[kHeader].clear();
  normalized_headers(hs, "Set-Cookie", s.str[kHeader]);
  set_if(b, ids.header, s.str[kHeader], !hs.empty());
  s.str[kHeaderRaw].assign(buf.response_headers_raw).append("\r\n");
  set_if(b, ids.header_raw, s.str[kHeaderRaw], !buf.response_headers_raw.empty());
  set_if(b, ids.header_names, buf.response_header_names, !buf.response_header_names.empty());
  s.str[kStart].assign(line).append("\r\n");
  normalized_headers(hs, {}, s.str[kStart]);
  s.str[kStart].append("\r\n");
  set_if(b, ids.start, s.str[kStart], !line.empty());

  set_header(b, ids.cookie, hs, "Set-Cookie");
  set_header(b, ids.content_type, hs, "Content-Type");
  set_header(b, ids.content_len, hs, "Content-Length");
  set_header(b, ids.server, hs, "Server");
  set_header(b, ids.location, hs, "Location");
  if (!buf.response_body.empty()) {
    b.set(ids.response_body, buf.response_body);
    b.set(ids.file_data, buf.response_body);
  }

  for (const auto& [name, dir] : tx.anomalies) {
    if (name.starts_with("http.")) ev.add(name);
    if (dir == Direction::kToClient)
      for (const auto& e : kEvents)
        if (e.anomaly == name) ev.add(e.response);
  }
  if (!tx.has_request) ev.add("http.unable_to_match_response_to_request");
}

bool fill(const Record& r, size_t i, InspectBuffers& b, InspectContext& ctx, AppBufferScratch& s) {
  const auto* rec = dynamic_cast<const http::HttpRecord*>(&r);
  // Records for Zeek's http.log only (no EVE event) are no transaction Suricata would see.
  if (!rec || !rec->tx || !r.has_eve()) return false;
  const HttpTransaction& tx = *rec->tx;
  // Inspection 0 is the request when there is one, the next the response.
  bool request = tx.has_request && i == 0;
  bool response = tx.has_response && i == (tx.has_request ? 1u : 0u);
  if (!request && !response) return false;
  app::EventList ev(s);
  ctx.app_proto = "http";
  ctx.to_server = request;
  if (request)
    fill_request(tx, b, s, ev);
  else
    fill_response(tx, b, s, ev);
  ctx.events = ev.span();
  return true;
}

const Registration<AppBufferApi> reg{{.name = "http", .app_proto = "http", .fill = fill}};

}  // namespace
}  // namespace komainu::sig
