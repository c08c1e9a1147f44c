// Pipeline tests: golden normalised output for every corpus sample, read = parsed +
// malformed accounting, content sniffing, and the generated dataset end to end.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "logs/log_pipeline.h"
#include "logs/model/json_util.h"
#include "logs/model/test_util.h"

namespace komainu::logs {
namespace {
namespace fs = std::filesystem;
using testing::CollectingSink;

const char* kDirs[] = {"entra-signin", "entra-audit",  "m365-audit", "fortigate",
                       "cisco-asa",    "pulse-ivanti", "paloalto"};

std::string corpus() {
  return std::string(KOMAINU_SHARED_DIR) + "/corpus/logs";
}

std::vector<std::string> samples() {
  std::vector<std::string> out;
  for (const char* d : kDirs) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(corpus() + "/" + d, ec))
      if (e.is_regular_file() && e.path().extension() != ".md") out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string read_file(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Normalised events of one file, one JSON line each, plus the file's accounting.
std::string normalise(const std::string& path) {
  CollectingSink sink;
  LogPipeline p(LogOptions{}, sink);
  std::string err;
  EXPECT_TRUE(p.load(&err)) << err;
  std::string out;
  p.set_event_tap([&](const LogEvent& ev) {
    JsonWriter w(out);
    ev.write_json(w, false);
    out += '\n';
  });
  p.process_file(path, &err);
  const auto& f = p.files().back();
  out += "# kind=" + f.kind + " read=" + std::to_string(f.read) +
         " parsed=" + std::to_string(f.parsed) + " malformed=" + std::to_string(f.malformed) + "\n";
  return out;
}

TEST(LogsGolden, EveryCorpusSampleMatchesItsBaseline) {
  if (!fs::exists(corpus())) GTEST_SKIP() << "corpus not found at " << corpus();
  const bool update = std::getenv("KOMAINU_UPDATE_GOLDEN") != nullptr;
  const std::string dir = std::string(KOMAINU_SOURCE_DIR) + "/src/logs/testdata/golden";
  auto files = samples();
  ASSERT_GE(files.size(), 12u);
  for (const auto& path : files) {
    std::string name = fs::path(path).parent_path().filename().string() + "__" +
                       fs::path(path).filename().string() + ".jsonl";
    std::string got = normalise(path);
    if (update) {
      std::ofstream(dir + "/" + name, std::ios::binary) << got;
      continue;
    }
    ASSERT_TRUE(fs::exists(dir + "/" + name))
        << name << " has no baseline; run with KOMAINU_UPDATE_GOLDEN=1 to create it";
    EXPECT_EQ(got, read_file(dir + "/" + name))
        << "normalised output of " << path << " changed (KOMAINU_UPDATE_GOLDEN=1 regenerates)";
  }
}

TEST(LogsPipeline, AccountingAndExplainedMalformed) {
  if (!fs::exists(corpus())) GTEST_SKIP() << "corpus not found at " << corpus();
  CollectingSink sink;
  LogPipeline p(LogOptions{}, sink);
  std::string err;
  ASSERT_TRUE(p.load(&err)) << err;
  for (const auto& f : samples()) EXPECT_TRUE(p.process_file(f, &err)) << f << ": " << err;
  p.finish();
  EXPECT_EQ(p.records_read(), p.records_parsed() + p.records_malformed());
  EXPECT_GT(p.records_parsed(), 450u);
  std::string stats;
  JsonWriter w(stats);
  p.write_stats(w);
  // Every malformed record in the corpus is one of these named, understood cases:
  // Graph record without activityDateTime, a Wazuh collector metadata line, and PAN-OS
  // lines whose dates were redacted to day 00 upstream.
  for (const char* reason :
       {"json_syntax", "no_asa_tag", "bad_layout", "kv_syntax", "csv_column_count"})
    EXPECT_EQ(stats.find(std::string("\"") + reason + "\""), std::string::npos) << stats;
  EXPECT_LE(p.records_malformed(), 6u) << stats;
  for (const auto& f : p.files()) EXPECT_FALSE(f.kind.empty()) << f.path;
}

TEST(LogsPipeline, MalformedRecordsAreCountedWithFileAndLine) {
  std::string path = fs::temp_directory_path() / "komainu_logs_malformed.jsonl";
  std::ofstream(path)
      << "{\"category\":\"SignInLogs\",\"time\":\"2025-01-01T00:00:00Z\",\"properties\":{"
         "\"userPrincipalName\":\"a@b.c\",\"status\":{\"errorCode\":0}}}\n"
      << "{\"category\":\"SignInLogs\", broken\n"
      << "\n"
      << "{\"category\":\"SignInLogs\",\"properties\":{}}\n";
  CollectingSink sink;
  LogPipeline p(LogOptions{}, sink);
  std::string err;
  ASSERT_TRUE(p.load(&err));
  ASSERT_TRUE(p.process_file(path, &err)) << err;
  EXPECT_EQ(p.records_read(), 3u);
  EXPECT_EQ(p.records_parsed(), 1u);
  EXPECT_EQ(p.records_malformed(), 2u);
  std::string stats;
  JsonWriter w(stats);
  p.write_stats(w);
  EXPECT_NE(stats.find(path + ":2: json_syntax"), std::string::npos) << stats;
  EXPECT_NE(stats.find(path + ":4: missing_time"), std::string::npos) << stats;
  fs::remove(path);
}

// Times int64 nanoseconds cannot hold (or outside the 1970..2200 data range) are a named,
// counted invalid record with file and line, never a wrapped or undefined time.
TEST(LogsPipeline, OutOfRangeTimesAreCountedInvalidRecords) {
  std::string path = fs::temp_directory_path() / "komainu_logs_time_range.jsonl";
  const char* ok = "2025-01-01T00:00:00Z";
  auto signin = [](const char* t) {
    return std::string("{\"category\":\"SignInLogs\",\"time\":\"") + t +
           "\",\"properties\":{\"userPrincipalName\":\"a@b.c\",\"status\":{\"errorCode\":0}}}\n";
  };
  auto audit = [](const char* t) {
    return std::string("{\"CreationTime\":\"") + t +
           "\",\"RecordType\":15,\"Operation\":\"UserLoggedIn\",\"UserId\":\"a@b.c\"}\n";
  };
  std::ofstream(path) << signin(ok) << signin("9999-12-31T23:59:59Z")
                      << signin("1012-05-01T10:00:00Z") << signin("2262-04-11T23:47:17Z")
                      << signin("1969-12-31T23:59:59Z");
  std::string m365 = fs::temp_directory_path() / "komainu_logs_time_range_m365.jsonl";
  std::ofstream(m365) << audit(ok) << audit("0001-01-01T00:00:00") << audit(ok);
  CollectingSink sink;
  LogOptions o;
  LogPipeline p(o, sink);
  std::string err;
  ASSERT_TRUE(p.load(&err));
  ASSERT_TRUE(p.process_file(path, &err)) << err;
  EXPECT_EQ(p.files().back().kind, "entra_signin");
  ASSERT_TRUE(p.process_file(m365, &err)) << err;
  EXPECT_EQ(p.files().back().kind, "m365_audit");
  EXPECT_EQ(p.records_read(), 8u);
  EXPECT_EQ(p.records_parsed(), 3u);
  EXPECT_EQ(p.records_malformed(), 5u);
  std::string stats;
  JsonWriter w(stats);
  p.write_stats(w);
  for (int line : {2, 3, 4, 5})
    EXPECT_NE(stats.find(path + ":" + std::to_string(line) + ": time_out_of_range"),
              std::string::npos)
        << stats;
  EXPECT_NE(stats.find(m365 + ":2: time_out_of_range"), std::string::npos) << stats;
  EXPECT_NE(stats.find("\"time_out_of_range\":5"), std::string::npos) << stats;
  fs::remove(path);
  fs::remove(m365);
}

// Line-framed files are mapped a window at a time: records that straddle a window, one
// longer than a window, CRLF endings, blank lines and a last line without a newline all
// read exactly as the streaming reader reads them, with the right line numbers.
TEST(LogsPipeline, MappedWindowsKeepRecordsAndLineNumbers) {
  std::string path = fs::temp_directory_path() / "komainu_logs_windows.jsonl";
  auto rec = [](int i, size_t pad) {
    return "{\"category\":\"SignInLogs\",\"time\":\"2025-01-01T00:00:00Z\",\"properties\":{"
           "\"userPrincipalName\":\"u" +
           std::to_string(i) + "@b.c\",\"userAgent\":\"" + std::string(pad, 'x') +
           "\",\"status\":{\"errorCode\":0}}}";
  };
  {
    std::ofstream out(path, std::ios::binary);
    for (int i = 1; i <= 40000; ++i) {
      if (i == 30000)
        out << "{\"category\":\"SignInLogs\", broken\n";
      else if (i == 20000)
        out << rec(i, 9u << 20) << "\n";  // longer than a window
      else if (i % 1000 == 0)
        out << "\r\n";  // blank (CRLF)
      else
        out << rec(i, 200 + i % 97) << (i % 3 ? "\n" : "\r\n");
    }
    out << "{\"category\":\"SignInLogs\", broken at the end";  // no newline
  }
  CollectingSink sink;
  LogPipeline p(LogOptions{}, sink);
  std::string err;
  ASSERT_TRUE(p.load(&err));
  ASSERT_TRUE(p.process_file(path, &err)) << err;
  EXPECT_EQ(p.records_read(), 40001u - 38u);  // every 1000th line is blank but two
  EXPECT_EQ(p.records_malformed(), 2u);
  std::string stats;
  JsonWriter w(stats);
  p.write_stats(w);
  EXPECT_NE(stats.find(path + ":30000: json_syntax"), std::string::npos) << stats;
  EXPECT_NE(stats.find(path + ":40001: json_syntax"), std::string::npos) << stats;
  EXPECT_NE(stats.find("\"blank_lines\":38"), std::string::npos) << stats;
  fs::remove(path);
}

TEST(LogsModel, KeyTableFoldsAsciiCaseOnly) {
  KeyTable t = {{"userprincipalname", 1},
                {"id", 2},
                {"a_b", 3},
                {"x@y", 4},
                {"averyveryverylongkeyofmorethanthirtytwobytes", 5}};
  EXPECT_EQ(t.find("UserPrincipalName"), 1);
  EXPECT_EQ(t.find("USERPRINCIPALNAME"), 1);
  EXPECT_EQ(t.find("userprincipalnam"), -1);
  EXPECT_EQ(t.find("Id"), 2);
  EXPECT_EQ(t.find("A_B"), 3);
  EXPECT_EQ(t.find("a\x7f"
                   "b"),
            -1);  // '_' | 0x20 == 0x7f: only letters fold
  EXPECT_EQ(t.find("X@Y"), 4);
  EXPECT_EQ(t.find("x`y"), -1);  // '@' | 0x20 == '`'
  EXPECT_EQ(t.find("AVeryVeryVeryLongKeyOfMoreThanThirtyTwoBytes"), 5);
  EXPECT_EQ(t.find(""), -1);
}

// The member-order cache answers exactly what the table answers, whatever the order, case
// or length of the keys it is shown at a position (1..40 bytes: every compare width).
TEST(LogsModel, KeyOrderGivesTheTableIdsInAnyOrder) {
  KeyTable t = {{"userprincipalname", 1},
                {"id", 2},
                {"time", 3},
                {"category", 4},
                {"abcdefghi", 5},
                {"averyveryverylongkeyofmorethanthirtytwobytes", 6},
                {"a", 7},
                {"abcdefghijklmnopq", 8},
                {"abcdefghijklmnopqrstuvwxyz012345", 9},
                {"abcdefghijklmnopqrstuvwxyz0123456", 10}};
  std::vector<std::string> keys = {"userPrincipalName",
                                   "id",
                                   "Time",
                                   "category",
                                   "abcdefghi",
                                   "AVeryVeryVeryLongKeyOfMoreThanThirtyTwoBytes",
                                   "a",
                                   "b",
                                   "ab",
                                   "abc",
                                   "abcd",
                                   "abcdefgh",
                                   "abcdefghj",
                                   "abcdefghijklmnopq",
                                   "abcdefghijklmnopr",
                                   "abcdefghijklmnopqrstuvwxyz012345",
                                   "abcdefghijklmnopqrstuvwxyz012346",
                                   "abcdefghijklmnopqrstuvwxyz0123456",
                                   "tim",
                                   "timE",
                                   ""};
  KeyOrder order;
  uint32_t seed = 1;
  for (int round = 0; round < 200; ++round) {
    for (size_t pos = 0; pos < keys.size(); ++pos) {
      seed = seed * 1103515245u + 12345u;
      // Mostly the last round's key at this position, sometimes another one.
      const std::string& k = (seed >> 16) % 4 == 0 ? keys[(seed >> 8) % keys.size()] : keys[pos];
      ASSERT_EQ(order.find(t, pos, k), t.find(k)) << "key '" << k << "' at " << pos;
    }
    std::rotate(keys.begin(), keys.begin() + 1 + round % 3, keys.end());
  }
  EXPECT_EQ(order.find(t, 1000, "id"), 2);  // positions past the cache go to the table
}

// One account table for every detector: ids are dense, a repeated ask for the same event
// costs no lookup, and an evicted account's id, once reused, no longer reaches the state a
// detector kept for the old account.
TEST(LogsModel, SharedAccountIdsAndPerDetectorState) {
  CollectingSink sink;
  Watchlists lists;
  DetectorContext ctx(sink, lists, 2);
  LogEvent a = testing::signin("a@x.com", testing::at(0, 1));
  LogEvent b = testing::signin("b@x.com", testing::at(0, 2));
  AccountRef ra = ctx.account(a), rb = ctx.account(b);
  EXPECT_TRUE(ra.valid());
  EXPECT_NE(ra.id, rb.id);
  EXPECT_EQ(ctx.account(a).id, ra.id);
  EXPECT_EQ(ctx.account(a).gen, ra.gen);
  LogEvent none = testing::signin("", testing::at(0, 2));
  EXPECT_FALSE(ctx.account(none).valid());

  AccountMap<int> state(10, 3600 * kNsPerSec);
  state.touch(ra, a.ts) = 7;
  EXPECT_EQ(*state.find(ra), 7);
  EXPECT_EQ(state.find(rb), nullptr);
  // A third account at cap 2: the least recently seen (a) is evicted, its id reused.
  LogEvent c = testing::signin("c@x.com", testing::at(0, 3));
  AccountRef rc = ctx.account(c);
  EXPECT_EQ(ctx.accounts().evictions(), 1u);
  EXPECT_EQ(rc.id, ra.id);
  EXPECT_NE(rc.gen, ra.gen);
  EXPECT_EQ(state.find(rc), nullptr);
  bool created = false;
  EXPECT_EQ(state.touch(rc, c.ts, &created), 0);
  EXPECT_TRUE(created);
  EXPECT_EQ(state.evictions(), 1u);
  EXPECT_EQ(state.size(), 1u);
  // A detector's own cap evicts within its map.
  AccountMap<int> small(1, 3600 * kNsPerSec);
  small.touch(rb, b.ts) = 1;
  small.touch(rc, c.ts) = 2;
  EXPECT_EQ(small.size(), 1u);
  EXPECT_EQ(small.evictions(), 1u);
  EXPECT_EQ(small.find(rb), nullptr);
}

TEST(LogsPipeline, SniffsLogsButNotPcaps) {
  std::string pcap = fs::temp_directory_path() / "komainu_logs_sniff.pcap";
  std::ofstream(pcap, std::ios::binary)
      << std::string("\xd4\xc3\xb2\xa1\x02\x00\x04\x00", 8) << std::string(32, '\0');
  EXPECT_FALSE(LogPipeline::looks_like_log(pcap));
  fs::remove(pcap);
  if (!fs::exists(corpus())) GTEST_SKIP() << "corpus not found";
  EXPECT_EQ(LogPipeline::detect_kind(corpus() + "/fortigate/wazuh-fortigate.log"), "fortigate");
  EXPECT_EQ(LogPipeline::detect_kind(corpus() + "/cisco-asa/metron-asa_raw.log"), "cisco_asa");
  EXPECT_EQ(LogPipeline::detect_kind(
                corpus() + "/m365-audit/azure-sentinel-training-office_activity_inbox_rule.csv"),
            "m365_audit");
  EXPECT_EQ(LogPipeline::detect_kind(
                corpus() + "/entra-signin/azure-sentinel-training-sign-in_adelete.first3rows.csv"),
            "entra_signin");
  EXPECT_EQ(
      LogPipeline::detect_kind(corpus() + "/paloalto/pan-splunk-demo-pan_globalprotect.samplelog"),
      "paloalto");
  EXPECT_TRUE(LogPipeline::looks_like_log(
      corpus() + "/pulse-ivanti/azure-sentinel-PulseConnectSecure.SyslogMessage.first14.log"));
  EXPECT_FALSE(LogPipeline::looks_like_log(corpus() + "/web/wazuh-apache.log"));
}

// The generated dataset raises exactly the four planted incidents.
TEST(LogsEndToEnd, GeneratedDatasetRaisesExactlyThePlantedAlerts) {
  std::string out = fs::temp_directory_path() / "komainu_loggen_e2e";
  std::string cmd = "python3 " + std::string(KOMAINU_SOURCE_DIR) +
                    "/tools/loggen/loggen.py --seed 7 --out " + out + " > /dev/null 2>&1";
  if (std::system(cmd.c_str()) != 0) GTEST_SKIP() << "python3 not available to run loggen";
  CollectingSink sink;
  LogOptions o;
  o.watchlists.emplace_back("vip", out + "/vip.txt");
  LogPipeline p(o, sink);
  std::string err;
  ASSERT_TRUE(p.load(&err)) << err;
  ASSERT_TRUE(p.process_file(out + "/signins.jsonl", &err)) << err;
  ASSERT_TRUE(p.process_file(out + "/m365.jsonl", &err)) << err;
  p.finish();
  EXPECT_EQ(p.records_malformed(), 0u);
  std::multiset<uint32_t> sids;
  for (const auto& i : sink.items)
    if (i.event_type == "alert") sids.insert(i.sid);
  EXPECT_EQ(sids, (std::multiset<uint32_t>{2000001, 2000010, 2000030, 2000040}));
  for (const auto& i : sink.items) {
    if (i.sid == 2000001) {
      EXPECT_NE(i.eve.find("\"ip\":[\"185.220.101.7\"]"), std::string::npos);
    }
    if (i.sid == 2000010) {
      EXPECT_NE(i.eve.find("amelie.laurent@contoso-bank.com"), std::string::npos);
    }
    if (i.sid == 2000030) {
      EXPECT_NE(i.eve.find("\"watchlist\":[\"vip\"]"), std::string::npos);
    }
    if (i.sid == 2000040) {
      EXPECT_NE(i.eve.find("jonas.weber@contoso-bank.com"), std::string::npos);
    }
    EXPECT_NE(i.eve.find("\"mitre_tactic_id\""), std::string::npos);
  }
  fs::remove_all(out);
}

}  // namespace
}  // namespace komainu::logs
