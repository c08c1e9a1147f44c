// Files whose pieces come in several responses, possibly over several connections: HTTP
// 206 answers to range requests. Zeek names such a file by the client and the URL, not by
// the connection (base/protocols/http/files.zeek get_file_handle), and does not end it when
// one 206 response ends; the files framework places each piece at its offset, counts the
// holes between pieces as missing when the file ends, and logs one files.log row per
// connection that carried it. This table keeps those joined files for one worker (a Zeek
// worker joins only what it sees too). A file ends when its contiguous bytes from offset 0
// reach its total size (complete), when the last connection carrying it closes (Zeek would
// time it out: logged timedout), after kTimeout without data, or when the table is full
// (the stalest is evicted, logged timedout and counted).
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "analyzers/files/file_tracker.h"
#include "core/event.h"

namespace komainu::files {

// A files.log row only: the EVE side logs each piece as its own fileinfo (as Suricata).
class FileLogRecord : public FileRecord {
 public:
  std::string_view event_type() const override { return "files"; }
  bool has_eve() const override { return false; }
};

class RangeFiles {
 public:
  // Zeek's default file timeout (Files::default_timeout_interval: 2 min).
  static constexpr TimeNs kTimeout = 120'000'000'000;
  static constexpr size_t kMaxPieces = 64;  // disjoint byte ranges tracked per file
  static constexpr size_t kMaxConns = 16;   // connections logged per file

  explicit RangeFiles(size_t max_files = 64) : max_files_(max_files ? max_files : 1) {}

  // A response carrying a piece of file `key` (source, client, URL) starts on `flow`;
  // returns the joined file's id (never 0). Files that end meanwhile go to `sink`.
  uint64_t open(std::string_view key, std::string_view source, const FlowContext* flow,
                uint64_t total, bool has_total, TimeNs ts, EventSink* sink);
  // The joined file's fuid, or nullptr when `id` has ended.
  const std::string* fuid(uint64_t id) const;
  // Bytes of the piece at `offset`; false when `id` has ended (the caller opens it again).
  bool data(uint64_t id, uint64_t offset, std::span<const uint8_t> bytes, TimeNs ts,
            EventSink* sink);
  // `flow` closes: files no other open connection carries end (timed out, as in Zeek).
  void release(const FlowContext* flow, TimeNs ts, EventSink* sink);

  size_t open_files() const { return files_.size(); }
  uint64_t evicted() const { return evicted_; }
  // Pieces merged into a neighbour because a file had kMaxPieces already (its missing_bytes
  // is then a lower bound).
  uint64_t pieces_merged() const { return pieces_merged_; }

 private:
  struct Conn {
    FlowContext flow;  // a copy: the file outlives the connection
    bool open = true;
  };
  struct File {
    uint64_t id = 0;
    std::string key;
    std::string source;
    std::string fuid;
    TimeNs first = 0, last = 0;
    uint64_t total = 0;
    bool has_total = false;
    std::vector<std::pair<uint64_t, uint64_t>> pieces;  // sorted, disjoint [lo, hi)
    std::vector<Conn> conns;
    // Counts the bytes, keeps the file's first bytes (MIME type, file.data) and hashes
    // them while they arrive in order from offset 0 (sequential ranges): a complete file
    // gets its digests, as Zeek hashes the reassembled stream.
    FileTracker digests;
  };

  File* find(uint64_t id);
  void add_piece(File& f, uint64_t lo, uint64_t hi);
  bool complete(const File& f) const;
  // Publishes one files.log row per connection and removes the file.
  void end(size_t index, bool timedout, EventSink* sink);
  void expire(TimeNs now, EventSink* sink);

  size_t max_files_;
  std::vector<File> files_;
  uint64_t next_id_ = 1;
  uint64_t evicted_ = 0;
  uint64_t pieces_merged_ = 0;
};

}  // namespace komainu::files
