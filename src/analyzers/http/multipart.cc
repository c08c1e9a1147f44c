#include "analyzers/http/multipart.h"

#include "core/ascii.h"

namespace komainu::http {
namespace {

// The value of `name=` in a header's parameters (quoted or not), "" if absent.
std::string param(std::string_view v, std::string_view name) {
  for (size_t i = 0; i + name.size() < v.size(); ++i) {
    if (i > 0 && v[i - 1] != ';' && v[i - 1] != ' ' && v[i - 1] != '\t') continue;
    if (!ascii_istarts_with(v.substr(i), name) || v[i + name.size()] != '=') continue;
    std::string_view rest = v.substr(i + name.size() + 1);
    if (!rest.empty() && rest[0] == '"') {
      size_t q = rest.find('"', 1);
      return std::string(rest.substr(1, q == std::string_view::npos ? rest.npos : q - 1));
    }
    size_t e = rest.find_first_of("; \t\r");
    return std::string(rest.substr(0, e));
  }
  return {};
}

}  // namespace

std::string MultipartSplitter::boundary_of(std::string_view ct) {
  size_t i = 0;
  while (i < ct.size() && (ct[i] == ' ' || ct[i] == '\t')) ++i;
  if (!ascii_istarts_with(ct.substr(i), "multipart/")) return {};
  std::string b = param(ct, "boundary");
  if (b.size() > 200) b.clear();  // RFC 2046 allows 70
  return b;
}

bool MultipartSplitter::is_message(std::string_view ct) {
  size_t i = 0;
  while (i < ct.size() && (ct[i] == ' ' || ct[i] == '\t')) ++i;
  return ascii_istarts_with(ct.substr(i), "message/rfc822");
}

void MultipartSplitter::reset_message() {
  stack_.clear();
  buf_.clear();
  in_part_ = false;
  messages_ = 0;
  state_ = State::kHeaders;
  part_filename_.clear();
  part_boundary_.clear();
  part_message_ = false;
  header_bytes_ = 0;
}

void MultipartSplitter::reset(std::string_view boundary) {
  messages_ = 0;
  stack_.clear();
  buf_.clear();
  in_part_ = false;
  state_ = boundary.empty() ? State::kIdle : State::kPreamble;
  if (!boundary.empty()) stack_.emplace_back(boundary);
}

void MultipartSplitter::end_headers(MultipartEvents& ev) {
  if (!part_boundary_.empty() && stack_.size() < kMaxDepth) {
    stack_.push_back(part_boundary_);
    state_ = State::kPreamble;
    return;
  }
  if (part_message_ && messages_ < kMaxDepth) {
    ++messages_;
    part_filename_.clear();
    part_message_ = false;
    header_bytes_ = 0;
    state_ = State::kHeaders;
    return;
  }
  ev.part_begin(part_filename_);
  in_part_ = true;
  state_ = State::kBody;
}

void MultipartSplitter::feed(std::span<const uint8_t> data, MultipartEvents& ev) {
  if (state_ == State::kIdle || state_ == State::kDone) return;
  buf_.append(reinterpret_cast<const char*>(data.data()), data.size());
  size_t pos = 0;
  while (pos < buf_.size() && state_ != State::kDone) {
    std::string_view b(buf_);
    if (state_ == State::kPreamble) {
      const std::string delim = "--" + stack_.back();
      size_t i = b.find(delim, pos);
      while (i != std::string_view::npos && i > 0 && b[i - 1] != '\n') i = b.find(delim, i + 1);
      if (i == std::string_view::npos) {
        // Keep what could be the start of a delimiter.
        if (b.size() - pos > delim.size()) pos = b.size() - delim.size();
        break;
      }
      size_t nl = b.find('\n', i);
      if (nl == std::string_view::npos) {
        pos = i;
        break;
      }
      if (b.substr(i + delim.size(), 2) == "--") {
        stack_.pop_back();
        if (stack_.empty()) state_ = State::kDone;
      } else {
        state_ = State::kHeaders;
        part_filename_.clear();
        part_boundary_.clear();
        part_message_ = false;
        header_bytes_ = 0;
      }
      pos = nl + 1;
    } else if (state_ == State::kHeaders) {
      size_t nl = b.find('\n', pos);
      if (nl == std::string_view::npos) {
        if (b.size() - pos > kMaxHeaderBytes) state_ = State::kDone;
        break;
      }
      std::string_view line = b.substr(pos, nl - pos);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      header_bytes_ += line.size();
      pos = nl + 1;
      if (header_bytes_ > kMaxHeaderBytes) {
        state_ = State::kDone;
      } else if (line.empty()) {
        end_headers(ev);
      } else if (ascii_istarts_with(line, "content-disposition:")) {
        part_filename_ = param(line, "filename");
      } else if (ascii_istarts_with(line, "content-type:")) {
        part_boundary_ = boundary_of(line.substr(13));
        part_message_ = is_message(line.substr(13));
      }
    } else if (stack_.empty()) {  // a message body outside any multipart: all data
      ev.part_data({reinterpret_cast<const uint8_t*>(b.data() + pos), b.size() - pos});
      pos = b.size();
    } else {  // kBody: data up to the next "\r\n--<any open boundary>"
      size_t search = pos;
      size_t emit_end = b.size();
      bool matched = false;
      size_t level = 0, after = 0;
      bool need_more = false;
      while (true) {
        size_t i = b.find("\r\n--", search);
        if (i == std::string_view::npos) {
          // A partial "\r\n-" at the end may start a delimiter.
          size_t keep = std::min<size_t>(3, b.size() - pos);
          emit_end = b.size() - keep;
          break;
        }
        for (size_t l = stack_.size(); l-- > 0;) {
          const std::string& bd = stack_[l];
          if (b.size() < i + 4 + bd.size()) {
            need_more = true;
            continue;
          }
          if (b.compare(i + 4, bd.size(), bd) == 0) {
            matched = true;
            level = l;
            after = i + 4 + bd.size();
            break;
          }
        }
        if (matched || need_more) {
          emit_end = i;
          break;
        }
        search = i + 1;
      }
      if (emit_end > pos) {
        ev.part_data({reinterpret_cast<const uint8_t*>(b.data() + pos), emit_end - pos});
        pos = emit_end;
      }
      if (!matched) break;
      size_t nl = b.find('\n', after);
      if (nl == std::string_view::npos) break;  // wait for the delimiter line
      if (in_part_) ev.part_end(true);
      in_part_ = false;
      stack_.resize(level + 1);
      if (b.substr(after, 2) == "--") {
        stack_.pop_back();
        state_ = stack_.empty() ? State::kDone : State::kPreamble;
      } else {
        state_ = State::kHeaders;
        part_filename_.clear();
        part_boundary_.clear();
        part_message_ = false;
        header_bytes_ = 0;
      }
      pos = nl + 1;
    }
  }
  buf_.erase(0, pos);
  if (state_ == State::kDone) buf_.clear();
}

void MultipartSplitter::finish(MultipartEvents& ev, bool complete) {
  if (in_part_) {
    // The last part's data may still sit in the carry (no closing delimiter seen).
    if (!buf_.empty() && state_ == State::kBody)
      ev.part_data({reinterpret_cast<const uint8_t*>(buf_.data()), buf_.size()});
    // A part cut by the end of a multipart body lacks its delimiter: incomplete.
    ev.part_end(complete && stack_.empty());
  }
  in_part_ = false;
  buf_.clear();
  stack_.clear();
  state_ = State::kIdle;
}

}  // namespace komainu::http
