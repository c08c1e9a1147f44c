// libFuzzer target for the whole decoder. The first byte picks the link type; the second sets
// the timestamp step (so fragment timeouts are exercised), a claimed wire length longer than
// the capture, and whether checksums are verified; the rest is the frame. Tight reassembly
// limits make eviction reachable within a short run.
#include <cstddef>
#include <cstdint>

#include "decode/decoder.h"

namespace {

constexpr int kLinkTypes[] = {1, 0, 9, 12, 14, 50, 101, 104, 108, 113, 228, 229, 239, 276};

struct CheckingSink : komainu::PacketSink, komainu::ArpSink {
  void on_packet(const komainu::Packet& p) override {
    // Every pointer handed out must lie inside the bytes it claims: touch them all.
    for (uint32_t i = 0; i < p.l3_caplen; ++i) sum += p.l3[i];
    for (uint32_t i = 0; i < p.payload_caplen; ++i) sum += p.payload[i];
    if (p.parent && p.parent->depth + 1 != p.depth) __builtin_trap();
  }
  void on_arp(const komainu::ArpPacket& a) override {
    // IPv4 addresses only, and an ARP message never comes with IP layers.
    if (!a.sender_ip.is_v4() || !a.target_ip.is_v4() || sum) __builtin_trap();
    sum += a.op + a.sender_mac[5] + a.target_mac[5];
  }
  uint64_t sum = 0;
};

komainu::DecodeConfig fuzz_config(bool checksums) {
  komainu::DecodeConfig c;
  c.verify_ip_checksum = checksums;
  c.verify_checksums = checksums;
  c.frag_memcap = 256 * 1024;
  c.frag_max_datagrams = 16;
  c.frag_max_pieces = 8;
  c.frag_timeout = 2 * komainu::kNsPerSec;
  return c;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // One decoder across inputs keeps reassembly state alive between frames, as in a capture.
  static komainu::Decoder plain{fuzz_config(false)};
  static komainu::Decoder checking{fuzz_config(true)};
  static komainu::TimeNs now = 0;
  if (size < 2) return 0;
  komainu::RawFrame f;
  f.linktype = kLinkTypes[data[0] % (sizeof(kLinkTypes) / sizeof(kLinkTypes[0]))];
  now += komainu::TimeNs(data[1]) * 50 * komainu::kNsPerMs;
  f.ts = now;
  f.data = data + 2;
  f.caplen = uint32_t(size - 2);
  // Sometimes claim a longer wire length, as a snaplen-truncated capture would.
  f.wirelen = f.caplen + ((data[1] & 1) ? data[1] * 7u : 0u);
  CheckingSink sink;
  komainu::Decoder& decoder = (data[1] & 2) ? checking : plain;
  decoder.set_arp_sink(&sink);
  auto r = decoder.decode(f, sink);
  if (r == komainu::DecodeResult::kInvalid && sink.sum == 0xFFFFFFFFFFFFFFFFull) return 1;
  return 0;
}
