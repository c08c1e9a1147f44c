// Zeek conn.log parity. For every manifest entry of the Zeek corpus with a conn.log baseline,
// the trace goes through Decoder -> FlowTable and each Zeek connection (matched by 5-tuple,
// then by order among connections of the same 5-tuple) is compared on duration, orig/resp
// bytes, conn_state, missed_bytes, history and orig/resp packets and IP bytes. ts and uid
// (masked/random in the baselines) and service (analyzers decide it) are not compared.
//
// Set KOMAINU_PARITY_OUT=FILE to also write the markdown table to FILE.
#include <gtest/gtest.h>
#include <pcap/pcap.h>
#include <simdjson.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "decode/decoder.h"
#include "flow/flow.h"

namespace komainu {
namespace {

const std::string kZeekDir = std::string(KOMAINU_SHARED_DIR) + "/corpus/zeek/";

// The achieved share of identical connections; the test fails below it.
constexpr double kMinIdenticalShare = 0.99;

const char* const kCompared[] = {"duration",     "orig_bytes",   "resp_bytes", "conn_state",
                                 "missed_bytes", "history",      "orig_pkts",  "orig_ip_bytes",
                                 "resp_pkts",    "resp_ip_bytes"};

using Row = std::map<std::string, std::string>;

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == sep) {
      out.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  out.push_back(cur);
  return out;
}

std::vector<Row> read_baseline(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> fields;
  std::vector<Row> rows;
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("#fields", 0) == 0) {
      auto parts = split(line, '\t');
      fields.assign(parts.begin() + 1, parts.end());
      continue;
    }
    if (line.empty() || line[0] == '#') continue;
    auto parts = split(line, '\t');
    Row r;
    for (size_t i = 0; i < fields.size() && i < parts.size(); ++i) r[fields[i]] = parts[i];
    rows.push_back(std::move(r));
  }
  return rows;
}

std::string key_of(const Row& r) {
  return r.at("id.orig_h") + " " + r.at("id.orig_p") + " " + r.at("id.resp_h") + " " +
         r.at("id.resp_p") + " " + r.at("proto");
}
std::string reversed_key_of(const Row& r) {
  return r.at("id.resp_h") + " " + r.at("id.resp_p") + " " + r.at("id.orig_h") + " " +
         r.at("id.orig_p") + " " + r.at("proto");
}

// Collects conn.log rows as Zeek would print them.
class RowSink : public EventSink {
 public:
  void publish(const Record& r) override {
    const ZeekSchema* s = r.zeek_schema();
    if (!s || std::string_view(s->path) != "conn") return;
    row_.reset(s);
    r.write_zeek(row_);
    Row out;
    for (size_t i = 0; i < row_.size() && i < s->fields.size(); ++i) {
      const auto& v = row_.at(i);
      std::string text = "-";
      if (v.set) {
        if (v.container) {
          text.clear();
          for (size_t k = 0; k < v.items.size(); ++k) text += (k ? "," : "") + v.items[k];
          if (v.items.empty()) text = "(empty)";
        } else {
          text = v.text;
        }
      }
      out[s->fields[i].name] = text;
    }
    rows.push_back(std::move(out));
  }
  std::vector<Row> rows;

 private:
  ZeekRow row_;
};

struct TraceResult {
  std::string name;
  size_t baseline = 0, matched = 0, identical = 0, ours = 0;
  std::vector<std::string> diffs;
  std::string error;
};

class FlowAdapter : public PacketSink {
 public:
  explicit FlowAdapter(FlowTable& t) : t_(t) {}
  void on_packet(const Packet& p) override { t_.on_packet(p); }

 private:
  FlowTable& t_;
};

TraceResult run_trace(const std::string& name, const std::string& pcap_path,
                      const std::string& baseline_path, bool verify_checksums) {
  TraceResult res;
  res.name = name;
  char err[PCAP_ERRBUF_SIZE];
  pcap_t* pc = pcap_open_offline(pcap_path.c_str(), err);
  if (!pc) {
    res.error = err;
    return res;
  }
  RowSink sink;
  FlowConfig fc;
  // Zeek's default connection key is the plain 5-tuple.
  fc.key_vlan = false;
  fc.key_tunnel = false;
  FlowTable table(fc, &sink);
  FlowAdapter adapter(table);
  DecodeConfig dc;
  // As Zeek without -C: segments with a bad checksum are not analysed.
  dc.verify_checksums = verify_checksums;
  Decoder dec(dc);
  struct pcap_pkthdr* hdr;
  const u_char* data;
  uint64_t n = 0;
  TimeNs last = 0;
  int link = pcap_datalink(pc);
  while (pcap_next_ex(pc, &hdr, &data) == 1) {
    RawFrame f;
    f.ts = TimeNs(hdr->ts.tv_sec) * kNsPerSec + TimeNs(hdr->ts.tv_usec) * kNsPerUs;
    f.number = ++n;
    f.caplen = hdr->caplen;
    f.wirelen = hdr->len;
    f.linktype = link;
    f.data = data;
    last = std::max(last, f.ts);
    dec.decode(f, adapter);
  }
  pcap_close(pc);
  table.finish(last);

  auto base = read_baseline(baseline_path);
  res.baseline = base.size();
  res.ours = sink.rows.size();
  std::map<std::string, std::vector<const Row*>> ours;
  for (const auto& r : sink.rows) ours[key_of(r)].push_back(&r);
  std::map<std::string, size_t> used;
  for (const auto& b : base) {
    std::string k = key_of(b);
    size_t& u = used[k];
    auto it = ours.find(k);
    if (it == ours.end() || u >= it->second.size()) {
      bool rev = ours.count(reversed_key_of(b)) > 0;
      res.diffs.push_back(
          "`" + k + "` " + b.at("conn_state") + " " + b.at("history") +
          (rev ? ": found with originator and responder swapped" : ": no such connection"));
      continue;
    }
    const Row& o = *it->second[u++];
    ++res.matched;
    std::string d;
    for (const char* field : kCompared) {
      const std::string& zv = b.count(field) ? b.at(field) : std::string("?");
      const std::string& ov = o.count(field) ? o.at(field) : std::string("?");
      if (zv != ov) d += std::string(d.empty() ? "" : ", ") + field + " " + ov + " vs " + zv;
    }
    if (d.empty())
      ++res.identical;
    else
      res.diffs.push_back("`" + k + "` (" + b.at("history") + "): " + d);
  }
  return res;
}

TEST(ZeekParity, ConnLog) {
  std::ifstream probe(kZeekDir + "manifest.json");
  if (!probe) GTEST_SKIP() << "Zeek corpus not found at " << kZeekDir;
  simdjson::dom::parser parser;
  simdjson::dom::element manifest;
  ASSERT_EQ(parser.load(kZeekDir + "manifest.json").get(manifest), simdjson::SUCCESS);
  std::vector<TraceResult> results;
  for (simdjson::dom::element e : manifest.get_array()) {
    simdjson::dom::element conn;
    if (e["baselines"]["conn.log"].get(conn) != simdjson::SUCCESS) continue;
    std::string_view name = e["btest_name"].get_string().value();
    std::string_view pcap = e["pcap"].get_string().value();
    std::string_view base = conn.get_string().value();
    bool ignore_checksums = false;
    if (e["zeek_ignore_checksums"].get(ignore_checksums) != simdjson::SUCCESS)
      ignore_checksums = false;
    results.push_back(run_trace(std::string(name), kZeekDir + std::string(pcap),
                                kZeekDir + std::string(base), !ignore_checksums));
  }
  ASSERT_FALSE(results.empty());

  std::ostringstream md;
  size_t tot_base = 0, tot_match = 0, tot_ident = 0;
  md << "| trace | Zeek conns | matched | identical |\n|---|---:|---:|---:|\n";
  for (const auto& r : results) {
    tot_base += r.baseline;
    tot_match += r.matched;
    tot_ident += r.identical;
    md << "| " << r.name << " | " << r.baseline << " | " << r.matched << " | " << r.identical
       << (r.error.empty() ? "" : " (error: " + r.error + ")") << " |\n";
  }
  double share = tot_base ? double(tot_ident) / double(tot_base) : 0;
  char buf[64];
  snprintf(buf, sizeof buf, "%.1f%%", share * 100);
  md << "| **all (" << results.size() << " traces)** | **" << tot_base << "** | **" << tot_match
     << "** | **" << tot_ident << " (" << buf << ")** |\n\n";
  md << "Differences (ours vs Zeek):\n\n";
  for (const auto& r : results)
    for (const auto& d : r.diffs) md << "- " << r.name << ": " << d << "\n";
  std::string table = md.str();
  printf("%s", table.c_str());
  if (const char* out = getenv("KOMAINU_PARITY_OUT")) {
    std::ofstream f(out);
    f << table;
  }
  EXPECT_GE(share, kMinIdenticalShare) << tot_ident << " of " << tot_base << " identical";
}

}  // namespace
}  // namespace komainu
