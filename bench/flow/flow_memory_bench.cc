// A generated SYN flood of distinct flows through one FlowTable with a flow-memory cap:
// reports peak RSS, evictions and packets per second.
//
//   flow_memory_bench [flows=5000000] [memcap_mib=256]
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "flow/flow.h"

using namespace komainu;

namespace {

// Outputs are not what is measured: records are counted, not written.
class CountingSink : public EventSink {
 public:
  void publish(const Record& r) override {
    if (dynamic_cast<const FlowStartRecord*>(&r))
      ++starts;
    else
      ++records;
  }
  uint64_t records = 0;  // conn records
  uint64_t starts = 0;   // FlowStartRecords
};

long peak_rss_kib() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t flows = argc > 1 ? strtoull(argv[1], nullptr, 10) : 5'000'000;
  uint64_t memcap_mib = argc > 2 ? strtoull(argv[2], nullptr, 10) : 256;
  long rss_before = peak_rss_kib();

  FlowConfig cfg;
  cfg.memcap = memcap_mib << 20;
  CountingSink sink;
  FlowTable table(cfg, &sink);

  RawFrame frame;
  frame.wirelen = 60;
  Packet p;
  p.frame = &frame;
  p.ip_version = 4;
  p.proto = 6;
  p.l4_valid = true;
  p.tcp_flags = tcpflag::kSyn;
  p.ip_len = 40;
  p.window = 1024;
  p.dport = 80;
  p.dst = IpAddr::v4(0xc0000201);  // 192.0.2.1
  const TimeNs t0 = 1'700'000'000 * kNsPerSec;

  auto start = std::chrono::steady_clock::now();
  for (uint64_t i = 0; i < flows; ++i) {
    // Distinct sources and ports, one SYN each, 1 µs apart (a 5 s flood for 5M flows).
    p.src = IpAddr::v4(0x0a000000u | uint32_t(i >> 14));
    p.sport = uint16_t(1024 + (i & 0x3fff));
    p.seq = uint32_t(i * 2654435761u);
    p.ts = frame.ts = t0 + TimeNs(i) * kNsPerUs;
    table.on_packet(p);
  }
  auto mid = std::chrono::steady_clock::now();
  table.finish(t0 + TimeNs(flows) * kNsPerUs);
  auto end = std::chrono::steady_clock::now();

  double secs = std::chrono::duration<double>(mid - start).count();
  const CounterSet& c = table.counters();
  printf("flows generated      %llu\n", (unsigned long long)flows);
  printf("memcap               %llu MiB\n", (unsigned long long)memcap_mib);
  printf("flow size            %zu bytes\n", sizeof(Flow));
  printf("flows created        %llu\n", (unsigned long long)c[kFlowsCreated]);
  printf("evicted (memcap)     %llu\n", (unsigned long long)c[kFlowsEvicted]);
  printf("timed out            %llu\n", (unsigned long long)c[kFlowsTimedOut]);
  printf("flushed at end       %llu\n", (unsigned long long)c[kFlowsShutdown]);
  printf("records published    %llu\n", (unsigned long long)sink.records);
  printf("packets/s            %.0f\n", double(flows) / secs);
  printf("finish               %.2f s\n", std::chrono::duration<double>(end - mid).count());
  printf("peak RSS             %.1f MiB (at start %.1f MiB)\n", peak_rss_kib() / 1024.0,
         rss_before / 1024.0);

  // Steady state: packets of already-known flows (lookup + TCP state, no creation).
  {
    CountingSink sink2;
    FlowTable warm(cfg, &sink2);
    const uint64_t kFlows = 10'000, kPackets = 5'000'000;
    p.tcp_flags = tcpflag::kAck;
    auto s2 = std::chrono::steady_clock::now();
    for (uint64_t i = 0; i < kPackets; ++i) {
      uint64_t f = i % kFlows;
      p.src = IpAddr::v4(0x0b000000u | uint32_t(f >> 14));
      p.sport = uint16_t(1024 + (f & 0x3fff));
      p.seq = uint32_t(1000 + i / kFlows);
      p.ts = frame.ts = t0 + TimeNs(i) * kNsPerUs;
      warm.on_packet(p);
    }
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - s2).count();
    printf("packets/s (known)    %.0f (%llu flows, %llu packets)\n", double(kPackets) / s,
           (unsigned long long)kFlows, (unsigned long long)kPackets);
  }
  bool ok = peak_rss_kib() < 400 * 1024 && c[kFlowsCreated] == flows && sink.records == flows &&
            sink.starts == flows;
  printf("%s\n", ok ? "OK: under 400 MiB, every flow logged" : "NOT OK");
  return ok ? 0 : 1;
}
