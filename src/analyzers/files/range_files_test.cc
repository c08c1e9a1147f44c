#include "analyzers/files/range_files.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace komainu::files {
namespace {

struct Rows : EventSink {
  struct Row {
    std::string fuid, uid, md5;
    uint64_t seen, total, missing;
    bool timedout, has_eve, zeek;
  };
  std::vector<Row> rows;
  void publish(const Record& r) override {
    const auto& f = dynamic_cast<const FileRecord&>(r);
    rows.push_back({f.fuid, f.flow ? f.flow->uid : "", f.hashed ? f.md5 : "", f.seen_bytes,
                    f.total_bytes, f.missing_bytes, f.timedout, r.has_eve(),
                    r.zeek_schema() != nullptr});
  }
};

std::vector<uint8_t> zeros(size_t n) {
  return std::vector<uint8_t>(n, 0);
}

FlowContext flow(const char* uid) {
  FlowContext f;
  f.uid = uid;
  return f;
}

// Three connections each carry one 10001-byte range of a 100 MB file (Zeek's
// concurrent-range-requests trace): one file, 3 files.log rows when the last one closes.
TEST(RangeFiles, JoinsPiecesOfConnectionsAndCountsHolesAsMissing) {
  RangeFiles t;
  Rows sink;
  FlowContext a = flow("Ca"), b = flow("Cb"), c = flow("Cc");
  uint64_t ia = t.open("k", "HTTP", &a, 104857600, true, 1, &sink);
  uint64_t ib = t.open("k", "HTTP", &b, 104857600, true, 2, &sink);
  uint64_t ic = t.open("k", "HTTP", &c, 104857600, true, 3, &sink);
  EXPECT_EQ(ia, ib);
  EXPECT_EQ(ib, ic);
  auto d = zeros(10001);
  // Interleaved, as the segments of concurrent connections arrive.
  for (size_t off = 0; off < 10001; off += 1000) {
    size_t n = std::min<size_t>(1000, 10001 - off);
    std::span<const uint8_t> s(d.data(), n);
    EXPECT_TRUE(t.data(ib, 100000 + off, s, 10, &sink));
    EXPECT_TRUE(t.data(ia, off, s, 11, &sink));
    EXPECT_TRUE(t.data(ic, 200000 + off, s, 12, &sink));
  }
  t.release(&a, 20, &sink);
  t.release(&c, 21, &sink);
  EXPECT_TRUE(sink.rows.empty());
  t.release(&b, 22, &sink);
  ASSERT_EQ(sink.rows.size(), 3u);
  for (const auto& r : sink.rows) {
    EXPECT_EQ(r.fuid, sink.rows[0].fuid);
    EXPECT_EQ(r.seen, 30003u);
    EXPECT_EQ(r.total, 104857600u);
    EXPECT_EQ(r.missing, 179998u);
    EXPECT_TRUE(r.timedout);
    EXPECT_FALSE(r.has_eve);
    EXPECT_TRUE(r.zeek);
  }
  EXPECT_EQ(t.open_files(), 0u);
}

TEST(RangeFiles, EndsWhenContiguousBytesReachTheTotal) {
  RangeFiles t;
  Rows sink;
  FlowContext a = flow("Ca");
  auto d = zeros(50);
  uint64_t id = t.open("k", "HTTP", &a, 100, true, 1, &sink);
  EXPECT_TRUE(t.data(id, 50, d, 2, &sink));
  EXPECT_TRUE(sink.rows.empty());
  EXPECT_TRUE(t.data(id, 0, d, 3, &sink));
  ASSERT_EQ(sink.rows.size(), 1u);
  EXPECT_FALSE(sink.rows[0].timedout);
  EXPECT_EQ(sink.rows[0].missing, 0u);
  EXPECT_EQ(sink.rows[0].md5, "");           // pieces out of order: not hashed
  EXPECT_FALSE(t.data(id, 0, d, 4, &sink));  // ended: the caller opens it again
}

TEST(RangeFiles, SequentialPiecesMakeAHashedCompleteFile) {
  RangeFiles t;
  Rows sink;
  FlowContext a = flow("Ca");
  uint64_t id = t.open("k", "HTTP", &a, 3, true, 1, &sink);
  std::string_view s = "abc";
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  EXPECT_TRUE(t.data(id, 0, {p, 1}, 2, &sink));
  EXPECT_TRUE(t.data(id, 1, {p + 1, 2}, 3, &sink));
  ASSERT_EQ(sink.rows.size(), 1u);
  EXPECT_EQ(sink.rows[0].md5, "900150983cd24fb0d6963f7d28e17f72");
  EXPECT_FALSE(sink.rows[0].timedout);
}

TEST(RangeFiles, FullTableEvictsTheStalestAndCountsIt) {
  RangeFiles t(2);
  Rows sink;
  FlowContext a = flow("Ca");
  t.open("k1", "HTTP", &a, 0, false, 1, &sink);
  t.open("k2", "HTTP", &a, 0, false, 2, &sink);
  t.open("k3", "HTTP", &a, 0, false, 3, &sink);
  EXPECT_EQ(t.evicted(), 1u);
  EXPECT_EQ(t.open_files(), 2u);
  ASSERT_EQ(sink.rows.size(), 1u);
  EXPECT_TRUE(sink.rows[0].timedout);
}

TEST(RangeFiles, IdleFilesTimeOut) {
  RangeFiles t;
  Rows sink;
  FlowContext a = flow("Ca"), b = flow("Cb");
  t.open("k1", "HTTP", &a, 0, false, 1, &sink);
  t.open("k2", "HTTP", &b, 0, false, 1 + RangeFiles::kTimeout + 1, &sink);
  ASSERT_EQ(sink.rows.size(), 1u);
  EXPECT_EQ(sink.rows[0].uid, "Ca");
}

TEST(RangeFiles, PiecesBeyondTheCapMergeIntoANeighbour) {
  RangeFiles t;
  Rows sink;
  FlowContext a = flow("Ca");
  auto d = zeros(1);
  uint64_t id = t.open("k", "HTTP", &a, 0, false, 1, &sink);
  for (uint64_t i = 0; i < RangeFiles::kMaxPieces + 4; ++i) t.data(id, i * 10, d, 2, &sink);
  EXPECT_EQ(t.pieces_merged(), 4u);
  t.release(&a, 3, &sink);
  ASSERT_EQ(sink.rows.size(), 1u);
  EXPECT_EQ(sink.rows[0].seen, RangeFiles::kMaxPieces + 4);
}

}  // namespace
}  // namespace komainu::files
