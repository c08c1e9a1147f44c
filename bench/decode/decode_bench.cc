// Decoder throughput: frames of a capture are loaded into memory once, then decoded over and
// over; reports frames/s and Gbit/s of wire bytes. Captures: the whole corpus, a tunnel mix,
// and $KOMAINU_BENCH_PCAP when set (e.g. the 1 GiB benchmark capture).
//
//   ninja decode_bench && ./bench/decode/decode_bench
#include <benchmark/benchmark.h>
#include <pcap/pcap.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "decode/decoder.h"

namespace {

struct Loaded {
  std::vector<uint8_t> bytes;
  std::vector<komainu::RawFrame> frames;  // data pointers into `bytes`
  uint64_t wire_bytes = 0;
};

// Appends every frame of `path` (pcap or pcapng) to `out`.
bool load(const std::string& path, Loaded& out, size_t max_bytes = size_t(2) << 30) {
  char err[PCAP_ERRBUF_SIZE];
  pcap_t* pc = pcap_open_offline(path.c_str(), err);
  if (!pc) {
    std::fprintf(stderr, "%s: %s\n", path.c_str(), err);
    return false;
  }
  std::vector<size_t> offsets;
  size_t first = out.frames.size();
  pcap_pkthdr* h;
  const u_char* data;
  while (pcap_next_ex(pc, &h, &data) == 1 && out.bytes.size() < max_bytes) {
    komainu::RawFrame f;
    f.ts = komainu::TimeNs(h->ts.tv_sec) * komainu::kNsPerSec +
           komainu::TimeNs(h->ts.tv_usec) * komainu::kNsPerUs;
    f.caplen = h->caplen;
    f.wirelen = h->len;
    f.linktype = pcap_datalink(pc);
    offsets.push_back(out.bytes.size());
    out.bytes.insert(out.bytes.end(), data, data + h->caplen);
    out.frames.push_back(f);
    out.wire_bytes += h->len;
  }
  pcap_close(pc);
  for (size_t i = 0; i < offsets.size(); ++i) out.frames[first + i].number = offsets[i];
  return true;
}

void fix_pointers(Loaded& l) {
  for (auto& f : l.frames) f.data = l.bytes.data() + f.number;
}

struct Count : komainu::PacketSink {
  void on_packet(const komainu::Packet& p) override { sum += p.payload_len + p.sport; }
  uint64_t sum = 0;
};

void run(benchmark::State& state, const Loaded& l) {
  if (l.frames.empty()) {
    state.SkipWithError("capture not found");
    return;
  }
  komainu::Decoder d{komainu::DecodeConfig{}};
  Count sink;
  uint64_t frames = 0, bytes = 0;
  for (auto _ : state) {
    for (const auto& f : l.frames) d.decode(f, sink);
    frames += l.frames.size();
    bytes += l.wire_bytes;
  }
  benchmark::DoNotOptimize(sink.sum);
  state.counters["frames/s"] = benchmark::Counter(double(frames), benchmark::Counter::kIsRate);
  state.counters["Gbit/s"] =
      benchmark::Counter(double(bytes) * 8 / 1e9, benchmark::Counter::kIsRate);
  state.counters["frames"] = double(l.frames.size());
  state.counters["avg_frame_bytes"] = double(l.wire_bytes) / double(l.frames.size());
  state.SetBytesProcessed(int64_t(bytes));
}

std::string corpus(const char* rel) {
  return std::string(KOMAINU_SHARED_DIR) + "/corpus/" + rel;
}

// Every capture of the public corpus, back to back: real mixes of sizes and protocols.
Loaded& corpus_mix() {
  static Loaded l = [] {
    Loaded x;
    std::vector<std::string> files;
    std::error_code ec;
    for (const auto& e : std::filesystem::recursive_directory_iterator(corpus(""), ec)) {
      std::string ext = e.path().extension().string();
      if (e.is_regular_file() && (ext == ".pcap" || ext == ".pcapng")) files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
    for (const auto& f : files) load(f, x);
    fix_pointers(x);
    return x;
  }();
  return l;
}

Loaded& tunnel_mix() {
  static Loaded l = [] {
    Loaded x;
    for (const char* f : {"zeek/traces/tunnels/Teredo.pcap", "zeek/traces/tunnels/vxlan.pcap",
                          "zeek/traces/tunnels/geneve.pcap", "zeek/traces/tunnels/gre-sample.pcap",
                          "zeek/traces/tunnels/gre-pptp.pcap", "zeek/traces/q-in-q.pcap",
                          "zeek/traces/mpls-in-vlan.pcap", "zeek/traces/pppoe.pcap"})
      load(corpus(f), x);
    fix_pointers(x);
    return x;
  }();
  return l;
}

Loaded& env_trace() {
  static Loaded l = [] {
    Loaded x;
    if (const char* p = std::getenv("KOMAINU_BENCH_PCAP")) load(p, x);
    fix_pointers(x);
    return x;
  }();
  return l;
}

void BM_DecodeCorpus(benchmark::State& s) {
  run(s, corpus_mix());
}
void BM_DecodeTunnelMix(benchmark::State& s) {
  run(s, tunnel_mix());
}
void BM_DecodeEnvCapture(benchmark::State& s) {
  run(s, env_trace());
}

BENCHMARK(BM_DecodeCorpus)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_DecodeTunnelMix)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_DecodeEnvCapture)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
