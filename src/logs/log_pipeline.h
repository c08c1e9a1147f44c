// The log path of `komainu analyze`: files in, normalised events through Sigma and the
// built-in identity detectors, EVE alerts and vpn_session records out.
//
//   LogPipeline p(opts, sink);
//   if (!p.load(&err)) ...            // rules, watchlists, config: errors name file and line
//   for (f : inputs) if (LogPipeline::looks_like_log(f)) p.process_file(f, &err);
//   p.finish();                       // flushes detectors and correlations
//   p.write_stats(json);              // read = parsed + malformed, by kind and reason
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/event.h"
#include "core/json.h"
#include "logs/model/detector.h"
#include "logs/model/log_event.h"
#include "logs/model/source.h"
#include "logs/sigma/sigma.h"

namespace komainu::logs {

struct LogOptions {
  std::vector<std::string> sigma_paths;                         // files or directories
  std::vector<std::pair<std::string, std::string>> watchlists;  // name, file
  std::string forced_kind;                                      // --log-kind
  std::string config_file;  // YAML: detector settings, Sigma placeholders and mapping
};

struct LogFileStats {
  std::string path;
  std::string kind;
  uint64_t read = 0, parsed = 0, malformed = 0;
  std::string skipped_reason;  // whole file not processed (unknown kind, unreadable)
};

class LogPipeline {
 public:
  LogPipeline(const LogOptions& opts, EventSink& sink);
  ~LogPipeline();

  bool load(std::string* error);
  // Content sniffing: text records of a known source, never pcap/pcapng.
  static bool looks_like_log(const std::string& path);
  // The source that would read the file ("" if none).
  static std::string detect_kind(const std::string& path);
  bool process_file(const std::string& path, std::string* error);
  void finish();
  void write_stats(JsonWriter& w) const;

  // For tests and the benchmark.
  uint64_t records_read() const { return read_; }
  uint64_t records_parsed() const { return parsed_; }
  uint64_t records_malformed() const { return malformed_; }
  uint64_t alerts() const;
  const std::vector<LogFileStats>& files() const { return files_; }
  const SigmaEngine& sigma() const { return sigma_; }
  // Sees every normalised event before Sigma and the detectors (golden tests, tools).
  void set_event_tap(std::function<void(const LogEvent&)> tap) { tap_ = std::move(tap); }
  // Feeds one already-normalised event (tests; the benchmark's detector-only pass).
  void on_event(const LogEvent& ev);

 private:
  class Reader;
  void record(LogFileStats& fs, LogParser& p, std::string_view rec, uint64_t line);
  void malformed(LogFileStats& fs, uint64_t line, const char* reason);
  void line_record(LogFileStats& fs, LogParser& parser, std::string_view rec, uint64_t line);
  void read_lines(int fd, LogFileStats& fs, LogParser& parser, uint64_t& line);
  bool map_lines(int fd, uint64_t size, LogFileStats& fs, LogParser& parser, uint64_t& line);

  LogOptions opts_;
  EventSink& sink_;
  Watchlists watchlists_;
  DetectorContext ctx_;
  SigmaEngine sigma_;
  std::vector<std::pair<const IdentityDetectorApi*, std::unique_ptr<IdentityDetector>>> detectors_;
  std::vector<std::pair<std::string, std::unique_ptr<LogParser>>> parsers_;  // by kind
  LogEvent ev_;
  std::vector<LogFileStats> files_;
  uint64_t read_ = 0, parsed_ = 0, malformed_ = 0, blank_ = 0, time_inferred_ = 0;
  ReasonCounter malformed_by_reason_;
  std::vector<std::string> malformed_samples_;
  uint64_t by_class_[16] = {};
  bool finished_ = false;
  std::function<void(const LogEvent&)> tap_;
};

}  // namespace komainu::logs
