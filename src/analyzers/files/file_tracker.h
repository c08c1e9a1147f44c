// One file carried by an app-layer protocol (an HTTP body, an SMB file's reads/writes):
// hashed incrementally, MIME-sniffed from its first bytes, counted, and published once as a
// FileRecord → EVE `fileinfo` and Zeek `files.log`. State is fixed-size per file; digest
// contexts are allocated on the first data byte, so files that never carry data are cheap.
#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "core/event.h"

struct evp_md_ctx_st;

namespace komainu::files {

// Zeek's files.log, with the hash fields base/files/hash adds and the extract fields.
const ZeekSchema& files_schema();

class FileRecord : public Record {
 public:
  std::string_view event_type() const override { return "fileinfo"; }
  void write_eve(JsonWriter& w) const override;
  const ZeekSchema* zeek_schema() const override { return zeek_log ? &files_schema() : nullptr; }
  void write_zeek(ZeekRow& row) const override;

  std::string fuid;
  std::string source;        // "HTTP", "SMB", "SMTP"
  uint32_t depth = 0;        // Zeek's depth: the MIME entity count of an SMTP file
  std::string filename;      // Zeek's filename (e.g. from Content-Disposition)
  std::string eve_filename;  // EVE fileinfo.filename when it differs (HTTP: the URI path)
  std::string mime_type;     // "" when unknown
  TimeNs last_ts = 0;        // duration = last_ts - ts
  bool is_orig = false;      // sent by the originator
  uint64_t seen_bytes = 0;
  uint64_t total_bytes = 0;  // expected size, when the protocol says
  bool has_total = false;
  uint64_t missing_bytes = 0;
  uint64_t overflow_bytes = 0;
  bool timedout = false;
  bool complete = false;          // all bytes of the file were seen
  bool hashed = false;            // the digests cover the whole file
  std::string md5, sha1, sha256;  // "" when not computed (files.hashes)
  // The file's first bytes in order (up to 512; the signature engine's file.data), valid
  // while the record is published.
  std::span<const uint8_t> head;
  uint64_t tx_id = 0;
  // The app-layer object Suricata adds to fileinfo ("http":{...}, "smb":{...}), pre-rendered.
  std::string app_key;
  std::string app_json;
  // False for a piece of a file whose files.log row is written once for all its pieces
  // (HTTP range responses joined by RangeFiles): EVE only.
  bool zeek_log = true;
};

class FileTracker {
 public:
  FileTracker();
  ~FileTracker();
  FileTracker(FileTracker&&) noexcept;
  FileTracker& operator=(FileTracker&&) noexcept;

  // Starts a new file (any previous state is dropped).
  void start(TimeNs ts, std::string fuid, std::string_view source, bool is_orig);
  bool active() const { return active_; }
  FileRecord& record() { return rec_; }
  const FileRecord& record() const { return rec_; }

  void data(std::span<const uint8_t> bytes, TimeNs ts);
  // `len` bytes of the file are missing: the hashes can no longer be trusted.
  void gap(uint64_t len, TimeNs ts);
  // Data at `offset` (SMB reads/writes may come in any order): hashed only while in order.
  void data_at(uint64_t offset, std::span<const uint8_t> bytes, TimeNs ts);
  const char* sniffed_mime() const;
  // The data does not start at the file's beginning: its MIME type is not guessed.
  void no_sniff() { sniff_ = false; }
  // The file cannot be complete (the protocol says so): its digests are not computed.
  void no_digests() { hash_broken_ = true; }
  uint64_t seen() const { return rec_.seen_bytes; }

  // Closes the file, fills the digests, and returns the record to publish. `complete` says
  // whether the protocol saw the file's end (false: truncated, gap, connection closed).
  FileRecord& finish(TimeNs ts, bool complete);

 private:
  void free_digests();

  FileRecord rec_;
  bool active_ = false;
  uint64_t next_offset_ = 0;  // in-order position for hashing
  bool hash_broken_ = false;
  std::array<uint8_t, 512> magic_{};
  size_t magic_len_ = 0;
  bool sniff_ = true;
  // Digest contexts live as long as the tracker and are re-initialised per file (an
  // HTTP side carries many bodies); `digesting_` says whether they hold this file's state.
  evp_md_ctx_st* md5_ = nullptr;
  evp_md_ctx_st* sha1_ = nullptr;
  evp_md_ctx_st* sha256_ = nullptr;
  bool digesting_ = false;
};

// Which digests every file gets (config `files.hashes`; default all three). Set once before
// packets flow: md5 alone costs more than sha1 and sha256 together (no CPU instructions for
// it), and a site that keys its threat intel on sha256 can turn the others off.
enum Digest : uint8_t { kMd5 = 1, kSha1 = 2, kSha256 = 4, kAllDigests = 7 };
void set_digests(uint8_t mask);
uint8_t digests();
// "md5", "sha1", "sha256" -> its bit; 0 for anything else.
uint8_t digest_from_name(std::string_view name);

// A deterministic Zeek-style file id ("F" + base62) from the flow uid and a per-flow counter.
std::string make_fuid(std::string_view flow_uid, uint64_t counter, uint64_t salt = 0);

}  // namespace komainu::files
