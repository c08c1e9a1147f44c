// Rule variables ($HOME_NET, $HTTP_PORTS, ...) in suricata.yaml's `vars:` layout, and the
// address / port expressions of rule headers that use them.
#pragma once
#include <map>
#include <string>
#include <string_view>

#include "detect/signatures/signature.h"

namespace komainu::sig {

class RuleVars {
 public:
  // Suricata's defaults (suricata.yaml as shipped).
  RuleVars();
  // Reads vars.address-groups and vars.port-groups from a YAML file (suricata.yaml or a
  // komainu config); entries override the defaults. False with `err` on unreadable YAML.
  bool load_yaml_file(const std::string& path, std::string& err);
  bool load_yaml_text(std::string_view text, std::string& err);

  void set_address(std::string name, std::string value) {
    addr_[std::move(name)] = std::move(value);
  }
  void set_port(std::string name, std::string value) { port_[std::move(name)] = std::move(value); }
  const std::map<std::string, std::string, std::less<>>& addresses() const { return addr_; }
  const std::map<std::string, std::string, std::less<>>& ports() const { return port_; }

  bool parse_address(std::string_view text, AddrExpr& out, std::string& err) const;
  bool parse_port(std::string_view text, PortExpr& out, std::string& err) const;

 private:
  bool addr_expr(std::string_view s, AddrExpr& out, std::string& err, int depth) const;
  bool port_expr(std::string_view s, PortExpr& out, std::string& err, int depth) const;
  std::map<std::string, std::string, std::less<>> addr_, port_;
};

}  // namespace komainu::sig
