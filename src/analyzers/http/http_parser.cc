#include "analyzers/http/http_parser.h"

#include <algorithm>
#include <cctype>
#include <cstring>

#include "core/ascii.h"

namespace komainu::http {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

bool icontains(std::string_view s, std::string_view needle) {
  for (size_t i = 0; i + needle.size() <= s.size(); ++i)
    if (ascii_iequals(s.substr(i, needle.size()), needle)) return true;
  return false;
}

// zlib window bits for data that may be gzip, zlib or raw deflate, from its first bytes.
int detect_wbits(const uint8_t* p, size_t n) {
  if (n >= 2 && p[0] == 0x1f && p[1] == 0x8b) return 15 + 16;
  if (n >= 2 && (p[0] & 0x0f) == 8 && ((p[0] << 8) | p[1]) % 31 == 0) return 15;
  return -15;
}

bool is_token_char(unsigned char c) {
  return c > 0x20 && c < 0x7f && !strchr("()<>@,;:\\\"/[]?={}", c);
}

const std::string* find_header(const std::vector<HttpHeader>& hs, std::string_view name) {
  for (const auto& h : hs)
    if (ascii_iequals(h.name, name)) return &h.value;
  return nullptr;
}

// Content-Length: digits only, bounded; false on anything else.
bool parse_length(std::string_view v, uint64_t& out) {
  v = trim(v);
  if (v.empty() || v.size() > 18) return false;
  uint64_t n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + uint64_t(c - '0');
  }
  out = n;
  return true;
}

bool has_token(std::string_view list, std::string_view token) {
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view item = trim(list.substr(0, comma));
    if (size_t semi = item.find(';'); semi != std::string_view::npos)
      item = trim(item.substr(0, semi));
    if (ascii_iequals(item, token)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

// filename="x" or filename=x from Content-Disposition.
std::string disposition_filename(std::string_view v) {
  size_t i = 0;
  while (true) {
    size_t f = v.find("filename", i);
    if (f == std::string_view::npos) return {};
    size_t p = f + 8;
    if (p < v.size() && v[p] == '*') return {};  // RFC 5987 form: not decoded here
    while (p < v.size() && v[p] == ' ') ++p;
    if (p < v.size() && v[p] == '=') {
      ++p;
      while (p < v.size() && v[p] == ' ') ++p;
      if (p < v.size() && v[p] == '"') {
        size_t q = v.find('"', p + 1);
        return std::string(v.substr(p + 1, q == std::string_view::npos ? v.npos : q - p - 1));
      }
      size_t e = v.find(';', p);
      return std::string(trim(v.substr(p, e == std::string_view::npos ? v.npos : e - p)));
    }
    i = f + 8;
  }
}

std::string base64_decode(std::string_view in) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v;
    if (c >= 'A' && c <= 'Z')
      v = c - 'A';
    else if (c >= 'a' && c <= 'z')
      v = c - 'a' + 26;
    else if (c >= '0' && c <= '9')
      v = c - '0' + 52;
    else if (c == '+' || c == '-')
      v = 62;
    else if (c == '/' || c == '_')
      v = 63;
    else if (c == '=')
      break;
    else
      continue;
    acc = (acc << 6) | uint32_t(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

constexpr std::string_view kProxyHeaders[] = {
    "FORWARDED", "X-FORWARDED-FOR",  "X-FORWARDED-FROM", "CLIENT-IP",
    "VIA",       "XROXY-CONNECTION", "PROXY-CONNECTION"};

}  // namespace

std::string unescape_uri(std::string_view uri) {
  return percent_decode(uri);
}

std::string normalize_uri(std::string_view uri) {
  std::string u = unescape_uri(uri);
  size_t q = u.find('?');
  std::string path = u.substr(0, q), rest = q == std::string::npos ? "" : u.substr(q);
  std::vector<std::string_view> segs;
  std::string_view p = path;
  bool lead = !p.empty() && p.front() == '/';
  bool trail = false;
  while (!p.empty()) {
    size_t s = p.find('/');
    std::string_view seg = p.substr(0, s);
    trail = s != std::string_view::npos && s + 1 == p.size();
    if (seg == "..") {
      if (!segs.empty()) segs.pop_back();
    } else if (!seg.empty() && seg != ".") {
      segs.push_back(seg);
    }
    if (s == std::string_view::npos) break;
    p.remove_prefix(s + 1);
  }
  std::string out = lead ? "/" : "";
  for (size_t i = 0; i < segs.size(); ++i) {
    if (i) out += '/';
    out += segs[i];
  }
  if (trail && !segs.empty()) out += '/';
  return out + rest;
}

const std::string* HttpTransaction::request_header(std::string_view name) const {
  return find_header(request_headers, name);
}
const std::string* HttpTransaction::response_header(std::string_view name) const {
  return find_header(response_headers, name);
}

HttpParser::HttpParser(HttpEvents& events, HttpLimits limits, std::string_view flow_uid)
    : events_(events), limits_(limits), flow_uid_(flow_uid) {}

HttpParser::~HttpParser() {
  for (auto& s : sides_) {
    if (s.z_init) inflateEnd(&s.z);
    for (auto& l : s.inner)
      if (l.init) inflateEnd(&l.z);
  }
}

HttpTransaction* HttpParser::new_tx(TimeNs ts) {
  HttpTransaction& tx = txs_.emplace_back();
  tx.tx_id = next_tx_id_++;
  tx.ts = ts;
  return &tx;
}

void HttpParser::data(Direction dir, std::span<const uint8_t> bytes, TimeNs ts) {
  feed(dir, bytes.data(), bytes.size(), ts);
}

bool HttpParser::take_line(Side& s, Direction dir, const uint8_t*& p, const uint8_t* end,
                           TimeNs ts) {
  const uint8_t* lf = static_cast<const uint8_t*>(memchr(p, '\n', size_t(end - p)));
  const uint8_t* stop = lf ? lf : end;
  size_t n = size_t(stop - p);
  size_t room = limits_.max_line > s.line.size() ? limits_.max_line - s.line.size() : 0;
  if (n > room) {
    if (!s.line_overflow) anomaly("http_line_too_long", dir, ts);
    s.line_overflow = true;
  }
  s.line.append(reinterpret_cast<const char*>(p), std::min(n, room));
  p = lf ? lf + 1 : end;
  if (!lf) return false;
  if (!s.line.empty() && s.line.back() == '\r') s.line.pop_back();
  return true;
}

void HttpParser::feed(Direction dir, const uint8_t* p, size_t n, TimeNs ts) {
  Side& s = side(dir);
  const uint8_t* end = p + n;
  while (p < end && !tunnel_ && !stopped_) {
    switch (s.state) {
      case State::kDead:
        return;
      case State::kLine: {
        if (dir == Direction::kToClient) {
          // A response to an HTTP/0.9 request has no status line: all of it is the body.
          for (auto& tx : txs_) {
            if (tx.has_response || tx.response_done) continue;
            if (tx.http09) {
              s.tx = &tx;
              tx.has_response = true;
              tx.has_status = true;
              tx.status = 0;
              s.mode = BodyMode::kClose;
              s.state = State::kBody;
              s.coding = Coding::kIdentity;
              s.filename.clear();
            }
            break;
          }
          if (s.state == State::kBody) break;
        }
        if (!take_line(s, dir, p, end, ts)) return;
        std::string line = std::move(s.line);
        s.line.clear();
        s.line_overflow = false;
        if (trim(line).empty()) break;  // stray CRLF between messages
        s.line = std::move(line);
        if (dir == Direction::kToServer)
          on_request_line(s, ts);
        else
          on_status_line(s, ts);
        s.line.clear();
        break;
      }
      case State::kHeaders:
      case State::kTrailers: {
        if (!take_line(s, dir, p, end, ts)) return;
        bool empty = s.line.empty();
        if (!empty && s.state == State::kHeaders) on_header_line(s, dir, ts);
        s.line.clear();
        s.line_overflow = false;
        if (!empty) break;
        if (s.state == State::kTrailers)
          end_message(s, dir, ts, true);
        else
          on_headers_done(s, dir, ts);
        break;
      }
      case State::kBody: {
        size_t take = size_t(end - p);
        if (s.mode == BodyMode::kLength) take = size_t(std::min<uint64_t>(take, s.remaining));
        body_bytes(s, dir, p, take, ts);
        p += take;
        if (s.mode == BodyMode::kLength) {
          s.remaining -= take;
          if (s.remaining == 0) end_message(s, dir, ts, true);
        }
        break;
      }
      case State::kChunkSize: {
        if (!take_line(s, dir, p, end, ts)) return;
        if (trim(s.line).empty()) {  // blank lines before a chunk size are tolerated
          s.line.clear();
          break;
        }
        if (s.tx)
          (dir == Direction::kToServer ? s.tx->request_wire_len : s.tx->response_wire_len) +=
              s.line.size() + 2;
        std::string_view v = trim(s.line);
        if (size_t semi = v.find(';'); semi != std::string_view::npos) v = trim(v.substr(0, semi));
        uint64_t size = 0;
        bool ok = !v.empty() && v.size() <= 15;
        for (char c : v) {
          int h = ascii_hex_value(c);
          if (h < 0) {
            ok = false;
            break;
          }
          size = size << 4 | uint64_t(h);
        }
        s.line.clear();
        s.line_overflow = false;
        if (!ok) {
          anomaly("http_bad_chunk_size", dir, ts);
          end_message(s, dir, ts, false);
          s.state = State::kDead;
          return;
        }
        if (size == 0) {
          s.state = State::kTrailers;
        } else {
          s.remaining = size;
          s.state = State::kChunkData;
        }
        break;
      }
      case State::kChunkData: {
        size_t take = size_t(std::min<uint64_t>(size_t(end - p), s.remaining));
        body_bytes(s, dir, p, take, ts);
        p += take;
        s.remaining -= take;
        if (s.remaining == 0) s.state = State::kChunkEnd;
        break;
      }
      case State::kChunkEnd: {
        if (!take_line(s, dir, p, end, ts)) return;
        if (s.tx)
          (dir == Direction::kToServer ? s.tx->request_wire_len : s.tx->response_wire_len) +=
              s.line.size() + 2;
        bool extra = !s.line.empty();
        s.line.clear();
        s.line_overflow = false;
        s.state = State::kChunkSize;
        if (extra) {
          anomaly("http_chunk_missing_crlf", dir, ts);
          end_message(s, dir, ts, false);
          s.state = State::kDead;
          return;
        }
        break;
      }
    }
  }
}

void HttpParser::on_request_line(Side& s, TimeNs ts) {
  const Direction dir = Direction::kToServer;
  size_t pending = 0;
  for (const auto& tx : txs_)
    if (!tx.response_done) ++pending;
  if (pending >= limits_.max_pending) {
    anomaly("http_too_many_pending_requests", dir, ts);
    s.state = State::kDead;
    return;
  }
  HttpTransaction* tx = nullptr;
  // A response seen before its request (capture started mid-way) is not joined: new tx.
  tx = new_tx(ts);
  s.tx = tx;
  std::string_view line = s.line;
  tx->buf.request_line.assign(line);
  size_t sp = line.find_first_of(" \t");
  std::string_view method = line.substr(0, sp);
  bool valid = !method.empty();
  for (unsigned char c : method) valid = valid && is_token_char(c);
  std::string_view rest = sp == std::string_view::npos ? std::string_view{} : trim(line.substr(sp));
  std::string_view uri = rest, version;
  size_t last = rest.find_last_of(" \t");
  std::string_view last_token = last == std::string_view::npos ? rest : trim(rest.substr(last));
  if (last != std::string_view::npos && ascii_istarts_with(last_token, "HTTP/")) {
    version = last_token;
    uri = trim(rest.substr(0, last));
  } else if (ascii_istarts_with(rest, "HTTP/")) {
    version = rest;
    uri = {};
    anomaly("missing_HTTP_uri", dir, ts);
  } else if (ascii_istarts_with(last_token, "HTTP") || rest.empty()) {
    valid = false;  // "HTTP" without a version, or an HTTP/0.9 request without a URI
  }
  if (!valid) {
    // libhtp reads a line that starts no request, after a request without a body, as that
    // request's body ("Unexpected request body"). Zeek's view (weird, analyzer stop) stays;
    // the signature engine's request body gets the line.
    if (txs_.size() >= 2) {
      HttpTransaction& prev = txs_[txs_.size() - 2];
      if (prev.has_request && prev.request_done && !prev.http09 && !prev.connect &&
          prev.request_wire_len == 0) {
        std::string& body = prev.buf.request_body;
        size_t room = limits_.inspect_body > body.size() ? limits_.inspect_body - body.size() : 0;
        body.append(line.substr(0, room));
        if (body.size() < limits_.inspect_body) body.append("\r\n");
        suricata_event(prev, "http.request_body_unexpected", dir);
      }
    }
    anomaly("bad_HTTP_request", dir, ts);
    s.tx = nullptr;
    s.state = State::kDead;
    if (tx->tx_id > 0) {
      // After a valid exchange this is a protocol violation: Zeek stops the analyzer.
      txs_.pop_back();
      --next_tx_id_;
      stopped_ = true;
      return;
    }
    tx->request_done = true;
    return;
  }
  tx->has_request = true;
  tx->buf.method.assign(method);
  tx->buf.uri_raw.assign(uri);
  tx->buf.uri_normalized = normalize_uri(uri);
  if (ascii_iequals(method, "HEAD")) tx->head = true;
  if (ascii_iequals(method, "CONNECT")) tx->connect = true;
  s.header_count = s.header_bytes = 0;
  s.headers_overflow = false;
  s.no_colon.clear();
  if (version.empty()) {
    // HTTP/0.9: a request line alone; the response is raw data until the close. Zeek stops
    // reading reply lines at that point: a reply still in progress ends here, and every
    // later server byte belongs to the 0.9 reply.
    if (Side& resp = side(Direction::kToClient); resp.tx && resp.tx != tx)
      end_message(resp, Direction::kToClient, ts, false);
    tx->http09 = true;
    tx->request_version = "0.9";
    tx->request_done = true;
    s.tx = nullptr;
    s.state = State::kLine;
    return;
  }
  tx->buf.protocol.assign(version);
  tx->request_version.assign(version.substr(5));
  s.state = State::kHeaders;
}

void HttpParser::on_status_line(Side& s, TimeNs ts) {
  const Direction dir = Direction::kToClient;
  std::string_view line = s.line;
  if (!ascii_istarts_with(line, "HTTP/")) {
    anomaly("bad_HTTP_reply", dir, ts);
    s.state = State::kDead;
    return;
  }
  HttpTransaction* tx = nullptr;
  for (auto& t : txs_)
    if (!t.has_response && !t.response_done) {
      tx = &t;
      break;
    }
  if (!tx) {
    if (txs_.size() >= limits_.max_pending) {
      anomaly("http_too_many_pending_requests", dir, ts);
      s.state = State::kDead;
      return;
    }
    anomaly("unmatched_HTTP_reply", dir, ts);
    tx = new_tx(ts);
    tx->request_done = true;
  }
  s.tx = tx;
  size_t sp = line.find_first_of(" \t");
  std::string_view version = line.substr(5, sp == std::string_view::npos ? line.npos : sp - 5);
  std::string_view rest = sp == std::string_view::npos ? std::string_view{} : trim(line.substr(sp));
  size_t sp2 = rest.find_first_of(" \t");
  std::string_view code = rest.substr(0, sp2);
  std::string_view msg =
      sp2 == std::string_view::npos ? std::string_view{} : trim(rest.substr(sp2));
  int status = 0;
  bool ok = code.size() == 3;
  for (size_t i = 0; ok && i < code.size(); ++i) {
    ok = code[i] >= '0' && code[i] <= '9';
    status = status * 10 + (code[i] - '0');
  }
  if (!ok) {
    anomaly("bad_HTTP_reply", dir, ts);
    status = 0;
  }
  s.header_count = s.header_bytes = 0;
  s.headers_overflow = false;
  s.no_colon.clear();
  s.state = State::kHeaders;
  if (status >= 100 && status < 200 && status != 101) {
    tx->info_code = status;
    tx->info_msg.assign(msg);
    s.mode = BodyMode::kNone;
    s.interim = true;
    return;
  }
  s.interim = false;
  tx->has_response = true;
  tx->has_status = ok;
  tx->status = status;
  tx->response_version.assign(version);
  tx->buf.response_line.assign(line);
  tx->buf.status_code.assign(code);
  // Zeek logs an empty reason phrase as "<empty>".
  tx->buf.status_msg.assign(msg);
}

void HttpParser::on_header_line(Side& s, Direction dir, TimeNs ts) {
  if (!s.tx) return;
  HttpTransaction& tx = *s.tx;
  bool req = dir == Direction::kToServer;
  if (!req && s.interim) return;  // headers of a 1xx response are not kept
  auto& headers = req ? tx.request_headers : tx.response_headers;
  std::string_view line = s.line;
  s.header_bytes += line.size() + 2;
  // Lines ended "\n\r" leave the CR at the start of the next one (libhtp skips it).
  while (!line.empty() && line.front() == '\r') line.remove_prefix(1);
  if (line.empty()) return;
  if (s.header_bytes > limits_.max_header_bytes || s.header_count >= limits_.max_headers) {
    if (!s.headers_overflow)
      anomaly(s.header_count >= limits_.max_headers ? "http_too_many_headers"
                                                    : "http_headers_too_large",
              dir, ts);
    s.headers_overflow = true;
    return;
  }
  std::string& raw = req ? tx.buf.request_headers_raw : tx.buf.response_headers_raw;
  raw.append(line).append("\r\n");
  std::string joined;
  // libhtp folds on a NUL too ("Content-Encoding:\n\0gzip" is gzip).
  bool folded = line.front() == ' ' || line.front() == '\t' || line.front() == '\0';
  if (folded && !s.no_colon.empty()) {
    // "Transfer-Encoding\r\n :chunked": the name alone on a line, folded onto the next;
    // libhtp unfolds before it splits name and value.
    joined = s.no_colon + " " + std::string(trim(line));
    line = joined;
  } else if (folded && !headers.empty()) {
    headers.back().value.append(" ").append(trim(line));
    return;
  }
  s.no_colon.clear();
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) {
    anomaly("http_header_missing_colon", dir, ts);
    if (line.size() <= 64) s.no_colon.assign(line);
    return;
  }
  ++s.header_count;
  std::string_view name = trim(line.substr(0, colon));
  // One allocation for a typical message's headers instead of growing 1, 2, 4, 8, 16.
  if (headers.empty()) headers.reserve(16);
  headers.push_back({std::string(name), std::string(trim(line.substr(colon + 1)))});
  std::string& names = req ? tx.buf.request_header_names : tx.buf.response_header_names;
  names.append("\r\n").append(name);
}

void HttpParser::on_headers_done(Side& s, Direction dir, TimeNs ts) {
  if (!s.tx) {
    s.state = State::kDead;
    return;
  }
  HttpTransaction& tx = *s.tx;
  bool req = dir == Direction::kToServer;
  if (!req && s.interim) {  // end of a 1xx: the final response follows
    s.interim = false;
    s.state = State::kLine;
    s.tx = nullptr;
    return;
  }
  auto& headers = req ? tx.request_headers : tx.response_headers;
  std::string& names = req ? tx.buf.request_header_names : tx.buf.response_header_names;
  if (!names.empty()) names.append("\r\n\r\n");
  s.filename.clear();
  if (const auto* v = find_header(headers, "Content-Disposition"))
    s.filename = disposition_filename(*v);
  s.coding = Coding::kIdentity;
  // libhtp's limits and checks that raise Suricata events: more than two compression layers
  // (gzip/deflate codings in Content-Encoding), Content-Length given twice with different
  // values.
  // libhtp reads at most three coding names (all Content-Encoding headers, in order) and
  // decodes the gzip/deflate ones among them; a fourth name is "too many layers".
  size_t coding_names = 0, layers = 0;
  Coding first_coding = Coding::kIdentity;
  for (const auto& h : headers) {
    if (!ascii_iequals(h.name, "Content-Encoding")) continue;
    for (std::string_view rest = h.value; !rest.empty();) {
      size_t comma = rest.find(',');
      std::string_view tok = rest.substr(0, comma);
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
      bool blank = true;
      for (char c : tok) blank &= std::isspace(static_cast<unsigned char>(c)) != 0 || c == 0;
      if (blank || ++coding_names > 3) continue;
      bool gzip = icontains(tok, "gzip"), deflate = icontains(tok, "deflate");
      if (!gzip && !deflate) continue;
      if (++layers == 1) first_coding = gzip ? Coding::kGzip : Coding::kDeflate;
    }
  }
  if (coding_names > 3) suricata_event(tx, "http.too_many_encoding_layers", dir);
  {
    const std::string* first = nullptr;
    for (const auto& h : headers) {
      if (!ascii_iequals(h.name, "Content-Length")) continue;
      if (first && trim(*first) != trim(h.value)) {
        suricata_event(tx,
                       req ? "http.duplicate_content_length_field_in_request"
                           : "http.duplicate_content_length_field_in_response",
                       dir);
        break;
      }
      first = &h.value;
    }
  }
  if (const auto* v = find_header(headers, "Content-Encoding")) {
    if (has_token(*v, "gzip") || has_token(*v, "x-gzip"))
      s.coding = Coding::kGzip;
    else if (has_token(*v, "deflate"))
      s.coding = Coding::kDeflate;
  }
  // Codings a plain token match misses (several headers, odd whitespace): libhtp decodes
  // them, up to two layers.
  if (s.coding == Coding::kIdentity) s.coding = first_coding;
  s.inner_layers = uint8_t(layers > 1 ? std::min(layers - 1, Side::kMaxInnerLayers) : 0);
  {
    const std::string* ct = find_header(headers, "Content-Type");
    if (ct && MultipartSplitter::is_message(*ct))
      s.multipart.reset_message();
    else
      s.multipart.reset(ct ? MultipartSplitter::boundary_of(*ct) : std::string());
  }
  if (req) {
    if (const auto* v = find_header(headers, "Host")) tx.buf.host = *v;
    if (const auto* v = find_header(headers, "User-Agent")) tx.buf.user_agent = *v;
    if (const auto* v = find_header(headers, "Cookie")) tx.buf.cookie = *v;
    if (const auto* v = find_header(headers, "Referer")) tx.referrer = *v;
    if (const auto* v = find_header(headers, "Origin")) tx.origin = *v;
    if (const auto* v = find_header(headers, "Authorization");
        v && ascii_istarts_with(*v, "Basic ")) {
      std::string cred = base64_decode(trim(std::string_view(*v).substr(6)));
      size_t colon = cred.find(':');
      tx.username = cred.substr(0, colon);
      if (colon != std::string::npos) tx.password = cred.substr(colon + 1);
    }
    for (const auto& h : headers)
      for (std::string_view p : kProxyHeaders)
        if (ascii_iequals(h.name, p)) tx.proxied.push_back(std::string(p) + " -> " + h.value);
  } else {
    if (const auto* v = find_header(headers, "Content-Type")) tx.content_type = *v;
    if (const auto* v = find_header(headers, "Location")) tx.location = *v;
    if (const auto* v = find_header(headers, "Set-Cookie")) tx.buf.set_cookie = *v;
  }

  const std::string* te = find_header(headers, "Transfer-Encoding");
  const std::string* cl = find_header(headers, "Content-Length");
  s.mode = BodyMode::kNone;
  s.remaining = 0;
  if (!req) {
    if (tx.status == 101 || (tx.connect && tx.status >= 200 && tx.status < 300)) {
      // The connection now carries another protocol: stop parsing both directions. The
      // response's end may publish and free the transaction, so it comes last.
      tunnel_ = true;
      connect_tunnel_ = tx.connect && tx.status != 101;
      if (sides_[0].tx == &tx) end_message(sides_[0], Direction::kToServer, ts, false);
      tx.request_done = true;
      end_message(s, dir, ts, true);
      return;
    }
    // A 204/304 has no body, unless it says it is chunked: libhtp reads that body (an
    // evasion otherwise hides the data from inspection).
    bool chunked = te && has_token(*te, "chunked");
    if (tx.head || ((tx.status == 204 || tx.status == 304) && !chunked)) {
      end_message(s, dir, ts, true);
      return;
    }
  }
  // Chunked is HTTP/1.1: a 1.0 message that also has a length is framed by the length
  // (what libhtp does, so evasions cannot split the two views).
  std::string_view version = req ? tx.request_version : tx.response_version;
  bool http10 = version == "1.0" || version == "0.9";
  if (te && has_token(*te, "chunked") && !(http10 && cl)) {
    s.mode = BodyMode::kChunked;
    s.state = State::kChunkSize;
    if (cl) anomaly("HTTP_both_content_length_and_transfer_encoding", dir, ts);
    return;
  }
  uint64_t len = 0;
  if (cl) {
    if (!parse_length(*cl, len)) {
      anomaly("HTTP_bad_content_length", dir, ts);
    } else if (len > 0) {
      s.mode = BodyMode::kLength;
      s.remaining = len;
      s.state = State::kBody;
      return;
    } else {
      end_message(s, dir, ts, true);
      return;
    }
  }
  if (req) {
    end_message(s, dir, ts, true);
    return;
  }
  s.mode = BodyMode::kClose;
  s.state = State::kBody;
}

void HttpParser::body_bytes(Side& s, Direction dir, const uint8_t* p, size_t n, TimeNs ts) {
  if (n == 0 || !s.tx) return;
  (dir == Direction::kToServer ? s.tx->request_wire_len : s.tx->response_wire_len) += n;
  if (s.coding == Coding::kIdentity) {
    decoded_bytes(s, dir, p, n, ts);
    return;
  }
  if (s.z_failed) {
    raw_body_prefix(s, dir, p, n);
    return;
  }
  if (!s.z_init) {
    s.z = z_stream{};
    int wbits = 15 + 32;  // gzip or zlib, auto-detected
    if (s.inner_layers) {
      wbits = detect_wbits(p, n);
    } else if (s.coding == Coding::kDeflate) {
      // "deflate" is meant to be zlib-wrapped but often is raw deflate.
      bool zlib = n >= 2 && (p[0] & 0x0f) == 8 && ((p[0] << 8) | p[1]) % 31 == 0;
      wbits = zlib ? 15 : -15;
      s.z_raw_tried = !zlib;
    }
    if (inflateInit2(&s.z, wbits) != Z_OK) {
      anomaly("http_decompression_failed", dir, ts);
      s.z_failed = true;
      raw_body_prefix(s, dir, p, n);
      return;
    }
    s.z_init = true;
    s.decoded = s.encoded = 0;
  }
  s.z.next_in = const_cast<Bytef*>(p);
  s.z.avail_in = static_cast<uInt>(n);
  while (s.z.avail_in > 0) {
    s.z.next_out = zbuf_.data();
    s.z.avail_out = static_cast<uInt>(zbuf_.size());
    int r = inflate(&s.z, Z_NO_FLUSH);
    size_t produced = zbuf_.size() - s.z.avail_out;
    uint64_t consumed = s.encoded + (n - s.z.avail_in);
    if (produced) {
      if (s.decoded + produced > limits_.max_decoded ||
          (s.decoded + produced > (1u << 20) &&
           s.decoded + produced > limits_.max_ratio * consumed)) {
        anomaly("http_decompression_bomb", dir, ts);
        s.z_failed = true;
        s.tx->truncated = true;
        if (s.file.active()) s.file.record().overflow_bytes += produced;
        break;
      }
      s.decoded += produced;
      if (s.inner_layers)
        inner_layer(s, 0, dir, zbuf_.data(), produced, ts);
      else
        decoded_bytes(s, dir, zbuf_.data(), produced, ts);
    }
    if (r == Z_STREAM_END) break;
    if (r == Z_BUF_ERROR && produced == 0) break;
    if (r != Z_OK && r != Z_BUF_ERROR) {
      anomaly("http_decompression_failed", dir, ts);
      s.z_failed = true;
      raw_body_prefix(s, dir, p, n);
      break;
    }
  }
  s.encoded += n;
}

void HttpParser::inner_layer(Side& s, size_t k, Direction dir, const uint8_t* p, size_t n,
                             TimeNs ts) {
  Side::Layer& l = s.inner[k];
  auto emit = [&](const uint8_t* q, size_t m) {
    if (k + 1 < s.inner_layers)
      inner_layer(s, k + 1, dir, q, m, ts);
    else
      decoded_bytes(s, dir, q, m, ts);
  };
  if (l.failed) {
    if (l.passthrough) emit(p, n);
    return;
  }
  if (!l.init) {
    l.z = z_stream{};
    if (inflateInit2(&l.z, detect_wbits(p, n)) != Z_OK) {
      l.failed = true;
      return;
    }
    l.init = true;
    l.decoded = 0;
    if (!zbuf_inner_[k]) zbuf_inner_[k] = std::make_unique<std::array<uint8_t, 16384>>();
  }
  auto& out = *zbuf_inner_[k];
  l.z.next_in = const_cast<Bytef*>(p);
  l.z.avail_in = static_cast<uInt>(n);
  while (l.z.avail_in > 0) {
    l.z.next_out = out.data();
    l.z.avail_out = static_cast<uInt>(out.size());
    int r = inflate(&l.z, Z_NO_FLUSH);
    size_t produced = out.size() - l.z.avail_out;
    if (produced) {
      if (l.decoded + produced > limits_.max_decoded) {
        anomaly("http_decompression_bomb", dir, ts);
        l.failed = true;
        s.tx->truncated = true;
        break;
      }
      l.decoded += produced;
      emit(out.data(), produced);
    }
    if (r == Z_STREAM_END) break;
    if (r == Z_BUF_ERROR && produced == 0) break;
    if (r != Z_OK && r != Z_BUF_ERROR) {
      l.failed = true;
      // A layer named but not applied: the previous layer's output is the body.
      if (l.decoded == 0) {
        l.passthrough = true;
        emit(p, n);
      } else {
        anomaly("http_decompression_failed", dir, ts);
      }
      break;
    }
  }
}

// A body labelled compressed that does not decompress from its first byte is clear text
// (libhtp then passes it on as is): the signature engine's body prefix gets the raw bytes.
// Zeek's view (body length, file) keeps only what decompressed.
void HttpParser::raw_body_prefix(Side& s, Direction dir, const uint8_t* p, size_t n) {
  if (s.decoded != 0 || !s.tx) return;
  std::string& prefix =
      dir == Direction::kToServer ? s.tx->buf.request_body : s.tx->buf.response_body;
  if (prefix.size() < limits_.inspect_body)
    prefix.append(reinterpret_cast<const char*>(p),
                  std::min(n, limits_.inspect_body - prefix.size()));
}

// A multipart body: each leaf part is its own file, named by its Content-Disposition.
struct HttpParser::PartEvents : MultipartEvents {
  PartEvents(HttpParser& p, Side& s, Direction d, TimeNs t) : parser(p), side(s), dir(d), ts(t) {}
  void part_begin(std::string_view filename) override { side.filename.assign(filename); }
  void part_data(std::span<const uint8_t> data) override {
    if (!side.file.active()) parser.open_file(side, dir, ts);
    side.file.data(data, ts);
  }
  void part_end(bool complete) override { parser.close_file(side, dir, ts, complete); }
  HttpParser& parser;
  Side& side;
  Direction dir;
  TimeNs ts;
};

void HttpParser::decoded_bytes(Side& s, Direction dir, const uint8_t* p, size_t n, TimeNs ts) {
  HttpTransaction& tx = *s.tx;
  bool req = dir == Direction::kToServer;
  (req ? tx.request_body_len : tx.response_body_len) += n;
  if (n) s.last_byte = p[n - 1];
  std::string& prefix = req ? tx.buf.request_body : tx.buf.response_body;
  if (prefix.size() < limits_.inspect_body)
    prefix.append(reinterpret_cast<const char*>(p),
                  std::min(n, limits_.inspect_body - prefix.size()));
  if (!limits_.files) return;
  if (s.multipart.active()) {
    PartEvents ev{*this, s, dir, ts};
    s.multipart.feed({p, n}, ev);
    return;
  }
  if (!s.file.active()) open_file(s, dir, ts);
  s.file.data({p, n}, ts);
  if (s.range) {
    events_.on_range_data(s.range_offset, {p, n}, ts);
    s.range_offset += n;
  }
}

void HttpParser::open_file(Side& s, Direction dir, TimeNs ts) {
  HttpTransaction& tx = *s.tx;
  bool req = dir == Direction::kToServer;
  s.file.start(ts, files::make_fuid(flow_uid_, file_count_++), "HTTP", req);
  auto& rec = s.file.record();
  rec.filename = s.filename;
  std::string_view path = tx.buf.uri_raw;
  // Suricata names the file after Content-Disposition, else the URI path.
  if (s.filename.empty())
    rec.eve_filename.assign(path.substr(0, path.find('?')));
  else
    rec.eve_filename = s.filename;
  rec.tx_id = tx.tx_id;
  bool total_from_range = false;
  // A range not starting at 0 is the middle of a file: nothing to sniff (as Zeek).
  if (const auto* cr =
          (req ? tx.request_headers : tx.response_headers).empty()
              ? nullptr
              : find_header(req ? tx.request_headers : tx.response_headers, "Content-Range")) {
    std::string_view v = trim(*cr);
    if (ascii_istarts_with(v, "bytes")) v = trim(v.substr(5));
    if (!v.starts_with("0-")) s.file.no_sniff();
    // "a-b/total": the file's full size, as Zeek's total_bytes.
    uint64_t total = 0;
    if (size_t slash = v.find('/');
        slash != std::string_view::npos && parse_length(v.substr(slash + 1), total)) {
      s.file.record().total_bytes = total;
      s.file.record().has_total = true;
      total_from_range = true;
      // A piece shorter than the file (its Content-Length below the total) can never be a
      // complete file, so its digests would be thrown away: skip them. A fifth of the bytes
      // hashed on the benchmark capture were such pieces (range requests for a PDF); the
      // joined file (RangeFiles) is still hashed.
      if (!s.multipart.active() && s.mode == BodyMode::kLength && s.coding == Coding::kIdentity &&
          s.remaining < total)
        s.file.no_digests();
    }
    uint64_t first = 0;
    if (size_t dash = v.find('-');
        !req && tx.status == 206 && !s.multipart.active() && dash != std::string_view::npos &&
        parse_length(v.substr(0, dash), first) && tx.request_header("Range")) {
      if (const std::string* joined = events_.on_range_start(tx, total, total_from_range, ts)) {
        s.range = true;
        s.range_offset = first;
        rec.fuid = *joined;
        rec.zeek_log = false;
      }
    }
  }
  if (!total_from_range && !s.multipart.active() && s.mode == BodyMode::kLength &&
      s.coding == Coding::kIdentity) {
    rec.total_bytes = s.remaining;
    rec.has_total = true;
  }
}

void HttpParser::close_file(Side& s, Direction dir, TimeNs ts, bool complete) {
  if (!s.file.active()) return;
  s.range = false;
  HttpTransaction* tx = s.tx;
  bool req = dir == Direction::kToServer;
  files::FileRecord& rec = s.file.finish(ts, complete && tx && !tx->truncated);
  if (!tx) return;
  (req ? tx->orig_fuids : tx->resp_fuids).push_back(rec.fuid);
  if (!rec.filename.empty())
    (req ? tx->orig_filenames : tx->resp_filenames).push_back(rec.filename);
  if (!rec.mime_type.empty())
    (req ? tx->orig_mime_types : tx->resp_mime_types).push_back(rec.mime_type);
  events_.on_file(*tx, rec);
}

void HttpParser::end_decoder(Side& s) {
  if (s.z_init) inflateEnd(&s.z);
  for (auto& l : s.inner) {
    if (l.init) inflateEnd(&l.z);
    l.init = l.failed = l.passthrough = false;
  }
  s.inner_layers = 0;
  s.z_init = s.z_failed = s.z_raw_tried = false;
  s.coding = Coding::kIdentity;
}

void HttpParser::end_message(Side& s, Direction dir, TimeNs ts, bool complete) {
  end_decoder(s);
  HttpTransaction* tx = s.tx;
  bool req = dir == Direction::kToServer;
  if (s.multipart.active()) {
    PartEvents ev{*this, s, dir, ts};
    s.multipart.finish(ev, complete);
    // Zeek's MIME parser counts every body line with its CRLF, also a last line that has
    // none: its body length is 2 more for such bodies.
    if (tx && s.last_byte != '\n' && (req ? tx->request_body_len : tx->response_body_len) > 0)
      (req ? tx->request_body_len : tx->response_body_len) += 2;
  } else if (tx && !req && s.mode == BodyMode::kClose && !tx->http09 && s.last_byte != '\n' &&
             tx->response_body_len > 0) {
    // A body that ends with the connection (no length, not chunked) is read by Zeek line by
    // line as well: an unterminated last line counts its CRLF too. HTTP/0.9 replies are plain.
    tx->response_body_len += 2;
  }
  close_file(s, dir, ts, complete);
  s.last_byte = 0;
  s.state = State::kLine;
  s.mode = BodyMode::kNone;
  s.remaining = 0;
  s.tx = nullptr;
  if (!tx) return;
  if (!complete) tx->truncated = true;
  (req ? tx->request_done : tx->response_done) = true;
  tx->ts_end = ts;
  bool http09_reply = !req && tx->http09 && tx->has_response;
  flush_done(false, ts);
  if (http09_reply) {
    HttpTransaction* empty = new_tx(ts);
    empty->zeek_only = true;
    empty->request_done = empty->response_done = true;
    empty->ts_end = ts;
    flush_done(false, ts);
  }
}

void HttpParser::flush_done(bool force, TimeNs ts) {
  while (!txs_.empty()) {
    HttpTransaction& tx = txs_.front();
    bool done = tx.request_done && tx.response_done;
    if (!done && !force) {
      // A request with no response while later ones already have theirs cannot be matched.
      break;
    }
    if (!done) tx.truncated = tx.truncated || tx.has_response;
    if (tx.ts_end == 0) tx.ts_end = ts;
    for (auto& s : sides_)
      if (s.tx == &tx) s.tx = nullptr;
    // A transaction with neither a request nor a response (a bad request line answered by
    // something that is not HTTP) has nothing to log.
    if (tx.has_request || tx.has_response || tx.zeek_only) events_.on_transaction(tx);
    txs_.pop_front();
  }
}

void HttpParser::gap(Direction dir, uint64_t len, TimeNs ts) {
  Side& s = side(dir);
  if (tunnel_ || stopped_ || s.state == State::kDead || len == 0) return;
  anomaly("content_gap", dir, ts);
  if (s.tx) s.tx->truncated = true;
  bool identity = s.coding == Coding::kIdentity;
  if (identity && s.tx &&
      ((s.state == State::kBody && (s.mode == BodyMode::kClose || len < s.remaining)) ||
       (s.state == State::kChunkData && len < s.remaining))) {
    if (s.mode != BodyMode::kClose) s.remaining -= len;
    (dir == Direction::kToServer ? s.tx->request_wire_len : s.tx->response_wire_len) += len;
    s.file.gap(len, ts);
    s.range_offset += len;
    return;
  }
  if (s.tx) end_message(s, dir, ts, false);
  s.state = State::kDead;
}

void HttpParser::close(TimeNs ts) {
  for (int d = 0; d < 2; ++d) {
    Side& s = sides_[d];
    Direction dir = static_cast<Direction>(d);
    if (!s.tx) continue;
    bool complete = s.state == State::kBody && s.mode == BodyMode::kClose;
    if (!complete) anomaly("http_message_truncated", dir, ts);
    end_message(s, dir, ts, complete);
  }
  flush_done(true, ts);
}

}  // namespace komainu::http
