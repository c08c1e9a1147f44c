// `komainu capture`: live capture from an interface until SIGINT/SIGTERM.
#include <cstdio>
#include <memory>

#include "cli/command.h"
#include "cli/run.h"
#include "pipeline/config.h"

namespace komainu {
namespace {

struct CaptureArgs {
  LiveSource::Options live;
  RunOptions run;
};

int capture(const CaptureArgs& a) {
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
  LiveSource src;
  if (!src.open(a.live)) {
    fprintf(stderr, "komainu: %s\n", src.error().c_str());
    return 1;
  }
  return run_packets(src, cfg, a.run, {a.live.interface});
}

void setup(CLI::App& root, int& exit_code) {
  auto args = std::make_shared<CaptureArgs>();
  CLI::App* cmd = root.add_subcommand(
      "capture", "Capture from a live interface until interrupted (SIGINT/SIGTERM flush outputs)");
  cmd->add_option("-i,--interface", args->live.interface, "Interface to capture from")->required();
  cmd->add_option("-l,--log-dir", args->run.out_dir, "Output directory")->capture_default_str();
  cmd->add_option("--config", args->run.config_file, "YAML config")->check(CLI::ExistingFile);
  cmd->add_option("-f,--bpf", args->live.bpf, "Capture filter (BPF syntax)");
  cmd->add_option("--snaplen", args->live.snaplen, "Snap length")->capture_default_str();
  cmd->add_flag("--zeek-logs", args->run.zeek_logs, "Also write Zeek TSV logs");
  cmd->add_option("--workers", args->run.workers,
                  "Worker threads, each owning a shard of the flows (0: one per core; default: "
                  "the config's threading.workers, else 1)")
      ->check(CLI::Range(0, 64));
  cmd->add_flag("--zeek-json", args->run.zeek_json, "Write the Zeek logs in Zeek's JSON form");
  cmd->callback([args, &exit_code] { exit_code = capture(*args); });
}

const Registration<CommandApi> reg{{.name = "capture", .setup = setup}};

}  // namespace
}  // namespace komainu
