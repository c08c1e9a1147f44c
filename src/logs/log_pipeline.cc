#include "logs/log_pipeline.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>

#include "logs/model/csv.h"
#include "logs/model/text_util.h"

namespace komainu::logs {
namespace {

constexpr size_t kChunk = 8u << 20;        // streaming read size for line-framed files
constexpr size_t kMaxRecord = 64u << 20;   // a longer line is malformed, never buffered whole
constexpr size_t kMaxWholeDoc = 1u << 30;  // JSON arrays / CSV are read whole up to this
constexpr size_t kMaxSamples = 20;

bool is_pcap_magic(const unsigned char* b, size_t n) {
  if (n < 4) return false;
  uint32_t m;
  memcpy(&m, b, 4);
  return m == 0xa1b2c3d4 || m == 0xd4c3b2a1 || m == 0xa1b23c4d || m == 0x4d3cb2a1 ||
         m == 0x0a0d0d0a;
}

bool read_head(const std::string& path, std::string& out, size_t max) {
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return false;
  out.resize(max);
  ssize_t n = ::read(fd, out.data(), max);
  ::close(fd);
  if (n < 0) return false;
  out.resize(size_t(n));
  return true;
}

bool mostly_text(std::string_view s) {
  size_t bad = 0;
  for (unsigned char c : s)
    if (c < 0x09 || (c > 0x0d && c < 0x20)) ++bad;
  return bad * 100 <= s.size();
}

std::string_view first_line(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && (s[i] == '\n' || s[i] == '\r' || s[i] == ' ')) ++i;
  size_t e = s.find('\n', i);
  return trim(s.substr(i, e == std::string_view::npos ? s.size() - i : e - i));
}

// Top-level JSON values of an array starting at text[open] == '['; records their spans.
// Strings and nesting are respected; returns false if the array is not closed.
bool split_json_array(std::string_view t, size_t open,
                      std::vector<std::pair<size_t, size_t>>& spans) {
  int depth = 0;
  bool in_str = false;
  size_t start = std::string_view::npos;
  for (size_t i = open; i < t.size(); ++i) {
    char c = t[i];
    if (in_str) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_str = false;
      continue;
    }
    switch (c) {
      case '"':
        in_str = true;
        if (depth == 1 && start == std::string_view::npos) start = i;
        break;
      case '{':
      case '[':
        ++depth;
        if (depth == 2 && start == std::string_view::npos) start = i;
        break;
      case '}':
      case ']':
        --depth;
        if (depth == 0) {
          if (start != std::string_view::npos) spans.emplace_back(start, i);
          return true;
        }
        break;
      case ',':
        if (depth == 1 && start != std::string_view::npos) {
          spans.emplace_back(start, i);
          start = std::string_view::npos;
        }
        break;
      case ' ':
      case '\n':
      case '\r':
      case '\t':
        break;
      default:
        if (depth == 1 && start == std::string_view::npos) start = i;
    }
  }
  return false;
}

// Where the records array of a wrapper object starts: OData {"value": [...]}.
size_t find_records_array(std::string_view t) {
  size_t p = 0;
  while (p < t.size() && t[p] != '{' && t[p] != '[') ++p;
  if (p >= t.size()) return std::string_view::npos;
  if (t[p] == '[') return p;
  int depth = 0;
  bool in_str = false;
  size_t str_start = 0;
  for (size_t i = p; i < t.size(); ++i) {
    char c = t[i];
    if (in_str) {
      if (c == '\\')
        ++i;
      else if (c == '"') {
        in_str = false;
        if (depth == 1 && t.substr(str_start, i - str_start) == "value") {
          size_t j = i + 1;
          while (j < t.size() &&
                 (t[j] == ' ' || t[j] == '\n' || t[j] == '\r' || t[j] == '\t' || t[j] == ':'))
            ++j;
          if (j < t.size() && t[j] == '[') return j;
        }
      }
      continue;
    }
    if (c == '"') {
      in_str = true;
      str_start = i + 1;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return std::string_view::npos;
}

uint64_t line_at(std::string_view t, size_t off, size_t& cursor, uint64_t& line) {
  for (; cursor < off && cursor < t.size(); ++cursor)
    if (t[cursor] == '\n') ++line;
  return line;
}

const LogSourceApi* choose_source(const std::vector<std::string_view>& samples) {
  const LogSourceApi* best = nullptr;
  int best_score = 0;
  for (const LogSourceApi* api : LogSourceRegistry::sorted()) {
    int score = 0;
    for (auto s : samples) score += api->sniff(s);
    if (score > best_score) {
      best_score = score;
      best = api;
    }
  }
  return best;
}

enum class Layout { kLines, kJsonLines, kJsonDoc, kCsv, kUnknown };

Layout layout_of(std::string_view head) {
  std::string_view l = first_line(head);
  if (l.empty()) return Layout::kUnknown;
  if (l.front() == '{') {
    // One complete object on the first line: JSON lines; otherwise a pretty document. An
    // OData page ({"@odata.context":..., "value": [...]}) is a document even on one line.
    if (l.find("\"@odata.") != std::string_view::npos) return Layout::kJsonDoc;
    simdjson::dom::parser p;
    return p.parse(std::string(l)).error() ? Layout::kJsonDoc : Layout::kJsonLines;
  }
  if (l.front() == '[') return Layout::kJsonDoc;
  if (looks_like_csv_header(l)) return Layout::kCsv;
  return Layout::kLines;
}

// Samples for sniffing from the head of a file of the given layout.
std::vector<std::string> sample_records(std::string_view head, Layout layout) {
  std::vector<std::string> out;
  if (layout == Layout::kJsonDoc) {
    size_t a = find_records_array(head);
    std::vector<std::pair<size_t, size_t>> spans;
    if (a != std::string_view::npos) split_json_array(head, a, spans);
    for (size_t i = 0; i < spans.size() && i < 5; ++i)
      out.emplace_back(head.substr(spans[i].first, spans[i].second - spans[i].first));
    if (out.empty()) out.emplace_back(head);  // a single pretty object, or a truncated head
    return out;
  }
  if (layout == Layout::kCsv) {
    CsvReader r(head);
    std::vector<std::string> row, hdr;
    uint64_t line;
    bool ok;
    if (!r.next(hdr, &line, &ok)) return out;
    CsvToJson conv(hdr);
    while (out.size() < 3 && r.next(row, &line, &ok) && ok) {
      std::string j;
      conv.render(row, j);
      out.push_back(std::move(j));
    }
    return out;
  }
  size_t p = 0;
  while (p < head.size() && out.size() < 5) {
    size_t e = head.find('\n', p);
    if (e == std::string_view::npos) e = head.size();
    std::string_view l = trim(head.substr(p, e - p));
    if (!l.empty()) out.emplace_back(l);
    p = e + 1;
  }
  return out;
}

}  // namespace

LogPipeline::LogPipeline(const LogOptions& opts, EventSink& sink)
    : opts_(opts), sink_(sink), ctx_(sink, watchlists_) {}

LogPipeline::~LogPipeline() = default;

bool LogPipeline::load(std::string* error) {
  YAML::Node config;
  if (!opts_.config_file.empty()) {
    try {
      config = YAML::LoadFile(opts_.config_file);
    } catch (const YAML::Exception& e) {
      if (error) *error = opts_.config_file + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg;
      return false;
    }
  }
  for (const auto& [name, file] : opts_.watchlists)
    if (!watchlists_.load(name, file, error)) return false;
  YAML::Node det_cfg = config ? config["identity"] : YAML::Node();
  try {
    ctx_.set_max_accounts(size_t(
        setting_int(det_cfg, "max_accounts", int64_t(DetectorContext::kDefaultMaxAccounts))));
  } catch (const YAML::Exception& e) {
    if (error)
      *error = opts_.config_file + ":" + std::to_string(e.mark.line + 1) +
               ": identity.max_accounts: " + e.msg;
    return false;
  }
  for (const IdentityDetectorApi* api : DetectorRegistry::sorted()) {
    YAML::Node s = det_cfg && det_cfg.IsMap() ? det_cfg[std::string(api->name)] : YAML::Node();
    try {
      if (s && s.IsMap() && s["enabled"] && !s["enabled"].as<bool>()) continue;
      detectors_.emplace_back(api, api->make(s));
    } catch (const YAML::Exception& e) {
      if (error)
        *error = opts_.config_file + ":" + std::to_string(e.mark.line + 1) + ": identity." +
                 std::string(api->name) + ": " + e.msg;
      return false;
    }
  }
  SigmaLoadOptions so;
  if (config && config["sigma"]) so.config = config["sigma"];
  if (!sigma_.configure(so, error)) return false;
  for (const auto& p : opts_.sigma_paths) sigma_.load_path(p);
  return true;
}

bool LogPipeline::looks_like_log(const std::string& path) {
  std::string head;
  if (!read_head(path, head, 64 * 1024) || head.empty()) return false;
  if (is_pcap_magic(reinterpret_cast<const unsigned char*>(head.data()), head.size())) return false;
  if (!mostly_text(head)) return false;
  return !detect_kind(path).empty();
}

std::string LogPipeline::detect_kind(const std::string& path) {
  std::string head;
  if (!read_head(path, head, 256 * 1024)) return "";
  Layout layout = layout_of(head);
  if (layout == Layout::kUnknown) return "";
  auto samples = sample_records(head, layout);
  std::vector<std::string_view> views(samples.begin(), samples.end());
  const LogSourceApi* api = choose_source(views);
  return api ? std::string(api->name) : "";
}

void LogPipeline::malformed(LogFileStats& fs, uint64_t line, const char* reason) {
  ++fs.read;
  ++fs.malformed;
  ++read_;
  ++malformed_;
  malformed_by_reason_.count(malformed_by_reason_.intern(reason));
  if (malformed_samples_.size() < kMaxSamples)
    malformed_samples_.push_back(fs.path + ":" + std::to_string(line) + ": " + reason);
}

void LogPipeline::record(LogFileStats& fs, LogParser& p, std::string_view rec, uint64_t line) {
  ev_.clear();
  const char* reason = "unparsed";
  if (!p.parse(rec, ev_, &reason)) {
    malformed(fs, line, reason);
    return;
  }
  ++fs.read;
  ++fs.parsed;
  ++read_;
  ++parsed_;
  ev_.raw = rec;
  ev_.line = line;
  on_event(ev_);
}

void LogPipeline::on_event(const LogEvent& ev) {
  ++by_class_[size_t(ev.cls) & 15];
  if (ev.time_inferred) ++time_inferred_;
  if (tap_) tap_(ev);
  sigma_.on_event(ev, sink_);
  for (auto& [api, d] : detectors_) d->on_event(ev, ctx_);
}

void LogPipeline::line_record(LogFileStats& fs, LogParser& parser, std::string_view rec,
                              uint64_t line) {
  while (!rec.empty() && (rec.back() == '\r' || rec.back() == ' ')) rec.remove_suffix(1);
  size_t lead = 0;
  while (lead < rec.size() && (rec[lead] == ' ' || rec[lead] == '\t')) ++lead;
  rec.remove_prefix(lead);
  if (rec.empty()) {
    ++blank_;
  } else {
    record(fs, parser, rec, line);
  }
}

// Streams a line-framed file through a buffer (pipes and other files that cannot be mapped).
void LogPipeline::read_lines(int fd, LogFileStats& fs, LogParser& parser, uint64_t& line) {
  std::string buf;
  buf.resize(kChunk + simdjson::SIMDJSON_PADDING);
  size_t have = 0;
  bool eof = false, skipping = false;
  while (!eof) {
    if (have + kChunk / 2 > buf.size() - simdjson::SIMDJSON_PADDING) {
      if (buf.size() - simdjson::SIMDJSON_PADDING >= kMaxRecord) {
        // A record longer than the cap: count it, drop bytes up to its newline.
        malformed(fs, line, "record_too_long");
        have = 0;
        skipping = true;
      } else {
        buf.resize((buf.size() - simdjson::SIMDJSON_PADDING) * 2 + simdjson::SIMDJSON_PADDING);
      }
    }
    ssize_t n = ::read(fd, buf.data() + have, buf.size() - simdjson::SIMDJSON_PADDING - have);
    if (n <= 0) {
      eof = true;
      if (have == 0) break;
      buf[have++] = '\n';  // last line without newline
    } else {
      have += size_t(n);
    }
    std::string_view data(buf.data(), have);
    size_t p = 0;
    if (skipping) {
      size_t e = data.find('\n');
      if (e == std::string_view::npos) {
        have = 0;
        continue;
      }
      p = e + 1;
      ++line;
      skipping = false;
    }
    while (true) {
      const char* nl = static_cast<const char*>(memchr(data.data() + p, '\n', data.size() - p));
      if (!nl) break;
      size_t e = size_t(nl - data.data());
      line_record(fs, parser, data.substr(p, e - p), line++);
      p = e + 1;
    }
    memmove(buf.data(), buf.data() + p, have - p);
    have -= p;
  }
}

// Regular files are mapped a window at a time: records are parsed where the page cache
// holds them, with no copy into a buffer (the kernel copy was ~5% of the log path), and
// the window slides so RSS stays bounded. A record is parsed in place when the simdjson
// padding after it lies inside the window; the last records of the file, whose padding
// would fall past the end, are copied into a padded buffer. The size is re-checked before
// each window, so a file truncated while it is read ends the read there (counted) instead
// of faulting. Returns false, having read nothing, when the file cannot be mapped.
bool LogPipeline::map_lines(int fd, uint64_t size, LogFileStats& fs, LogParser& parser,
                            uint64_t& line) {
  constexpr size_t kPad = simdjson::SIMDJSON_PADDING;
  const uint64_t page = uint64_t(sysconf(_SC_PAGESIZE));
  uint64_t pos = 0;  // file offset of the next record
  size_t window = kChunk;
  bool skipping = false;  // inside a record longer than kMaxRecord: drop up to its newline
  std::string tail;
  while (pos < size) {
    const uint64_t start = pos - pos % page;
    // A file cut shorter since it was opened (copytruncate rotation) would fault in a
    // mapping past its new end: map no further than its size now. (The race left is the
    // time one window takes to parse.)
    if (struct stat st; fstat(fd, &st) == 0 && uint64_t(st.st_size) < size) {
      size = uint64_t(st.st_size);
      malformed(fs, line, "file_truncated_while_read");
      if (pos >= size) break;
    }
    const size_t len = size_t(std::min<uint64_t>(window, size - start));
    void* m = mmap(nullptr, len, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, off_t(start));
    if (m == MAP_FAILED) {
      if (pos > 0) {  // continue with reads from here
        if (lseek(fd, off_t(pos), SEEK_SET) != off_t(pos)) return true;
        read_lines(fd, fs, parser, line);
        return true;
      }
      return false;
    }
    madvise(m, len, MADV_SEQUENTIAL);
    const char* base = static_cast<const char*>(m);
    const bool at_eof = start + len == size;
    size_t p = size_t(pos - start);
    const size_t first = p;
    while (p < len) {
      const char* nl = static_cast<const char*>(memchr(base + p, '\n', len - p));
      if (skipping) {
        if (!nl) {
          p = len;
          break;
        }
        p = size_t(nl - base) + 1;
        ++line;
        skipping = false;
        continue;
      }
      const size_t e = nl ? size_t(nl - base) : len;
      if (!at_eof && (!nl || e + kPad > len)) break;  // the window ends inside it or its padding
      std::string_view rec(base + p, e - p);
      if (e + kPad > len) {
        tail.assign(rec);
        tail.append(kPad, '\0');
        rec = std::string_view(tail.data(), rec.size());
      }
      line_record(fs, parser, rec, line++);
      p = e + 1;
    }
    munmap(m, len);
    pos = std::min<uint64_t>(start + p, size);
    if (p > first || skipping) {
      window = kChunk;
      continue;
    }
    // No record ended in the window: widen it, up to the record cap.
    if (window - size_t(pos - start) >= kMaxRecord) {
      malformed(fs, line, "record_too_long");
      skipping = true;
      window = kChunk;
    } else {
      window *= 2;
    }
  }
  return true;
}

bool LogPipeline::process_file(const std::string& path, std::string* error) {
  files_.push_back(LogFileStats{});
  LogFileStats& fs = files_.back();
  fs.path = path;
  std::string head;
  if (!read_head(path, head, 256 * 1024)) {
    fs.skipped_reason = "unreadable";
    if (error) *error = path + ": cannot read";
    return false;
  }
  Layout layout = layout_of(head);
  const LogSourceApi* api = nullptr;
  if (!opts_.forced_kind.empty()) {
    api = LogSourceRegistry::find(opts_.forced_kind);
    if (!api) {
      fs.skipped_reason = "unknown_kind";
      if (error) *error = "unknown log kind '" + opts_.forced_kind + "'";
      return false;
    }
  } else if (layout != Layout::kUnknown) {
    auto samples = sample_records(head, layout);
    std::vector<std::string_view> views(samples.begin(), samples.end());
    api = choose_source(views);
  }
  if (!api) {
    fs.skipped_reason = layout == Layout::kUnknown ? "empty" : "unrecognised_format";
    if (error) *error = path + ": not a log format komainu reads";
    return false;
  }
  fs.kind = std::string(api->name);
  LogParser* parser = nullptr;
  for (auto& [k, p] : parsers_)
    if (k == fs.kind) parser = p.get();
  if (!parser) {
    parsers_.emplace_back(fs.kind, api->make());
    parser = parsers_.back().second.get();
  }

  if (layout == Layout::kLines || layout == Layout::kJsonLines) {
    int fd = ::open(path.c_str(), O_RDONLY);
    if (fd < 0) {
      fs.skipped_reason = "unreadable";
      if (error) *error = path + ": cannot open";
      return false;
    }
    struct stat st;
    uint64_t line = 1;
    bool mapped = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
                  map_lines(fd, uint64_t(st.st_size), fs, *parser, line);
    if (!mapped) read_lines(fd, fs, *parser, line);
    ::close(fd);
    return true;
  }

  // Whole-document layouts.
  auto loaded = simdjson::padded_string::load(path);
  if (loaded.error()) {
    fs.skipped_reason = "unreadable";
    if (error) *error = path + ": cannot read";
    return false;
  }
  simdjson::padded_string text = std::move(loaded).value_unsafe();
  if (text.size() > kMaxWholeDoc) {
    fs.skipped_reason = "document_too_large";
    if (error) *error = path + ": JSON document/CSV larger than 1 GiB; use JSON lines";
    return false;
  }
  std::string_view t(text.data(), text.size());
  if (layout == Layout::kCsv) {
    CsvReader r(t);
    std::vector<std::string> hdr, row;
    uint64_t line;
    bool ok;
    if (!r.next(hdr, &line, &ok)) return true;
    CsvToJson conv(hdr);
    std::string json;
    json.reserve(4096);
    while (r.next(row, &line, &ok)) {
      if (row.size() == 1 && trim(row[0]).empty()) continue;
      if (!ok) {
        malformed(fs, line, "csv_unterminated_quote");
        continue;
      }
      if (row.size() != conv.columns()) {
        malformed(fs, line, "csv_column_count");
        continue;
      }
      conv.render(row, json);
      simdjson::padded_string padded(json);
      record(fs, *parser, std::string_view(padded.data(), padded.size()), line);
    }
    return true;
  }
  size_t a = find_records_array(t);
  if (a == std::string_view::npos) {
    // One pretty-printed object.
    std::string_view rec = trim(t);
    record(fs, *parser, rec, 1);
    return true;
  }
  std::vector<std::pair<size_t, size_t>> spans;
  bool closed = split_json_array(t, a, spans);
  size_t cursor = 0;
  uint64_t line = 1;
  for (auto [s, e] : spans) {
    std::string_view rec = trim(t.substr(s, e - s));
    uint64_t l = line_at(t, s, cursor, line);
    if (rec.empty()) continue;
    record(fs, *parser, rec, l);
  }
  if (!closed) malformed(fs, line_at(t, t.size(), cursor, line), "json_array_unterminated");
  return true;
}

void LogPipeline::finish() {
  if (finished_) return;
  finished_ = true;
  for (auto& [api, d] : detectors_) d->finish(ctx_);
  sigma_.finish(sink_);
  sink_.flush();
}

uint64_t LogPipeline::alerts() const {
  return ctx_.alerts() + sigma_.alerts();
}

void LogPipeline::write_stats(JsonWriter& w) const {
  w.begin_object();
  w.kv("files", uint64_t(files_.size()));
  w.kv("records_read", read_);
  w.kv("parsed", parsed_);
  w.kv("malformed", malformed_);
  w.kv("blank_lines", blank_);
  w.kv("time_inferred", time_inferred_);
  w.key("malformed_by_reason").begin_object();
  for (size_t i = 0; i < malformed_by_reason_.names().size(); ++i)
    w.kv(malformed_by_reason_.names()[i], malformed_by_reason_.counts()[i]);
  w.end_object();
  w.key("malformed_samples").begin_array();
  for (const auto& s : malformed_samples_) w.value(std::string_view(s));
  w.end_array();
  w.key("by_class").begin_object();
  for (size_t i = 0; i <= size_t(EventClass::kTraffic); ++i)
    if (by_class_[i]) w.kv(event_class_name(EventClass(i)), by_class_[i]);
  w.end_object();
  w.key("by_file").begin_array();
  for (const auto& f : files_) {
    w.begin_object();
    w.kv("path", f.path);
    if (!f.kind.empty()) w.kv("kind", f.kind);
    w.kv("read", f.read);
    w.kv("parsed", f.parsed);
    w.kv("malformed", f.malformed);
    if (!f.skipped_reason.empty()) w.kv("skipped", f.skipped_reason);
    w.end_object();
  }
  w.end_array();
  w.key("detectors").begin_object();
  for (const auto& [api, d] : detectors_) {
    w.key(api->name).begin_object();
    if (const CounterSet* c = d->counters())
      for (size_t i = 0; i < c->info().size(); ++i) w.kv(c->info()[i].name, (*c)[i]);
    w.end_object();
  }
  w.end_object();
  w.kv("identity_alerts", ctx_.alerts());
  w.key("sigma");
  sigma_.write_stats(w);
  w.end_object();
}

}  // namespace komainu::logs
