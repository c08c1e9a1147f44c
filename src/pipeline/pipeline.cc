#include "pipeline/pipeline.h"

namespace komainu {

Pipeline::Pipeline(const PipelineConfig& cfg, EventSink* sink, const WorkerStageFactory& stage) {
  // One worker today; the flow table and decoder are per worker, so more shards are a
  // dispatcher away (FlowTable::shard_of).
  workers_.push_back(std::make_unique<Worker>(cfg, sink, 0, stage));
}

void Pipeline::process(const RawFrame& f) {
  ++frames_;
  bytes_ += f.caplen;
  if (frames_ == 1) first_ts_ = f.ts;
  Worker& w = *workers_[0];
  if (clock_.advance(f.ts)) {
    w.advance(clock_.now());
    if (clock_.now() >= next_housekeeping_) {
      w.housekeeping(clock_.now());
      next_housekeeping_ = clock_.now() + kNsPerSec;
    }
  }
  DecodeResult r = w.process(f);
  if (r == DecodeResult::kInvalid && invalid_samples_.size() < 20) {
    const char* why = w.decoder().last_weird();
    invalid_samples_.push_back("input " + std::to_string(f.input) + " packet " +
                               std::to_string(f.number) + ": " + (why ? why : "invalid"));
  }
}

void Pipeline::finish() {
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
  w.key("invalid_samples").begin_array();
  for (const auto& s : invalid_samples_) w.value(s);
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
