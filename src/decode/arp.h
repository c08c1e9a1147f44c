// ARP (RFC 826) for IPv4 over Ethernet. The decoder parses it (bounds-checked) from Ethernet,
// VLAN and Linux-cooked frames, not from inside tunnels, and hands it to its ArpSink; the
// worker's ArpPublisher turns it into an ArpRecord on the same sink as the flow records, so
// detectors see host discovery (ARP sweeps). Frames stay counted as non-IP.
#pragma once
#include <cstddef>
#include <cstdint>

#include "core/event.h"
#include "decode/packet.h"

namespace komainu {

struct ArpPacket {
  const RawFrame* frame = nullptr;
  TimeNs ts = 0;
  uint16_t vlan[2] = {0, 0};
  uint8_t vlan_count = 0;
  uint16_t op = 0;  // 1 request (who-has), 2 reply; others as seen
  uint8_t sender_mac[6] = {};
  uint8_t target_mac[6] = {};
  IpAddr sender_ip, target_ip;  // IPv4, in IpAddr's mapped form
};

enum class ArpParse : uint8_t {
  kOk,
  kTruncated,    // shorter than its fixed fields (weird truncated_ARP)
  kUnsupported,  // another hardware or protocol type (not Ethernet / IPv4)
};

// Parses the ARP message at `p` (after the ethertype) into `out`'s op and addresses.
ArpParse parse_arp(const uint8_t* p, size_t cap, ArpPacket& out);

// Receives the ARP messages the decoder finds (Decoder::set_arp_sink).
class ArpSink {
 public:
  virtual ~ArpSink() = default;
  virtual void on_arp(const ArpPacket& a) = 0;
};

// One ARP message. Only detectors consume it: no EVE event (Suricata logs ARP only when
// asked to) and no Zeek log.
class ArpRecord : public Record {
 public:
  std::string_view event_type() const override { return "arp"; }
  bool has_eve() const override { return false; }
  void write_eve(JsonWriter&) const override {}

  ArpPacket arp;
};

// Publishes each ARP message as an ArpRecord (one reused record: no allocation).
class ArpPublisher : public ArpSink {
 public:
  explicit ArpPublisher(EventSink* out) : out_(out) {}
  void on_arp(const ArpPacket& a) override {
    record_.arp = a;
    record_.ts = a.ts;
    if (out_) out_->publish(record_);
  }

 private:
  EventSink* out_;
  ArpRecord record_;
};

}  // namespace komainu
