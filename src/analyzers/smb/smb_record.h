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
  // NEGOTIATE, for detectors; not written to EVE (Suricata's smb object has no such fields):
  // the SMB 3.1.1 compression algorithms the client offered and the server chose
  // (SMB2_COMPRESSION_CAPABILITIES contexts), whether the client's ClientGuid was zero, and
  // how many bytes the client had sent on the connection when the response came.
  std::vector<std::string> compression_offered, compression_accepted;
  bool client_guid_zero = false;
  uint64_t client_bytes = 0;
};

// A compressed SMB 3.1.1 message whose COMPRESSION_TRANSFORM_HEADER (MS-SMB2 2.2.42) its
// receiver must refuse (MS-SMB2 3.3.5.2.1.2): OriginalCompressedSegmentSize + Offset wraps 32
// bits (CVE-2020-0796, SMBGhost: srv2.sys sized its buffer with that sum), the offset or a
// chained payload runs past the message, the size exceeds the negotiated limits, or compression
// was not negotiated. No EVE body or Zeek row of its own (the anomaly event and weird.log row
// name the problem); detectors take the header fields from it.
class SmbCompressionRecord : public Record {
 public:
  std::string_view event_type() const override { return "smb_compression"; }
  bool has_eve() const override { return false; }
  void write_eve(JsonWriter&) const override {}

  std::string_view anomaly;    // the anomaly name of the (first) problem, a string literal
  uint32_t original_size = 0;  // OriginalCompressedSegmentSize
  uint16_t algorithm = 0;      // CompressionAlgorithm (chained: the first payload's)
  uint16_t flags = 0;          // 0: unchained, 1: chained
  uint32_t offset = 0;         // Offset (unchained) or the first payload's Length (chained)
  uint32_t pdu_length = 0;     // the whole message, this header included
  std::string dialect;         // as negotiated on the connection, "" when not seen
  bool negotiated = false;     // a NEGOTIATE response was read on this connection
  std::vector<std::string> compression_accepted;  // the server's algorithms
  uint32_t max_transact = 0, max_read = 0, max_write = 0;
  uint64_t size_limit = 0;  // 256 + 16 + the largest of the three (0: not negotiated)
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
