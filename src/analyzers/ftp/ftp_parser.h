// FTP control-channel text, as Zeek's FTP analyzer and base/protocols/ftp scripts read it:
// request and reply lines, multi-line replies, PORT/EPRT/PASV/EPSV endpoints, and the path
// and number helpers Zeek's scripts use to build ftp.log's `arg` URLs and `file_size`.
// Pure functions over string_views: no allocation beyond the strings they return.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include "core/addr.h"

namespace komainu::ftp {

// A client line: the first word (upper-cased) and the rest after the whitespace following it.
struct Request {
  std::string command;
  std::string_view arg;
};
enum class RequestStatus : uint8_t { kOk, kInvalid, kTooLong };
// Zeek's rules: leading whitespace skipped, the command is >= 3 printable, non-space bytes
// and at most `max_command_length` (0: no limit).
RequestStatus parse_request(std::string_view line, size_t max_command_length, Request& out);

// The reply-line state machine of one server direction (multi-line "123-" ... "123 ").
class ReplyParser {
 public:
  enum class Status : uint8_t {
    kReply,         // a self-contained reply or the last line of a multi-line one
    kContinuation,  // an intermediate line of a multi-line reply (code 0, cont = true)
    kFirstOfMany,   // "123-..." (code set, cont = true)
    kNonNumeric,    // not a reply (Zeek: analyzer violation "non-numeric reply code")
    kInvalidCode,   // code < 100
    kNoSpace,       // "123x...": no space after the code (Zeek: "invalid reply line")
  };
  struct Line {
    uint32_t code = 0;
    bool cont = false;
    std::string_view msg;
  };
  Status parse(std::string_view line, Line& out);

 private:
  uint32_t pending_ = 0;
};

// PORT "h1,h2,h3,h4,p1,p2" (also the numbers of a 227 reply).
struct Endpoint {
  IpAddr h;
  uint16_t p = 0;
  bool valid = false;
};
Endpoint parse_port(std::string_view s);
// EPRT "|proto|addr|port|" (any delimiter); unspecified address = "::".
Endpoint parse_eprt(std::string_view s);
// 227 "Entering Passive Mode (h1,h2,h3,h4,p1,p2)".
Endpoint parse_pasv(std::string_view msg);
// 229 "Entering Extended Passive Mode (|||port|)".
Endpoint parse_epsv(std::string_view msg);

// Zeek's compress_path: drops "." and empty components, resolves "..", keeps a leading "./".
std::string compress_path(std::string_view path);
// build_path + compress_path: `file` alone when absolute (or dir empty), else dir/file.
std::string build_path_compressed(std::string_view dir, std::string_view file);
// The first absolute path in a reply (quoted first), as a 257 reply to PWD carries it.
std::string extract_path(std::string_view msg);
// The last decimal number in `s` (0 if none): the size in "150 ... (1234 bytes)".
uint64_t extract_last_count(std::string_view s);

}  // namespace komainu::ftp
