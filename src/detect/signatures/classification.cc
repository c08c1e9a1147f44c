#include "detect/signatures/classification.h"

#include <fstream>
#include <sstream>

#include "detect/signatures/keyword.h"

namespace komainu::sig {

namespace {
#include "classification_default.inc"
}

Classifications Classifications::defaults() {
  Classifications c;
  std::vector<std::string> errors;
  c.load_text(kDefaultClassificationConfig, "classification.config", errors);
  return c;
}

void Classifications::load_text(std::string_view text, const std::string& name,
                                std::vector<std::string>& errors) {
  int lineno = 0;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = trim(text.substr(pos, nl - pos));
    pos = nl + 1;
    ++lineno;
    if (line.empty() || line[0] == '#') continue;
    constexpr std::string_view kPrefix = "config classification:";
    if (!line.starts_with(kPrefix)) {
      errors.push_back(name + ":" + std::to_string(lineno) + ": not a classification line");
      continue;
    }
    auto parts = split_args(line.substr(kPrefix.size()));
    int64_t prio = 0;
    if (parts.size() != 3 || parts[0].empty() || !parse_int(parts[2], prio)) {
      errors.push_back(name + ":" + std::to_string(lineno) +
                       ": expected 'config classification: name,description,priority'");
      continue;
    }
    entries_[std::string(parts[0])] = Entry{std::string(parts[1]), static_cast<int>(prio)};
  }
}

bool Classifications::load_file(const std::string& path, std::vector<std::string>& errors) {
  std::ifstream in(path);
  if (!in) {
    errors.push_back(path + ": cannot open");
    return false;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  load_text(ss.str(), path, errors);
  return true;
}

const Classifications::Entry* Classifications::find(std::string_view name) const {
  auto it = entries_.find(name);
  return it == entries_.end() ? nullptr : &it->second;
}

}  // namespace komainu::sig
