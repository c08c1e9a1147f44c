#include "pipeline/config.h"

#include <yaml-cpp/yaml.h>

#include <cctype>
#include <charconv>
#include <functional>
#include <map>

#include "analyzers/analyzer_config.h"
#include "analyzers/files/file_tracker.h"

namespace komainu {

bool parse_size(const std::string& s, uint64_t& out) {
  uint64_t n = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc() || p == s.data()) return false;
  std::string unit;
  for (const char* q = p; q < s.data() + s.size(); ++q)
    if (!isspace(static_cast<unsigned char>(*q)))
      unit.push_back(static_cast<char>(tolower(static_cast<unsigned char>(*q))));
  uint64_t mult = 1;
  if (unit.empty() || unit == "b") {
    mult = 1;
  } else if (unit == "k" || unit == "kb" || unit == "kib") {
    mult = 1ull << 10;
  } else if (unit == "m" || unit == "mb" || unit == "mib") {
    mult = 1ull << 20;
  } else if (unit == "g" || unit == "gb" || unit == "gib") {
    mult = 1ull << 30;
  } else {
    return false;
  }
  if (n > UINT64_MAX / mult) return false;
  out = n * mult;
  return true;
}

namespace {

struct Ctx {
  const std::string& path;
  std::string* error;
  // Keys are looked up as ".section.key"; messages name them as written ("section.key").
  bool fail(const YAML::Node& n, const std::string& what) {
    *error = path + ":" + std::to_string(n.Mark().line + 1) + ": " +
             (what.starts_with('.') ? what.substr(1) : what);
    return false;
  }
};

using Setter = std::function<bool(Ctx&, const YAML::Node&, const std::string& key)>;

Setter size_setter(uint64_t& dst) {
  return [&dst](Ctx& c, const YAML::Node& n, const std::string& key) {
    uint64_t v;
    if (!n.IsScalar() || !parse_size(n.Scalar(), v))
      return c.fail(n, key + ": expected a size such as 64MiB");
    dst = v;
    return true;
  };
}

template <typename T>
Setter int_setter(T& dst, uint64_t max) {
  return [&dst, max](Ctx& c, const YAML::Node& n, const std::string& key) {
    uint64_t v;
    if (!n.IsScalar() || !parse_size(n.Scalar(), v) || v > max)
      return c.fail(n, key + ": expected a whole number up to " + std::to_string(max));
    dst = static_cast<T>(v);
    return true;
  };
}

Setter seconds_setter(TimeNs& dst) {
  return [&dst](Ctx& c, const YAML::Node& n, const std::string& key) {
    double v;
    try {
      v = n.as<double>();
    } catch (const YAML::Exception&) {
      return c.fail(n, key + ": expected seconds");
    }
    if (!(v >= 0 && v < 1e7)) return c.fail(n, key + ": expected seconds in [0, 1e7)");
    dst = static_cast<TimeNs>(v * 1e9);
    return true;
  };
}

Setter bool_setter(bool& dst) {
  return [&dst](Ctx& c, const YAML::Node& n, const std::string& key) {
    try {
      dst = n.as<bool>();
    } catch (const YAML::Exception&) {
      return c.fail(n, key + ": expected true or false");
    }
    return true;
  };
}

// A list of digest names; [] turns hashing off.
Setter digests_setter(uint8_t& dst) {
  return [&dst](Ctx& c, const YAML::Node& n, const std::string& key) {
    if (!n.IsSequence()) return c.fail(n, key + ": expected a list such as [md5, sha1, sha256]");
    uint8_t mask = 0;
    for (const auto& item : n) {
      uint8_t d = item.IsScalar() ? files::digest_from_name(item.Scalar()) : 0;
      if (!d) return c.fail(item, key + ": unknown digest (md5, sha1 or sha256)");
      mask |= d;
    }
    dst = mask;
    return true;
  };
}

bool apply(Ctx& c, const YAML::Node& node, const std::string& prefix,
           const std::map<std::string, Setter>& setters) {
  if (!node.IsMap()) return c.fail(node, prefix + ": expected a mapping");
  for (const auto& kv : node) {
    std::string key = prefix + "." + kv.first.Scalar();
    auto it = setters.find(key);
    if (it != setters.end()) {
      if (!it->second(c, kv.second, key)) return false;
      continue;
    }
    bool is_prefix = false;
    for (const auto& [k, s] : setters)
      if (k.rfind(key + ".", 0) == 0) is_prefix = true;
    if (!is_prefix) return c.fail(kv.first, "unknown setting '" + key.substr(1) + "'");
    if (!apply(c, kv.second, key, setters)) return false;
  }
  return true;
}

}  // namespace

bool load_pipeline_config(const std::string& path, PipelineConfig& cfg, std::string* error) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    *error = path + ": cannot read file";
    return false;
  } catch (const YAML::ParserException& e) {
    *error = path + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg;
    return false;
  }
  if (root.IsNull()) return true;
  Ctx c{path, error};
  if (!root.IsMap()) return c.fail(root, "expected a mapping at the top level");
  FlowConfig& f = cfg.flow;
  DecodeConfig& d = cfg.decode;
  const std::map<std::string, Setter> setters = {
      {".flow.memcap", size_setter(f.memcap)},
      {".flow.timeouts.tcp", seconds_setter(f.tcp_inactivity_timeout)},
      {".flow.timeouts.tcp-handshake", seconds_setter(f.tcp_handshake_timeout)},
      {".flow.timeouts.udp", seconds_setter(f.udp_inactivity_timeout)},
      {".flow.timeouts.icmp", seconds_setter(f.icmp_inactivity_timeout)},
      {".flow.timeouts.other", seconds_setter(f.other_inactivity_timeout)},
      {".flow.timeouts.tcp-attempt", seconds_setter(f.tcp_attempt_delay)},
      {".flow.timeouts.tcp-close", seconds_setter(f.tcp_close_delay)},
      {".flow.timeouts.tcp-reset", seconds_setter(f.tcp_reset_delay)},
      {".flow.key.vlan", bool_setter(f.key_vlan)},
      {".flow.key.tunnel", bool_setter(f.key_tunnel)},
      {".flow.analyzers", bool_setter(f.analyzers)},
      {".flow.burst-gap", seconds_setter(f.burst_gap)},
      {".stream.reassembly.flow-limit", size_setter(f.reassembly_flow_limit)},
      {".stream.reassembly.memcap", size_setter(f.reassembly_global_limit)},
      {".defrag.enabled", bool_setter(d.defrag)},
      {".defrag.memcap", size_setter(d.frag_memcap)},
      {".defrag.max-datagram", int_setter(d.frag_max_datagram, 1u << 20)},
      {".defrag.max-datagrams", int_setter(d.frag_max_datagrams, 1u << 24)},
      {".defrag.max-pieces", int_setter(d.frag_max_pieces, 65535)},
      {".defrag.timeout", seconds_setter(d.frag_timeout)},
      {".tunnels.enabled", bool_setter(d.decode_tunnels)},
      {".tunnels.max-depth", int_setter(d.max_tunnel_depth, 16)},
      {".tunnels.vxlan-port", int_setter(d.vxlan_port, 65535)},
      {".tunnels.geneve-port", int_setter(d.geneve_port, 65535)},
      {".tunnels.teredo-port", int_setter(d.teredo_port, 65535)},
      {".tunnels.ayiya-port", int_setter(d.ayiya_port, 65535)},
      {".tunnels.gtp-port", int_setter(d.gtp_port, 65535)},
      {".threading.workers", int_setter(cfg.workers, 64)},
      {".files.hashes", digests_setter(cfg.file_digests)},
  };
  // Sections owned by other stages (rules variables, detectors, logs) are theirs to check.
  for (const auto& kv : root) {
    std::string top = kv.first.Scalar();
    if (top == "flow" || top == "stream" || top == "defrag" || top == "tunnels" ||
        top == "threading" || top == "files") {
      if (!apply(c, kv.second, "." + top, setters)) return false;
    } else if (top == "app-layer") {
      if (!load_analyzer_settings(kv.second, path, f.analyzer_settings, error)) return false;
    }
  }
  return true;
}

}  // namespace komainu
