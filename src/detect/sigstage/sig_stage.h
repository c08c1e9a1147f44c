// The signature engine in the packet path: one SigStage per worker (a WorkerStage, see
// pipeline.h). It inspects every packet the flow table hands it and every app-layer record
// the analyzers publish, and publishes EVE alerts to the outputs.
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>

#include "detect/signatures/app_buffers.h"
#include "detect/signatures/engine.h"
#include "pipeline/pipeline.h"

namespace komainu::sig {

struct SigStageCounters {
  uint64_t packets = 0;       // packet inspections
  uint64_t records = 0;       // app-layer records that had a buffer provider
  uint64_t transactions = 0;  // app-layer inspections (a record may give several)
  uint64_t alerts = 0;        // alert records published
  uint64_t flows_max = 0;     // most flows holding signature state at once
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
  // Per-flow signature state, created on the flow's first packet or record.
  struct FlowState {
    std::unique_ptr<FlowVars> vars;
    bool established = false;
    uint64_t bytes_to_server = 0, bytes_to_client = 0;
  };
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
  InspectBuffers buffers_;
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
