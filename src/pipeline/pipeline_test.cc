#include "pipeline/pipeline.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "analyzers/files/file_tracker.h"
#include "output/eve_writer.h"
#include "pipeline/config.h"
#include "pipeline/dispatch.h"

namespace komainu {
namespace {

// Frames built by hand: Ethernet + IPv4/IPv6 + UDP or TCP.
struct FrameMaker {
  std::vector<std::vector<uint8_t>> store;

  static void put16(std::vector<uint8_t>& b, uint16_t v) {
    b.push_back(uint8_t(v >> 8));
    b.push_back(uint8_t(v));
  }
  std::vector<uint8_t> ether(uint16_t type) {
    std::vector<uint8_t> b(12, 0x02);
    put16(b, type);
    return b;
  }
  // IPv4 with `l4` as payload; frag_off in 8-byte units, `more` fragments flag.
  std::vector<uint8_t> ipv4(uint32_t src, uint32_t dst, uint8_t proto,
                            const std::vector<uint8_t>& l4, uint16_t id = 1, uint16_t frag = 0,
                            bool more = false) {
    std::vector<uint8_t> b = ether(0x0800);
    b.push_back(0x45);
    b.push_back(0);
    put16(b, uint16_t(20 + l4.size()));
    put16(b, id);
    put16(b, uint16_t((more ? 0x2000 : 0) | frag));
    b.push_back(64);
    b.push_back(proto);
    put16(b, 0);
    for (uint32_t a : {src, dst})
      for (int s = 24; s >= 0; s -= 8) b.push_back(uint8_t(a >> s));
    b.insert(b.end(), l4.begin(), l4.end());
    return b;
  }
  std::vector<uint8_t> ipv6(uint8_t src_last, uint8_t dst_last, const std::vector<uint8_t>& l4) {
    std::vector<uint8_t> b = ether(0x86DD);
    b.push_back(0x60);
    b.insert(b.end(), 3, 0);
    put16(b, uint16_t(l4.size()));
    b.push_back(17);
    b.push_back(64);
    for (uint8_t last : {src_last, dst_last}) {
      b.push_back(0x20);
      b.push_back(0x01);
      b.insert(b.end(), 13, 0);
      b.push_back(last);
    }
    b.insert(b.end(), l4.begin(), l4.end());
    return b;
  }
  static std::vector<uint8_t> udp(uint16_t sp, uint16_t dp, size_t payload) {
    std::vector<uint8_t> b;
    put16(b, sp);
    put16(b, dp);
    put16(b, uint16_t(8 + payload));
    put16(b, 0);
    b.insert(b.end(), payload, 'x');
    return b;
  }
  static std::vector<uint8_t> tcp(uint16_t sp, uint16_t dp, uint8_t flags, uint32_t seq) {
    std::vector<uint8_t> b;
    put16(b, sp);
    put16(b, dp);
    for (int s = 24; s >= 0; s -= 8) b.push_back(uint8_t(seq >> s));
    b.insert(b.end(), 4, 0);
    b.push_back(0x50);
    b.push_back(flags);
    put16(b, 8192);
    put16(b, 0);
    put16(b, 0);
    return b;
  }
  RawFrame frame(std::vector<uint8_t> bytes, TimeNs ts) {
    store.push_back(std::move(bytes));
    RawFrame f;
    f.ts = ts;
    f.number = store.size();
    f.caplen = f.wirelen = uint32_t(store.back().size());
    f.data = store.back().data();
    return f;
  }
};

// Both directions of a flow and every fragment of a datagram land in the same shard.
TEST(FrameShard, SymmetricAndFragmentsTogether) {
  FrameMaker m;
  uint32_t a = 0x0a000001, b = 0x0a000002;
  for (unsigned n : {2u, 3u, 8u}) {
    RawFrame ab = m.frame(m.ipv4(a, b, 17, FrameMaker::udp(1000, 53, 10)), 1);
    RawFrame ba = m.frame(m.ipv4(b, a, 17, FrameMaker::udp(53, 1000, 10)), 2);
    RawFrame frag2 = m.frame(m.ipv4(a, b, 17, std::vector<uint8_t>(16, 'y'), 7, 2, false), 3);
    RawFrame other_port = m.frame(m.ipv4(a, b, 6, FrameMaker::tcp(4444, 445, 0x02, 1)), 4);
    EXPECT_EQ(frame_shard(ab, n), frame_shard(ba, n));
    EXPECT_EQ(frame_shard(ab, n), frame_shard(frag2, n));
    EXPECT_EQ(frame_shard(ab, n), frame_shard(other_port, n));
    RawFrame v6ab = m.frame(m.ipv6(1, 2, FrameMaker::udp(5, 6, 4)), 5);
    RawFrame v6ba = m.frame(m.ipv6(2, 1, FrameMaker::udp(6, 5, 4)), 6);
    EXPECT_EQ(frame_shard(v6ab, n), frame_shard(v6ba, n));
    EXPECT_LT(frame_shard(v6ab, n), n);
  }
  // Many host pairs spread over the shards.
  std::vector<int> hits(4, 0);
  for (uint32_t i = 0; i < 400; ++i)
    ++hits[frame_shard(m.frame(m.ipv4(a + i, b + 7 * i, 17, FrameMaker::udp(1, 2, 0)), 1), 4)];
  for (int h : hits) EXPECT_GT(h, 50);
  // Not IP, truncated, unknown link type: shard 0, never out of range.
  RawFrame arp = m.frame(m.ether(0x0806), 1);
  EXPECT_EQ(frame_shard(arp, 4), 0u);
  RawFrame cut = m.frame(std::vector<uint8_t>(20, 0), 1);
  cut.caplen = 16;
  EXPECT_EQ(frame_shard(cut, 4), 0u);
  RawFrame odd = m.frame(m.ipv4(a, b, 17, FrameMaker::udp(1, 2, 0)), 1);
  odd.linktype = 9999;
  EXPECT_EQ(frame_shard(odd, 4), 0u);
  EXPECT_EQ(frame_shard(odd, 1), 0u);
}

// Collects every record as its EVE line; workers publish concurrently.
class LinesSink : public EventSink {
 public:
  void publish(const Record& r) override {
    std::string line;
    EveWriter::render(r, line);
    std::lock_guard lock(mu);
    lines.push_back(line);
  }
  std::vector<std::string> sorted() {
    std::sort(lines.begin(), lines.end());
    return lines;
  }
  std::vector<std::string> lines;
  std::mutex mu;
};

struct RunResult {
  std::vector<std::string> lines;
  std::string stats;
};

RunResult run(unsigned workers, const std::vector<RawFrame>& frames) {
  PipelineConfig cfg;
  cfg.workers = workers;
  cfg.flow.analyzers = false;
  LinesSink sink;
  RunResult r;
  {
    Pipeline p(cfg, &sink);
    for (const auto& f : frames) p.process(f);
    p.finish();
    EXPECT_EQ(p.watermark(), p.now());
    JsonWriter w(r.stats);
    w.begin_object();
    p.write_stats(w);
    w.end_object();
  }
  r.lines = sink.sorted();
  return r;
}

// The same records and counters whatever the number of workers: flows that time out in the
// middle of the capture (data time), fragments reassembled, flows left open at the end,
// undecodable frames counted once.
TEST(PipelineWorkers, SameRecordsAsOneWorker) {
  FrameMaker m;
  std::vector<RawFrame> frames;
  TimeNs t = 1'700'000'000 * kNsPerSec;
  for (uint32_t i = 0; i < 3000; ++i) {
    t += 37 * kNsPerMs;
    uint32_t src = 0x0a000000 + (i % 97), dst = 0xc0a80000 + (i % 13);
    switch (i % 5) {
      case 0:
        frames.push_back(
            m.frame(m.ipv4(src, dst, 17, FrameMaker::udp(uint16_t(2000 + i % 50), 53, 30)), t));
        break;
      case 1:
        frames.push_back(m.frame(
            m.ipv4(dst, src, 17, FrameMaker::udp(53, uint16_t(2000 + (i - 1) % 50), 60)), t));
        break;
      case 2:
        frames.push_back(
            m.frame(m.ipv4(src, dst, 6, FrameMaker::tcp(uint16_t(40000 + i), 445, 0x02, i)), t));
        break;
      case 3: {  // a UDP datagram in two fragments
        std::vector<uint8_t> l4 = FrameMaker::udp(7000, 7001, 40);
        std::vector<uint8_t> first(l4.begin(), l4.begin() + 24), rest(l4.begin() + 24, l4.end());
        frames.push_back(m.frame(m.ipv4(src, dst, 17, first, uint16_t(i), 0, true), t));
        frames.push_back(m.frame(m.ipv4(src, dst, 17, rest, uint16_t(i), 3, false), t + 1000));
        break;
      }
      default:
        frames.push_back(
            m.frame(m.ipv6(uint8_t(i % 31), uint8_t(i % 7), FrameMaker::udp(9, 10, 5)), t));
        break;
    }
    if (i % 700 == 0) {  // undecodable
      RawFrame bad = m.frame(m.ether(0x0800), t);
      frames.push_back(bad);
    }
    if (i == 1500) t += 600 * kNsPerSec;  // every flow so far times out
  }
  RunResult one = run(1, frames);
  ASSERT_GT(one.lines.size(), 500u);
  EXPECT_NE(one.stats.find("\"invalid\":5"), std::string::npos) << one.stats;
  for (unsigned n : {2u, 3u}) {
    RunResult many = run(n, frames);
    EXPECT_EQ(one.lines, many.lines) << n << " workers";
    // Everything but the per-shard shares, which add up to the same frames.
    auto cut = [](const std::string& s) {
      size_t a = s.find(",\"shards\":["), b = s.find(']', a);
      return a == std::string::npos ? s : s.substr(0, a) + s.substr(b + 1);
    };
    EXPECT_EQ(cut(one.stats), cut(many.stats)) << n << " workers";
    uint64_t sum = 0;
    size_t shards = 0;
    for (size_t at = many.stats.find("{\"frames\":", many.stats.find("\"shards\":["));
         at != std::string::npos; at = many.stats.find("{\"frames\":", at + 1), ++shards)
      sum += std::stoull(many.stats.substr(at + 10));
    EXPECT_EQ(shards, n * PipelineConfig{}.shards_per_worker);
    EXPECT_EQ(sum, frames.size());
  }
}

// Each shard's batches come out in the order they went in, never to two threads at once,
// every shard's last batch ends the threads, and no more batches than the bound ever exist.
TEST(BatchScheduler, OrderedPerShardOneThreadAtATimeAndBounded) {
  constexpr size_t kShards = 6, kBatches = 10, kPerShard = 300;
  BatchScheduler q(kShards, kBatches);
  std::vector<std::vector<TimeNs>> seen(kShards);
  std::vector<std::atomic<int>> on(kShards);
  std::atomic<bool> overlap{false};
  auto consumer = [&](size_t thread) {
    size_t shard = 0;
    while (auto b = q.next(thread, 3, shard)) {
      if (on[shard].fetch_add(1) != 0) overlap = true;
      seen[shard].push_back(b->now);  // only this thread is on the shard
      std::this_thread::yield();
      on[shard].fetch_sub(1);
      q.done(shard, std::move(b));
    }
  };
  std::vector<std::thread> threads;
  for (size_t i = 0; i < 3; ++i) threads.emplace_back(consumer, i);
  // Shard 0 gets a third of the batches: the others keep flowing meanwhile.
  for (size_t i = 1; i <= kPerShard; ++i)
    for (size_t s = 0; s < kShards; ++s)
      for (size_t k = 0; k < (s == 0 ? 3u : 1u); ++k) {
        auto b = q.take_empty();
        EXPECT_TRUE(b->items.empty());
        b->now = TimeNs(i * 10 + k);
        b->last = i == kPerShard && k == (s == 0 ? 2u : 0u);
        q.push(s, std::move(b));
      }
  for (auto& t : threads) t.join();
  EXPECT_FALSE(overlap);
  for (size_t s = 0; s < kShards; ++s) {
    ASSERT_EQ(seen[s].size(), kPerShard * (s == 0 ? 3 : 1)) << s;
    EXPECT_TRUE(std::is_sorted(seen[s].begin(), seen[s].end())) << s;
  }
  EXPECT_LE(q.allocated(), kBatches);
}

std::string write_temp(const std::string& text) {
  std::string path = ::testing::TempDir() + "pipeline_config_test.yaml";
  std::ofstream(path) << text;
  return path;
}

TEST(PipelineConfig, WorkersAndMemcapsLoad) {
  PipelineConfig cfg;
  std::string err;
  ASSERT_TRUE(load_pipeline_config(
      write_temp("flow:\n  memcap: 64MiB\nthreading:\n  workers: 4\ndetectors: {}\n"), cfg, &err))
      << err;
  EXPECT_EQ(cfg.workers, 4u);
  EXPECT_EQ(cfg.flow.memcap, 64ull << 20);
  PipelineConfig dflt;
  EXPECT_EQ(dflt.workers, 1u);
  EXPECT_EQ(dflt.file_digests, 7u);
}

TEST(PipelineConfig, FileHashes) {
  PipelineConfig cfg;
  std::string err;
  ASSERT_TRUE(load_pipeline_config(write_temp("files:\n  hashes: [sha256, sha1]\n"), cfg, &err))
      << err;
  EXPECT_EQ(cfg.file_digests, files::kSha256 | files::kSha1);
  ASSERT_TRUE(load_pipeline_config(write_temp("files:\n  hashes: []\n"), cfg, &err)) << err;
  EXPECT_EQ(cfg.file_digests, 0u);
  std::string path = write_temp("files:\n  hashes:\n    - md5\n    - crc32\n");
  EXPECT_FALSE(load_pipeline_config(path, cfg, &err));
  EXPECT_EQ(err, path + ":4: files.hashes: unknown digest (md5, sha1 or sha256)");
  path = write_temp("files:\n  hashes: md5\n");
  EXPECT_FALSE(load_pipeline_config(path, cfg, &err));
  EXPECT_EQ(err, path + ":2: files.hashes: expected a list such as [md5, sha1, sha256]");
}

TEST(PipelineConfig, BadValuesNameFileLineAndKey) {
  PipelineConfig cfg;
  std::string err;
  std::string path = write_temp("flow:\n  memcap: 1MiB\nthreading:\n  workers: lots\n");
  EXPECT_FALSE(load_pipeline_config(path, cfg, &err));
  EXPECT_EQ(err, path + ":4: threading.workers: expected a whole number up to 64");
  path = write_temp("threading:\n  workers: 65\n");
  EXPECT_FALSE(load_pipeline_config(path, cfg, &err));
  EXPECT_NE(err.find(":2: threading.workers"), std::string::npos) << err;
  path = write_temp("threading:\n  threads: 2\n");
  EXPECT_FALSE(load_pipeline_config(path, cfg, &err));
  EXPECT_EQ(err, path + ":2: unknown setting 'threading.threads'");
}

// A live source that goes quiet moves the data clock on through idle(now): the flow times
// out then, not only at the next packet or at the end; idle(0) leaves the clock alone.
TEST(PipelineWorkers, IdleMovesTheClockOnForLiveSources) {
  FrameMaker m;
  TimeNs t = 1'700'000'000 * kNsPerSec;
  RawFrame f = m.frame(m.ipv4(0x0a000001, 0x0a000002, 17, FrameMaker::udp(1000, 53, 8)), t);
  for (unsigned workers : {1u, 2u}) {
    PipelineConfig cfg;
    cfg.workers = workers;
    cfg.flow.analyzers = false;
    LinesSink sink;
    Pipeline p(cfg, &sink);
    p.process(f);
    auto flows = [&] {
      for (int i = 0; i < 200; ++i) {  // the workers run on their own threads
        {
          std::lock_guard lock(sink.mu);
          for (const auto& l : sink.lines)
            if (l.find("\"event_type\":\"flow\"") != std::string::npos) return 1;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
      return 0;
    };
    p.idle(0);
    EXPECT_EQ(p.now(), t);
    p.idle(t + 30 * kNsPerSec);  // within the UDP timeout (60 s)
    EXPECT_EQ(flows(), 0) << workers;
    p.idle(t + 120 * kNsPerSec);
    EXPECT_EQ(p.now(), t + 120 * kNsPerSec);
    EXPECT_EQ(flows(), 1) << workers;
    p.finish();
  }
}

// Each worker's flow table gets its part of the flow memcap: past it, flows are evicted and
// counted, in every worker.
TEST(PipelineWorkers, MemcapIsSharedOut) {
  FrameMaker m;
  std::vector<RawFrame> frames;
  TimeNs t = 1'700'000'000 * kNsPerSec;
  for (uint32_t i = 0; i < 20000; ++i)
    frames.push_back(m.frame(
        m.ipv4(0x0a000000 + i, 0xc0a80001, 17, FrameMaker::udp(uint16_t(1024 + i % 60000), 53, 4)),
        t += kNsPerMs));
  auto evicted = [&](unsigned workers) {
    PipelineConfig cfg;
    cfg.workers = workers;
    cfg.flow.analyzers = false;
    cfg.flow.memcap = 2u << 20;
    LinesSink sink;
    Pipeline p(cfg, &sink);
    for (const auto& f : frames) p.process(f);
    p.finish();
    std::string stats;
    JsonWriter w(stats);
    w.begin_object();
    p.write_stats(w);
    w.end_object();
    auto at = stats.find("\"flows_evicted\":");
    EXPECT_NE(at, std::string::npos) << stats;
    size_t flows = 0;
    for (const auto& l : sink.lines)
      flows += l.find("\"event_type\":\"flow\"") != std::string::npos;
    EXPECT_EQ(flows, frames.size()) << workers;  // every flow logged once
    return std::stoull(stats.substr(at + 16));
  };
  uint64_t one = evicted(1), two = evicted(2);
  EXPECT_GT(one, 0u);
  // The same memory for all flows, whatever the split: within what two tables' bookkeeping
  // and an uneven hash take.
  EXPECT_GT(two, one / 2);
  EXPECT_LT(two, one * 2);
}

}  // namespace
}  // namespace komainu
