// Runs the declarative keyword tests in tests/rules/*.rtest (format in tests/rules/README.md):
// rules, then packets, each with the sids expected to alert.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "detect/signatures/engine.h"

namespace komainu::sig {
namespace {

struct TestPacket {
  int line = 0;
  Packet pkt;
  std::string payload;
  std::vector<std::pair<int, std::string>> buffers;
  std::vector<std::string> event_names;
  bool has_flow = false, to_server = true, established = false, is_stream = false;
  std::string app;
  uint64_t bytes_ts = 0, bytes_tc = 0;
  std::vector<uint32_t> expect;
  bool expect_set = false;
};

struct TestCase {
  std::string file;
  int line = 0;
  std::vector<std::pair<int, std::string>> rules;
  std::vector<std::pair<int, std::string>> invalid;  // must fail to load
  std::vector<TestPacket> packets;
};

bool parse_packet_spec(std::string_view spec, TestPacket& p, std::string& err) {
  p.pkt.ip_version = 4;
  p.pkt.proto = 6;
  p.pkt.l4_valid = true;
  p.pkt.ttl = 64;
  p.pkt.src = *IpAddr::parse("10.0.0.1");
  p.pkt.dst = *IpAddr::parse("192.0.2.1");
  p.pkt.sport = 40000;
  p.pkt.dport = 80;
  std::istringstream in{std::string(spec)};
  std::string tok;
  while (in >> tok) {
    auto eq = tok.find('=');
    std::string k = tok.substr(0, eq), v = eq == std::string::npos ? "" : tok.substr(eq + 1);
    int64_t n = 0;
    bool num = parse_int(v, n);
    if (k == "proto") {
      p.pkt.proto = v == "tcp"      ? 6
                    : v == "udp"    ? 17
                    : v == "icmp"   ? 1
                    : v == "icmpv6" ? 58
                    : num           ? static_cast<uint8_t>(n)
                                    : 0;
    } else if (k == "src" || k == "dst") {
      auto a = IpAddr::parse(v);
      if (!a) return err = "bad address " + v, false;
      (k == "src" ? p.pkt.src : p.pkt.dst) = *a;
      if (!a->is_v4()) p.pkt.ip_version = 6;
    } else if (k == "sport" && num) {
      p.pkt.sport = static_cast<uint16_t>(n);
    } else if (k == "dport" && num) {
      p.pkt.dport = static_cast<uint16_t>(n);
    } else if (k == "ttl" && num) {
      p.pkt.ttl = static_cast<uint8_t>(n);
    } else if (k == "id" && num) {
      p.pkt.ip_id = static_cast<uint16_t>(n);
    } else if (k == "window" && num) {
      p.pkt.window = static_cast<uint16_t>(n);
    } else if (k == "seq" && num) {
      p.pkt.seq = static_cast<uint32_t>(n);
    } else if (k == "ack" && num) {
      p.pkt.ack = static_cast<uint32_t>(n);
    } else if (k == "itype" && num) {
      p.pkt.icmp_type = static_cast<uint8_t>(n);
    } else if (k == "icode" && num) {
      p.pkt.icmp_code = static_cast<uint8_t>(n);
    } else if (k == "flags") {
      const std::string letters = "FSRPAUEC";
      for (char c : v) {
        auto i = letters.find(c);
        if (i == std::string::npos) return err = "bad flag", false;
        p.pkt.tcp_flags |= static_cast<uint8_t>(1 << i);
      }
    } else if (k == "to_server") {
      p.has_flow = true;
      p.to_server = true;
    } else if (k == "to_client") {
      p.has_flow = true;
      p.to_server = false;
    } else if (k == "established") {
      p.established = true;
    } else if (k == "stream") {
      p.is_stream = true;
    } else if (k == "app") {
      p.app = v;
    } else if (k == "event") {
      p.event_names.push_back(v);
    } else if (k == "bytes_to_server" && num) {
      p.bytes_ts = static_cast<uint64_t>(n);
    } else if (k == "bytes_to_client" && num) {
      p.bytes_tc = static_cast<uint64_t>(n);
    } else if (k == "ts" && num) {
      p.pkt.ts = n * kNsPerSec;
    } else {
      return err = "unknown packet field '" + tok + "'", false;
    }
  }
  return true;
}

std::vector<TestCase> read_cases(const std::string& path, std::string& err) {
  std::vector<TestCase> cases;
  std::ifstream in(path);
  std::string line;
  int lineno = 0;
  TestCase cur;
  cur.file = path;
  auto flush = [&] {
    if (!cur.rules.empty() || !cur.invalid.empty()) cases.push_back(std::move(cur));
    cur = TestCase{};
    cur.file = path;
  };
  while (std::getline(in, line)) {
    ++lineno;
    std::string_view l = trim(line);
    if (l.empty() || l[0] == '#') continue;
    if (l == "---") {
      flush();
      continue;
    }
    auto colon = l.find(':');
    if (colon == std::string_view::npos) {
      err = path + ":" + std::to_string(lineno) + ": expected 'key: value'";
      return {};
    }
    std::string_view key = trim(l.substr(0, colon)), val = trim(l.substr(colon + 1));
    auto where = path + ":" + std::to_string(lineno);
    if (key == "rule") {
      if (cur.rules.empty() && cur.invalid.empty()) cur.line = lineno;
      cur.rules.emplace_back(lineno, std::string(val));
    } else if (key == "invalid") {
      if (cur.rules.empty() && cur.invalid.empty()) cur.line = lineno;
      cur.invalid.emplace_back(lineno, std::string(val));
    } else if (key == "packet") {
      TestPacket p;
      p.line = lineno;
      if (!parse_packet_spec(val, p, err)) {
        err = where + ": " + err;
        return {};
      }
      cur.packets.push_back(std::move(p));
    } else if (key == "payload" || key.starts_with("buffer ")) {
      if (cur.packets.empty()) {
        err = where + ": payload before packet";
        return {};
      }
      std::string bytes;
      if (!decode_content(val, bytes, err)) {
        err = where + ": " + err;
        return {};
      }
      if (key == "payload") {
        cur.packets.back().payload = bytes;
      } else {
        auto name = trim(key.substr(7));
        int id = buffer_id(name);
        if (id < 0) {
          err = where + ": unknown buffer " + std::string(name);
          return {};
        }
        cur.packets.back().buffers.emplace_back(id, bytes);
      }
    } else if (key == "expect") {
      if (cur.packets.empty()) {
        err = where + ": expect before packet";
        return {};
      }
      auto& p = cur.packets.back();
      p.expect_set = true;
      if (val != "none") {
        std::istringstream ss{std::string(val)};
        uint32_t sid;
        while (ss >> sid) p.expect.push_back(sid);
      }
    } else {
      err = where + ": unknown key '" + std::string(key) + "'";
      return {};
    }
  }
  flush();
  return cases;
}

std::vector<std::string> test_files() {
  std::vector<std::string> files;
  std::filesystem::path dir = std::filesystem::path(KOMAINU_SOURCE_DIR) / "tests" / "rules";
  if (!std::filesystem::exists(dir)) return files;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().extension() == ".rtest") files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  return files;
}

class RuleFile : public ::testing::TestWithParam<std::string> {};

TEST_P(RuleFile, Cases) {
  std::string err;
  auto cases = read_cases(GetParam(), err);
  ASSERT_TRUE(err.empty()) << err;
  ASSERT_FALSE(cases.empty()) << GetParam() << " holds no cases";
  for (auto& tc : cases) {
    std::string where = tc.file + ":" + std::to_string(tc.line);
    for (auto& [line, text] : tc.invalid) {
      RuleLoader loader;
      loader.load_text(text, tc.file);
      EXPECT_EQ(loader.report().loaded, 0u)
          << tc.file << ":" << line << ": rule should not load: " << text;
    }
    if (tc.rules.empty()) continue;
    RuleLoader loader;
    for (auto& [line, text] : tc.rules) {
      size_t before = loader.report().loaded;
      loader.load_text(text, tc.file);
      if (loader.report().loaded == before) {
        std::string msgs;
        for (auto& e : loader.report().errors) msgs += e.message + "; ";
        for (auto& e : loader.report().warnings) msgs += e.message + "; ";
        ADD_FAILURE() << tc.file << ":" << line << ": rule did not load: " << msgs;
      }
    }
    auto engine = Engine::build(loader.take(), err);
    ASSERT_TRUE(engine) << err;
    auto scratch = engine->new_scratch();
    auto flow_vars = engine->new_flow_vars();
    for (auto& p : tc.packets) {
      InspectBuffers bufs;
      p.pkt.payload = reinterpret_cast<const uint8_t*>(p.payload.data());
      p.pkt.payload_caplen = p.pkt.payload_len = static_cast<uint32_t>(p.payload.size());
      bufs.set(kPayload, p.payload);
      for (auto& [id, bytes] : p.buffers) bufs.set(static_cast<BufferId>(id), bytes);
      std::vector<std::string_view> events(p.event_names.begin(), p.event_names.end());
      InspectContext ctx;
      ctx.pkt = &p.pkt;
      ctx.buffers = &bufs;
      ctx.ts = p.pkt.ts;
      ctx.has_flow = p.has_flow;
      ctx.to_server = p.to_server;
      ctx.established = p.established;
      ctx.is_stream = p.is_stream;
      ctx.app_proto = p.app;
      ctx.flow_vars = flow_vars.get();
      ctx.events = events;
      ctx.bytes_to_server = p.bytes_ts;
      ctx.bytes_to_client = p.bytes_tc;
      std::vector<uint32_t> got;
      for (const Signature* s : engine->inspect(ctx, *scratch)) got.push_back(s->sid);
      std::sort(got.begin(), got.end());
      std::sort(p.expect.begin(), p.expect.end());
      EXPECT_TRUE(p.expect_set) << tc.file << ":" << p.line << ": packet without expect";
      EXPECT_EQ(got, p.expect) << tc.file << ":" << p.line << " (case at " << where << ")";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Keywords, RuleFile, ::testing::ValuesIn(test_files()),
                         [](const auto& info) {
                           auto s = std::filesystem::path(info.param).stem().string();
                           for (auto& c : s)
                             if (!isalnum(static_cast<unsigned char>(c))) c = '_';
                           return s;
                         });

}  // namespace
}  // namespace komainu::sig
