#include "analyzers/smb/smb_names.h"

#include <cstdio>
#include <iterator>

namespace komainu::smb {

const char* status_name(uint32_t status, char (&buf)[32]) {
  switch (status) {
    case 0x00000000:
      return "STATUS_SUCCESS";
    case 0x00000103:
      return "STATUS_PENDING";
    case 0x0000010B:
      return "STATUS_NOTIFY_CLEANUP";
    case 0x0000010C:
      return "STATUS_NOTIFY_ENUM_DIR";
    case 0x80000005:
      return "STATUS_BUFFER_OVERFLOW";
    case 0x80000006:
      return "STATUS_NO_MORE_FILES";
    case 0xC0000003:
      return "STATUS_INVALID_INFO_CLASS";
    case 0xC000000D:
      return "STATUS_INVALID_PARAMETER";
    case 0xC000000F:
      return "STATUS_NO_SUCH_FILE";
    case 0xC0000010:
      return "STATUS_INVALID_DEVICE_REQUEST";
    case 0xC0000011:
      return "STATUS_END_OF_FILE";
    case 0xC0000016:
      return "STATUS_MORE_PROCESSING_REQUIRED";
    case 0xC0000022:
      return "STATUS_ACCESS_DENIED";
    case 0xC0000023:
      return "STATUS_BUFFER_TOO_SMALL";
    case 0xC0000033:
      return "STATUS_OBJECT_NAME_INVALID";
    case 0xC0000034:
      return "STATUS_OBJECT_NAME_NOT_FOUND";
    case 0xC0000035:
      return "STATUS_OBJECT_NAME_COLLISION";
    case 0xC000003A:
      return "STATUS_OBJECT_PATH_NOT_FOUND";
    case 0xC0000043:
      return "STATUS_SHARING_VIOLATION";
    case 0xC0000056:
      return "STATUS_DELETE_PENDING";
    case 0xC000006D:
      return "STATUS_LOGON_FAILURE";
    case 0xC0000071:
      return "STATUS_PASSWORD_EXPIRED";
    case 0xC0000072:
      return "STATUS_ACCOUNT_DISABLED";
    case 0xC000009A:
      return "STATUS_INSUFFICIENT_RESOURCES";
    case 0xC00000BA:
      return "STATUS_FILE_IS_A_DIRECTORY";
    case 0xC00000BB:
      return "STATUS_NOT_SUPPORTED";
    case 0xC00000C9:
      return "STATUS_NETWORK_NAME_DELETED";
    case 0xC00000CC:
      return "STATUS_BAD_NETWORK_NAME";
    case 0xC0000101:
      return "STATUS_DIRECTORY_NOT_EMPTY";
    case 0xC0000103:
      return "STATUS_NOT_A_DIRECTORY";
    case 0xC0000120:
      return "STATUS_CANCELLED";
    case 0xC000019C:
      return "STATUS_FS_DRIVER_REQUIRED";
    case 0xC0000203:
      return "STATUS_USER_SESSION_DELETED";
    case 0xC0000225:
      return "STATUS_NOT_FOUND";
    case 0xC0000257:
      return "STATUS_PATH_NOT_COVERED";
    default:
      snprintf(buf, sizeof buf, "UNKNOWN_%08X", status);
      return buf;
  }
}

const char* smb2_command_name(uint16_t cmd) {
  static const char* const kNames[] = {"SMB2_COMMAND_NEGOTIATE_PROTOCOL",
                                       "SMB2_COMMAND_SESSION_SETUP",
                                       "SMB2_COMMAND_SESSION_LOGOFF",
                                       "SMB2_COMMAND_TREE_CONNECT",
                                       "SMB2_COMMAND_TREE_DISCONNECT",
                                       "SMB2_COMMAND_CREATE",
                                       "SMB2_COMMAND_CLOSE",
                                       "SMB2_COMMAND_FLUSH",
                                       "SMB2_COMMAND_READ",
                                       "SMB2_COMMAND_WRITE",
                                       "SMB2_COMMAND_LOCK",
                                       "SMB2_COMMAND_IOCTL",
                                       "SMB2_COMMAND_CANCEL",
                                       "SMB2_COMMAND_KEEPALIVE",
                                       "SMB2_COMMAND_FIND",
                                       "SMB2_COMMAND_CHANGE_NOTIFY",
                                       "SMB2_COMMAND_GET_INFO",
                                       "SMB2_COMMAND_SET_INFO",
                                       "SMB2_COMMAND_OPLOCK_BREAK"};
  return cmd < sizeof kNames / sizeof kNames[0] ? kNames[cmd] : "SMB2_COMMAND_UNKNOWN";
}

const char* smb1_command_name(uint8_t cmd) {
  switch (cmd) {
    case 0x04:
      return "SMB1_COMMAND_CLOSE";
    case 0x06:
      return "SMB1_COMMAND_DELETE";
    case 0x07:
      return "SMB1_COMMAND_RENAME";
    case 0x24:
      return "SMB1_COMMAND_LOCKING_ANDX";
    case 0x25:
      return "SMB1_COMMAND_TRANS";
    case 0x2b:
      return "SMB1_COMMAND_ECHO";
    case 0x2d:
      return "SMB1_COMMAND_OPEN_ANDX";
    case 0x2e:
      return "SMB1_COMMAND_READ_ANDX";
    case 0x2f:
      return "SMB1_COMMAND_WRITE_ANDX";
    case 0x32:
      return "SMB1_COMMAND_TRANS2";
    case 0x71:
      return "SMB1_COMMAND_TREE_DISCONNECT";
    case 0x72:
      return "SMB1_COMMAND_NEGOTIATE_PROTOCOL";
    case 0x73:
      return "SMB1_COMMAND_SESSION_SETUP_ANDX";
    case 0x74:
      return "SMB1_COMMAND_LOGOFF_ANDX";
    case 0x75:
      return "SMB1_COMMAND_TREE_CONNECT_ANDX";
    case 0xa0:
      return "SMB1_COMMAND_NT_TRANS";
    case 0xa2:
      return "SMB1_COMMAND_NT_CREATE_ANDX";
    case 0xa4:
      return "SMB1_COMMAND_NT_CANCEL";
    default:
      return "SMB1_COMMAND_UNKNOWN";
  }
}

std::string dialect_name(uint16_t d) {
  if (d == 0x02ff) return "2.??";
  char buf[16];
  snprintf(buf, sizeof buf, "%x.%02x", d >> 8, d & 0xff);
  return buf;
}

std::string compression_algorithm_name(uint16_t id) {
  static constexpr const char* kNames[] = {"NONE",         "LZNT1",      "LZ77",
                                           "LZ77+Huffman", "Pattern_V1", "LZ4"};
  if (id < std::size(kNames)) return kNames[id];
  char buf[16];
  snprintf(buf, sizeof buf, "0x%04x", id);
  return buf;
}

const char* disposition_name(uint32_t d) {
  switch (d) {
    case 0:
      return "FILE_SUPERSEDE";
    case 1:
      return "FILE_OPEN";
    case 2:
      return "FILE_CREATE";
    case 3:
      return "FILE_OPEN_IF";
    case 4:
      return "FILE_OVERWRITE";
    case 5:
      return "FILE_OVERWRITE_IF";
    default:
      return "UNKNOWN";
  }
}

std::string utf16le_to_utf8(std::span<const uint8_t> in, size_t max_bytes) {
  std::string out;
  size_t n = in.size() / 2;
  auto unit = [&](size_t i) { return uint32_t(in[2 * i] | in[2 * i + 1] << 8); };
  for (size_t i = 0; i < n && out.size() + 4 <= max_bytes; ++i) {
    uint32_t c = unit(i);
    if (c >= 0xD800 && c <= 0xDBFF && i + 1 < n && unit(i + 1) >= 0xDC00 && unit(i + 1) <= 0xDFFF) {
      c = 0x10000 + ((c - 0xD800) << 10) + (unit(i + 1) - 0xDC00);
      ++i;
    } else if (c >= 0xD800 && c <= 0xDFFF) {
      c = 0xFFFD;
    }
    if (c < 0x80) {
      out.push_back(char(c));
    } else if (c < 0x800) {
      out.push_back(char(0xC0 | c >> 6));
      out.push_back(char(0x80 | (c & 0x3F)));
    } else if (c < 0x10000) {
      out.push_back(char(0xE0 | c >> 12));
      out.push_back(char(0x80 | ((c >> 6) & 0x3F)));
      out.push_back(char(0x80 | (c & 0x3F)));
    } else {
      out.push_back(char(0xF0 | c >> 18));
      out.push_back(char(0x80 | ((c >> 12) & 0x3F)));
      out.push_back(char(0x80 | ((c >> 6) & 0x3F)));
      out.push_back(char(0x80 | (c & 0x3F)));
    }
  }
  return out;
}

}  // namespace komainu::smb
