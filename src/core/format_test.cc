// The hand-written number and address formatters must match the libc forms they replace to
// the byte (Zeek logs and EVE are diffed against baselines).
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "core/addr.h"
#include "core/event.h"
#include "core/time.h"

using namespace komainu;

namespace {

uint64_t next_random(uint64_t& x) {
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return x;
}

std::string ntop(const IpAddr& a) {
  char buf[INET6_ADDRSTRLEN];
  if (a.is_v4())
    inet_ntop(AF_INET, &a.b[12], buf, sizeof buf);
  else
    inet_ntop(AF_INET6, a.b.data(), buf, sizeof buf);
  return buf;
}

std::string printf_zeek_time(TimeNs t) {
  int64_t sec = t / kNsPerSec, rem = t % kNsPerSec;
  if (rem < 0) {
    rem += kNsPerSec;
    --sec;
  }
  char buf[64];
  snprintf(buf, sizeof buf, "%lld.%06lld", static_cast<long long>(sec),
           static_cast<long long>(rem / kNsPerUs));
  return buf;
}

std::string printf_interval(TimeNs d) {
  char buf[64];
  snprintf(buf, sizeof buf, "%.6f", static_cast<double>(d) / 1e9);
  return buf;
}

}  // namespace

TEST(FormatAddr, DottedQuadMatchesInetNtop) {
  for (int v = 0; v < 256; ++v) {
    const uint32_t hosts[] = {uint32_t(v) << 24, uint32_t(v) << 16 | 1, uint32_t(v) << 8 | 10,
                              uint32_t(v) * 0x01010101u, 0x0a000000u | uint32_t(v)};
    for (uint32_t h : hosts) {
      IpAddr a = IpAddr::v4(h);
      char buf[64];
      size_t n = a.format(buf);
      ASSERT_EQ(std::string(buf, n), ntop(a)) << h;
      ASSERT_EQ(buf[n], '\0');
      ASSERT_EQ(a.str(), ntop(a));
    }
  }
  uint64_t x = 0x9e3779b97f4a7c15ull;
  for (int i = 0; i < 100000; ++i) {
    IpAddr a = IpAddr::v4(uint32_t(next_random(x)));
    ASSERT_EQ(a.str(), ntop(a));
  }
  EXPECT_EQ(IpAddr::v4(0).str(), "0.0.0.0");
  EXPECT_EQ(IpAddr::v4(0xffffffffu).str(), "255.255.255.255");
}

TEST(FormatAddr, Ipv6StaysInetNtop) {
  for (const char* s : {"::", "::1", "2001:db8::1", "fe80::1:2:3:4", "::0.0.0.2", "1::"}) {
    auto a = IpAddr::parse(s);
    ASSERT_TRUE(a) << s;
    EXPECT_EQ(a->str(), ntop(*a)) << s;
  }
}

TEST(FormatTime, ZeekTimeMatchesPrintf) {
  std::vector<TimeNs> ts = {0,
                            1,
                            -1,
                            999,
                            1000,
                            999'999'999,
                            -999'999'999,
                            -1'000'000'000,
                            1'704'067'201'500'000'000,
                            INT64_MAX,
                            INT64_MIN};
  uint64_t x = 88172645463325252ull;
  for (int i = 0; i < 100000; ++i) ts.push_back(TimeNs(next_random(x)));
  for (int i = 0; i < 100000; ++i)
    ts.push_back(TimeNs(next_random(x) % (4'000'000'000 * kNsPerSec)));
  for (TimeNs t : ts) {
    char buf[kZeekTimeBuf];
    size_t n = format_zeek_time(t, buf);
    ASSERT_EQ(std::string(buf, n), printf_zeek_time(t)) << t;
    ASSERT_EQ(format_zeek_time(t), printf_zeek_time(t)) << t;
  }
}

TEST(FormatTime, ZeekIntervalMatchesPrintf) {
  std::vector<TimeNs> ds = {0,
                            1,
                            499,
                            500,
                            501,
                            999,
                            1000,
                            1500,
                            7'812'500,  // 1/128 s: an exact binary tie
                            999'999'499,
                            999'999'500,
                            999'999'501,
                            1'000'000'000,
                            -1,
                            -500,
                            -1'500,
                            3'999'999'999'999'999,
                            4'000'000'000'000'000,
                            INT64_MAX,
                            INT64_MIN};
  uint64_t x = 0x2545f4914f6cdd1dull;
  for (int i = 0; i < 200000; ++i) {
    uint64_t r = next_random(x);
    switch (i % 5) {
      case 0:
        ds.push_back(TimeNs(r % 1'000'000'000));  // sub-second
        break;
      case 1:
        ds.push_back(TimeNs(r % (100'000 * kNsPerSec)));  // about a day
        break;
      case 2:
        ds.push_back(TimeNs(r % (50'000'000 * kNsPerSec)));  // up to the integer bound
        break;
      case 3:
        ds.push_back(TimeNs(r % 100'000'000) * 1000 + 500 - 1 + TimeNs(r >> 62));  // near ties
        break;
      default:
        ds.push_back(TimeNs(r));
    }
  }
  for (TimeNs d : ds) {
    char buf[kZeekTimeBuf];
    size_t n = format_zeek_interval(d, buf);
    ASSERT_EQ(std::string(buf, n), printf_interval(d)) << d;
    ASSERT_EQ(format_zeek_interval(d), printf_interval(d)) << d;
  }
}

TEST(FormatRow, ZeekRowUsesTheSameForms) {
  static const ZeekSchema schema{"t",
                                 {{"ts", ZeekType::kTime},
                                  {"d", ZeekType::kInterval},
                                  {"a", ZeekType::kAddr},
                                  {"n", ZeekType::kCount}}};
  ZeekRow row;
  for (int round = 0; round < 3; ++round) {  // reused rows keep their buffers
    row.reset(&schema);
    row.time(1'704'067'201'000'001'999).interval(1'234'567'890).addr(IpAddr::v4(0xc0a80001u));
    row.count(42);
    EXPECT_EQ(row.at(0).text, "1704067201.000001");
    EXPECT_EQ(row.at(1).text, "1.234568");
    EXPECT_EQ(row.at(2).text, "192.168.0.1");
    EXPECT_TRUE(row.at(2).is_string);
    EXPECT_EQ(row.at(3).text, "42");
  }
}
