// Parser, variables and load-report tests, and the ET Open / VPN corpus load targets.
// Per-keyword matching cases are declarative: tests/rules/*.rtest (rule_files_test.cc).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "detect/signatures/engine.h"

namespace komainu::sig {
namespace {

Signature parse_ok(std::string_view text) {
  RuleLoader loader;
  Signature s;
  std::string err, unsupported;
  auto r = loader.parse_rule(text, "t.rules", 1, s, err, unsupported);
  EXPECT_EQ(r, ParseOutcome::kLoaded) << err << unsupported;
  return s;
}

TEST(RuleParser, HeaderVariablesGroupsNegation) {
  auto s = parse_ok(
      "alert tcp [$HOME_NET,!10.1.0.0/16] ![80,443] -> $EXTERNAL_NET 1024: "
      "(msg:\"x\"; sid:1;)");
  EXPECT_TRUE(s.src.match(*IpAddr::parse("10.2.3.4")));
  EXPECT_FALSE(s.src.match(*IpAddr::parse("10.1.3.4")));
  EXPECT_FALSE(s.src.match(*IpAddr::parse("8.8.8.8")));
  EXPECT_TRUE(s.dst.match(*IpAddr::parse("8.8.8.8")));
  EXPECT_FALSE(s.dst.match(*IpAddr::parse("192.168.1.1")));
  EXPECT_FALSE(s.sport.match(80));
  EXPECT_TRUE(s.sport.match(81));
  EXPECT_TRUE(s.dport.match(1024));
  EXPECT_FALSE(s.dport.match(1023));
}

TEST(RuleParser, NestedGroupsAndRanges) {
  auto s = parse_ok(
      "alert udp [1.2.3.0/24,[5.6.7.8,![9.9.9.9]]] [1:10,!5,[20:30,!25]] <> any any "
      "(msg:\"x\"; sid:2;)");
  EXPECT_TRUE(s.bidirectional);
  EXPECT_TRUE(s.src.match(*IpAddr::parse("1.2.3.9")));
  EXPECT_TRUE(s.sport.match(3));
  EXPECT_FALSE(s.sport.match(5));
  EXPECT_TRUE(s.sport.match(21));
  EXPECT_FALSE(s.sport.match(25));
  EXPECT_FALSE(s.sport.match(40));
}

TEST(RuleParser, EscapesAndHex) {
  auto s = parse_ok(
      R"(alert tcp any any -> any any (msg:"a \"quoted\" \; msg"; content:"a\;b|0d 0A|\"\\"; sid:3;))");
  EXPECT_EQ(s.msg, "a \"quoted\" ; msg");
  ASSERT_EQ(s.lists.size(), 1u);
  EXPECT_EQ(std::get<Content>(s.lists[0].items[0]).pattern, std::string("a;b\r\n\"\\"));
}

TEST(RuleParser, UnescapedQuoteInsidePcreLikeSuricata) {
  // ET sid 2029732: a '"' inside the regex; options end at unescaped ';' only.
  auto s = parse_ok(
      R"(alert http any any -> any any (msg:"q"; content:"x"; pcre:"/^["']?post/Ri"; sid:4;))");
  EXPECT_EQ(s.sid, 4u);
}

TEST(RuleParser, MultiLineAndComments) {
  RuleLoader loader;
  loader.load_text(
      "# comment\n"
      "#alert tcp any any -> any any (msg:\"disabled\"; sid:9;)\n"
      "alert tcp any any -> any any (msg:\"multi\"; \\\n"
      "   content:\"abc\"; \\\n"
      "   sid:10;)\n"
      "\n"
      "drop tcp any any -> any any (msg:\"drop\"; sid:11;)\n",
      "m.rules");
  EXPECT_EQ(loader.report().loaded, 2u);
  auto set = loader.take();
  EXPECT_EQ(set.sigs[0].line, 3);
  EXPECT_EQ(set.sigs[1].action, Action::kDrop);
}

TEST(RuleParser, ErrorsNameFileAndLineAndLoadingGoesOn) {
  RuleLoader loader;
  loader.load_text(
      "alert tcp any any -> any any (msg:\"ok\"; sid:1;)\n"
      "alert tcp any any => any any (msg:\"bad dir\"; sid:2;)\n"
      "alert tcp any any -> any any (msg:\"unk\"; frobnicate:3; sid:3;)\n"
      "alert tcp any any -> any any (msg:\"ok2\"; sid:4;)\n",
      "e.rules");
  const auto& r = loader.report();
  EXPECT_EQ(r.loaded, 2u);
  EXPECT_EQ(r.skipped, 2u);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].where(), "e.rules:2");
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_EQ(r.warnings[0].sid, 3u);
  EXPECT_EQ(r.warnings[0].keyword, "frobnicate");
  EXPECT_EQ(r.skipped_by_keyword.at("frobnicate"), 1u);
  auto json = r.to_json();
  EXPECT_NE(json.find("\"loaded\":2"), std::string::npos) << json;
  EXPECT_NE(json.find("\"skipped_by_keyword\":{\"frobnicate\":1}"), std::string::npos) << json;
}

TEST(RuleVars, YamlOverridesDefaults) {
  RuleVars v;
  std::string err;
  ASSERT_TRUE(
      v.load_yaml_text("vars:\n  address-groups:\n    HOME_NET: \"[198.51.100.0/24]\"\n"
                       "  port-groups:\n    HTTP_PORTS: \"[80,8080]\"\n",
                       err))
      << err;
  AddrExpr a;
  ASSERT_TRUE(v.parse_address("$EXTERNAL_NET", a, err)) << err;
  EXPECT_FALSE(a.match(*IpAddr::parse("198.51.100.7")));
  EXPECT_TRUE(a.match(*IpAddr::parse("10.0.0.1")));
  PortExpr p;
  ASSERT_TRUE(v.parse_port("$HTTP_PORTS", p, err));
  EXPECT_TRUE(p.match(8080));
  EXPECT_FALSE(v.parse_address("$NOPE", a, err));
  v.set_address("LOOP", "$LOOP");
  EXPECT_FALSE(v.parse_address("$LOOP", a, err));
}

TEST(RuleParser, ProtocolsWithoutAnalyzerAreNamedUnsupported) {
  RuleLoader loader;
  loader.load_text(
      "alert sip any any -> any any (msg:\"hdr\"; sid:1;)\n"
      "alert tcp any any -> any any (msg:\"aproto\"; app-layer-protocol:pgsql; sid:2;)\n"
      "alert tcp any any -> any any (msg:\"neg\"; app-layer-protocol:!pgsql; sid:3;)\n"
      "alert ip any any -> any any (msg:\"ev\"; app-layer-event:mqtt.missing_connect; sid:4;)\n"
      "alert tcp any any -> any any (msg:\"buf\"; sip.method; content:\"x\"; sid:5;)\n"
      "alert http any any -> any any (msg:\"ok\"; http.uri; content:\"/a\"; sid:6;)\n"
      "alert tcp any any -> any any (msg:\"ok\"; app-layer-protocol:failed; sid:7;)\n"
      "alert ip any any -> any any (msg:\"ok\"; app-layer-event:dns.z_flag_set; sid:8;)\n"
      "alert dnp3 any any -> any any (msg:\"dnp3\"; sid:9;)\n",
      "p.rules");
  const auto& r = loader.report();
  EXPECT_EQ(r.loaded, 4u);  // 3, 6, 7, 8
  EXPECT_EQ(r.skipped, 5u);
  EXPECT_EQ(r.skipped_by_keyword.at("app-layer protocol 'sip' (no analyzer)"), 2u);
  EXPECT_EQ(r.skipped_by_keyword.at("app-layer protocol 'pgsql' (no analyzer)"), 1u);
  EXPECT_EQ(r.skipped_by_keyword.at("app-layer protocol 'mqtt' (no analyzer)"), 1u);
  EXPECT_EQ(r.skipped_by_keyword.at("app-layer protocol 'dnp3' (no analyzer)"), 1u);
  ASSERT_FALSE(r.warnings.empty());
  EXPECT_EQ(r.warnings[0].message,
            "unsupported app-layer protocol 'sip' (no analyzer): rule skipped");
  EXPECT_TRUE(r.errors.empty());
}

TEST(FastPattern, StrongestContentUnlessGiven) {
  auto s = parse_ok(
      "alert tcp any any -> any any (msg:\"x\"; content:\"aaaa\"; content:\"|00 01 ff|zq\"; "
      "sid:1;)");
  EXPECT_EQ(s.fp_item, 1);
  s = parse_ok(
      "alert tcp any any -> any any (msg:\"x\"; content:\"aaaa\"; fast_pattern; "
      "content:\"|00 01 ff|zq\"; sid:1;)");
  EXPECT_EQ(s.fp_item, 0);
  // Same length: the stronger one ("abcd" beats "aaaa").
  s = parse_ok(
      "alert tcp any any -> any any (msg:\"x\"; content:\"aaaa\"; content:\"abcd\"; sid:1;)");
  EXPECT_EQ(s.fp_item, 1);
  // App-layer buffers first, http.method last.
  s = parse_ok(
      "alert http any any -> any any (msg:\"x\"; content:\"long payload text\"; http.method; "
      "content:\"POST\"; http.uri; content:\"/a\"; sid:1;)");
  ASSERT_GE(s.fp_list, 0);
  EXPECT_EQ(s.lists[s.fp_list].buffer, buffer_id("http.uri"));
  s = parse_ok(
      "alert http any any -> any any (msg:\"x\"; content:\"ab\"; http.method; "
      "content:\"POSTPOSTPOST\"; sid:1;)");
  EXPECT_EQ(s.lists[s.fp_list].buffer, 0);
}

TEST(Classification, DefaultsAndPriority) {
  auto c = Classifications::defaults();
  EXPECT_GT(c.size(), 40u);
  auto s = parse_ok("alert tcp any any -> any any (msg:\"x\"; classtype:trojan-activity; sid:1;)");
  EXPECT_EQ(s.priority, 1);
  EXPECT_EQ(s.class_description, "A Network Trojan was detected");
  auto a = alert_info(s);
  EXPECT_EQ(a.severity, 1);
}

// --- corpus targets -------------------------------------------------------------------------

std::vector<std::string> rule_files(const std::filesystem::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().extension() == ".rules") out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

TEST(Corpus, EtOpenLoadsAtLeast97Percent) {
  std::filesystem::path et = std::filesystem::path(KOMAINU_SHARED_DIR) / "corpus/rules/et-open";
  if (!std::filesystem::exists(et)) GTEST_SKIP() << "no ET Open corpus at " << et;
  std::vector<std::string> files;
  for (auto sub : {"2025-08", "2024-04-supplement"})
    for (auto& f : rule_files(et / sub)) files.push_back(f);
  auto r = check_rules(files);
  double share = double(r.loaded + r.duplicates) / double(r.loaded + r.duplicates + r.skipped);
  std::cout << r.to_text() << "load time " << r.load_seconds << " s, share " << share << "\n";
  EXPECT_GE(share, 0.97);
}

TEST(Corpus, VpnAppliancesLoadCompletely) {
  auto f = std::filesystem::path(KOMAINU_SHARED_DIR) / "corpus/rules/vpn-appliances.rules";
  if (!std::filesystem::exists(f)) GTEST_SKIP() << "no " << f;
  auto r = check_rules({f.string()});
  std::cout << r.to_text(true);
  EXPECT_EQ(r.skipped, 0u);
  EXPECT_GT(r.loaded, 100u);
}

}  // namespace
}  // namespace komainu::sig

namespace komainu::sig {
namespace {
// The compiled ranges must agree with the expression tree they come from.
TEST(IpRanges, AgreeWithExpressionTree) {
  RuleVars v;
  std::string err;
  const char* exprs[] = {"any",
                         "!any",
                         "$HOME_NET",
                         "$EXTERNAL_NET",
                         "[$HOME_NET,!10.1.0.0/16]",
                         "![10.0.0.0/8,!10.5.0.0/16]",
                         "[1.2.3.0/24,[5.6.7.8,![9.9.9.9]]]",
                         "[!1.2.3.4]",
                         "[2001:db8::/32,!2001:db8::1]",
                         "0.0.0.0/0"};
  uint32_t seed = 12345;
  for (const char* e : exprs) {
    AddrExpr a;
    ASSERT_TRUE(v.parse_address(e, a, err)) << e << ": " << err;
    auto r = IpRanges::compile(a);
    for (int i = 0; i < 2000; ++i) {
      seed = seed * 1103515245 + 12345;
      uint32_t x = seed;
      // Bias toward the interesting prefixes.
      if (i % 4 == 0) x = (10u << 24) | (x & 0xffffff);
      if (i % 4 == 1) x = (10u << 24) | (5u << 16) | (x & 0xffff);
      if (i % 8 == 2) x = (9u << 24) | (9u << 16) | (9u << 8) | 9u;
      IpAddr ip = IpAddr::v4(x);
      if (i % 16 == 3) ip = *IpAddr::parse(i % 32 == 3 ? "2001:db8::1" : "2001:db8::2");
      ASSERT_EQ(r.match(ip), a.match(ip)) << e << " " << ip.str();
    }
  }
}
}  // namespace
}  // namespace komainu::sig

namespace komainu::sig {
namespace {
TEST(KeywordRegistry, EveryKeywordParsesAndNamesAreUnique) {
  auto all = KeywordRegistry::sorted();
  EXPECT_GT(all.size(), 150u);
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_NE(all[i]->parse, nullptr) << all[i]->name;
    if (i) {
      EXPECT_NE(all[i]->name, all[i - 1]->name);
    }
  }
  // KOMAINU_PRINT_KEYWORDS=1 prints the table kept in docs/rules.md.
  if (getenv("KOMAINU_PRINT_KEYWORDS"))
    for (const auto* k : all)
      std::cout << "| `" << k->name << "` | " << (k->matches ? "yes" : "parse only") << " | "
                << k->note << " |\n";
}

// Snort 3 syntax is a bonus: the count is reported, not a target.
TEST(Corpus, Snort3CommunityReport) {
  auto f = std::filesystem::path(KOMAINU_SHARED_DIR) /
           "corpus/rules/snort3-community/snort3-community.rules";
  if (!std::filesystem::exists(f)) GTEST_SKIP() << "no " << f;
  auto r = check_rules({f.string()});
  std::cout << r.to_text();
  std::map<std::string, size_t> reasons;
  for (const auto& e : r.errors) ++reasons[e.message.substr(0, e.message.find('\''))];
  for (const auto& [m, n] : reasons) std::cout << "  " << n << " x " << m << "\n";
  EXPECT_GT(r.loaded + r.skipped, 4000u);
}
}  // namespace
}  // namespace komainu::sig

namespace komainu::sig {
namespace {
// An IPv4 TCP packet 10.0.0.1 -> 192.0.2.1 carrying `payload` (which must outlive it).
Packet tcp_packet(const std::string& payload) {
  Packet p;
  p.ip_version = 4;
  p.proto = 6;
  p.l4_valid = true;
  p.src = *IpAddr::parse("10.0.0.1");
  p.dst = *IpAddr::parse("192.0.2.1");
  p.payload = reinterpret_cast<const uint8_t*>(payload.data());
  p.payload_caplen = static_cast<uint32_t>(payload.size());
  return p;
}

TEST(Alert, EveFieldsFromSignature) {
  RuleLoader loader;
  loader.load_text(
      "drop tcp any any -> any any (msg:\"ET TEST x\"; content:\"abc\"; "
      "classtype:attempted-admin; sid:2000001; rev:7; metadata:created_at 2024_01_01, "
      "tag CISA_KEV, tag Exploit;)",
      "a.rules");
  std::string err;
  auto engine = Engine::build(loader.take(), err);
  ASSERT_TRUE(engine) << err;
  auto scratch = engine->new_scratch();
  static const std::string payload = "xxabcxx";
  Packet p = tcp_packet(payload);
  InspectContext c;
  c.pkt = &p;
  c.ts = 1700000000 * kNsPerSec;
  auto hits = engine->inspect(c, *scratch);
  ASSERT_EQ(hits.size(), 1u);
  AlertRecord rec;
  fill_alert_record(*hits[0], c, nullptr, rec);
  std::string out;
  JsonWriter w(out);
  w.begin_object();
  rec.write_eve(w);
  w.end_object();
  EXPECT_EQ(out,
            "{\"src_ip\":\"10.0.0.1\",\"dest_ip\":\"192.0.2.1\",\"alert\":{\"action\":\"allowed\","
            "\"gid\":1,\"signature_id\":2000001,\"rev\":7,\"signature\":\"ET TEST x\","
            "\"category\":\"Attempted Administrator Privilege Gain\",\"severity\":1,"
            "\"metadata\":{\"created_at\":[\"2024_01_01\"],\"tag\":[\"CISA_KEV\",\"Exploit\"]}}}");
  EXPECT_EQ(rec.ts, c.ts);
}
}  // namespace
}  // namespace komainu::sig

namespace komainu::sig {
namespace {
// Compiled prefilter databases cached across builds: the second build reads every database,
// matches the same, and a damaged cache file is counted and compiled again.
TEST(Engine, HyperscanCacheRoundTrip) {
  std::string dir = ::testing::TempDir() + "komainu-hs-cache-" + std::to_string(getpid());
  std::filesystem::remove_all(dir);
  const char* rules =
      "alert tcp any any -> any any (msg:\"a\"; content:\"abc\"; sid:1;)\n"
      "alert udp any any -> any any (msg:\"b\"; content:\"xyz\"; nocase; sid:2;)\n";
  auto build = [&](size_t* cached, size_t* errors, size_t* dbs) {
    RuleLoader loader;
    loader.load_text(rules, "c.rules");
    std::string err;
    BuildOptions opt;
    opt.hs_cache_dir = dir;
    auto e = Engine::build(loader.take(), err, opt);
    EXPECT_TRUE(e) << err;
    *cached = e->stats().databases_cached;
    *errors = e->stats().cache_errors;
    *dbs = e->stats().databases;
    // Still matches.
    auto scratch = e->new_scratch();
    static const std::string payload = "xxabcxx";
    Packet p = tcp_packet(payload);
    InspectContext c;
    c.pkt = &p;
    EXPECT_EQ(e->inspect(c, *scratch).size(), 1u);
  };
  // Each rule is in a group per direction: the two groups' databases are the same inputs,
  // so even the first build compiles only half of them.
  size_t cached, errors, dbs;
  build(&cached, &errors, &dbs);
  ASSERT_EQ(dbs, 4u);
  EXPECT_EQ(cached, 2u);
  EXPECT_EQ(errors, 0u);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir), {}), 2);
  build(&cached, &errors, &dbs);
  EXPECT_EQ(cached, dbs);
  // Damage every cache file: counted, compiled again, rewritten.
  for (const auto& f : std::filesystem::directory_iterator(dir))
    std::ofstream(f.path(), std::ios::binary | std::ios::trunc) << "not a database";
  build(&cached, &errors, &dbs);
  EXPECT_EQ(errors, 2u);
  EXPECT_EQ(cached, 2u);  // the second group of each pair reads the rewritten file
  build(&cached, &errors, &dbs);
  EXPECT_EQ(cached, dbs);
  EXPECT_EQ(errors, 0u);
  std::filesystem::remove_all(dir);
}
}  // namespace
}  // namespace komainu::sig
