#include <cstdio>

#include "cli/command.h"

int main(int argc, char** argv) {
  CLI::App app{"komainu — breach detection for networks and identity logs"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "komainu 0.1.0");
  int exit_code = 0;
  for (const auto* cmd : komainu::Registry<komainu::CommandApi>::sorted())
    cmd->setup(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return exit_code;
}
