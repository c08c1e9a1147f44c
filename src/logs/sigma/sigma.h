// Sigma engine: loads Sigma rules (detection and correlation rules), maps their logsources
// and field names to the normalised log sources (mapping.yaml beside this file, built in),
// and matches every normalised event. Matches are EVE alerts with gid 3.
#pragma once
#include <yaml-cpp/yaml.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/event.h"
#include "core/json.h"
#include "logs/model/log_event.h"

namespace komainu::logs {

struct SigmaLoadOptions {
  // The `sigma:` section of the config file:
  //   placeholders: {name: [values]}   values for the `expand` modifier
  //   mapping: FILE                     replaces the built-in mapping.yaml
  YAML::Node config;
};

// What `komainu rules check --sigma` prints.
struct SigmaCheckReport {
  uint64_t loaded = 0;        // detection rules active on a mapped log source
  uint64_t correlations = 0;  // correlation rules loaded (counted in loaded too)
  uint64_t skipped = 0;
  std::map<std::string, uint64_t> skipped_by_reason;
  std::map<std::string, uint64_t> loaded_by_logsource;
  std::vector<std::string> errors;  // "file:line: rule 'title': reason"
  void write_json(JsonWriter& w) const;
  // Like `rules check` for network rules: a summary line, skips by reason, and with
  // verbose every skipped rule with file and reason.
  std::string to_text(bool verbose) const;
  // Rules that could not be read at all (YAML syntax or type errors, non-rule documents),
  // as opposed to valid rules skipped for an unsupported construct or log source.
  uint64_t failed() const;
};

class SigmaEngine {
 public:
  SigmaEngine();
  ~SigmaEngine();
  SigmaEngine(const SigmaEngine&) = delete;
  SigmaEngine& operator=(const SigmaEngine&) = delete;

  // Mapping and placeholders; call before load_*.
  bool configure(const SigmaLoadOptions& opts, std::string* error);
  // A rule file or a directory (recursively, *.yml / *.yaml). Problems go to report().
  void load_path(const std::string& path);
  // Rule text (tests, fuzzing). `origin` names it in errors.
  void load_text(const std::string& yaml, const std::string& origin);

  void on_event(const LogEvent& ev, EventSink& sink);
  void finish(EventSink& sink);

  const SigmaCheckReport& report() const { return report_; }
  uint64_t alerts() const;
  void write_stats(JsonWriter& w) const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
  SigmaCheckReport report_;
};

// Loads Sigma files/dirs with the built-in mapping and renders the check report as JSON:
// {"loaded": N, "skipped": M, "skipped_by_reason": {...}, "errors": [...]}.
// Returns false when nothing could be loaded at all (no rule files).
bool sigma_check(const std::vector<std::string>& paths, std::string& json_out,
                 const std::string& config_file = "");
// The same load, returning the report itself (`komainu rules check --sigma`). False with
// *error set when the config cannot be used; a report with nothing loaded or skipped means
// no rule files were found.
bool sigma_check_report(const std::vector<std::string>& paths, SigmaCheckReport& out,
                        const std::string& config_file, std::string* error);

// Stable signature id of a Sigma rule: FNV-1a of its id (or title when it has none).
uint32_t sigma_sid(const std::string& rule_id);

}  // namespace komainu::logs
