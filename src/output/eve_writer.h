#pragma once
#include <cstdio>
#include <mutex>
#include <string>

#include "core/event.h"

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
  uint64_t events() const { return events_; }
  // Renders one record as a line (without newline); used by tests and other sinks.
  static void render(const Record& r, std::string& out);

 private:
  static constexpr size_t kBatch = 256 << 10;
  void write_out();

  std::mutex mu_;
  FILE* f_ = nullptr;
  std::string buf_;  // rendered lines not yet written
  uint64_t events_ = 0;
};

}  // namespace komainu
