// libFuzzer: one record of arbitrary bytes through the fortigate parser.
#include "logs/model/fuzz_source.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return komainu::logs::fuzz_log_source("fortigate", data, size);
}
