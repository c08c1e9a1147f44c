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
  threads_.drain([this](void*, std::string& buf) { out_.write(fd_, buf); });
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

namespace {

// The header members after event_type (vlan, src/dest address and port, proto,
// community_id) of one flow and direction, rendered once: a flow's records (SMB commands,
// DNS messages, files, the flow event) repeat them. Entries are checked against everything
// they were rendered from, so a reused flow slot or a flipped tuple renders again.
struct HeaderCache {
  struct Entry {
    const FlowContext* ctx = nullptr;
    uint64_t flow_id = 0;
    bool to_client = false;
    FlowTuple tuple;
    uint16_t vlan[2] = {0, 0};
    uint8_t vlan_count = 0;
    std::string community_id;
    std::string text;  // ,"src_ip":...,"community_id":"..."

    bool matches(const FlowContext& fc, bool tc) const {
      return ctx == &fc && flow_id == fc.flow_id && to_client == tc && tuple.src == fc.tuple.src &&
             tuple.dst == fc.tuple.dst && tuple.sport == fc.tuple.sport &&
             tuple.dport == fc.tuple.dport && tuple.proto == fc.tuple.proto &&
             vlan_count == fc.vlan_count && vlan[0] == fc.vlan[0] && vlan[1] == fc.vlan[1] &&
             community_id == fc.community_id;
    }
  };
  static constexpr size_t kEntries = 64;
  Entry entries[kEntries];

  const std::string& get(const FlowContext& fc, bool to_client) {
    const uintptr_t p = reinterpret_cast<uintptr_t>(&fc);
    Entry& e = entries[((p >> 4) ^ (p >> 12) ^ (to_client ? 1 : 0)) % kEntries];
    if (e.matches(fc, to_client)) return e.text;
    e.ctx = &fc;
    e.flow_id = fc.flow_id;
    e.to_client = to_client;
    e.tuple = fc.tuple;
    e.vlan[0] = fc.vlan[0];
    e.vlan[1] = fc.vlan[1];
    e.vlan_count = fc.vlan_count;
    e.community_id = fc.community_id;
    e.text.assign(1, ',');
    render(fc, to_client, e.text);
    return e.text;
  }

  static void render(const FlowContext& fc, bool to_client, std::string& out) {
    JsonWriter w(out);  // no comma before its first member: `out` already ends with one
    if (fc.vlan_count) {
      w.key("vlan").begin_array();
      for (int i = 0; i < fc.vlan_count; ++i) w.value(uint64_t(fc.vlan[i]));
      w.end_array();
    }
    const FlowTuple& t = fc.tuple;
    const IpAddr& src = to_client ? t.dst : t.src;
    const IpAddr& dst = to_client ? t.src : t.dst;
    uint16_t sport = to_client ? t.dport : t.sport;
    uint16_t dport = to_client ? t.sport : t.dport;
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
    if (!fc.community_id.empty()) w.kv("community_id", fc.community_id);
  }
};

}  // namespace

void EveWriter::render(const Record& r, std::string& out) {
  thread_local HeaderCache header_cache;
  JsonWriter w(out);
  w.begin_object();
  w.kv_eve_time("timestamp", r.ts);
  const FlowContext* fc = r.flow;
  if (fc) w.kv("flow_id", fc->flow_id);
  w.kv("event_type", r.event_type());
  // `w` stays after a member (a comma before its next one): the cached text is members.
  if (fc) out.append(header_cache.get(*fc, r.to_client));
  r.write_eve(w);
  w.end_object();
}

void EveWriter::publish(const Record& r) {
  if (!r.has_eve()) return;
  if (concurrent_) {
    ThreadBuffers::Slot& s = threads_.mine();
    std::lock_guard lock(s.mu);
    ThreadBuffers::Stream* st = s.find(this);
    if (!st) st = &s.add(this, nullptr);
    render(r, st->buf);
    st->buf.push_back('\n');
    ++s.lines;
    if (st->buf.size() >= AsyncFileWriter::kChunk) hand_over(st->buf);
    return;
  }
  render(r, buf_);
  buf_.push_back('\n');
  if (buf_.size() >= AsyncFileWriter::kChunk) hand_over(buf_);
  ++events_;
}

void EveWriter::hand_over(std::string& buf) {
  std::lock_guard lock(mu_);
  if (fd_ >= 0) {
    out_.write(fd_, buf);
  } else {
    buf.clear();  // not opened: rendered for the count only
  }
}

void EveWriter::flush() {
  threads_.drain([this](void*, std::string& buf) { hand_over(buf); });
  std::lock_guard lock(mu_);
  if (fd_ < 0) return;
  out_.write(fd_, buf_);
  out_.drain();
}

}  // namespace komainu
