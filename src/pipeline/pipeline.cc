#include "pipeline/pipeline.h"

#include <algorithm>
#include <tuple>

namespace komainu {

Pipeline::Pipeline(const PipelineConfig& cfg, EventSink* sink, const WorkerStageFactory& stage) {
  unsigned threads = cfg.workers ? cfg.workers : 1;
  unsigned n = threads == 1 ? 1 : threads * std::max(1u, cfg.shards_per_worker);
  // Memory limits are the whole process's: each shard gets its part.
  PipelineConfig shard = cfg;
  shard.flow.memcap /= n;
  shard.flow.reassembly_global_limit /= n;
  shard.decode.frag_memcap /= n;
  shard.decode.frag_max_datagrams = std::max<uint32_t>(1, shard.decode.frag_max_datagrams / n);
  for (unsigned i = 0; i < n; ++i)
    workers_.push_back(std::make_unique<Worker>(n == 1 ? cfg : shard, sink, i, stage));
  runners_.resize(n);
  for (unsigned i = 0; i < n; ++i) runners_[i].worker = workers_[i].get();
  if (n == 1) return;
  // One batch being filled per shard, kInFlight per thread queued or being worked on.
  scheduler_ = std::make_unique<BatchScheduler>(n, n + kInFlight * threads);
  for (unsigned i = 0; i < n; ++i) {
    lanes_.push_back(std::make_unique<Lane>());
    lanes_[i]->filling = scheduler_->take_empty();
  }
  for (unsigned i = 0; i < threads; ++i)
    threads_.emplace_back([this, i, threads] { work(i, threads); });
}

Pipeline::~Pipeline() {
  stop_lanes();
}

void Pipeline::stop_lanes() {
  if (finished_) return;
  finished_ = true;
  for (size_t i = 0; i < lanes_.size(); ++i) hand_over(i, true);
  for (auto& t : threads_) t.join();
}

void Pipeline::Runner::advance(TimeNs now) {
  if (!clock.advance(now)) return;
  worker->advance(clock.now());
  if (clock.now() >= next_housekeeping) {
    worker->housekeeping(clock.now());
    next_housekeeping = clock.now() + kNsPerSec;
  }
}

void Pipeline::Runner::run(const RawFrame& f, TimeNs now) {
  advance(now);
  ++frames;
  bytes += f.caplen;
  DecodeResult r = worker->process(f);
  if (r == DecodeResult::kInvalid && invalid.size() < kMaxInvalidSamples) {
    const char* why = worker->decoder().last_weird();
    invalid.push_back({f.input, f.number, why ? why : "invalid"});
  }
}

void Pipeline::process(const RawFrame& f) {
  ++frames_;
  bytes_ += f.caplen;
  if (frames_ == 1) first_ts_ = f.ts;
  clock_.advance(f.ts);
  if (lanes_.empty()) {
    runners_[0].run(f, clock_.now());
    return;
  }
  size_t shard = frame_shard(f, unsigned(lanes_.size()));
  Lane& lane = *lanes_[shard];
  lane.filling->add(f, clock_.now());
  if (lane.filling->full()) hand_over(shard, false);
  // Every kHandOverEvery of data time each worker hears the clock, so an idle shard's flows
  // time out as they would with one worker, and the workers stay close in data time: the
  // cross-flow detectors see the shards' records interleaved within about that much.
  if (clock_.now() >= next_hand_over_) {
    for (size_t i = 0; i < lanes_.size(); ++i) hand_over(i, false);
    next_hand_over_ = clock_.now() + kHandOverEvery;
  }
}

void Pipeline::hand_over(size_t shard, bool last) {
  Lane& lane = *lanes_[shard];
  lane.filling->now = clock_.now();
  lane.filling->last = last;
  scheduler_->push(shard, std::move(lane.filling));
  if (!last) lane.filling = scheduler_->take_empty();
}

void Pipeline::idle(TimeNs now) {
  bool moved = frames_ > 0 && clock_.advance(now);
  if (lanes_.empty()) {
    if (moved) runners_[0].advance(clock_.now());
    return;
  }
  for (size_t i = 0; i < lanes_.size(); ++i)
    if (moved || !lanes_[i]->filling->items.empty()) hand_over(i, false);
}

void Pipeline::work(size_t thread, size_t threads) {
  size_t shard = 0;
  while (std::unique_ptr<FrameBatch> b = scheduler_->next(thread, threads, shard)) {
    Runner& runner = runners_[shard];
    for (auto& it : b->items) {
      it.frame.data = b->bytes.data() + it.offset;
      runner.run(it.frame, it.now);
    }
    runner.advance(b->now);
    lanes_[shard]->done.store(runner.clock.now(), std::memory_order_release);
    scheduler_->done(shard, std::move(b));
  }
}

TimeNs Pipeline::watermark() const {
  if (lanes_.empty()) return clock_.now();
  TimeNs m = lanes_[0]->done.load(std::memory_order_acquire);
  for (size_t i = 1; i < lanes_.size(); ++i)
    m = std::min(m, lanes_[i]->done.load(std::memory_order_acquire));
  return m;
}

void Pipeline::finish() {
  stop_lanes();
  for (auto& w : workers_) w->finish(clock_.now());
}

void Pipeline::write_stats(JsonWriter& w) const {
  CounterSet decode = workers_[0]->decoder().counters();
  CounterSet flow = workers_[0]->flows().counters();
  ReasonCounter weirds;
  for (size_t i = 0; i < workers_.size(); ++i) {
    const auto& d = workers_[i]->decoder();
    if (i) {
      decode.add(d.counters());
      flow.add(workers_[i]->flows().counters());
    }
    const auto& wr = d.weirds();
    for (size_t k = 0; k < wr.names().size(); ++k)
      if (wr.counts()[k]) weirds.count(weirds.intern(wr.names()[k]), wr.counts()[k]);
  }
  uint64_t decoded = decode[decode_ctr::kDecoded], non_ip = decode[decode_ctr::kNonIp],
           invalid = decode[decode_ctr::kInvalid];
  w.key("packets").begin_object();
  w.kv("read", frames_ + dropped_)
      .kv("processed", decoded + non_ip)
      .kv("decoded_ip", decoded)
      .kv("non_ip", non_ip)
      .kv("invalid", invalid)
      .kv("dropped", dropped_)
      .kv("bytes", bytes_);
  // The first frames that failed to decode, in input order, over every worker.
  std::vector<Invalid> samples;
  for (const auto& r : runners_) samples.insert(samples.end(), r.invalid.begin(), r.invalid.end());
  std::sort(samples.begin(), samples.end(), [](const Invalid& a, const Invalid& b) {
    return std::tie(a.input, a.number) < std::tie(b.input, b.number);
  });
  if (samples.size() > kMaxInvalidSamples) samples.resize(kMaxInvalidSamples);
  w.key("invalid_samples").begin_array();
  for (const auto& s : samples)
    w.value("input " + std::to_string(s.input) + " packet " + std::to_string(s.number) + ": " +
            s.why);
  w.end_array();
  w.end_object();
  auto counters = [&](const char* name, const CounterSet& c) {
    w.key(name).begin_object();
    for (size_t i = 0; i < c.info().size(); ++i) w.kv(c.info()[i].name, c[i]);
    w.end_object();
  };
  counters("decode", decode);
  w.key("anomalies").begin_object();
  for (size_t k = 0; k < weirds.names().size(); ++k) w.kv(weirds.names()[k], weirds.counts()[k]);
  w.end_object();
  counters("flow", flow);
  // Each shard's share: how evenly the address pairs split the traffic.
  w.key("shards").begin_array();
  for (size_t i = 0; i < runners_.size(); ++i)
    w.begin_object()
        .kv("frames", runners_[i].frames)
        .kv("bytes", runners_[i].bytes)
        .kv("flows", workers_[i]->flows().counters()[kFlowsCreated])
        .end_object();
  w.end_array();
  // Named app-layer anomalies per analyzer, summed over the workers (only those seen).
  w.key("app_layer").begin_object();
  const FlowTable& first = workers_[0]->flows();
  for (size_t a = 0; a < first.analyzers().size(); ++a) {
    ReasonCounter sum;
    for (const auto& wk : workers_) {
      const AnalyzerWorkerState* st = wk->flows().analyzer_state(a);
      for (size_t k = 0; st && k < st->anomalies.names().size(); ++k)
        sum.count(sum.intern(st->anomalies.names()[k]), st->anomalies.counts()[k]);
    }
    if (sum.names().empty()) continue;
    w.key(first.analyzers()[a]->name).begin_object();
    w.key("anomalies").begin_object();
    for (size_t k = 0; k < sum.names().size(); ++k) w.kv(sum.names()[k], sum.counts()[k]);
    w.end_object();
    w.end_object();
  }
  w.end_object();
}

}  // namespace komainu
