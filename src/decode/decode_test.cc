#include <gtest/gtest.h>
#include <pcap/pcap.h>

#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "decode/decoder.h"

namespace komainu {
namespace {

using Bytes = std::vector<uint8_t>;

// ---- frame builders ----------------------------------------------------------------------

void put16(Bytes& b, uint16_t v) {
  b.push_back(uint8_t(v >> 8));
  b.push_back(uint8_t(v));
}
void put32(Bytes& b, uint32_t v) {
  put16(b, uint16_t(v >> 16));
  put16(b, uint16_t(v));
}
Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}
Bytes text(const std::string& s) {
  return Bytes(s.begin(), s.end());
}

Bytes eth(uint16_t type) {
  Bytes b = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
  put16(b, type);
  return b;
}
Bytes vlan(uint16_t id, uint16_t next) {
  Bytes b;
  put16(b, id);
  put16(b, next);
  return b;
}

struct V4 {
  uint8_t proto = 6;
  uint32_t src = 0x0A000001, dst = 0x0A000002;
  uint16_t id = 1;
  uint16_t frag = 0;  // flags + offset field as on the wire
  Bytes options;
  int total_override = -1;
  uint8_t ttl = 64;
};
V4 v4h(uint8_t proto, int total = -1, uint32_t src = 0x0A000001, uint32_t dst = 0x0A000002) {
  V4 h;
  h.proto = proto;
  h.total_override = total;
  h.src = src;
  h.dst = dst;
  return h;
}
V4 v4opts(const Bytes& o) {
  V4 h;
  h.options = o;
  return h;
}
Bytes ipv4(const V4& h, const Bytes& payload) {
  Bytes b;
  size_t ihl = 20 + h.options.size();
  b.push_back(uint8_t(0x40 | (ihl / 4)));
  b.push_back(0);
  put16(b, h.total_override >= 0 ? uint16_t(h.total_override) : uint16_t(ihl + payload.size()));
  put16(b, h.id);
  put16(b, h.frag);
  b.push_back(h.ttl);
  b.push_back(h.proto);
  put16(b, 0);
  put32(b, h.src);
  put32(b, h.dst);
  b.insert(b.end(), h.options.begin(), h.options.end());
  uint32_t sum = 0;
  for (size_t i = 0; i < ihl; i += 2) sum += uint32_t(b[i] << 8 | b[i + 1]);
  while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
  b[10] = uint8_t(~sum >> 8);
  b[11] = uint8_t(~sum);
  b.insert(b.end(), payload.begin(), payload.end());
  return b;
}
Bytes v6addr(uint8_t last) {
  Bytes a(16, 0);
  a[0] = 0x20;
  a[1] = 0x01;
  a[2] = 0x0d;
  a[3] = 0xb8;
  a[15] = last;
  return a;
}
Bytes ipv6(uint8_t nh, const Bytes& payload, uint8_t s = 1, uint8_t d = 2) {
  Bytes b = {0x60, 0, 0, 0};
  put16(b, uint16_t(payload.size()));
  b.push_back(nh);
  b.push_back(64);
  Bytes sa = v6addr(s), da = v6addr(d);
  b.insert(b.end(), sa.begin(), sa.end());
  b.insert(b.end(), da.begin(), da.end());
  b.insert(b.end(), payload.begin(), payload.end());
  return b;
}
Bytes tcp(uint16_t sport, uint16_t dport, uint8_t flags, const Bytes& payload,
          const Bytes& options = {}) {
  Bytes b;
  put16(b, sport);
  put16(b, dport);
  put32(b, 1000);
  put32(b, 2000);
  b.push_back(uint8_t(((20 + options.size()) / 4) << 4));
  b.push_back(flags);
  put16(b, 65535);
  put16(b, 0);
  put16(b, 0);
  b.insert(b.end(), options.begin(), options.end());
  b.insert(b.end(), payload.begin(), payload.end());
  return b;
}
Bytes udp(uint16_t sport, uint16_t dport, const Bytes& payload, int len_override = -1) {
  Bytes b;
  put16(b, sport);
  put16(b, dport);
  put16(b, len_override >= 0 ? uint16_t(len_override) : uint16_t(8 + payload.size()));
  put16(b, 0);
  b.insert(b.end(), payload.begin(), payload.end());
  return b;
}
Bytes icmp(uint8_t type, uint8_t code, const Bytes& payload) {
  Bytes b = {type, code, 0, 0, 0, 1, 0, 1};
  b.insert(b.end(), payload.begin(), payload.end());
  return b;
}

// ---- harness -----------------------------------------------------------------------------

struct Seen {
  Packet p;
  std::string payload;
  bool has_parent = false;
  int parent_index = -1;
};

class Collect : public PacketSink {
 public:
  void on_packet(const Packet& p) override {
    Seen s;
    s.p = p;
    s.payload.assign(reinterpret_cast<const char*>(p.payload), p.payload_caplen);
    s.has_parent = p.parent != nullptr;
    for (size_t i = 0; i < frame_start_ptrs.size(); ++i)
      if (frame_start_ptrs[i] == p.parent) s.parent_index = int(i);
    frame_start_ptrs.push_back(&p);
    seen.push_back(s);
  }
  std::vector<Seen> seen;
  std::vector<const Packet*> frame_start_ptrs;
};

struct Outcome {
  DecodeResult result;
  std::vector<Seen> seen;
};

Outcome run(Decoder& d, const Bytes& frame, int linktype = 1, uint32_t caplen = 0,
            TimeNs ts = kNsPerSec) {
  RawFrame f;
  f.ts = ts;
  f.data = frame.data();
  f.caplen = caplen ? caplen : uint32_t(frame.size());
  f.wirelen = uint32_t(frame.size());
  f.linktype = linktype;
  Collect c;
  Outcome r;
  r.result = d.decode(f, c);
  r.seen = c.seen;
  return r;
}

Outcome run1(const Bytes& frame, int linktype = 1) {
  Decoder d{DecodeConfig{}};
  return run(d, frame, linktype);
}

Bytes tcp_v4_frame(const std::string& data = "hello") {
  return cat({eth(0x0800), ipv4(V4{}, tcp(1234, 80, tcpflag::kSyn | tcpflag::kAck, text(data)))});
}

// ---- link layers and basic protocols -----------------------------------------------------

TEST(Decode, EthernetIpv4Tcp) {
  Decoder d{DecodeConfig{}};
  Outcome r = run(d, tcp_v4_frame());
  ASSERT_EQ(r.result, DecodeResult::kDecoded);
  ASSERT_EQ(r.seen.size(), 1u);
  const Packet& p = r.seen[0].p;
  EXPECT_EQ(p.ip_version, 4);
  EXPECT_EQ(p.src.str(), "10.0.0.1");
  EXPECT_EQ(p.dst.str(), "10.0.0.2");
  EXPECT_EQ(p.proto, 6);
  EXPECT_EQ(p.ttl, 64);
  EXPECT_TRUE(p.l4_valid);
  EXPECT_EQ(p.sport, 1234);
  EXPECT_EQ(p.dport, 80);
  EXPECT_EQ(p.seq, 1000u);
  EXPECT_EQ(p.ack, 2000u);
  EXPECT_EQ(p.tcp_flags, tcpflag::kSyn | tcpflag::kAck);
  EXPECT_EQ(p.ip_len, 20u + 20 + 5);
  EXPECT_EQ(p.payload_len, 5u);
  EXPECT_EQ(r.seen[0].payload, "hello");
  EXPECT_EQ(p.parent, nullptr);
  EXPECT_EQ(p.depth, 0);
  EXPECT_EQ(d.counters()[decode_ctr::kTcp], 1u);
  EXPECT_EQ(d.counters()[decode_ctr::kDecoded], 1u);
  EXPECT_FALSE(d.last_frame_invalid());
  EXPECT_EQ(d.weirds().total(), 0u);
}

TEST(Decode, TcpOptionsSkipped) {
  Bytes opts = {2, 4, 5, 0xb4, 1, 3, 3, 7};  // MSS, NOP, window scale
  Outcome r = run1(cat({eth(0x0800), ipv4(V4{}, tcp(1, 2, tcpflag::kSyn, text("xy"), opts))}));
  ASSERT_EQ(r.seen.size(), 1u);
  EXPECT_EQ(r.seen[0].payload, "xy");
  EXPECT_EQ(r.seen[0].p.payload_len, 2u);
}

TEST(Decode, EthernetPaddingIsNotPayload) {
  Bytes f = cat({eth(0x0800), ipv4(V4{}, tcp(1, 2, tcpflag::kAck, {}))});
  f.resize(60, 0);  // minimum Ethernet frame
  Outcome r = run1(f);
  ASSERT_EQ(r.seen.size(), 1u);
  EXPECT_EQ(r.seen[0].p.ip_len, 40u);
  EXPECT_EQ(r.seen[0].p.payload_len, 0u);
  EXPECT_EQ(r.seen[0].p.payload_caplen, 0u);
}

TEST(Decode, SnaplenTruncatedPayload) {
  Decoder d{DecodeConfig{}};
  Bytes f = tcp_v4_frame(std::string(100, 'a'));
  Outcome r = run(d, f, 1, 14 + 40 + 10);
  ASSERT_EQ(r.seen.size(), 1u);
  EXPECT_EQ(r.seen[0].p.payload_len, 100u);
  EXPECT_EQ(r.seen[0].p.payload_caplen, 10u);
  EXPECT_EQ(r.seen[0].p.ip_len, 140u);
  EXPECT_EQ(r.seen[0].p.l3_caplen, 50u);
}

TEST(Decode, Ipv4OptionsSkipped) {
  V4 h;
  h.proto = 17;
  h.options = {0x94, 4, 0, 0};  // router alert
  Outcome r = run1(cat({eth(0x0800), ipv4(h, udp(53, 53, text("q")))}));
  ASSERT_EQ(r.seen.size(), 1u);
  EXPECT_EQ(r.seen[0].p.proto, 17);
  EXPECT_EQ(r.seen[0].payload, "q");
  EXPECT_EQ(r.seen[0].p.ip_len, 24u + 9);
}

TEST(Decode, Udp) {
  Outcome r = run1(cat({eth(0x0800), ipv4(v4h(17), udp(5353, 53, text("abc")))}));
  ASSERT_EQ(r.seen.size(), 1u);
  EXPECT_EQ(r.seen[0].p.sport, 5353);
  EXPECT_EQ(r.seen[0].p.dport, 53);
  EXPECT_EQ(r.seen[0].p.payload_len, 3u);
  EXPECT_EQ(r.seen[0].payload, "abc");
}

TEST(Decode, IcmpEchoPairsLikeZeek) {
  Outcome req = run1(cat({eth(0x0800), ipv4(v4h(1), icmp(8, 0, text("ping")))}));
  ASSERT_EQ(req.seen.size(), 1u);
  EXPECT_EQ(req.seen[0].p.sport, 8);
  EXPECT_EQ(req.seen[0].p.dport, 0);
  EXPECT_FALSE(req.seen[0].p.icmp_one_way);
  EXPECT_EQ(req.seen[0].p.payload_len, 4u);
  Outcome rep = run1(cat({eth(0x0800), ipv4(v4h(1), icmp(0, 0, text("ping")))}));
  EXPECT_EQ(rep.seen[0].p.sport, 0);
  EXPECT_EQ(rep.seen[0].p.dport, 8);
  Outcome unreach = run1(cat({eth(0x0800), ipv4(v4h(1), icmp(3, 3, {}))}));
  EXPECT_EQ(unreach.seen[0].p.sport, 3);
  EXPECT_EQ(unreach.seen[0].p.dport, 3);
  EXPECT_TRUE(unreach.seen[0].p.icmp_one_way);
  EXPECT_EQ(unreach.seen[0].p.icmp_type, 3);
  EXPECT_EQ(unreach.seen[0].p.icmp_code, 3);
}

TEST(Decode, Icmp6NeighbourDiscoveryPairs) {
  Outcome r = run1(cat({eth(0x86DD), ipv6(58, icmp(135, 0, Bytes(16, 0)))}));
  ASSERT_EQ(r.seen.size(), 1u);
  EXPECT_EQ(r.seen[0].p.proto, 58);
  EXPECT_EQ(r.seen[0].p.sport, 135);
  EXPECT_EQ(r.seen[0].p.dport, 136);
  Outcome e = run1(cat({eth(0x86DD), ipv6(58, icmp(128, 0, text("abcd")))}));
  EXPECT_EQ(e.seen[0].p.dport, 129);
  EXPECT_EQ(e.seen[0].p.ip_len, 40u + 12);
}

TEST(Decode, Ipv6ExtensionHeaders) {
  // hop-by-hop (8) → destination options (8) → AH (16) → TCP
  Bytes tcpseg = tcp(443, 5000, tcpflag::kAck, text("v6"));
  Bytes ah = {6, 2, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0};  // (2+2)*4 = 16 bytes
  Bytes dst = {51, 0, 1, 4, 0, 0, 0, 0};
  Bytes hbh = {60, 0, 1, 4, 0, 0, 0, 0};
  Outcome r = run1(cat({eth(0x86DD), ipv6(0, cat({hbh, dst, ah, tcpseg}))}));
  ASSERT_EQ(r.seen.size(), 1u);
  const Packet& p = r.seen[0].p;
  EXPECT_EQ(p.ip_version, 6);
  EXPECT_EQ(p.proto, 6);
  EXPECT_EQ(p.sport, 443);
  EXPECT_EQ(r.seen[0].payload, "v6");
  EXPECT_EQ(p.ip_len, 40u + 8 + 8 + 16 + 22);
  EXPECT_EQ(p.src.str(), "2001:db8::1");
}

TEST(Decode, Ipv6RoutingAndMobility) {
  Bytes rt = {135, 0, 0, 0, 0, 0, 0, 0};
  Bytes mob = {59, 0, 5, 0, 0, 0, 0, 0};  // binding refresh request, no next header
  Outcome r = run1(cat({eth(0x86DD), ipv6(43, cat({rt, mob}))}));
  ASSERT_EQ(r.seen.size(), 1u);
  EXPECT_EQ(r.seen[0].p.proto, 59);
  EXPECT_FALSE(r.seen[0].p.l4_valid);
}

TEST(Decode, QinQRecordsBothVlans) {
  Decoder d{DecodeConfig{}};
  Outcome r = run(d, cat({eth(0x88A8), vlan(100, 0x8100), vlan(200, 0x0800),
                          ipv4(V4{}, tcp(1, 2, tcpflag::kSyn, {}))}));
  ASSERT_EQ(r.seen.size(), 1u);
  EXPECT_EQ(r.seen[0].p.vlan_count, 2);
  EXPECT_EQ(r.seen[0].p.vlan[0], 100);
  EXPECT_EQ(r.seen[0].p.vlan[1], 200);
  EXPECT_EQ(d.counters()[decode_ctr::kVlan], 2u);
}

TEST(Decode, ThreeVlanTagsKeepTwo) {
  Decoder d{DecodeConfig{}};
  Outcome r = run(d, cat({eth(0x8100), vlan(1, 0x8100), vlan(2, 0x8100), vlan(3, 0x0800),
                          ipv4(V4{}, tcp(1, 2, tcpflag::kSyn, {}))}));
  ASSERT_EQ(r.seen.size(), 1u);
  EXPECT_EQ(r.seen[0].p.vlan_count, 2);
  EXPECT_EQ(d.weird("vlan_stack_too_deep"), 1u);
}

TEST(Decode, MplsStack) {
  Bytes labels = {0x00, 0x01, 0x00, 0x40, 0x00, 0x02, 0x01, 0x40};  // second is bottom
  Outcome r = run1(cat({eth(0x8847), labels, ipv4(V4{}, tcp(1, 2, tcpflag::kSyn, {}))}));
  ASSERT_EQ(r.seen.size(), 1u);
  EXPECT_EQ(r.seen[0].p.proto, 6);
}

TEST(Decode, PppoeSession) {
  Bytes ip = ipv4(v4h(17), udp(1, 2, text("x")));
  Bytes pppoe = {0x11, 0x00, 0x00, 0x01};
  put16(pppoe, uint16_t(ip.size() + 2));
  put16(pppoe, 0x0021);
  Outcome r = run1(cat({eth(0x8864), pppoe, ip}));
  ASSERT_EQ(r.seen.size(), 1u);
  EXPECT_EQ(r.seen[0].payload, "x");
  Bytes lcp = {0x11, 0x00, 0x00, 0x01, 0x00, 0x06, 0xc0, 0x21, 1, 1, 0, 4};
  EXPECT_EQ(run1(cat({eth(0x8864), lcp})).result, DecodeResult::kNonIp);
}

TEST(Decode, NetworkServiceHeader) {
  Bytes nsh = {0x0f, 0xc2, 0x02, 0x01, 0, 0, 1, 0xff};  // 2 words, MD type 2, next: IPv4
  Outcome r = run1(cat({eth(0x894F), nsh, ipv4(V4{}, tcp(1, 2, tcpflag::kSyn, {}))}));
  ASSERT_EQ(r.seen.size(), 1u);
  EXPECT_EQ(r.seen[0].p.proto, 6);
  Decoder d{DecodeConfig{}};
  EXPECT_EQ(run(d, cat({eth(0x894F), Bytes{0, 0xc1}})).result, DecodeResult::kInvalid);
  EXPECT_EQ(d.weird("truncated_NSH"), 1u);
}

TEST(Decode, ArpIsNonIp) {
  Decoder d{DecodeConfig{}};
  Outcome r = run(d, cat({eth(0x0806), Bytes(28, 0)}));
  EXPECT_EQ(r.result, DecodeResult::kNonIp);
  EXPECT_TRUE(r.seen.empty());
  EXPECT_EQ(d.counters()[decode_ctr::kNonIp], 1u);
  EXPECT_FALSE(d.last_frame_invalid());
}

Bytes arp_body(uint16_t op, uint32_t sender, uint32_t target, uint16_t htype = 1) {
  Bytes b;
  put16(b, htype);
  put16(b, 0x0800);
  b.push_back(6);
  b.push_back(4);
  put16(b, op);
  for (uint8_t m : {0x08, 0x00, 0x27, 0xaa, 0xbb, 0xcc}) b.push_back(m);
  put32(b, sender);
  for (int i = 0; i < 6; ++i) b.push_back(op == 1 ? 0 : 0x11);
  put32(b, target);
  return b;
}

struct ArpCollect : PacketSink, ArpSink {
  void on_packet(const Packet&) override { ++packets; }
  void on_arp(const ArpPacket& a) override { arps.push_back(a); }
  int packets = 0;
  std::vector<ArpPacket> arps;
};

DecodeResult decode_arp_frame(Decoder& d, const Bytes& frame, ArpCollect& sink, int linktype = 1) {
  RawFrame f;
  f.ts = 7 * kNsPerSec;
  f.data = frame.data();
  f.caplen = f.wirelen = uint32_t(frame.size());
  f.linktype = linktype;
  d.set_arp_sink(&sink);
  return d.decode(f, sink);
}

TEST(Decode, ArpRequestIsHandedToTheSink) {
  Decoder d{DecodeConfig{}};
  ArpCollect sink;
  Bytes f = cat({eth(0x0806), arp_body(1, 0xc0a80a05, 0xc0a80a01)});
  f.resize(60, 0);  // Ethernet padding after the 28 bytes of ARP
  EXPECT_EQ(decode_arp_frame(d, f, sink), DecodeResult::kNonIp);
  ASSERT_EQ(sink.arps.size(), 1u);
  const ArpPacket& a = sink.arps[0];
  EXPECT_EQ(a.op, 1);
  EXPECT_EQ(a.sender_ip.str(), "192.168.10.5");
  EXPECT_EQ(a.target_ip.str(), "192.168.10.1");
  EXPECT_EQ(a.sender_mac[0], 0x08);
  EXPECT_EQ(a.sender_mac[5], 0xcc);
  EXPECT_EQ(a.ts, 7 * kNsPerSec);
  EXPECT_EQ(a.vlan_count, 0);
  EXPECT_EQ(sink.packets, 0);
  EXPECT_EQ(d.counters()[decode_ctr::kArp], 1u);
  EXPECT_EQ(d.counters()[decode_ctr::kNonIp], 1u);  // still counted as non-IP
}

TEST(Decode, ArpOverVlanAndLinuxCooked) {
  Decoder d{DecodeConfig{}};
  ArpCollect sink;
  decode_arp_frame(d, cat({eth(0x8100), vlan(42, 0x0806), arp_body(2, 0x0a000001, 0x0a000002)}),
                   sink);
  ASSERT_EQ(sink.arps.size(), 1u);
  EXPECT_EQ(sink.arps[0].op, 2);
  EXPECT_EQ(sink.arps[0].vlan_count, 1);
  EXPECT_EQ(sink.arps[0].vlan[0], 42);
  Bytes sll = {0, 0, 0, 1, 0, 6, 8, 0, 0x27, 1, 2, 3, 0, 0};
  put16(sll, 0x0806);
  decode_arp_frame(d, cat({sll, arp_body(1, 0x0a000003, 0x0a000004)}), sink, 113);
  ASSERT_EQ(sink.arps.size(), 2u);
  EXPECT_EQ(sink.arps[1].sender_ip.str(), "10.0.0.3");
}

TEST(Decode, MalformedArpIsNamedAndCounted) {
  Decoder d{DecodeConfig{}};
  ArpCollect sink;
  Bytes body = arp_body(1, 0x0a000001, 0x0a000002);
  for (size_t cut : {0, 5, 8, 20, 27}) {
    Bytes f = cat({eth(0x0806), Bytes(body.begin(), body.begin() + long(cut))});
    EXPECT_EQ(decode_arp_frame(d, f, sink), DecodeResult::kNonIp);
  }
  EXPECT_TRUE(sink.arps.empty());
  EXPECT_EQ(d.weird("truncated_ARP"), 5u);
  // Other hardware (IEEE 802 = 6) or protocol types are not parsed, only counted.
  decode_arp_frame(d, cat({eth(0x0806), arp_body(1, 1, 2, 6)}), sink);
  EXPECT_TRUE(sink.arps.empty());
  EXPECT_EQ(d.counters()[decode_ctr::kArpOther], 1u);
  EXPECT_EQ(d.counters()[decode_ctr::kNonIp], 6u);
}

TEST(Decode, LlcWithoutSnapIsNonIp) {
  Bytes f = {1, 0x80, 0xc2, 0, 0, 0, 0, 1, 2, 3, 4, 5, 0, 38, 0x42, 0x42, 3};
  f.resize(60, 0);
  EXPECT_EQ(run1(f).result, DecodeResult::kNonIp);
}

TEST(Decode, OtherLinkTypes) {
  Bytes ip = ipv4(V4{}, tcp(1, 2, tcpflag::kSyn, {}));
  Bytes ip6 = ipv6(6, tcp(1, 2, tcpflag::kSyn, {}));
  EXPECT_EQ(run1(ip, 101).seen.size(), 1u);
  EXPECT_EQ(run1(ip, 12).seen.size(), 1u);
  EXPECT_EQ(run1(ip, 228).seen.size(), 1u);
  EXPECT_EQ(run1(ip6, 229).seen.size(), 1u);
  Bytes sll = {0, 0, 0, 1, 0, 6, 0, 1, 2, 3, 4, 5, 0, 0, 0x08, 0x00};
  EXPECT_EQ(run1(cat({sll, ip}), 113).seen.size(), 1u);
  Bytes sll2 = {0x86, 0xdd, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 0, 1, 2, 3, 4, 5, 0, 0};
  EXPECT_EQ(run1(cat({sll2, ip6}), 276).seen.size(), 1u);
  Bytes null_le = {2, 0, 0, 0}, null_be = {0, 0, 0, 2}, null_v6 = {30, 0, 0, 0};
  EXPECT_EQ(run1(cat({null_le, ip}), 0).seen.size(), 1u);
  EXPECT_EQ(run1(cat({null_be, ip}), 0).seen.size(), 1u);
  EXPECT_EQ(run1(cat({null_v6, ip6}), 0).seen.size(), 1u);
  EXPECT_EQ(run1(cat({null_be, ip}), 108).seen.size(), 1u);
  Bytes ppp = {0xff, 0x03, 0x00, 0x21};
  EXPECT_EQ(run1(cat({ppp, ip}), 9).seen.size(), 1u);
  Bytes ppp_compressed = {0x21};
  EXPECT_EQ(run1(cat({ppp_compressed, ip}), 9).seen.size(), 1u);
  Bytes chdlc = {0x0f, 0x00, 0x08, 0x00};
  EXPECT_EQ(run1(cat({chdlc, ip}), 104).seen.size(), 1u);
  // NFLOG: header, a prefix TLV, then the payload TLV (lengths little-endian).
  Bytes nflog = {2, 0, 0, 0, 8, 0, 10, 0, 'a', 'b', 'c', 0};
  uint16_t tl = uint16_t(4 + ip.size());
  Bytes tlv = {uint8_t(tl), uint8_t(tl >> 8), 9, 0};
  Outcome n = run1(cat({nflog, tlv, ip}), 239);
  ASSERT_EQ(n.seen.size(), 1u);
  EXPECT_EQ(n.seen[0].p.proto, 6);
}

// ---- anomalies ---------------------------------------------------------------------------

struct AnomalyCase {
  const char* name;
  Bytes frame;
  int linktype;
  DecodeResult result;
};

TEST(Decode, EachAnomalyIsNamedAndCounted) {
  Bytes ip = ipv4(V4{}, tcp(1, 2, tcpflag::kSyn, {}));
  Bytes bad_ihl = ip;
  bad_ihl[0] = 0x44;
  Bytes big_ihl = ip;
  big_ihl[0] = 0x4f;
  big_ihl.resize(40);
  Bytes bad_doff = ipv4(V4{}, tcp(1, 2, tcpflag::kSyn, {}));
  bad_doff[20 + 12] = 0x40;  // 16-byte TCP header
  Bytes long_doff = ipv4(V4{}, tcp(1, 2, tcpflag::kSyn, {}));
  long_doff[20 + 12] = 0xf0;
  Bytes short_tcp = ipv4(V4{}, Bytes(10, 0));
  Bytes zero_len = ipv4(v4h(6, 0), tcp(1, 2, tcpflag::kSyn, {}));
  Bytes too_long = ipv4(v4h(6, 400), tcp(1, 2, tcpflag::kSyn, {}));
  Bytes short_total = ipv4(v4h(6, 10), tcp(1, 2, tcpflag::kSyn, {}));
  Bytes udp_mismatch = ipv4(v4h(17), udp(1, 2, text("abcd"), 200));
  Bytes bad_opts = ipv4(v4opts({7, 9, 0, 0}), tcp(1, 2, tcpflag::kSyn, {}));
  Bytes v6_badext = ipv6(0, cat({Bytes{6, 9, 0, 0, 0, 0, 0, 0}, tcp(1, 2, 2, {})}));
  Bytes v6_shortext = ipv6(60, Bytes{6});
  // Destination options: an option running past the header, two home addresses, a short one.
  Bytes v6_badopt = ipv6(60, cat({Bytes{59, 0, 1, 9, 0, 0, 0, 0}}));
  Bytes home(18, 0);
  home[0] = 201;
  home[1] = 16;
  Bytes v6_twohome = ipv6(60, cat({Bytes{59, 4, 1, 0}, home, home}));  // 4 + 36 = 40 bytes
  Bytes v6_badhome = ipv6(60, cat({Bytes{59, 0, 201, 4, 0, 0, 0, 0}}));

  std::vector<AnomalyCase> cases = {
      {"truncated_ethernet_frame", Bytes(10, 0), 1, DecodeResult::kInvalid},
      {"truncated_VLAN_header", cat({eth(0x8100), Bytes{0, 1}}), 1, DecodeResult::kInvalid},
      {"truncated_MPLS_header", cat({eth(0x8847), Bytes{0, 1, 0}}), 1, DecodeResult::kInvalid},
      {"mpls_unknown_payload", cat({eth(0x8847), Bytes{0, 1, 1, 64, 0x90, 0, 0, 0}}), 1,
       DecodeResult::kInvalid},
      {"truncated_pppoe_header", cat({eth(0x8864), Bytes{0x11, 0}}), 1, DecodeResult::kInvalid},
      {"truncated_link_header", Bytes{0, 1, 2}, 113, DecodeResult::kInvalid},
      {"truncated_nflog_header", Bytes{2, 0}, 239, DecodeResult::kInvalid},
      {"unsupported_link_type", ip, 147, DecodeResult::kInvalid},
      {"truncated_IP", cat({eth(0x0800), Bytes{0x45, 0, 0}}), 1, DecodeResult::kInvalid},
      {"truncated_IP", cat({eth(0x0800), too_long}), 1, DecodeResult::kInvalid},
      {"unknown_ip_version", cat({eth(0x0800), Bytes{0x50, 0, 0, 0}}), 1, DecodeResult::kInvalid},
      {"invalid_IP_header_size", cat({eth(0x0800), bad_ihl}), 1, DecodeResult::kInvalid},
      {"internally_truncated_header", cat({eth(0x0800), big_ihl}), 1, DecodeResult::kInvalid},
      {"ip_hdr_len_zero", cat({eth(0x0800), zero_len}), 1, DecodeResult::kDecoded},
      {"invalid_IP_total_length", cat({eth(0x0800), short_total}), 1, DecodeResult::kInvalid},
      {"bad_IP_options", cat({eth(0x0800), bad_opts}), 1, DecodeResult::kDecoded},
      {"truncated_header", cat({eth(0x0800), short_tcp}), 1, DecodeResult::kInvalid},
      {"bad_TCP_header_len", cat({eth(0x0800), bad_doff}), 1, DecodeResult::kInvalid},
      {"truncated_header", cat({eth(0x0800), long_doff}), 1, DecodeResult::kInvalid},
      {"UDP_datagram_length_mismatch", cat({eth(0x0800), udp_mismatch}), 1, DecodeResult::kDecoded},
      {"invalid_IP_header_size", cat({eth(0x86DD), v6_badext}), 1, DecodeResult::kInvalid},
      {"bad_ipv6_dest_opt_len", cat({eth(0x86DD), v6_badopt}), 1, DecodeResult::kDecoded},
      {"multiple_home_addr_opts", cat({eth(0x86DD), v6_twohome}), 1, DecodeResult::kDecoded},
      {"bad_home_addr_len", cat({eth(0x86DD), v6_badhome}), 1, DecodeResult::kDecoded},
      {"truncated_IPv6_ext_header", cat({eth(0x86DD), v6_shortext}), 1, DecodeResult::kInvalid},
  };
  for (const AnomalyCase& c : cases) {
    Decoder d{DecodeConfig{}};
    Outcome r = run(d, c.frame, c.linktype);
    EXPECT_EQ(r.result, c.result) << c.name;
    EXPECT_EQ(d.weird(c.name), 1u)
        << c.name << " (got " << (d.last_weird() ? d.last_weird() : "none") << ")";
    EXPECT_EQ(d.counters()[decode_ctr::kDecoded] + d.counters()[decode_ctr::kNonIp] +
                  d.counters()[decode_ctr::kInvalid],
              1u);
  }
}

TEST(Decode, Checksums) {
  DecodeConfig strict;
  strict.verify_ip_checksum = true;
  Decoder d{strict};
  Bytes f = tcp_v4_frame();
  f[14 + 10] ^= 0xff;  // IPv4 header checksum
  EXPECT_EQ(run(d, f).result, DecodeResult::kInvalid);
  EXPECT_EQ(d.weird("bad_IP_checksum"), 1u);

  DecodeConfig cfg;
  cfg.verify_checksums = true;
  Decoder v{cfg};
  // A correct TCP checksum over a v4 pseudo-header: compute it by trying all 65536 values
  // would be slow, so derive it: with the field zero the sum's complement is the checksum.
  Bytes ok = tcp_v4_frame("abc");
  Outcome zero = run(v, ok);
  ASSERT_EQ(zero.seen.size(), 1u);
  EXPECT_TRUE(zero.seen[0].p.checksum_bad);
  EXPECT_EQ(v.weird("bad_TCP_checksum"), 1u);
  uint32_t sum = 0x0A00 + 0x0001 + 0x0A00 + 0x0002 + 6 + (20 + 3);
  for (size_t i = 34; i + 1 < ok.size(); i += 2) sum += uint32_t(ok[i] << 8 | ok[i + 1]);
  if ((ok.size() - 34) % 2) sum += uint32_t(ok.back() << 8);
  while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
  ok[34 + 16] = uint8_t(~sum >> 8);
  ok[34 + 17] = uint8_t(~sum);
  Outcome good = run(v, ok);
  ASSERT_EQ(good.seen.size(), 1u);
  EXPECT_FALSE(good.seen[0].p.checksum_bad);
  EXPECT_EQ(v.weird("bad_TCP_checksum"), 1u);
  // UDP with checksum 0 means "none"; ICMP without a pseudo-header.
  EXPECT_FALSE(
      run(v, cat({eth(0x0800), ipv4(v4h(17), udp(1, 2, text("x")))})).seen[0].p.checksum_bad);
  Bytes echo = icmp(8, 0, {});  // type 8, id 1, seq 1: checksum = ~(0x0800 + 1 + 1)
  echo[2] = uint8_t(~uint16_t(0x0802) >> 8);
  echo[3] = uint8_t(~uint16_t(0x0802));
  EXPECT_FALSE(run(v, cat({eth(0x0800), ipv4(v4h(1), echo)})).seen[0].p.checksum_bad);
  echo[3] ^= 1;
  EXPECT_TRUE(run(v, cat({eth(0x0800), ipv4(v4h(1), echo)})).seen[0].p.checksum_bad);
  EXPECT_EQ(v.weird("bad_ICMP_checksum"), 1u);
}

TEST(Decode, CapturedTcpHeaderMissingIsInternallyTruncated) {
  Decoder d{DecodeConfig{}};
  Bytes f = tcp_v4_frame();
  Outcome r = run(d, f, 1, 14 + 20 + 10);
  EXPECT_EQ(r.result, DecodeResult::kInvalid);
  EXPECT_EQ(d.weird("internally_truncated_header"), 1u);
}

// ---- fragments ---------------------------------------------------------------------------

// Splits an IPv4 datagram's payload into fragments at the given payload offsets.
std::vector<Bytes> fragment_v4(const Bytes& payload, std::vector<size_t> cuts, uint16_t id,
                               uint8_t proto = 17) {
  std::vector<Bytes> out;
  cuts.push_back(payload.size());
  size_t start = 0;
  for (size_t i = 0; i < cuts.size(); ++i) {
    size_t end = cuts[i];
    bool more = i + 1 < cuts.size();
    V4 h;
    h.proto = proto;
    h.id = id;
    h.frag = uint16_t((more ? 0x2000 : 0) | (start / 8));
    Bytes part(payload.begin() + long(start), payload.begin() + long(end));
    out.push_back(cat({eth(0x0800), ipv4(h, part)}));
    start = end;
  }
  return out;
}

TEST(Defrag, Ipv4InOrderAndOutOfOrder) {
  std::string data(100, 'z');
  for (size_t i = 0; i < data.size(); ++i) data[i] = char('a' + i % 26);
  Bytes dgram = udp(1000, 2000, text(data));
  for (bool reverse : {false, true}) {
    Decoder d{DecodeConfig{}};
    auto frags = fragment_v4(dgram, {24, 48, 96}, 7);
    if (reverse) std::reverse(frags.begin(), frags.end());
    std::vector<Seen> all;
    for (size_t i = 0; i < frags.size(); ++i) {
      Outcome r = run(d, frags[i]);
      EXPECT_EQ(r.result, DecodeResult::kDecoded);
      if (i + 1 < frags.size()) {
        EXPECT_TRUE(r.seen.empty());
      }
      all.insert(all.end(), r.seen.begin(), r.seen.end());
    }
    ASSERT_EQ(all.size(), 1u);
    EXPECT_TRUE(all[0].p.reassembled);
    EXPECT_EQ(all[0].p.ip_len, 20u + 108);
    EXPECT_EQ(all[0].p.sport, 1000);
    EXPECT_EQ(all[0].payload, data);
    EXPECT_EQ(d.counters()[decode_ctr::kFragments], 4u);
    EXPECT_EQ(d.counters()[decode_ctr::kReassembled], 1u);
    EXPECT_EQ(d.frag_in_progress(), 0u);
  }
}

TEST(Defrag, OverlapFirstWins) {
  Decoder d{DecodeConfig{}};
  Bytes dgram = udp(1, 2, text(std::string(32, 'A')));  // 40 bytes
  V4 h;
  h.proto = 17;
  h.id = 9;
  h.frag = 0x2000;
  run(d, cat({eth(0x0800), ipv4(h, Bytes(dgram.begin(), dgram.begin() + 24))}));
  // Overlapping second piece rewrites bytes 16..23 with 'B': the first copy must win.
  Bytes second(dgram.begin() + 16, dgram.end());
  for (size_t i = 0; i < 8; ++i) second[i] = 'B';
  h.frag = 16 / 8;
  Outcome r = run(d, cat({eth(0x0800), ipv4(h, second)}));
  ASSERT_EQ(r.seen.size(), 1u);
  EXPECT_EQ(r.seen[0].payload, std::string(32, 'A'));
  EXPECT_EQ(d.weird("fragment_overlap"), 1u);
  EXPECT_EQ(d.weird("fragment_inconsistency"), 1u);
}

TEST(Defrag, TimeoutExpiresState) {
  DecodeConfig cfg;
  cfg.frag_timeout = 5 * kNsPerSec;
  Decoder d{cfg};
  auto frags = fragment_v4(udp(1, 2, Bytes(64, 1)), {32}, 3);
  run(d, frags[0], 1, 0, kNsPerSec);
  EXPECT_EQ(d.frag_in_progress(), 1u);
  d.expire(7 * kNsPerSec);
  EXPECT_EQ(d.frag_in_progress(), 0u);
  EXPECT_EQ(d.counters()[decode_ctr::kFragTimeout], 1u);
  Outcome r = run(d, frags[1], 1, 0, 8 * kNsPerSec);
  EXPECT_TRUE(r.seen.empty());  // the first half is gone
}

TEST(Defrag, MemoryBoundEvictsOldest) {
  DecodeConfig cfg;
  cfg.frag_memcap = 64 * 1024;
  Decoder d{cfg};
  for (uint16_t id = 0; id < 200; ++id) {
    auto frags = fragment_v4(udp(1, 2, Bytes(2000, 1)), {1000}, id);
    run(d, frags[0]);
    EXPECT_LE(d.frag_memory(), cfg.frag_memcap);
  }
  EXPECT_GT(d.counters()[decode_ctr::kFragEvicted], 0u);
  // The newest datagram is still there and completes.
  auto last = fragment_v4(udp(1, 2, Bytes(2000, 1)), {1000}, 199);
  EXPECT_EQ(run(d, last[1]).seen.size(), 1u);
}

TEST(Defrag, TableFullEvictsOldest) {
  DecodeConfig cfg;
  cfg.frag_max_datagrams = 4;
  Decoder d{cfg};
  for (uint16_t id = 0; id < 10; ++id) run(d, fragment_v4(udp(1, 2, Bytes(64, 1)), {32}, id)[0]);
  EXPECT_EQ(d.frag_in_progress(), 4u);
  EXPECT_EQ(d.counters()[decode_ctr::kFragEvicted], 6u);
}

TEST(Defrag, Limits) {
  DecodeConfig cfg;
  cfg.frag_max_datagram = 1000;
  cfg.frag_max_pieces = 2;
  Decoder d{cfg};
  V4 h;
  h.proto = 17;
  h.frag = 0x2000 | (2000 / 8);
  run(d, cat({eth(0x0800), ipv4(h, Bytes(64, 0))}));
  EXPECT_EQ(d.weird("excessively_large_fragment"), 1u);
  EXPECT_EQ(d.counters()[decode_ctr::kFragDropped], 1u);
  // Three disjoint pieces exceed two ranges.
  for (uint16_t off : {0, 16, 32}) {
    h.id = 5;
    h.frag = uint16_t(0x2000 | (off * 2 / 8));
    run(d, cat({eth(0x0800), ipv4(h, Bytes(8, 0))}));
  }
  EXPECT_EQ(d.weird("fragment_too_many_pieces"), 1u);
  h.id = 6;
  h.frag = 0x4000 | 0x2000;
  run(d, cat({eth(0x0800), ipv4(h, Bytes(8, 0))}));
  EXPECT_EQ(d.weird("fragment_with_DF"), 1u);
}

TEST(Defrag, BuffersArePooled) {
  Decoder d{DecodeConfig{}};
  size_t after_first = 0;
  for (uint16_t id = 0; id < 500; ++id) {
    auto frags = fragment_v4(udp(1, 2, Bytes(3000, uint8_t(id))), {1480}, id);
    EXPECT_TRUE(run(d, frags[0]).seen.empty());
    ASSERT_EQ(run(d, frags[1]).seen.size(), 1u);
    if (id == 0) after_first = d.frag_memory();
    EXPECT_EQ(d.frag_memory(), after_first);  // no new buffer: the first one is reused
  }
  EXPECT_EQ(d.counters()[decode_ctr::kReassembled], 500u);
}

TEST(Defrag, LastFragmentShorterThanDataSeen) {
  Decoder d{DecodeConfig{}};
  V4 h;
  h.proto = 17;
  h.id = 11;
  h.frag = 0x2000;
  Bytes dgram = udp(1, 2, Bytes(40, 7));  // 48 bytes
  run(d, cat({eth(0x0800), ipv4(h, dgram)}));
  h.frag = 16 / 8;  // last fragment ends at 24: the datagram is its first 24 bytes
  Outcome r = run(d, cat({eth(0x0800), ipv4(h, Bytes(dgram.begin() + 16, dgram.begin() + 24))}));
  ASSERT_EQ(r.seen.size(), 1u);
  EXPECT_EQ(r.seen[0].p.ip_len, 20u + 24);
}

TEST(Defrag, Ipv6Fragments) {
  Decoder d{DecodeConfig{}};
  Bytes seg = tcp(80, 1234, tcpflag::kAck, text(std::string(40, 'q')));  // 60 bytes
  auto frag = [&](uint16_t off, bool more, const Bytes& part) {
    Bytes fh = {6, 0};
    put16(fh, uint16_t(off | (more ? 1 : 0)));
    put32(fh, 0xabcdef);
    Bytes hbh = {44, 0, 1, 4, 0, 0, 0, 0};
    return cat({eth(0x86DD), ipv6(0, cat({hbh, fh, part}))});
  };
  Outcome a = run(d, frag(32, false, Bytes(seg.begin() + 32, seg.end())));
  EXPECT_TRUE(a.seen.empty());
  Outcome b = run(d, frag(0, true, Bytes(seg.begin(), seg.begin() + 32)));
  ASSERT_EQ(b.seen.size(), 1u);
  EXPECT_TRUE(b.seen[0].p.reassembled);
  EXPECT_EQ(b.seen[0].p.proto, 6);
  EXPECT_EQ(b.seen[0].p.sport, 80);
  EXPECT_EQ(b.seen[0].payload, std::string(40, 'q'));
  EXPECT_EQ(b.seen[0].p.ip_len, 40u + 60);
  // Atomic fragment: whole datagram, no reassembly.
  Outcome c = run(d, frag(0, false, seg));
  ASSERT_EQ(c.seen.size(), 1u);
  EXPECT_FALSE(c.seen[0].p.reassembled);
  EXPECT_EQ(c.seen[0].p.proto, 6);
}

// ---- tunnels -----------------------------------------------------------------------------

Bytes inner_v4() {
  return ipv4(v4h(6, -1, 0xC0A80001, 0xC0A80002), tcp(5, 6, 2, text("in")));
}

void expect_tunnel(const Outcome& r, TunnelType type, size_t layers = 2) {
  ASSERT_EQ(r.result, DecodeResult::kDecoded);
  ASSERT_EQ(r.seen.size(), layers);
  const Seen& in = r.seen[layers - 1];
  EXPECT_EQ(in.p.tunnel, type);
  EXPECT_EQ(in.parent_index, int(layers - 2));
  EXPECT_EQ(in.p.depth, layers - 1);
  EXPECT_EQ(r.seen[layers - 2].p.inner, type);
  EXPECT_EQ(r.seen[0].p.parent, nullptr);
}

TEST(Tunnel, GreIpv4AndTeb) {
  Bytes gre = {0x00, 0x00, 0x08, 0x00};
  Outcome r = run1(cat({eth(0x0800), ipv4(v4h(47), cat({gre, inner_v4()}))}));
  expect_tunnel(r, TunnelType::kGre);
  EXPECT_EQ(r.seen[1].p.src.str(), "192.168.0.1");
  EXPECT_EQ(r.seen[1].payload, "in");
  Bytes gre_keyed = {0x30, 0x00, 0x65, 0x58, 0, 0, 0, 1, 0, 0, 0, 2};  // key + seq, TEB
  Outcome t = run1(cat(
      {eth(0x0800), ipv4(v4h(47), cat({gre_keyed, eth(0x8100), vlan(7, 0x0800), inner_v4()}))}));
  expect_tunnel(t, TunnelType::kGre);
  EXPECT_EQ(t.seen[1].p.vlan[0], 7);
}

TEST(Tunnel, Erspan) {
  Bytes gre2 = {0x10, 0x00, 0x88, 0xbe, 0, 0, 0, 1};  // sequence → type II
  Bytes e2 = {0x10, 0x01, 0, 0x05, 0, 0, 0, 0};
  Outcome r2 = run1(cat({eth(0x0800), ipv4(v4h(47), cat({gre2, e2, eth(0x0800), inner_v4()}))}));
  expect_tunnel(r2, TunnelType::kErspan);
  Bytes gre1 = {0x00, 0x00, 0x88, 0xbe};  // no sequence → type I, no ERSPAN header
  Outcome r1 = run1(cat({eth(0x0800), ipv4(v4h(47), cat({gre1, eth(0x0800), inner_v4()}))}));
  expect_tunnel(r1, TunnelType::kErspan);
  Bytes gre3 = {0x10, 0x00, 0x22, 0xeb, 0, 0, 0, 1};
  Bytes e3(12, 0);
  e3[11] = 0x01;  // platform-specific subheader follows
  Outcome r3 = run1(
      cat({eth(0x0800), ipv4(v4h(47), cat({gre3, e3, Bytes(8, 0), eth(0x0800), inner_v4()}))}));
  expect_tunnel(r3, TunnelType::kErspan);
}

TEST(Tunnel, GreAnomalies) {
  struct Case {
    Bytes gre;
    const char* weird;
  };
  const Case cases[] = {
      {{0x00, 0x00}, "truncated_GRE"},
      {{0x00, 0x02, 0x08, 0x00}, "unknown_gre_version"},
      {{0x40, 0x00, 0x08, 0x00, 0, 0, 0, 0}, "gre_routing"},
      {{0x00, 0x08, 0x08, 0x00}, "unknown_gre_flags"},
      {{0x20, 0x01, 0x08, 0x00, 0, 0, 0, 0}, "egre_protocol_type"},
      {{0x30, 0x01, 0x88, 0x0b, 0, 4, 0, 1, 0, 0, 0, 1, 0xff, 0x03, 0xc0, 0x21},
       "non_ip_packet_in_encap"},
      {{0x10, 0x00, 0x88, 0xbe, 0, 0, 0, 1, 0x10, 0x01}, "truncated_GRE"},
      {{0x00, 0x00, 0x12, 0x34}, "unknown_gre_protocol"},
  };
  for (const Case& c : cases) {
    Decoder d{DecodeConfig{}};
    Outcome r = run(d, cat({eth(0x0800), ipv4(v4h(47), c.gre)}));
    EXPECT_EQ(r.result, DecodeResult::kDecoded) << c.weird;
    EXPECT_EQ(r.seen.size(), 1u) << c.weird;  // the outer layer is still handed on
    EXPECT_EQ(d.weird(c.weird), 1u) << c.weird;
  }
}

TEST(Tunnel, UdpTunnelAnomalies) {
  Decoder d{DecodeConfig{}};
  run(d, cat({eth(0x0800), ipv4(v4h(17), udp(1, 4789, Bytes{8, 0, 0}))}));
  EXPECT_EQ(d.weird("VXLAN_truncated"), 1u);
  run(d, cat({eth(0x0800), ipv4(v4h(17), udp(1, 6081, Bytes{0x3f, 0, 0x65, 0x58, 0, 0, 0, 0}))}));
  EXPECT_EQ(d.weird("geneve_truncated"), 1u);
  run(d, cat({eth(0x0800), ipv4(v4h(17), udp(1, 6081, Bytes{0, 0, 0x12, 0x34, 0, 0, 0, 0}))}));
  EXPECT_EQ(d.weird("geneve_unknown_protocol"), 1u);
  run(d, cat({eth(0x0800), ipv4(v4h(17), udp(1, 5072, Bytes{0x41, 0x50, 0x11}))}));
  EXPECT_EQ(d.weird("truncated_AYIYA"), 1u);
  run(d, cat({eth(0x0800),
              ipv4(v4h(17), udp(1, 5072, Bytes{0x01, 0x00, 0x11, 6, 0, 0, 0, 0, 1, 2}))}));
  EXPECT_EQ(d.weird("ayiya_tunnel_non_ip"), 1u);
  run(d, cat({eth(0x0800), ipv4(v4h(17), udp(1, 2152, Bytes{0x32, 0xff, 0}))}));
  EXPECT_EQ(d.weird("GTPv1_truncated"), 1u);
  run(d, cat({eth(0x0800), ipv4(v4h(17), udp(1, 2152, Bytes{0x50, 0xff, 0, 0, 0, 0, 0, 0}))}));
  EXPECT_EQ(d.weird("GTPv1_unsupported_version"), 1u);
  run(d,
      cat({eth(0x0800), ipv4(v4h(17), udp(1, 2152, Bytes{0x30, 0xff, 0, 1, 0, 0, 0, 1, 0x10}))}));
  EXPECT_EQ(d.weird("tunnel_payload_not_ip"), 1u);
  run(d, cat({eth(0x0800), ipv4(v4h(17), udp(1, 3544, Bytes{0}))}));
  EXPECT_EQ(d.weird("truncated_Teredo"), 1u);
  run(d, cat({eth(0x0800), ipv4(v4h(17), udp(1, 3544, Bytes{0, 0, 1}))}));
  EXPECT_EQ(d.weird("truncated_Teredo_origin_indication"), 1u);
  run(d, cat({eth(0x0800), ipv4(v4h(17), udp(1, 3544, Bytes{0, 1, 5, 5, 0}))}));
  EXPECT_EQ(d.weird("truncated_Teredo_authentication"), 1u);
  run(d, cat({eth(0x0800), ipv4(v4h(17), udp(1, 3544, Bytes{0x60, 0, 0, 0}))}));
  EXPECT_EQ(d.weird("truncated_IPv6_in_Teredo"), 1u);
  EXPECT_EQ(d.counters()[decode_ctr::kInvalid], 0u);
}

TEST(Tunnel, GrePptp) {
  Bytes gre = {0x30, 0x01, 0x88, 0x0b, 0, 40, 0, 1, 0, 0, 0, 1};
  Bytes ppp = {0xff, 0x03, 0x00, 0x21};
  Outcome r = run1(cat({eth(0x0800), ipv4(v4h(47), cat({gre, ppp, inner_v4()}))}));
  expect_tunnel(r, TunnelType::kGre);
}

TEST(Tunnel, IpInIp) {
  Outcome r = run1(cat({eth(0x0800), ipv4(v4h(4), inner_v4())}));
  expect_tunnel(r, TunnelType::kIpInIp);
  Outcome s = run1(cat({eth(0x0800), ipv4(v4h(41), ipv6(6, tcp(1, 2, 2, {})))}));
  expect_tunnel(s, TunnelType::kIpInIp);
  EXPECT_EQ(s.seen[1].p.ip_version, 6);
}

TEST(Tunnel, VxlanAndGeneveEmitOuterUdp) {
  Bytes vx = {0x08, 0, 0, 0, 0, 0, 42, 0};
  Outcome r =
      run1(cat({eth(0x0800), ipv4(v4h(17), udp(40000, 4789, cat({vx, eth(0x0800), inner_v4()})))}));
  expect_tunnel(r, TunnelType::kVxlan);
  EXPECT_EQ(r.seen[0].p.proto, 17);
  EXPECT_EQ(r.seen[0].p.dport, 4789);
  Bytes gv = {0x01, 0, 0x65, 0x58, 0, 0, 1, 0, 0x01, 0x02, 0x01, 0, 0, 0, 0, 0};  // 1 option word
  gv.resize(12);
  Outcome g =
      run1(cat({eth(0x0800), ipv4(v4h(17), udp(40000, 6081, cat({gv, eth(0x0800), inner_v4()})))}));
  expect_tunnel(g, TunnelType::kGeneve);
  Bytes bad = {0x00, 0, 0, 0, 0, 0, 42, 0};
  Decoder d{DecodeConfig{}};
  Outcome b =
      run(d, cat({eth(0x0800), ipv4(v4h(17), udp(1, 4789, cat({bad, eth(0x0800), inner_v4()})))}));
  EXPECT_EQ(b.seen.size(), 2u);
  EXPECT_EQ(d.weird("VXLAN_invalid_flags"), 1u);
}

TEST(Tunnel, TeredoValidatesLikeZeek) {
  Bytes in6 = ipv6(6, tcp(1, 80, 2, text("t")));
  Bytes origin = {0, 0, 0x12, 0x34, 1, 2, 3, 4};
  Outcome r = run1(cat({eth(0x0800), ipv4(v4h(17), udp(3544, 5000, cat({origin, in6})))}));
  expect_tunnel(r, TunnelType::kTeredo);
  // Any port: recognised when it validates strictly ...
  Outcome any = run1(cat({eth(0x0800), ipv4(v4h(17), udp(40000, 32900, in6))}));
  expect_tunnel(any, TunnelType::kTeredo);
  // ... and not when the length does not match.
  Bytes bad = in6;
  bad.push_back(0);
  Decoder d{DecodeConfig{}};
  Outcome no = run(d, cat({eth(0x0800), ipv4(v4h(17), udp(40000, 32900, bad))}));
  EXPECT_EQ(no.seen.size(), 1u);
  EXPECT_EQ(d.weirds().total(), 0u);
  Outcome on_port = run(d, cat({eth(0x0800), ipv4(v4h(17), udp(3544, 1, bad))}));
  EXPECT_EQ(on_port.seen.size(), 1u);
  EXPECT_EQ(d.weird("Teredo_payload_len_mismatch"), 1u);
  // A bubble (no next header, payload length 0) followed by bytes is still decoded.
  Bytes bubble = ipv6(59, {});
  bubble.insert(bubble.end(), 4, 0);
  Outcome b = run(d, cat({eth(0x0800), ipv4(v4h(17), udp(3544, 1, bubble))}));
  EXPECT_EQ(d.weird("Teredo_bubble_with_payload"), 1u);
  ASSERT_EQ(b.seen.size(), 2u);
  EXPECT_EQ(b.seen[1].p.proto, 59);
  EXPECT_EQ(b.seen[1].p.ip_len, 40u);
}

TEST(Tunnel, AyiyaAndGtp) {
  Bytes ay = {0x41, 0x50, 0x11, 41, 0, 0, 0, 0};  // identity 2^4 = 16 bytes, sig 5*4 = 20
  Bytes ident(16, 1), sig(20, 2);
  Bytes in6 = ipv6(6, tcp(1, 80, 2, text("a")));
  Outcome r = run1(cat({eth(0x0800), ipv4(v4h(17), udp(5072, 5072, cat({ay, ident, sig, in6})))}));
  expect_tunnel(r, TunnelType::kAyiya);
  Bytes gtp = {0x32, 0xff, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0};  // v1, PT, seq flag → 12 bytes
  Bytes in4 = inner_v4();
  gtp[2] = uint8_t((in4.size() + 4) >> 8);
  gtp[3] = uint8_t(in4.size() + 4);
  Outcome g = run1(cat({eth(0x0800), ipv4(v4h(17), udp(2152, 2152, cat({gtp, in4})))}));
  expect_tunnel(g, TunnelType::kGtp);
}

TEST(Tunnel, MaxDepthLikeZeek) {
  Bytes vx = {0x08, 0, 0, 0, 0, 0, 42, 0};
  Bytes l3 = ipv4(v4h(17, -1, 0x03030303), udp(1, 4789, cat({vx, eth(0x0800), inner_v4()})));
  Bytes l2 = ipv4(v4h(17, -1, 0x02020202), udp(1, 4789, cat({vx, eth(0x0800), l3})));
  Bytes l1 = ipv4(v4h(17, -1, 0x01010101), udp(1, 4789, cat({vx, eth(0x0800), l2})));
  Decoder d{DecodeConfig{}};
  Outcome r = run(d, cat({eth(0x0800), l1}));
  ASSERT_EQ(r.seen.size(), 3u);  // depth 0, 1, 2; the third tunnel is not followed
  EXPECT_EQ(r.seen[2].p.src.str(), "3.3.3.3");
  EXPECT_EQ(r.seen[2].p.inner, TunnelType::kNone);
  EXPECT_EQ(d.weird("exceeded_tunnel_max_depth"), 1u);
  EXPECT_EQ(d.counters()[decode_ctr::kTunnelVxlan], 2u);
}

TEST(Tunnel, FragmentedOuterCarriesTunnel) {
  Decoder d{DecodeConfig{}};
  Bytes vx = {0x08, 0, 0, 0, 0, 0, 42, 0};
  Bytes dgram = udp(1, 4789, cat({vx, eth(0x0800), inner_v4()}));
  auto frags = fragment_v4(dgram, {40}, 77);
  EXPECT_TRUE(run(d, frags[0]).seen.empty());
  Outcome r = run(d, frags[1]);
  expect_tunnel(r, TunnelType::kVxlan);
  EXPECT_TRUE(r.seen[0].p.reassembled);
}

// ---- the public corpus -------------------------------------------------------------------

struct CorpusCount : PacketSink {
  void on_packet(const Packet& p) override {
    ++packets;
    if (p.depth > 0) ++inner;
    max_depth = std::max<int>(max_depth, p.depth);
    if (p.vlan_count == 2) ++qinq;
  }
  uint64_t packets = 0, inner = 0, qinq = 0;
  int max_depth = 0;
};

struct FileStats {
  uint64_t frames = 0, decoded = 0, non_ip = 0, invalid = 0, inner = 0, qinq = 0, packets = 0;
};

bool decode_file(const std::string& path, FileStats& st, std::string& err) {
  char errbuf[PCAP_ERRBUF_SIZE];
  pcap_t* pc = pcap_open_offline(path.c_str(), errbuf);
  if (!pc) {
    err = errbuf;
    return false;
  }
  Decoder d{DecodeConfig{}};
  CorpusCount sink;
  pcap_pkthdr* h;
  const u_char* data;
  int rc;
  uint64_t n = 0;
  while ((rc = pcap_next_ex(pc, &h, &data)) == 1) {
    RawFrame f;
    f.ts = TimeNs(h->ts.tv_sec) * kNsPerSec + TimeNs(h->ts.tv_usec) * kNsPerUs;
    f.number = ++n;
    f.caplen = h->caplen;
    f.wirelen = h->len;
    f.linktype = pcap_datalink(pc);
    f.data = data;
    d.decode(f, sink);
  }
  pcap_close(pc);
  const CounterSet& c = d.counters();
  st.frames = c[decode_ctr::kFrames];
  st.decoded = c[decode_ctr::kDecoded];
  st.non_ip = c[decode_ctr::kNonIp];
  st.invalid = c[decode_ctr::kInvalid];
  st.inner = sink.inner;
  st.qinq = sink.qinq;
  st.packets = sink.packets;
  EXPECT_EQ(st.frames, n) << path;
  EXPECT_EQ(st.decoded + st.non_ip + st.invalid, st.frames) << path;
  EXPECT_EQ(c[decode_ctr::kPackets], sink.packets) << path;
  return true;
}

std::string shared_dir() {
  return KOMAINU_SHARED_DIR;
}

// Captures with deliberately malformed frames, and how many frames cannot be decoded.
const std::map<std::string, uint64_t> kMalformed = {
    {"suricata-verify/decode-too-small/test.pcap", 6},       // IP without room for TCP/UDP
    {"suricata-verify/drop-protocol-change/input.pcap", 1},  // TCP data offset < 5
    {"suricata-verify/ipv6-evasion__ipv6-malformed-fragments-28/frag-28.pcap", 1},
    {"zeek/traces/trunc/trunc-hdr.pcap", 1},         // 1-byte Ethernet frame
    {"zeek/traces/ipv6-mobility-dst-opts.pcap", 1},  // bad destination option length
};

TEST(Corpus, EveryCaptureDecodesWithSaneCounts) {
  std::string root = shared_dir() + "/corpus";
  if (!std::filesystem::exists(root)) GTEST_SKIP() << "no corpus at " << root;
  uint64_t files = 0, frames = 0, decoded = 0, non_ip = 0, invalid = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(root)) {
    std::string ext = e.path().extension().string();
    if (!e.is_regular_file() || (ext != ".pcap" && ext != ".pcapng")) continue;
    FileStats st;
    std::string err;
    if (!decode_file(e.path().string(), st, err)) {
      ADD_FAILURE() << e.path() << ": " << err;
      continue;
    }
    ++files;
    frames += st.frames;
    decoded += st.decoded;
    non_ip += st.non_ip;
    invalid += st.invalid;
    // Malformed frames exist only in the captures made to hold them.
    std::string rel = e.path().string().substr(root.size() + 1);
    auto it = kMalformed.find(rel);
    EXPECT_EQ(st.invalid, it == kMalformed.end() ? 0u : it->second) << rel;
  }
  EXPECT_GT(files, 100u);
  EXPECT_GT(decoded, frames * 9 / 10);
  std::cout << "[ corpus ] " << files << " files, " << frames << " frames: " << decoded
            << " decoded, " << non_ip << " non-IP, " << invalid << " invalid\n";
}

TEST(Corpus, EncapsulationsReachInnerLayers) {
  std::string t = shared_dir() + "/corpus/zeek/traces/";
  if (!std::filesystem::exists(t)) GTEST_SKIP() << "no Zeek traces at " << t;
  struct Want {
    const char* file;
    bool tunnel;  // expects inner (depth > 0) layers
    bool qinq;
  };
  const Want wants[] = {
      {"q-in-q.pcap", false, true},
      {"mpls-in-vlan.pcap", false, false},
      {"pppoe.pcap", false, false},
      {"nflog-http.pcap", false, false},
      {"tunnels/Teredo.pcap", true, false},
      {"tunnels/ayiya3.pcap", true, false},
      {"tunnels/geneve.pcap", true, false},
      {"tunnels/gre-over-udp-4754.pcap", true, false},
      {"tunnels/gre-pptp.pcap", true, false},
      {"tunnels/gre-sample.pcap", true, false},
      {"tunnels/gre-within-gre.pcap", true, false},
      {"tunnels/teredo_bubble_with_payload.pcap", true, false},
      {"tunnels/vxlan-triple-v2.pcap", true, false},
      {"tunnels/vxlan.pcap", true, false},
  };
  for (const Want& w : wants) {
    FileStats st;
    std::string err;
    ASSERT_TRUE(decode_file(t + w.file, st, err)) << w.file << ": " << err;
    EXPECT_GT(st.frames, 0u) << w.file;
    EXPECT_EQ(st.invalid, 0u) << w.file;
    EXPECT_GT(st.packets, 0u) << w.file;
    if (w.tunnel) {
      EXPECT_GT(st.inner, 0u) << w.file;
    }
    if (w.qinq) {
      EXPECT_GT(st.qinq, 0u) << w.file;
    }
  }
}

}  // namespace
}  // namespace komainu
