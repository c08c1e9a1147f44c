#include "analyzers/smb/smb_record.h"

#include <charconv>
#include <cstdio>

#include "analyzers/smb/smb_names.h"

namespace komainu::smb {

namespace {
void conn_id(ZeekRow& row, const Record& r) {
  row.time(r.ts);
  if (r.flow) {
    row.str(r.flow->uid)
        .addr(r.flow->tuple.src)
        .count(r.flow->tuple.sport)
        .addr(r.flow->tuple.dst)
        .count(r.flow->tuple.dport);
  } else {
    row.unset().unset().unset().unset().unset();
  }
}
void str_or_unset(ZeekRow& row, const std::string& s) {
  s.empty() ? row.unset() : row.str(s);
}
}  // namespace

const ZeekSchema& smb_files_schema() {
  static const ZeekSchema schema{"smb_files",
                                 zeek_conn_fields({{"fuid", ZeekType::kString},
                                                   {"action", ZeekType::kEnum},
                                                   {"path", ZeekType::kString},
                                                   {"name", ZeekType::kString},
                                                   {"size", ZeekType::kCount},
                                                   {"prev_name", ZeekType::kString},
                                                   {"times.modified", ZeekType::kTime},
                                                   {"times.accessed", ZeekType::kTime},
                                                   {"times.created", ZeekType::kTime},
                                                   {"times.changed", ZeekType::kTime}})};
  return schema;
}

const ZeekSchema& smb_mapping_schema() {
  static const ZeekSchema schema{"smb_mapping",
                                 zeek_conn_fields({{"path", ZeekType::kString},
                                                   {"service", ZeekType::kString},
                                                   {"native_file_system", ZeekType::kString},
                                                   {"share_type", ZeekType::kString}})};
  return schema;
}

TimeNs filetime_to_ns(uint64_t ft) {
  if (ft == 0) return 0;
  // Zeek converts through a double in seconds and prints 6 decimals: do the same so the
  // logged microseconds round identically.
  double secs = double(ft) / 1e7 - 11644473600.0;
  if (!(secs > 0 && secs < 9.0e9)) return 0;  // beyond year 2255 or NaN: not a time
  // std::to_chars with a precision rounds exactly as printf("%.6f") does.
  char buf[40];
  auto res = std::to_chars(buf, buf + sizeof buf, secs, std::chars_format::fixed, 6);
  int64_t whole = 0, micros = 0;
  const char* p = buf;
  while (p < res.ptr && *p != '.') whole = whole * 10 + (*p++ - '0');
  if (p < res.ptr && *p == '.') ++p;
  while (p < res.ptr) micros = micros * 10 + (*p++ - '0');
  return whole * kNsPerSec + micros * kNsPerUs;
}

void SmbRecord::write_eve(JsonWriter& w) const {
  w.key("smb").begin_object();
  w.kv("id", id);
  w.kv("dialect", dialect.empty() ? std::string_view("unknown") : std::string_view(dialect));
  w.kv("command", command);
  if (has_status) {
    char code[16] = {'0', 'x'}, code_buf[32];
    // to_chars, not snprintf: one per SMB event, and snprintf was most of writing one.
    auto end = std::to_chars(code + 2, code + sizeof code, status, 16).ptr;
    w.kv("status", status_name(status, code_buf));
    w.kv("status_code", std::string_view(code, size_t(end - code)));
  }
  w.kv("session_id", session_id);
  w.kv("tree_id", uint64_t(tree_id));
  if (encrypted) w.kv("encrypted", true);
  if (!client_dialects.empty()) {
    w.key("client_dialects").begin_array();
    for (const auto& d : client_dialects) w.value(d);
    w.end_array();
  }
  if (!server_guid.empty()) w.kv("server_guid", server_guid);
  if (!ntlm_user.empty() || !ntlm_domain.empty() || !ntlm_host.empty()) {
    w.key("ntlmssp").begin_object();
    w.kv("domain", ntlm_domain).kv("user", ntlm_user).kv("host", ntlm_host);
    if (!ntlm_version.empty()) w.kv("version", ntlm_version);
    w.end_object();
  }
  if (!share.empty()) w.kv("share", share);
  if (!share_type.empty()) w.kv("share_type", share_type);
  if (!filename.empty()) w.kv("filename", filename);
  if (!disposition.empty()) w.kv("disposition", disposition);
  if (!access.empty()) w.kv("access", access);
  if (created) w.kv("created", int64_t(created / kNsPerSec));
  if (accessed) w.kv("accessed", int64_t(accessed / kNsPerSec));
  if (modified) w.kv("modified", int64_t(modified / kNsPerSec));
  if (changed) w.kv("changed", int64_t(changed / kNsPerSec));
  if (has_size) w.kv("size", size);
  if (!fuid.empty()) w.kv("fuid", fuid);
  if (!rename_from.empty() || !rename_to.empty()) {
    w.key("rename").begin_object().kv("from", rename_from).kv("to", rename_to).end_object();
  }
  if (!set_info_level.empty()) {
    w.key("set_info").begin_object().kv("class", "FILE_INFO").kv("info_level", set_info_level);
    w.end_object();
  }
  if (has_bytes) w.kv("length", bytes);
  w.end_object();
}

void SmbFilesRecord::write_zeek(ZeekRow& row) const {
  conn_id(row, *this);
  str_or_unset(row, fuid);
  row.str(action);
  str_or_unset(row, path);
  str_or_unset(row, name);
  row.count(size);
  str_or_unset(row, prev_name);
  if (has_times) {
    row.time(modified).time(accessed).time(created).time(changed);
  } else {
    row.unset().unset().unset().unset();
  }
}

void SmbMappingRecord::write_zeek(ZeekRow& row) const {
  conn_id(row, *this);
  str_or_unset(row, path);
  str_or_unset(row, service);
  str_or_unset(row, native_file_system);
  str_or_unset(row, share_type);
}

}  // namespace komainu::smb
