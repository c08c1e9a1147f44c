#include "output/zeek_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

namespace komainu {

std::string format_zeek_log_time(TimeNs t) {
  time_t tt = static_cast<time_t>(t / kNsPerSec);
  struct tm tm;
  gmtime_r(&tt, &tm);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%d-%H-%M-%S", &tm);
  return buf;
}

namespace {

constexpr uint64_t kOnes = 0x0101010101010101ull;
constexpr uint64_t kHighs = 0x8080808080808080ull;

// Whether one of the 8 bytes in `x` is escaped in TSV (below 0x20, above 0x7e, '\\', and ','
// in sets): runs are scanned eight bytes per step (each test is exact, see "Bit Twiddling
// Hacks": determine if a word has a byte less than / greater than / equal to n).
inline bool word_needs_escape(uint64_t x, bool in_set) {
  const uint64_t backslash = x ^ (kOnes * '\\');
  uint64_t hit = ((x - kOnes * 0x20) & ~x) | (x + kOnes) | x | ((backslash - kOnes) & ~backslash);
  if (in_set) {
    const uint64_t comma = x ^ (kOnes * ',');
    hit |= (comma - kOnes) & ~comma;
  }
  return (hit & kHighs) != 0;
}

}  // namespace

ZeekLogWriter::~ZeekLogWriter() {
  drain_threads();
  close_all(0, false);
}

void ZeekLogWriter::escape_tsv(std::string& out, std::string_view s, bool in_set) {
  static const char* hex = "0123456789abcdef";
  if (s == "-") {  // would read as unset
    out.append("\\x2d");
    return;
  }
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  auto plain = [in_set](unsigned char c) {
    return c >= 0x20 && c < 0x7f && c != '\\' && !(in_set && c == ',');
  };
  for (size_t i = 0; i < n;) {
    if (plain(p[i])) {
      // Copy the whole run of plain characters at once (most values are one run).
      size_t j = i + 1;
      for (uint64_t x; j + 8 <= n; j += 8) {
        memcpy(&x, p + j, 8);
        if (word_needs_escape(x, in_set)) break;
      }
      while (j < n && plain(p[j])) ++j;
      out.append(reinterpret_cast<const char*>(p + i), j - i);
      i = j;
      continue;
    }
    unsigned char c = p[i++];
    if (c == '\\') {
      out.append("\\\\");
    } else {
      out.append("\\x");
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
}

void ZeekLogWriter::render_tsv(const ZeekRow& row, std::string& out) {
  for (size_t i = 0; i < row.size(); ++i) {
    if (i) out.push_back('\t');
    const auto& v = row.at(i);
    if (!v.set) {
      out.push_back('-');
    } else if (v.container) {
      if (v.items.empty()) {
        out.append("(empty)");
      } else {
        for (size_t k = 0; k < v.items.size(); ++k) {
          if (k) out.push_back(',');
          escape_tsv(out, v.items[k], true);
        }
      }
    } else if (v.is_string && v.text.empty()) {
      out.append("(empty)");
    } else if (v.is_string) {
      escape_tsv(out, v.text, false);
    } else {
      out.append(v.text);
    }
  }
}

void ZeekLogWriter::render_json(const ZeekRow& row, std::string& out) {
  JsonWriter w(out);
  w.begin_object();
  const auto& fields = row.schema()->fields;
  for (size_t i = 0; i < row.size() && i < fields.size(); ++i) {
    const auto& v = row.at(i);
    if (!v.set) continue;  // Zeek's JSON omits unset fields
    w.key(fields[i].name);
    if (v.container) {
      w.begin_array();
      for (const auto& item : v.items) {
        if (v.is_string) {
          w.value(item);
        } else {
          w.raw(item);
        }
      }
      w.end_array();
    } else if (fields[i].type == ZeekType::kBool) {
      w.value(v.text == "T");
    } else if (v.is_string) {
      w.value(v.text);
    } else {
      w.raw(v.text);
    }
  }
  w.end_object();
}

ZeekLogWriter::Log* ZeekLogWriter::log_for(const ZeekSchema& s, TimeNs ts) {
  for (const auto& [schema, log] : by_schema_)
    if (schema == &s) return log;
  auto it = logs_.find(s.path);
  if (it != logs_.end()) {
    by_schema_.emplace_back(&s, &it->second);
    return &it->second;
  }
  Log& log = logs_[s.path];
  by_schema_.emplace_back(&s, &log);
  std::string path = dir_ + "/" + s.path + ".log";
  log.fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (log.fd < 0) {
    error_ = path + ": " + strerror(errno);
    return &log;
  }
  log.buf.reserve(AsyncFileWriter::kChunk + 4096);
  if (json_) return &log;
  std::string h = "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n";
  h += "#path\t" + std::string(s.path) + "\n#open\t" + format_zeek_log_time(ts) + "\n#fields";
  for (const auto& f : s.fields) h += std::string("\t") + f.name;
  h += "\n#types";
  for (const auto& f : s.fields) h += std::string("\t") + zeek_type_name(f.type);
  h += "\n";
  log.buf.append(h);
  return &log;
}

void ZeekLogWriter::render_line(const Record& r, const ZeekSchema* schema, ZeekRow& row,
                                std::string& out) const {
  row.reset(schema);
  r.write_zeek(row);
  if (json_) {
    render_json(row, out);
  } else {
    render_tsv(row, out);
  }
  out.push_back('\n');
}

void ZeekLogWriter::publish(const Record& r) {
  const ZeekSchema* schema = r.zeek_schema();
  if (!schema) return;
  if (concurrent_) {
    thread_local ZeekRow row;
    ThreadBuffers::Slot& s = threads_.mine();
    std::lock_guard lock(s.mu);
    ThreadBuffers::Stream* st = s.find(schema);
    if (!st) {
      std::lock_guard writer(mu_);
      Log* opened = log_for(*schema, r.ts);
      // The header goes out before any thread's rows can.
      if (opened->fd >= 0) out_.write(opened->fd, opened->buf);
      st = &s.add(schema, opened);
    }
    const Log* log = static_cast<const Log*>(st->value);
    if (log->fd < 0) return;
    render_line(r, schema, row, st->buf);
    ++s.lines;
    if (st->buf.size() >= AsyncFileWriter::kChunk) {
      std::lock_guard writer(mu_);
      out_.write(log->fd, st->buf);
    }
    return;
  }
  Log* log = log_for(*schema, r.ts);
  if (log->fd < 0) return;
  render_line(r, schema, row_, log->buf);
  if (log->buf.size() >= AsyncFileWriter::kChunk) out_.write(log->fd, log->buf);
}

void ZeekLogWriter::drain_threads() {
  threads_.drain([this](void* value, std::string& buf) {
    Log* log = static_cast<Log*>(value);
    std::lock_guard writer(mu_);
    if (log->fd >= 0) {
      out_.write(log->fd, buf);
    } else {
      buf.clear();
    }
  });
}

void ZeekLogWriter::flush() {
  drain_threads();
  std::lock_guard lock(mu_);
  for (auto& [path, log] : logs_)
    if (log.fd >= 0) out_.write(log.fd, log.buf);
  out_.drain();
}

void ZeekLogWriter::close(TimeNs now) {
  drain_threads();
  std::lock_guard lock(mu_);
  close_all(now, !json_);
  if (error_.empty() && out_.errors()) error_ = "writing Zeek logs: " + out_.first_error();
}

void ZeekLogWriter::close_all(TimeNs now, bool footer) {
  for (auto& [path, log] : logs_) {
    if (log.fd < 0) continue;
    if (footer) log.buf += "#close\t" + format_zeek_log_time(now) + "\n";
    out_.write(log.fd, log.buf);
  }
  out_.drain();
  for (auto& [path, log] : logs_) {
    if (log.fd >= 0) ::close(log.fd);
    log.fd = -1;
  }
}

}  // namespace komainu
