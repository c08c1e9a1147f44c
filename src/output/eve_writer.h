#pragma once
#include <mutex>
#include <string>

#include "core/event.h"
#include "core/spin_mutex.h"
#include "output/async_file.h"
#include "output/thread_buffers.h"

namespace komainu {

// Suricata's IP protocol names ("TCP", "UDP", "ICMP", "IPv6-ICMP", ...).
const char* eve_proto_name(uint8_t proto);

// Writes EVE JSON lines: Suricata's common header (timestamp, flow_id, event_type, vlan,
// src_ip, src_port, dest_ip, dest_port, proto, community_id) then the record's own members.
class EveWriter : public EventSink {
 public:
  ~EveWriter() override;
  bool open(const std::string& path, std::string* error);
  void publish(const Record& r) override;
  void flush() override;
  // Records will come from several threads at once: each renders into its own buffer.
  void set_concurrent(bool on) { concurrent_ = on; }
  uint64_t events() { return events_ + threads_.lines(); }
  // Failed writes so far (disk full, I/O error), with the first one's text.
  uint64_t write_errors() const { return out_.errors(); }
  std::string write_error() const { return out_.first_error(); }
  // Renders one record as a line (without newline); used by tests and other sinks.
  static void render(const Record& r, std::string& out);

 private:
  // Hands a thread's full (or flushed) buffer to out_; takes mu_.
  void hand_over(std::string& buf);

  SpinMutex mu_;
  bool concurrent_ = false;
  int fd_ = -1;
  std::string buf_;  // rendered lines not yet handed to out_
  uint64_t events_ = 0;
  ThreadBuffers threads_;  // concurrent: each thread's rendered lines
  AsyncFileWriter out_;    // last: its destructor writes what the others handed over
};

}  // namespace komainu
