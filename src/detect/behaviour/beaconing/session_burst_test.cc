// Beacons inside one long session: the flow table's payload bursts (flow/flow.h FlowBurst,
// BurstRecord) and their scoring by the beaconing detector (sid 9100504).
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <random>
#include <string>
#include <vector>

#include "detect/behaviour/beaconing/beaconing.h"
#include "detect/behaviour/test_sink.h"
#include "flow/flow.h"

namespace komainu {
namespace {
using namespace tcpflag;
using testing::ip;

TimeNs sec(double s) {
  return 1'700'000'000 * kNsPerSec + TimeNs(s * 1e9);
}

struct Burst {
  TimeNs ts, end;
  uint32_t bytes;
  uint16_t first_bytes;
  bool to_client;
  std::string uid;
};

// Keeps the bursts; hands every record to an optional detector as the pipeline would.
struct BurstSink : EventSink {
  std::vector<Burst> bursts;
  size_t conns = 0;
  EventSink* next = nullptr;
  void publish(const Record& r) override {
    if (const auto* b = dynamic_cast<const BurstRecord*>(&r)) {
      EXPECT_FALSE(r.has_eve());
      EXPECT_EQ(r.zeek_schema(), nullptr);
      EXPECT_EQ(b->flow, &b->f->ctx);
      bursts.push_back({b->ts, b->end, b->bytes, b->first_bytes, b->to_client, b->flow->uid});
    } else if (dynamic_cast<const ConnRecord*>(&r)) {
      ++conns;
    }
    if (next) next->publish(r);
  }
};

// One TCP connection 10.0.0.5:40000 -> 192.0.2.9:7010 with its own sequence numbers.
class Session {
 public:
  Session(FlowTable& t, const char* server = "192.0.2.9", uint16_t port = 7010)
      : t_(t), server_(ip(server)), port_(port) {}
  void open(TimeNs ts) {
    send(ts, true, kSyn, 0);
    send(ts, false, kSyn | kAck, 0);
    send(ts, true, kAck, 0);
  }
  // `n` payload bytes; `resend` repeats the previous segment's last byte (a keep-alive probe).
  void data(TimeNs ts, bool from_client, uint32_t n, bool resend = false) {
    send(ts, from_client, kAck | kPsh, n, resend);
  }

 private:
  void send(TimeNs ts, bool from_client, uint8_t flags, uint32_t n, bool resend = false) {
    frame_.ts = ts;
    frame_.wirelen = 60 + n;
    Packet p;
    p.frame = &frame_;
    p.ts = ts;
    p.ip_version = 4;
    p.proto = 6;
    p.l4_valid = true;
    IpAddr c = ip("10.0.0.5");
    p.src = from_client ? c : server_;
    p.dst = from_client ? server_ : c;
    p.sport = from_client ? 40000 : port_;
    p.dport = from_client ? port_ : 40000;
    uint32_t& seq = from_client ? cseq_ : sseq_;
    uint32_t& peer = from_client ? sseq_ : cseq_;
    p.tcp_flags = flags;
    p.seq = resend ? seq - n : seq;
    p.ack = (flags & kAck) ? peer : 0;
    p.window = 1024;
    payload_.assign(n, 'x');
    p.payload = reinterpret_cast<const uint8_t*>(payload_.data());
    p.payload_caplen = p.payload_len = n;
    p.ip_len = 40 + n;
    t_.on_packet(p);
    if (!resend) seq += n + ((flags & kSyn) ? 1 : 0);
  }
  FlowTable& t_;
  IpAddr server_;
  uint16_t port_;
  uint32_t cseq_ = 1000, sseq_ = 5000;
  std::string payload_;
  RawFrame frame_;
};

FlowConfig no_analyzers() {
  FlowConfig c;
  c.analyzers = false;  // the flow stays unclaimed (flow.analyzers off is the detector's job)
  return c;
}

// A heartbeat every 20 s from the server, sometimes answered: each burst after the first
// gap is published when the next one begins, the last one at the flow's end; the
// connection's first burst (its own opening) is not.
TEST(SessionBursts, PublishedAfterEachIdleGap) {
  BurstSink sink;
  FlowTable table(no_analyzers(), &sink);
  Session s(table);
  s.open(sec(0));
  s.data(sec(0.01), true, 191);  // hello
  s.data(sec(0.02), false, 7);
  for (int i = 1; i <= 5; ++i) {
    s.data(sec(20 * i), false, 1);
    if (i % 2 == 0) {
      s.data(sec(20 * i + 0.01), false, 30);
      s.data(sec(20 * i + 0.05), true, 200);
    }
  }
  ASSERT_EQ(sink.bursts.size(), 4u);  // the 5th is still open
  EXPECT_EQ(sink.bursts[0].ts, sec(20));
  EXPECT_EQ(sink.bursts[0].bytes, 1u);
  EXPECT_TRUE(sink.bursts[0].to_client);  // the responder spoke first
  EXPECT_EQ(sink.bursts[1].ts, sec(40));
  EXPECT_EQ(sink.bursts[1].end, sec(40.05));
  EXPECT_EQ(sink.bursts[1].bytes, 231u);
  EXPECT_EQ(sink.bursts[1].first_bytes, 1u);
  table.finish(sec(200));
  ASSERT_EQ(sink.bursts.size(), 5u);
  EXPECT_EQ(sink.bursts[4].ts, sec(100));
  EXPECT_EQ(sink.conns, 1u);
  EXPECT_FALSE(sink.bursts[4].uid.empty());
}

// Gap edges: quiet for burst_gap exactly starts a burst, a nanosecond less does not.
TEST(SessionBursts, GapEdges) {
  BurstSink sink;
  FlowConfig c = no_analyzers();
  c.burst_gap = 5 * kNsPerSec;
  FlowTable table(c, &sink);
  Session s(table);
  s.open(sec(0));
  s.data(sec(1), true, 10);
  s.data(sec(6) - 1, true, 10);    // 5 s - 1 ns after: same burst
  s.data(sec(11) - 1, true, 10);   // 5 s after the latest payload: new burst
  s.data(sec(16) - 1, false, 10);  // and again
  ASSERT_EQ(sink.bursts.size(), 1u);
  EXPECT_EQ(sink.bursts[0].ts, sec(11) - 1);
  EXPECT_EQ(sink.bursts[0].bytes, 10u);
}

// Retransmissions and keep-alive probes (one old byte) are no messages; a gap of pure ACKs
// is still a gap.
TEST(SessionBursts, KeepAliveProbesAndAcksAreNotPayload) {
  BurstSink sink;
  FlowTable table(no_analyzers(), &sink);
  Session s(table);
  s.open(sec(0));
  s.data(sec(1), true, 100);
  for (int i = 1; i <= 10; ++i) s.data(sec(1 + 30 * i), true, 1, /*resend=*/true);
  EXPECT_TRUE(sink.bursts.empty());
  s.data(sec(400), false, 50);
  s.data(sec(500), false, 50);
  ASSERT_EQ(sink.bursts.size(), 1u);
  EXPECT_EQ(sink.bursts[0].ts, sec(400));
}

// A clock jump backwards (a capture merged from two clocks) continues the burst and never
// moves its end backwards; a jump forwards is one gap.
TEST(SessionBursts, ClockJumps) {
  BurstSink sink;
  FlowTable table(no_analyzers(), &sink);
  Session s(table);
  s.open(sec(100));
  s.data(sec(100.1), true, 10);
  s.data(sec(150), true, 10);   // burst A
  s.data(sec(50), false, 20);   // stamped earlier: still A
  s.data(sec(151), false, 5);   // 1 s after A's latest: still A
  s.data(sec(10000), true, 7);  // forward jump: burst B
  ASSERT_EQ(sink.bursts.size(), 1u);
  EXPECT_EQ(sink.bursts[0].ts, sec(150));
  EXPECT_EQ(sink.bursts[0].end, sec(151));
  EXPECT_EQ(sink.bursts[0].bytes, 35u);
}

// burst_gap 0 turns the bookkeeping off.
TEST(SessionBursts, Off) {
  BurstSink sink;
  FlowConfig c = no_analyzers();
  c.burst_gap = 0;
  FlowTable table(c, &sink);
  Session s(table);
  s.open(sec(0));
  for (int i = 0; i < 20; ++i) s.data(sec(1 + 20 * i), true, 10);
  table.finish(sec(1000));
  EXPECT_TRUE(sink.bursts.empty());
}

BeaconConfig defaults() {
  return BeaconConfig{};
}

// End to end through the flow table: a 20 s heartbeat alerts once, at the 16th burst after
// the session opened (internal destination: threshold 0.9, severity 2), with sid 9100504,
// T1095 and the session's uid.
TEST(SessionBeacons, HeartbeatInsideOneSessionAlerts) {
  testing::AlertSink out;
  BeaconingDetector det(defaults(), nullptr, &out);
  BurstSink sink;
  sink.next = &det;
  FlowTable table(no_analyzers(), &sink);
  Session s(table, "172.18.0.2");
  s.open(sec(0));
  s.data(sec(0.01), true, 191);
  std::mt19937 rng(5);
  for (int i = 1; i <= 30; ++i) {
    TimeNs t = sec(20 * i) + TimeNs(rng() % 120) * kNsPerMs;  // 20.0-20.12 s
    s.data(t, false, 1);
    if (i % 3 == 0) {  // tasking now and then: replies of varying size
      s.data(t + 2 * kNsPerMs, false, 20 + rng() % 80);
      s.data(t + 30 * kNsPerMs, true, 48 + rng() % 270);
    }
  }
  table.finish(sec(1000));
  ASSERT_EQ(out.alerts.size(), 1u);
  const AlertRecord& a = out.alerts[0];
  EXPECT_EQ(a.alert.signature_id, BeaconingDetector::kSidSession);
  EXPECT_EQ(a.alert.severity, 2);
  EXPECT_EQ(a.ts / kNsPerSec, sec(320) / kNsPerSec);  // the 16th heartbeat
  EXPECT_NE(a.alert.signature.find("inside one session 10.0.0.5 -> 172.18.0.2:7010"),
            std::string::npos)
      << a.alert.signature;
  bool t1095 = false;
  for (const auto& [k, v] : a.alert.metadata)
    if (k == "mitre_technique_id") t1095 = v == std::vector<std::string>{"T1095"};
  EXPECT_TRUE(t1095);
  const std::string& ev = a.extra_json.at(0).second;
  EXPECT_NE(ev.find("\"bursts\":16"), std::string::npos) << ev;
  EXPECT_NE(ev.find("\"median_interval_s\":20"), std::string::npos) << ev;
  EXPECT_NE(ev.find("\"message_bytes\":[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]"), std::string::npos)
      << ev;
  EXPECT_NE(ev.find("\"uid\":\"C"), std::string::npos) << ev;
}

// What stays quiet: interactive use (irregular gaps, varying sizes), a session claimed by
// an analyzer, services that keep themselves alive by design, and sessions: false.
TEST(SessionBeacons, IrregularSessionsStayQuiet) {
  std::mt19937 rng(11);
  testing::AlertSink out;
  BeaconingDetector d(defaults(), nullptr, &out);
  IpAddr dst = ip("192.0.2.9");
  TimeNs now = sec(0);
  // A user typing with pauses of 5 s .. minutes, each burst opened by a keystroke (one
  // byte: the size half of the score is full), in 40 sessions of 200 pauses each.
  for (int n = 0; n < 40; ++n) {
    IpAddr src = ip(("10.0.1." + std::to_string(n)).c_str());
    for (int i = 0; i < 200; ++i) {
      now += std::exponential_distribution<double>(1.0 / 40)(rng) * kNsPerSec + 5 * kNsPerSec;
      d.on_burst(now, src, dst, 23, 1);
    }
  }
  EXPECT_TRUE(out.alerts.empty()) << out.alerts[0].extra_json.at(0).second;
  // The same pauses with sizes of anything: quiet too.
  for (int i = 0; i < 200; ++i) {
    now += std::exponential_distribution<double>(1.0 / 40)(rng) * kNsPerSec + 5 * kNsPerSec;
    d.on_burst(now, ip("10.0.0.5"), dst, 23, 1 + rng() % 400);
  }
  EXPECT_TRUE(out.alerts.empty()) << out.alerts[0].extra_json.at(0).second;
}

TEST(SessionBeacons, RegularBurstsThresholds) {
  IpAddr ext = ip("198.51.100.7");
  {  // external destination: threshold 0.8, alert at the 10th burst, severity 1
    testing::AlertSink out;
    BeaconingDetector d(defaults(), nullptr, &out);
    for (int i = 0; i < 15; ++i) d.on_burst(sec(60 * i), ip("10.0.0.5"), ext, 4444, 64);
    EXPECT_TRUE(out.alerts.empty());  // session_min_bursts (16) not reached
    d.on_burst(sec(60 * 15), ip("10.0.0.5"), ext, 4444, 64);
    ASSERT_EQ(out.alerts.size(), 1u);
    EXPECT_EQ(out.alerts[0].alert.severity, 1);
  }
  {  // the same from an external source: not ours to judge
    testing::AlertSink out;
    BeaconingDetector d(defaults(), nullptr, &out);
    for (int i = 0; i < 30; ++i) d.on_burst(sec(60 * i), ext, ip("10.0.0.5"), 4444, 64);
    EXPECT_TRUE(out.alerts.empty());
  }
  {  // 60 s with 20% jitter: the score passes, the intervals' MAD (~5%) is borderline: the
     // default asks for a timer (MAD <= 5% of the median), 0.9 lets it through
    std::mt19937 rng(3);
    BeaconConfig c;
    c.session_regularity = 0.9;
    testing::AlertSink out;
    BeaconingDetector d(c, nullptr, &out);
    TimeNs now = sec(0);
    for (int i = 0; i < 60; ++i) {
      now += TimeNs(60e9 * (1 - 0.2 * double(rng() % 1000) / 1000));
      d.on_burst(now, ip("10.0.0.5"), ext, 4444, 64);
    }
    EXPECT_EQ(out.alerts.size(), 1u);
  }
  {  // sessions: false
    testing::AlertSink out;
    BeaconConfig c;
    c.sessions = false;
    BeaconingDetector d(c, nullptr, &out);
    for (int i = 0; i < 30; ++i) d.on_burst(sec(60 * i), ip("10.0.0.5"), ext, 4444, 64);
    EXPECT_TRUE(out.alerts.empty());
    EXPECT_FALSE(d.wants("burst"));
  }
}

// Bursts of a session an analyzer claimed, or of a service in session_ignore_services, are
// not scored (fed as BurstRecords, as the flow table publishes them).
TEST(SessionBeacons, ClaimedAndIgnoredSessions) {
  testing::AlertSink out;
  BeaconingDetector d(defaults(), nullptr, &out);
  auto feed = [&](const char* app_proto, uint16_t port) {
    auto f = std::make_unique<Flow>();
    f->ctx.tuple = {ip("10.0.0.5"), ip("198.51.100.7"), 40000, port, 6};
    f->ctx.app_proto = app_proto;
    f->ctx.uid = "Cx";
    BurstRecord b;
    b.f = f.get();
    b.flow = &f->ctx;
    for (int i = 0; i < 30; ++i) {
      b.ts = sec(30 * i);
      b.bytes = b.first_bytes = 19;
      d.publish(b);
    }
  };
  feed("ssh", 22);  // claimed
  feed("", 179);    // BGP KEEPALIVE every 30 s
  feed("", 3306);   // a pool's validation query
  EXPECT_TRUE(out.alerts.empty());
  feed("", 8443);  // unclaimed, unknown service: scored
  ASSERT_EQ(out.alerts.size(), 1u);
  EXPECT_NE(out.alerts[0].extra_json.at(0).second.find("\"uid\":\"Cx\""), std::string::npos);
}

// Session pairs share max_pairs with the other kinds; evictions are counted.
TEST(SessionBeacons, PairsAreCapped) {
  testing::AlertSink out;
  BeaconConfig c;
  c.max_pairs = 4;
  BeaconingDetector d(c, nullptr, &out);
  for (int i = 0; i < 20; ++i)
    d.on_burst(sec(10 * i), ip("10.0.0.5"), ip("198.51.100.7"), uint16_t(5000 + i), 64);
  std::string s;
  JsonWriter w(s);
  w.begin_object();
  d.write_stats(w);
  w.end_object();
  EXPECT_NE(s.find("\"pairs\":4"), std::string::npos) << s;
  EXPECT_NE(s.find("\"pair_evictions\":16"), std::string::npos) << s;
  EXPECT_NE(s.find("\"session_bursts\":20"), std::string::npos) << s;
}

// Config keys; without analyzers (flow.analyzers: false) no flow is claimed, so sessions
// are off whatever the config says.
TEST(SessionBeacons, Config) {
  const DetectorApi* api = Registry<DetectorApi>::find("beaconing");
  ASSERT_NE(api, nullptr);
  std::string err;
  DetectorContext ctx;
  ctx.config_file = "k.yaml";
  YAML::Node n = YAML::Load("sessions: true\nsession_ignore_services: [tcp/7010]\n");
  ctx.config = &n;
  auto d = api->create(ctx, &err);
  ASSERT_NE(d, nullptr) << err;
  EXPECT_TRUE(d->wants("burst"));
  ctx.app_layer = false;
  d = api->create(ctx, &err);
  ASSERT_NE(d, nullptr) << err;
  EXPECT_FALSE(d->wants("burst"));
  YAML::Node bad = YAML::Load("sessions: sometimes\n");
  ctx.config = &bad;
  EXPECT_EQ(api->create(ctx, &err), nullptr);
  EXPECT_NE(err.find("k.yaml:1"), std::string::npos) << err;
}

// The 1 s resolution keeps a steady timer steady: intervals of 20.00-20.10 s have a Bowley
// skew of timer noise at nanosecond resolution, 0 at RITA's whole seconds.
TEST(SessionBeacons, IntervalResolution) {
  std::vector<TimeNs> t{sec(0)};
  std::vector<uint64_t> sz{1};
  const double steps[] = {20.0, 20.0, 20.01, 20.1};  // q1 20.0, q2 20.005, q3 20.0325
  for (int i = 0; i < 24; ++i) {
    t.push_back(t.back() + TimeNs(steps[i % 4] * 1e9));
    sz.push_back(1);
  }
  EXPECT_DOUBLE_EQ(beacon_score(t, sz, 24, kNsPerSec).ts_skew, 1.0);
  EXPECT_LT(beacon_score(t, sz, 24).ts_skew, 0.5);
}

}  // namespace
}  // namespace komainu
