// Loading rule files: the rule parser, the load report behind `komainu rules check`, and the
// RuleSet handed to the engine. A bad rule never stops loading: it is reported with file and
// line and the rest goes on.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "detect/signatures/classification.h"
#include "detect/signatures/keyword.h"
#include "detect/signatures/signature.h"
#include "detect/signatures/vars.h"

namespace komainu::sig {

struct LoadIssue {
  std::string file;
  int line = 0;
  uint32_t sid = 0;
  std::string keyword;  // the unsupported keyword, for skips
  std::string message;
  std::string where() const { return file + ":" + std::to_string(line); }
};

struct LoadReport {
  size_t loaded = 0;
  size_t skipped = 0;  // not loaded: unsupported keyword or error
  size_t failed = 0;   // of which: parse/validation errors
  size_t duplicates = 0;
  std::map<std::string, size_t> skipped_by_keyword;
  std::vector<LoadIssue> warnings;  // unsupported keywords, duplicate sids
  std::vector<LoadIssue> errors;
  double load_seconds = 0;

  // {"loaded": N, "skipped": M, "skipped_by_keyword": {...}, "errors": [...], ...}
  std::string to_json() const;
  // Suricata -T style summary, one issue per line.
  std::string to_text(bool verbose = false) const;
};

struct RuleSet {
  std::vector<Signature> sigs;
  NameTable flowbits, flowints;
  Classifications classes = Classifications::defaults();
  LoadReport report;
};

enum class ParseOutcome : uint8_t { kLoaded, kUnsupported, kError };

class RuleLoader {
 public:
  explicit RuleLoader(RuleVars vars = RuleVars(),
                      Classifications classes = Classifications::defaults());

  // Reads a rules file: comments, blank lines, multi-line rules joined on trailing '\'.
  bool load_file(const std::string& path);
  void load_text(std::string_view text, const std::string& name);
  // One rule; `unsupported` names the first keyword without a matcher.
  ParseOutcome parse_rule(std::string_view text, const std::string& file, int line, Signature& out,
                          std::string& err, std::string& unsupported);

  const LoadReport& report() const { return set_.report; }
  RuleSet take();

 private:
  void add_rule(std::string_view text, const std::string& file, int line);
  RuleVars vars_;
  RuleSet set_;
  std::map<std::pair<uint32_t, uint32_t>, size_t> seen_;  // (gid, sid) -> index
};

// `komainu rules check FILE... [--config YAML] [--json]`: loads every file and reports.
// Returns the report; load time is measured over the whole call.
LoadReport check_rules(const std::vector<std::string>& files, const RuleVars& vars = RuleVars());

// The app-layer protocol names of rule headers, compared with a flow's app_proto (which uses
// Zeek's service names, e.g. "ssl" for TLS).
bool app_proto_matches(std::string_view rule_proto, std::string_view flow_proto);

}  // namespace komainu::sig
