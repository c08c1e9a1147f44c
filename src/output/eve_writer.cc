#include "output/eve_writer.h"

#include <fcntl.h>
#include <unistd.h>

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
  if (fd_ < 0) return;
  out_.write(fd_, buf_);
  out_.drain();
  ::close(fd_);
}

bool EveWriter::open(const std::string& path, std::string* error) {
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd_ < 0) {
    *error = path + ": " + strerror(errno);
    return false;
  }
  buf_.reserve(AsyncFileWriter::kChunk + 4096);
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
  if (buf_.size() >= AsyncFileWriter::kChunk) {
    if (fd_ >= 0) {
      out_.write(fd_, buf_);
    } else {
      buf_.clear();  // not opened: rendered for the count only
    }
  }
  ++events_;
}

void EveWriter::flush() {
  std::lock_guard lock(mu_);
  if (fd_ < 0) return;
  out_.write(fd_, buf_);
  out_.drain();
}

}  // namespace komainu
