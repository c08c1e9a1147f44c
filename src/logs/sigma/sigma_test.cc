// Sigma engine: every modifier and condition form, correlations, load reasons, and load
// counts over the corpus rules. Rules are inline YAML; events are JSON records as a
// source would hand them over (ev.json set), on the azure/signinlogs source.
#include "logs/sigma/sigma.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "logs/model/test_util.h"

namespace komainu::logs {
namespace {
using testing::CollectingSink;

struct Fixture {
  SigmaEngine engine;
  CollectingSink sink;
  simdjson::dom::parser parser;
  std::string text;

  explicit Fixture(const std::string& rules, const std::string& config = "") {
    if (!config.empty()) {
      SigmaLoadOptions o;
      o.config = YAML::Load(config);
      std::string err;
      EXPECT_TRUE(engine.configure(o, &err)) << err;
    }
    engine.load_text(rules, "test.yml");
  }
  // Number of alerts the record raises.
  size_t match(const std::string& json, TimeNs ts = 1000 * kNsPerSec,
               std::string_view kind = "entra_signin") {
    LogEvent ev;
    ev.kind = kind;
    ev.ts = ts;
    text = json;
    auto doc = parser.parse(text);
    EXPECT_FALSE(doc.error()) << json;
    ev.json = doc.value_unsafe();
    ev.has_json = true;
    ev.raw_is_json = true;
    ev.raw = text;
    size_t before = sink.items.size();
    engine.on_event(ev, sink);
    return sink.items.size() - before;
  }
};

std::string rule(const std::string& detection, const std::string& extra = "") {
  return "title: t\nid: 11111111-2222-3333-4444-555555555555\n" + extra +
         "logsource:\n  product: azure\n  service: signinlogs\ndetection:\n" + detection +
         "level: high\ntags:\n  - attack.credential-access\n  - attack.t1110.003\n";
}

TEST(Sigma, EqualsIsCaseInsensitiveWithWildcardsAndEscapes) {
  Fixture f(
      rule("  sel:\n    Image: 'C:\\Windows\\\\*\\cmd.exe'\n    Name: 'a?c'\n    Lit: 'x\\*y'\n  "
           "condition: sel\n"));
  ASSERT_EQ(f.engine.report().loaded, 1u) << f.engine.report().errors[0];
  EXPECT_EQ(f.match(R"({"Image":"c:\\windows\\system32\\CMD.EXE","Name":"abc","Lit":"x*y"})"), 1u);
  EXPECT_EQ(f.match(R"({"Image":"c:\\windows\\system32\\CMD.EXE","Name":"abc","Lit":"xzy"})"), 0u);
  EXPECT_EQ(f.match(R"({"Image":"c:\\windows\\cmd.exe","Name":"abbc","Lit":"x*y"})"), 0u);
}

TEST(Sigma, ContainsStartswithEndswithAll) {
  Fixture f(rule(
      "  sel:\n    CommandLine|contains|all:\n      - ' -enc '\n      - 'hidden'\n"
      "    Image|endswith: '\\powershell.exe'\n    User|startswith: 'adm'\n  condition: sel\n"));
  EXPECT_EQ(
      f.match(
          R"({"CommandLine":"x -ENC abc -w HIDDEN","Image":"C:\\p\\PowerShell.exe","User":"Admin"})"),
      1u);
  EXPECT_EQ(
      f.match(R"({"CommandLine":"x -enc abc","Image":"C:\\p\\powershell.exe","User":"admin"})"),
      0u);
  EXPECT_EQ(
      f.match(R"({"CommandLine":"-enc hidden","Image":"C:\\p\\powershell.exe","User":"root"})"),
      0u);
}

// Case-insensitive contains at every offset of haystacks around the 16-byte blocks of the
// search, needles of 1, 2 and more than 16 bytes, and near misses.
TEST(Sigma, ContainsAtEveryOffsetAndLength) {
  const std::vector<std::string> needles = {"q", "qz", "quizzical", "q0123456789abcdefghijz"};
  for (const auto& n : needles) {
    Fixture f(rule("  sel:\n    Ua|contains: '" + n + "'\n  condition: sel\n"));
    ASSERT_EQ(f.engine.report().loaded, 1u);
    for (size_t len = n.size(); len < 50; ++len) {
      for (size_t at = 0; at + n.size() <= len; ++at) {
        std::string hay(len, 'a');
        std::string up = n;
        for (auto& c : up) c = char(toupper(uint8_t(c)));
        hay.replace(at, n.size(), at % 2 ? up : n);
        EXPECT_EQ(f.match("{\"Ua\":\"" + hay + "\"}"), 1u) << n << " in " << hay;
        // Same first and last byte, different middle: no match unless one byte long.
        if (n.size() > 2) {
          std::string near = std::string(len, 'a');
          std::string m = n;
          m[1] = 'Y';
          near.replace(at, n.size(), m);
          EXPECT_EQ(f.match("{\"Ua\":\"" + near + "\"}"), 0u) << n << " in " << near;
        }
      }
      EXPECT_EQ(f.match("{\"Ua\":\"" + std::string(len, 'a') + "\"}"), 0u) << len;
    }
  }
}

TEST(Sigma, RegexCaseSensitiveByDefaultAndFlags) {
  Fixture f(
      rule("  a:\n    F|re: '^ab+c$'\n  b:\n    G|re|i: '^hello$'\n  c:\n    H|re|m: '^two$'\n"
           "  d:\n    I|re|s: 'a.b'\n  condition: a and b and c and d\n"));
  EXPECT_EQ(f.match(R"({"F":"abbbc","G":"HeLLo","H":"one\ntwo\nthree","I":"a\nb"})"), 1u);
  EXPECT_EQ(f.match(R"({"F":"ABC","G":"HeLLo","H":"one\ntwo\nthree","I":"a\nb"})"), 0u);
  EXPECT_EQ(f.match(R"({"F":"abc","G":"HeLLo","H":"one two","I":"a\nb"})"), 0u);
}

TEST(Sigma, CidrV4AndV6) {
  Fixture f(
      rule("  sel:\n    IpAddr|cidr:\n      - '10.0.0.0/8'\n      - '2001:db8::/32'\n  condition: "
           "sel\n"));
  EXPECT_EQ(f.match(R"({"IpAddr":"10.1.2.3"})"), 1u);
  EXPECT_EQ(f.match(R"({"IpAddr":"2001:db8::7"})"), 1u);
  EXPECT_EQ(f.match(R"({"IpAddr":"11.1.2.3"})"), 0u);
}

TEST(Sigma, Base64AndBase64OffsetAndWide) {
  // pySigma's reference encodings of "foobar" at offsets 0..2.
  Fixture f(rule("  sel:\n    P|base64offset|contains: 'foobar'\n  condition: sel\n"));
  EXPECT_EQ(f.match(R"({"P":"xxZm9vYmFyxx"})"), 1u);
  EXPECT_EQ(f.match(R"({"P":"xxZvb2Jhcxx"})"), 1u);
  EXPECT_EQ(f.match(R"({"P":"xxmb29iYXxx"})"), 1u);
  EXPECT_EQ(f.match(R"({"P":"foobar"})"), 0u);
  Fixture g(rule("  sel:\n    P|base64: 'cmd'\n  condition: sel\n"));
  EXPECT_EQ(g.match(R"({"P":"Y21k"})"), 1u);
  EXPECT_EQ(g.match(R"({"P":"y21k"})"), 0u) << "encoded values are case-sensitive";
  // "cmd" as UTF-16LE = 63 00 6d 00 64 00 -> "YwBtAGQA"
  Fixture h(rule("  sel:\n    P|wide|base64: 'cmd'\n  condition: sel\n"));
  EXPECT_EQ(h.match(R"({"P":"YwBtAGQA"})"), 1u);
  Fixture be(rule("  sel:\n    P|utf16be|base64: 'cmd'\n  condition: sel\n"));
  EXPECT_EQ(be.match(R"({"P":"AGMAbQBk"})"), 1u);
  Fixture bom(rule("  sel:\n    P|utf16|base64: 'cmd'\n  condition: sel\n"));
  EXPECT_EQ(bom.match(R"({"P":"//5jAG0AZAA="})"), 1u);
  Fixture le(rule("  sel:\n    P|utf16le|base64offset|contains: 'cmd'\n  condition: sel\n"));
  EXPECT_EQ(le.match(R"({"P":"AAYwBtAGQAAA"})"), 1u);
}

TEST(Sigma, Windash) {
  Fixture f(rule("  sel:\n    CommandLine|windash|contains: ' -exec bypass'\n  condition: sel\n"));
  EXPECT_EQ(f.match(R"({"CommandLine":"powershell /exec bypass"})"), 1u);
  EXPECT_EQ(f.match(R"({"CommandLine":"powershell \u2013exec bypass"})"), 1u);
  EXPECT_EQ(f.match(R"({"CommandLine":"powershell -exec bypass"})"), 1u);
  EXPECT_EQ(f.match(R"({"CommandLine":"powershell exec bypass"})"), 0u);
}

TEST(Sigma, ExistsNumericCasedNeqNullEmpty) {
  Fixture f(
      rule("  sel:\n    A|exists: true\n    B|exists: false\n    N|gte: 10\n    M|lt: 5\n"
           "    C|cased: 'MiXeD'\n    D|neq: 'bad'\n    E: null\n    G: ''\n  condition: sel\n"));
  EXPECT_EQ(f.match(R"({"A":"x","N":10,"M":"4","C":"MiXeD","D":"ok","G":""})"), 1u);
  EXPECT_EQ(f.match(R"({"A":"x","B":1,"N":10,"M":4,"C":"MiXeD","D":"ok"})"), 0u);
  EXPECT_EQ(f.match(R"({"A":"x","N":9,"M":4,"C":"MiXeD","D":"ok"})"), 0u);
  EXPECT_EQ(f.match(R"({"A":"x","N":10,"M":5,"C":"MiXeD","D":"ok"})"), 0u);
  EXPECT_EQ(f.match(R"({"A":"x","N":10,"M":4,"C":"mixed","D":"ok"})"), 0u);
  EXPECT_EQ(f.match(R"({"A":"x","N":10,"M":4,"C":"MiXeD","D":"bad"})"), 0u);
  EXPECT_EQ(f.match(R"({"A":"x","N":10,"M":4,"C":"MiXeD","D":"ok","E":"set"})"), 0u);
  Fixture g(rule("  sel:\n    N|gt: 1\n    N|lte: 3\n  condition: sel\n"));
  EXPECT_EQ(g.match(R"({"N":3})"), 1u);
  EXPECT_EQ(g.match(R"({"N":1})"), 0u);
}

TEST(Sigma, FieldrefAndExpandAndTimeParts) {
  Fixture f(rule("  sel:\n    Target|fieldref: Source\n  condition: sel\n"));
  EXPECT_EQ(f.match(R"({"Source":"a","Target":"A"})"), 1u);
  EXPECT_EQ(f.match(R"({"Source":"a","Target":"b"})"), 0u);
  Fixture g(rule("  sel:\n    User|expand: '%admins%'\n  condition: sel\n"),
            "placeholders:\n  admins: [root, administrator]\n");
  EXPECT_EQ(g.match(R"({"User":"Administrator"})"), 1u);
  EXPECT_EQ(g.match(R"({"User":"bob"})"), 0u);
  Fixture h(rule("  sel:\n    User|expand: '%nope%'\n  condition: sel\n"));
  EXPECT_EQ(h.engine.report().skipped_by_reason.count("unknown_placeholder:nope"), 1u);
  Fixture t(rule("  sel:\n    createdDateTime|hour|gte: 22\n  condition: sel\n"));
  EXPECT_EQ(t.match(R"({"createdDateTime":"2025-01-01T23:10:00Z"})"), 1u);
  EXPECT_EQ(t.match(R"({"createdDateTime":"2025-01-01T09:10:00Z"})"), 0u);
}

TEST(Sigma, ConditionForms) {
  const std::string sels = "  sel_a:\n    A: 1\n  sel_b:\n    B: 1\n  filter:\n    C: 1\n";
  auto count = [&](const std::string& cond, const std::string& json) {
    Fixture f(rule(sels + "  condition: " + cond + "\n"));
    EXPECT_EQ(f.engine.report().loaded, 1u) << cond;
    return f.match(json);
  };
  EXPECT_EQ(count("sel_a and not filter", R"({"A":1})"), 1u);
  EXPECT_EQ(count("sel_a and not filter", R"({"A":1,"C":1})"), 0u);
  EXPECT_EQ(count("sel_a or sel_b", R"({"B":1})"), 1u);
  EXPECT_EQ(count("(sel_a or sel_b) and filter", R"({"B":1})"), 0u);
  EXPECT_EQ(count("sel_a or sel_b and filter", R"({"A":1})"), 1u) << "and binds tighter";
  EXPECT_EQ(count("1 of sel_*", R"({"B":1})"), 1u);
  EXPECT_EQ(count("all of sel_*", R"({"B":1})"), 0u);
  EXPECT_EQ(count("all of sel_*", R"({"A":1,"B":1})"), 1u);
  EXPECT_EQ(count("1 of them", R"({"C":1})"), 1u);
  EXPECT_EQ(count("all of them", R"({"A":1,"B":1})"), 0u);
  EXPECT_EQ(count("all of them", R"({"A":1,"B":1,"C":1})"), 1u);
  EXPECT_EQ(count("not 1 of sel_*", R"({"C":1})"), 1u);
}

TEST(Sigma, ListOfMapsAndKeywords) {
  Fixture f(rule(
      "  sel:\n    - A: 1\n      B: 2\n    - C: 3\n  keywords:\n    - 'evil'\n    - 'bad*thing'\n"
      "  condition: sel or keywords\n"));
  EXPECT_EQ(f.match(R"({"A":1,"B":2})"), 1u);
  EXPECT_EQ(f.match(R"({"A":1,"B":3})"), 0u);
  EXPECT_EQ(f.match(R"({"C":3})"), 1u);
  EXPECT_EQ(f.match(R"({"X":"very EVIL"})"), 1u);
  EXPECT_EQ(f.match(R"({"X":"bad other thing"})"), 1u);
}

TEST(Sigma, AlertCarriesIdTitleLevelTagsAndRecord) {
  Fixture f(rule("  sel:\n    ResultType: 50126\n  condition: sel\n"));
  // ResultType maps to the normalised result_code (mapping.yaml); set it on the event.
  LogEvent ev;
  ev.kind = "entra_signin";
  ev.ts = 5 * kNsPerSec;
  ev.result_code = "50126";
  ev.user = "a@contoso.com";
  ev.src_ip = "1.2.3.4";
  f.engine.on_event(ev, f.sink);
  ASSERT_EQ(f.sink.items.size(), 1u);
  const auto& a = f.sink.items[0];
  EXPECT_EQ(a.gid, kSigmaGid);
  EXPECT_EQ(a.sid, sigma_sid("11111111-2222-3333-4444-555555555555"));
  EXPECT_EQ(a.severity, 1);
  for (const char* s : {"\"sigma_id\":[\"11111111-2222-3333-4444-555555555555\"]",
                        "\"mitre_tactic_id\":[\"TA0006\"]",
                        "\"mitre_technique_id\":[\"T1110.003\"]", "\"user\":[\"a@contoso.com\"]",
                        "\"domain\":[\"contoso.com\"]", "\"ip\":[\"1.2.3.4\"]", "\"log\":{"})
    EXPECT_NE(a.eve.find(s), std::string::npos) << s << " in " << a.eve;
}

TEST(Sigma, UnsupportedConstructsAreSkippedWithReasons) {
  Fixture f(rule("  sel:\n    A|frobnicate: 1\n  condition: sel\n") + "---\n" +
            rule("  sel:\n    A: 1\n  condition: sel | count() > 5\n") + "---\n" +
            rule("  sel:\n    A: 1\n  condition: sel and missing\n") + "---\n" +
            "title: w\nlogsource:\n  product: windows\n  category: process_creation\n"
            "detection:\n  sel:\n    Image: x\n  condition: sel\n" +
            "---\n" + rule("  sel:\n    A|re: '(unclosed'\n  condition: sel\n"));
  const auto& r = f.engine.report();
  EXPECT_EQ(r.loaded, 0u);
  EXPECT_EQ(r.skipped, 5u);
  for (const char* reason : {"unsupported_modifier:frobnicate", "deprecated_aggregation",
                             "undefined_identifier", "unmapped_logsource", "bad_regex"})
    EXPECT_EQ(r.skipped_by_reason.count(reason), 1u) << reason;
  EXPECT_NE(r.errors[0].find("test.yml#1"), std::string::npos);
}

std::string base_rule(const std::string& name, const std::string& field, const std::string& value) {
  return "title: " + name + "\nname: " + name +
         "\nlogsource:\n  product: azure\n  service: signinlogs\n"
         "detection:\n  sel:\n    " +
         field + ": '" + value + "'\n  condition: sel\nlevel: low\n";
}

TEST(SigmaCorrelation, EventCountByGroupInWindow) {
  Fixture f(
      base_rule("failed", "Code", "50126") +
      "---\ntitle: many failures\nid: c1\ncorrelation:\n  type: event_count\n  rules: [failed]\n"
      "  group-by: [Src]\n  timespan: 10m\n  condition:\n    gte: 3\nlevel: high\n");
  ASSERT_EQ(f.engine.report().correlations, 1u)
      << (f.engine.report().errors.empty() ? "" : f.engine.report().errors[0]);
  auto rec = [](const char* ip) { return std::string(R"({"Code":"50126","Src":")") + ip + "\"}"; };
  EXPECT_EQ(f.match(rec("1.1.1.1"), 0), 0u) << "base rule does not alert on its own";
  EXPECT_EQ(f.match(rec("2.2.2.2"), 60 * kNsPerSec), 0u);
  EXPECT_EQ(f.match(rec("1.1.1.1"), 120 * kNsPerSec), 0u);
  EXPECT_EQ(f.match(rec("1.1.1.1"), 700 * kNsPerSec), 0u) << "the first one left the window";
  EXPECT_EQ(f.match(rec("1.1.1.1"), 701 * kNsPerSec), 1u);
  EXPECT_NE(f.sink.items.back().eve.find("\"correlation_type\":\"event_count\""),
            std::string::npos);
}

TEST(SigmaCorrelation, ValueCountTemporalAndOrdered) {
  Fixture v(
      base_rule("failed", "Code", "50126") +
      "---\ntitle: spray\ncorrelation:\n  type: value_count\n  rules: failed\n  group-by: Src\n"
      "  timespan: 1h\n  condition:\n    field: Upn\n    gte: 3\n");
  for (int i = 0; i < 2; ++i)
    EXPECT_EQ(v.match(R"({"Code":"50126","Src":"9.9.9.9","Upn":"same"})", i * kNsPerSec), 0u);
  EXPECT_EQ(v.match(R"({"Code":"50126","Src":"9.9.9.9","Upn":"b"})", 5 * kNsPerSec), 0u);
  EXPECT_EQ(v.match(R"({"Code":"50126","Src":"9.9.9.9","Upn":"c"})", 6 * kNsPerSec), 1u);

  const std::string bases =
      base_rule("a", "Op", "a") + "---\n" + base_rule("b", "Op", "b") + "---\n";
  Fixture t(bases +
            "title: both\ncorrelation:\n  type: temporal\n  rules: [a, b]\n  group-by: [User]\n  "
            "timespan: 5m\n");
  EXPECT_EQ(t.match(R"({"Op":"b","User":"u"})", 0), 0u);
  EXPECT_EQ(t.match(R"({"Op":"a","User":"v"})", kNsPerSec), 0u) << "other group";
  EXPECT_EQ(t.match(R"({"Op":"a","User":"u"})", 2 * kNsPerSec), 1u);
  Fixture o(bases +
            "title: ordered\ncorrelation:\n  type: temporal_ordered\n  rules: [a, b]\n  group-by: "
            "[User]\n  timespan: 5m\n");
  EXPECT_EQ(o.match(R"({"Op":"b","User":"u"})", 0), 0u);
  EXPECT_EQ(o.match(R"({"Op":"a","User":"u"})", kNsPerSec), 0u) << "wrong order";
  EXPECT_EQ(o.match(R"({"Op":"b","User":"u"})", 2 * kNsPerSec), 1u);
  EXPECT_EQ(o.match(R"({"Op":"a","User":"w"})", 3 * kNsPerSec), 0u);
  EXPECT_EQ(o.match(R"({"Op":"b","User":"w"})", 400 * kNsPerSec), 0u) << "outside the timespan";
}

TEST(SigmaCorrelation, SpecExamplesLoadOrNameTheirReason) {
  std::string dir = std::string(KOMAINU_SHARED_DIR) + "/corpus/sigma/spec/tests/schema/correlation";
  if (!std::filesystem::exists(dir)) GTEST_SKIP() << "corpus not found";
  SigmaEngine e;
  e.load_path(dir);
  // Their base rules are not in the folder, and value_sum/avg/percentile are not supported.
  EXPECT_EQ(e.report().loaded, 0u);
  EXPECT_EQ(e.report().skipped_by_reason.at("correlation_unknown_rule"), 5u);
  EXPECT_EQ(e.report().skipped_by_reason.at("unsupported_correlation:value_sum"), 1u);
}

TEST(SigmaCorpus, EveryRuleLoadsOrHasAReason) {
  std::string root = std::string(KOMAINU_SHARED_DIR) + "/corpus/sigma";
  if (!std::filesystem::exists(root)) GTEST_SKIP() << "corpus not found";
  std::string json;
  ASSERT_TRUE(sigma_check(
      {root + "/rules", root + "/rules-emerging-threats", root + "/rules-threat-hunting"}, json));
  SigmaEngine e;
  for (const char* d : {"/rules", "/rules-emerging-threats", "/rules-threat-hunting"})
    e.load_path(root + d);
  const auto& r = e.report();
  EXPECT_EQ(r.loaded + r.skipped, 354u) << json;
  EXPECT_EQ(r.skipped_by_reason.count("yaml_error"), 0u) << json;
  // Everything not loaded is only for lack of a komainu source for its logsource.
  uint64_t unmapped = r.skipped_by_reason.count("unmapped_logsource")
                          ? r.skipped_by_reason.at("unmapped_logsource")
                          : 0;
  EXPECT_EQ(unmapped, r.skipped) << json;
  EXPECT_GE(r.loaded, 100u) << json;
}

}  // namespace
}  // namespace komainu::logs
