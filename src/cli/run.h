// The run loop shared by `analyze` and `capture`: a packet source through the pipeline into
// the outputs, with progress, signals and stats.json.
#pragma once
#include <string>
#include <vector>

#include "capture/source.h"
#include "pipeline/pipeline.h"

namespace komainu {

struct RunOptions {
  std::string out_dir = "komainu-out";
  bool zeek_logs = false;
  bool zeek_json = false;
  std::string config_file;
  bool progress = true;      // only shown when stderr is a terminal
  std::string zones_file;    // --zones: segmentation policy; zones.json in out_dir
  bool print_zones = false;  // `zones report`: print the zone matrix to stdout
  // -S/--rules: Suricata rule files; vars from config_file's `vars:`, HOME_NET from the
  // zones when the config does not set it.
  std::vector<std::string> rule_files;
  // --workers: worker threads (0: one per CPU core); -1 keeps the config file's value.
  int workers = -1;
};

// Creates the output directory; false with a message on failure.
bool prepare_out_dir(const std::string& dir, std::string* error);

// Runs `src` to its end (or until SIGINT/SIGTERM) and writes eve.json, the Zeek logs and
// stats.json. Returns the process exit code.
int run_packets(PacketSource& src, const PipelineConfig& cfg, const RunOptions& opt,
                const std::vector<std::string>& input_names);

}  // namespace komainu
