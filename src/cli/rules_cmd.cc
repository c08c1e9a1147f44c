// `komainu rules check FILE... [--config YAML] [--json] [-v]`: validates rule files like
// `suricata -T` (the work is komainu::sig::check_rules; this is only the command line).
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "cli/command.h"
#include "detect/signatures/ruleset.h"

namespace komainu {
namespace {

struct RulesCheckArgs {
  std::vector<std::string> files;
  std::string config;
  bool json = false;
  bool verbose = false;
};

int rules_check(const RulesCheckArgs& a) {
  sig::RuleVars vars;
  if (!a.config.empty()) {
    std::string err;
    if (!vars.load_yaml_file(a.config, err)) {
      fprintf(stderr, "komainu: %s\n", err.c_str());
      return 2;
    }
  }
  sig::LoadReport r = sig::check_rules(a.files, vars);
  std::string out = a.json ? r.to_json() + "\n" : r.to_text(a.verbose);
  if (!a.json) out += "load time " + std::to_string(r.load_seconds) + " s\n";
  fputs(out.c_str(), stdout);
  // Like suricata -T: rules that fail to parse make the check fail; unsupported keywords
  // only skip their rules.
  return r.failed ? 1 : 0;
}

void setup(CLI::App& root, int& exit_code) {
  auto args = std::make_shared<RulesCheckArgs>();
  CLI::App* rules = root.add_subcommand("rules", "Suricata rule tools");
  rules->require_subcommand(1);
  CLI::App* check =
      rules->add_subcommand("check", "Validate rule files like suricata -T and count skips");
  check->add_option("files", args->files, "Rule files")->required()->check(CLI::ExistingFile);
  check->add_option("--config", args->config, "YAML config with vars: (suricata.yaml layout)")
      ->check(CLI::ExistingFile);
  check->add_flag("--json", args->json, "Print the report as JSON");
  check->add_flag("-v,--verbose", args->verbose, "List every skipped rule with its reason");
  check->callback([args, &exit_code] { exit_code = rules_check(*args); });
}

const Registration<CommandApi> reg{{.name = "rules", .setup = setup}};

}  // namespace
}  // namespace komainu
