// Fuzzes the rule parser: any text must load or be reported, never crash or hang.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "detect/signatures/ruleset.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 16384) return 0;
  komainu::sig::RuleLoader loader;
  loader.load_text(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.rules");
  auto json = loader.report().to_json();
  return json.empty() ? 1 : 0;
}
