// Zeek kerberos.log parity: every corpus trace with a kerberos.log baseline through the
// real pipeline. Remaining differences are listed in docs/parity.md.
#include <gtest/gtest.h>

#include "support/zeek_manifest_parity.h"

namespace komainu {
namespace {

TEST(ZeekParity, Kerberos) {
  const std::string dir = std::string(KOMAINU_SHARED_DIR) + "/corpus/zeek/";
  if (!std::ifstream(dir + "manifest.json"))
    GTEST_SKIP() << "public corpus not found at " << KOMAINU_SHARED_DIR;
  std::string table;
  auto totals = testing::zeek_manifest_parity(dir, {"kerberos"}, table);
  printf("%s", table.c_str());
  if (const char* out = getenv("KOMAINU_PARITY_OUT")) std::ofstream(out) << table;
  const auto& t = totals["kerberos"];
  ASSERT_GT(t.baseline, 0u);
  // Floor at the achieved level (PKINIT certificate fields and SMB's GSSAPI tickets are
  // not extracted: see docs/parity.md).
  EXPECT_GE(t.identical * 100, t.baseline * 95);
}

}  // namespace
}  // namespace komainu
