// Loads the packet-path settings from the YAML config (`--config`). Unknown keys and bad
// values are errors naming file, line and key; absent keys keep their documented defaults.
#pragma once
#include <string>

#include "pipeline/pipeline.h"

namespace komainu {

bool load_pipeline_config(const std::string& path, PipelineConfig& cfg, std::string* error);
// "256MiB", "64mb", "1g", "4096" -> bytes; false when not a size.
bool parse_size(const std::string& s, uint64_t& out);

}  // namespace komainu
