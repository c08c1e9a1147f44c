// SMB records: EVE `smb` per command (request + response, Suricata's field names), Zeek
// smb_files.log rows (file actions) and smb_mapping.log rows (tree connects).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/event.h"

namespace komainu::smb {

const ZeekSchema& smb_files_schema();
const ZeekSchema& smb_mapping_schema();

// FILETIME (100 ns since 1601) → data time; 0 stays 0 (unset).
TimeNs filetime_to_ns(uint64_t ft);

// One SMB command exchange → EVE "smb".
class SmbRecord : public Record {
 public:
  std::string_view event_type() const override { return "smb"; }
  void write_eve(JsonWriter& w) const override;

  uint64_t id = 0;
  std::string dialect;  // "2.02" .. "3.1.1", "NT LM 0.12" for SMB1, "unknown"
  std::string command;  // SMB2_COMMAND_CREATE, SMB1_COMMAND_...
  uint32_t status = 0;
  bool has_status = false;
  uint64_t session_id = 0;
  uint32_t tree_id = 0;
  bool encrypted = false;  // SMB3 transform header: the payload is not readable
  // command specifics ("" / empty = absent)
  std::vector<std::string> client_dialects;
  std::string server_guid;
  std::string ntlm_user, ntlm_domain, ntlm_host, ntlm_version;
  std::string share, share_type;
  std::string filename, disposition, access, fuid;
  TimeNs created = 0, accessed = 0, modified = 0, changed = 0;
  uint64_t size = 0;
  bool has_size = false;
  std::string rename_from, rename_to;
  std::string set_info_level;
  uint64_t bytes = 0;  // READ/WRITE data length
  bool has_bytes = false;
};

// A Zeek smb_files.log row (no EVE body of its own: EVE has the smb command events).
class SmbFilesRecord : public Record {
 public:
  std::string_view event_type() const override { return "smb_files"; }
  bool has_eve() const override { return false; }
  void write_eve(JsonWriter&) const override {}
  const ZeekSchema* zeek_schema() const override { return &smb_files_schema(); }
  void write_zeek(ZeekRow& row) const override;

  std::string fuid;    // file analysis id, "" = unset
  std::string action;  // SMB::FILE_OPEN, ...
  std::string path;    // tree path, "" = unset
  std::string name;
  uint64_t size = 0;
  std::string prev_name;
  TimeNs modified = 0, accessed = 0, created = 0, changed = 0;
  bool has_times = false;
};

class SmbMappingRecord : public Record {
 public:
  std::string_view event_type() const override { return "smb_mapping"; }
  bool has_eve() const override { return false; }
  void write_eve(JsonWriter&) const override {}
  const ZeekSchema* zeek_schema() const override { return &smb_mapping_schema(); }
  void write_zeek(ZeekRow& row) const override;

  std::string path;
  std::string service;  // SMB1 only
  std::string native_file_system;
  std::string share_type;  // DISK, PIPE, PRINT
};

}  // namespace komainu::smb
