#include "analyzers/smtp/mime_message.h"

#include <cstdio>

#include "core/ascii.h"

namespace komainu::smtp {

namespace {

bool lws(char c) {
  return c == ' ' || c == '\t';
}
bool tspecial(char c) {
  switch (c) {
    case '(':
    case ')':
    case '<':
    case '>':
    case '@':
    case ',':
    case ';':
    case ':':
    case '\\':
    case '"':
    case '/':
    case '[':
    case ']':
    case '?':
    case '=':
      return true;
    default:
      return false;
  }
}
bool token_char(char c) {
  unsigned char u = static_cast<unsigned char>(c);
  return u >= 33 && u <= 126 && !tspecial(c);
}
std::string upper(std::string_view s) {
  std::string o(s);
  for (char& c : o) c = ascii_upper(c);
  return o;
}
// Skips blanks and (comments), as RFC 822 allows between tokens.
void skip_lws(std::string_view s, size_t& i) {
  for (;;) {
    while (i < s.size() && lws(s[i])) ++i;
    if (i < s.size() && s[i] == '(') {
      int depth = 0;
      for (; i < s.size(); ++i) {
        if (s[i] == '(') ++depth;
        if (s[i] == ')' && --depth == 0) {
          ++i;
          break;
        }
      }
      continue;
    }
    return;
  }
}
std::string_view token(std::string_view s, size_t& i) {
  size_t b = i;
  while (i < s.size() && token_char(s[i])) ++i;
  return s.substr(b, i - b);
}
int b64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

MimeMessage::MimeMessage(MimeHandler& h, const MimeLimits& limits) : h_(h), limits_(limits) {
  begin(false);
}

// Every entity starts as 7bit (RFC 2045 6.1). Zeek lets a part inherit its parent's
// Content-Transfer-Encoding; a base64 container would then mis-decode a plain part and hide
// its content from file inspection (suricata-verify mime__smtp-mime-encap-8649).
void MimeMessage::begin(bool parent_multipart) {
  Entity e;
  e.parent_multipart = parent_multipart;
  stack_.push_back(std::move(e));
  b64_error_reported_ = false;
  h_.begin_entity();
}

void MimeMessage::end_from(size_t i) {
  while (stack_.size() > i) {
    Entity& e = stack_.back();
    if (e.in_headers) {
      flush_header(e);
      e.in_headers = false;
    } else if (e.kind == Kind::kLeaf && e.encoding == Encoding::kBase64) {
      base64_end(e);
    }
    stack_.pop_back();
    h_.end_entity();
  }
}

void MimeMessage::line(std::string_view l) {
  if (finished_ || stack_.empty()) return;
  deliver(0, l);
}

void MimeMessage::finish() {
  if (finished_) return;
  finished_ = true;
  end_from(0);
}

void MimeMessage::deliver(size_t i, std::string_view l) {
  Entity& e = stack_[i];
  if (e.in_headers) {
    header_line(e, l);
    if (!e.in_headers) end_headers(i);
    return;
  }
  if (e.kind == Kind::kMultipart) {
    const std::string& b = e.boundary;
    if (l.size() >= 2 + b.size() && l[0] == '-' && l[1] == '-' && l.substr(2, b.size()) == b) {
      const bool closing =
          l.size() >= 4 + b.size() && l[2 + b.size()] == '-' && l[3 + b.size()] == '-';
      end_from(i + 1);
      if (closing) {
        end_from(i);
        return;
      }
      if (limits_.max_depth > 0 && i + 1 >= limits_.max_depth) {
        h_.anomaly("exceeded_mime_max_depth", std::to_string(i + 1));
        return;
      }
      begin(true);
      return;
    }
    if (i + 1 < stack_.size()) deliver(i + 1, l);  // preamble / epilogue: dropped
    return;
  }
  if (e.kind == Kind::kMessage) {
    if (i + 1 < stack_.size()) deliver(i + 1, l);
    return;
  }
  leaf_line(e, l);
}

void MimeMessage::header_line(Entity& e, std::string_view l) {
  if (l.empty() || l[0] == '\0') {
    flush_header(e);
    e.in_headers = false;
    return;
  }
  if (lws(l[0]) && have_header_) {
    if (limits_.max_header_bytes > 0 && header_.size() >= limits_.max_header_bytes) {
      h_.anomaly("exceeded_mime_max_header_bytes", std::to_string(header_.size()));
      return;
    }
    header_.append(l);
    return;
  }
  flush_header(e);
  while (!l.empty() && lws(l[0])) l.remove_prefix(1);
  header_.assign(l);
  have_header_ = true;
}

void MimeMessage::flush_header(Entity& e) {
  if (!have_header_) return;
  have_header_ = false;
  std::string_view s = header_;
  size_t i = 0;
  skip_lws(s, i);
  // The name: printable bytes up to ':'; others before it are skipped.
  while (i < s.size() && s[i] == ':') ++i;
  size_t b = i;
  while (i < s.size()) {
    unsigned char u = static_cast<unsigned char>(s[i]);
    if (u < 33 || u > 126 || s[i] == ':') break;
    ++i;
  }
  std::string name = upper(s.substr(b, i - b));
  skip_lws(s, i);
  if (name.empty() || i >= s.size() || s[i] != ':') return;
  ++i;
  while (i < s.size() &&
         (lws(s[i]) || s[i] == '\r' || s[i] == '\n' || s[i] == '\v' || s[i] == '\f'))
    ++i;
  std::string_view value = s.substr(i);

  if (name == "CONTENT-TYPE") {
    size_t p = 0;
    skip_lws(value, p);
    std::string_view type = token(value, p);
    skip_lws(value, p);
    if (!type.empty() && p < value.size() && value[p] == '/') {
      ++p;
      skip_lws(value, p);
      std::string_view sub = token(value, p);
      if (!sub.empty()) {
        const bool multipart = ascii_iequals(type, "multipart");
        if (multipart || ascii_iequals(type, "message")) {
          e.kind = multipart ? Kind::kMultipart : Kind::kMessage;
          // Parameters: ; attr = value ...
          for (;;) {
            skip_lws(value, p);
            if (p >= value.size() || value[p] != ';') break;
            ++p;
            skip_lws(value, p);
            std::string_view attr = token(value, p);
            skip_lws(value, p);
            if (attr.empty() || p >= value.size() || value[p] != '=') break;
            ++p;
            skip_lws(value, p);
            std::string v;
            if (p < value.size() && value[p] == '"') {
              ++p;
              bool closed = false;
              while (p < value.size()) {
                char c = value[p++];
                if (c == '\\' && p < value.size()) {
                  v.push_back(value[p++]);
                } else if (c == '"') {
                  closed = true;
                  break;
                } else {
                  v.push_back(c);
                }
              }
              if (!closed) break;
            } else if (ascii_iequals(attr, "boundary")) {
              while (p < value.size()) {
                unsigned char u = static_cast<unsigned char>(value[p]);
                if (u < 33 || u > 126 || value[p] == '"') break;
                v.push_back(value[p++]);
              }
            } else {
              v.assign(token(value, p));
            }
            if (ascii_iequals(attr, "boundary")) e.boundary = std::move(v);
          }
        } else {
          e.kind = Kind::kLeaf;
        }
      }
    }
  } else if (name == "CONTENT-TRANSFER-ENCODING") {
    size_t p = 0;
    skip_lws(value, p);
    std::string_view enc = token(value, p);
    if (ascii_iequals(enc, "base64"))
      e.encoding = Encoding::kBase64;
    else if (ascii_iequals(enc, "quoted-printable"))
      e.encoding = Encoding::kQuotedPrintable;
    else if (!enc.empty())
      e.encoding = Encoding::kNone;
  }
  h_.header(name, value);
}

void MimeMessage::end_headers(size_t i) {
  Entity& e = stack_[i];
  // A multipart without a boundary is read as one opaque body.
  if (e.kind == Kind::kMultipart && e.boundary.empty()) e.kind = Kind::kLeaf;
  if (e.kind == Kind::kMessage) {
    if (limits_.max_depth > 0 && i + 1 >= limits_.max_depth) {
      h_.anomaly("exceeded_mime_max_depth", std::to_string(i + 1));
      e.kind = Kind::kLeaf;
      return;
    }
    begin(false);
  }
}

void MimeMessage::leaf_line(Entity& e, std::string_view l) {
  out_.clear();
  switch (e.encoding) {
    case Encoding::kBase64:
      base64(e, l);
      break;
    case Encoding::kQuotedPrintable: {
      std::string_view t = l;
      while (!t.empty() && lws(t.back())) t.remove_suffix(1);
      bool soft = false;
      for (size_t k = 0; k < t.size(); ++k) {
        char c = t[k];
        if (c == '=') {
          if (k + 1 == t.size()) {
            soft = true;
            break;
          }
          // The two digits are looked for in the line before its trailing blanks went.
          if (k + 2 < l.size() && ascii_hex_value(l[k + 1]) >= 0 &&
              ascii_hex_value(l[k + 2]) >= 0) {
            out_.push_back(char(ascii_hex_value(l[k + 1]) * 16 + ascii_hex_value(l[k + 2])));
            k += 2;
            continue;
          }
        }
        out_.push_back(c);
      }
      if (!soft) out_.append("\r\n");
      break;
    }
    case Encoding::kNone:
      if (e.delay_crlf) out_.append("\r\n");
      e.delay_crlf = false;
      out_.append(l);
      if (e.parent_multipart)
        e.delay_crlf = true;
      else
        out_.append("\r\n");
      break;
  }
  flush();
}

void MimeMessage::b64_error(std::string addl) {
  if (b64_error_reported_) return;
  b64_error_reported_ = true;
  h_.anomaly("base64_illegal_encoding", std::move(addl));
}

void MimeMessage::base64(Entity& e, std::string_view l) {
  for (char c : l) {
    int v;
    if (c == '=') {
      v = 0;
      ++e.b64_pad;
    } else {
      v = b64_value(c);
      if (v < 0) {
        b64_error("character " + std::to_string(int(static_cast<signed char>(c))) +
                  " ignored by Base64 decoding");
        continue;
      }
    }
    e.b64_bits = (e.b64_bits << 6) | uint32_t(v);
    if (++e.b64_n < 4) continue;
    // Zeek drops the groups after a padded one; Suricata decodes them (suricata-verify
    // bug-6207: "NA=", "=Mg", "==" is "42"), and so does komainu: content that follows a
    // stray '=' must not be hidden from file inspection.
    if (e.b64_done) b64_error("extra base64 groups after '=' padding decoded");
    int n = 3 - std::min(e.b64_pad, 3);
    for (int k = 0; k < n; ++k) out_.push_back(char((e.b64_bits >> (16 - 8 * k)) & 0xff));
    if (e.b64_pad > 0) e.b64_done = true;
    e.b64_bits = 0;
    e.b64_n = 0;
    e.b64_pad = 0;
  }
}

void MimeMessage::base64_end(Entity& e) {
  if (e.b64_n == 0) return;
  h_.anomaly("base64_illegal_encoding", "incomplete base64 group, padding with " +
                                            std::to_string((4 - e.b64_n) * 6) + " bits of 0");
  out_.clear();
  const int n = e.b64_n;
  uint32_t bits = e.b64_bits << (6 * (4 - n));
  int pad = e.b64_pad + (4 - n);
  int bytes = 3 - std::min(pad, 3);
  for (int k = 0; k < bytes; ++k) out_.push_back(char((bits >> (16 - 8 * k)) & 0xff));
  e.b64_n = 0;
  flush();
}

void MimeMessage::flush() {
  if (out_.empty()) return;
  h_.body({reinterpret_cast<const uint8_t*>(out_.data()), out_.size()});
  out_.clear();
}

}  // namespace komainu::smtp
