#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "output/eve_writer.h"
#include "output/zeek_writer.h"

using namespace komainu;

namespace {
const ZeekSchema kTestSchema{"test",
                             {{"ts", ZeekType::kTime},
                              {"name", ZeekType::kString},
                              {"n", ZeekType::kCount},
                              {"ok", ZeekType::kBool},
                              {"tags", ZeekType::kSetString},
                              {"missing", ZeekType::kString}}};

class TestRecord : public Record {
 public:
  std::string_view event_type() const override { return "test"; }
  void write_eve(JsonWriter& w) const override {
    w.key("test").begin_object().kv("n", 1).end_object();
  }
  const ZeekSchema* zeek_schema() const override { return &kTestSchema; }
  void write_zeek(ZeekRow& row) const override {
    row.time(ts).str(name).count(7).boolean(true).strings(tags).unset();
  }
  std::string name;
  std::vector<std::string> tags;
};

std::string slurp(const std::string& p) {
  std::ifstream f(p);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}
}  // namespace

TEST(EveWriter, CommonHeaderFollowsSuricata) {
  FlowContext fc;
  fc.flow_id = 42;
  fc.tuple = {*IpAddr::parse("10.0.0.1"), *IpAddr::parse("10.0.0.2"), 1234, 80, 6};
  fc.community_id = "1:abc";
  TestRecord r;
  r.ts = 1704067200000000000LL;
  r.flow = &fc;
  std::string line;
  EveWriter::render(r, line);
  EXPECT_EQ(line,
            "{\"timestamp\":\"2024-01-01T00:00:00.000000+0000\",\"flow_id\":42,\"event_type\":"
            "\"test\",\"src_ip\":\"10.0.0.1\",\"src_port\":1234,\"dest_ip\":\"10.0.0.2\","
            "\"dest_port\":80,\"proto\":\"TCP\",\"community_id\":\"1:abc\",\"test\":{\"n\":1}}");
  r.to_client = true;
  line.clear();
  EveWriter::render(r, line);
  EXPECT_NE(line.find("\"src_ip\":\"10.0.0.2\",\"src_port\":80"), std::string::npos);
}

// The header after event_type is kept per flow and direction: whatever it was rendered
// from changing (a flipped tuple, a slot reused by another flow, a VLAN) renders it again.
TEST(EveWriter, CachedHeaderFollowsTheFlow) {
  FlowContext fc;
  fc.flow_id = 7;
  fc.tuple = {*IpAddr::parse("10.0.0.1"), *IpAddr::parse("10.0.0.2"), 1234, 53, 17};
  TestRecord r;
  r.flow = &fc;
  auto header = [&] {
    std::string line;
    EveWriter::render(r, line);
    size_t from = line.find(",\"", line.find("event_type"));
    return line.substr(from, line.find(",\"test\"") - from);
  };
  EXPECT_EQ(header(),
            ",\"src_ip\":\"10.0.0.1\",\"src_port\":1234,\"dest_ip\":\"10.0.0.2\","
            "\"dest_port\":53,\"proto\":\"UDP\"");
  EXPECT_EQ(header(),
            ",\"src_ip\":\"10.0.0.1\",\"src_port\":1234,\"dest_ip\":\"10.0.0.2\","
            "\"dest_port\":53,\"proto\":\"UDP\"");
  std::swap(fc.tuple.src, fc.tuple.dst);
  std::swap(fc.tuple.sport, fc.tuple.dport);
  EXPECT_EQ(header(),
            ",\"src_ip\":\"10.0.0.2\",\"src_port\":53,\"dest_ip\":\"10.0.0.1\","
            "\"dest_port\":1234,\"proto\":\"UDP\"");
  fc.community_id = "1:xyz";
  fc.vlan[0] = 10;
  fc.vlan_count = 1;
  EXPECT_EQ(header(),
            ",\"vlan\":[10],\"src_ip\":\"10.0.0.2\",\"src_port\":53,\"dest_ip\":"
            "\"10.0.0.1\",\"dest_port\":1234,\"proto\":\"UDP\",\"community_id\":\"1:xyz\"");
  fc.flow_id = 8;
  fc.tuple.proto = 99;
  EXPECT_EQ(header(),
            ",\"vlan\":[10],\"src_ip\":\"10.0.0.2\",\"dest_ip\":\"10.0.0.1\","
            "\"proto\":\"99\",\"community_id\":\"1:xyz\"");
}

TEST(ZeekLogWriter, WritesZeekTsvLayoutAndEscapes) {
  auto dir = std::filesystem::temp_directory_path() / ("komainu-zeek-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  {
    ZeekLogWriter w(dir.string(), false);
    TestRecord r;
    r.ts = 1704067200500000000LL;
    r.name = "a\tb\\c";
    r.tags = {"x,y", "z"};
    w.publish(r);
    r.name = "";
    r.tags = {};
    w.publish(r);
    r.name = "-";
    w.publish(r);
    w.close(1704067300000000000LL);
  }
  std::string log = slurp((dir / "test.log").string());
  EXPECT_EQ(log,
            "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n"
            "#path\ttest\n#open\t2024-01-01-00-00-00\n"
            "#fields\tts\tname\tn\tok\ttags\tmissing\n"
            "#types\ttime\tstring\tcount\tbool\tset[string]\tstring\n"
            "1704067200.500000\ta\\x09b\\\\c\t7\tT\tx\\x2cy,z\t-\n"
            "1704067200.500000\t(empty)\t7\tT\t(empty)\t-\n"
            "1704067200.500000\t\\x2d\t7\tT\t(empty)\t-\n"
            "#close\t2024-01-01-00-01-40\n");
  std::filesystem::remove_all(dir);
}

TEST(ZeekLogWriter, JsonFormOmitsUnsetFields) {
  TestRecord r;
  r.ts = 1704067200500000000LL;
  r.name = "n";
  r.tags = {"a"};
  ZeekRow row;
  row.reset(&kTestSchema);
  r.write_zeek(row);
  std::string line;
  ZeekLogWriter::render_json(row, line);
  EXPECT_EQ(line, "{\"ts\":1704067200.500000,\"name\":\"n\",\"n\":7,\"ok\":true,\"tags\":[\"a\"]}");
}

// TSV runs are checked eight bytes at a time: a byte to escape at every position of a word
// is still escaped, in plain values and in set elements (reference: byte by byte).
TEST(ZeekLogWriter, EscapesAtEveryWordPosition) {
  auto reference = [](std::string_view s, bool in_set) {
    static const char* hex = "0123456789abcdef";
    std::string r;
    for (unsigned char c : s) {
      if (c == '\\') {
        r += "\\\\";
      } else if (c < 0x20 || c > 0x7e || (in_set && c == ',')) {
        r += "\\x";
        r += hex[c >> 4];
        r += hex[c & 15];
      } else {
        r += char(c);
      }
    }
    return r;
  };
  const std::string specials[] = {"\\",   ",",    "\t", "\x01", "\x1f", "\x7f",
                                  "\x80", "\xff", " ",  "~",    "-"};
  for (size_t len = 0; len <= 40; ++len) {
    for (size_t pos = 0; pos < len; ++pos) {
      for (const std::string& sp : specials) {
        std::string s(len, 'a');
        s.replace(pos, 1, sp);
        for (bool in_set : {false, true}) {
          std::string out;
          ZeekLogWriter::escape_tsv(out, s, in_set);
          ASSERT_EQ(out, s == "-" ? "\\x2d" : reference(s, in_set)) << len << " " << pos;
        }
      }
    }
  }
}

TEST(EveTime, AppenderMatchesFormatEveTime) {
  // The JSON writer's EVE timestamp is written without snprintf/gmtime; it must match
  // core/time.h's form to the byte, over leap years, negative times and far dates.
  std::vector<TimeNs> ts = {0,
                            1,
                            -1,
                            999'999'999,
                            1'700'000'000 * kNsPerSec + 123'456'789,
                            951'782'400 * kNsPerSec,                  // 2000-02-29
                            4'107'542'399 * kNsPerSec,                // 2100-02-28T23:59:59
                            9'200'000'000 * kNsPerSec + 999'999'000,  // 2261: near INT64_MAX
                            INT64_MAX,
                            INT64_MIN + 1,
                            -5'000'000'000 * kNsPerSec};  // 1811
  uint64_t x = 88172645463325252ull;
  for (int i = 0; i < 20000; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    ts.push_back(TimeNs(x % (4'000'000'000ull * kNsPerSec)) - 100'000'000 * kNsPerSec);
  }
  for (TimeNs t : ts) {
    std::string out;
    JsonWriter::append_eve_time(out, t);
    ASSERT_EQ(out, format_eve_time(t)) << t;
    // The date and clock of the last second are reused: the same second again, the next
    // microsecond and the next second must still be exact.
    for (TimeNs d : {TimeNs(0), TimeNs(1000), kNsPerSec, TimeNs(-1)}) {
      if ((d > 0 && t > INT64_MAX - d) || (d < 0 && t == INT64_MIN + 1)) continue;
      out.clear();
      JsonWriter::append_eve_time(out, t + d);
      ASSERT_EQ(out, format_eve_time(t + d)) << t << " + " << d;
    }
  }
  std::string line;
  JsonWriter w(line);
  w.begin_object().kv_eve_time("timestamp", 0).end_object();
  EXPECT_EQ(line, "{\"timestamp\":\"1970-01-01T00:00:00.000000+0000\"}");
}

// Lines cross many 256 KiB hand-overs to the writer thread: every line arrives once, in
// order, in each file.
TEST(AsyncFileWriter, ManyBuffersKeepOrderAcrossFiles) {
  auto dir = std::filesystem::temp_directory_path() / ("komainu_async_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::string expect_eve, expect_zeek;
  {
    EveWriter eve;
    std::string err;
    ASSERT_TRUE(eve.open((dir / "eve.json").string(), &err)) << err;
    ZeekLogWriter zeek(dir.string(), false);
    for (int i = 0; i < 40000; ++i) {
      TestRecord r;
      r.ts = TimeNs(i) * kNsPerSec;
      r.name = "row" + std::to_string(i);
      eve.publish(r);
      zeek.publish(r);
      std::string line;
      EveWriter::render(r, line);
      expect_eve += line + "\n";
    }
    zeek.close(0);
    EXPECT_EQ(zeek.error(), "");
    EXPECT_EQ(eve.write_errors(), 0u);
  }
  EXPECT_EQ(slurp((dir / "eve.json").string()), expect_eve);
  std::string tsv = slurp((dir / "test.log").string());
  size_t at = 0;
  for (int i = 0; i < 40000; ++i) {
    std::string want = "\trow" + std::to_string(i) + "\t";
    size_t p = tsv.find(want, at);
    ASSERT_NE(p, std::string::npos) << i;
    at = p + want.size();
  }
  EXPECT_NE(tsv.find("#close\t"), std::string::npos);
  std::filesystem::remove_all(dir);
}

// Several threads at once (multi-worker runs): every line arrives whole, each thread's lines
// in its order, the Zeek header first and the footer last, and the counts add up.
TEST(Writers, ConcurrentThreadsWriteWholeLines) {
  auto dir = std::filesystem::temp_directory_path() / ("komainu_conc_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  constexpr int kThreads = 3, kRows = 30000;
  {
    EveWriter eve;
    std::string err;
    ASSERT_TRUE(eve.open((dir / "eve.json").string(), &err)) << err;
    ZeekLogWriter zeek(dir.string(), false);
    eve.set_concurrent(true);
    zeek.set_concurrent(true);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
      threads.emplace_back([&, t] {
        for (int i = 0; i < kRows; ++i) {
          TestRecord r;
          r.ts = TimeNs(i) * kNsPerSec;
          r.name = "t" + std::to_string(t) + "-" + std::to_string(i);
          eve.publish(r);
          zeek.publish(r);
        }
      });
    for (auto& th : threads) th.join();
    eve.flush();
    EXPECT_EQ(eve.events(), uint64_t(kThreads * kRows));
    zeek.close(0);
    EXPECT_EQ(zeek.error(), "");
  }
  std::string tsv = slurp((dir / "test.log").string());
  ASSERT_EQ(tsv.rfind("#separator", 0), 0u);
  EXPECT_EQ(tsv.substr(tsv.rfind('\n', tsv.size() - 2) + 1, 7), "#close\t");
  std::vector<int> next(kThreads, 0);
  std::istringstream lines(tsv);
  int rows = 0;
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with("#")) continue;
    ++rows;
    size_t a = line.find("\tt"), dash = line.find('-', a), b = line.find('\t', dash);
    ASSERT_NE(b, std::string::npos) << line;
    int t = std::stoi(line.substr(a + 2, dash - a - 2)), i = std::stoi(line.substr(dash + 1));
    ASSERT_EQ(i, next[t]) << line;
    ++next[t];
  }
  EXPECT_EQ(rows, kThreads * kRows);
  std::string eve = slurp((dir / "eve.json").string());
  EXPECT_EQ(size_t(std::count(eve.begin(), eve.end(), '\n')), size_t(kThreads * kRows));
  std::istringstream eve_lines(eve);
  for (std::string line; std::getline(eve_lines, line);)
    ASSERT_TRUE(line.starts_with("{\"timestamp\":") && line.ends_with("}}")) << line;
  std::filesystem::remove_all(dir);
}
