// libFuzzer: one record of arbitrary bytes through the m365_audit parser (padded, as the
// pipeline hands records over).
#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "logs/model/source.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace komainu::logs;
  static const LogSourceApi* api = LogSourceRegistry::find("m365_audit");
  static std::unique_ptr<LogParser> parser = api->make();
  std::string_view in(reinterpret_cast<const char*>(data), size);
  api->sniff(in);
  simdjson::padded_string rec(in);
  LogEvent ev;
  const char* reason = nullptr;
  if (parser->parse(std::string_view(rec.data(), rec.size()), ev, &reason)) {
    std::string out;
    komainu::JsonWriter w(out);
    ev.raw = std::string_view(rec.data(), rec.size());
    ev.write_json(w, !ev.raw_is_json);
  }
  return 0;
}
