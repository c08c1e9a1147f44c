// libFuzzer: arbitrary YAML through the Sigma rule loader, then one event through whatever
// loaded (compile and match paths must never crash on hostile rules).
#include <cstddef>
#include <cstdint>
#include <string>

#include "logs/sigma/sigma.h"

namespace {
class NullSink : public komainu::EventSink {
 public:
  void publish(const komainu::Record&) override {}
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace komainu::logs;
  std::string yaml(reinterpret_cast<const char*>(data), size);
  SigmaEngine e;
  e.load_text(yaml, "fuzz.yml");
  LogEvent ev;
  ev.kind = "entra_signin";
  ev.ts = 1;
  ev.user = "a@b.c";
  ev.result_code = "50126";
  ev.raw = yaml;
  NullSink sink;
  e.on_event(ev, sink);
  e.on_event(ev, sink);
  return 0;
}
