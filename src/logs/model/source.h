// A log source: one format, one folder under logs/sources/, registered with one line:
//
//   static const Registration<LogSourceApi> reg{{.name = "fortigate", ...}};
//
// The pipeline frames the file (lines, or JSON values for JSON sources), asks every source
// to score the first records, then hands each record to the winner's parser.
#pragma once
#include <memory>
#include <string_view>

#include "core/registry.h"
#include "logs/model/log_event.h"

namespace komainu::logs {

enum class Framing : uint8_t {
  kJson,  // JSON lines, a JSON array, or an OData/Log Analytics response wrapping records
  kLine,  // one record per text line (syslog)
  kCsv,   // CSV with a header row (Sentinel exports); records may span lines
};

// Parses records of one source. One instance per pipeline (not shared between threads).
class LogParser {
 public:
  virtual ~LogParser() = default;
  // Fills ev from one record. JSON records are followed by at least 64 readable bytes
  // (simdjson padding). Returns false with a named reason when the record is malformed;
  // a record that parses but is not relevant (e.g. a non-VPN FortiGate event) still
  // returns true and is normalised as far as it goes.
  virtual bool parse(std::string_view record, LogEvent& ev, const char** reason) = 0;
};

struct LogSourceApi {
  std::string_view name;  // --log-kind value
  std::string_view description;
  Framing framing;
  // 0..100: how sure the source is that this record is one of its own.
  int (*sniff)(std::string_view record);
  std::unique_ptr<LogParser> (*make)();
};

using LogSourceRegistry = Registry<LogSourceApi>;

}  // namespace komainu::logs
