// What the decoder hands to the flow stage: one Packet per IP layer of a frame, outermost
// first (a VXLAN frame yields the outer UDP packet, then the inner one with `parent` set).
// All pointers point into the frame buffer or the decoder's reassembly buffer and are valid
// only during the callback: nothing here allocates.
#pragma once
#include <cstdint>

#include "core/addr.h"
#include "core/time.h"

namespace komainu {

// A frame as read from a source.
struct RawFrame {
  TimeNs ts = 0;
  uint64_t number = 0;   // 1-based position in its input, for messages
  uint32_t caplen = 0;   // bytes present
  uint32_t wirelen = 0;  // bytes on the wire
  int linktype = 1;      // DLT_* value (1 = Ethernet)
  const uint8_t* data = nullptr;
  uint16_t input = 0;  // index of the source the frame came from
};

enum class TunnelType : uint8_t {
  kNone,
  kGre,
  kErspan,
  kVxlan,
  kGeneve,
  kTeredo,
  kIpInIp,
  kAyiya,
  kGtp,  // GTPv1-U
};

namespace tcpflag {
inline constexpr uint8_t kFin = 0x01, kSyn = 0x02, kRst = 0x04, kPsh = 0x08, kAck = 0x10,
                         kUrg = 0x20, kEce = 0x40, kCwr = 0x80;
}

struct Packet {
  const RawFrame* frame = nullptr;
  TimeNs ts = 0;

  // L2 context (of the outermost Ethernet header of this layer).
  uint16_t vlan[2] = {0, 0};
  uint8_t vlan_count = 0;

  // L3
  uint8_t ip_version = 0;  // 4 or 6
  IpAddr src, dst;
  uint8_t proto = 0;  // final IP protocol (after IPv6 extension headers)
  uint8_t ttl = 0;    // TTL / hop limit
  uint16_t ip_id = 0;
  uint32_t ip_len = 0;  // IP datagram length from the header (Zeek's ip_bytes)
  const uint8_t* l3 = nullptr;
  uint32_t l3_caplen = 0;    // bytes of the datagram actually present
  bool reassembled = false;  // rebuilt from fragments

  // L4 (valid when proto is TCP, UDP, ICMP or ICMPv6 and the header was present)
  bool l4_valid = false;
  uint16_t sport = 0, dport = 0;  // for ICMP: type/code as Zeek maps them
  uint8_t tcp_flags = 0;
  uint32_t seq = 0, ack = 0;
  uint16_t window = 0;
  uint8_t icmp_type = 0, icmp_code = 0;
  // Zeek's is_one_way: ICMP types without a request/reply counterpart (dport = code).
  bool icmp_one_way = false;
  // The TCP/UDP/ICMP checksum is wrong (Zeek's 'C' history letter). Only computed when
  // DecodeConfig::verify_checksums is set and the whole segment was captured.
  bool checksum_bad = false;
  const uint8_t* payload = nullptr;
  uint32_t payload_caplen = 0;  // payload bytes present
  uint32_t payload_len = 0;     // payload bytes per the headers (may exceed caplen)

  // Encapsulation: the enclosing layer of a tunnelled packet, else nullptr.
  const Packet* parent = nullptr;
  TunnelType tunnel = TunnelType::kNone;  // how this layer was carried in `parent`
  uint8_t depth = 0;
  // Set on a layer whose payload was decoded as a tunnel: the next Packet is its inner layer.
  // Zeek logs the outer connection of UDP tunnels (VXLAN, Teredo, ...) but not of GRE or
  // IP-in-IP; this tells the flow stage which is which.
  TunnelType inner = TunnelType::kNone;
};

// Receives the decoded layers of each frame.
class PacketSink {
 public:
  virtual ~PacketSink() = default;
  virtual void on_packet(const Packet& p) = 0;
};

}  // namespace komainu
