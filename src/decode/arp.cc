#include "decode/arp.h"

#include "core/cursor.h"

namespace komainu {

ArpParse parse_arp(const uint8_t* p, size_t cap, ArpPacket& out) {
  Cursor c(p, cap);
  uint16_t htype = 0, ptype = 0, op = 0;
  uint8_t hlen = 0, plen = 0;
  if (!c.be16(htype) || !c.be16(ptype) || !c.u8(hlen) || !c.u8(plen) || !c.be16(op))
    return ArpParse::kTruncated;
  if (htype != 1 || ptype != 0x0800 || hlen != 6 || plen != 4) return ArpParse::kUnsupported;
  uint8_t spa[4], tpa[4];
  if (!c.copy(out.sender_mac, 6) || !c.copy(spa, 4) || !c.copy(out.target_mac, 6) ||
      !c.copy(tpa, 4))
    return ArpParse::kTruncated;
  out.op = op;
  out.sender_ip = IpAddr::v4_bytes(spa);
  out.target_ip = IpAddr::v4_bytes(tpa);
  return ArpParse::kOk;
}

}  // namespace komainu
