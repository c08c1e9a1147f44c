// RFC 4180 CSV (quoted cells may hold commas, quotes and newlines), as exported by the
// Sentinel / Log Analytics portal. Rows become JSON objects keyed by the header so the JSON
// sources normalise CSV exports and JSON exports with one code path.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace komainu::logs {

class CsvReader {
 public:
  explicit CsvReader(std::string_view text) : s_(text) {}
  // Reads the next row; false at end of input. *line is the 1-based line the row starts on.
  // *ok is false when the row ends inside an open quote (truncated file).
  bool next(std::vector<std::string>& row, uint64_t* line, bool* ok);
  size_t offset() const { return pos_; }

 private:
  std::string_view s_;
  size_t pos_ = 0;
  uint64_t line_ = 1;
};

// Does the text start with a CSV header (first line: several comma-separated names, no
// JSON, no syslog)?
bool looks_like_csv_header(std::string_view first_line);

// Renders one row as a JSON object. Header names lose " [UTC]" suffixes; "<X>_dynamic"
// columns holding JSON are embedded as JSON under "<X>" (their "<X>_string" twin is
// dropped); empty cells are left out.
class CsvToJson {
 public:
  explicit CsvToJson(const std::vector<std::string>& header);
  void render(const std::vector<std::string>& row, std::string& out) const;
  size_t columns() const { return names_.size(); }

 private:
  std::vector<std::string> names_;
  std::vector<int> mode_;  // 0 string, 1 JSON when valid, -1 skip
};

}  // namespace komainu::logs
