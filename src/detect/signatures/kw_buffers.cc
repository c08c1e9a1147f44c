// Sticky buffers (http.uri; content:...), their legacy content-modifier forms
// (content:...; http_uri;), pkt_data, base64_decode/base64_data and transforms.
//
// The buffer vocabulary is one table: the engine inspects any buffer the app-layer hands it
// in InspectBuffers under that id, so a buffer "matches" as soon as its producer fills it.
#include <deque>

#include "detect/signatures/inspect.h"
#include "detect/signatures/keyword.h"

namespace komainu::sig {

namespace {

struct BufferInfo {
  std::string_view name;      // Suricata 5+ sticky name
  std::string_view alias;     // older sticky name, or ""
  std::string_view modifier;  // legacy content modifier, or ""
  std::string_view app;       // app-layer protocol the buffer implies
};

// Index = buffer id. 0 is the packet payload.
constexpr BufferInfo kBuffers[] = {
    {"pkt_data", "", "", ""},
    {"http.uri", "", "http_uri", "http"},
    {"http.uri.raw", "", "http_raw_uri", "http"},
    {"http.method", "", "http_method", "http"},
    {"http.header", "", "http_header", "http"},
    {"http.header.raw", "", "http_raw_header", "http"},
    {"http.header_names", "http_header_names", "", "http"},
    {"http.host", "", "http_host", "http"},
    {"http.host.raw", "", "http_raw_host", "http"},
    {"http.user_agent", "", "http_user_agent", "http"},
    {"http.cookie", "", "http_cookie", "http"},
    {"http.referer", "http_referer", "", "http"},
    {"http.accept", "http_accept", "", "http"},
    {"http.accept_enc", "http_accept_enc", "", "http"},
    {"http.accept_lang", "http_accept_lang", "", "http"},
    {"http.connection", "http_connection", "", "http"},
    {"http.content_type", "http_content_type", "", "http"},
    {"http.content_len", "http_content_len", "", "http"},
    {"http.request_line", "http_request_line", "", "http"},
    {"http.request_body", "", "http_client_body", "http"},
    {"http.stat_code", "", "http_stat_code", "http"},
    {"http.stat_msg", "", "http_stat_msg", "http"},
    {"http.response_line", "http_response_line", "", "http"},
    {"http.response_body", "", "http_server_body", "http"},
    {"http.server", "http_server", "", "http"},
    {"http.location", "http_location", "", "http"},
    {"http.protocol", "http_protocol", "", "http"},
    {"http.start", "http_start", "", "http"},
    {"file.data", "file_data", "", ""},
    {"file.name", "", "", ""},
    {"dns.query", "dns_query", "", "dns"},
    {"tls.sni", "tls_sni", "", "tls"},
    {"tls.cert_subject", "tls_cert_subject", "", "tls"},
    {"tls.cert_issuer", "tls_cert_issuer", "", "tls"},
    {"tls.cert_serial", "tls_cert_serial", "", "tls"},
    {"tls.cert_fingerprint", "tls_cert_fingerprint", "", "tls"},
    {"tls.certs", "", "", "tls"},
    {"ja3.hash", "ja3_hash", "", "tls"},
    {"ja3.string", "ja3_string", "", "tls"},
    {"ja3s.hash", "ja3s_hash", "", "tls"},
    {"ja3s.string", "ja3s_string", "", "tls"},
    {"ja4.hash", "", "", ""},
    {"ssh.software", "ssh_software", "", "ssh"},
    {"ssh.proto", "ssh_proto", "", "ssh"},
    {"ssh.hassh", "", "", "ssh"},
    {"ssh.hassh.string", "", "", "ssh"},
    {"smb.share", "smb_share", "", "smb"},
    {"smb.named_pipe", "smb_named_pipe", "", "smb"},
    {"krb5.cname", "", "", "krb5"},
    {"krb5.sname", "", "", "krb5"},
    {"smtp.helo", "", "", "smtp"},
    {"smtp.mail_from", "", "", "smtp"},
    {"smtp.rcpt_to", "", "", "smtp"},
    {"ftp.command", "", "", "ftp"},
    {"ftp.command_data", "", "", "ftp"},
    {"quic.sni", "", "", "quic"},
    {"sip.method", "", "", "sip"},
    {"sip.uri", "", "", "sip"},
    {"dns.answer.name", "", "", "dns"},
    // Not a rule keyword: the TLS analyzer puts the negotiated version here as two bytes
    // (03 03 = TLS 1.2) for tls.version.
    {"tls.version.raw", "", "", "tls"},
};
static_assert(std::size(kBuffers) <= kMaxBuffers);

bool parse_sticky(ParseState& st, std::string_view value, std::string& err) {
  if (!value.empty()) {
    err = "takes no value";
    return false;
  }
  return st.select_buffer(st.kw->arg, err);
}

// content:"x"; http_uri; -- moves the previous content into the http.uri list. In Snort 3
// rules the same names are sticky buffers.
bool parse_modifier(ParseState& st, std::string_view value, std::string& err) {
  if (!value.empty()) {
    err = "takes no value";
    return false;
  }
  if (st.snort3) return st.select_buffer(st.kw->arg, err);
  Content* c = st.last_content();
  if (!c) {
    err = "must follow a content";
    return false;
  }
  auto& from = st.sig.lists[st.content_list];
  if (from.buffer != 0) {
    err = "content already belongs to buffer " + std::string(kBuffers[from.buffer].name);
    return false;
  }
  if (st.content_item != static_cast<int>(from.items.size()) - 1) {
    err = "must follow its content before other inspection keywords";
    return false;
  }
  InspectItem moved = std::move(from.items.back());
  from.items.pop_back();
  int id = st.kw->arg;
  const auto& info = kBuffers[id];
  if (!info.app.empty() && st.sig.app_proto.empty()) st.sig.app_proto = std::string(info.app);
  st.sig.lists.push_back(BufferList::of(static_cast<uint16_t>(id)));
  st.sig.lists.back().items.push_back(std::move(moved));
  st.last_list = st.content_list = static_cast<int>(st.sig.lists.size() - 1);
  st.last_item = st.content_item = 0;
  // The payload list stays the current one for the next content.
  st.current_list = -1;
  return true;
}

bool parse_pkt_data(ParseState& st, std::string_view value, std::string& err) {
  if (!value.empty()) {
    err = "takes no value";
    return false;
  }
  st.current_list = -1;
  return true;
}

bool parse_transform(ParseState& st, std::string_view value, std::string& err) {
  if (!value.empty()) {
    err = "takes no value";
    return false;
  }
  if (st.current_list < 0) {
    // Suricata allows transforms on pkt_data too: give the payload its own list.
    st.sig.lists.push_back(BufferList::of(0));
    st.current_list = static_cast<int>(st.sig.lists.size() - 1);
  }
  // Like Suricata, a transform changes the whole buffer, items before it included.
  auto& l = st.sig.lists[st.current_list];
  l.transforms.push_back(static_cast<Transform>(st.kw->arg));
  return true;
}

bool parse_base64_decode(ParseState& st, std::string_view value, std::string& err) {
  Base64Decode b;
  for (auto a : split_args(value)) {
    if (a.empty()) continue;
    auto sp = a.find(' ');
    auto k = trim(a.substr(0, sp));
    auto v = sp == std::string_view::npos ? std::string_view{} : trim(a.substr(sp + 1));
    if (k == "bytes") {
      if (!st.value(v, b.bytes, err)) return false;
      b.has_bytes = true;
    } else if (k == "offset") {
      if (!st.value(v, b.offset, err)) return false;
    } else if (k == "relative") {
      b.relative = true;
    } else {
      err = "unknown option '" + std::string(k) + "'";
      return false;
    }
  }
  int rel = b.relative ? st.relative_target() : -1;
  auto& l = rel >= 0 ? st.sig.lists[rel] : st.current();
  l.items.push_back(b);
  st.last_list = rel >= 0 ? rel : st.current_list;
  st.last_item = static_cast<int>(l.items.size() - 1);
  return true;
}

bool parse_base64_data(ParseState& st, std::string_view value, std::string& err) {
  if (!value.empty()) {
    err = "takes no value";
    return false;
  }
  // The decoded data of the last base64_decode: the items after it inspect that (its list
  // becomes the current one, as Suricata's base64_data buffer is sticky).
  if (st.last_list >= 0 &&
      std::holds_alternative<Base64Decode>(st.sig.lists[st.last_list].items[st.last_item]))
    st.current_list = st.last_list;
  auto& l = st.current();
  bool has_decode = false;
  for (const auto& i : l.items) has_decode |= std::holds_alternative<Base64Decode>(i);
  if (!has_decode) {
    err = "needs a base64_decode before it in the same buffer";
    return false;
  }
  l.base64_data_at = static_cast<int>(l.items.size());
  return true;
}

// tls.version:1.2 (also 1.0 1.1 1.3, ssl3, or a number such as 0x0303): the negotiated
// version, compared on the two-byte tls.version.raw buffer.
bool parse_tls_version(ParseState& st, std::string_view v, std::string& err) {
  v = trim(v);
  int64_t n = -1;
  if (v == "1.0")
    n = 0x0301;
  else if (v == "1.1")
    n = 0x0302;
  else if (v == "1.2")
    n = 0x0303;
  else if (v == "1.3")
    n = 0x0304;
  else if (v == "ssl3" || v == "3.0")
    n = 0x0300;
  else if (!parse_int(v, n) || n < 0 || n > 0xffff)
    n = -1;
  if (n < 0) {
    err = "bad TLS version '" + std::string(v) + "'";
    return false;
  }
  int id = buffer_id("tls.version.raw");
  if (!st.select_buffer(id, err)) return false;
  Content c;
  c.pattern = {static_cast<char>(n >> 8), static_cast<char>(n & 0xff)};
  c.startswith = c.endswith = true;
  st.sig.lists[st.current_list].items.push_back(std::move(c));
  st.current_list = -1;  // not a sticky buffer for what follows
  return true;
}
const Registration<KeywordApi> reg_tls_version{
    {.name = "tls.version",
     .parse = parse_tls_version,
     .matches = true,
     .note = "on the tls.version.raw buffer (2 bytes) the TLS analyzer fills"}};

struct Transforms {
  std::string_view name;
  Transform t;
};
constexpr Transforms kTransforms[] = {
    {"to_lowercase", Transform::kToLowercase},
    {"to_uppercase", Transform::kToUppercase},
    {"strip_whitespace", Transform::kStripWhitespace},
    {"compress_whitespace", Transform::kCompressWhitespace},
    {"url_decode", Transform::kUrlDecode},
    {"dotprefix", Transform::kDotPrefix},
    {"to_md5", Transform::kToMd5},
    {"to_sha1", Transform::kToSha1},
    {"to_sha256", Transform::kToSha256},
    {"header_lowercase", Transform::kHeaderLowercase},
    {"strip_pseudo_headers", Transform::kStripPseudoHeaders},
};

// Registers one keyword per buffer name, alias, modifier and transform.
struct BufferKeywords {
  std::deque<Registration<KeywordApi>> regs;
  BufferKeywords() {
    for (size_t i = 1; i < std::size(kBuffers); ++i) {
      const auto& b = kBuffers[i];
      if (b.name == "tls.version.raw") continue;  // internal: fed for tls.version only
      regs.emplace_back(KeywordApi{.name = b.name,
                                   .parse = parse_sticky,
                                   .matches = true,
                                   .note = "sticky buffer",
                                   .arg = int(i)});
      if (!b.alias.empty())
        regs.emplace_back(KeywordApi{.name = b.alias,
                                     .parse = parse_sticky,
                                     .matches = true,
                                     .note = "sticky buffer (legacy name)",
                                     .arg = int(i)});
      if (!b.modifier.empty())
        regs.emplace_back(KeywordApi{.name = b.modifier,
                                     .parse = parse_modifier,
                                     .matches = true,
                                     .note = "content modifier (legacy form)",
                                     .arg = int(i)});
    }
    for (const auto& t : kTransforms)
      regs.emplace_back(KeywordApi{.name = t.name,
                                   .parse = parse_transform,
                                   .matches = true,
                                   .note = "transform",
                                   .arg = int(t.t)});
  }
};
const BufferKeywords buffer_keywords;

const Registration<KeywordApi> reg_pkt_data{
    {.name = "pkt_data", .parse = parse_pkt_data, .matches = true, .note = "back to payload"}};
const Registration<KeywordApi> reg_b64d{
    {.name = "base64_decode", .parse = parse_base64_decode, .matches = true}};
const Registration<KeywordApi> reg_b64data{
    {.name = "base64_data", .parse = parse_base64_data, .matches = true}};

}  // namespace

bool ParseState::select_buffer(int id, std::string& err) {
  if (id <= 0) {
    current_list = -1;
    return true;
  }
  sig.lists.push_back(BufferList::of(static_cast<uint16_t>(id)));
  current_list = static_cast<int>(sig.lists.size() - 1);
  const auto& info = kBuffers[id];
  if (!info.app.empty() && sig.app_proto.empty()) sig.app_proto = std::string(info.app);
  if (!info.app.empty() && sig.app_proto != info.app &&
      !(info.app == "http" && sig.app_proto == "http2")) {
    err = "buffer " + std::string(info.name) + " does not exist for protocol " + sig.app_proto;
    return false;
  }
  return true;
}

int buffer_id(std::string_view name) {
  for (size_t i = 0; i < std::size(kBuffers); ++i)
    if (kBuffers[i].name == name || (!kBuffers[i].alias.empty() && kBuffers[i].alias == name) ||
        (!kBuffers[i].modifier.empty() && kBuffers[i].modifier == name))
      return static_cast<int>(i);
  return -1;
}

std::string_view buffer_name(BufferId id) {
  return id < std::size(kBuffers) ? kBuffers[id].name : std::string_view("?");
}

}  // namespace komainu::sig
