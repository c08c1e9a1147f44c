#include "analyzers/files/mime.h"

#include <cctype>
#include <cstring>
#include <string_view>

#include "core/ascii.h"

namespace komainu::files {
namespace {

struct Magic {
  size_t offset;
  std::string_view bytes;
  const char* mime;
};

using namespace std::string_view_literals;

// Binary formats first: fixed bytes at a fixed offset.
constexpr Magic kMagic[] = {
    {0, "MZ"sv, "application/x-dosexec"},
    {0,
     "\x7f"
     "ELF"sv,
     "application/x-executable"},
    {0, "\xca\xfe\xba\xbe"sv, "application/x-mach-o-executable"},
    {0, "\xcf\xfa\xed\xfe"sv, "application/x-mach-o-executable"},
    {0, "\xce\xfa\xed\xfe"sv, "application/x-mach-o-executable"},
    {0, "%PDF-"sv, "application/pdf"},
    {0, "PK\x03\x04"sv, "application/zip"},
    {0, "PK\x05\x06"sv, "application/zip"},
    {0, "\x1f\x8b"sv, "application/x-gzip"},
    {0, "BZh"sv, "application/x-bzip2"},
    {0,
     "\xfd"
     "7zXZ\x00"sv,
     "application/x-xz"},
    {0, "7z\xbc\xaf\x27\x1c"sv, "application/x-7z-compressed"},
    {0, "Rar!\x1a\x07"sv, "application/x-rar"},
    {257, "ustar"sv, "application/x-tar"},
    {0, "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"sv, "application/vnd.ms-office"},
    {0, "\x89PNG\r\n\x1a\n"sv, "image/png"},
    {0, "\xff\xd8\xff"sv, "image/jpeg"},
    {0, "GIF87a"sv, "image/gif"},
    {0, "GIF89a"sv, "image/gif"},
    {0, "BM"sv, "image/bmp"},
    {0, "II*\x00"sv, "image/tiff"},
    {0, "MM\x00*"sv, "image/tiff"},
    {0, "\x00\x00\x01\x00"sv, "image/x-icon"},
    {0, "RIFF"sv, "application/x-riff"},
    {0, "OggS"sv, "application/ogg"},
    {0, "ID3"sv, "audio/mpeg"},
    {0, "FWS"sv, "application/x-shockwave-flash"},
    {0, "CWS"sv, "application/x-shockwave-flash"},
    {0, "ZWS"sv, "application/x-shockwave-flash"},
    {0, "\x30\x82"sv, "application/x-x509-ca-cert"},
    {0, "-----BEGIN CERTIFICATE-----"sv, "application/x-pem"},
    {0, "{\\rtf"sv, "text/rtf"},
    {0, "%!PS"sv, "application/postscript"},
    {0, "\xed\xab\xee\xdb"sv, "application/x-rpm"},
    {0, "!<arch>\ndebian"sv, "application/x-debian-package"},
    {0, "SQLite format 3\x00"sv, "application/x-sqlite3"},
    {0, "\x00\x61\x73\x6d"sv, "application/wasm"},
    {4, "ftyp"sv, "video/mp4"},
    {0, "\x1a\x45\xdf\xa3"sv, "video/webm"},
    {0, "wOFF"sv, "application/font-woff"},
    {0, "MSCF"sv, "application/vnd.ms-cab-compressed"},
    {0, "\x4c\x00\x00\x00\x01\x14\x02\x00"sv, "application/x-ms-shortcut"},
};

bool starts_with_ci(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i)
    if (ascii_lower(s[i]) != prefix[i]) return false;
  return true;
}

bool contains_ci(std::string_view s, std::string_view needle) {
  if (needle.size() > s.size()) return false;
  for (size_t i = 0; i + needle.size() <= s.size(); ++i)
    if (starts_with_ci(s.substr(i), needle)) return true;
  return false;
}

// Text if the sniffed prefix has no control bytes other than whitespace (UTF-8 allowed).
bool looks_like_text(std::string_view s) {
  if (s.empty()) return false;
  for (unsigned char c : s)
    if (c < 0x20 && c != '\n' && c != '\r' && c != '\t' && c != '\f') return false;
  return true;
}

}  // namespace

const char* mime_from_magic(std::span<const uint8_t> head) {
  if (head.empty()) return nullptr;
  std::string_view s(reinterpret_cast<const char*>(head.data()), head.size());
  // UTF-8 BOM and UTF-16 text
  if (s.starts_with("\xff\xfe"sv) || s.starts_with("\xfe\xff"sv)) return "text/plain";
  for (const Magic& m : kMagic)
    if (s.size() >= m.offset + m.bytes.size() && s.substr(m.offset, m.bytes.size()) == m.bytes)
      return m.mime;

  if (s.starts_with("\xef\xbb\xbf"sv)) s.remove_prefix(3);
  // Markup and scripts: skip leading whitespace as Zeek's signatures do.
  size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  std::string_view t = s.substr(i);
  if (starts_with_ci(t, "<?xml")) {
    if (contains_ci(t.substr(0, 256), "<svg")) return "image/svg+xml";
    if (contains_ci(t.substr(0, 512), "<!doctype html") || contains_ci(t.substr(0, 512), "<html"))
      return "text/html";  // XHTML
    return "application/xml";
  }
  if (starts_with_ci(t, "<!doctype html") || starts_with_ci(t, "<html") ||
      starts_with_ci(t, "<head") || starts_with_ci(t, "<body") || starts_with_ci(t, "<title") ||
      starts_with_ci(t, "<script") || starts_with_ci(t, "<!--") || starts_with_ci(t, "<h1") ||
      starts_with_ci(t, "<div") || starts_with_ci(t, "<meta") || starts_with_ci(t, "<iframe") ||
      starts_with_ci(t, "<table") || starts_with_ci(t, "<a "))
    return "text/html";
  if (starts_with_ci(t, "<svg")) return "image/svg+xml";
  if (t.starts_with("#!")) return "text/x-shellscript";
  if (t.starts_with("document.write(")) return "application/javascript";
  if (t.starts_with("{") || t.starts_with("[")) {
    if (looks_like_text(s) && (t.size() < 2 || t[1] == '"' || t[1] == '\n' || t[1] == '\r' ||
                               t[1] == ' ' || t[1] == '{' || t[1] == '}' || t[1] == ']'))
      return "text/json";
  }
  // Zeek's file-plaintext signature wants ten printable or blank bytes: shorter bodies
  // ("Hello\n") get no type.
  if (s.size() >= 10 && looks_like_text(s)) return "text/plain";
  return nullptr;
}

}  // namespace komainu::files
