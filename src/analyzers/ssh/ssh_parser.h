// SSH parsing: the version banner (RFC 4253 §4.2) and the unencrypted binary packets of
// the key exchange (KEXINIT name-lists, the server's host key from the KEX reply), plus
// HASSH strings and the negotiated algorithm rule. Every read is bounds-checked.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/digest.h"

namespace komainu::ssh {

struct Banner {
  std::string line;           // "SSH-2.0-OpenSSH_5.9 comment" without CR LF
  std::string proto_version;  // "2.0"
  std::string software;       // "OpenSSH_5.9" (comments excluded)
};

// Parses "SSH-x.y-software[ comments]". False if the line is not an SSH banner.
bool parse_banner(std::string_view line, Banner& out);

struct KexInit {
  std::vector<std::string> lists[10];  // kex, hostkey, enc c2s/s2c, mac c2s/s2c, comp c2s/s2c,
                                       // lang c2s/s2c — as the raw comma-joined text below
  std::string raw[10];
};

enum KexList { kKex, kHostKey, kEncC2S, kEncS2C, kMacC2S, kMacS2C, kCompC2S, kCompS2C };

// `payload` starts after the message number (20).
bool parse_kexinit(std::span<const uint8_t> payload, KexInit& out);

// The first string (the host key blob K_S) of a KEX reply payload (after the message number).
bool kex_reply_host_key(std::span<const uint8_t> payload, std::span<const uint8_t>& key);

// The first algorithm of the client's list the server also offers, "" if none.
std::string negotiate(const std::vector<std::string>& client,
                      const std::vector<std::string>& server);

std::string hassh_string(const KexInit& k, bool server);
using digest::md5_hex;
// "SHA256:" + base64 of sha256(key), cut to 32 characters as Zeek's ssh.log has it.
std::string host_key_fingerprint(std::span<const uint8_t> key);

}  // namespace komainu::ssh
