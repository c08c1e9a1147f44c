// libFuzzer: one record of arbitrary bytes through the m365_audit parser.
#include "logs/model/fuzz_source.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return komainu::logs::fuzz_log_source("m365_audit", data, size);
}
