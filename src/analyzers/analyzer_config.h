// Loads the `app-layer` section of the config file into AnalyzerSettings:
//
//   app-layer:
//     protocols:
//       dns:
//         eve-version: 3
//
// Each protocol's mapping goes to the analyzer registered under that name, which parses it
// itself (AnalyzerApi::configure): adding settings to an analyzer edits nothing here.
#pragma once
#include <yaml-cpp/yaml.h>

#include <string>

#include "analyzers/analyzer.h"
#include "core/registry.h"

namespace komainu {

// False with "path:line: message" in `error` on an unknown protocol, a protocol without
// settings, or a value its analyzer rejects.
inline bool load_analyzer_settings(const YAML::Node& app_layer, const std::string& path,
                                   AnalyzerSettings& out, std::string* error) {
  auto fail_at = [&](int line, const std::string& what) {
    *error = path + ":" + std::to_string(line + 1) + ": " + what;
    return false;
  };
  auto fail = [&](const YAML::Node& n, const std::string& what) {
    return fail_at(n.Mark().line, what);
  };
  if (app_layer.IsNull()) return true;
  if (!app_layer.IsMap()) return fail(app_layer, "app-layer: expected a mapping");
  for (const auto& kv : app_layer) {
    std::string key = kv.first.Scalar();
    if (key != "protocols") return fail(kv.first, "unknown setting 'app-layer." + key + "'");
    if (kv.second.IsNull()) continue;
    if (!kv.second.IsMap()) return fail(kv.second, "app-layer.protocols: expected a mapping");
    for (const auto& proto : kv.second) {
      std::string name = proto.first.Scalar();
      const AnalyzerApi* api = Registry<AnalyzerApi>::find(name);
      if (!api) return fail(proto.first, "app-layer.protocols: unknown analyzer '" + name + "'");
      if (proto.second.IsNull()) continue;
      if (!proto.second.IsMap())
        return fail(proto.second, "app-layer.protocols." + name + ": expected a mapping");
      if (!api->configure)
        return fail(proto.first, "app-layer.protocols." + name + ": analyzer has no settings");
      AnalyzerConfigError e;
      auto options = api->configure(proto.second, e);
      if (!options) {
        return fail_at(e.line ? e.line : proto.second.Mark().line,
                       "app-layer.protocols." + name + "." + e.message);
      }
      out.set(name, std::move(options));
    }
  }
  return true;
}

}  // namespace komainu
