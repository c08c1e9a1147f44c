// classification.config: classtype -> description and priority (alert.category and
// alert.severity in EVE). The shipped file (classification.config beside this header) is
// embedded as the default.
#pragma once
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace komainu::sig {

class Classifications {
 public:
  struct Entry {
    std::string description;
    int priority = 3;
  };
  // The embedded default (Emerging Threats' classification.config).
  static Classifications defaults();
  // Lines "config classification: name,description,priority"; bad lines are reported in
  // `errors` as "name:line: reason" and skipped.
  void load_text(std::string_view text, const std::string& name, std::vector<std::string>& errors);
  bool load_file(const std::string& path, std::vector<std::string>& errors);
  const Entry* find(std::string_view name) const;
  size_t size() const { return entries_.size(); }

 private:
  std::map<std::string, Entry, std::less<>> entries_;
};

}  // namespace komainu::sig
