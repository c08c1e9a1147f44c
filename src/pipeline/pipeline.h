#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/event.h"
#include "core/json.h"
#include "core/time.h"
#include "decode/decoder.h"
#include "flow/flow.h"

namespace komainu {

// Settings of the packet path, immutable once the pipeline is built.
struct PipelineConfig {
  DecodeConfig decode;
  FlowConfig flow;
};

// A per-worker stage between the flow table and the outputs (the signature engine): it sees
// every packet once its flow is updated and every record before the outputs, forwards the
// records to `out` and publishes its own (alerts) there too.
class WorkerStage : public EventSink, public PacketObserver {};
using WorkerStageFactory =
    std::function<std::unique_ptr<WorkerStage>(unsigned shard, EventSink* out)>;

// One shard of the flows: everything a worker thread owns.
class Worker {
 public:
  Worker(const PipelineConfig& cfg, EventSink* sink, unsigned shard,
         const WorkerStageFactory& stage = {})
      : stage_(stage ? stage(shard, sink) : nullptr),
        decoder_(cfg.decode),
        flows_(cfg.flow, stage_ ? stage_.get() : sink, shard),
        arp_(stage_ ? stage_.get() : sink) {
    flows_.set_observer(stage_.get());
    decoder_.set_arp_sink(&arp_);
  }
  DecodeResult process(const RawFrame& f) { return decoder_.decode(f, flows_); }
  void advance(TimeNs now) { flows_.advance(now); }
  void housekeeping(TimeNs now) { decoder_.expire(now); }
  void finish(TimeNs now) { flows_.finish(now); }
  const Decoder& decoder() const { return decoder_; }
  const FlowTable& flows() const { return flows_; }
  const WorkerStage* stage() const { return stage_.get(); }

 private:
  std::unique_ptr<WorkerStage> stage_;  // before flows_: the table publishes into it
  Decoder decoder_;
  FlowTable flows_;
  ArpPublisher arp_;  // ARP messages as records, beside the flows' (ARP sweeps)
};

class Pipeline {
 public:
  // `stage`, when given, makes one WorkerStage per worker.
  Pipeline(const PipelineConfig& cfg, EventSink* sink, const WorkerStageFactory& stage = {});

  void process(const RawFrame& f);
  // End of input: every open flow is logged.
  void finish();
  // Frames the capture layer lost before they reached us (live kernel drops).
  void set_dropped(uint64_t n) { dropped_ = n; }

  uint64_t frames() const { return frames_; }
  uint64_t bytes() const { return bytes_; }
  TimeNs first_ts() const { return first_ts_; }
  TimeNs now() const { return clock_.now(); }
  // "packets", "decode", "flow" members of stats.json.
  void write_stats(JsonWriter& w) const;
  const std::vector<std::unique_ptr<Worker>>& workers() const { return workers_; }

 private:
  std::vector<std::unique_ptr<Worker>> workers_;
  DataClock clock_;
  TimeNs next_housekeeping_ = 0;
  TimeNs first_ts_ = 0;
  uint64_t frames_ = 0;
  uint64_t bytes_ = 0;
  uint64_t dropped_ = 0;
  // Frames whose decoding failed, with the first few packet numbers per reason for messages.
  std::vector<std::string> invalid_samples_;
};

}  // namespace komainu
