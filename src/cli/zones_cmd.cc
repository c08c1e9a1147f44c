// `komainu zones report`: reads captures with a zones policy and prints the observed
// zone-to-zone matrix (connections, bytes, services, first/last seen), also written as
// zones.json with the alerts in eve.json, so a team can prove what crosses its boundaries.
#include <cstdio>
#include <memory>

#include "cli/command.h"
#include "cli/run.h"
#include "detect/zones/zones.h"
#include "pipeline/config.h"

namespace komainu {
namespace {

struct ZonesArgs {
  std::vector<std::string> inputs;
  RunOptions run;
};

int report(const ZonesArgs& a) {
  std::string err;
  Zones check;
  if (!check.load_file(a.run.zones_file, &err)) {
    fprintf(stderr, "komainu: %s\n", err.c_str());
    return 2;
  }
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
  run.progress = false;
  run.print_zones = true;
  int rc = run_packets(src, cfg, run, a.inputs);
  if (rc == 0)
    fprintf(stderr, "komainu: zone matrix written to %s/zones.json\n", run.out_dir.c_str());
  return rc;
}

void setup(CLI::App& root, int& exit_code) {
  auto args = std::make_shared<ZonesArgs>();
  CLI::App* zones = root.add_subcommand("zones", "Zones and segmentation assurance");
  zones->require_subcommand(1);
  CLI::App* cmd = zones->add_subcommand(
      "report", "Print the observed zone-to-zone matrix of captures (and write zones.json)");
  cmd->add_option("inputs", args->inputs, "Capture files")->required()->check(CLI::ExistingFile);
  cmd->add_option("--zones", args->run.zones_file, "Zones and segmentation policy (YAML)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("-l,--log-dir", args->run.out_dir,
                  "Output directory (created if missing): zones.json, eve.json, stats.json")
      ->capture_default_str();
  cmd->add_option("--config", args->run.config_file, "YAML config (see docs/config.md)")
      ->check(CLI::ExistingFile);
  cmd->callback([args, &exit_code] { exit_code = report(*args); });
}

const Registration<CommandApi> reg{{.name = "zones", .setup = setup}};

}  // namespace
}  // namespace komainu
