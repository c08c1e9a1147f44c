// A streaming MIME message reader (RFC 2045/2046) as Zeek's MIME analyzer presents a message
// to its scripts: the header fields of each entity (names upper-cased, folded lines joined),
// entities nested through multipart boundaries, and each leaf entity's body decoded from
// base64 or quoted-printable, delivered in pieces. Fed one line at a time (without CRLF),
// so a mail of any size costs the current line and a few bounded fields.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace komainu::smtp {

class MimeHandler {
 public:
  virtual ~MimeHandler() = default;
  // An entity starts: the message itself, a part after a boundary, a message/* body.
  virtual void begin_entity() = 0;
  // One header field of the current entity: name upper-cased, value without its leading
  // whitespace, folded lines appended as they came.
  virtual void header(std::string_view name, std::string_view value) = 0;
  // Decoded body bytes of the current leaf entity.
  virtual void body(std::span<const uint8_t> data) = 0;
  virtual void end_entity() = 0;
  // A named anomaly (Zeek weird name) with its addl text.
  virtual void anomaly(const char* name, std::string addl) = 0;
};

struct MimeLimits {
  size_t max_header_bytes = 65536;  // MIME::max_header_bytes
  size_t max_depth = 100;           // MIME::max_depth
};

class MimeMessage {
 public:
  MimeMessage(MimeHandler& h, const MimeLimits& limits = {});
  // One line of the message, without its line end.
  void line(std::string_view l);
  // The message ended (end of DATA, last BDAT chunk, a gap, or the connection closed).
  void finish();

 private:
  enum class Kind : uint8_t { kLeaf, kMultipart, kMessage };
  enum class Encoding : uint8_t { kNone, kBase64, kQuotedPrintable };
  struct Entity {
    Kind kind = Kind::kLeaf;
    bool in_headers = true;
    bool parent_multipart = false;
    bool delay_crlf = false;  // a line of a part: its CRLF only if another line follows
    Encoding encoding = Encoding::kNone;
    std::string boundary;
    uint32_t b64_bits = 0;  // base64 group being assembled
    int b64_n = 0, b64_pad = 0;
    bool b64_done = false;  // a padded group was seen (later groups are a weird)
  };
  void begin(bool parent_multipart);
  void end_from(size_t i);  // ends entities i.. (innermost first)
  void deliver(size_t i, std::string_view l);
  void header_line(Entity& e, std::string_view l);
  void flush_header(Entity& e);
  void end_headers(size_t i);
  void leaf_line(Entity& e, std::string_view l);
  void base64(Entity& e, std::string_view l);
  void base64_end(Entity& e);
  void b64_error(std::string addl);
  void flush();

  MimeHandler& h_;
  MimeLimits limits_;
  std::vector<Entity> stack_;
  std::string header_;  // the field being folded
  bool have_header_ = false;
  bool finished_ = false;
  bool b64_error_reported_ = false;  // only a decoder's first error is a weird
  std::string out_;                  // decoded bytes of the current line
};

}  // namespace komainu::smtp
