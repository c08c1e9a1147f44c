// Zeek parity of the DNS, TLS (with DTLS, QUIC, RDP) and SSH analyzers through the real
// pipeline: for every entry of the Zeek corpus manifest with a dns/ssl/x509/ssh/quic baseline,
// the trace goes through FileSource -> Pipeline (decode, flows, reassembly, probing, analyzers)
// and the rows of each log are compared with Zeek's on the fields both have (ts and uid are
// masked/random in the baselines; tests/support/zeek_manifest_parity.h). The table is
// printed; KOMAINU_PARITY_OUT=FILE also writes it.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "support/zeek_manifest_parity.h"

namespace komainu {
namespace {

const std::string kZeekDir = std::string(KOMAINU_SHARED_DIR) + "/corpus/zeek/";

TEST(ZeekParity, DnsTlsSsh) {
  if (!std::ifstream(kZeekDir + "manifest.json"))
    GTEST_SKIP() << "public corpus not found at " << KOMAINU_SHARED_DIR;
  std::string table;
  auto totals =
      testing::zeek_manifest_parity(kZeekDir, {"dns", "ssl", "x509", "ssh", "quic"}, table);
  printf("%s", table.c_str());
  if (const char* out = getenv("KOMAINU_PARITY_OUT")) std::ofstream(out) << table;
  // Floors at the achieved level: a regression fails, an improvement raises them.
  // ssl.log and x509.log include QUIC (quicv2-http3-443), DTLS (dtls-stun-dpd) and RDP
  // (rdp-x509); quic.log is the same QUIC trace's.
  EXPECT_GE(totals["dns"].identical * 100, totals["dns"].baseline * 100);
  EXPECT_LE(totals["x509"].produced, totals["x509"].baseline);  // cross-flow x509 caching
  EXPECT_GE(totals["ssl"].identical * 100, totals["ssl"].baseline * 100);
  EXPECT_GE(totals["x509"].identical * 100, totals["x509"].baseline * 100);
  EXPECT_GE(totals["ssh"].identical * 100, totals["ssh"].baseline * 100);
  EXPECT_GE(totals["quic"].identical * 100, totals["quic"].baseline * 100);
}

}  // namespace
}  // namespace komainu
