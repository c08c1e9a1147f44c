// Table-driven reading of one analyzer's settings section (`app-layer.protocols.<name>`):
// each analyzer lists its keys with the Config member they set, and every analyzer reports
// an unknown key, a value out of range or of the wrong type the same way (the node's line
// and the key). Header-only: analyzers are plugins that link no shared library of their own.
#pragma once
#include <yaml-cpp/yaml.h>

#include <memory>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "analyzers/analyzer.h"

namespace komainu {

template <typename Config>
struct AnalyzerSetting {
  struct Size {
    size_t Config::*field;
    size_t lo = 0;
    size_t hi = size_t(1) << 24;
  };
  // Anything else: reads `v` into the config, or returns false with what was expected.
  using Custom = bool (*)(const YAML::Node& v, Config& c, std::string& expected);
  const char* key;
  std::variant<bool Config::*, Size, std::vector<std::string> Config::*, Custom> target;
};

// Fills `Options::config` from `section`; nullptr with `error` set on the first bad entry.
template <typename Options, typename Config>
std::shared_ptr<const AnalyzerOptions> read_analyzer_settings(
    const YAML::Node& section, std::span<const AnalyzerSetting<Config>> table,
    AnalyzerConfigError& error) {
  auto opts = std::make_shared<Options>();
  Config& c = opts->config;
  auto bad = [&](const YAML::Node& n, std::string what) {
    error.line = n.Mark().line;
    error.message = std::move(what);
    return nullptr;
  };
  for (const auto& kv : section) {
    const std::string key = kv.first.Scalar();
    const YAML::Node& v = kv.second;
    const AnalyzerSetting<Config>* s = nullptr;
    for (const auto& e : table)
      if (key == e.key) s = &e;
    if (!s) return bad(kv.first, key + ": unknown setting");
    try {
      if (auto* b = std::get_if<bool Config::*>(&s->target)) {
        c.*(*b) = v.as<bool>();
      } else if (auto* z = std::get_if<typename AnalyzerSetting<Config>::Size>(&s->target)) {
        long long n = v.as<long long>();
        if (n < (long long)z->lo || n > (long long)z->hi)
          return bad(v, key + ": expected " + std::to_string(z->lo) + ".." + std::to_string(z->hi));
        c.*(z->field) = size_t(n);
      } else if (auto* l = std::get_if<std::vector<std::string> Config::*>(&s->target)) {
        if (!v.IsSequence()) return bad(v, key + ": expected a list");
        std::vector<std::string>& list = c.*(*l);
        list.clear();
        for (const auto& e : v) list.push_back(e.as<std::string>());
      } else if (auto* f = std::get_if<typename AnalyzerSetting<Config>::Custom>(&s->target)) {
        std::string expected;
        if (!(*f)(v, c, expected)) return bad(v, key + ": expected " + expected);
      }
    } catch (const YAML::Exception&) {
      return bad(v, key + ": bad value");
    }
  }
  return opts;
}

}  // namespace komainu
