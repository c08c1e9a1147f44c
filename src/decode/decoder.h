// The packet decoder: link layer → VLAN/MPLS/PPPoE → IPv4/IPv6 (with defragmentation) →
// TCP/UDP/ICMP, following tunnels (GRE/ERSPAN, VXLAN, Geneve, Teredo, IP-in-IP, AYIYA, GTP)
// down to `max_tunnel_depth`. Each frame yields one Packet per IP layer, outermost first,
// handed to the sink only once the whole frame is decoded, so an outer layer already knows
// what it carries (`Packet::inner`).
//
// One Decoder per worker thread: it owns its counters and its fragment table; nothing is
// shared. Malformed input is a named, counted anomaly (Zeek's weird names where Zeek has one).
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>

#include "core/counters.h"
#include "core/time.h"
#include "decode/arp.h"
#include "decode/defrag.h"
#include "decode/packet.h"

namespace komainu {

// Immutable after load.
struct DecodeConfig {
  // UDP ports on which tunnels are tried (0 disables that tunnel on UDP).
  uint16_t vxlan_port = 4789;
  uint16_t geneve_port = 6081;
  uint16_t teredo_port = 3544;
  uint16_t ayiya_port = 5072;
  uint16_t gtp_port = 2152;
  uint16_t gre_udp_port = 4754;  // GRE-in-UDP (RFC 8086)
  // Like Zeek's protocol detection: Teredo is also recognised on any UDP port when the
  // payload validates strictly (IPv6 inside with a matching payload length).
  bool teredo_any_port = true;
  bool decode_tunnels = true;
  // Zeek's Tunnel::max_depth: tunnels nested deeper than this are not followed.
  uint8_t max_tunnel_depth = 2;

  // Drop IPv4 packets whose header checksum is wrong (bad_IP_checksum), as Zeek does unless
  // run with -C. Off by default: many captures carry zeroed checksums from NIC offload (a
  // tenth of the public corpus), and the Zeek baselines match without dropping them.
  bool verify_ip_checksum = false;
  // Transport checksums (sets Packet::checksum_bad; costs a pass over every payload).
  bool verify_checksums = false;

  // IP fragment reassembly (both versions share the table and its memory).
  bool defrag = true;
  size_t frag_memcap = 32u << 20;        // bytes of reassembly buffers, all datagrams
  uint32_t frag_max_datagram = 65535;    // largest reassembled IP payload accepted
  uint32_t frag_max_datagrams = 4096;    // datagrams in reassembly at once
  uint16_t frag_max_pieces = 128;        // distinct byte ranges per datagram
  TimeNs frag_timeout = 60 * kNsPerSec;  // since the first fragment (data time)
};

// What one frame turned out to be. read = decoded + non_ip + invalid for every frame.
enum class DecodeResult : uint8_t {
  kDecoded,  // at least the outermost IP layer decoded (or a fragment was taken in)
  kNonIp,    // processed, carries no IP (ARP, LLDP, STP, PPPoE discovery, ...)
  kInvalid,  // malformed or unsupported before the first IP layer was decoded
};

// Counter indices of Decoder::counters().
namespace decode_ctr {
enum : size_t {
  kFrames,
  kBytes,
  kDecoded,
  kNonIp,
  kInvalid,
  kPackets,  // Packets handed to the sink (all layers)
  kIpv4,
  kIpv6,
  kTcp,
  kUdp,
  kIcmp,
  kIcmp6,
  kOtherProto,
  kVlan,
  kMpls,
  kPppoe,
  kFragments,
  kReassembled,
  kFragEvicted,
  kFragTimeout,
  kFragDropped,
  kTunnelGre,
  kTunnelErspan,
  kTunnelVxlan,
  kTunnelGeneve,
  kTunnelTeredo,
  kTunnelIpInIp,
  kTunnelAyiya,
  kTunnelGtp,
  kTunnelDepthExceeded,
  kArp,       // ARP messages (IPv4 over Ethernet) handed to the sink
  kArpOther,  // ARP frames for other hardware/protocol types (not parsed further)
  kCount
};
}

class Decoder {
 public:
  explicit Decoder(const DecodeConfig& cfg);
  ~Decoder();
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;

  // Decodes one frame and hands its IP layers to `sink`, outermost first. Never throws.
  DecodeResult decode(const RawFrame& f, PacketSink& sink);
  bool last_frame_invalid() const { return last_result_ == DecodeResult::kInvalid; }
  // Drops reassembly state older than the fragment timeout at data time `now`.
  void expire(TimeNs now);
  // Where ARP messages go (null: parsed and counted only).
  void set_arp_sink(ArpSink* s) { arp_sink_ = s; }

  const CounterSet& counters() const { return counters_; }
  const ReasonCounter& weirds() const { return weirds_; }
  // Count of one anomaly by name (0 when never seen); for tests and stats.
  uint64_t weird(const char* name) const;
  // The first anomaly of the last frame, or nullptr: for messages naming a packet.
  const char* last_weird() const;
  size_t frag_memory() const;
  size_t frag_in_progress() const;

  // Anomalies. Names are Zeek's weird names where Zeek has one.
  enum Weird : uint16_t {
    kUnsupportedLinkType,
    kTruncatedLinkHeader,
    kTruncatedEthernet,
    kTruncatedVlan,
    kVlanTooDeep,
    kTruncatedMpls,
    kMplsUnknownPayload,
    kTruncatedPppoe,
    kTruncatedNsh,
    kTruncatedPpp,
    kTruncatedNflog,
    kTruncatedIp,
    kInvalidIpHeaderSize,
    kBadIpChecksum,
    kBadTcpChecksum,
    kBadUdpChecksum,
    kBadIcmpChecksum,
    kInternallyTruncatedHeader,
    kIpHdrLenZero,
    kBadIpLen,
    kUnknownIpVersion,
    kBadIpv4Options,
    kTruncatedIpv6ExtHeader,
    kBadIpv6DestOptLen,
    kMultipleHomeAddrOpts,
    kBadHomeAddrLen,
    kTruncatedHeader,
    kBadTcpHeaderLen,
    kUdpLengthMismatch,
    kFragmentOverlap,
    kFragmentInconsistency,
    kFragmentWithDf,
    kExcessivelyLargeFragment,
    kFragmentTooManyPieces,
    kFragmentSizeInconsistency,
    kExcessivelySmallFragment,
    kFragmentMemcap,
    kExceededTunnelMaxDepth,
    kTruncatedGre,
    kGreUnknownVersion,
    kGreUnknownProtocol,
    kGreRouting,
    kUnknownGreFlags,
    kEgreProtocolType,
    kNonIpInEncap,
    kTruncatedVxlan,
    kVxlanInvalidFlags,
    kTruncatedGeneve,
    kGeneveUnknownProtocol,
    kTruncatedTeredo,
    kTruncatedTeredoOrigin,
    kTruncatedTeredoAuth,
    kTruncatedIpv6InTeredo,
    kTeredoPayloadLenMismatch,
    kTeredoBubbleWithPayload,
    kTruncatedAyiya,
    kAyiyaUnknownProtocol,
    kTruncatedGtp,
    kGtpUnsupportedVersion,
    kTunnelNotIp,
    kTruncatedArp,
    kWeirdCount
  };
  static const char* weird_name(Weird w);

 private:
  struct Frame;
  bool decode_link(Frame& fr, int linktype, const uint8_t* p, size_t cap, size_t wire);
  bool decode_ether(Frame& fr, const uint8_t* p, size_t cap, size_t wire, bool inner);
  bool decode_ethertype(Frame& fr, uint16_t type, const uint8_t* p, size_t cap, size_t wire);
  bool decode_ppp_proto(Frame& fr, uint16_t proto, const uint8_t* p, size_t cap, size_t wire);
  bool decode_mpls(Frame& fr, const uint8_t* p, size_t cap, size_t wire);
  bool decode_pppoe(Frame& fr, const uint8_t* p, size_t cap, size_t wire);
  void decode_arp(Frame& fr, const uint8_t* p, size_t cap);
  bool decode_nsh(Frame& fr, const uint8_t* p, size_t cap, size_t wire);
  bool decode_by_version(Frame& fr, const uint8_t* p, size_t cap, size_t wire);
  bool decode_ipv4(Frame& fr, const uint8_t* p, size_t cap, size_t wire);
  bool decode_ipv6(Frame& fr, const uint8_t* p, size_t cap, size_t wire);
  void check_dest_options(const uint8_t* o, size_t len);
  void check_transport_sum(Packet& pk, const uint8_t* l4, size_t len);
  bool finish_ip(Frame& fr, Packet& pk, const uint8_t* l4, size_t l4_cap, size_t l4_len,
                 bool transport = true);
  bool decode_l4(Frame& fr, Packet& pk, const uint8_t* l4, size_t l4_cap, size_t l4_len);
  void try_tunnel(Frame& fr, Packet& pk);
  void try_udp_tunnel(Frame& fr, Packet& pk);
  bool enter_tunnel(Frame& fr, Packet& outer, TunnelType type);
  template <class Inner>
  void run_tunnel(Frame& fr, Packet& outer, TunnelType type, Inner&& inner);
  void decode_gre(Frame& fr, Packet& outer, const uint8_t* p, size_t cap, size_t len);
  bool decode_teredo(Frame& fr, Packet& outer, bool strict);
  void decode_ayiya(Frame& fr, Packet& outer);
  void decode_gtp(Frame& fr, Packet& outer);
  void decode_vxlan(Frame& fr, Packet& outer);
  void decode_geneve(Frame& fr, Packet& outer);
  void weird(Weird w);
  static void on_frag_event(void* ctx, FragEvent event);
  Packet* begin_layer(Frame& fr);
  void sync_frag_counters();

  DecodeConfig cfg_;
  CounterSet counters_;
  ReasonCounter weirds_;
  std::unique_ptr<FragmentTable> frags_;
  std::unique_ptr<Frame> frame_;
  DecodeResult last_result_ = DecodeResult::kDecoded;
  int last_weird_ = -1;
  ArpSink* arp_sink_ = nullptr;
};

}  // namespace komainu
