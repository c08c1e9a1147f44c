#include "analyzers/smb/smb_parser.h"

#include <algorithm>
#include <cstring>

#include "analyzers/dcerpc/dcerpc.h"
#include "analyzers/smb/ntlmssp.h"
#include "analyzers/smb/smb_names.h"
#include "core/cursor.h"

namespace komainu::smb {
namespace {

enum Smb2Cmd : uint16_t {
  kNegotiate = 0,
  kSessionSetup = 1,
  kLogoff = 2,
  kTreeConnect = 3,
  kTreeDisconnect = 4,
  kCreate = 5,
  kClose = 6,
  kFlush = 7,
  kRead = 8,
  kWrite = 9,
  kLock = 10,
  kIoctl = 11,
  kCancel = 12,
  kEcho = 13,
  kQueryDirectory = 14,
  kChangeNotify = 15,
  kQueryInfo = 16,
  kSetInfo = 17,
  kOplockBreak = 18
};

constexpr uint32_t kStatusPending = 0x00000103;
constexpr uint32_t kDeleteOnClose = 0x00001000;
constexpr size_t kLargeHead = 4096;  // bytes of an oversized PDU looked at before streaming

bool is_success(uint32_t status) {
  return status == 0;
}

// A string at an offset from the SMB2 header start, as UTF-16LE.
std::string utf16_at(std::span<const uint8_t> msg, size_t off, size_t len) {
  if (off > msg.size() || len > msg.size() - off) return {};
  return utf16le_to_utf8(msg.subspan(off, len));
}

bool read_fid(Cursor& c, FileId& f) {
  return c.le64(f.persistent) && c.le64(f.volatile_id);
}

std::string fid_text(const FileId& f) {
  uint8_t b[16];
  for (int i = 0; i < 8; ++i) {
    b[i] = uint8_t(f.persistent >> (8 * i));
    b[8 + i] = uint8_t(f.volatile_id >> (8 * i));
  }
  return dcerpc::uuid_text(b, true);
}

}  // namespace

SmbParser::SmbParser(const SessionContext& ctx, SmbLimits limits, AnomalyReporter& anomalies)
    : ctx_(ctx), limits_(limits), anomalies_(anomalies) {}

SmbParser::~SmbParser() = default;

void SmbParser::publish(Record& r, bool to_client) {
  if (!ctx_.sink) return;
  r.flow = ctx_.flow;
  r.to_client = to_client;
  ctx_.sink->publish(r);
}

void SmbParser::data(Direction dir, std::span<const uint8_t> bytes, TimeNs ts) {
  sides_[static_cast<int>(dir)].seen += bytes.size();
  feed(dir, bytes.data(), bytes.size(), ts);
}

void SmbParser::feed(Direction dir, const uint8_t* p, size_t n, TimeNs ts) {
  Side& s = sides_[static_cast<int>(dir)];
  while (n > 0) {
    if (s.resync) {
      // The next PDU start: a session message header followed by an SMB protocol id.
      size_t i = 0;
      for (; i + 8 <= n; ++i)
        if (p[i] == 0 && (p[i + 4] == 0xFE || p[i + 4] == 0xFF || p[i + 4] == 0xFD) &&
            p[i + 5] == 'S' && p[i + 6] == 'M' && p[i + 7] == 'B')
          break;
      if (i + 8 > n) return;
      s.resync = false;
      s.hdr_got = 0;
      p += i, n -= i;
    }
    if (s.hdr_got < 4) {
      size_t take = std::min(n, 4 - s.hdr_got);
      memcpy(s.hdr + s.hdr_got, p, take);
      s.hdr_got += take;
      p += take, n -= take;
      if (s.hdr_got < 4) return;
      uint8_t type = s.hdr[0];
      s.pdu_len = uint32_t(s.hdr[1]) << 16 | uint32_t(s.hdr[2]) << 8 | s.hdr[3];
      s.pdu_got = 0;
      s.buf.clear();
      s.streaming = false;
      s.skipping = type != 0x00;
      if (type != 0x00 && type != 0x81 && type != 0x82 && type != 0x83 && type != 0x84 &&
          type != 0x85) {
        anomaly("smb_bad_netbios_header", ts);
        s.resync = true;
        continue;
      }
      if (s.pdu_len == 0) s.hdr_got = 0;
      continue;
    }
    size_t take = std::min<size_t>(n, s.pdu_len - s.pdu_got);
    if (s.skipping) {
      // nothing to keep
    } else if (s.streaming) {
      size_t d = size_t(std::min<uint64_t>(take, s.stream_left));
      if (d) {
        file_data(s.stream_fid, s.stream_offset, {p, d}, dir == Direction::kToServer, ts);
        s.stream_offset += d;
        s.stream_left -= d;
      }
    } else if (s.pdu_len <= limits_.max_pdu_buffer) {
      s.buf.insert(s.buf.end(), p, p + take);
    } else {
      size_t want = std::min(take, kLargeHead - s.buf.size());
      s.buf.insert(s.buf.end(), p, p + want);
      if (s.buf.size() == kLargeHead) {
        // Head complete: decide, then hand the rest of this chunk to the stream.
        large_pdu_head(s, dir, ts);
        size_t rest = take - want;
        if (s.streaming && rest) {
          size_t d = size_t(std::min<uint64_t>(rest, s.stream_left));
          file_data(s.stream_fid, s.stream_offset, {p + want, d}, dir == Direction::kToServer, ts);
          s.stream_offset += d;
          s.stream_left -= d;
        }
      }
    }
    s.pdu_got += uint32_t(take);
    p += take, n -= take;
    if (s.pdu_got == s.pdu_len) {
      if (!s.skipping && !s.streaming) pdu(dir, s.buf, ts);
      s.hdr_got = 0;
      s.skipping = s.streaming = false;
      s.buf.clear();
      if (s.buf.capacity() > 2 * limits_.max_pdu_buffer) s.buf.shrink_to_fit();
    }
  }
}

// An oversized PDU: a READ response or WRITE request streams its data to the file, the
// rest is skipped and counted.
void SmbParser::large_pdu_head(Side& s, Direction dir, TimeNs ts) {
  std::span<const uint8_t> msg(s.buf);
  Smb2Header h;
  s.skipping = true;
  if (msg.size() >= 4 && msg[0] == 0xFC && msg[1] == 'S' && msg[2] == 'M' && msg[3] == 'B') {
    compressed(dir, msg, s.pdu_len, ts);  // its header is all there is to check
    return;
  }
  if (!smb2_header(msg, h) || h.next != 0) {
    anomaly("smb_pdu_too_large", ts);
    return;
  }
  Cursor c(msg);
  c.skip(64);
  uint16_t structure;
  if (!c.le16(structure)) return;
  if (!h.response() && h.cmd == kWrite && dir == Direction::kToServer) {
    uint16_t data_off;
    uint32_t len;
    uint64_t offset;
    FileId fid;
    if (!c.le16(data_off) || !c.le32(len) || !c.le64(offset) || !read_fid(c, fid)) return;
    FileId chain;
    smb2_request(h, {msg.data(), std::min<size_t>(msg.size(), data_off)}, ts, chain);
    if (data_off > msg.size()) return;
    size_t have = std::min<size_t>(msg.size() - data_off, len);
    file_data(fid, offset, msg.subspan(data_off, have), true, ts);
    s.stream_fid = fid, s.stream_offset = offset + have, s.stream_left = len - have;
    s.streaming = true, s.skipping = false;
    return;
  }
  if (h.response() && h.cmd == kRead && dir == Direction::kToClient) {
    uint8_t data_off, reserved;
    uint32_t len;
    if (!c.u8(data_off) || !c.u8(reserved) || !c.le32(len)) return;
    auto it = pending_.find(h.msgid);
    if (it == pending_.end()) return;
    FileId fid = it->second.fid;
    uint64_t offset = it->second.offset;
    FileId chain;
    smb2_response(h, {msg.data(), std::min<size_t>(msg.size(), data_off)}, ts, chain);
    if (data_off > msg.size()) return;
    size_t have = std::min<size_t>(msg.size() - data_off, len);
    file_data(fid, offset, msg.subspan(data_off, have), false, ts);
    s.stream_fid = fid, s.stream_offset = offset + have, s.stream_left = len - have;
    s.streaming = true, s.skipping = false;
    return;
  }
  anomaly("smb_pdu_too_large", ts);
}

void SmbParser::pdu(Direction dir, std::span<const uint8_t> msg, TimeNs ts) {
  if (msg.size() < 4) {
    anomaly("smb_pdu_too_short", ts);
    return;
  }
  if (msg[1] != 'S' || msg[2] != 'M' || msg[3] != 'B') {
    anomaly("smb_unknown_protocol", ts);
    return;
  }
  switch (msg[0]) {
    case 0xFE:
      smb2_chain(dir, msg, ts);
      return;
    case 0xFF:
      smb1(dir, msg, ts);
      return;
    case 0xFD:
      encrypted(msg, ts);
      return;
    case 0xFC:
      compressed(dir, msg, msg.size(), ts);
      return;
    default:
      anomaly("smb_unknown_protocol", ts);
      return;
  }
}

bool SmbParser::smb2_header(std::span<const uint8_t> msg, Smb2Header& h) {
  Cursor c(msg);
  uint32_t proto;
  uint16_t structure, charge, credits;
  uint64_t reserved_tree;
  if (!c.be32(proto) || proto != 0xFE534D42 || !c.le16(structure) || structure != 64 ||
      !c.le16(charge) || !c.le32(h.status) || !c.le16(h.cmd) || !c.le16(credits) ||
      !c.le32(h.flags) || !c.le32(h.next) || !c.le64(h.msgid) || !c.le64(reserved_tree) ||
      !c.le64(h.session_id) || !c.skip(16))
    return false;
  h.tree_id = h.async() ? 0 : uint32_t(reserved_tree >> 32);
  return true;
}

void SmbParser::smb2_chain(Direction dir, std::span<const uint8_t> pdu, TimeNs ts) {
  size_t off = 0;
  FileId chain_fid{~0ull, ~0ull};
  for (size_t n = 0; n < limits_.max_chain; ++n) {
    Smb2Header h;
    std::span<const uint8_t> rest = pdu.subspan(off);
    if (!smb2_header(rest, h)) {
      anomaly("smb2_bad_header", ts);
      return;
    }
    if (h.next && (h.next < 64 || h.next > rest.size())) {
      anomaly("smb2_bad_next_command", ts);
      return;
    }
    std::span<const uint8_t> msg = h.next ? rest.subspan(0, h.next) : rest;
    ++commands_;
    if (h.response() != (dir == Direction::kToClient)) {
      anomaly("smb2_direction_mismatch", ts);
    } else if (h.response()) {
      smb2_response(h, msg, ts, chain_fid);
    } else {
      smb2_request(h, msg, ts, chain_fid);
    }
    if (!h.next) return;
    off += h.next;
  }
  anomaly("smb2_chain_too_long", ts);
}

void SmbParser::smb2_request(const Smb2Header& h, std::span<const uint8_t> msg, TimeNs ts,
                             FileId& chain_fid) {
  if (h.cmd == kCancel) return;  // no response of its own
  if (pending_.size() >= limits_.max_pending) {
    anomaly("smb2_too_many_pending_requests", ts);
    pending_.clear();
  }
  Pending p;
  p.cmd = h.cmd;
  p.ts = ts;
  p.tree_id = h.tree_id;
  p.session_id = h.session_id;
  p.related = h.related();
  Cursor c(msg);
  c.skip(64);
  uint16_t structure = 0;
  c.le16(structure);
  bool ok = true;
  switch (h.cmd) {
    case kNegotiate: {
      uint16_t count, mode, reserved, ctx_count, reserved2;
      uint32_t caps, ctx_off;
      uint8_t guid[16];
      ok = c.le16(count) && c.le16(mode) && c.le16(reserved) && c.le32(caps) && c.copy(guid, 16) &&
           c.le32(ctx_off) && c.le16(ctx_count) && c.le16(reserved2);
      bool smb311 = false;
      for (uint16_t i = 0; ok && i < count && i < 32; ++i) {
        uint16_t d;
        ok = c.le16(d);
        if (ok) p.dialects.push_back(dialect_name(d));
        smb311 = smb311 || (ok && d == 0x0311);
      }
      if (ok) {
        comp_.client_guid_zero = std::all_of(guid, guid + 16, [](uint8_t b) { return b == 0; });
        // Only a 3.1.1 offer carries contexts (before, those bytes are ClientStartTime).
        if (smb311 && ctx_count) negotiate_contexts(msg, ctx_off, ctx_count, false, ts);
      }
      break;
    }
    case kSessionSetup: {
      uint8_t flags, mode;
      uint32_t caps, channel;
      uint16_t off, len;
      ok = c.u8(flags) && c.u8(mode) && c.le32(caps) && c.le32(channel) && c.le16(off) &&
           c.le16(len);
      if (ok && off <= msg.size() && len <= msg.size() - off) {
        NtlmAuth auth;
        if (parse_ntlm_authenticate(msg.subspan(off, len), auth)) {
          p.ntlm_user = std::move(auth.user);
          p.ntlm_domain = std::move(auth.domain);
          p.ntlm_host = std::move(auth.workstation);
          p.ntlm_version = std::move(auth.version);
        }
      }
      break;
    }
    case kTreeConnect: {
      uint16_t flags, off, len;
      ok = c.le16(flags) && c.le16(off) && c.le16(len);
      if (ok) p.name = utf16_at(msg, off, len);
      break;
    }
    case kCreate: {
      uint8_t sec, oplock;
      uint32_t imp, access, attrs, share;
      uint64_t create_flags, reserved;
      uint16_t off, len;
      ok = c.u8(sec) && c.u8(oplock) && c.le32(imp) && c.le64(create_flags) && c.le64(reserved) &&
           c.le32(access) && c.le32(attrs) && c.le32(share) && c.le32(p.disposition) &&
           c.le32(p.options) && c.le16(off) && c.le16(len);
      if (ok) p.name = utf16_at(msg, off, len);
      break;
    }
    case kClose: {
      uint16_t flags;
      uint32_t reserved;
      ok = c.le16(flags) && c.le32(reserved) && read_fid(c, p.fid);
      break;
    }
    case kRead: {
      uint8_t pad, flags;
      ok = c.u8(pad) && c.u8(flags) && c.le32(p.length) && c.le64(p.offset) && read_fid(c, p.fid);
      break;
    }
    case kWrite: {
      uint16_t data_off;
      ok = c.le16(data_off) && c.le32(p.length) && c.le64(p.offset) && read_fid(c, p.fid);
      if (ok && h.related() && p.fid.is_related_sentinel()) p.fid = chain_fid;
      if (ok && data_off <= msg.size()) {
        size_t have = std::min<size_t>(msg.size() - data_off, p.length);
        if (have) file_data(p.fid, p.offset, msg.subspan(data_off, have), true, ts);
      }
      break;
    }
    case kIoctl: {
      uint16_t reserved;
      uint32_t ctl, in_off, in_len;
      ok =
          c.le16(reserved) && c.le32(ctl) && read_fid(c, p.fid) && c.le32(in_off) && c.le32(in_len);
      if (ok && h.related() && p.fid.is_related_sentinel()) p.fid = chain_fid;
      constexpr uint32_t kFsctlPipeTransceive = 0x0011C017;
      if (ok && ctl == kFsctlPipeTransceive && in_off <= msg.size() &&
          in_len <= msg.size() - in_off)
        file_data(p.fid, 0, msg.subspan(in_off, in_len), true, ts);
      break;
    }
    case kSetInfo: {
      uint8_t type;
      uint32_t buf_len, addl;
      uint16_t buf_off, reserved;
      ok = c.u8(type) && c.u8(p.info_class) && c.le32(buf_len) && c.le16(buf_off) &&
           c.le16(reserved) && c.le32(addl) && read_fid(c, p.fid);
      if (!ok || type != 1 || buf_off > msg.size() || buf_len > msg.size() - buf_off) break;
      Cursor b(msg.subspan(buf_off, buf_len));
      if (p.info_class == 10) {  // FileRenameInformation
        uint32_t name_len;
        if (b.skip(1 + 7 + 8) && b.le32(name_len) && b.has(name_len)) {
          p.name = utf16le_to_utf8({b.data(), name_len});
        } else {
          anomaly("smb2_bad_rename_info", ts);
        }
      } else if (p.info_class == 13) {  // FileDispositionInformation
        uint8_t del;
        p.delete_pending = b.u8(del) && del;
      } else if (p.info_class == 64) {  // FileDispositionInformationEx
        uint32_t flags;
        p.delete_pending = b.le32(flags) && (flags & 1);
      }
      break;
    }
    default:
      break;
  }
  if (!ok) anomaly("smb2_truncated_request", ts);
  if (h.related() && p.fid.is_related_sentinel()) p.fid = chain_fid;
  pending_[h.msgid] = std::move(p);
}

void SmbParser::base_record(SmbRecord& r, const Smb2Header& h, const Pending& p) {
  r.ts = p.ts ? p.ts : r.ts;
  r.id = ++next_id_;
  r.dialect = dialect_;
  r.command = smb2_command_name(h.cmd);
  r.status = h.status;
  r.has_status = true;
  r.session_id = h.session_id ? h.session_id : p.session_id;
  r.tree_id = h.tree_id ? h.tree_id : p.tree_id;
}

void SmbParser::smb2_response(const Smb2Header& h, std::span<const uint8_t> msg, TimeNs ts,
                              FileId& chain_fid) {
  // An interim "pending" answer: the real response comes later with the same MessageId.
  if (h.async() && h.status == kStatusPending) return;
  Pending p;
  if (auto it = pending_.find(h.msgid); it != pending_.end()) {
    p = std::move(it->second);
    pending_.erase(it);
  } else {
    p.cmd = h.cmd;
    p.ts = ts;
    p.fid = FileId{~0ull, ~0ull};
  }
  if (p.cmd != h.cmd) {
    anomaly("smb2_response_command_mismatch", ts);
    return;
  }
  if (p.related && p.fid.is_related_sentinel()) p.fid = chain_fid;
  SmbRecord r;
  r.ts = ts;
  base_record(r, h, p);
  Cursor c(msg);
  c.skip(64);
  uint16_t structure = 0;
  c.le16(structure);
  bool ok = is_success(h.status);
  bool publish_eve = limits_.eve_commands;
  switch (h.cmd) {
    case kNegotiate: {
      uint16_t mode, dialect, contexts;
      uint8_t guid[16];
      r.client_dialects = std::move(p.dialects);
      if (ok && c.le16(mode) && c.le16(dialect) && c.le16(contexts) && c.copy(guid, 16)) {
        dialect_ = dialect_name(dialect);
        r.dialect = dialect_;
        r.server_guid = dcerpc::uuid_text(guid, true);
        uint32_t caps, ctx_off;
        uint64_t system_time, start_time;
        uint16_t sec_off, sec_len;
        comp_.negotiated = c.le32(caps) && c.le32(comp_.max_transact) && c.le32(comp_.max_read) &&
                           c.le32(comp_.max_write) && c.le64(system_time) && c.le64(start_time) &&
                           c.le16(sec_off) && c.le16(sec_len) && c.le32(ctx_off);
        if (!comp_.negotiated) {
          comp_.max_transact = comp_.max_read = comp_.max_write = 0;
          anomaly("smb2_truncated_response", ts);
        } else if (dialect == 0x0311 && contexts) {
          negotiate_contexts(msg, ctx_off, contexts, true, ts);
        }
      }
      for (uint16_t a : comp_.offered)
        r.compression_offered.push_back(compression_algorithm_name(a));
      for (uint16_t a : comp_.accepted)
        r.compression_accepted.push_back(compression_algorithm_name(a));
      r.client_guid_zero = comp_.client_guid_zero;
      r.client_bytes = sides_[static_cast<int>(Direction::kToServer)].seen;
      break;
    }
    case kSessionSetup:
      r.ntlm_user = std::move(p.ntlm_user);
      r.ntlm_domain = std::move(p.ntlm_domain);
      r.ntlm_host = std::move(p.ntlm_host);
      r.ntlm_version = std::move(p.ntlm_version);
      break;
    case kTreeConnect: {
      uint8_t type = 0;
      r.share = p.name;
      if (!ok || !c.u8(type)) break;
      const char* zeek_type = type == 1   ? "DISK"
                              : type == 2 ? "PIPE"
                              : type == 3 ? "PRINT"
                                          : "UNKNOWN";
      r.share_type = type == 1 ? "FILE" : type == 2 ? "PIPE" : type == 3 ? "PRINT" : "UNKNOWN";
      if (trees_.size() >= limits_.max_trees && !trees_.count(h.tree_id)) {
        anomaly("smb_too_many_trees", ts);
        trees_.clear();
      }
      trees_[h.tree_id] = Tree{p.name, zeek_type};
      SmbMappingRecord m;
      m.ts = p.ts;
      m.path = p.name;
      m.share_type = zeek_type;
      publish(m, false);
      break;
    }
    case kTreeDisconnect:
      trees_.erase(r.tree_id);
      break;
    case kCreate: {
      r.filename = p.name;
      r.disposition = disposition_name(p.disposition);
      r.access = (p.options & kDeleteOnClose) ? "delete on close" : "normal";
      uint8_t oplock, flags;
      uint32_t action, attrs, reserved;
      uint64_t ct, at, wt, cht, alloc, eof;
      FileId fid;
      if (!ok) break;
      if (!(c.u8(oplock) && c.u8(flags) && c.le32(action) && c.le64(ct) && c.le64(at) &&
            c.le64(wt) && c.le64(cht) && c.le64(alloc) && c.le64(eof) && c.le32(attrs) &&
            c.le32(reserved) && read_fid(c, fid))) {
        anomaly("smb2_truncated_response", ts);
        break;
      }
      chain_fid = fid;
      file_opened(fid, r.tree_id, p, {ct, at, wt, cht, eof}, r, ts);
      break;
    }
    case kClose: {
      if (OpenFile* f = find_file(p.fid)) r.filename = f->name;
      r.fuid = fid_text(p.fid);
      close_file(p.fid, ts, true);
      break;
    }
    case kRead: {
      OpenFile* f = find_file(p.fid);
      if (f) r.filename = f->name;
      uint8_t data_off, reserved;
      uint32_t len;
      if (!ok) break;
      if (!(c.u8(data_off) && c.u8(reserved) && c.le32(len))) {
        anomaly("smb2_truncated_response", ts);
        break;
      }
      r.bytes = len;
      r.has_bytes = true;
      if (data_off <= msg.size()) {
        size_t have = std::min<size_t>(msg.size() - data_off, len);
        if (have) file_data(p.fid, p.offset, msg.subspan(data_off, have), false, ts);
        if (have < len) file_gap(p.fid, p.offset + have, len - have, false, ts);
      }
      break;
    }
    case kWrite: {
      if (OpenFile* f = find_file(p.fid)) r.filename = f->name;
      r.bytes = p.length;
      r.has_bytes = true;
      break;
    }
    case kSetInfo: {
      OpenFile* f = find_file(p.fid);
      if (f) r.filename = f->name;
      if (p.info_class == 10) {
        r.set_info_level = "SMB2_FILE_RENAME_INFO";
        r.rename_from = f ? f->name : "";
        r.rename_to = p.name;
        if (ok && f) {
          std::string old = f->name;
          f->name = p.name;
          if (!f->pipe) log_file(*f, "SMB::FILE_RENAME", ts, {}, old);
        }
      } else if (p.info_class == 13 || p.info_class == 64) {
        r.set_info_level =
            p.info_class == 13 ? "SMB2_FILE_DISPOSITION_INFO" : "SMB2_FILE_DISPOSITION_INFO_EX";
        if (ok && f && p.delete_pending && !f->pipe) log_file(*f, "SMB::FILE_DELETE", ts);
      }
      break;
    }
    default:
      break;
  }
  if (publish_eve) publish(r, false);
}

SmbParser::OpenFile* SmbParser::find_file(const FileId& fid) {
  auto it = files_.find(fid);
  return it == files_.end() ? nullptr : &it->second;
}

void SmbParser::file_opened(const FileId& id, uint32_t tree, const Pending& p, const FileTimes& t,
                            SmbRecord& r, TimeNs ts) {
  r.created = filetime_to_ns(t.created);
  r.accessed = filetime_to_ns(t.accessed);
  r.modified = filetime_to_ns(t.modified);
  r.changed = filetime_to_ns(t.changed);
  r.size = t.eof;
  r.has_size = true;
  r.fuid = fid_text(id);
  if (files_.size() >= limits_.max_open_files && !files_.count(id)) {
    anomaly("smb_too_many_open_files", ts);
    close_file(files_.begin()->first, ts, false);
  }
  OpenFile& f = files_[id];
  f = OpenFile{};
  f.name = p.name.empty() ? "<share_root>" : p.name;
  if (auto it = trees_.find(tree); it != trees_.end()) {
    f.tree_path = it->second.path;
    f.pipe = it->second.share_type == "PIPE";
  }
  f.size = t.eof;
  f.created = r.created, f.accessed = r.accessed, f.modified = r.modified, f.changed = r.changed;
  if (!f.pipe) {
    log_file(f, "SMB::FILE_OPEN", ts);
    if (p.options & kDeleteOnClose) log_file(f, "SMB::FILE_DELETE", ts);
  }
}

void SmbParser::log_file(const OpenFile& f, std::string_view action, TimeNs ts,
                         std::string_view fuid, std::string_view prev_name) {
  SmbFilesRecord r;
  r.ts = ts;
  r.fuid.assign(fuid);
  r.action.assign(action);
  r.path = f.tree_path;
  r.name = f.name;
  r.size = f.size;
  r.prev_name.assign(prev_name);
  r.has_times = true;
  r.modified = f.modified, r.accessed = f.accessed, r.created = f.created, r.changed = f.changed;
  uint64_t h = 1469598103934665603ull;
  auto mix = [&h](std::string_view v) {
    for (char c : v) h = (h ^ uint8_t(c)) * 1099511628211ull;
    h = (h ^ 0xff) * 1099511628211ull;
  };
  auto mix_n = [&h](uint64_t v) { h = (h ^ v) * 1099511628211ull; };
  mix(r.action), mix(r.fuid), mix(r.path), mix(r.name), mix(r.prev_name);
  mix_n(r.size), mix_n(uint64_t(r.modified)), mix_n(uint64_t(r.accessed));
  mix_n(uint64_t(r.created)), mix_n(uint64_t(r.changed));
  constexpr TimeNs kRecent = 180 * kNsPerSec;
  if (auto it = recent_rows_.find(h); it != recent_rows_.end() && ts - it->second < kRecent) return;
  if (recent_rows_.size() >= limits_.max_recent_rows) recent_rows_.clear();
  recent_rows_[h] = ts;
  publish(r, false);
}

void SmbParser::file_data(const FileId& fid, uint64_t offset, std::span<const uint8_t> data,
                          bool write, TimeNs ts) {
  OpenFile* f = find_file(fid);
  if (!f || data.empty()) return;
  (write ? f->bytes_written : f->bytes_read) += data.size();
  if (limits_.log_read_write && !f->pipe) {
    bool& logged = write ? f->write_logged : f->read_logged;
    if (!logged) log_file(*f, write ? "SMB::FILE_WRITE" : "SMB::FILE_READ", ts);
    logged = true;
  }
  if (f->pipe) {
    // DCE-RPC over the pipe: the client's PDUs (WRITE data, IOCTL transceive input) name the
    // interface and operation. Server replies are not needed for that.
    if (!write) return;
    if (!f->rpc) {
      f->rpc = std::make_unique<dcerpc::DceRpcParser>(ctx_, anomalies_);
      f->rpc->set_named_pipe(f->name);
    }
    f->rpc->data(Direction::kToServer, data, ts);
    return;
  }
  if (!limits_.files) return;
  if (!f->file) {
    f->file = std::make_unique<files::FileTracker>();
    f->file->start(ts, files::make_fuid(ctx_.flow ? ctx_.flow->uid : "", file_count_++, 0x534d42),
                   "SMB", write);
    auto& rec = f->file->record();
    rec.filename = f->name;
    if (f->size) {
      rec.total_bytes = f->size;
      rec.has_total = true;
    }
  }
  f->file->data_at(offset, data, ts);
}

void SmbParser::file_gap(const FileId& fid, uint64_t, uint64_t len, bool, TimeNs ts) {
  OpenFile* f = find_file(fid);
  if (f && f->file) f->file->gap(len, ts);
}

void SmbParser::close_file(const FileId& fid, TimeNs ts, bool complete) {
  auto it = files_.find(fid);
  if (it == files_.end()) return;
  OpenFile& f = it->second;
  if (f.file && f.file->active()) {
    files::FileRecord& rec = f.file->finish(ts, complete);
    rec.flow = ctx_.flow;
    rec.to_client = !rec.is_orig;
    if (limits_.log_read_write) {
      if (f.read_logged) log_file(f, "SMB::FILE_READ", ts, rec.fuid);
      if (f.write_logged) log_file(f, "SMB::FILE_WRITE", ts, rec.fuid);
    }
    if (ctx_.sink) ctx_.sink->publish(rec);
  }
  files_.erase(it);
}

void SmbParser::smb1(Direction dir, std::span<const uint8_t> msg, TimeNs ts) {
  ++smb1_pdus_;
  Cursor c(msg);
  Smb1Header h;
  uint32_t proto;
  uint8_t flags;
  uint16_t pid_hi, reserved;
  uint64_t sec;
  if (!c.be32(proto) || !c.u8(h.cmd) || !c.le32(h.status) || !c.u8(flags) || !c.le16(h.flags2) ||
      !c.le16(pid_hi) || !c.le64(sec) || !c.le16(reserved) || !c.le16(h.tid) || !c.le16(h.pid) ||
      !c.le16(h.uid) || !c.le16(h.mid)) {
    anomaly("smb1_bad_header", ts);
    return;
  }
  h.reply = flags & 0x80;
  if (h.reply != (dir == Direction::kToClient)) {
    anomaly("smb1_direction_mismatch", ts);
    return;
  }
  // The AndX chain: each command names the next one and where its words start (from the
  // SMB header). Offsets must move forward, so a hostile chain cannot loop.
  size_t off = 32;
  uint8_t cmd = h.cmd;
  for (size_t n = 0; n < limits_.max_chain; ++n) {
    Cursor w(msg.subspan(std::min(off, msg.size())));
    uint8_t wc;
    uint16_t bc = 0;
    Cursor words, bytes;
    if (!w.u8(wc) || !w.take(size_t(wc) * 2, words) || (!w.le16(bc) && wc != 0) ||
        !w.take(std::min<size_t>(bc, w.remaining()), bytes)) {
      anomaly("smb1_truncated_command", ts);
      return;
    }
    size_t bytes_off = size_t(bytes.data() - msg.data());
    smb1_command(h, cmd, words, bytes, bytes_off, msg, ts);
    if (!smb1_is_andx(cmd) || wc < 2) return;
    uint8_t next_cmd, andx_reserved;
    uint16_t next_off;
    if (!words.u8(next_cmd) || !words.u8(andx_reserved) || !words.le16(next_off)) return;
    if (next_cmd == 0xFF) return;
    if (next_off <= off || next_off >= msg.size()) {
      anomaly("smb1_bad_andx_offset", ts);
      return;
    }
    cmd = next_cmd;
    off = next_off;
  }
  anomaly("smb2_chain_too_long", ts);
}

bool SmbParser::smb1_is_andx(uint8_t cmd) {
  switch (cmd) {
    case 0x24:  // LOCKING_ANDX
    case 0x2E:  // READ_ANDX
    case 0x2F:  // WRITE_ANDX
    case 0x73:  // SESSION_SETUP_ANDX
    case 0x74:  // LOGOFF_ANDX
    case 0x75:  // TREE_CONNECT_ANDX
    case 0xA2:  // NT_CREATE_ANDX
      return true;
    default:
      return false;
  }
}

namespace {

constexpr uint64_t kSmb1FileMark = 0x534d4231;  // "SMB1": SMB1 FIDs never collide with SMB2's

FileId smb1_fid(uint16_t fid) {
  return FileId{fid, kSmb1FileMark};
}

// A NUL-terminated string of an SMB1 byte block starting at `at` (offset from the header):
// UTF-16LE aligned to two bytes from the header when the flags say Unicode, else ASCII.
std::string smb1_string(std::span<const uint8_t> msg, size_t at, size_t end, bool unicode,
                        size_t* next = nullptr) {
  end = std::min(end, msg.size());
  if (unicode && (at & 1)) ++at;
  if (at >= end) {
    if (next) *next = end;
    return {};
  }
  size_t i = at;
  std::string out;
  if (unicode) {
    while (i + 1 < end && (msg[i] || msg[i + 1])) i += 2;
    out = utf16le_to_utf8(msg.subspan(at, i - at));
    i = std::min(i + 2, end);
  } else {
    while (i < end && msg[i]) ++i;
    out.assign(reinterpret_cast<const char*>(msg.data() + at), i - at);
    i = std::min(i + 1, end);
  }
  if (next) *next = i;
  return out;
}

}  // namespace

void SmbParser::smb1_command(const Smb1Header& h, uint8_t cmd, Cursor words, Cursor bytes,
                             size_t bytes_off, std::span<const uint8_t> msg, TimeNs ts) {
  const bool unicode = h.flags2 & 0x8000;
  const size_t bytes_end = bytes_off + bytes.remaining();
  // Requests and replies meet by (PID, MID, command); the top bit keeps them apart from
  // SMB2 MessageIds.
  const uint64_t key = (1ull << 63) | (uint64_t(cmd) << 32) | (uint64_t(h.pid) << 16) | h.mid;
  if (!h.reply) {
    if (cmd == 0x72) {  // NEGOTIATE: the client offers dialect strings, the server picks one
      smb1_dialects_.clear();
      while (!bytes.empty() && smb1_dialects_.size() < 32) {
        uint8_t fmt;
        bytes.u8(fmt);
        const uint8_t* s = bytes.data();
        size_t n = 0;
        while (n < bytes.remaining() && s[n]) ++n;
        smb1_dialects_.emplace_back(reinterpret_cast<const char*>(s), n);
        if (!bytes.skip(std::min(n + 1, bytes.remaining()))) break;
      }
      return;
    }
    Pending p;
    p.cmd = cmd;
    p.ts = ts;
    p.tree_id = h.tid;
    p.session_id = h.uid;
    bool ok = true;
    switch (cmd) {
      case 0x75: {  // TREE_CONNECT_ANDX: password, then the share path
        uint16_t andx_lo, andx_off, tflags, pw_len;
        ok =
            words.le16(andx_lo) && words.le16(andx_off) && words.le16(tflags) && words.le16(pw_len);
        if (ok) p.name = smb1_string(msg, bytes_off + pw_len, bytes_end, unicode);
        break;
      }
      case 0xA2: {  // NT_CREATE_ANDX
        uint32_t andx, cflags, root, access, attrs, share, imp;
        uint8_t reserved;
        uint16_t name_len;
        uint64_t alloc;
        ok = words.le32(andx) && words.u8(reserved) && words.le16(name_len) && words.le32(cflags) &&
             words.le32(root) && words.le32(access) && words.le64(alloc) && words.le32(attrs) &&
             words.le32(share) && words.le32(p.disposition) && words.le32(p.options) &&
             words.le32(imp);
        if (ok) p.name = smb1_string(msg, bytes_off, bytes_end, unicode);
        break;
      }
      case 0x04: {  // CLOSE
        uint16_t fid = 0;
        ok = words.le16(fid);
        p.fid = smb1_fid(fid);
        break;
      }
      case 0x2E: {  // READ_ANDX
        uint32_t andx = 0, offset = 0, timeout = 0, offset_hi = 0;
        uint16_t fid = 0, max_count = 0, min_count = 0, remaining = 0;
        ok = words.le32(andx) && words.le16(fid) && words.le32(offset) && words.le16(max_count) &&
             words.le16(min_count) && words.le32(timeout) && words.le16(remaining);
        if (ok) words.le32(offset_hi);  // only with WordCount 12
        p.fid = smb1_fid(fid);
        p.offset = (uint64_t(offset_hi) << 32) | offset;
        p.length = max_count;
        break;
      }
      case 0x2F: {  // WRITE_ANDX: the data sits at DataOffset from the header (padding before)
        uint32_t andx = 0, offset = 0, timeout = 0, offset_hi = 0;
        uint16_t fid = 0, mode = 0, remaining = 0, len_hi = 0, len = 0, data_off = 0;
        ok = words.le32(andx) && words.le16(fid) && words.le32(offset) && words.le32(timeout) &&
             words.le16(mode) && words.le16(remaining) && words.le16(len_hi) && words.le16(len) &&
             words.le16(data_off);
        if (!ok) break;
        words.le32(offset_hi);  // only with WordCount 14
        p.fid = smb1_fid(fid);
        p.offset = (uint64_t(offset_hi) << 32) | offset;
        // DataLengthHigh counts only for large writes; clients leave junk there otherwise, so
        // the data present bounds it.
        uint64_t want = (uint64_t(len_hi) << 16) | len;
        p.length = uint32_t(std::min<uint64_t>(want, 0xffffffffu));
        if (data_off < msg.size()) {
          size_t have = std::min<uint64_t>(msg.size() - data_off, want);
          if (have) file_data(p.fid, p.offset, msg.subspan(data_off, have), true, ts);
        }
        break;
      }
      default:
        return;  // no request state needed
    }
    if (!ok) anomaly("smb1_truncated_request", ts);
    if (pending_.size() >= limits_.max_pending) {
      anomaly("smb2_too_many_pending_requests", ts);
      pending_.clear();
    }
    pending_[key] = std::move(p);
    return;
  }

  Pending p;
  if (auto it = pending_.find(key); it != pending_.end()) {
    p = std::move(it->second);
    pending_.erase(it);
  } else {
    p.ts = ts;
  }
  SmbRecord r;
  r.ts = ts;
  r.id = ++next_id_;
  r.dialect = dialect_.empty() ? "NT LM 0.12" : dialect_;
  r.command = smb1_command_name(cmd);
  r.status = h.status;
  r.has_status = true;
  r.session_id = h.uid;
  r.tree_id = h.tid;
  const bool ok = is_success(h.status);
  switch (cmd) {
    case 0x72: {
      uint16_t index;
      if (words.le16(index) && index < smb1_dialects_.size()) dialect_ = smb1_dialects_[index];
      r.client_dialects = smb1_dialects_;
      break;
    }
    case 0x75: {  // TREE_CONNECT_ANDX reply: the service says what the share is
      r.share = p.name;
      if (!ok) break;
      size_t next = bytes_off;
      std::string service = smb1_string(msg, bytes_off, bytes_end, false, &next);
      std::string fs = smb1_string(msg, next, bytes_end, unicode);
      const char* zeek_type = service == "IPC"     ? "PIPE"
                              : service == "LPT1:" ? "PRINT"
                              : service == "A:"    ? "DISK"
                                                   : "UNKNOWN";
      r.share_type = service == "IPC" ? "PIPE" : service == "LPT1:" ? "PRINT" : "FILE";
      if (trees_.size() >= limits_.max_trees && !trees_.count(h.tid)) {
        anomaly("smb_too_many_trees", ts);
        trees_.clear();
      }
      trees_[h.tid] = Tree{p.name, zeek_type};
      SmbMappingRecord m;
      m.ts = p.ts;
      m.path = p.name;
      m.service = service;
      m.native_file_system = fs;
      m.share_type = zeek_type;
      publish(m, false);
      break;
    }
    case 0x71:  // TREE_DISCONNECT
      trees_.erase(h.tid);
      break;
    case 0xA2: {  // NT_CREATE_ANDX reply: the FID and the file's times and size
      r.filename = p.name;
      r.disposition = disposition_name(p.disposition);
      r.access = (p.options & kDeleteOnClose) ? "delete on close" : "normal";
      uint32_t andx, action, attrs;
      uint8_t oplock;
      uint16_t fid;
      uint64_t ct, at, wt, cht, alloc, eof;
      if (!ok) break;
      if (!(words.le32(andx) && words.u8(oplock) && words.le16(fid) && words.le32(action) &&
            words.le64(ct) && words.le64(at) && words.le64(wt) && words.le64(cht) &&
            words.le32(attrs) && words.le64(alloc) && words.le64(eof))) {
        anomaly("smb1_truncated_response", ts);
        break;
      }
      file_opened(smb1_fid(fid), h.tid, p, {ct, at, wt, cht, eof}, r, ts);
      break;
    }
    case 0x04:  // CLOSE
      if (OpenFile* f = find_file(p.fid)) r.filename = f->name;
      close_file(p.fid, ts, true);
      break;
    case 0x2E: {  // READ_ANDX reply
      if (OpenFile* f = find_file(p.fid)) r.filename = f->name;
      uint32_t andx;
      uint16_t available, compaction, reserved, len, data_off;
      if (!ok || !(words.le32(andx) && words.le16(available) && words.le16(compaction) &&
                   words.le16(reserved) && words.le16(len) && words.le16(data_off)))
        break;
      r.bytes = len;
      r.has_bytes = true;
      if (data_off < msg.size()) {
        size_t have = std::min<size_t>(msg.size() - data_off, len);
        if (have) file_data(p.fid, p.offset, msg.subspan(data_off, have), false, ts);
      }
      break;
    }
    case 0x2F:  // WRITE_ANDX reply
      if (OpenFile* f = find_file(p.fid)) r.filename = f->name;
      r.bytes = p.length;
      r.has_bytes = true;
      break;
    default:
      break;
  }
  if (limits_.eve_commands) publish(r, false);
}

void SmbParser::encrypted(std::span<const uint8_t> msg, TimeNs ts) {
  ++encrypted_pdus_;
  Cursor c(msg);
  uint64_t session = 0;
  if (!c.skip(4 + 16 + 16 + 4 + 2 + 2) || !c.le64(session)) {
    anomaly("smb3_bad_transform_header", ts);
    return;
  }
  if (encrypted_logged_) return;
  encrypted_logged_ = true;
  SmbRecord r;
  r.ts = ts;
  r.id = ++next_id_;
  r.dialect = dialect_;
  r.command = "SMB2_COMMAND_ENCRYPTED";
  r.session_id = session;
  r.encrypted = true;
  publish(r, false);
}

void SmbParser::negotiate_contexts(std::span<const uint8_t> msg, uint32_t off, uint16_t count,
                                   bool server, TimeNs ts) {
  constexpr uint16_t kCompressionCapabilities = 3;
  constexpr size_t kMaxAlgorithms = 8;
  for (uint16_t i = 0; i < count && i < 32; ++i) {
    Cursor c(msg.subspan(std::min<size_t>(off, msg.size())));
    uint16_t type, len;
    uint32_t reserved;
    Cursor data;
    if (!c.le16(type) || !c.le16(len) || !c.le32(reserved) || !c.take(len, data)) {
      anomaly("smb2_bad_negotiate_context", ts);
      return;
    }
    if (type == kCompressionCapabilities) {
      uint16_t n, padding;
      uint32_t flags;
      if (!data.le16(n) || !data.le16(padding) || !data.le32(flags) || !data.has(size_t(n) * 2)) {
        anomaly("smb2_bad_negotiate_context", ts);
        return;
      }
      auto& algorithms = server ? comp_.accepted : comp_.offered;
      (server ? comp_.accepted_chained : comp_.offered_chained) = flags & 1;
      algorithms.clear();
      for (uint16_t k = 0; k < n && algorithms.size() < kMaxAlgorithms; ++k) {
        uint16_t a = 0;
        data.le16(a);
        algorithms.push_back(a);
      }
    }
    // Contexts after the first start 8-byte aligned (from the SMB2 header).
    size_t next = size_t(off) + 8 + len;
    next = (next + 7) & ~size_t(7);
    if (next >= msg.size()) {
      if (i + 1 < count) anomaly("smb2_bad_negotiate_context", ts);  // fewer than counted
      return;
    }
    off = uint32_t(next);
  }
}

void SmbParser::compressed(Direction dir, std::span<const uint8_t> msg, size_t pdu_len, TimeNs ts) {
  ++compressed_pdus_;
  constexpr size_t kHeader = 16;
  Cursor c(msg);
  uint32_t proto, original, offset;
  uint16_t algorithm, flags;
  if (pdu_len < kHeader || !c.be32(proto) || !c.le32(original) || !c.le16(algorithm) ||
      !c.le16(flags) || !c.le32(offset)) {
    anomaly("smb3_bad_compression_header", ts);
    return;
  }
  const size_t after = pdu_len - kHeader;  // bytes after the header, present or not
  const bool limits = comp_.negotiated && (comp_.max_transact || comp_.max_read || comp_.max_write);
  const uint64_t limit =
      limits ? 256 + kHeader + std::max({comp_.max_transact, comp_.max_read, comp_.max_write}) : 0;
  // The algorithms a receiver may accept: those the server chose, plus NONE in a chain.
  auto accepted = [&](uint16_t a, bool chained) {
    if (!comp_.negotiated) return true;  // NEGOTIATE not seen: nothing to hold it against
    if (chained && a == 0) return true;
    return std::find(comp_.accepted.begin(), comp_.accepted.end(), a) != comp_.accepted.end();
  };
  std::string_view problem;
  auto found = [&](std::string_view name) {
    // weird.log's addl / EVE anomaly.addl: the header as read.
    std::string addl = "OriginalCompressedSegmentSize=" + std::to_string(original) +
                       " CompressionAlgorithm=" + compression_algorithm_name(algorithm) +
                       " Flags=" + std::to_string(flags) + (flags ? " Length=" : " Offset=") +
                       std::to_string(offset) + " message=" + std::to_string(pdu_len);
    anomalies_.report(ctx_.sink, ctx_.flow, ts, name, dir == Direction::kToClient, std::move(addl));
    if (problem.empty()) problem = name;
  };
  if (flags == 0) {
    // SMBGhost: srv2.sys allocated OriginalCompressedSegmentSize + Offset as a 32-bit sum, so a
    // wrapped sum gave a small buffer that decompression then overran.
    if (uint64_t(original) + offset > 0xffffffffull) found("smb3_compression_size_overflow");
    if (offset > after) found("smb3_bad_compression_offset");
    if (algorithm == 0)  // NONE only exists inside a chain
      found("smb3_bad_compression_header");
    else if (!accepted(algorithm, false))
      found("smb3_compression_not_negotiated");
  } else if (flags == 1) {
    // Chained (2.2.42.2): payload headers follow OriginalCompressedSegmentSize, each with its
    // Length; LZNT1/LZ77/LZ77+Huffman/LZ4 payloads open with their OriginalPayloadSize.
    Cursor chain(msg.subspan(8));
    size_t left = pdu_len - 8;
    for (size_t n = 0; n < 256 && left > 0; ++n) {
      uint16_t a, f;
      uint32_t len;
      if (left < 8) {
        found("smb3_bad_compression_payload");
        break;
      }
      if (!chain.le16(a) || !chain.le16(f) || !chain.le32(len)) break;  // beyond the head kept
      left -= 8;
      if (len > left || ((a == 1 || a == 2 || a == 3 || a == 5) && len < 4)) {
        found("smb3_bad_compression_payload");
        break;
      }
      if (!accepted(a, true)) found("smb3_compression_not_negotiated");
      left -= len;
      if (!chain.skip(len)) break;
    }
  } else {
    found("smb3_bad_compression_header");
  }
  if (limit && original > limit) found("smb3_compression_size_too_large");
  if (comp_.negotiated && comp_.accepted.empty() && problem.empty())
    found("smb3_compression_not_negotiated");
  if (problem.empty()) {
    // A well-formed compressed message: its content is not decompressed here.
    anomaly("smb_compressed_pdu_unsupported", ts);
    return;
  }
  SmbCompressionRecord r;
  r.ts = ts;
  r.anomaly = problem;
  r.original_size = original;
  r.algorithm = algorithm;
  r.flags = flags;
  r.offset = offset;
  r.pdu_length = uint32_t(std::min<size_t>(pdu_len, 0xffffffffu));
  r.dialect = dialect_;
  r.negotiated = comp_.negotiated;
  for (uint16_t a : comp_.accepted) r.compression_accepted.push_back(compression_algorithm_name(a));
  r.max_transact = comp_.max_transact, r.max_read = comp_.max_read, r.max_write = comp_.max_write;
  r.size_limit = limit;
  publish(r, dir == Direction::kToClient);
}

void SmbParser::gap(Direction dir, uint64_t len, TimeNs ts) {
  Side& s = sides_[static_cast<int>(dir)];
  if (len == 0) return;
  anomaly("content_gap", ts);
  if (s.resync) return;
  if (s.hdr_got == 4 && s.pdu_got + len <= s.pdu_len) {
    // Inside the current PDU: drop it, keep the framing.
    if (s.streaming) {
      uint64_t d = std::min<uint64_t>(len, s.stream_left);
      file_gap(s.stream_fid, s.stream_offset, d, dir == Direction::kToServer, ts);
      s.stream_offset += d;
      s.stream_left -= d;
    } else {
      s.skipping = true;
      s.buf.clear();
    }
    s.pdu_got += uint32_t(len);
    if (s.pdu_got == s.pdu_len) {
      s.hdr_got = 0;
      s.skipping = s.streaming = false;
    }
    return;
  }
  s.resync = true;
  s.buf.clear();
  s.streaming = s.skipping = false;
}

void SmbParser::close(TimeNs ts) {
  while (!files_.empty()) close_file(files_.begin()->first, ts, false);
  pending_.clear();
  trees_.clear();
}

}  // namespace komainu::smb
