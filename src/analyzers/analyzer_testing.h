// Test-only harness for analyzers, used before (and beside) the real pipeline: extracts
// per-flow payloads from a clean pcap with libpcap (Ethernet/VLAN/SLL/raw, IPv4/IPv6,
// UDP datagrams, TCP in sequence order per direction; no tunnels, no defragmentation),
// probes and drives an AnalyzerApi's sessions, and collects published records rendered as
// EVE bodies and Zeek TSV rows. Link the test with PkgConfig::PCAP.
#pragma once
#include <pcap/pcap.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "analyzers/analyzer.h"
#include "core/event.h"
#include "core/json.h"

namespace komainu::testing {

struct PayloadEvent {
  size_t flow = 0;
  Direction dir = Direction::kToServer;
  TimeNs ts = 0;
  std::vector<uint8_t> data;
};

struct PcapPayloads {
  std::deque<FlowContext> flows;  // stable addresses: sessions keep pointers
  std::vector<TimeNs> last_ts;
  std::vector<PayloadEvent> events;  // in capture order
  std::string error;
};

namespace detail {

inline bool well_known_server_port(uint16_t p) {
  return p == 53 || p == 22 || p == 443 || p == 80 || p == 5353 || p == 5355 || p == 137 ||
         p == 993 || p == 995 || p == 465 || p == 8443;
}

inline uint32_t sum16(const uint8_t* p, size_t n, uint32_t acc = 0) {
  for (size_t i = 0; i + 1 < n; i += 2) acc += uint32_t(p[i] << 8 | p[i + 1]);
  if (n & 1) acc += uint32_t(p[n - 1] << 8);
  return acc;
}
inline uint16_t fold(uint32_t acc) {
  while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
  return uint16_t(acc);
}

struct TcpDir {
  bool init = false;
  uint32_t next = 0;
  std::map<uint32_t, std::vector<uint8_t>> pending;  // out-of-order, by seq
};

struct FlowState {
  size_t index = 0;
  TcpDir dir[2];
};

}  // namespace detail

// Loads the payloads of every UDP and TCP flow of `path`. UDP datagrams with a bad
// (non-zero) checksum are dropped, which is what the Zeek baselines show (a DNS query from
// a checksum-offloading host is missing there); TCP and IP header checksums are not
// checked, as the TLS baselines show Zeek accepting such packets.
inline bool load_pcap_payloads(const std::string& path, PcapPayloads& out,
                               bool verify_checksums = true) {
  char err[PCAP_ERRBUF_SIZE];
  pcap_t* pc =
      pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, err);
  if (!pc) {
    out.error = err;
    return false;
  }
  int dlt = pcap_datalink(pc);
  using Key = std::tuple<IpAddr, uint16_t, IpAddr, uint16_t, uint8_t>;
  std::map<Key, detail::FlowState> table;
  pcap_pkthdr* h;
  const u_char* d;
  while (pcap_next_ex(pc, &h, &d) == 1) {
    TimeNs ts = TimeNs(h->ts.tv_sec) * kNsPerSec + h->ts.tv_usec;  // nano precision
    const uint8_t* p = d;
    size_t n = h->caplen;
    uint16_t etype = 0;
    if (dlt == DLT_EN10MB) {
      if (n < 14) continue;
      etype = uint16_t(p[12] << 8 | p[13]);
      p += 14, n -= 14;
      while ((etype == 0x8100 || etype == 0x88a8) && n >= 4) {
        etype = uint16_t(p[2] << 8 | p[3]);
        p += 4, n -= 4;
      }
    } else if (dlt == DLT_LINUX_SLL) {
      if (n < 16) continue;
      etype = uint16_t(p[14] << 8 | p[15]);
      p += 16, n -= 16;
    } else if (dlt == DLT_NULL || dlt == DLT_LOOP) {
      if (n < 4) continue;
      p += 4, n -= 4;
      etype = n && (p[0] >> 4) == 6 ? 0x86dd : 0x0800;
    } else if (dlt == DLT_RAW || dlt == 12 || dlt == 14) {
      etype = n && (p[0] >> 4) == 6 ? 0x86dd : 0x0800;
    } else {
      continue;
    }
    IpAddr src, dst;
    uint8_t proto = 0;
    if (etype == 0x0800) {
      if (n < 20 || (p[0] >> 4) != 4) continue;
      size_t ihl = size_t(p[0] & 15) * 4;
      size_t tot = size_t(p[2] << 8 | p[3]);
      if ((uint16_t(p[6] << 8 | p[7]) & 0x3fff) != 0) continue;  // fragments
      if (ihl < 20 || n < ihl) continue;
      if (tot >= ihl && tot < n) n = tot;
      proto = p[9];
      src = IpAddr::v4_bytes(p + 12);
      dst = IpAddr::v4_bytes(p + 16);
      p += ihl, n -= ihl;
    } else if (etype == 0x86dd) {
      if (n < 40) continue;
      size_t plen = size_t(p[4] << 8 | p[5]);
      proto = p[6];
      src = IpAddr::v6_bytes(p + 8);
      dst = IpAddr::v6_bytes(p + 24);
      p += 40, n -= 40;
      if (plen < n) n = plen;
      while ((proto == 0 || proto == 43 || proto == 60) && n >= 8) {
        size_t l = (size_t(p[1]) + 1) * 8;
        if (l > n) break;
        proto = p[0];
        p += l, n -= l;
      }
    } else {
      continue;
    }
    if (verify_checksums && proto == 17 && n >= 8) {
      bool v4 = src.is_v4();
      uint32_t acc = v4 ? detail::sum16(&src.b[12], 4, detail::sum16(&dst.b[12], 4))
                        : detail::sum16(src.b.data(), 16, detail::sum16(dst.b.data(), 16));
      acc += proto + uint32_t(n);
      bool udp_zero = proto == 17 && p[6] == 0 && p[7] == 0 && v4;
      if (!udp_zero && detail::fold(detail::sum16(p, n, acc)) != 0xffff) continue;
    }
    uint16_t sport, dport;
    uint8_t flags = 0;
    uint32_t seq = 0;
    if (proto == 17) {
      if (n < 8) continue;
      sport = uint16_t(p[0] << 8 | p[1]);
      dport = uint16_t(p[2] << 8 | p[3]);
      size_t ulen = size_t(p[4] << 8 | p[5]);
      p += 8, n -= 8;
      if (ulen >= 8 && ulen - 8 < n) n = ulen - 8;
    } else if (proto == 6) {
      if (n < 20) continue;
      sport = uint16_t(p[0] << 8 | p[1]);
      dport = uint16_t(p[2] << 8 | p[3]);
      seq = uint32_t(p[4]) << 24 | uint32_t(p[5]) << 16 | uint32_t(p[6]) << 8 | p[7];
      size_t off = size_t(p[12] >> 4) * 4;
      flags = p[13];
      if (off < 20 || off > n) continue;
      p += off, n -= off;
    } else {
      continue;
    }
    Key fwd{src, sport, dst, dport, proto}, rev{dst, dport, src, sport, proto};
    auto it = table.find(fwd);
    bool is_orig = true;
    if (it == table.end()) {
      it = table.find(rev);
      if (it != table.end()) is_orig = false;
    }
    if (it == table.end()) {
      bool flip = (proto == 6 && (flags & 0x12) == 0x12) ||
                  (proto != 6 && detail::well_known_server_port(sport) &&
                   !detail::well_known_server_port(dport));
      FlowContext ctx;
      ctx.flow_id = out.flows.size() + 1;
      ctx.uid = "C" + std::to_string(out.flows.size() + 1);
      ctx.tuple = flip ? FlowTuple{dst, src, dport, sport, proto}
                       : FlowTuple{src, dst, sport, dport, proto};
      detail::FlowState st;
      st.index = out.flows.size();
      out.flows.push_back(ctx);
      out.last_ts.push_back(ts);
      it = table.emplace(flip ? rev : fwd, std::move(st)).first;
      is_orig = !flip;
    }
    detail::FlowState& st = it->second;
    out.last_ts[st.index] = ts;
    Direction dir = is_orig ? Direction::kToServer : Direction::kToClient;
    auto emit = [&](const uint8_t* b, size_t len) {
      if (len == 0) return;
      out.events.push_back({st.index, dir, ts, std::vector<uint8_t>(b, b + len)});
    };
    if (proto == 17) {
      out.events.push_back({st.index, dir, ts, std::vector<uint8_t>(p, p + n)});
      continue;
    }
    detail::TcpDir& td = st.dir[is_orig ? 0 : 1];
    if (!td.init) {
      td.init = true;
      td.next = seq + ((flags & 0x02) ? 1 : 0);
    }
    if (flags & 0x02) continue;
    if (n == 0) continue;
    int32_t delta = int32_t(seq - td.next);
    if (delta > 0) {
      td.pending[seq] = std::vector<uint8_t>(p, p + n);
      continue;
    }
    if (size_t(-delta) >= n) continue;  // retransmission
    emit(p + size_t(-delta), n - size_t(-delta));
    td.next = seq + uint32_t(n);
    for (auto pit = td.pending.begin(); pit != td.pending.end();) {
      int32_t dd = int32_t(pit->first - td.next);
      if (dd > 0) break;
      size_t l = pit->second.size();
      if (size_t(-dd) < l) {
        emit(pit->second.data() + size_t(-dd), l - size_t(-dd));
        td.next = pit->first + uint32_t(l);
      }
      pit = td.pending.erase(pit);
    }
  }
  pcap_close(pc);
  return true;
}

inline std::string zeek_escape(std::string_view s) {
  std::string o;
  for (unsigned char c : s) {
    if (c == '\\') {  // as Zeek's ASCII writer (and output/zeek_writer.cc)
      o += "\\\\";
    } else if (c < 0x20 || c >= 0x7f) {
      char b[8];
      snprintf(b, sizeof b, "\\x%02x", c);
      o += b;
    } else {
      o.push_back(char(c));
    }
  }
  return o;
}

// A Zeek row as TSV with Zeek's "-" / "(empty)" conventions.
inline std::string zeek_tsv(const ZeekRow& row) {
  std::string line;
  for (size_t i = 0; i < row.size(); ++i) {
    if (i) line.push_back('\t');
    const auto& v = row.at(i);
    if (!v.set) {
      line += "-";
    } else if (v.container) {
      if (v.items.empty()) line += "(empty)";
      for (size_t k = 0; k < v.items.size(); ++k) {
        if (k) line.push_back(',');
        line += zeek_escape(v.items[k]);
      }
    } else if (v.is_string && v.text.empty()) {
      line += "(empty)";
    } else {
      line += zeek_escape(v.text);
    }
  }
  return line;
}

// Keeps every published record rendered: EVE as {"event_type":..,<body>} and Zeek rows.
class CollectingSink : public EventSink {
 public:
  struct Eve {
    std::string event_type;
    std::string json;
    bool to_client;
  };
  void publish(const Record& r) override {
    if (r.has_eve()) {
      std::string body;
      JsonWriter w(body);
      w.begin_object();
      w.kv("event_type", r.event_type());
      r.write_eve(w);
      w.end_object();
      eve.push_back({std::string(r.event_type()), body, r.to_client});
    }
    if (const ZeekSchema* s = r.zeek_schema()) {
      ZeekRow row;
      row.reset(s);
      r.write_zeek(row);
      zeek[s->path].push_back(zeek_tsv(row));
      schemas[s->path] = s;
      if (row.size() != s->fields.size()) schema_mismatches++;
    }
  }
  std::vector<Eve> eve;
  std::map<std::string, std::vector<std::string>> zeek;
  std::map<std::string, const ZeekSchema*> schemas;
  int schema_mismatches = 0;
};

// Drives `api` over every flow of `pl` as the flow stage would: the first bytes of each
// direction are probed (accumulated while the probe says kMaybe), then a session gets
// the data; all sessions are closed at their flow's last packet time, in flow order.
inline void run_analyzer(const AnalyzerApi& api, const PcapPayloads& pl, EventSink& sink) {
  struct S {
    int state = 0;  // 0 probing, 1 attached, 2 rejected
    std::unique_ptr<AppSession> session;
    std::vector<uint8_t> early[2];
    std::vector<std::pair<Direction, TimeNs>> early_ts;
    int udp_rounds[2] = {0, 0};
  };
  std::vector<S> st(pl.flows.size());
  // One worker: the analyzer's per-worker state (if any) spans every flow of the trace.
  std::unique_ptr<AnalyzerWorkerState> worker =
      api.make_worker_state ? api.make_worker_state(nullptr) : nullptr;
  for (const auto& ev : pl.events) {
    const FlowContext& fc = pl.flows[ev.flow];
    S& s = st[ev.flow];
    bool udp = fc.tuple.proto == 17;
    if ((udp && !api.udp) || (!udp && !api.tcp)) continue;
    if (s.state == 2) continue;
    if (s.state == 0) {
      int d = int(ev.dir);
      std::vector<uint8_t> probe_bytes = s.early[d];
      probe_bytes.insert(probe_bytes.end(), ev.data.begin(), ev.data.end());
      ProbeResult r = api.probe(probe_bytes, ev.dir, fc.tuple.dport);
      if (r == ProbeResult::kNo) {
        s.state = 2;
        continue;
      }
      if (r == ProbeResult::kMaybe && !udp && probe_bytes.size() < 8192) {
        s.early[d] = std::move(probe_bytes);
        continue;
      }
      if (r == ProbeResult::kMaybe && udp && ++s.udp_rounds[d] < 16) continue;  // as the flow stage
      if (r == ProbeResult::kMaybe) {
        s.state = 2;
        continue;
      }
      s.state = 1;
      s.session = api.create(SessionContext{&sink, &fc, nullptr, worker.get()});
      int other = 1 - d;
      if (!s.early[other].empty()) s.session->on_data(Direction(other), s.early[other], ev.ts);
      s.session->on_data(ev.dir, probe_bytes, ev.ts);
      s.early[0].clear();
      s.early[1].clear();
      continue;
    }
    s.session->on_data(ev.dir, ev.data, ev.ts);
  }
  for (size_t i = 0; i < st.size(); ++i)
    if (st[i].session) st[i].session->on_close(pl.last_ts[i]);
}

// Zeek baseline rows (data lines only) of a log, with the columns named in `fields`.
struct ZeekBaseline {
  std::vector<std::string> fields;
  std::vector<std::vector<std::string>> rows;
};

inline std::vector<std::string> split_tabs(const std::string& line) {
  std::vector<std::string> out;
  size_t s = 0;
  for (;;) {
    size_t e = line.find('\t', s);
    out.push_back(line.substr(s, e == std::string::npos ? std::string::npos : e - s));
    if (e == std::string::npos) break;
    s = e + 1;
  }
  return out;
}

inline bool load_zeek_baseline(const std::string& path, ZeekBaseline& out) {
  FILE* f = fopen(path.c_str(), "r");
  if (!f) return false;
  char* buf = nullptr;
  size_t cap = 0;
  ssize_t len;
  while ((len = getline(&buf, &cap, f)) > 0) {
    std::string line(buf, size_t(len));
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    if (line.rfind("#fields\t", 0) == 0) {
      out.fields = split_tabs(line.substr(8));
    } else if (!line.empty() && line[0] != '#') {
      out.rows.push_back(split_tabs(line));
    }
  }
  free(buf);
  fclose(f);
  return true;
}

struct ParityResult {
  size_t baseline = 0, identical = 0, produced = 0;
  std::vector<std::string> diffs;
};

// How some columns compare: sets whose order Zeek leaves to its hash table, and ids that
// are random in the baselines (file ids), of which only the number can match.
struct RowCompare {
  std::vector<std::string> unordered;  // comma-separated sets, compared as sorted lists
  std::vector<std::string> counted;    // comma-separated ids: the same number of items
};

inline std::string compare_key(const std::string& v, const std::string& field,
                               const RowCompare& how) {
  auto has = [&](const std::vector<std::string>& l) {
    return std::find(l.begin(), l.end(), field) != l.end();
  };
  if (!has(how.unordered) && !has(how.counted)) return v;
  if (v == "-" || v == "(empty)") return v;
  std::vector<std::string> items;
  size_t b = 0;
  for (;;) {
    size_t e = v.find(',', b);
    items.push_back(v.substr(b, e == std::string::npos ? std::string::npos : e - b));
    if (e == std::string::npos) break;
    b = e + 1;
  }
  if (has(how.counted)) return "#" + std::to_string(items.size());
  std::sort(items.begin(), items.end());
  std::string out;
  for (const auto& i : items) out += i + "\n";
  return out;
}

// Compares rows on the fields both sides have, except ts and uid (masked/random in Zeek's).
inline ParityResult compare_rows(const ZeekBaseline& base, const ZeekSchema& schema,
                                 const std::vector<std::string>& ours, const RowCompare& how = {}) {
  ParityResult r;
  std::vector<std::pair<size_t, size_t>> cols;  // (baseline idx, ours idx)
  for (size_t i = 0; i < base.fields.size(); ++i)
    for (size_t k = 0; k < schema.fields.size(); ++k)
      if (base.fields[i] == schema.fields[k].name && base.fields[i] != "ts" &&
          base.fields[i] != "uid")
        cols.push_back({i, k});
  std::vector<std::vector<std::string>> rows;
  for (const auto& l : ours) rows.push_back(split_tabs(l));
  std::vector<bool> used(rows.size(), false);
  r.baseline = base.rows.size();
  r.produced = rows.size();
  for (const auto& b : base.rows) {
    bool found = false;
    for (size_t j = 0; j < rows.size() && !found; ++j) {
      if (used[j]) continue;
      bool eq = true;
      for (auto [bi, oi] : cols)
        eq &= bi < b.size() && oi < rows[j].size() &&
              compare_key(b[bi], base.fields[bi], how) ==
                  compare_key(rows[j][oi], base.fields[bi], how);
      if (eq) used[j] = found = true;
    }
    if (found) {
      ++r.identical;
    } else {
      std::string line;
      for (const auto& f : b) line += f + "|";
      r.diffs.push_back("missing: " + line);
    }
  }
  for (size_t j = 0; j < rows.size(); ++j)
    if (!used[j]) r.diffs.push_back("extra:   " + ours[j]);
  return r;
}

// Runs `api` over a corpus pcap and compares the produced `log` rows with a Zeek baseline;
// prints a summary line and every difference.
inline ParityResult parity_case(const AnalyzerApi& api, const std::string& pcap,
                                const std::string& baseline, const std::string& log,
                                const char* label) {
  ParityResult r;
  PcapPayloads pl;
  ZeekBaseline base;
  if (!load_pcap_payloads(pcap, pl) || !load_zeek_baseline(baseline, base)) {
    r.diffs.push_back("cannot read " + pcap + " or " + baseline);
    return r;
  }
  CollectingSink sink;
  run_analyzer(api, pl, sink);
  if (sink.schemas.count(log)) {
    r = compare_rows(base, *sink.schemas[log], sink.zeek[log]);
  } else {
    r.baseline = base.rows.size();
    for (const auto& b : base.rows) r.diffs.push_back("missing: " + (b.size() > 2 ? b[2] : ""));
  }
  printf("[parity] %s %s: %zu/%zu identical, %zu produced\n", log.c_str(), label, r.identical,
         r.baseline, r.produced);
  for (const auto& d : r.diffs) printf("    %s\n", d.c_str());
  return r;
}

}  // namespace komainu::testing
