// The body every log-source fuzz target shares: one record of arbitrary bytes through the
// named parser, padded as the pipeline hands records over, and rendered when it parses.
#pragma once
#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/json.h"
#include "logs/model/source.h"

namespace komainu::logs {

inline int fuzz_log_source(std::string_view source, const uint8_t* data, size_t size) {
  static const LogSourceApi* api = LogSourceRegistry::find(source);
  static std::unique_ptr<LogParser> parser = api->make();
  std::string_view in(reinterpret_cast<const char*>(data), size);
  api->sniff(in);
  simdjson::padded_string rec(in);
  LogEvent ev;
  const char* reason = nullptr;
  if (parser->parse(std::string_view(rec.data(), rec.size()), ev, &reason)) {
    std::string out;
    JsonWriter w(out);
    ev.raw = std::string_view(rec.data(), rec.size());
    ev.write_json(w, !ev.raw_is_json);
  }
  return 0;
}

}  // namespace komainu::logs
