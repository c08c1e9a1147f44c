// `komainu analyze`: captures and logs from files.
#include <cstdio>
#include <memory>

#include "cli/command.h"
#include "cli/run.h"
#include "pipeline/config.h"

namespace komainu {
namespace {

struct AnalyzeArgs {
  std::vector<std::string> inputs;
  RunOptions run;
  bool no_progress = false;
};

int analyze(const AnalyzeArgs& a) {
  std::string err;
  PipelineConfig cfg;
  if (!a.run.config_file.empty() && !load_pipeline_config(a.run.config_file, cfg, &err)) {
    fprintf(stderr, "komainu: %s\n", err.c_str());
    return 2;
  }
  if (!prepare_out_dir(a.run.out_dir, &err)) {
    fprintf(stderr, "komainu: %s\n", err.c_str());
    return 1;
  }
  FileSource src;
  if (!src.open(a.inputs)) {
    fprintf(stderr, "komainu: %s\n", src.error().c_str());
    return 1;
  }
  RunOptions run = a.run;
  run.progress = !a.no_progress;
  return run_packets(src, cfg, run, a.inputs);
}

void setup(CLI::App& root, int& exit_code) {
  auto args = std::make_shared<AnalyzeArgs>();
  CLI::App* cmd = root.add_subcommand(
      "analyze", "Analyse capture files (pcap, pcapng; several are merged in time order)");
  cmd->add_option("inputs", args->inputs, "Capture files")->required()->check(CLI::ExistingFile);
  cmd->add_option("-l,--log-dir", args->run.out_dir,
                  "Output directory (created if missing): eve.json, Zeek logs, stats.json")
      ->capture_default_str();
  cmd->add_option("--config", args->run.config_file,
                  "YAML config (flow, stream, defrag, tunnels sections; see docs/config.md)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--zones", args->run.zones_file,
                  "Zones and segmentation policy (YAML; see docs/detections.md); writes zones.json")
      ->check(CLI::ExistingFile);
  cmd->add_flag("--zeek-logs", args->run.zeek_logs, "Also write Zeek TSV logs (conn.log, ...)");
  cmd->add_flag("--zeek-json", args->run.zeek_json, "Write the Zeek logs in Zeek's JSON form");
  cmd->add_flag("--no-progress", args->no_progress, "Never print the progress line");
  cmd->callback([args, &exit_code] { exit_code = analyze(*args); });
}

const Registration<CommandApi> reg{{.name = "analyze", .setup = setup}};

}  // namespace
}  // namespace komainu
