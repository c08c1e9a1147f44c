// multipart/* bodies (form uploads, MIME): splits a decoded body into parts, fed in any
// chunking, nested multiparts included (bounded depth), so each leaf part can become its
// own file as Zeek logs them. Buffered bytes are bounded by the longest delimiter and the
// part-header limit.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace komainu::http {

class MultipartEvents {
 public:
  virtual ~MultipartEvents() = default;
  // A leaf part starts; `filename` from its Content-Disposition ("" if none).
  virtual void part_begin(std::string_view filename) = 0;
  virtual void part_data(std::span<const uint8_t> data) = 0;
  // The part ended at its delimiter (complete) or with the body (incomplete).
  virtual void part_end(bool complete) = 0;
};

class MultipartSplitter {
 public:
  // Nesting bound; 14 reproduces where Zeek stops descending (deeply-nested-mime trace).
  static constexpr size_t kMaxDepth = 14;
  static constexpr size_t kMaxHeaderBytes = 16 * 1024;

  // Starts a body with this boundary (from the Content-Type's boundary parameter).
  void reset(std::string_view boundary);
  // Starts a message/rfc822 body: an entity with its own headers.
  void reset_message();
  bool active() const { return state_ != State::kIdle; }
  void feed(std::span<const uint8_t> data, MultipartEvents& ev);
  // End of the body: an open part ends (complete if the body was).
  void finish(MultipartEvents& ev, bool complete);
  // The boundary parameter of a Content-Type value, "" if not multipart.
  static std::string boundary_of(std::string_view content_type);
  static bool is_message(std::string_view content_type);

 private:
  enum class State : uint8_t { kIdle, kPreamble, kHeaders, kBody, kDone };
  void end_headers(MultipartEvents& ev);

  State state_ = State::kIdle;
  std::vector<std::string> stack_;  // boundaries, outermost first
  std::string buf_;
  std::string part_filename_;
  std::string part_boundary_;  // a nested multipart declared by the current part's headers
  bool part_message_ = false;  // the part is message/rfc822: another entity follows
  size_t messages_ = 0;        // nested message/rfc822 entities (bounded like depth)
  size_t header_bytes_ = 0;
  bool in_part_ = false;
};

}  // namespace komainu::http
