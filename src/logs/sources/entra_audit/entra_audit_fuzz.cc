// libFuzzer: one record of arbitrary bytes through the entra_audit parser.
#include "logs/model/fuzz_source.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return komainu::logs::fuzz_log_source("entra_audit", data, size);
}
