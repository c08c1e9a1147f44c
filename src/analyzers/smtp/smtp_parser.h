// SMTP text as Zeek's SMTP analyzer and base/protocols/smtp scripts read it: command and
// reply lines, BDAT arguments, and the address helpers of base/utils/email.zeek and
// addrs.zeek that fill smtp.log's mailfrom, rcptto, to, cc and path. Pure functions.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace komainu::smtp {

// A client line: the command word (upper-cased, as Zeek's smtp_request receives it) and the
// argument after the blanks that follow it.
struct Command {
  std::string verb;
  std::string_view arg;
};
Command parse_command(std::string_view line);

// One server line: "250 text", "250-text" (more lines follow) or "250".
struct Reply {
  uint32_t code = 0;
  bool cont = false;
  std::string_view msg;
};
// False when the line has no three-digit code followed by ' ', '-' or the end.
bool parse_reply(std::string_view line, Reply& out);

// "BDAT <chunk-size> [LAST]" (RFC 3030). `error` names Zeek's smtp_invalid_bdat_command addl.
struct Bdat {
  uint64_t size = 0;
  bool last = false;
  bool huge = false;  // above INT64_MAX (Zeek: smtp_huge_bdat_chunk)
  const char* error = nullptr;
};
Bdat parse_bdat(std::string_view arg);

// extract_email_addrs_vec: every address in `s` in order ("<a@b>" -> "a@b").
std::vector<std::string> extract_email_addrs(std::string_view s);
// split_mime_email_addresses: the comma-separated parts of a To/Cc header, trimmed, quoted
// display names kept (commas inside quotes do not split).
std::vector<std::string> split_mime_email_addresses(std::string_view s);
// extract_ip_addresses(s): the IPv4/IPv6 addresses in `s`, in order; with `wrapped` only
// those that stand alone or inside [], (), {} or spaces (as for Received headers).
std::vector<std::string> extract_ip_addresses(std::string_view s, bool wrapped);

}  // namespace komainu::smtp
