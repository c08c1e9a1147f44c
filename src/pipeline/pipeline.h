#pragma once
#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/event.h"
#include "core/json.h"
#include "core/time.h"
#include "decode/decoder.h"
#include "flow/flow.h"
#include "pipeline/dispatch.h"

namespace komainu {

// Settings of the packet path, immutable once the pipeline is built.
struct PipelineConfig {
  DecodeConfig decode;
  FlowConfig flow;
  // Worker threads, each owning the flows of one shard (frame_shard). 1: the reading thread
  // processes every frame itself and output order is fully deterministic. The flow,
  // reassembly and fragment memcaps are shared out between the workers.
  unsigned workers = 1;
  // Shards per worker thread when there are several (see BatchScheduler): more even out the
  // threads' load; each shard has its own flow table and a part of the memcaps.
  unsigned shards_per_worker = 4;
  // Digests of every file (files::Digest bits, config `files.hashes`).
  uint8_t file_digests = 7;
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

// With more than one worker, `sink` is called from every worker thread: it must be safe to
// publish to concurrently (the EVE and Zeek writers and the detectors lock once told so by
// their set_concurrent()).
class Pipeline {
 public:
  // `stage`, when given, makes one WorkerStage per worker.
  Pipeline(const PipelineConfig& cfg, EventSink* sink, const WorkerStageFactory& stage = {});
  ~Pipeline();

  void process(const RawFrame& f);
  // The source has nothing for now (live capture): hand partly filled batches over so their
  // frames are not held back. A live source passes `now`, the time a packet arriving now
  // would carry (less a margin for packets still in the kernel's buffer): the data clock
  // moves on to it, so flows on a quiet network time out when they would had packets kept
  // coming, as Zeek advances network time while a live source is idle. 0: the clock stays.
  void idle(TimeNs now = 0);
  // End of input: every open flow is logged.
  void finish();
  // Data time every worker has processed up to: records published from now on are not older
  // (cross-flow detectors advance their windows to it). now() with one worker.
  TimeNs watermark() const;
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
  // One shard's batch being filled and its progress, when there are worker threads.
  struct Lane {
    std::unique_ptr<FrameBatch> filling;
    std::atomic<TimeNs> done{0};  // data time the shard has been processed up to
  };
  static constexpr size_t kMaxInvalidSamples = 20;
  struct Invalid {
    uint16_t input;
    uint64_t number;
    std::string why;
  };
  // What one shard does with one frame, on whichever thread runs it.
  struct Runner {
    Worker* worker = nullptr;
    DataClock clock;
    TimeNs next_housekeeping = 0;
    std::vector<Invalid> invalid;
    uint64_t frames = 0, bytes = 0;  // this shard's share (stats.json "shards")
    void run(const RawFrame& f, TimeNs now);
    void advance(TimeNs now);
  };
  void hand_over(size_t shard, bool last);
  void stop_lanes();  // hands every shard its last batch and joins the threads (once)
  void work(size_t thread, size_t threads);  // a worker thread

  std::vector<std::unique_ptr<Worker>> workers_;  // one per shard
  std::vector<Runner> runners_;
  std::vector<std::unique_ptr<Lane>> lanes_;  // empty with one worker
  std::unique_ptr<BatchScheduler> scheduler_;
  std::vector<std::thread> threads_;
  bool finished_ = false;  // the worker threads are joined
  DataClock clock_;
  // Every shard is handed its batch at least this often in data time. At a tenth of a second
  // (the detectors' advance step) most batches of the benchmark capture held ~60 frames and
  // the hand-overs cost 28k context switches, a tenth of the CPU time of two workers.
  static constexpr TimeNs kHandOverEvery = kNsPerSec;
  static constexpr size_t kInFlight = 8;  // batches per worker thread queued or worked on
  TimeNs next_hand_over_ = 0;
  TimeNs first_ts_ = 0;
  uint64_t frames_ = 0;
  uint64_t bytes_ = 0;
  uint64_t dropped_ = 0;
};

}  // namespace komainu
