#include "decode/decoder.h"

#include <algorithm>
#include <cstring>

namespace komainu {

namespace {

constexpr int kMaxLayers = 8;

inline uint16_t rd16(const uint8_t* p) {
  return uint16_t(p[0] << 8 | p[1]);
}
inline uint32_t rd32(const uint8_t* p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3];
}

// In the order of decode_ctr.
const std::vector<CounterInfo>& counter_info() {
  static const std::vector<CounterInfo> info = {
      {"frames", "frames given to the decoder"},
      {"bytes", "wire bytes of those frames"},
      {"decoded", "frames whose outermost IP layer decoded (incl. fragments taken in)"},
      {"non_ip", "frames processed that carry no IP (ARP, LLDP, STP, ...)"},
      {"invalid", "frames malformed or unsupported before the first IP layer"},
      {"packets", "IP layers handed to the flow stage"},
      {"ipv4", "IPv4 layers"},
      {"ipv6", "IPv6 layers"},
      {"tcp", "TCP layers"},
      {"udp", "UDP layers"},
      {"icmp", "ICMP layers"},
      {"icmp6", "ICMPv6 layers"},
      {"other_proto", "IP layers of other protocols"},
      {"vlan", "802.1Q/802.1ad tags"},
      {"mpls", "frames with an MPLS label stack"},
      {"pppoe", "PPPoE session frames"},
      {"fragments", "IP fragments"},
      {"reassembled", "datagrams rebuilt from fragments"},
      {"frag_evicted", "datagrams evicted from reassembly (memory or table full)"},
      {"frag_timeout", "datagrams timed out in reassembly"},
      {"frag_dropped", "fragments dropped (limits, truncated capture, malformed)"},
      {"tunnel_gre", "GRE-encapsulated layers"},
      {"tunnel_erspan", "ERSPAN-encapsulated layers"},
      {"tunnel_vxlan", "VXLAN-encapsulated layers"},
      {"tunnel_geneve", "Geneve-encapsulated layers"},
      {"tunnel_teredo", "Teredo-encapsulated layers"},
      {"tunnel_ipinip", "IP-in-IP layers"},
      {"tunnel_ayiya", "AYIYA-encapsulated layers"},
      {"tunnel_gtp", "GTPv1-U-encapsulated layers"},
      {"tunnel_depth_exceeded", "tunnels not followed: deeper than max_tunnel_depth"},
      {"arp", "ARP messages (IPv4 over Ethernet) decoded and handed on"},
      {"arp_other", "ARP frames for other hardware or protocol types"},
  };
  return info;
}

// In the order of Decoder::Weird.
constexpr const char* kWeirdNames[] = {
    "unsupported_link_type",
    "truncated_link_header",
    "truncated_ethernet_frame",
    "truncated_VLAN_header",
    "vlan_stack_too_deep",
    "truncated_MPLS_header",
    "mpls_unknown_payload",
    "truncated_pppoe_header",
    "truncated_NSH",
    "truncated_ppp_header",
    "truncated_nflog_header",
    "truncated_IP",
    "invalid_IP_header_size",
    "bad_IP_checksum",
    "bad_TCP_checksum",
    "bad_UDP_checksum",
    "bad_ICMP_checksum",
    "internally_truncated_header",
    "ip_hdr_len_zero",
    "invalid_IP_total_length",
    "unknown_ip_version",
    "bad_IP_options",
    "truncated_IPv6_ext_header",
    "bad_ipv6_dest_opt_len",
    "multiple_home_addr_opts",
    "bad_home_addr_len",
    "truncated_header",
    "bad_TCP_header_len",
    "UDP_datagram_length_mismatch",
    "fragment_overlap",
    "fragment_inconsistency",
    "fragment_with_DF",
    "excessively_large_fragment",
    "fragment_too_many_pieces",
    "fragment_size_inconsistency",
    "truncated_fragment",
    "fragment_memcap",
    "exceeded_tunnel_max_depth",
    "truncated_GRE",
    "unknown_gre_version",
    "unknown_gre_protocol",
    "gre_routing",
    "unknown_gre_flags",
    "egre_protocol_type",
    "non_ip_packet_in_encap",
    "VXLAN_truncated",
    "VXLAN_invalid_flags",
    "geneve_truncated",
    "geneve_unknown_protocol",
    "truncated_Teredo",
    "truncated_Teredo_origin_indication",
    "truncated_Teredo_authentication",
    "truncated_IPv6_in_Teredo",
    "Teredo_payload_len_mismatch",
    "Teredo_bubble_with_payload",
    "truncated_AYIYA",
    "ayiya_tunnel_non_ip",
    "GTPv1_truncated",
    "GTPv1_unsupported_version",
    "tunnel_payload_not_ip",
    "truncated_ARP",
};
static_assert(sizeof(kWeirdNames) / sizeof(kWeirdNames[0]) == Decoder::kWeirdCount);

// One's-complement sum of 16-bit big-endian words (RFC 1071), not yet folded.
uint64_t sum16(const uint8_t* p, size_t n, uint64_t acc = 0) {
  while (n >= 2) {
    acc += uint32_t(p[0] << 8 | p[1]);
    p += 2;
    n -= 2;
  }
  if (n) acc += uint32_t(p[0] << 8);
  return acc;
}
uint16_t fold(uint64_t acc) {
  while (acc >> 16) acc = (acc & 0xFFFF) + (acc >> 16);
  return uint16_t(acc);
}

// Zeek pairs request and reply types into one connection: the responder "port" is the
// counterpart type; types without one are one-way and use the code.
uint16_t icmp4_counterpart(uint8_t type, uint8_t code, bool& one_way) {
  one_way = false;
  switch (type) {
    case 8:
      return 0;  // echo → echo reply
    case 0:
      return 8;
    case 13:
      return 14;  // timestamp
    case 14:
      return 13;
    case 15:
      return 16;  // information
    case 16:
      return 15;
    case 10:
      return 9;  // router solicitation / advertisement
    case 9:
      return 10;
    case 17:
      return 18;  // address mask
    case 18:
      return 17;
    default:
      one_way = true;
      return code;
  }
}

uint16_t icmp6_counterpart(uint8_t type, uint8_t code, bool& one_way) {
  one_way = false;
  switch (type) {
    case 128:
      return 129;  // echo
    case 129:
      return 128;
    case 133:
      return 134;  // router solicitation / advertisement
    case 134:
      return 133;
    case 135:
      return 136;  // neighbour solicitation / advertisement
    case 136:
      return 135;
    case 130:
      return 131;  // MLD query / report
    case 131:
      return 130;
    case 139:
      return 140;  // node information query / response
    case 140:
      return 139;
    case 144:
      return 145;  // home agent address discovery
    case 145:
      return 144;
    default:
      one_way = true;
      return code;
  }
}

}  // namespace

struct Decoder::Frame {
  const RawFrame* raw = nullptr;
  Packet layers[kMaxLayers];
  int n = 0;
  uint16_t vlan[2] = {0, 0};
  uint8_t vlan_count = 0;
  const Packet* parent = nullptr;
  TunnelType tunnel = TunnelType::kNone;
  uint8_t depth = 0;
  bool non_ip = false;
  bool has_arp = false;  // an ARP message to hand over with the frame
  ArpPacket arp;
  bool consumed = false;  // a fragment taken into (or dropped by) reassembly
  int release[kMaxLayers];
  int nrelease = 0;
  int first_weird = -1;
};

Decoder::Decoder(const DecodeConfig& cfg)
    : cfg_(cfg), counters_("decode", counter_info()), frame_(std::make_unique<Frame>()) {
  if (cfg_.max_tunnel_depth > kMaxLayers - 1) cfg_.max_tunnel_depth = kMaxLayers - 1;
  // Interned up front in enum order, so counting on the hot path is an index increment.
  for (const char* n : kWeirdNames) weirds_.intern(n);
  FragLimits lim;
  lim.memcap = cfg_.frag_memcap;
  lim.max_datagram = cfg_.frag_max_datagram;
  lim.max_datagrams = cfg_.frag_max_datagrams;
  lim.max_pieces = cfg_.frag_max_pieces;
  lim.timeout = cfg_.frag_timeout;
  frags_ = std::make_unique<FragmentTable>(lim);
}

Decoder::~Decoder() = default;

const char* Decoder::weird_name(Weird w) {
  return w < kWeirdCount ? kWeirdNames[w] : "unknown";
}

uint64_t Decoder::weird(const char* name) const {
  for (size_t i = 0; i < weirds_.names().size(); ++i)
    if (weirds_.names()[i] == name) return weirds_.counts()[i];
  return 0;
}

const char* Decoder::last_weird() const {
  return last_weird_ < 0 ? nullptr : kWeirdNames[last_weird_];
}

size_t Decoder::frag_memory() const {
  return frags_->memory();
}
size_t Decoder::frag_in_progress() const {
  return frags_->in_progress();
}

void Decoder::weird(Weird w) {
  weirds_.count(w);
  if (frame_->first_weird < 0) frame_->first_weird = w;
}

void Decoder::on_frag_event(void* ctx, FragEvent e) {
  auto* d = static_cast<Decoder*>(ctx);
  switch (e) {
    case FragEvent::kOverlap:
      d->weird(kFragmentOverlap);
      break;
    case FragEvent::kInconsistent:
      d->weird(kFragmentInconsistency);
      break;
    case FragEvent::kTooLarge:
      d->weird(kExcessivelyLargeFragment);
      break;
    case FragEvent::kTooManyPieces:
      d->weird(kFragmentTooManyPieces);
      break;
    case FragEvent::kSizeInconsistent:
      d->weird(kFragmentSizeInconsistency);
      break;
    case FragEvent::kMemcap:
      d->weird(kFragmentMemcap);
      break;
  }
}

void Decoder::sync_frag_counters() {
  counters_[decode_ctr::kFragEvicted] = frags_->evicted();
  counters_[decode_ctr::kFragTimeout] = frags_->timed_out();
}

void Decoder::expire(TimeNs now) {
  frags_->expire(now);
  sync_frag_counters();
}

DecodeResult Decoder::decode(const RawFrame& f, PacketSink& sink) {
  Frame& fr = *frame_;
  fr.raw = &f;
  fr.n = 0;
  fr.vlan_count = 0;
  fr.vlan[0] = fr.vlan[1] = 0;
  fr.parent = nullptr;
  fr.tunnel = TunnelType::kNone;
  fr.depth = 0;
  fr.non_ip = false;
  fr.has_arp = false;
  fr.consumed = false;
  fr.nrelease = 0;
  fr.first_weird = -1;

  counters_[decode_ctr::kFrames]++;
  counters_[decode_ctr::kBytes] += f.wirelen;
  frags_->expire(f.ts);

  size_t cap = f.data ? f.caplen : 0;
  // A wire length below the captured length is a broken record: trust what is present.
  size_t wire = std::max<size_t>(f.wirelen, cap);
  decode_link(fr, f.linktype, f.data, cap, wire);

  for (int i = 0; i < fr.n; ++i) {
    const Packet& p = fr.layers[i];
    counters_[p.ip_version == 4 ? decode_ctr::kIpv4 : decode_ctr::kIpv6]++;
    switch (p.proto) {
      case 6:
        counters_[decode_ctr::kTcp]++;
        break;
      case 17:
        counters_[decode_ctr::kUdp]++;
        break;
      case 1:
        counters_[decode_ctr::kIcmp]++;
        break;
      case 58:
        counters_[decode_ctr::kIcmp6]++;
        break;
      default:
        counters_[decode_ctr::kOtherProto]++;
        break;
    }
    counters_[decode_ctr::kPackets]++;
    sink.on_packet(p);
  }
  if (fr.has_arp) {
    counters_[decode_ctr::kArp]++;
    if (arp_sink_) arp_sink_->on_arp(fr.arp);
  }
  for (int i = 0; i < fr.nrelease; ++i) frags_->release(fr.release[i]);
  sync_frag_counters();

  DecodeResult r;
  if (fr.n > 0 || fr.consumed) {
    r = DecodeResult::kDecoded;
    counters_[decode_ctr::kDecoded]++;
  } else if (fr.non_ip) {
    r = DecodeResult::kNonIp;
    counters_[decode_ctr::kNonIp]++;
  } else {
    r = DecodeResult::kInvalid;
    counters_[decode_ctr::kInvalid]++;
  }
  last_result_ = r;
  last_weird_ = fr.first_weird;
  return r;
}

Packet* Decoder::begin_layer(Frame& fr) {
  if (fr.n >= kMaxLayers) {
    weird(kExceededTunnelMaxDepth);
    return nullptr;
  }
  Packet& pk = fr.layers[fr.n];
  pk = Packet{};
  pk.frame = fr.raw;
  pk.ts = fr.raw->ts;
  pk.vlan[0] = fr.vlan[0];
  pk.vlan[1] = fr.vlan[1];
  pk.vlan_count = fr.vlan_count;
  pk.parent = fr.parent;
  pk.tunnel = fr.tunnel;
  pk.depth = fr.depth;
  return &pk;
}

// ---- link layers -------------------------------------------------------------------------

bool Decoder::decode_link(Frame& fr, int linktype, const uint8_t* p, size_t cap, size_t wire) {
  switch (linktype) {
    case 1:  // Ethernet
      return decode_ether(fr, p, cap, wire, false);
    case 12:
    case 14:
    case 101:  // raw IP
    case 228:  // raw IPv4
    case 229:  // raw IPv6
      return decode_by_version(fr, p, cap, wire);
    case 113: {  // Linux cooked (SLL)
      if (cap < 16) {
        weird(kTruncatedLinkHeader);
        return false;
      }
      return decode_ethertype(fr, rd16(p + 14), p + 16, cap - 16, wire - 16);
    }
    case 276: {  // Linux cooked v2 (SLL2)
      if (cap < 20) {
        weird(kTruncatedLinkHeader);
        return false;
      }
      return decode_ethertype(fr, rd16(p), p + 20, cap - 20, wire - 20);
    }
    case 0:      // BSD null: address family in the capturing host's byte order
    case 108: {  // OpenBSD loopback: network byte order
      if (cap < 4) {
        weird(kTruncatedLinkHeader);
        return false;
      }
      uint32_t fam = rd32(p);
      if (linktype == 0 && (fam & 0xFFFF0000u)) fam = __builtin_bswap32(fam);
      if (fam == 2 || fam == 24 || fam == 28 || fam == 30)  // AF_INET, AF_INET6 on BSDs
        return decode_by_version(fr, p + 4, cap - 4, wire - 4);
      fr.non_ip = true;
      return true;
    }
    case 9:     // PPP
    case 50: {  // PPP in HDLC-like framing
      size_t off = 0;
      if (cap >= 2 && p[0] == 0xFF && p[1] == 0x03) off = 2;
      if (cap < off + 1) {
        weird(kTruncatedPpp);
        return false;
      }
      if (p[off] & 0x01)  // protocol-field compression: a 1-byte protocol
        return decode_ppp_proto(fr, p[off], p + off + 1, cap - off - 1, wire - off - 1);
      if (cap < off + 2) {
        weird(kTruncatedPpp);
        return false;
      }
      return decode_ppp_proto(fr, rd16(p + off), p + off + 2, cap - off - 2, wire - off - 2);
    }
    case 104: {  // Cisco HDLC: address, control, ethertype
      if (cap < 4) {
        weird(kTruncatedLinkHeader);
        return false;
      }
      return decode_ethertype(fr, rd16(p + 2), p + 4, cap - 4, wire - 4);
    }
    case 239: {  // NFLOG: family, version, resource id, then TLVs (host byte order)
      if (cap < 4) {
        weird(kTruncatedNflog);
        return false;
      }
      uint8_t family = p[0];
      size_t off = 4;
      while (off + 4 <= cap) {
        uint16_t tlen = uint16_t(p[off] | p[off + 1] << 8);
        uint16_t ttype = uint16_t(p[off + 2] | p[off + 3] << 8);
        if (tlen < 4 || off + tlen > cap) break;
        if (ttype == 9) {  // NFULA_PAYLOAD
          size_t n = tlen - 4;
          if (family != 2 && family != 10) {
            fr.non_ip = true;
            return true;
          }
          return decode_by_version(fr, p + off + 4, n, n);
        }
        off += (size_t(tlen) + 3) & ~size_t(3);
      }
      weird(kTruncatedNflog);
      return false;
    }
    default:
      weird(kUnsupportedLinkType);
      return false;
  }
}

bool Decoder::decode_ether(Frame& fr, const uint8_t* p, size_t cap, size_t wire, bool inner) {
  if (inner) {
    fr.vlan_count = 0;
    fr.vlan[0] = fr.vlan[1] = 0;
  }
  if (cap < 14) {
    weird(kTruncatedEthernet);
    return false;
  }
  uint16_t type = rd16(p + 12);
  p += 14;
  cap -= 14;
  wire -= 14;
  if (type < 0x0600) {
    // 802.3 length: only LLC/SNAP can carry an ethertype; the rest (STP, IPX, ...) is not IP.
    if (cap >= 8 && p[0] == 0xAA && p[1] == 0xAA && p[2] == 0x03) {
      type = rd16(p + 6);
      p += 8;
      cap -= 8;
      wire -= 8;
    } else {
      fr.non_ip = true;
      return true;
    }
  }
  return decode_ethertype(fr, type, p, cap, wire);
}

bool Decoder::decode_ethertype(Frame& fr, uint16_t type, const uint8_t* p, size_t cap,
                               size_t wire) {
  // VLAN tags are walked in a loop: a frame of nothing but tags must not recurse.
  while (type == 0x8100 || type == 0x88A8 || type == 0x9100 || type == 0x9200) {
    if (cap < 4) {
      weird(kTruncatedVlan);
      return false;
    }
    if (fr.vlan_count < 2)
      fr.vlan[fr.vlan_count++] = rd16(p) & 0x0FFF;
    else if (fr.vlan_count == 2) {
      weird(kVlanTooDeep);
      fr.vlan_count = 3;  // reported once per frame; only two ids are kept
    }
    counters_[decode_ctr::kVlan]++;
    type = rd16(p + 2);
    p += 4;
    cap -= 4;
    wire -= 4;
  }
  if (fr.vlan_count > 2) fr.vlan_count = 2;
  switch (type) {
    case 0x0800:
    case 0x86DD:
      return decode_by_version(fr, p, cap, wire);
    case 0x8847:
    case 0x8848:
      return decode_mpls(fr, p, cap, wire);
    case 0x8864:
      return decode_pppoe(fr, p, cap, wire);
    case 0x894F:
      return decode_nsh(fr, p, cap, wire);
    case 0x0806:  // ARP: still not IP, but handed to the ARP sink (host discovery)
      fr.non_ip = true;
      if (fr.depth == 0) decode_arp(fr, p, cap);
      return true;
    default:  // RARP, LLDP, PPPoE discovery, EAPOL, ...
      fr.non_ip = true;
      return true;
  }
}

void Decoder::decode_arp(Frame& fr, const uint8_t* p, size_t cap) {
  ArpPacket& a = fr.arp;
  a = ArpPacket{};
  switch (parse_arp(p, cap, a)) {
    case ArpParse::kOk:
      a.frame = fr.raw;
      a.ts = fr.raw->ts;
      a.vlan[0] = fr.vlan[0];
      a.vlan[1] = fr.vlan[1];
      a.vlan_count = fr.vlan_count;
      fr.has_arp = true;
      break;
    case ArpParse::kTruncated:
      weird(kTruncatedArp);
      break;
    case ArpParse::kUnsupported:
      counters_[decode_ctr::kArpOther]++;
      break;
  }
}

bool Decoder::decode_mpls(Frame& fr, const uint8_t* p, size_t cap, size_t wire) {
  counters_[decode_ctr::kMpls]++;
  for (;;) {
    if (cap < 4) {
      weird(kTruncatedMpls);
      return false;
    }
    bool bottom = p[2] & 0x01;
    p += 4;
    cap -= 4;
    wire -= 4;
    if (bottom) break;
  }
  if (cap < 1) {
    weird(kTruncatedMpls);
    return false;
  }
  switch (p[0] >> 4) {
    case 4:
    case 6:
      return decode_by_version(fr, p, cap, wire);
    case 0:  // pseudowire control word, then an Ethernet frame
      if (cap >= 4 + 14) return decode_ether(fr, p + 4, cap - 4, wire - 4, false);
      [[fallthrough]];
    default:
      weird(kMplsUnknownPayload);
      return false;
  }
}

// Network Service Header (RFC 8300): a service path header in front of the packet.
bool Decoder::decode_nsh(Frame& fr, const uint8_t* p, size_t cap, size_t wire) {
  if (cap < 8) {
    weird(kTruncatedNsh);
    return false;
  }
  size_t hlen = size_t(p[1] & 0x3F) * 4;
  if ((p[0] >> 6) != 0 || hlen < 8 || cap < hlen) {
    weird(kTruncatedNsh);
    return false;
  }
  uint8_t next = p[3];
  p += hlen;
  cap -= hlen;
  wire -= hlen;
  switch (next) {
    case 1:
    case 2:
      return decode_by_version(fr, p, cap, wire);
    case 3:
      return decode_ether(fr, p, cap, wire, false);
    case 5:
      return decode_mpls(fr, p, cap, wire);
    default:
      fr.non_ip = true;
      return true;
  }
}

bool Decoder::decode_pppoe(Frame& fr, const uint8_t* p, size_t cap, size_t wire) {
  if (cap < 8) {
    weird(kTruncatedPppoe);
    return false;
  }
  counters_[decode_ctr::kPppoe]++;
  uint16_t len = rd16(p + 4);  // PPP frame length, protocol field included
  uint16_t proto = rd16(p + 6);
  p += 8;
  cap -= 8;
  wire -= 8;
  if (len >= 2) {
    cap = std::min<size_t>(cap, len - 2);
    wire = std::min<size_t>(wire, len - 2);
  }
  return decode_ppp_proto(fr, proto, p, cap, wire);
}

bool Decoder::decode_ppp_proto(Frame& fr, uint16_t proto, const uint8_t* p, size_t cap,
                               size_t wire) {
  switch (proto) {
    case 0x0021:
    case 0x0057:
      return decode_by_version(fr, p, cap, wire);
    case 0x0281:
      return decode_mpls(fr, p, cap, wire);
    default:  // LCP, IPCP, CHAP, ...
      fr.non_ip = true;
      return true;
  }
}

// ---- IP ----------------------------------------------------------------------------------

bool Decoder::decode_by_version(Frame& fr, const uint8_t* p, size_t cap, size_t wire) {
  if (cap < 1) {
    weird(kTruncatedIp);
    return false;
  }
  // Like Zeek, the version nibble decides, not the ethertype that announced it.
  switch (p[0] >> 4) {
    case 4:
      return decode_ipv4(fr, p, cap, wire);
    case 6:
      return decode_ipv6(fr, p, cap, wire);
    default:
      weird(kUnknownIpVersion);
      return false;
  }
}

bool Decoder::decode_ipv4(Frame& fr, const uint8_t* p, size_t cap, size_t wire) {
  Packet* pk = begin_layer(fr);
  if (!pk) return false;
  if (cap < 20) {
    weird(kTruncatedIp);
    return false;
  }
  uint32_t ihl = uint32_t(p[0] & 0x0F) * 4;
  if (ihl < 20) {
    weird(kInvalidIpHeaderSize);
    return false;
  }
  if (ihl > cap) {
    weird(kInternallyTruncatedHeader);
    return false;
  }
  uint32_t total = rd16(p + 2);
  if (total == 0) {
    // TCP segmentation offload leaves the length zero: use what was captured (like Zeek).
    weird(kIpHdrLenZero);
    total = uint32_t(std::min<size_t>(cap, 65535));
  }
  if (total < ihl) {
    weird(kBadIpLen);
    return false;
  }
  if (total > wire) {
    weird(kTruncatedIp);
    return false;
  }
  if (cfg_.verify_ip_checksum && fold(sum16(p, ihl)) != 0xFFFF) {
    weird(kBadIpChecksum);
    return false;
  }
  if (ihl > 20) {
    // Options are skipped; a malformed list is reported, not fatal.
    uint32_t o = 20;
    while (o < ihl) {
      uint8_t t = p[o];
      if (t == 0) break;
      if (t == 1) {
        ++o;
        continue;
      }
      if (o + 1 >= ihl || p[o + 1] < 2 || o + p[o + 1] > ihl) {
        weird(kBadIpv4Options);
        break;
      }
      o += p[o + 1];
    }
  }
  uint32_t l3_cap = uint32_t(std::min<size_t>(cap, total));
  pk->ip_version = 4;
  pk->src = IpAddr::v4_bytes(p + 12);
  pk->dst = IpAddr::v4_bytes(p + 16);
  pk->proto = p[9];
  pk->ttl = p[8];
  pk->ip_id = rd16(p + 4);
  pk->ip_len = total;
  pk->l3 = p;
  pk->l3_caplen = l3_cap;

  uint16_t ff = rd16(p + 6);
  bool more = ff & 0x2000;
  uint32_t offset = uint32_t(ff & 0x1FFF) * 8;
  if ((more || offset) && cfg_.defrag) {
    counters_[decode_ctr::kFragments]++;
    if (ff & 0x4000) weird(kFragmentWithDf);
    fr.consumed = true;
    if (l3_cap < total) {
      // Snaplen-truncated fragment: its bytes are unknown, the datagram cannot complete.
      weird(kExcessivelySmallFragment);
      counters_[decode_ctr::kFragDropped]++;
      return true;
    }
    FragKey key;
    key.src = pk->src;
    key.dst = pk->dst;
    key.id = pk->ip_id;
    key.proto = pk->proto;
    key.version = 4;
    key.vlan = fr.vlan_count ? fr.vlan[0] : 0;
    key.depth = fr.depth;
    FragmentTable::Datagram dg;
    auto st = frags_->add(key, fr.raw->ts, p, ihl, offset, more, p + ihl, total - ihl, dg,
                          &Decoder::on_frag_event, this);
    if (st == FragmentTable::Status::kDropped) counters_[decode_ctr::kFragDropped]++;
    if (st != FragmentTable::Status::kComplete) return true;
    counters_[decode_ctr::kReassembled]++;
    fr.release[fr.nrelease++] = dg.slot;
    p = dg.data;
    ihl = uint32_t(p[0] & 0x0F) * 4;  // the first fragment's header, which may differ
    total = dg.len;
    l3_cap = dg.len;
    pk->ttl = p[8];
    pk->ip_len = total;
    pk->l3 = p;
    pk->l3_caplen = l3_cap;
    pk->reassembled = true;
  } else if (offset) {
    // Not reassembling: a later fragment has no transport header to read.
    return finish_ip(fr, *pk, p + ihl, l3_cap - ihl, total - ihl, false);
  }
  return finish_ip(fr, *pk, p + ihl, l3_cap - ihl, total - ihl);
}

bool Decoder::decode_ipv6(Frame& fr, const uint8_t* p, size_t cap, size_t wire) {
  Packet* pk = begin_layer(fr);
  if (!pk) return false;
  if (cap < 40) {
    weird(kTruncatedIp);
    return false;
  }
  uint32_t total = 40 + uint32_t(rd16(p + 4));
  if (total == 40 && p[6] == 0) {
    // Payload length 0 with a hop-by-hop header: a jumbogram or offload; use what is there.
    weird(kIpHdrLenZero);
    total = uint32_t(std::min<size_t>(cap, 0xFFFFFFFFu));
  }
  if (total > wire) {
    weird(kTruncatedIp);
    return false;
  }
  uint32_t l3_cap = uint32_t(std::min<size_t>(cap, total));
  pk->ip_version = 6;
  pk->src = IpAddr::v6_bytes(p + 8);
  pk->dst = IpAddr::v6_bytes(p + 24);
  pk->ttl = p[7];
  pk->ip_len = total;
  pk->l3 = p;
  pk->l3_caplen = l3_cap;

  uint8_t nh = p[6];
  uint32_t off = 40;
  bool reassembled = false;
  for (int guard = 0; guard < 32; ++guard) {
    uint32_t hlen;
    switch (nh) {
      case 0:     // hop-by-hop options
      case 43:    // routing
      case 60:    // destination options
      case 135:   // mobility
      case 139:   // HIP
      case 140:   // shim6
      case 51: {  // authentication header
        if (off + 2 > total) {
          weird(kTruncatedIpv6ExtHeader);
          return false;
        }
        if (off + 2 > l3_cap) {
          weird(kInternallyTruncatedHeader);
          return false;
        }
        hlen = nh == 51 ? (uint32_t(p[off + 1]) + 2) * 4 : (uint32_t(p[off + 1]) + 1) * 8;
        if (off + hlen > total) {
          weird(kInvalidIpHeaderSize);  // Zeek's name for a header chain past the datagram
          return false;
        }
        if (off + hlen > l3_cap) {
          weird(kInternallyTruncatedHeader);
          return false;
        }
        if (nh == 60) check_dest_options(p + off + 2, hlen - 2);
        nh = p[off];
        off += hlen;
        continue;
      }
      case 44: {  // fragment
        if (off + 8 > total) {
          weird(kTruncatedIpv6ExtHeader);
          return false;
        }
        if (off + 8 > l3_cap) {
          weird(kInternallyTruncatedHeader);
          return false;
        }
        uint8_t frag_nh = p[off];
        uint16_t fo = rd16(p + off + 2);
        uint32_t offset = fo & 0xFFF8;
        bool more = fo & 1;
        uint32_t id = rd32(p + off + 4);
        if ((offset == 0 && !more) || !cfg_.defrag || reassembled) {
          // Atomic fragment (RFC 6946): the datagram is whole.
          if (offset || more) break;  // a second fragment header: leave it opaque
          nh = frag_nh;
          off += 8;
          continue;
        }
        counters_[decode_ctr::kFragments]++;
        fr.consumed = true;
        if (l3_cap < total) {
          weird(kExcessivelySmallFragment);
          counters_[decode_ctr::kFragDropped]++;
          return true;
        }
        // The rebuilt datagram is the fixed header followed by the fragmentable part; the
        // unfragmentable extension headers are not kept.
        uint8_t hdr[40];
        memcpy(hdr, p, 40);
        hdr[6] = frag_nh;
        FragKey key;
        key.src = pk->src;
        key.dst = pk->dst;
        key.id = id;
        key.version = 6;
        key.vlan = fr.vlan_count ? fr.vlan[0] : 0;
        key.depth = fr.depth;
        FragmentTable::Datagram dg;
        uint32_t start = off + 8;
        auto st = frags_->add(key, fr.raw->ts, hdr, 40, offset, more, p + start, total - start, dg,
                              &Decoder::on_frag_event, this);
        if (st == FragmentTable::Status::kDropped) counters_[decode_ctr::kFragDropped]++;
        if (st != FragmentTable::Status::kComplete) return true;
        counters_[decode_ctr::kReassembled]++;
        fr.release[fr.nrelease++] = dg.slot;
        p = dg.data;
        total = dg.len;
        l3_cap = dg.len;
        pk->ip_len = total;
        pk->l3 = p;
        pk->l3_caplen = l3_cap;
        pk->reassembled = true;
        reassembled = true;
        nh = frag_nh;
        off = 40;
        continue;
      }
      default:  // upper layer, ESP (opaque) or no next header
        break;
    }
    break;
  }
  pk->proto = nh;
  return finish_ip(fr, *pk, p + off, l3_cap - off, total - off);
}

void Decoder::check_transport_sum(Packet& pk, const uint8_t* l4, size_t len) {
  uint64_t acc = 0;
  if (pk.proto != 1) {  // TCP, UDP and ICMPv6 cover a pseudo-header
    if (pk.ip_version == 4)
      acc = sum16(pk.src.b.data() + 12, 4, sum16(pk.dst.b.data() + 12, 4));
    else
      acc = sum16(pk.src.b.data(), 16, sum16(pk.dst.b.data(), 16));
    acc += pk.proto + uint64_t(len);
  }
  if (pk.proto == 17 && l4[6] == 0 && l4[7] == 0) return;  // UDP without a checksum
  if (fold(sum16(l4, len, acc)) == 0xFFFF) return;
  pk.checksum_bad = true;
  switch (pk.proto) {
    case 6:
      weird(kBadTcpChecksum);
      break;
    case 17:
      weird(kBadUdpChecksum);
      break;
    default:
      weird(kBadIcmpChecksum);
      break;
  }
}

// Destination options are skipped as a block; their inner layout is only checked so that
// malformed ones are reported (Zeek's names), never fatal.
void Decoder::check_dest_options(const uint8_t* o, size_t len) {
  size_t i = 0;
  int home_addr = 0;
  while (i < len) {
    if (o[i] == 0) {  // Pad1
      ++i;
      continue;
    }
    if (i + 2 > len || i + 2 + o[i + 1] > len) {
      weird(kBadIpv6DestOptLen);
      return;
    }
    if (o[i] == 201) {  // home address (mobile IPv6)
      if (++home_addr > 1) weird(kMultipleHomeAddrOpts);
      if (o[i + 1] != 16) weird(kBadHomeAddrLen);
    }
    i += 2 + size_t(o[i + 1]);
  }
}

bool Decoder::finish_ip(Frame& fr, Packet& pk, const uint8_t* l4, size_t l4_cap, size_t l4_len,
                        bool transport) {
  pk.payload = l4;
  pk.payload_caplen = uint32_t(l4_cap);
  pk.payload_len = uint32_t(l4_len);
  if (transport && !decode_l4(fr, pk, l4, l4_cap, l4_len)) return false;
  if (transport && cfg_.verify_checksums && pk.l4_valid && l4_cap >= l4_len)
    check_transport_sum(pk, l4, pk.proto == 17 ? pk.payload_len + 8 : l4_len);
  fr.n++;
  if (cfg_.decode_tunnels && transport) try_tunnel(fr, pk);
  return true;
}

bool Decoder::decode_l4(Frame&, Packet& pk, const uint8_t* l4, size_t l4_cap, size_t l4_len) {
  // Zeek ignores a transport packet whose header is missing: so do we (no Packet emitted).
  auto header_present = [&](size_t need) {
    if (l4_len < need) {
      weird(kTruncatedHeader);
      return false;
    }
    if (l4_cap < need) {
      weird(kInternallyTruncatedHeader);
      return false;
    }
    return true;
  };
  switch (pk.proto) {
    case 6: {
      if (!header_present(20)) return false;
      uint32_t doff = uint32_t(l4[12] >> 4) * 4;
      if (doff < 20) {
        weird(kBadTcpHeaderLen);
        return false;
      }
      if (doff > l4_len || doff > l4_cap) {
        weird(kTruncatedHeader);
        return false;
      }
      pk.sport = rd16(l4);
      pk.dport = rd16(l4 + 2);
      pk.seq = rd32(l4 + 4);
      pk.ack = rd32(l4 + 8);
      pk.tcp_flags = l4[13];
      pk.window = rd16(l4 + 14);
      pk.payload = l4 + doff;
      pk.payload_len = uint32_t(l4_len - doff);
      pk.payload_caplen = uint32_t(l4_cap - doff);
      pk.l4_valid = true;
      return true;
    }
    case 17: {
      if (!header_present(8)) return false;
      pk.sport = rd16(l4);
      pk.dport = rd16(l4 + 2);
      uint32_t ulen = rd16(l4 + 4);
      uint32_t plen = uint32_t(l4_len - 8);
      if (ulen != l4_len) {
        weird(kUdpLengthMismatch);
        if (ulen >= 8 && ulen < l4_len) plen = ulen - 8;  // trailing bytes are padding
      }
      pk.payload = l4 + 8;
      pk.payload_len = plen;
      pk.payload_caplen = uint32_t(std::min<size_t>(l4_cap - 8, plen));
      pk.l4_valid = true;
      return true;
    }
    case 1:
    case 58: {
      if (!header_present(8)) return false;
      pk.icmp_type = l4[0];
      pk.icmp_code = l4[1];
      pk.sport = pk.icmp_type;
      pk.dport = pk.proto == 1 ? icmp4_counterpart(l4[0], l4[1], pk.icmp_one_way)
                               : icmp6_counterpart(l4[0], l4[1], pk.icmp_one_way);
      // Zeek's ICMP payload (orig_bytes) starts after the 8-byte header.
      pk.payload = l4 + 8;
      pk.payload_len = uint32_t(l4_len - 8);
      pk.payload_caplen = uint32_t(l4_cap - 8);
      pk.l4_valid = true;
      return true;
    }
    default:
      return true;
  }
}

// ---- tunnels -----------------------------------------------------------------------------

bool Decoder::enter_tunnel(Frame& fr, Packet& outer, TunnelType type) {
  if (outer.depth + 1 > cfg_.max_tunnel_depth) {
    weird(kExceededTunnelMaxDepth);
    counters_[decode_ctr::kTunnelDepthExceeded]++;
    return false;
  }
  fr.parent = &outer;
  fr.tunnel = type;
  fr.depth = uint8_t(outer.depth + 1);
  fr.vlan_count = 0;
  fr.vlan[0] = fr.vlan[1] = 0;
  return true;
}

namespace {
size_t tunnel_counter(TunnelType t) {
  switch (t) {
    case TunnelType::kGre:
      return decode_ctr::kTunnelGre;
    case TunnelType::kErspan:
      return decode_ctr::kTunnelErspan;
    case TunnelType::kVxlan:
      return decode_ctr::kTunnelVxlan;
    case TunnelType::kGeneve:
      return decode_ctr::kTunnelGeneve;
    case TunnelType::kTeredo:
      return decode_ctr::kTunnelTeredo;
    case TunnelType::kIpInIp:
      return decode_ctr::kTunnelIpInIp;
    case TunnelType::kAyiya:
      return decode_ctr::kTunnelAyiya;
    case TunnelType::kGtp:
      return decode_ctr::kTunnelGtp;
    default:
      return decode_ctr::kTunnelGre;
  }
}
}  // namespace

// Runs one inner decode below `outer` and marks `outer` when it produced a layer (or a
// fragment was taken in).
template <class Inner>
void Decoder::run_tunnel(Frame& fr, Packet& outer, TunnelType type, Inner&& inner) {
  if (!enter_tunnel(fr, outer, type)) return;
  int before = fr.n;
  bool consumed = fr.consumed;
  fr.consumed = false;
  inner();
  if (fr.n > before || fr.consumed) {
    outer.inner = type;
    counters_[tunnel_counter(type)]++;
  }
  fr.consumed = fr.consumed || consumed;
}

void Decoder::try_tunnel(Frame& fr, Packet& pk) {
  switch (pk.proto) {
    case 4:
    case 41:
      run_tunnel(fr, pk, TunnelType::kIpInIp,
                 [&] { decode_by_version(fr, pk.payload, pk.payload_caplen, pk.payload_len); });
      return;
    case 47:
      decode_gre(fr, pk, pk.payload, pk.payload_caplen, pk.payload_len);
      return;
    case 17:
      if (pk.l4_valid) try_udp_tunnel(fr, pk);
      return;
    default:
      return;
  }
}

void Decoder::try_udp_tunnel(Frame& fr, Packet& pk) {
  // The destination port is tried first, then the source port (a reply).
  const uint16_t ports[2] = {pk.dport, pk.sport};
  for (uint16_t port : ports) {
    if (port == 0) continue;
    if (port == cfg_.vxlan_port) return decode_vxlan(fr, pk);
    if (port == cfg_.geneve_port) return decode_geneve(fr, pk);
    if (port == cfg_.teredo_port) {
      decode_teredo(fr, pk, false);
      return;
    }
    if (port == cfg_.ayiya_port) return decode_ayiya(fr, pk);
    if (port == cfg_.gtp_port) return decode_gtp(fr, pk);
    if (port == cfg_.gre_udp_port)
      return decode_gre(fr, pk, pk.payload, pk.payload_caplen, pk.payload_len);
  }
  if (cfg_.teredo_any_port && cfg_.teredo_port) decode_teredo(fr, pk, true);
}

void Decoder::decode_vxlan(Frame& fr, Packet& outer) {
  const uint8_t* p = outer.payload;
  size_t cap = outer.payload_caplen, len = outer.payload_len;
  if (cap < 8) {
    weird(kTruncatedVxlan);
    return;
  }
  // Zeek decapsulates whatever the flags say; a missing VNI-valid flag is only reported.
  if (!(p[0] & 0x08)) weird(kVxlanInvalidFlags);
  run_tunnel(fr, outer, TunnelType::kVxlan,
             [&] { decode_ether(fr, p + 8, cap - 8, std::max<size_t>(len, cap) - 8, true); });
}

void Decoder::decode_geneve(Frame& fr, Packet& outer) {
  const uint8_t* p = outer.payload;
  size_t cap = outer.payload_caplen, len = std::max<size_t>(outer.payload_len, cap);
  if (cap < 8) {
    weird(kTruncatedGeneve);
    return;
  }
  size_t hdr = 8 + size_t(p[0] & 0x3F) * 4;
  if ((p[0] >> 6) != 0 || cap < hdr) {
    weird(kTruncatedGeneve);
    return;
  }
  uint16_t type = rd16(p + 2);
  if (type == 0x6558) {
    run_tunnel(fr, outer, TunnelType::kGeneve,
               [&] { decode_ether(fr, p + hdr, cap - hdr, len - hdr, true); });
  } else if (type == 0x0800 || type == 0x86DD) {
    run_tunnel(fr, outer, TunnelType::kGeneve,
               [&] { decode_by_version(fr, p + hdr, cap - hdr, len - hdr); });
  } else {
    weird(kGeneveUnknownProtocol);
  }
}

// Teredo (RFC 4380) as Zeek validates it: optional authentication, optional origin
// indication, then an IPv6 header whose payload length accounts for the rest exactly.
// `strict` (any port) reports nothing: most UDP is not Teredo.
bool Decoder::decode_teredo(Frame& fr, Packet& outer, bool strict) {
  const uint8_t* p = outer.payload;
  size_t cap = outer.payload_caplen;
  size_t len = outer.payload_len;
  if (cap < len) return false;  // a truncated capture cannot be validated
  size_t off = 0;
  bool origin = false, auth = false;
  auto report = [&](Weird w) {
    if (!strict) weird(w);
  };
  for (;;) {
    if (len - off < 2) {
      report(kTruncatedTeredo);
      return false;
    }
    uint16_t tag = rd16(p + off);
    if (tag == 0) {
      if (origin) return false;
      if (len - off < 8) {
        report(kTruncatedTeredoOrigin);
        return false;
      }
      origin = true;
      off += 8;
      continue;
    }
    if (tag == 1) {
      if (origin || auth) return false;
      if (len - off < 4) {
        report(kTruncatedTeredoAuth);
        return false;
      }
      size_t alen = 13 + size_t(p[off + 2]) + p[off + 3];
      if (len - off < alen) {
        report(kTruncatedTeredoAuth);
        return false;
      }
      auth = true;
      off += alen;
      continue;
    }
    break;
  }
  if ((p[off] >> 4) != 6) return false;
  if (len - off < 40) {
    report(kTruncatedIpv6InTeredo);
    return false;
  }
  size_t plen = rd16(p + off + 4);
  if (len - off - 40 != plen) {
    // Bytes after a bubble (no next header, empty) are tolerated, as Zeek does; any other
    // mismatch means this is not Teredo.
    if (!(p[off + 6] == 59 && plen == 0)) {
      report(kTeredoPayloadLenMismatch);
      return false;
    }
    weird(kTeredoBubbleWithPayload);
  }
  run_tunnel(fr, outer, TunnelType::kTeredo,
             [&] { decode_ipv6(fr, p + off, cap - off, len - off); });
  return true;
}

void Decoder::decode_ayiya(Frame& fr, Packet& outer) {
  const uint8_t* p = outer.payload;
  size_t cap = outer.payload_caplen, len = std::max<size_t>(outer.payload_len, cap);
  if (cap < 8) {
    weird(kTruncatedAyiya);
    return;
  }
  size_t hdr = 8 + (size_t(1) << (p[0] >> 4)) + size_t(p[1] >> 4) * 4;
  if (cap < hdr) {
    weird(kTruncatedAyiya);
    return;
  }
  if ((p[2] & 0x0F) != 1) return;  // only "forward" carries a packet
  if (p[3] != 4 && p[3] != 41) {
    weird(kAyiyaUnknownProtocol);
    return;
  }
  run_tunnel(fr, outer, TunnelType::kAyiya,
             [&] { decode_by_version(fr, p + hdr, cap - hdr, len - hdr); });
}

void Decoder::decode_gtp(Frame& fr, Packet& outer) {
  const uint8_t* p = outer.payload;
  size_t cap = outer.payload_caplen, len = std::max<size_t>(outer.payload_len, cap);
  if (cap < 8) {
    weird(kTruncatedGtp);
    return;
  }
  uint8_t flags = p[0];
  if ((flags >> 5) != 1 || !(flags & 0x10)) {  // GTPv1, not GTP'
    weird(kGtpUnsupportedVersion);
    return;
  }
  if (p[1] != 0xFF) return;  // signalling, not a G-PDU
  size_t hdr = 8;
  if (flags & 0x07) {
    if (cap < 12) {
      weird(kTruncatedGtp);
      return;
    }
    hdr = 12;
    uint8_t next = (flags & 0x04) ? p[11] : 0;
    while (next != 0) {
      if (cap < hdr + 1 || p[hdr] == 0 || cap < hdr + size_t(p[hdr]) * 4) {
        weird(kTruncatedGtp);
        return;
      }
      size_t elen = size_t(p[hdr]) * 4;
      next = p[hdr + elen - 1];
      hdr += elen;
    }
  }
  if (cap <= hdr) return;  // no payload (echo, end marker)
  uint8_t v = p[hdr] >> 4;
  if (v != 4 && v != 6) {
    weird(kTunnelNotIp);
    return;
  }
  run_tunnel(fr, outer, TunnelType::kGtp,
             [&] { decode_by_version(fr, p + hdr, cap - hdr, len - hdr); });
}

void Decoder::decode_gre(Frame& fr, Packet& outer, const uint8_t* p, size_t cap, size_t len) {
  len = std::max(len, cap);
  if (cap < 4) {
    weird(kTruncatedGre);
    return;
  }
  uint16_t flags = rd16(p);
  uint16_t proto = rd16(p + 2);
  size_t off = 4;
  if (flags & 0x0078) {  // reserved bits
    weird(kUnknownGreFlags);
    return;
  }
  switch (flags & 0x0007) {
    case 0:
      if (flags & 0x4000) {  // source routing (RFC 1701): obsolete, not followed
        weird(kGreRouting);
        return;
      }
      if (flags & 0x8000) off += 4;  // checksum + reserved
      if (flags & 0x2000) off += 4;  // key
      if (flags & 0x1000) off += 4;  // sequence number
      break;
    case 1:  // enhanced GRE (PPTP): key carries payload length and call id
      if (proto != 0x880B || !(flags & 0x2000)) {
        weird(kEgreProtocolType);
        return;
      }
      off += 4;
      if (flags & 0x1000) off += 4;
      if (flags & 0x0080) off += 4;  // acknowledgement
      break;
    default:
      weird(kGreUnknownVersion);
      return;
  }
  if (cap < off) {
    weird(kTruncatedGre);
    return;
  }
  p += off;
  cap -= off;
  len -= off;
  switch (proto) {
    case 0x0800:
    case 0x86DD:
      run_tunnel(fr, outer, TunnelType::kGre, [&] { decode_by_version(fr, p, cap, len); });
      return;
    case 0x6558:  // transparent Ethernet bridging
      run_tunnel(fr, outer, TunnelType::kGre, [&] { decode_ether(fr, p, cap, len, true); });
      return;
    case 0x8847:
      run_tunnel(fr, outer, TunnelType::kGre, [&] { decode_mpls(fr, p, cap, len); });
      return;
    case 0x88BE: {  // ERSPAN type II has a sequence number in GRE and an 8-byte header;
                    // type I has neither
      size_t eh = (flags & 0x1000) ? 8 : 0;
      if (cap < eh) {
        weird(kTruncatedGre);
        return;
      }
      run_tunnel(fr, outer, TunnelType::kErspan,
                 [&] { decode_ether(fr, p + eh, cap - eh, len - eh, true); });
      return;
    }
    case 0x22EB: {  // ERSPAN type III: 12 bytes, plus 8 when the O flag is set
      if (cap < 12) {
        weird(kTruncatedGre);
        return;
      }
      size_t eh = (p[11] & 0x01) ? 20 : 12;
      if (cap < eh) {
        weird(kTruncatedGre);
        return;
      }
      run_tunnel(fr, outer, TunnelType::kErspan,
                 [&] { decode_ether(fr, p + eh, cap - eh, len - eh, true); });
      return;
    }
    case 0x880B: {  // PPP (PPTP): optional address/control, 1- or 2-byte protocol
      size_t o = 0;
      if (cap >= 2 && p[0] == 0xFF && p[1] == 0x03) o = 2;
      if (cap < o + 1) {
        weird(kTruncatedPpp);
        return;
      }
      uint16_t pp;
      if (p[o] & 0x01) {
        pp = p[o];
        o += 1;
      } else {
        if (cap < o + 2) {
          weird(kTruncatedPpp);
          return;
        }
        pp = rd16(p + o);
        o += 2;
      }
      if (pp != 0x21 && pp != 0x57) {  // PPP control traffic (LCP, CCP, ...)
        weird(kNonIpInEncap);
        return;
      }
      run_tunnel(fr, outer, TunnelType::kGre,
                 [&] { decode_by_version(fr, p + o, cap - o, len - o); });
      return;
    }
    default:
      weird(kGreUnknownProtocol);
      return;
  }
}

}  // namespace komainu
