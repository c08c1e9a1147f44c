// Subcommands register themselves; main.cc knows none of them by name.
#pragma once
#include <CLI/CLI.hpp>
#include <functional>
#include <string_view>

#include "core/registry.h"

namespace komainu {

struct CommandApi {
  std::string_view name;
  // Adds the subcommand to the root app. The subcommand's callback sets `exit_code`.
  void (*setup)(CLI::App& root, int& exit_code);
};

}  // namespace komainu
