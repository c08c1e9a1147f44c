// All enabled ET Open rules over the TCP/UDP payloads of the seed captures: the engine must
// get through hostile real traffic (this runs under ASan/UBSan in the sanitizer build) and
// the alerts must make sense for the captures.
#include <gtest/gtest.h>
#include <pcap/pcap.h>

#include <filesystem>
#include <map>

#include "detect/signatures/engine.h"

namespace komainu::sig {
namespace {

TEST(Corpus, EtOpenOverSeedCapturePayloads) {
  std::filesystem::path shared = KOMAINU_SHARED_DIR;
  auto et = shared / "corpus/rules/et-open/2025-08";
  auto pcaps = shared / "bench/seed-pcaps";
  if (!std::filesystem::exists(et) || !std::filesystem::exists(pcaps))
    GTEST_SKIP() << "no ET Open corpus or seed captures under " << shared;
  RuleLoader loader;
  for (const auto& e : std::filesystem::directory_iterator(et))
    if (e.path().extension() == ".rules") loader.load_file(e.path().string());
  std::string err;
  auto engine = Engine::build(loader.take(), err);
  ASSERT_TRUE(engine) << err;
  auto scratch = engine->new_scratch();
  std::map<uint32_t, std::pair<std::string, int>> fired;
  size_t packets = 0;
  for (const auto& e : std::filesystem::directory_iterator(pcaps)) {
    if (e.path().extension() != ".pcap") continue;
    char errbuf[PCAP_ERRBUF_SIZE];
    pcap_t* pc = pcap_open_offline(e.path().c_str(), errbuf);
    ASSERT_TRUE(pc) << errbuf;
    if (pcap_datalink(pc) != DLT_EN10MB) {
      pcap_close(pc);
      continue;
    }
    auto vars = engine->new_flow_vars();
    pcap_pkthdr* h;
    const u_char* d;
    while (pcap_next_ex(pc, &h, &d) == 1) {
      // Crude: untagged Ethernet + IPv4 + TCP/UDP only.
      if (h->caplen < 34 || d[12] != 0x08 || d[13] != 0x00 || (d[14] >> 4) != 4) continue;
      const u_char* ip = d + 14;
      size_t iplen = h->caplen - 14, ihl = (ip[0] & 15) * 4;
      if (ihl < 20 || ihl + 8 > iplen) continue;
      Packet p;
      p.ip_version = 4;
      p.proto = ip[9];
      p.ttl = ip[8];
      p.src = IpAddr::v4_bytes(ip + 12);
      p.dst = IpAddr::v4_bytes(ip + 16);
      const u_char* l4 = ip + ihl;
      size_t l4len = iplen - ihl, hl = 0;
      if (p.proto == 6 && l4len >= 20) {
        hl = (l4[12] >> 4) * 4;
        p.tcp_flags = l4[13];
      } else if (p.proto == 17) {
        hl = 8;
      } else {
        continue;
      }
      if (hl > l4len) continue;
      p.l4_valid = true;
      p.sport = static_cast<uint16_t>(l4[0] << 8 | l4[1]);
      p.dport = static_cast<uint16_t>(l4[2] << 8 | l4[3]);
      p.payload = l4 + hl;
      p.payload_caplen = p.payload_len = static_cast<uint32_t>(l4len - hl);
      p.ts = int64_t(h->ts.tv_sec) * kNsPerSec;
      InspectContext c;
      c.pkt = &p;
      c.ts = p.ts;
      c.has_flow = true;
      c.established = true;
      c.to_server = p.dport < p.sport;
      c.flow_vars = vars.get();
      for (const Signature* s : engine->inspect(c, *scratch)) {
        auto& f = fired[s->sid];
        f.first = s->msg;
        ++f.second;
      }
      ++packets;
    }
    pcap_close(pc);
  }
  for (const auto& [sid, f] : fired) std::cout << sid << " x" << f.second << " " << f.first << "\n";
  const auto& k = scratch->counters();
  std::cout << packets << " packets, " << k.candidates << " candidates, " << k.alerts
            << " alerts, pcre limit hits " << k.pcre_limit << "\n";
  EXPECT_GT(packets, 10000u);
  EXPECT_EQ(k.inspected, packets);
  EXPECT_EQ(k.recursion_limit, 0u);
  // The zerologon capture carries CVE-2020-1472 traffic; ET's rule for it must fire.
  EXPECT_TRUE(fired.count(2030871)) << "ET Zerologon rule did not fire";
}

}  // namespace
}  // namespace komainu::sig
