#pragma once
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "core/event.h"
#include "core/spin_mutex.h"
#include "output/async_file.h"
#include "output/thread_buffers.h"

namespace komainu {

// Writes Zeek logs (conn.log, dns.log, ...), one file per schema path, opened on the first
// record. TSV with Zeek's header and footer, or Zeek's JSON lines (`json = true`).
class ZeekLogWriter : public EventSink {
 public:
  ZeekLogWriter(std::string dir, bool json) : dir_(std::move(dir)), json_(json) {}
  ~ZeekLogWriter() override;
  void publish(const Record& r) override;
  void flush() override;
  // Records will come from several threads at once: each renders into its own buffers.
  void set_concurrent(bool on) { concurrent_ = on; }
  // Writes #close lines and closes every file. Called once at the end.
  void close(TimeNs now);
  const std::string& error() const { return error_; }

  // Escapes a string value the way Zeek's ASCII writer does.
  static void escape_tsv(std::string& out, std::string_view s, bool in_set);
  // Renders a filled row as one TSV or JSON line (without newline).
  static void render_tsv(const ZeekRow& row, std::string& out);
  static void render_json(const ZeekRow& row, std::string& out);

 private:
  struct Log {
    int fd = -1;
    std::string buf;  // rendered rows not yet handed to out_
  };
  Log* log_for(const ZeekSchema& s, TimeNs ts);
  // Fills `row` from the record and appends its line (with newline) to `out`.
  void render_line(const Record& r, const ZeekSchema* schema, ZeekRow& row, std::string& out) const;
  void close_all(TimeNs now, bool footer);
  // Hands every thread's buffered lines to out_ (mu_ not held).
  void drain_threads();

  SpinMutex mu_;
  bool concurrent_ = false;
  std::string dir_;
  bool json_;
  std::map<std::string, Log> logs_;
  // Schemas seen so far and their log (map nodes do not move): one pointer compare per
  // record instead of a string lookup.
  std::vector<std::pair<const ZeekSchema*, Log*>> by_schema_;
  ZeekRow row_;
  std::string error_;
  ThreadBuffers threads_;  // concurrent: each thread's rendered lines per log
  AsyncFileWriter out_;    // last: its destructor writes what the others handed over
};

// Zeek's #open/#close form: 2024-01-01-00-00-00 (UTC).
std::string format_zeek_log_time(TimeNs t);

}  // namespace komainu
