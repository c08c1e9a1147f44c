// Test helper (header-only, needs libpcap): the TCP payload of each connection in a clean
// trace, per direction, in order, as chunks in capture order. Out-of-order segments are
// held until contiguous and retransmissions trimmed; what is never filled is a gap. This
// stands in for the flow stage's reassembly so analyzers can be checked on real payloads.
#pragma once
#include <arpa/inet.h>
#include <pcap/pcap.h>

#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <tuple>
#include <vector>

namespace komainu::testing {

struct StreamChunk {
  int dir = 0;  // 0 = from the originator, 1 = from the responder
  std::vector<uint8_t> bytes;
  int64_t ts_ns = 0;
  uint64_t gap = 0;  // > 0: this chunk is a gap of that many bytes instead of data
};

struct TcpConn {
  std::string orig_ip, resp_ip;
  uint16_t orig_port = 0, resp_port = 0;
  std::vector<StreamChunk> chunks;
  int64_t first_ts = 0;
};

namespace detail {

struct DirState {
  bool init = false;
  uint32_t next = 0;
  std::map<uint32_t, std::pair<std::vector<uint8_t>, int64_t>> pending;
};

inline std::string ip_text(const uint8_t* p, bool v6) {
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(v6 ? AF_INET6 : AF_INET, p, buf, sizeof buf);
  return buf;
}

}  // namespace detail

// Returns connections in order of first packet. Empty on error (err filled).
inline std::vector<TcpConn> read_tcp_streams(const std::string& path, std::string* err = nullptr) {
  std::vector<TcpConn> conns;
  char ebuf[PCAP_ERRBUF_SIZE];
  pcap_t* pc =
      pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, ebuf);
  if (!pc) {
    if (err) *err = ebuf;
    return conns;
  }
  struct Key {
    std::string a, b;
    uint16_t pa, pb;
    bool operator<(const Key& o) const {
      return std::tie(a, pa, b, pb) < std::tie(o.a, o.pa, o.b, o.pb);
    }
  };
  std::map<Key, size_t> index;
  std::vector<detail::DirState> states;  // 2 per conn
  int dlt = pcap_datalink(pc);
  pcap_pkthdr* h;
  const u_char* d;
  while (pcap_next_ex(pc, &h, &d) == 1) {
    const uint8_t* p = d;
    size_t n = h->caplen;
    int64_t ts = int64_t(h->ts.tv_sec) * 1000000000 + h->ts.tv_usec;
    uint16_t et = 0;
    if (dlt == DLT_EN10MB) {
      if (n < 14) continue;
      et = uint16_t(p[12] << 8 | p[13]);
      p += 14, n -= 14;
      while ((et == 0x8100 || et == 0x88a8) && n >= 4) {
        et = uint16_t(p[2] << 8 | p[3]);
        p += 4, n -= 4;
      }
    } else if (dlt == DLT_LINUX_SLL) {
      if (n < 16) continue;
      et = uint16_t(p[14] << 8 | p[15]);
      p += 16, n -= 16;
    } else if (dlt == DLT_NULL || dlt == DLT_LOOP) {
      if (n < 4) continue;
      p += 4, n -= 4;
      et = n && (p[0] >> 4) == 6 ? 0x86dd : 0x0800;
    } else if (dlt == DLT_RAW || dlt == 12 || dlt == 14 || dlt == 101 || dlt == 228 || dlt == 229) {
      et = n && (p[0] >> 4) == 6 ? 0x86dd : 0x0800;
    } else {
      continue;
    }
    std::string src, dst;
    const uint8_t* tcp;
    size_t tlen;
    if (et == 0x0800) {
      if (n < 20 || p[9] != 6) continue;
      size_t ihl = (p[0] & 15) * 4;
      size_t tot = size_t(p[2] << 8 | p[3]);
      if (tot < n) n = tot;
      if (ihl < 20 || n < ihl || (uint16_t(p[6] << 8 | p[7]) & 0x3fff)) continue;
      src = detail::ip_text(p + 12, false), dst = detail::ip_text(p + 16, false);
      tcp = p + ihl, tlen = n - ihl;
    } else if (et == 0x86dd) {
      if (n < 40 || p[6] != 6) continue;
      size_t pl = size_t(p[4] << 8 | p[5]);
      if (pl + 40 < n) n = pl + 40;
      src = detail::ip_text(p + 8, true), dst = detail::ip_text(p + 24, true);
      tcp = p + 40, tlen = n - 40;
    } else {
      continue;
    }
    if (tlen < 20) continue;
    uint16_t sp = uint16_t(tcp[0] << 8 | tcp[1]), dp = uint16_t(tcp[2] << 8 | tcp[3]);
    uint32_t seq = uint32_t(tcp[4]) << 24 | uint32_t(tcp[5]) << 16 | uint32_t(tcp[6]) << 8 | tcp[7];
    size_t off = (tcp[12] >> 4) * 4;
    uint8_t flags = tcp[13];
    if (off < 20 || off > tlen) continue;
    Key k{src, dst, sp, dp}, rk{dst, src, dp, sp};
    size_t ci;
    int dir;
    if (auto it = index.find(k); it != index.end()) {
      ci = it->second, dir = 0;
    } else if (auto rit = index.find(rk); rit != index.end()) {
      ci = rit->second, dir = 1;
    } else {
      // SYN-ACK first means the sender is the responder.
      bool synack = (flags & 0x12) == 0x12;
      ci = conns.size();
      conns.push_back({});
      states.resize(states.size() + 2);
      TcpConn& c = conns.back();
      c.first_ts = ts;
      if (synack) {
        c.orig_ip = dst, c.resp_ip = src, c.orig_port = dp, c.resp_port = sp;
        index[rk] = ci, dir = 1;
      } else {
        c.orig_ip = src, c.resp_ip = dst, c.orig_port = sp, c.resp_port = dp;
        index[k] = ci, dir = 0;
      }
    }
    detail::DirState& st = states[ci * 2 + dir];
    TcpConn& c = conns[ci];
    const uint8_t* pay = tcp + off;
    size_t plen = tlen - off;
    if (flags & 0x02) {  // SYN (TCP Fast Open may carry data)
      st.init = true;
      st.next = seq + 1;
      if (plen == 0) continue;
      seq += 1;
    }
    if (!st.init) {
      st.init = true;
      st.next = seq;
    }
    if (plen == 0) continue;
    int32_t rel = int32_t(seq - st.next);
    if (rel < 0) {
      if (size_t(-rel) >= plen) continue;  // retransmission
      pay += -rel, plen -= size_t(-rel), seq = st.next, rel = 0;
    }
    if (rel > 0) {
      auto& slot = st.pending[seq];
      if (slot.first.size() < plen) slot = {std::vector<uint8_t>(pay, pay + plen), ts};
      continue;
    }
    c.chunks.push_back({dir, std::vector<uint8_t>(pay, pay + plen), ts, 0});
    st.next = seq + uint32_t(plen);
    // Drain held segments now contiguous.
    for (auto it = st.pending.begin(); it != st.pending.end();) {
      int32_t r = int32_t(it->first - st.next);
      auto& bytes = it->second.first;
      if (r > 0) break;
      if (size_t(-r) < bytes.size()) {
        c.chunks.push_back(
            {dir, std::vector<uint8_t>(bytes.begin() + (-r), bytes.end()), it->second.second, 0});
        st.next += uint32_t(bytes.size() - size_t(-r));
      }
      it = st.pending.erase(it);
    }
  }
  pcap_close(pc);
  // What stayed out of order becomes a gap, then its data.
  for (size_t ci = 0; ci < conns.size(); ++ci)
    for (int dir = 0; dir < 2; ++dir) {
      auto& st = states[ci * 2 + dir];
      for (auto& [seq, v] : st.pending) {
        int32_t r = int32_t(seq - st.next);
        if (r < 0 && size_t(-r) >= v.first.size()) continue;
        if (r > 0) conns[ci].chunks.push_back({dir, {}, v.second, uint64_t(r)});
        size_t skip = r < 0 ? size_t(-r) : 0;
        conns[ci].chunks.push_back(
            {dir, std::vector<uint8_t>(v.first.begin() + skip, v.first.end()), v.second, 0});
        st.next = seq + uint32_t(v.first.size());
      }
    }
  return conns;
}

}  // namespace komainu::testing

#include <fstream>
#include <sstream>

#include "analyzers/files/capture_sink.h"

namespace komainu::testing {

inline std::vector<std::string> split_tabs(const std::string& line) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream in(line);
  while (std::getline(in, cur, '\t')) out.push_back(cur);
  return out;
}

inline bool read_zeek_baseline(const std::string& path, ZeekBaseline& out) {
  std::ifstream in(path);
  if (!in) return false;
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with("#fields\t")) {
      out.fields = split_tabs(line.substr(8));
    } else if (!line.empty() && line[0] != '#') {
      out.rows.push_back(split_tabs(line));
    }
  }
  return !out.fields.empty();
}

}  // namespace komainu::testing

namespace komainu::testing {

// Zeek log escaping undone: "\\" -> "\", "\xNN" -> byte.
inline std::string zeek_unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size() && s[i + 1] == '\\') {
      out.push_back('\\');
      ++i;
    } else if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] == 'x') {
      out.push_back(static_cast<char>(std::stoi(s.substr(i + 2, 2), nullptr, 16)));
      i += 3;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

}  // namespace komainu::testing
