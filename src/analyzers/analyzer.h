// The app-layer analyzer interface. One analyzer = one folder below this one (dns/, http/,
// tls/, ...) with its parser, record, registration, tests, fuzz target and seeds.
//
// An analyzer registers an AnalyzerApi; the flow stage probes the first bytes of each
// direction with every registered probe (content, not port, decides) and attaches a session
// to the flow. The session then receives in-order stream data (TCP, after reassembly) or
// datagrams (UDP), and gaps, and publishes records to the EventSink.
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/counters.h"
#include "core/event.h"
#include "core/registry.h"
#include "core/time.h"

namespace YAML {
class Node;
}

namespace komainu {

// An analyzer's settings from the config file (`app-layer.protocols.<name>`), parsed once by
// the analyzer's own AnalyzerApi::configure and immutable afterwards. Each analyzer derives
// its own type; sessions receive theirs through SessionContext::options.
class AnalyzerOptions {
 public:
  virtual ~AnalyzerOptions() = default;
};

// The options of every configured analyzer, by analyzer name (part of the flow stage's
// config). Copies share the immutable options.
class AnalyzerSettings {
 public:
  const AnalyzerOptions* find(std::string_view name) const {
    for (const auto& [n, o] : items_)
      if (n == name) return o.get();
    return nullptr;
  }
  void set(std::string_view name, std::shared_ptr<const AnalyzerOptions> options) {
    for (auto& [n, o] : items_)
      if (n == name) {
        o = std::move(options);
        return;
      }
    items_.emplace_back(std::string(name), std::move(options));
  }

 private:
  std::vector<std::pair<std::string, std::shared_ptr<const AnalyzerOptions>>> items_;
};

// A bad value in an analyzer's config section: the 0-based line of the offending node (as
// yaml-cpp marks it) and what is wrong with it.
struct AnalyzerConfigError {
  int line = 0;
  std::string message;
};

// State one analyzer keeps per worker, across the sessions of that worker's flows (Zeek keeps
// such state per worker too): bounded caches such as x509.log's de-duplication of
// certificates seen in several connections. The flow table of each worker makes one per
// analyzer that asks (AnalyzerApi::make_worker_state); sessions reach it through
// SessionContext::worker. Never shared between workers, so it needs no locking. The flow
// table gives every analyzer one (a plain AnalyzerWorkerState when it asks for nothing
// more), so that its anomalies are counted per worker for stats.json.
class AnalyzerWorkerState {
 public:
  virtual ~AnalyzerWorkerState() = default;
  // Named anomalies (Zeek weird names) of this analyzer's sessions in this worker.
  ReasonCounter anomalies;
};

enum class Direction : uint8_t { kToServer = 0, kToClient = 1 };

enum class ProbeResult : uint8_t { kNo, kMaybe /* need more bytes */, kYes };

// What a session can reach: where records go and its flow's identity.
struct SessionContext {
  EventSink* sink = nullptr;
  const FlowContext* flow = nullptr;
  // This analyzer's parsed settings (its own AnalyzerOptions type), or nullptr: defaults.
  const AnalyzerOptions* options = nullptr;
  // This analyzer's per-worker state, or nullptr (then sessions behave as if alone).
  AnalyzerWorkerState* worker = nullptr;
};

class AppSession {
 public:
  virtual ~AppSession() = default;
  // In-order bytes of one direction (TCP) or one datagram (UDP).
  virtual void on_data(Direction dir, std::span<const uint8_t> data, TimeNs ts) = 0;
  // `len` bytes of one direction are missing (capture loss); parsers resynchronise or stop.
  virtual void on_gap(Direction dir, uint64_t len, TimeNs ts) = 0;
  // The flow ends (FIN/RST, timeout, eviction, end of input): flush open transactions.
  virtual void on_close(TimeNs ts) = 0;

  // True once the protocol has handed the connection over to another one (SMTP's and FTP's
  // STARTTLS/AUTH TLS): after the current delivery the flow stage closes this session and
  // probes what follows anew, as Zeek adds its SSL analyzer (conn.log service "smtp,ssl").
  bool handed_off() const { return handed_off_; }

 protected:
  void hand_off() { handed_off_ = true; }

 private:
  bool handed_off_ = false;
};

struct AnalyzerApi {
  std::string_view name;  // app_proto / Zeek service name: "dns", "http", "ssl", ...
  bool tcp = true;
  bool udp = false;
  // Decides from the first bytes seen in `dir` (and the server port as a hint only).
  ProbeResult (*probe)(std::span<const uint8_t> data, Direction dir, uint16_t server_port);
  std::unique_ptr<AppSession> (*create)(const SessionContext& ctx);
  // Suricata's app_proto where it differs from the Zeek service name ("tls" for "ssl").
  std::string_view eve_name = {};
  // Parses the analyzer's config section (a mapping); nullptr with `error` filled when a key
  // or value is wrong. Analyzers without settings leave it unset.
  std::shared_ptr<const AnalyzerOptions> (*configure)(const YAML::Node& section,
                                                      AnalyzerConfigError& error) = nullptr;
  // Makes the analyzer's per-worker state (with its options, or nullptr for defaults).
  std::unique_ptr<AnalyzerWorkerState> (*make_worker_state)(const AnalyzerOptions* options) =
      nullptr;
};

// AnalyzerApi::create for an analyzer whose AnalyzerOptions type `Options` holds a `config`:
// the session gets the configured values, or its defaults when the section is absent.
template <typename Session, typename Options>
std::unique_ptr<AppSession> create_configured(const SessionContext& ctx) {
  if (const auto* o = dynamic_cast<const Options*>(ctx.options))
    return std::make_unique<Session>(ctx, o->config);
  return std::make_unique<Session>(ctx);
}

}  // namespace komainu
