// The signature engine in the packet path: one SigStage per worker (a WorkerStage, see
// pipeline.h). It inspects every packet the flow table hands it and every app-layer record
// the analyzers publish, and publishes EVE alerts to the outputs.
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "detect/signatures/app_buffers.h"
#include "detect/signatures/engine.h"
#include "pipeline/pipeline.h"

namespace komainu::sig {

struct SigStageCounters {
  uint64_t packets = 0;                 // packet inspections
  uint64_t records = 0;                 // app-layer records that had a buffer provider
  uint64_t records_midstream = 0;       // of which not inspected: TCP flow picked up mid-way
  uint64_t transactions = 0;            // app-layer inspections (a record may give several)
  uint64_t alerts = 0;                  // alert records published
  uint64_t flows_max = 0;               // most flows holding signature state at once
  uint64_t stream_inspections = 0;      // reassembled stream chunks inspected
  uint64_t stream_gaps = 0;             // holes skipped (receiver acknowledged past them)
  uint64_t stream_pending_dropped = 0;  // out-of-order segments over the pending bound
};

class SigStage : public WorkerStage {
 public:
  // `engine` outlives the stage; `out` receives the forwarded records and the alerts.
  // `community_id_seed` as the flow table's, for alerts on flows not yet rendered.
  SigStage(const Engine& engine, EventSink* out, uint16_t community_id_seed = 0);
  ~SigStage() override;

  void on_packet(const Packet& p, const Flow* f, bool to_server) override;
  void publish(const Record& r) override;
  void flush() override { out_->flush(); }

  const SigStageCounters& counters() const { return counters_; }
  const ScratchCounters& scratch_counters() const { return scratch_->counters(); }
  size_t flows_tracked() const { return flows_.size(); }

 private:
  // One direction of a TCP flow as the stream inspection sees it: the in-order bytes (the
  // last kStreamLookback of them kept, so a content split across segments is found) and the
  // segments that arrived ahead of a hole. First data wins on overlaps (Suricata's default);
  // a hole the receiver acknowledged past is a gap: the stream resumes after it.
  struct StreamDir {
    bool synced = false;  // initial sequence number known (SYN seen)
    uint32_t next = 0;    // next expected sequence number
    std::string window;
    struct Segment {
      uint32_t seq;
      std::string data;
    };
    std::vector<Segment> pending;  // out of order, sorted by seq
    size_t pending_bytes = 0;
    StreamHits hits;  // the prefilter's memory of the window's lookback
  };
  // Per-flow signature state, created on the flow's first packet or record.
  enum class TcpStart : uint8_t { kUnknown, kSyn, kMidstream };
  struct FlowState {
    TcpStart tcp_start = TcpStart::kUnknown;  // how the TCP flow's first packet began it
    std::unique_ptr<FlowVars> vars;
    bool established = false;
    uint64_t bytes_to_server = 0, bytes_to_client = 0;
    std::unique_ptr<StreamDir> stream[2];  // TCP only: [0] to_server, [1] to_client
  };
  // What the stream made of a segment: new in-order bytes to inspect (window grew), bytes
  // already inspected or held back (covered), or not part of the stream (none).
  enum class StreamUpdate : uint8_t { kNone, kCovered, kNewData };
  StreamUpdate update_stream(FlowState& st, const Packet& p, bool to_server, size_t& seen);
  // Moves the held segments the stream has reached into the window; true when it grew.
  bool drain_pending(StreamDir& sd);
  // Runs the stream rules over the window of one direction (`seen` bytes inspected before).
  void inspect_stream(const InspectContext& packet_ctx, StreamDir& sd, size_t seen, const Flow* f);
  FlowState& state_of(uint64_t flow_id);
  void inspect_record(const Record& r, const AppBufferApi& api);
  void emit(const Signature& s, const InspectContext& c, const FlowContext* flow,
            const Record* app);
  const FlowContext* alert_flow(const Flow& f);

  const Engine& engine_;
  EventSink* out_;
  uint16_t community_id_seed_;
  std::unique_ptr<Scratch> scratch_;
  std::unordered_map<uint64_t, FlowState> flows_;
  // The last flow looked up: consecutive packets mostly belong to the same flow, and the
  // map's nodes stay put until their flow is erased (which clears this).
  uint64_t last_id_ = 0;
  FlowState* last_ = nullptr;
  InspectBuffers buffers_;
  InspectBuffers stream_buffers_;
  std::vector<std::pair<const Signature*, bool>> record_alerted_;  // this record's alerts
  AppBufferScratch app_scratch_;
  Packet app_pkt_;        // header view of a transaction (flow tuple in its direction)
  FlowContext ctx_copy_;  // a flow context with community_id, for flows not yet rendered
  AlertRecord alert_;
  std::string app_json_;
  SigStageCounters counters_;
};

// The "signatures" member of stats.json: the rule load report, the engine's build figures
// and the counters of every stage (summed over workers).
void write_signature_stats(JsonWriter& w, const Engine& engine, const LoadReport& report,
                           std::span<const SigStage* const> stages);

}  // namespace komainu::sig
