// `komainu rules check [FILE...] [--sigma FILE|DIR]... [--config YAML] [--json] [-v]`:
// validates rule files like `suricata -T` (the work is komainu::sig::check_rules, and
// komainu::logs::sigma_check_report for Sigma; this is only the command line).
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "cli/command.h"
#include "detect/signatures/ruleset.h"
#include "logs/sigma/sigma.h"

namespace komainu {
namespace {

struct RulesCheckArgs {
  std::vector<std::string> files;
  std::vector<std::string> sigma;  // Sigma rule files or directories
  std::string config;
  bool json = false;
  bool verbose = false;
};

// Sigma rules: loaded with the built-in logsource mapping (or the `sigma:` section of
// --config). Rules that cannot be read fail the check; unsupported ones are only skipped.
int sigma_check(const RulesCheckArgs& a, std::string& json) {
  logs::SigmaCheckReport r;
  std::string err;
  if (!logs::sigma_check_report(a.sigma, r, a.config, &err)) {
    fprintf(stderr, "komainu: %s\n", err.c_str());
    return 2;
  }
  if (a.json) {
    JsonWriter w(json);
    r.write_json(w);
  } else {
    fputs(r.to_text(a.verbose).c_str(), stdout);
  }
  if (r.loaded + r.skipped == 0) {
    fprintf(stderr, "komainu: no Sigma rule files (*.yml, *.yaml) found\n");
    return 1;
  }
  return r.failed() ? 1 : 0;
}

int rules_check(const RulesCheckArgs& a) {
  if (a.files.empty() && a.sigma.empty()) {
    fprintf(stderr, "komainu: rules check needs rule files and/or --sigma FILE|DIR\n");
    return 2;
  }
  std::string sigma_json;
  int sigma_rc = a.sigma.empty() ? 0 : sigma_check(a, sigma_json);
  if (sigma_rc == 2) return 2;
  if (a.files.empty()) {
    if (a.json) printf("%s\n", sigma_json.c_str());
    return sigma_rc;
  }
  sig::RuleVars vars;
  if (!a.config.empty()) {
    std::string err;
    if (!vars.load_yaml_file(a.config, err)) {
      fprintf(stderr, "komainu: %s\n", err.c_str());
      return 2;
    }
  }
  sig::LoadReport r = sig::check_rules(a.files, vars);
  std::string out = a.json ? r.to_json() : r.to_text(a.verbose);
  // Both kinds at once: one JSON object holding the two reports.
  if (a.json)
    out = (a.sigma.empty() ? out : "{\"rules\":" + out + ",\"sigma\":" + sigma_json + "}") + "\n";
  if (!a.json) out += "load time " + std::to_string(r.load_seconds) + " s\n";
  fputs(out.c_str(), stdout);
  // Like suricata -T: rules that fail to parse make the check fail; unsupported keywords
  // only skip their rules.
  return r.failed || sigma_rc ? 1 : 0;
}

void setup(CLI::App& root, int& exit_code) {
  auto args = std::make_shared<RulesCheckArgs>();
  CLI::App* rules = root.add_subcommand("rules", "Suricata rule tools");
  rules->require_subcommand(1);
  CLI::App* check =
      rules->add_subcommand("check", "Validate rule files like suricata -T and count skips");
  check->add_option("files", args->files, "Rule files")->check(CLI::ExistingFile);
  check->add_option("--sigma", args->sigma, "Sigma rule file or directory (repeatable)")
      ->check(CLI::ExistingPath);
  check->add_option("--config", args->config, "YAML config with vars: (suricata.yaml layout)")
      ->check(CLI::ExistingFile);
  check->add_flag("--json", args->json, "Print the report as JSON");
  check->add_flag("-v,--verbose", args->verbose, "List every skipped rule with its reason");
  check->callback([args, &exit_code] { exit_code = rules_check(*args); });
}

const Registration<CommandApi> reg{{.name = "rules", .setup = setup}};

}  // namespace
}  // namespace komainu
