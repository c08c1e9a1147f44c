// `beaconing`: periodic connections (or DNS queries) from one internal host to the same
// destination (IP, TLS SNI, or queried FQDN), scored as RITA scores beacons: interval
// regularity (Bowley skew, median absolute deviation), size regularity (skew, MAD, smallness)
// and connection count; one alert per source→destination when the score crosses the
// threshold. Messages inside one long session are contacts too: the flow table publishes a
// BurstRecord when payload resumes after an idle gap on a TCP flow no analyzer claimed (a
// raw-TCP C2 channel whose beacons never open a new connection), scored by the same scorer.
#pragma once
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "detect/detector.h"
#include "detect/zones/zones.h"

namespace komainu {

struct BeaconConfig {
  uint64_t min_connections = 10;
  uint64_t count_full = 24;  // connections for a full count score
  double threshold = 0.8;
  uint64_t history = 128;  // most recent connections kept per pair
  // Internal destinations (internal C2 redirectors, lab C2 servers) are scored too, with a
  // stricter threshold and a lower severity; with --zones only pairs that cross zones are.
  // `external_only: true` restores internet-only scoring.
  bool external_only = false;
  double internal_threshold = 0.9;
  bool http = true;  // HTTP requests on reused (keep-alive) connections are contacts too
  bool dns = true;   // also score repeated DNS queries for one FQDN
  std::vector<std::string> ignore_services = {"udp/53", "udp/123", "udp/137", "udp/5353",
                                              "udp/5355"};
  TimeNs min_interval = 2 * kNsPerSec;  // faster repeats are sessions, not beacons
  uint64_t max_pairs = 100000;
  // Bursts inside TCP sessions no analyzer claimed (flow BurstRecords); off without
  // analyzers (then no flow is claimed, TLS and SSH sessions included).
  bool sessions = true;
  // Bursts are many where connections are few (an interactive session pauses often), and
  // with a constant first message (a keystroke) the size half of the score is full: a
  // session's bursts also need this many contacts and intervals whose median absolute
  // deviation is at most 1 - session_regularity of their median (the ts_madm score).
  uint64_t session_min_bursts = 16;
  double session_regularity = 0.95;
  // Services whose sessions keep themselves alive with periodic small messages by design:
  // BGP KEEPALIVE, MQTT PINGREQ, XMPP pings, AMQP heartbeats, Kafka/ZooKeeper sessions,
  // pooled database and LDAP connections' validation queries, and industrial control
  // polling (Modbus, S7comm, IEC 60870-5-104 TESTFR, DNP3, EtherNet/IP).
  std::vector<std::string> session_ignore_services = {
      "tcp/179",  "tcp/1883",  "tcp/8883", "tcp/5222",  "tcp/5269", "tcp/5672",
      "tcp/9092", "tcp/2181",  "tcp/3306", "tcp/5432",  "tcp/1433", "tcp/1521",
      "tcp/6379", "tcp/27017", "tcp/389",  "tcp/636",   "tcp/3268", "tcp/11211",
      "tcp/502",  "tcp/102",   "tcp/2404", "tcp/20000", "tcp/44818"};
};

struct BeaconScore {
  double score = 0, ts_skew = 0, ts_madm = 0, count = 0, ds_skew = 0, ds_madm = 0, ds_small = 0;
  double median_interval_s = 0, median_bytes = 0;
};

// RITA-style score of arrival times (sorted, ns) and sizes. A `resolution` > 0 rounds the
// intervals to that step first, as RITA reads Zeek's whole-second timestamps: without it the
// Bowley skew of intervals that differ by milliseconds (a timer firing every 20.0-20.1 s) is
// the skew of scheduling noise, anywhere in [-1, 1].
BeaconScore beacon_score(const std::vector<TimeNs>& times, const std::vector<uint64_t>& sizes,
                         uint64_t count_full, TimeNs resolution = 0);

// The same score with reusable buffers: the detector rescores a pair at every contact once
// it has `min_connections`, so the buffers are kept instead of allocated per contact.
class BeaconScorer {
 public:
  BeaconScore score(const std::vector<TimeNs>& times, const std::vector<uint64_t>& sizes,
                    uint64_t count_full, TimeNs resolution = 0);

 private:
  std::pair<double, double> regularity(std::vector<double>& v);
  std::vector<double> intervals_, sizes_, dev_;
};

class BeaconingDetector : public Detector {
 public:
  static constexpr uint32_t kSidConn = 9100501;
  static constexpr uint32_t kSidDns = 9100502;
  static constexpr uint32_t kSidHttp = 9100503;
  static constexpr uint32_t kSidSession = 9100504;

  BeaconingDetector(const BeaconConfig& cfg, const Zones* zones, EventSink* alerts);
  void publish(const Record& r) override;
  bool wants(std::string_view type) const override {
    return type == "flow" || type == "tls" || type == "dns" || type == "http" ||
           (type == "burst" && cfg_.sessions);
  }
  void write_stats(JsonWriter& w) const override;
  // For tests: one connection (or query, dns = true) to `dest` (IP or name).
  void on_event(TimeNs ts, const IpAddr& src, const IpAddr* dst_ip, const std::string& dest,
                uint64_t bytes, bool dns, bool http = false);
  // For tests: one payload burst inside a session from `src` to `dst`:`port`.
  void on_burst(TimeNs ts, const IpAddr& src, const IpAddr& dst, uint16_t port, uint64_t bytes);

 private:
  // What a contact went to: a name (TLS SNI, queried FQDN, HTTP Host) or an address and port.
  enum Kind : uint8_t { kConnAddr, kConnName, kHttpAddr, kHttpName, kDnsName, kSessionAddr };
  struct Dest {
    Kind kind = kConnAddr;
    const IpAddr* ip = nullptr;  // the contacted address (none for DNS)
    uint16_t port = 0;
    std::string_view name;  // for the *Name kinds
  };
  // Pairs are keyed by integers (the name by its 64-bit hash): no string is built per record.
  struct Key {
    IpAddr src, dst;  // dst unset for names
    uint64_t name = 0;
    uint16_t port = 0;
    Kind kind = kConnAddr;
    bool internal = false;
    friend bool operator==(const Key&, const Key&) = default;
  };
  struct KeyHash {
    size_t operator()(const Key& k) const {
      uint64_t h = IpAddrHash{}(k.src) ^ (IpAddrHash{}(k.dst) * 0x9e3779b97f4a7c15ull);
      h ^= k.name +
           (uint64_t(k.port) << 8 | uint64_t(k.kind) << 1 | k.internal) * 0xbf58476d1ce4e5b9ull;
      return size_t(h ^ (h >> 29));
    }
  };
  using Contact = std::pair<TimeNs, uint64_t>;  // time, bytes
  struct Pair {
    // The most recent `history` contacts: the first inline (most pairs never see a second:
    // no allocation for them), then a ring in `events` (oldest at `head` once full).
    Contact one{};
    bool has_one = false;
    std::vector<Contact> events;
    size_t head = 0;
    TimeNs first = 0, last = 0, newest = 0;  // newest: time of the latest contact kept
    uint64_t total = 0;
    bool alerted = false;

    size_t count() const { return events.empty() ? size_t(has_one) : events.size(); }
    void add(const Contact& c, size_t history);
  };

  void contact(TimeNs ts, const IpAddr& src, const Dest& dest, uint64_t bytes);
  static std::string dest_str(const Dest& d);

  BeaconConfig cfg_;
  const Zones* zones_;
  EventSink* alerts_;
  std::vector<Service> ignore_;
  std::vector<Service> session_ignore_;
  const FlowContext* burst_flow_ = nullptr;  // the session of the burst being scored
  uint64_t burst_bytes_ = 0;                 // and its bytes both ways
  FlatMap<Key, Pair, KeyHash> pairs_;
  SniByFlow sni_by_flow_;  // SNI of TLS flows until their conn record
  // Scoring buffers, reused.
  BeaconScorer scorer_;
  std::vector<std::pair<TimeNs, uint64_t>> sorted_;
  std::vector<TimeNs> times_;
  std::vector<uint64_t> sizes_;
  uint64_t events_ = 0, evictions_ = 0, alerts_sent_ = 0, session_bursts_ = 0;
};

}  // namespace komainu
