// SMB over NetBIOS session framing (TCP 445/139): SMB2/3 commands are parsed and matched
// request → response by MessageId (compounded chains via NextCommand, related operations
// via the chain's FileId), SMB1 AndX chains are parsed (tree connect, create, read, write,
// close), SMB3 transform (encrypted) PDUs are recorded as encrypted, SMB 3.1.1 compression
// transform headers are checked against the negotiated limits (the payload is not
// decompressed; a malformed header is a named anomaly and an SmbCompressionRecord). State is
// bounded: pending
// requests, trees and open files are capped (exceeding evicts and counts), and per-file state is
// freed on CLOSE, so thousands of files in a session cost what the open ones cost. PDUs above the
// buffer limit are streamed when they are READ/WRITE data and skipped otherwise.
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "analyzers/analyzer.h"
#include "analyzers/anomaly.h"
#include "analyzers/dcerpc/dcerpc.h"
#include "analyzers/files/file_tracker.h"
#include "analyzers/smb/smb_record.h"
#include "core/cursor.h"

namespace komainu::smb {

struct SmbLimits {
  size_t max_pdu_buffer = 256 * 1024;  // whole PDUs buffered up to this size
  size_t max_open_files = 4096;
  size_t max_trees = 256;
  size_t max_pending = 1024;
  size_t max_chain = 64;          // compounded commands per PDU
  size_t max_recent_rows = 4096;  // smb_files de-duplication memory
  bool log_read_write = false;    // Zeek: SMB::logged_file_actions += {FILE_READ, FILE_WRITE}
  bool files = true;              // hash READ/WRITE data as files (fileinfo / files.log)
  bool eve_commands = true;       // one EVE smb event per command
};

struct FileId {
  uint64_t persistent = 0;
  uint64_t volatile_id = 0;
  bool operator==(const FileId&) const = default;
  bool is_related_sentinel() const { return persistent == ~0ull && volatile_id == ~0ull; }
};

struct FileIdHash {
  size_t operator()(const FileId& f) const {
    return f.persistent * 0x9e3779b97f4a7c15ull ^ f.volatile_id;
  }
};

class SmbParser {
 public:
  SmbParser(const SessionContext& ctx, SmbLimits limits, AnomalyReporter& anomalies);
  ~SmbParser();

  void data(Direction dir, std::span<const uint8_t> bytes, TimeNs ts);
  void gap(Direction dir, uint64_t len, TimeNs ts);
  void close(TimeNs ts);

  size_t open_files() const { return files_.size(); }
  size_t pending_requests() const { return pending_.size(); }
  const std::string& dialect() const { return dialect_; }
  uint64_t encrypted_pdus() const { return encrypted_pdus_; }
  uint64_t smb1_pdus() const { return smb1_pdus_; }
  uint64_t commands() const { return commands_; }
  uint64_t compressed_pdus() const { return compressed_pdus_; }

 private:
  struct Side {
    uint8_t hdr[4];
    size_t hdr_got = 0;
    uint32_t pdu_len = 0;
    uint32_t pdu_got = 0;
    bool skipping = false;   // NetBIOS control message, or a PDU dropped (gap, too large)
    bool streaming = false;  // a large READ/WRITE: data goes straight to its file
    bool resync = false;     // framing lost: looking for the next PDU start
    std::vector<uint8_t> buf;
    FileId stream_fid;
    uint64_t stream_offset = 0;
    uint64_t stream_left = 0;
    uint64_t seen = 0;  // bytes received in this direction (gaps excluded)
  };
  struct Pending {
    uint16_t cmd = 0;
    TimeNs ts = 0;
    uint32_t tree_id = 0;
    uint64_t session_id = 0;
    FileId fid;
    bool related = false;
    std::string name;  // CREATE file name, TREE_CONNECT path, SET_INFO rename target
    uint32_t disposition = 0;
    uint32_t options = 0;
    uint64_t offset = 0;
    uint32_t length = 0;
    uint8_t info_class = 0;
    bool delete_pending = false;
    std::vector<std::string> dialects;
    std::string ntlm_user, ntlm_domain, ntlm_host, ntlm_version;
  };
  struct Tree {
    std::string path;
    std::string share_type;
  };
  struct OpenFile {
    std::string name;
    std::string tree_path;
    bool pipe = false;
    uint64_t size = 0;
    TimeNs created = 0, accessed = 0, modified = 0, changed = 0;
    bool read_logged = false, write_logged = false;
    uint64_t bytes_read = 0, bytes_written = 0;
    std::unique_ptr<files::FileTracker> file;
    std::unique_ptr<dcerpc::DceRpcParser> rpc;  // named pipes: client-to-server DCE-RPC
  };
  struct Smb2Header {
    uint16_t cmd = 0;
    uint32_t status = 0;
    uint32_t flags = 0;
    uint32_t next = 0;
    uint64_t msgid = 0;
    uint32_t tree_id = 0;
    uint64_t session_id = 0;
    bool response() const { return flags & 1; }
    bool async() const { return flags & 2; }
    bool related() const { return flags & 4; }
  };

  void feed(Direction dir, const uint8_t* p, size_t n, TimeNs ts);
  void pdu(Direction dir, std::span<const uint8_t> pdu, TimeNs ts);
  void large_pdu_head(Side& s, Direction dir, TimeNs ts);
  void smb2_chain(Direction dir, std::span<const uint8_t> pdu, TimeNs ts);
  bool smb2_header(std::span<const uint8_t> msg, Smb2Header& h);
  void smb2_request(const Smb2Header& h, std::span<const uint8_t> msg, TimeNs ts,
                    FileId& chain_fid);
  void smb2_response(const Smb2Header& h, std::span<const uint8_t> msg, TimeNs ts,
                     FileId& chain_fid);
  struct Smb1Header {
    uint8_t cmd = 0;
    uint32_t status = 0;
    uint16_t flags2 = 0;
    uint16_t tid = 0, pid = 0, uid = 0, mid = 0;
    bool reply = false;
  };
  void smb1(Direction dir, std::span<const uint8_t> msg, TimeNs ts);
  static bool smb1_is_andx(uint8_t cmd);
  // One command of an AndX chain: its parameter words and byte block (`bytes_off` from the
  // SMB header, where SMB1 data offsets count from).
  void smb1_command(const Smb1Header& h, uint8_t cmd, Cursor words, Cursor bytes, size_t bytes_off,
                    std::span<const uint8_t> msg, TimeNs ts);
  void encrypted(std::span<const uint8_t> msg, TimeNs ts);
  // A COMPRESSION_TRANSFORM_HEADER PDU (0xFC 'SMB', MS-SMB2 2.2.42) of `pdu_len` bytes, of
  // which `msg` holds the first ones (all of it unless the PDU is over the buffer limit).
  void compressed(Direction dir, std::span<const uint8_t> msg, size_t pdu_len, TimeNs ts);
  // SMB2 NEGOTIATE contexts (MS-SMB2 2.2.3.1 / 2.2.4.1) at `off` from the header: only the
  // compression capabilities are kept.
  void negotiate_contexts(std::span<const uint8_t> msg, uint32_t off, uint16_t count, bool server,
                          TimeNs ts);

  OpenFile* find_file(const FileId& fid);
  void file_data(const FileId& fid, uint64_t offset, std::span<const uint8_t> data, bool write,
                 TimeNs ts);
  void file_gap(const FileId& fid, uint64_t offset, uint64_t len, bool write, TimeNs ts);
  void close_file(const FileId& fid, TimeNs ts, bool complete);
  void log_file(const OpenFile& f, std::string_view action, TimeNs ts, std::string_view fuid = {},
                std::string_view prev_name = {});
  void base_record(SmbRecord& r, const Smb2Header& h, const Pending& p);
  // A create answered (SMB2 CREATE, SMB1 NT_CREATE_ANDX): the record's times and size, the
  // open-file state (bounded) and its smb_files.log rows.
  struct FileTimes {
    uint64_t created, accessed, modified, changed, eof;
  };
  void file_opened(const FileId& id, uint32_t tree, const Pending& p, const FileTimes& t,
                   SmbRecord& r, TimeNs ts);
  void publish(Record& r, bool to_client);
  void anomaly(std::string_view name, TimeNs ts) {
    anomalies_.report(ctx_.sink, ctx_.flow, ts, name);
  }

  SessionContext ctx_;
  SmbLimits limits_;
  AnomalyReporter& anomalies_;
  Side sides_[2];
  std::unordered_map<uint64_t, Pending> pending_;
  std::unordered_map<uint32_t, Tree> trees_;
  std::unordered_map<FileId, OpenFile, FileIdHash> files_;
  // smb_files rows logged recently (hash → data time), so repeated identical rows are not
  // logged again, as Zeek's SMB::State$recent_files does (3 minutes).
  std::unordered_map<uint64_t, TimeNs> recent_rows_;
  std::string dialect_;
  std::vector<std::string> smb1_dialects_;
  uint64_t next_id_ = 0;
  uint64_t file_count_ = 0;
  uint64_t encrypted_pdus_ = 0;
  uint64_t smb1_pdus_ = 0;
  uint64_t commands_ = 0;
  uint64_t compressed_pdus_ = 0;
  bool encrypted_logged_ = false;
  // SMB 3.1.1 compression as NEGOTIATE set it up: the algorithms each side listed in its
  // SMB2_COMPRESSION_CAPABILITIES context (capped) and the server's size limits, which bound
  // what a compressed message may expand to (MS-SMB2 3.3.5.2.1.2).
  struct Compression {
    std::vector<uint16_t> offered, accepted;
    bool offered_chained = false, accepted_chained = false;
    bool negotiated = false;  // a NEGOTIATE response was read
    bool client_guid_zero = false;
    uint32_t max_transact = 0, max_read = 0, max_write = 0;
  } comp_;
};

}  // namespace komainu::smb
