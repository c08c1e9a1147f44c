#include "output/eve_writer.h"

#include <cerrno>
#include <cstring>

namespace komainu {

const char* eve_proto_name(uint8_t proto) {
  switch (proto) {
    case 1:
      return "ICMP";
    case 2:
      return "IGMP";
    case 4:
      return "IPIP";
    case 6:
      return "TCP";
    case 17:
      return "UDP";
    case 41:
      return "IPV6";
    case 47:
      return "GRE";
    case 50:
      return "ESP";
    case 51:
      return "AH";
    case 58:
      return "IPv6-ICMP";
    case 132:
      return "SCTP";
    default:
      return nullptr;
  }
}

EveWriter::~EveWriter() {
  if (!f_) return;
  write_out();
  fclose(f_);
}

void EveWriter::write_out() {
  if (f_ && !buf_.empty()) fwrite(buf_.data(), 1, buf_.size(), f_);
  buf_.clear();
}

bool EveWriter::open(const std::string& path, std::string* error) {
  f_ = fopen(path.c_str(), "w");
  if (!f_) {
    *error = path + ": " + strerror(errno);
    return false;
  }
  // Lines are batched in buf_ and written kBatch bytes at a time: stdio's buffer would
  // only copy them once more.
  setvbuf(f_, nullptr, _IONBF, 0);
  buf_.reserve(kBatch + 4096);
  return true;
}

void EveWriter::render(const Record& r, std::string& out) {
  JsonWriter w(out);
  w.begin_object();
  w.kv_eve_time("timestamp", r.ts);
  const FlowContext* fc = r.flow;
  if (fc) w.kv("flow_id", fc->flow_id);
  w.kv("event_type", r.event_type());
  if (fc) {
    if (fc->vlan_count) {
      w.key("vlan").begin_array();
      for (int i = 0; i < fc->vlan_count; ++i) w.value(uint64_t(fc->vlan[i]));
      w.end_array();
    }
    const FlowTuple& t = fc->tuple;
    const IpAddr& src = r.to_client ? t.dst : t.src;
    const IpAddr& dst = r.to_client ? t.src : t.dst;
    uint16_t sport = r.to_client ? t.dport : t.sport;
    uint16_t dport = r.to_client ? t.sport : t.dport;
    char buf[64];
    w.kv("src_ip", std::string_view(buf, src.format(buf)));
    bool ports = t.proto == 6 || t.proto == 17 || t.proto == 132;
    if (ports) w.kv("src_port", uint64_t(sport));
    w.kv("dest_ip", std::string_view(buf, dst.format(buf)));
    if (ports) w.kv("dest_port", uint64_t(dport));
    if (const char* name = eve_proto_name(t.proto)) {
      w.kv("proto", name);
    } else {
      w.kv("proto", std::to_string(t.proto));
    }
    if (!fc->community_id.empty()) w.kv("community_id", fc->community_id);
  }
  r.write_eve(w);
  w.end_object();
}

void EveWriter::publish(const Record& r) {
  if (!r.has_eve()) return;
  std::lock_guard lock(mu_);
  render(r, buf_);
  buf_.push_back('\n');
  if (buf_.size() >= kBatch) write_out();
  ++events_;
}

void EveWriter::flush() {
  std::lock_guard lock(mu_);
  write_out();
  if (f_) fflush(f_);
}

}  // namespace komainu
