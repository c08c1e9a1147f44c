// Zeek smtp.log parity: every corpus trace with an smtp.log baseline through the real
// pipeline, with its weird.log and files.log. File ids are random in the baselines, so
// smtp.log's fuids and files.log's fuid compare by count; rcptto/to/cc are sets whose order
// is Zeek's hash order. Remaining differences are listed in docs/parity.md.
#include <gtest/gtest.h>

#include "support/zeek_manifest_parity.h"

namespace komainu {
namespace {

TEST(ZeekParity, Smtp) {
  const std::string dir = std::string(KOMAINU_SHARED_DIR) + "/corpus/zeek/";
  if (!std::ifstream(dir + "manifest.json"))
    GTEST_SKIP() << "public corpus not found at " << KOMAINU_SHARED_DIR;
  std::string table;
  testing::RowCompare how;
  how.unordered = {"rcptto", "to", "cc"};
  how.counted = {"fuids", "fuid"};
  auto totals = testing::zeek_manifest_parity(dir, {"smtp"}, table, how);
  std::string smtp_table;
  auto other =
      testing::zeek_manifest_parity(dir, {"files", "weird"}, smtp_table, how, "protocols.smtp.");
  table += "\n" + smtp_table;
  printf("%s", table.c_str());
  if (const char* out = getenv("KOMAINU_PARITY_OUT")) std::ofstream(out) << table;
  const auto& t = totals["smtp"];
  ASSERT_GT(t.baseline, 10u);
  // Every row, http-connect's too (SMTP inside an HTTP CONNECT tunnel).
  EXPECT_EQ(t.identical, t.baseline);
  EXPECT_EQ(t.produced, t.baseline);
  EXPECT_EQ(other["files"].identical, other["files"].baseline);
  EXPECT_EQ(other["weird"].identical, other["weird"].baseline);
  EXPECT_EQ(other["weird"].produced, other["weird"].baseline);
}

}  // namespace
}  // namespace komainu
