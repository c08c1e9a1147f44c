// Malformed or unexpected app-layer input as a named event: EVE "anomaly" (Suricata's
// app-layer form) and a Zeek weird.log row. Shared by every analyzer (header-only so the
// analyzers CMakeLists stays a bare subfolder scan): a session owns one AnomalyReporter,
// names each anomaly once (Zeek's weird name, e.g. "DNS_truncated_ans_too_short") and
// calls report(); every occurrence is counted, the event is published once per name per
// flow as Zeek's default weird action does, so a hostile flow cannot flood the logs.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include "core/counters.h"
#include "core/event.h"

namespace komainu {

inline const ZeekSchema& weird_zeek_schema() {
  static const ZeekSchema schema{"weird", zeek_conn_fields({{"name", ZeekType::kString},
                                                            {"addl", ZeekType::kString},
                                                            {"notice", ZeekType::kBool},
                                                            {"peer", ZeekType::kString},
                                                            {"source", ZeekType::kString}})};
  return schema;
}

class AnomalyRecord : public Record {
 public:
  std::string_view event_type() const override { return "anomaly"; }
  void write_eve(JsonWriter& w) const override {
    w.key("anomaly").begin_object();
    if (!app_proto.empty()) w.kv("app_proto", app_proto);
    w.kv("type", "applayer").kv("event", name).kv("layer", "proto_parser");
    if (!addl.empty()) w.kv("addl", addl);
    w.end_object();
  }
  const ZeekSchema* zeek_schema() const override { return &weird_zeek_schema(); }
  void write_zeek(ZeekRow& row) const override {
    row.time(ts);
    if (flow) {
      row.str(flow->uid).addr(flow->tuple.src).count(flow->tuple.sport);
      row.addr(flow->tuple.dst).count(flow->tuple.dport);
    } else {
      row.unset().unset().unset().unset().unset();
    }
    row.str(name);
    if (addl.empty())
      row.unset();
    else
      row.str(addl);
    row.boolean(false).str("zeek").str(source);
  }

  std::string_view app_proto;  // EVE app_proto: "dns", "tls", ...
  std::string_view name;       // the counted reason, Zeek weird name
  std::string_view source;     // Zeek analyzer tag: "DNS", "SSL", "SSH"
  std::string addl;
};

// Per-session anomaly bookkeeping: counts every occurrence by name, publishes the first of
// each name in the flow.
class AnomalyReporter {
 public:
  AnomalyReporter(std::string_view app_proto, std::string_view source)
      : app_proto_(app_proto), source_(source) {}

  // Every occurrence is also counted into `worker` (the analyzer's per-worker counts that
  // stats.json reports), when given.
  void count_into(ReasonCounter* worker) { worker_ = worker; }

  // `name` must outlive the reporter (a string literal).
  void report(EventSink* sink, const FlowContext* flow, TimeNs ts, std::string_view name,
              bool to_client = false, std::string addl = {}) {
    std::string key(name);
    if (worker_) worker_->count(worker_->intern(key));
    size_t id = reasons_.intern(key);
    reasons_.count(id);
    if (reasons_.counts()[id] > 1 || sink == nullptr) return;
    AnomalyRecord r;
    r.ts = ts;
    r.flow = flow;
    r.to_client = to_client;
    r.app_proto = app_proto_;
    r.name = name;
    r.source = source_;
    r.addl = std::move(addl);
    sink->publish(r);
  }
  const ReasonCounter& counts() const { return reasons_; }
  uint64_t count(std::string_view name) const {
    for (size_t i = 0; i < reasons_.names().size(); ++i)
      if (reasons_.names()[i] == name) return reasons_.counts()[i];
    return 0;
  }
  uint64_t total() const { return reasons_.total(); }

 private:
  std::string_view app_proto_;
  std::string_view source_;
  ReasonCounter reasons_;
  ReasonCounter* worker_ = nullptr;
};

}  // namespace komainu
