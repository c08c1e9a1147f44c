// Signature engine benchmarks:
//   BM_LoadEtOpen      parse + validate every enabled ET Open rule (PCRE2 JIT included)
//   BM_BuildEngine     group the rules and compile the Hyperscan prefilter databases
//   BM_Inspect         inspect() over the TCP/UDP payloads of the seed captures
//
// Payload extraction is deliberately crude (Ethernet/VLAN, IPv4/IPv6, TCP/UDP, no
// reassembly). To reach the HTTP rules, requests get a port-guessed app_proto and their
// method/uri/host/user-agent cut from the request line, so those prefilters run too.
#include <benchmark/benchmark.h>
#include <pcap/pcap.h>

#include <filesystem>

#include "detect/signatures/engine.h"

using namespace komainu;
using namespace komainu::sig;

namespace {

std::filesystem::path shared() {
  return KOMAINU_SHARED_DIR;
}

std::vector<std::string> et_files() {
  std::vector<std::string> out;
  for (auto sub : {"2025-08", "2024-04-supplement"}) {
    auto dir = shared() / "corpus/rules/et-open" / sub;
    if (!std::filesystem::exists(dir)) continue;
    for (const auto& e : std::filesystem::directory_iterator(dir))
      if (e.path().extension() == ".rules") out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

struct Sample {
  Packet pkt;
  std::string payload;
  std::string app;
  std::vector<std::pair<int, std::string>> buffers;
};

void http_buffers(Sample& s) {
  static const char* kMethods[] = {"GET ", "POST ", "HEAD ", "PUT ", "OPTIONS "};
  const std::string& p = s.payload;
  for (const char* m : kMethods) {
    if (p.rfind(m, 0) != 0) continue;
    size_t sp1 = p.find(' '), sp2 = p.find(' ', sp1 + 1), eol = p.find("\r\n");
    if (sp2 == std::string::npos || eol == std::string::npos || sp2 > eol) return;
    s.app = "http";
    s.buffers.emplace_back(buffer_id("http.method"), p.substr(0, sp1));
    s.buffers.emplace_back(buffer_id("http.uri"), p.substr(sp1 + 1, sp2 - sp1 - 1));
    size_t hdr_end = p.find("\r\n\r\n");
    std::string headers =
        p.substr(eol + 2, hdr_end == std::string::npos ? std::string::npos : hdr_end - eol - 2);
    s.buffers.emplace_back(buffer_id("http.header"), headers);
    for (auto [name, buf] :
         {std::pair{"\r\nHost: ", "http.host"}, std::pair{"\r\nUser-Agent: ", "http.user_agent"}}) {
      size_t h = p.find(name);
      if (h == std::string::npos) continue;
      h += strlen(name);
      s.buffers.emplace_back(buffer_id(buf), p.substr(h, p.find("\r\n", h) - h));
    }
    if (hdr_end != std::string::npos && hdr_end + 4 < p.size())
      s.buffers.emplace_back(buffer_id("http.request_body"), p.substr(hdr_end + 4));
    return;
  }
}

std::vector<Sample> load_samples(size_t& bytes) {
  std::vector<Sample> out;
  bytes = 0;
  auto dir = shared() / "bench/seed-pcaps";
  if (!std::filesystem::exists(dir)) return out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() != ".pcap") continue;
    char err[PCAP_ERRBUF_SIZE];
    pcap_t* pc = pcap_open_offline(e.path().c_str(), err);
    if (!pc) continue;
    int dlt = pcap_datalink(pc);
    pcap_pkthdr* h;
    const u_char* d;
    while (pcap_next_ex(pc, &h, &d) == 1) {
      size_t off = 0, n = h->caplen;
      if (dlt == DLT_EN10MB) {
        if (n < 14) continue;
        uint16_t et = d[12] << 8 | d[13];
        off = 14;
        while ((et == 0x8100 || et == 0x88a8) && n >= off + 4) {
          et = d[off + 2] << 8 | d[off + 3];
          off += 4;
        }
        if (et != 0x0800 && et != 0x86dd) continue;
      } else if (dlt != DLT_RAW) {
        continue;
      }
      Sample s;
      Packet& p = s.pkt;
      const u_char* ip = d + off;
      size_t iplen = n - off, l4off;
      if (iplen < 20) continue;
      if ((ip[0] >> 4) == 4) {
        p.ip_version = 4;
        l4off = (ip[0] & 15) * 4;
        p.proto = ip[9];
        p.ttl = ip[8];
        p.src = IpAddr::v4_bytes(ip + 12);
        p.dst = IpAddr::v4_bytes(ip + 16);
      } else {
        if (iplen < 40) continue;
        p.ip_version = 6;
        l4off = 40;
        p.proto = ip[6];
        p.ttl = ip[7];
        p.src = IpAddr::v6_bytes(ip + 8);
        p.dst = IpAddr::v6_bytes(ip + 24);
      }
      const u_char* l4 = ip + l4off;
      if (l4off > iplen) continue;
      size_t l4len = iplen - l4off, hl;
      if (p.proto == 6 && l4len >= 20) {
        hl = (l4[12] >> 4) * 4;
        p.tcp_flags = l4[13];
      } else if (p.proto == 17 && l4len >= 8) {
        hl = 8;
      } else {
        continue;
      }
      if (hl > l4len) continue;
      p.l4_valid = true;
      p.sport = l4[0] << 8 | l4[1];
      p.dport = l4[2] << 8 | l4[3];
      s.payload.assign(reinterpret_cast<const char*>(l4 + hl), l4len - hl);
      if (s.payload.empty()) continue;
      bytes += s.payload.size();
      if (p.proto == 17 && (p.dport == 53 || p.sport == 53)) s.app = "dns";
      if (p.proto == 6 && (p.dport == 443 || p.sport == 443)) s.app = "ssl";
      if (p.proto == 6) http_buffers(s);
      out.push_back(std::move(s));
    }
    pcap_close(pc);
  }
  return out;
}

struct Fixture {
  std::unique_ptr<Engine> engine;
  std::vector<Sample> samples;
  size_t bytes = 0;
  static Fixture& get() {
    static Fixture f = [] {
      Fixture f;
      RuleLoader loader;
      for (auto& file : et_files()) loader.load_file(file);
      std::string err;
      f.engine = Engine::build(loader.take(), err);
      f.samples = load_samples(f.bytes);
      return f;
    }();
    return f;
  }
};

void BM_LoadEtOpen(benchmark::State& state) {
  auto files = et_files();
  if (files.empty()) {
    state.SkipWithError("no ET Open corpus");
    return;
  }
  size_t loaded = 0;
  for (auto _ : state) {
    RuleLoader loader;
    for (auto& f : files) loader.load_file(f);
    loaded = loader.report().loaded;
    benchmark::DoNotOptimize(loaded);
  }
  state.counters["rules"] = static_cast<double>(loaded);
}
BENCHMARK(BM_LoadEtOpen)->Unit(benchmark::kMillisecond)->Iterations(2);

void BM_BuildEngine(benchmark::State& state) {
  auto files = et_files();
  if (files.empty()) {
    state.SkipWithError("no ET Open corpus");
    return;
  }
  RuleLoader loader;
  for (auto& f : files) loader.load_file(f);
  RuleSet set = loader.take();
  EngineStats st;
  for (auto _ : state) {
    state.PauseTiming();
    RuleSet copy = set;
    state.ResumeTiming();
    std::string err;
    auto e = Engine::build(std::move(copy), err);
    if (!e) {
      state.SkipWithError(err.c_str());
      return;
    }
    st = e->stats();
  }
  state.counters["databases"] = static_cast<double>(st.databases);
  state.counters["patterns"] = static_cast<double>(st.patterns);
  state.counters["db_MiB"] = static_cast<double>(st.database_bytes) / (1 << 20);
  state.counters["always"] = static_cast<double>(st.always);
}
BENCHMARK(BM_BuildEngine)->Unit(benchmark::kMillisecond)->Iterations(2);

void BM_Inspect(benchmark::State& state) {
  auto& f = Fixture::get();
  if (!f.engine || f.samples.empty()) {
    state.SkipWithError("no rules or no seed captures");
    return;
  }
  auto scratch = f.engine->new_scratch();
  auto vars = f.engine->new_flow_vars();
  InspectBuffers bufs;
  uint64_t alerts = 0;
  for (auto _ : state) {
    for (auto& s : f.samples) {
      bufs.clear();
      bufs.set(kPayload, s.payload);
      for (auto& [id, b] : s.buffers) bufs.set(static_cast<BufferId>(id), b);
      InspectContext c;
      c.pkt = &s.pkt;
      c.buffers = &bufs;
      c.has_flow = true;
      c.established = true;
      c.to_server = s.pkt.dport < s.pkt.sport;
      c.app_proto = s.app;
      c.flow_vars = vars.get();
      alerts += f.engine->inspect(c, *scratch).size();
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * f.bytes));
  state.counters["packets"] = static_cast<double>(f.samples.size());
  state.counters["alerts_per_pass"] =
      static_cast<double>(alerts) / static_cast<double>(state.iterations());
  state.counters["candidates_per_pkt"] = static_cast<double>(scratch->counters().candidates) /
                                         static_cast<double>(scratch->counters().inspected);
}
BENCHMARK(BM_Inspect)->Unit(benchmark::kMillisecond)->MinTime(3);

}  // namespace

BENCHMARK_MAIN();
