// SigStage: packets with their flow view, app-layer records through a provider, flowbits
// shared by both, alert records, state dropped at the flow's end.
#include "detect/sigstage/sig_stage.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace komainu::sig {
namespace {

// A record type only this test publishes, with a provider filling "http.uri" from it.
class TestRecord : public Record {
 public:
  std::string_view event_type() const override { return "sigstage_test"; }
  void write_eve(JsonWriter& w) const override {
    w.key("sigstage_test").begin_object().kv("uri", uri).end_object();
  }
  std::string uri;
};

bool fill_test(const Record& r, size_t i, InspectBuffers& b, InspectContext& ctx,
               AppBufferScratch&) {
  // One inspection per ';'-separated part of the uri: a multi-buffer.
  std::string_view uri = static_cast<const TestRecord&>(r).uri;
  for (size_t k = 0; k < i; ++k) {
    size_t semi = uri.find(';');
    if (semi == std::string_view::npos) return false;
    uri.remove_prefix(semi + 1);
  }
  static const int id = buffer_id("http.uri");
  b.set(static_cast<BufferId>(id), uri.substr(0, uri.find(';')));
  ctx.to_server = true;
  // "!event" in the uri: the transaction raised an app-layer event.
  static const std::string_view kEvents[] = {"http.request_body_unexpected"};
  if (uri.find("!event") != std::string_view::npos) ctx.events = kEvents;
  return true;
}

const Registration<AppBufferApi> reg{
    {.name = "sigstage_test", .app_proto = "http", .fill = fill_test}};

struct Collect : EventSink {
  void publish(const Record& r) override {
    types.emplace_back(r.event_type());
    if (const auto* a = dynamic_cast<const AlertRecord*>(&r)) {
      sids.push_back(a->alert.signature_id);
      std::string extra;
      for (const auto& [k, v] : a->extra_json) extra += k + "=" + v + ";";
      extras.push_back(extra);
      to_client.push_back(a->to_client);
    }
  }
  std::vector<std::string> types, extras;
  std::vector<uint32_t> sids;
  std::vector<bool> to_client;
};

std::unique_ptr<Engine> engine_of(std::string_view rules) {
  RuleLoader l;
  l.load_text(rules, "test.rules");
  EXPECT_EQ(l.report().skipped, 0u);
  std::string err;
  auto e = Engine::build(l.take(), err);
  EXPECT_TRUE(e) << err;
  return e;
}

struct Fixture {
  Flow flow;
  Packet pkt;
  std::string payload;
  Fixture() {
    flow.proto = 6;
    flow.in_use = true;
    flow.ctx.flow_id = 42;
    flow.ctx.app_proto = "http";
    flow.ctx.tuple = {*IpAddr::parse("10.0.0.1"), *IpAddr::parse("192.0.2.7"), 40000, 80, 6};
    flow.ep[0].state = flow.ep[1].state = TcpState::kEstablished;
    pkt.ip_version = 4;
    pkt.src = flow.ctx.tuple.src;
    pkt.dst = flow.ctx.tuple.dst;
    pkt.proto = 6;
    pkt.l4_valid = true;
    pkt.sport = 40000;
    pkt.dport = 80;
    pkt.ts = 1000;
  }
  void set_payload(std::string p) {
    payload = std::move(p);
    pkt.payload = reinterpret_cast<const uint8_t*>(payload.data());
    pkt.payload_caplen = pkt.payload_len = static_cast<uint32_t>(payload.size());
  }
};

TEST(SigStage, PacketRuleAlertsWithFlowView) {
  auto e = engine_of(
      "alert tcp any any -> any 80 (msg:\"p\"; flow:established,to_server; content:\"evil\"; "
      "sid:1;)\n"
      "alert tcp any any -> any 80 (msg:\"n\"; flow:to_client; content:\"evil\"; sid:2;)\n");
  Collect out;
  SigStage st(*e, &out);
  Fixture fx;
  fx.set_payload("an evil payload");
  st.on_packet(fx.pkt, &fx.flow, true);
  ASSERT_EQ(out.sids, std::vector<uint32_t>{1});
  EXPECT_EQ(out.extras[0], "app_proto=\"http\";");
  EXPECT_FALSE(out.to_client[0]);
  // Not established yet: the flow keyword holds the rule back.
  fx.flow.ep[1].state = TcpState::kSynAckSent;
  fx.flow.ctx.flow_id = 43;
  st.on_packet(fx.pkt, &fx.flow, true);
  EXPECT_EQ(out.sids.size(), 1u);
  EXPECT_EQ(st.counters().packets, 2u);
}

TEST(SigStage, FlowbitsCrossPacketAndTransaction) {
  auto e = engine_of(
      "alert tcp any any -> any any (msg:\"set\"; content:\"login\"; flowbits:set,seen; "
      "flowbits:noalert; sid:10;)\n"
      "alert http any any -> any any (msg:\"uri after login\"; flowbits:isset,seen; "
      "http.uri; content:\"/admin\"; sid:11;)\n");
  Collect out;
  SigStage st(*e, &out);
  Fixture fx;
  TestRecord rec;
  rec.flow = &fx.flow.ctx;
  rec.uri = "/admin/x";
  st.publish(rec);  // bit not set yet: no alert, the record is forwarded
  EXPECT_TRUE(out.sids.empty());
  ASSERT_EQ(out.types.size(), 1u);
  fx.pkt.tcp_flags = 0x02;  // the flow starts with its handshake (not picked up mid-way)
  st.on_packet(fx.pkt, &fx.flow, true);
  fx.pkt.tcp_flags = 0x18;
  fx.pkt.seq = 1;
  fx.set_payload("login ok");
  st.on_packet(fx.pkt, &fx.flow, true);
  EXPECT_TRUE(out.sids.empty());  // noalert
  st.publish(rec);
  ASSERT_EQ(out.sids, std::vector<uint32_t>{11});
  EXPECT_NE(out.extras[0].find("sigstage_test={\"uri\":\"/admin/x\"}"), std::string::npos)
      << out.extras[0];
  // The app-layer rule does not run again on packets.
  fx.set_payload("/admin/x");
  st.on_packet(fx.pkt, &fx.flow, true);
  EXPECT_EQ(out.sids.size(), 1u);
  EXPECT_EQ(st.flows_tracked(), 1u);
  ConnRecord end;
  end.flow = &fx.flow.ctx;
  st.publish(end);
  EXPECT_EQ(st.flows_tracked(), 0u);
  EXPECT_EQ(out.types.back(), "flow");
}

TEST(SigStage, HeaderOfTransactionFollowsItsDirection) {
  // A to_server transaction of a flow 10.0.0.1 -> 192.0.2.7:80 matches $HOME_NET -> any 80,
  // not the reverse.
  auto e = engine_of(
      "alert http $HOME_NET any -> any 80 (msg:\"a\"; http.uri; content:\"/x\"; sid:20;)\n"
      "alert http any 80 -> $HOME_NET any (msg:\"b\"; http.uri; content:\"/x\"; sid:21;)\n");
  Collect out;
  SigStage st(*e, &out);
  Fixture fx;
  TestRecord rec;
  rec.flow = &fx.flow.ctx;
  rec.uri = "/x";
  st.publish(rec);
  EXPECT_EQ(out.sids, std::vector<uint32_t>{20});
}

TEST(SigStage, MultiBufferAlertsOncePerTransaction) {
  auto e =
      engine_of("alert http any any -> any any (msg:\"u\"; http.uri; content:\"/a\"; sid:40;)\n");
  Collect out;
  SigStage st(*e, &out);
  Fixture fx;
  TestRecord rec;
  rec.flow = &fx.flow.ctx;
  rec.uri = "/a1;/b;/a2";
  st.publish(rec);
  EXPECT_EQ(out.sids, std::vector<uint32_t>{40});
  EXPECT_EQ(st.counters().transactions, 3u);
  st.publish(rec);  // the next transaction alerts again
  EXPECT_EQ(out.sids.size(), 2u);
}

TEST(SigStage, EventOnlyRuleRunsOnTransactions) {
  // No buffer, only a protocol's event: a transaction rule (packets carry no such events).
  auto e = engine_of(
      "alert http any any -> any any (msg:\"e\"; flow:to_server; "
      "app-layer-event:http.request_body_unexpected; sid:50;)\n");
  Collect out;
  SigStage st(*e, &out);
  Fixture fx;
  TestRecord rec;
  rec.flow = &fx.flow.ctx;
  rec.uri = "/plain";
  st.publish(rec);
  EXPECT_TRUE(out.sids.empty());
  rec.uri = "/x!event";
  st.publish(rec);
  EXPECT_EQ(out.sids, std::vector<uint32_t>{50});
}

TEST(SigStage, MidstreamTcpFlowRunsNoAppLayerRules) {
  // Suricata's default (stream.midstream: false): no session, so no transactions, for a TCP
  // flow whose first packet is not a SYN; packet rules still run.
  auto e = engine_of(
      "alert http any any -> any any (msg:\"uri\"; http.uri; content:\"/x\"; sid:30;)\n"
      "alert tcp any any -> any any (msg:\"pkt\"; content:\"GET\"; sid:31;)\n");
  Collect out;
  SigStage st(*e, &out);
  Fixture fx;
  fx.pkt.tcp_flags = 0x18;
  fx.set_payload("GET /x");
  st.on_packet(fx.pkt, &fx.flow, true);
  TestRecord rec;
  rec.flow = &fx.flow.ctx;
  rec.uri = "/x";
  st.publish(rec);
  EXPECT_EQ(out.sids, std::vector<uint32_t>{31});
  EXPECT_EQ(st.counters().records_midstream, 1u);
}

// TCP segments of one flow, in the order given: SYNs start each side's stream.
struct TcpFeed {
  Fixture fx;
  SigStage& st;
  explicit TcpFeed(SigStage& s) : st(s) {}
  void syn(bool to_server, uint32_t isn) {
    fx.pkt.tcp_flags = to_server ? 0x02 : 0x12;
    fx.pkt.seq = isn;
    fx.set_payload("");
    send(to_server);
  }
  void data(bool to_server, uint32_t seq, std::string bytes, uint8_t flags = 0x18) {
    fx.pkt.tcp_flags = flags;
    fx.pkt.seq = seq;
    fx.set_payload(std::move(bytes));
    send(to_server);
  }
  void ack(bool to_server, uint32_t ack) {
    fx.pkt.tcp_flags = 0x10;
    fx.pkt.ack = ack;
    fx.set_payload("");
    send(to_server);
  }
  void send(bool to_server) {
    fx.pkt.src = to_server ? fx.flow.ctx.tuple.src : fx.flow.ctx.tuple.dst;
    fx.pkt.dst = to_server ? fx.flow.ctx.tuple.dst : fx.flow.ctx.tuple.src;
    fx.pkt.sport = to_server ? 40000 : 80;
    fx.pkt.dport = to_server ? 80 : 40000;
    st.on_packet(fx.pkt, &fx.flow, to_server);
  }
};

size_t count(const std::vector<uint32_t>& v, uint32_t sid) {
  return static_cast<size_t>(std::count(v.begin(), v.end(), sid));
}

TEST(SigStage, StreamInspectionFindsSplitContentOnce) {
  // Suricata: tcp payload rules inspect the reassembled stream (once), tcp-pkt rules each
  // packet, tcp-stream rules only the stream; rules without payload checks run per packet.
  auto e = engine_of(
      "alert tcp any any -> any any (msg:\"tcp\"; content:\"EVIL\"; sid:1;)\n"
      "alert tcp-stream any any -> any any (msg:\"stream\"; content:\"EVIL\"; sid:2;)\n"
      "alert tcp-pkt any any -> any any (msg:\"pkt\"; content:\"EVIL\"; sid:3;)\n"
      "alert tcp any any -> any any (msg:\"hdr\"; flow:to_server; flags:PA; sid:4;)\n"
      "alert tcp any any -> any any (msg:\"dsize\"; dsize:2; content:\"IL\"; sid:5;)\n");
  Collect out;
  SigStage st(*e, &out);
  TcpFeed t(st);
  t.syn(true, 100);
  t.syn(false, 500);
  t.data(true, 101, "xxEV");
  t.data(true, 105, "IL");
  EXPECT_EQ(count(out.sids, 1), 1u);
  EXPECT_EQ(count(out.sids, 2), 1u);
  EXPECT_EQ(count(out.sids, 3), 0u);
  EXPECT_EQ(count(out.sids, 4), 2u);
  EXPECT_EQ(count(out.sids, 5), 1u);
  // A retransmission is not new stream data; a whole EVIL in one packet is seen by both.
  out.sids.clear();
  t.data(true, 101, "xxEV");
  t.data(true, 107, "EVIL");
  EXPECT_EQ(count(out.sids, 1), 1u);
  EXPECT_EQ(count(out.sids, 2), 1u);
  EXPECT_EQ(count(out.sids, 3), 1u);
  EXPECT_GE(st.counters().stream_inspections, 3u);
}

TEST(SigStage, StreamDepthCountsFromTheNewChunk) {
  // Suricata's raw stream chunks start where the last inspection ended: a request PDU in a
  // later segment still matches an anchored content.
  auto e = engine_of(
      "alert tcp any any -> any any (msg:\"pdu\"; content:\"SMB\"; offset:4; depth:4; "
      "sid:1;)\n");
  Collect out;
  SigStage st(*e, &out);
  TcpFeed t(st);
  t.syn(true, 100);
  t.data(true, 101, "0123456789");
  t.data(true, 111, "0000SMBr");
  EXPECT_EQ(count(out.sids, 1), 1u);
}

TEST(SigStage, StreamOverlapFirstDataWinsAndGapsResume) {
  auto e = engine_of(
      "alert tcp-stream any any -> any any (msg:\"good\"; content:\"GOOD\"; sid:1;)\n"
      "alert tcp-stream any any -> any any (msg:\"evil\"; content:\"EVIL\"; sid:2;)\n"
      "alert tcp-stream any any -> any any (msg:\"data\"; content:\"DATA\"; sid:3;)\n"
      "alert tcp-pkt any any -> any any (msg:\"pkt evil\"; content:\"EVIL\"; sid:4;)\n"
      "alert tcp any any -> any any (msg:\"rst\"; flow:only_stream; content:\"BYE\"; sid:5;)\n");
  Collect out;
  SigStage st(*e, &out);
  TcpFeed t(st);
  t.syn(true, 1);
  t.syn(false, 1000);
  t.data(true, 2, "GOOD");
  t.data(true, 2, "EVIL");  // same bytes again: the stream keeps the first
  EXPECT_EQ(count(out.sids, 1), 1u);
  EXPECT_EQ(count(out.sids, 2), 0u);
  EXPECT_EQ(count(out.sids, 4), 1u);
  // Bytes 6..9 never arrive; DATA waits until the receiver acknowledges past the hole.
  t.data(true, 10, "DATA");
  EXPECT_EQ(count(out.sids, 3), 0u);
  t.ack(false, 14);
  EXPECT_EQ(count(out.sids, 3), 1u);
  EXPECT_EQ(st.counters().stream_gaps, 1u);
  // Data on a RST is packet data only.
  t.data(true, 14, "BYE", 0x14);
  EXPECT_EQ(count(out.sids, 5), 0u);
}

TEST(SigStage, StreamLookbackPatternsAreRememberedNotRescanned) {
  // A chunk's Hyperscan scan covers its new bytes only; a rule whose fast pattern arrived in
  // an earlier chunk (still within the 512-byte lookback) must still run when the rest of its
  // contents arrives, and not when the pattern has left the lookback.
  auto e = engine_of(
      "alert tcp any any -> any any (msg:\"a\"; content:\"FASTPATTERNLONG\"; "
      "content:\"zz\"; distance:0; sid:10;)\n"
      "alert tcp any any -> any any (msg:\"b\"; content:\"QQQQQQQQ\"; content:\"yy\"; "
      "distance:0; sid:11;)\n"
      "alert tcp any any -> any any (msg:\"c\"; content:\"OLDOLDOLD\"; content:\"ww\"; "
      "distance:0; sid:12;)\n");
  Collect out;
  SigStage st(*e, &out);
  TcpFeed t(st);
  t.syn(true, 0);
  uint32_t seq = 1;
  auto send = [&](std::string b) {
    const auto n = static_cast<uint32_t>(b.size());
    t.data(true, seq, std::move(b));
    seq += n;
  };
  // OLDOLDOLD then 600 bytes: out of the lookback. QQQQQQQQ early (out of the next
  // lookback) and again near the end of a 1000-byte chunk; FASTPATTERNLONG in the middle
  // of the last 512 bytes.
  send("OLDOLDOLD" + std::string(600, '.'));
  send("QQQQQQQQ" + std::string(700, '.') + "FASTPATTERNLONG" + std::string(200, '.') + "QQQQQQQQ" +
       std::string(69, '.'));
  send(std::string(40, '-'));  // small chunks: the lookback spans several of them
  send(std::string(40, '-'));
  send("zzyyww");
  EXPECT_EQ(count(out.sids, 10), 1u);
  EXPECT_EQ(count(out.sids, 11), 1u);
  EXPECT_EQ(count(out.sids, 12), 0u);
  // Once the patterns have left the lookback, the second contents alone match nothing.
  out.sids.clear();
  send(std::string(600, '.'));
  send("zzyyww");
  EXPECT_TRUE(out.sids.empty());
}

TEST(SigStage, StreamRememberedPatternsAreBounded) {
  // More rules found in one chunk than a flow direction remembers: the next window is
  // scanned whole, with the same alerts.
  std::string rules;
  for (int i = 0; i < 150; ++i) {
    std::string pat = {'A', static_cast<char>('a' + i / 26), static_cast<char>('a' + i % 26)};
    rules += "alert tcp any any -> any any (msg:\"r\"; content:\"" + pat +
             "\"; content:\"!!\"; distance:0; sid:" + std::to_string(100 + i) + ";)\n";
  }
  auto e = engine_of(rules);
  Collect out;
  SigStage st(*e, &out);
  TcpFeed t(st);
  t.syn(true, 0);
  std::string chunk;
  for (int i = 0; i < 150; ++i)
    chunk += {'A', static_cast<char>('a' + i / 26), static_cast<char>('a' + i % 26)};
  t.data(true, 1, chunk);
  EXPECT_TRUE(out.sids.empty());
  t.data(true, 1 + static_cast<uint32_t>(chunk.size()), "!!");
  EXPECT_EQ(out.sids.size(), 150u);
  EXPECT_GE(st.scratch_counters().stream_rescans, 1u);
}

}  // namespace
}  // namespace komainu::sig
