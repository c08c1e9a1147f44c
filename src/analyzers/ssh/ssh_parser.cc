#include "analyzers/ssh/ssh_parser.h"

#include <openssl/evp.h>

#include "core/cursor.h"

namespace komainu::ssh {

bool parse_banner(std::string_view line, Banner& out) {
  if (line.size() < 8 || line.substr(0, 4) != "SSH-") return false;
  size_t dash = line.find('-', 4);
  if (dash == std::string_view::npos || dash == 4) return false;
  out.line.assign(line);
  out.proto_version.assign(line.substr(4, dash - 4));
  std::string_view sw = line.substr(dash + 1);
  size_t sp = sw.find(' ');
  out.software.assign(sw.substr(0, sp));
  return true;
}

namespace {
std::vector<std::string> split(std::string_view s) {
  std::vector<std::string> v;
  size_t start = 0;
  while (start <= s.size() && !s.empty()) {
    size_t c = s.find(',', start);
    v.emplace_back(
        s.substr(start, c == std::string_view::npos ? std::string_view::npos : c - start));
    if (c == std::string_view::npos) break;
    start = c + 1;
  }
  return v;
}
}  // namespace

bool parse_kexinit(std::span<const uint8_t> payload, KexInit& out) {
  Cursor c(payload);
  if (!c.skip(16)) return false;  // cookie
  for (int i = 0; i < 10; ++i) {
    uint32_t len;
    std::string_view s;
    if (!c.be32(len) || !c.str(len, s)) return false;
    out.raw[i].assign(s);
    out.lists[i] = split(s);
  }
  return true;
}

bool kex_reply_host_key(std::span<const uint8_t> payload, std::span<const uint8_t>& key) {
  Cursor c(payload);
  uint32_t len;
  return c.be32(len) && c.bytes(len, key);
}

std::string negotiate(const std::vector<std::string>& client,
                      const std::vector<std::string>& server) {
  for (const auto& a : client)
    for (const auto& b : server)
      if (a == b) return a;
  return {};
}

std::string hassh_string(const KexInit& k, bool server) {
  return k.raw[kKex] + ";" + k.raw[server ? kEncS2C : kEncC2S] + ";" +
         k.raw[server ? kMacS2C : kMacC2S] + ";" + k.raw[server ? kCompS2C : kCompC2S];
}

std::string host_key_fingerprint(std::span<const uint8_t> key) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(key.data(), key.size(), md, &len, digest::sha256(), nullptr);
  unsigned char b64[128];
  int n = EVP_EncodeBlock(b64, md, int(len));
  std::string s(reinterpret_cast<char*>(b64), size_t(n));
  while (!s.empty() && s.back() == '=') s.pop_back();
  // Zeek's ssh.log keeps the first 32 base64 characters; ssh-keygen prints all 43.
  return "SHA256:" + s.substr(0, 32);
}

}  // namespace komainu::ssh
