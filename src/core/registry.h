// Self-registration. An analyzer, detector, keyword, log source or output declares a
// constant descriptor and registers it with one line:
//
//   static const komainu::Registration<AnalyzerApi> reg{{.name = "dns", ...}};
//
// The descriptors are collected at static-init time (the libraries are linked whole; see
// cmake/komainu.cmake), so adding one never edits a central switch.
#pragma once
#include <algorithm>
#include <string_view>
#include <vector>

namespace komainu {

template <typename Api>
class Registry {
 public:
  static std::vector<const Api*>& all() {
    static std::vector<const Api*> items;
    return items;
  }
  static const Api* find(std::string_view name) {
    for (const Api* a : all())
      if (a->name == name) return a;
    return nullptr;
  }
  // Sorted by name so the order never depends on link order.
  static std::vector<const Api*> sorted() {
    auto v = all();
    std::sort(v.begin(), v.end(), [](const Api* a, const Api* b) { return a->name < b->name; });
    return v;
  }
};

template <typename Api>
struct Registration {
  explicit Registration(const Api& api) : api_(api) { Registry<Api>::all().push_back(&api_); }
  const Api api_;
};

}  // namespace komainu
