#include "support/eve_check.h"

#include <string>

namespace komainu::testing {

bool value_matches(simdjson::dom::element want, simdjson::dom::element got) {
  using simdjson::dom::element_type;
  auto num = [](simdjson::dom::element e, double& v) {
    switch (e.type()) {
      case element_type::INT64:
        v = double(int64_t(e));
        return true;
      case element_type::UINT64:
        v = double(uint64_t(e));
        return true;
      case element_type::DOUBLE:
        v = double(e);
        return true;
      default:
        return false;
    }
  };
  double a, b;
  if (num(want, a) && num(got, b)) return a == b;
  if (want.type() != got.type()) return false;
  if (want.is_string()) return std::string_view(want) == std::string_view(got);
  if (want.is_bool()) return bool(want) == bool(got);
  return false;
}

bool lookup(simdjson::dom::element event, std::string_view path, simdjson::dom::element& out) {
  simdjson::dom::element cur = event;
  while (!path.empty()) {
    size_t dot = path.find('.');
    std::string_view part = path.substr(0, dot);
    path = dot == std::string_view::npos ? std::string_view{} : path.substr(dot + 1);
    size_t br = part.find('[');
    std::string_view name = part.substr(0, br);
    if (!name.empty()) {
      auto obj = cur.get_object();
      if (obj.error()) return false;
      auto next = obj.value()[name];
      if (next.error()) return false;
      cur = next.value();
    }
    while (br != std::string_view::npos && br < part.size()) {
      size_t end = part.find(']', br);
      if (end == std::string_view::npos) return false;
      size_t idx = std::stoul(std::string(part.substr(br + 1, end - br - 1)));
      auto arr = cur.get_array();
      if (arr.error()) return false;
      auto next = arr.value().at(idx);
      if (next.error()) return false;
      cur = next.value();
      br = end + 1 < part.size() && part[end + 1] == '[' ? end + 1 : std::string_view::npos;
    }
  }
  out = cur;
  return true;
}

bool event_matches(simdjson::dom::element event, simdjson::dom::object match) {
  for (auto [key, want] : match) {
    simdjson::dom::element got;
    if (key == "has-key" || key == "not-has-key") {
      std::string_view p;
      if (want.get(p)) return false;
      if (lookup(event, p, got) != (key == "has-key")) return false;
      continue;
    }
    if (!lookup(event, key, got) || !value_matches(want, got)) return false;
  }
  return true;
}

}  // namespace komainu::testing
