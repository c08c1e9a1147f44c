#include "logs/model/csv.h"

#include <simdjson.h>

#include <cctype>

#include "core/json.h"

namespace komainu::logs {

bool CsvReader::next(std::vector<std::string>& row, uint64_t* line, bool* ok) {
  row.clear();
  *ok = true;
  if (pos_ >= s_.size()) return false;
  *line = line_;
  std::string cell;
  bool quoted = false;
  while (pos_ < s_.size()) {
    char c = s_[pos_++];
    if (quoted) {
      if (c == '"') {
        if (pos_ < s_.size() && s_[pos_] == '"') {
          cell.push_back('"');
          ++pos_;
        } else {
          quoted = false;
        }
      } else {
        if (c == '\n') ++line_;
        cell.push_back(c);
      }
      continue;
    }
    if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      row.push_back(std::move(cell));
      cell.clear();
    } else if (c == '\n') {
      ++line_;
      break;
    } else if (c != '\r') {
      cell.push_back(c);
    }
  }
  if (quoted) *ok = false;
  row.push_back(std::move(cell));
  return true;
}

bool looks_like_csv_header(std::string_view l) {
  if (l.empty() || l.front() == '{' || l.front() == '[' || l.front() == '<') return false;
  // Column names: identifiers, optionally with " [UTC]"-style suffixes. Syslog CSV (PAN-OS)
  // has timestamps and addresses in its first cells and is rejected here.
  size_t commas = 0;
  bool cell_start = true;
  for (size_t i = 0; i < l.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(l[i]);
    if (c == ',') {
      ++commas;
      cell_start = true;
      continue;
    }
    if (c == ':' || c == '/' || c == '=' || c == '%') return false;
    if (cell_start && c != '"' && c < 0x80 && !isalpha(c) && c != '_') return false;
    if (c != '"') cell_start = false;
  }
  return commas >= 3;
}

CsvToJson::CsvToJson(const std::vector<std::string>& header) {
  for (std::string h : header) {
    if (!h.empty() && static_cast<unsigned char>(h[0]) == 0xEF && h.size() >= 3)
      h.erase(0, 3);  // BOM
    if (auto p = h.find(" ["); p != std::string::npos) h.resize(p);
    int mode = 0;
    if (h.size() > 8 && h.compare(h.size() - 8, 8, "_dynamic") == 0) {
      h.resize(h.size() - 8);
      mode = 1;
    }
    names_.push_back(std::move(h));
    mode_.push_back(mode);
  }
  for (size_t i = 0; i < names_.size(); ++i) {
    const std::string& n = names_[i];
    if (n.size() > 7 && n.compare(n.size() - 7, 7, "_string") == 0) {
      std::string base = n.substr(0, n.size() - 7);
      for (size_t j = 0; j < names_.size(); ++j)
        if (mode_[j] == 1 && names_[j] == base) mode_[i] = -1;
    }
  }
}

void CsvToJson::render(const std::vector<std::string>& row, std::string& out) const {
  static thread_local simdjson::dom::parser validator;
  out.clear();
  JsonWriter w(out);
  w.begin_object();
  for (size_t i = 0; i < names_.size() && i < row.size(); ++i) {
    if (mode_[i] < 0 || row[i].empty() || names_[i].empty()) continue;
    const std::string& v = row[i];
    if (mode_[i] == 1 && (v[0] == '{' || v[0] == '[') && !validator.parse(v).error()) {
      w.kv_raw(names_[i], simdjson::minify(validator.parse(v).value_unsafe()));
    } else {
      w.kv(names_[i], v);
    }
  }
  w.end_object();
}

}  // namespace komainu::logs
