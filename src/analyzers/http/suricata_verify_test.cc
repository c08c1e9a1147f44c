// Payload-level check against suricata-verify: for every test whose checks concern EVE
// `http` or `fileinfo` events, the trace's TCP payloads (clean in-order streams, no
// pipeline) go through the HTTP analyzer, the records are rendered as EVE lines with the
// common flow header, and each check's `match` is evaluated with its expected `count`.
// The pass count is printed; the whole-pipeline version of this lives in tests/.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "analyzers/files/capture_sink.h"
#include "analyzers/files/pcap_streams.h"
#include "analyzers/http/http_session.h"
#include "support/eve_check.h"

namespace komainu::http {
namespace {

class EveLines : public EventSink {
 public:
  explicit EveLines(const FlowContext& flow) : flow_(flow) {}
  void publish(const Record& r) override {
    if (!r.has_eve()) return;
    std::string line;
    JsonWriter w(line);
    char a[64], b[64];
    std::string src(a, flow_.tuple.src.format(a)), dst(b, flow_.tuple.dst.format(b));
    uint16_t sp = flow_.tuple.sport, dp = flow_.tuple.dport;
    if (r.to_client) std::swap(src, dst), std::swap(sp, dp);
    w.begin_object()
        .kv("event_type", r.event_type())
        .kv("src_ip", src)
        .kv("src_port", unsigned(sp))
        .kv("dest_ip", dst)
        .kv("dest_port", unsigned(dp))
        .kv("proto", "TCP")
        .kv("app_proto", "http");
    r.write_eve(w);
    w.end_object();
    lines.push_back(std::move(line));
  }
  std::vector<std::string> lines;

 private:
  const FlowContext& flow_;
};

std::vector<std::string> eve_for_pcap(const std::string& pcap) {
  std::vector<std::string> out;
  for (const auto& c : testing::read_tcp_streams(pcap)) {
    // Content decides, as the flow stage's probing does.
    bool http = false, seen[2] = {false, false};
    for (const auto& ch : c.chunks) {
      if (ch.bytes.empty() || seen[ch.dir]) continue;
      seen[ch.dir] = true;
      http |= probe_http(ch.bytes, ch.dir ? Direction::kToClient : Direction::kToServer,
                         c.resp_port) == ProbeResult::kYes;
    }
    if (!http) continue;
    FlowContext flow;
    flow.uid = "C" + std::to_string(c.orig_port);
    flow.tuple.src = IpAddr::parse(c.orig_ip).value_or(IpAddr{});
    flow.tuple.dst = IpAddr::parse(c.resp_ip).value_or(IpAddr{});
    flow.tuple.sport = c.orig_port;
    flow.tuple.dport = c.resp_port;
    flow.tuple.proto = 6;
    EveLines sink(flow);
    HttpSession s(SessionContext{&sink, &flow});
    TimeNs last = 0;
    for (const auto& ch : c.chunks) {
      Direction d = ch.dir == 0 ? Direction::kToServer : Direction::kToClient;
      if (ch.gap)
        s.on_gap(d, ch.gap, ch.ts_ns);
      else
        s.on_data(d, ch.bytes, ch.ts_ns);
      last = ch.ts_ns;
    }
    s.on_close(last);
    for (auto& l : sink.lines) out.push_back(std::move(l));
  }
  return out;
}

TEST(HttpSuricataVerify, PayloadLevelChecks) {
  namespace fs = std::filesystem;
  const fs::path sv = fs::path(KOMAINU_SHARED_DIR) / "corpus/suricata-verify";
  if (!fs::exists(sv)) GTEST_SKIP() << "suricata-verify corpus not found at " << sv;
  std::vector<fs::path> dirs;
  for (const auto& d : fs::directory_iterator(sv))
    if (fs::exists(d.path() / "expected.json")) dirs.push_back(d.path());
  std::sort(dirs.begin(), dirs.end());
  simdjson::dom::parser parser, event_parser;
  size_t checks = 0, passed = 0, tests = 0, tests_passed = 0;
  std::vector<std::string> failures;
  for (const auto& dir : dirs) {
    simdjson::padded_string json;
    if (simdjson::padded_string::load((dir / "expected.json").string()).get(json)) continue;
    simdjson::dom::element root;
    if (parser.parse(json).get(root)) continue;
    std::vector<std::pair<simdjson::dom::object, int64_t>> mine;  // match, count (-1: >=1)
    for (auto check : root["other_checks"].get_array()) {
      auto filter = check["filter"];
      if (filter.error()) continue;
      auto match = filter["match"].get_object();
      if (match.error()) continue;
      std::string_view type;
      if (match.value()["event_type"].get(type) || (type != "http" && type != "fileinfo")) continue;
      int64_t count = -1;
      if (auto c = filter["count"].get_int64(); !c.error()) count = c.value();
      mine.push_back({match.value(), count});
    }
    if (mine.empty()) continue;
    std::string_view pcap;
    if (root["pcap"].get(pcap)) continue;
    std::vector<std::string> eve = eve_for_pcap((dir / std::string(pcap)).string());
    ++tests;
    bool all = true;
    for (const auto& [match, count] : mine) {
      ++checks;
      int64_t n = 0;
      for (const auto& line : eve) {
        simdjson::dom::element ev;
        if (event_parser.parse(line).get(ev)) continue;
        if (testing::event_matches(ev, match)) ++n;
      }
      bool ok = count < 0 ? n >= 1 : n == count;
      passed += ok;
      all &= ok;
      if (!ok)
        failures.push_back(dir.filename().string() + ": " + simdjson::minify(match) + " want " +
                           std::to_string(count) + " got " + std::to_string(n));
    }
    tests_passed += all;
  }
  for (const auto& f : failures) printf("  FAIL %s\n", f.c_str());
  printf("suricata-verify http/fileinfo checks (payload-level): %zu/%zu checks, %zu/%zu tests\n",
         passed, checks, tests_passed, tests);
  EXPECT_GT(checks, 50u);
  EXPECT_GE(passed * 100, checks * 70) << passed << "/" << checks;
}

}  // namespace
}  // namespace komainu::http
