// `komainu analyze`: captures and logs from files.
#include <cstdio>
#include <memory>

#include "cli/command.h"
#include "cli/run.h"
#include "logs/log_pipeline.h"
#include "output/eve_writer.h"
#include "pipeline/config.h"

namespace komainu {
namespace {

struct AnalyzeArgs {
  std::vector<std::string> inputs;
  RunOptions run;
  bool no_progress = false;
  // Identity / VPN logs (src/logs): inputs sniffed as logs go to the log pipeline.
  std::vector<std::string> sigma;       // --sigma FILE|DIR
  std::vector<std::string> watchlists;  // --watchlist NAME=FILE
  std::string log_kind;                 // --log-kind
};

// Appends EVE lines to eve.json after the packet run (or starts it for logs-only runs).
class EveAppend : public EventSink {
 public:
  bool open(const std::string& path, bool append) {
    f_ = fopen(path.c_str(), append ? "a" : "w");
    return f_ != nullptr;
  }
  ~EveAppend() override {
    if (f_) fclose(f_);
  }
  void publish(const Record& r) override {
    line_.clear();
    EveWriter::render(r, line_);
    line_ += '\n';
    fwrite(line_.data(), 1, line_.size(), f_);
  }
  void flush() override { fflush(f_); }

 private:
  FILE* f_ = nullptr;
  std::string line_;
};

// Runs the log inputs; alerts and vpn_session records go to eve.json, the log stats to
// stats-logs.json.
int run_logs(const AnalyzeArgs& a, const std::vector<std::string>& files, bool append) {
  logs::LogOptions o;
  o.sigma_paths = a.sigma;
  o.forced_kind = a.log_kind;
  o.config_file = a.run.config_file;
  for (const auto& w : a.watchlists) {
    auto eq = w.find('=');
    if (eq == std::string::npos || eq == 0) {
      fprintf(stderr, "komainu: --watchlist wants NAME=FILE, got '%s'\n", w.c_str());
      return 2;
    }
    o.watchlists.emplace_back(w.substr(0, eq), w.substr(eq + 1));
  }
  EveAppend eve;
  if (!eve.open(a.run.out_dir + "/eve.json", append)) {
    fprintf(stderr, "komainu: cannot write %s/eve.json\n", a.run.out_dir.c_str());
    return 1;
  }
  logs::LogPipeline p(o, eve);
  std::string err;
  if (!p.load(&err)) {
    fprintf(stderr, "komainu: %s\n", err.c_str());
    return 2;
  }
  for (const auto& e : p.sigma().report().errors)
    fprintf(stderr, "komainu: sigma: %s\n", e.c_str());
  for (const auto& f : files)
    if (!p.process_file(f, &err)) fprintf(stderr, "komainu: %s\n", err.c_str());
  p.finish();
  std::string stats;
  JsonWriter w(stats);
  p.write_stats(w);
  stats += '\n';
  if (FILE* sf = fopen((a.run.out_dir + "/stats-logs.json").c_str(), "w")) {
    fwrite(stats.data(), 1, stats.size(), sf);
    fclose(sf);
  }
  return 0;
}

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
  std::vector<std::string> captures, log_files;
  for (const auto& in : a.inputs)
    (logs::LogPipeline::looks_like_log(in) ? log_files : captures).push_back(in);
  int rc = 0;
  if (!captures.empty()) {
    FileSource src;
    if (!src.open(captures)) {
      fprintf(stderr, "komainu: %s\n", src.error().c_str());
      return 1;
    }
    RunOptions run = a.run;
    run.progress = !a.no_progress;
    rc = run_packets(src, cfg, run, captures);
  }
  if (!log_files.empty() && rc == 0) rc = run_logs(a, log_files, !captures.empty());
  return rc;
}

void setup(CLI::App& root, int& exit_code) {
  auto args = std::make_shared<AnalyzeArgs>();
  CLI::App* cmd = root.add_subcommand(
      "analyze",
      "Analyse capture files (pcap, pcapng; several are merged in time order) and identity/VPN "
      "logs (detected from content; see docs/logs.md)");
  cmd->add_option("inputs", args->inputs, "Capture files and log files")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("-l,--log-dir", args->run.out_dir,
                  "Output directory (created if missing): eve.json, Zeek logs, stats.json")
      ->capture_default_str();
  cmd->add_option("--config", args->run.config_file,
                  "YAML config (flow, stream, defrag, tunnels sections; see docs/config.md)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--zones", args->run.zones_file,
                  "Zones and segmentation policy (YAML; see docs/detections.md); writes zones.json")
      ->check(CLI::ExistingFile);
  cmd->add_option("-S,--rules", args->run.rule_files,
                  "Suricata rule file (repeatable); vars from --config (suricata.yaml vars:), "
                  "HOME_NET from --zones when unset; see docs/rules.md")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->check(CLI::ExistingFile);
  cmd->add_flag("--zeek-logs", args->run.zeek_logs, "Also write Zeek TSV logs (conn.log, ...)");
  cmd->add_flag("--zeek-json", args->run.zeek_json, "Write the Zeek logs in Zeek's JSON form");
  cmd->add_flag("--no-progress", args->no_progress, "Never print the progress line");
  cmd->add_option("--workers", args->run.workers,
                  "Worker threads, each owning a shard of the flows (0: one per core; default: "
                  "the config's threading.workers, else 1)")
      ->check(CLI::Range(0, 64));
  cmd->add_option("--sigma", args->sigma,
                  "Sigma rule file or directory for log inputs (repeatable)")
      ->check(CLI::ExistingPath);
  cmd->add_option("--watchlist", args->watchlists,
                  "NAME=FILE account list (one per line), e.g. vip=vips.txt (repeatable)");
  cmd->add_option("--log-kind", args->log_kind,
                  "Force the log format of log inputs (entra_signin, entra_audit, m365_audit, "
                  "fortigate, cisco_asa, pulse_secure, paloalto)");
  cmd->callback([args, &exit_code] { exit_code = analyze(*args); });
}

const Registration<CommandApi> reg{{.name = "analyze", .setup = setup}};

}  // namespace
}  // namespace komainu
