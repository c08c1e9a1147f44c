#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <vector>

#include "core/addr.h"
#include "core/cursor.h"
#include "core/digest.h"
#include "core/json.h"
#include "core/spin_mutex.h"
#include "core/time.h"

using namespace komainu;

TEST(Cursor, ReadsAreBoundsChecked) {
  const uint8_t d[] = {0x12, 0x34, 0x56};
  Cursor c(d, sizeof d);
  uint16_t v16;
  uint32_t v32;
  ASSERT_TRUE(c.be16(v16));
  EXPECT_EQ(v16, 0x1234);
  EXPECT_FALSE(c.be32(v32));
  EXPECT_EQ(c.remaining(), 1u);  // a failed read does not move
  EXPECT_FALSE(c.skip(2));
  EXPECT_TRUE(c.skip(1));
  EXPECT_TRUE(c.empty());
}

TEST(Addr, ParsesFormatsAndMatchesPrefixes) {
  auto a = IpAddr::parse("10.1.2.3");
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->is_v4());
  EXPECT_EQ(a->str(), "10.1.2.3");
  auto v6 = IpAddr::parse("2001:db8::1");
  ASSERT_TRUE(v6);
  EXPECT_FALSE(v6->is_v4());
  EXPECT_EQ(v6->str(), "2001:db8::1");
  auto c = Cidr::parse("10.0.0.0/8");
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->contains(*a));
  EXPECT_FALSE(c->contains(*v6));
  EXPECT_EQ(c->str(), "10.0.0.0/8");
  EXPECT_FALSE(Cidr::parse("10.0.0.0/33"));
  EXPECT_FALSE(Cidr::parse("bogus"));
  PrefixTable t;
  t.add(*Cidr::parse("10.0.0.0/8"), 1);
  t.add(*Cidr::parse("10.1.0.0/16"), 2);
  EXPECT_EQ(t.lookup(*a), 2);
  EXPECT_EQ(t.lookup(*IpAddr::parse("10.2.0.1")), 1);
  EXPECT_EQ(t.lookup(*IpAddr::parse("192.0.2.1")), -1);
}

TEST(Json, EscapesHostileBytes) {
  std::string out;
  JsonWriter w(out);
  w.begin_object().kv("a", std::string_view("x\"\n\x01\xff\xc3\xa9", 7)).kv("n", 5).end_object();
  EXPECT_EQ(out, "{\"a\":\"x\\\"\\n\\u0001\\u00ff\xc3\xa9\",\"n\":5}");
}

// Plain runs are checked eight bytes at a time: a byte to escape at every position of a
// word, in keys and values of every length, is still escaped (reference: byte by byte).
TEST(Json, EscapesAtEveryWordPosition) {
  auto reference = [](std::string_view s) {
    static const char* hex = "0123456789abcdef";
    std::string r;
    for (size_t i = 0; i < s.size(); ++i) {
      unsigned char c = static_cast<unsigned char>(s[i]);
      if (c == 0xc3 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) == 0xa9) {
        r += s.substr(i, 2);  // valid UTF-8 is copied
        ++i;
      } else if (c == '"') {
        r += "\\\"";
      } else if (c == '\\') {
        r += "\\\\";
      } else if (c == '\n') {
        r += "\\n";
      } else if (c == '\r') {
        r += "\\r";
      } else if (c == '\t') {
        r += "\\t";
      } else if (c < 0x20 || c >= 0x80) {
        r += "\\u00";
        r += hex[c >> 4];
        r += hex[c & 15];
      } else {
        r += char(c);
      }
    }
    return r;
  };
  const std::string specials[] = {"\"",   "\\",   "\n",       "\x01", "\x1f", "\x7f",
                                  "\x80", "\xff", "\xc3\xa9", " ",    "~"};
  for (size_t len = 0; len <= 40; ++len) {
    for (size_t pos = 0; pos < len; ++pos) {
      for (const std::string& sp : specials) {
        std::string s(len, 'a');
        s.replace(pos, 1, sp);
        std::string out;
        JsonWriter w(out);
        w.begin_object().kv(s, s).end_object();
        const std::string e = reference(s);
        ASSERT_EQ(out, "{\"" + e + "\":\"" + e + "\"}") << len << " " << pos;
      }
    }
  }
}

TEST(Time, FormatsAndParses) {
  TimeNs t;
  ASSERT_TRUE(parse_iso8601("2024-01-01T00:00:01.5Z", t));
  EXPECT_EQ(t, 1704067201500000000LL);
  EXPECT_EQ(format_eve_time(t), "2024-01-01T00:00:01.500000+0000");
  EXPECT_EQ(format_zeek_time(t), "1704067201.500000");
  ASSERT_TRUE(parse_iso8601("2024-01-01T02:00:01.5+02:00", t));
  EXPECT_EQ(t, 1704067201500000000LL);
  EXPECT_FALSE(parse_iso8601("2024-13-01T00:00:00Z", t));
  EXPECT_FALSE(parse_iso8601("garbage", t));
}

TEST(Time, RefusesTimesOutsideInt64Nanoseconds) {
  TimeNs t = 7;
  EXPECT_FALSE(parse_iso8601("9999-12-31T23:59:59Z", t));
  EXPECT_FALSE(parse_iso8601("0001-01-01T00:00:00Z", t));
  EXPECT_FALSE(parse_iso8601("1012-05-01T10:00:00.5+14:00", t));
  EXPECT_FALSE(parse_iso8601("2262-04-11T23:47:17Z", t));
  EXPECT_EQ(t, 7);  // untouched on failure
  ASSERT_TRUE(parse_iso8601("2262-04-11T23:47:16.854775807Z", t));
  EXPECT_EQ(t, INT64_MAX);
  ASSERT_TRUE(parse_iso8601("1677-09-21T00:12:44Z", t));
  EXPECT_EQ(t, -9223372036000000000LL);
}

TEST(Digest, KnownVectorsAsLowercaseHex) {
  EXPECT_EQ(digest::md5_hex("abc"), "900150983cd24fb0d6963f7d28e17f72");
  const uint8_t abc[] = {'a', 'b', 'c'};
  EXPECT_EQ(digest::sha1_hex(abc), "a9993e364706816aba3e25717850c26c9cd0d89d");
  EXPECT_EQ(digest::sha256_hex(abc),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(digest::md5_hex(""), "d41d8cd98f00b204e9800998ecf8427e");
  std::string out = "x";
  const unsigned char b[] = {0x00, 0x0f, 0xf0, 0xff};
  digest::append_hex(out, b, sizeof b);
  EXPECT_EQ(out, "x000ff0ff");
}

// Mutual exclusion on both paths: short sections (taken while spinning) and sections held
// long enough that waiters go to sleep and must be woken by unlock().
TEST(SpinMutex, ExcludesWhetherWaitersSpinOrSleep) {
  komainu::SpinMutex mu;
  long counter = 0;
  int inside = 0;
  bool overlap = false;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        std::lock_guard lock(mu);
        if (++inside != 1) overlap = true;
        ++counter;
        if (t == 0 && i % 200 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        --inside;
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_FALSE(overlap);
  EXPECT_EQ(counter, 8000);
  EXPECT_TRUE(mu.try_lock());
  EXPECT_FALSE(mu.try_lock());
  mu.unlock();
}
