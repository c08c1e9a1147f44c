#include "analyzers/smb/ntlmssp.h"

#include <cstring>
#include <string_view>

#include "analyzers/smb/smb_names.h"
#include "core/cursor.h"

namespace komainu::smb {

namespace {

// A security-buffer field: length, max length, offset from the message start.
bool field(std::span<const uint8_t> msg, size_t at, bool unicode, std::string& out) {
  Cursor c(msg);
  uint16_t len, max;
  uint32_t off;
  if (!c.skip(at) || !c.le16(len) || !c.le16(max) || !c.le32(off)) return false;
  if (len == 0) return true;
  if (off > msg.size() || len > msg.size() - off) return false;
  auto bytes = msg.subspan(off, len);
  if (unicode) {
    out = utf16le_to_utf8(bytes, 512);
  } else {
    out.assign(reinterpret_cast<const char*>(bytes.data()), std::min<size_t>(bytes.size(), 512));
  }
  return true;
}

}  // namespace

bool parse_ntlm_authenticate(std::span<const uint8_t> blob, NtlmAuth& out) {
  static constexpr uint8_t kSig[8] = {'N', 'T', 'L', 'M', 'S', 'S', 'P', 0};
  for (size_t i = 0; i + 12 <= blob.size(); ++i) {
    if (memcmp(blob.data() + i, kSig, 8) != 0) continue;
    std::span<const uint8_t> msg = blob.subspan(i);
    Cursor c(msg);
    uint32_t type, flags;
    if (!c.skip(8) || !c.le32(type) || type != 3) continue;
    // LM(8) NT(8) Domain(8) User(8) Workstation(8) SessionKey(8) Flags(4) Version(8)
    Cursor f(msg);
    if (!f.skip(60) || !f.le32(flags)) return false;
    bool unicode = flags & 0x1;
    if (!field(msg, 28, unicode, out.domain) || !field(msg, 36, unicode, out.user) ||
        !field(msg, 44, unicode, out.workstation))
      return false;
    uint8_t major, minor;
    uint16_t build;
    Cursor v(msg);
    if ((flags & 0x02000000) && v.skip(64) && v.u8(major) && v.u8(minor) && v.le16(build))
      out.version =
          std::to_string(major) + "." + std::to_string(minor) + " build " + std::to_string(build);
    return true;
  }
  return false;
}

}  // namespace komainu::smb
