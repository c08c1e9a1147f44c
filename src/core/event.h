// Typed events: what every stage publishes and every output consumes. A record knows how
// to write itself as an EVE JSON body and, if it has one, as a row of its Zeek log; outputs
// (EVE file, Zeek logs, store, NATS) never know the record types. Records are published
// per transaction or flow, never per byte.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "core/addr.h"
#include "core/json.h"
#include "core/time.h"

namespace komainu {

// The endpoints of a flow as its originator opened it.
struct FlowTuple {
  IpAddr src;
  IpAddr dst;
  uint16_t sport = 0;
  uint16_t dport = 0;
  uint8_t proto = 0;  // IP protocol number
};

// What network records carry about their flow, for EVE's common header and Zeek's id.*.
struct FlowContext {
  uint64_t flow_id = 0;  // EVE flow_id
  std::string uid;       // Zeek uid ("C" + base62)
  FlowTuple tuple;       // originator -> responder
  std::string community_id;
  std::string app_proto;  // EVE app_proto (Suricata's name); "" until an analyzer claims the flow
  std::string service;    // Zeek's service name for the same analyzer
  uint16_t vlan[2] = {0, 0};
  uint8_t vlan_count = 0;
};

// --- Zeek logs -------------------------------------------------------------------------

enum class ZeekType : uint8_t {
  kTime,
  kString,
  kAddr,
  kPort,
  kCount,
  kInt,
  kDouble,
  kInterval,
  kBool,
  kEnum,
  kSetString,
  kVectorString,
  kSetEnum,
  kVectorInterval,
  kVectorCount,
  kVectorAddr
};
const char* zeek_type_name(ZeekType t);

struct ZeekField {
  const char* name;
  ZeekType type;
};

// One Zeek log's layout, declared once beside the record that fills it.
struct ZeekSchema {
  const char* path;  // "conn" -> conn.log
  std::vector<ZeekField> fields;
};

// The leading columns of every connection-based Zeek log (ts, uid and Zeek's conn_id record:
// id.orig_h, id.orig_p, id.resp_h, id.resp_p), followed by the log's own fields.
inline std::vector<ZeekField> zeek_conn_fields(std::initializer_list<ZeekField> own) {
  std::vector<ZeekField> f{{"ts", ZeekType::kTime},        {"uid", ZeekType::kString},
                           {"id.orig_h", ZeekType::kAddr}, {"id.orig_p", ZeekType::kPort},
                           {"id.resp_h", ZeekType::kAddr}, {"id.resp_p", ZeekType::kPort}};
  f.insert(f.end(), own.begin(), own.end());
  return f;
}

// A row being filled, field by field in schema order. Reused between records so writing a
// row does not allocate once warm.
class ZeekRow {
 public:
  struct Value {
    bool set = false;
    bool is_string = false;  // string-like: escaped in TSV, quoted in JSON
    std::string text;        // rendered scalar, or elements joined by '\x1f' for containers
    std::vector<std::string> items;
    bool container = false;
  };

  void reset(const ZeekSchema* schema);
  const ZeekSchema* schema() const { return schema_; }
  size_t size() const { return n_; }
  const Value& at(size_t i) const { return values_[i]; }

  ZeekRow& unset();
  ZeekRow& time(TimeNs t);
  ZeekRow& interval(TimeNs d);
  ZeekRow& str(std::string_view s);  // string or enum
  ZeekRow& addr(const IpAddr& a);
  ZeekRow& count(uint64_t v);
  ZeekRow& integer(int64_t v);
  ZeekRow& dbl(double v);
  ZeekRow& boolean(bool v);
  ZeekRow& strings(const std::vector<std::string>& v);  // set/vector of strings; empty ok
  ZeekRow& counts(const std::vector<uint64_t>& v);
  ZeekRow& intervals(const std::vector<TimeNs>& v);  // vector[interval]; empty ok

 private:
  Value& next();
  const ZeekSchema* schema_ = nullptr;
  std::vector<Value> values_;
  size_t n_ = 0;
};

// --- Records ---------------------------------------------------------------------------

class Record {
 public:
  virtual ~Record() = default;
  // EVE event_type ("flow", "dns", "alert", "anomaly", ...).
  virtual std::string_view event_type() const = 0;
  // Members after EVE's common header, e.g. "dns":{...}. Records without a flow write their
  // own src_ip/dest_ip here if they have them.
  virtual void write_eve(JsonWriter& w) const = 0;
  // The Zeek log this record also goes to, or nullptr.
  virtual const ZeekSchema* zeek_schema() const { return nullptr; }
  virtual void write_zeek(ZeekRow&) const {}
  // False for records that only feed their Zeek log: when a protocol's EVE events and Zeek
  // rows have different granularity (DNS: EVE per message, dns.log per transaction), the
  // analyzer publishes them as separate records.
  virtual bool has_eve() const { return true; }

  TimeNs ts = 0;                      // data time of the event
  const FlowContext* flow = nullptr;  // network records: the flow, else nullptr
  bool to_client = false;             // EVE src/dest follow the packet: swap if true
};

// Where records go. Outputs implement it; stages only publish.
class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void publish(const Record& r) = 0;
  virtual void flush() {}
};

// Fan-out to several sinks.
class EventBus : public EventSink {
 public:
  void add(EventSink* s) { sinks_.push_back(s); }
  void publish(const Record& r) override {
    for (auto* s : sinks_) s->publish(r);
  }
  void flush() override {
    for (auto* s : sinks_) s->flush();
  }

 private:
  std::vector<EventSink*> sinks_;
};

// --- Alerts ------------------------------------------------------------------------------

// An alert from any detector: signatures, behavioural detectors, Sigma, identity analytics.
// Written as EVE "alert" with Suricata's field names.
struct AlertInfo {
  std::string action = "allowed";
  uint32_t gid = 1;
  uint32_t signature_id = 0;
  uint32_t rev = 1;
  std::string signature;
  std::string category;
  int severity = 3;  // 1 high .. 3 low, as Suricata
  // alert.metadata: key -> values, as Suricata renders rule metadata.
  std::vector<std::pair<std::string, std::vector<std::string>>> metadata;
};

class AlertRecord : public Record {
 public:
  std::string_view event_type() const override { return "alert"; }
  void write_eve(JsonWriter& w) const override;

  AlertInfo alert;
  // For alerts without a flow (log analytics): endpoints if known.
  std::string src_ip, dest_ip;
  // Extra top-level EVE members rendered by the producer, e.g. "http":{...},
  // "evidence":{...}, "log":{...} — written verbatim after "alert".
  std::vector<std::pair<std::string, std::string>> extra_json;
};

}  // namespace komainu
