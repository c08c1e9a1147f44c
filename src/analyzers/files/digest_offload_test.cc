#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <string>
#include <vector>

#include "analyzers/files/file_tracker.h"

namespace komainu::files {
namespace {

std::string hex_digest(const char* alg, const std::vector<uint8_t>& data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(data.data(), data.size(), md, &n, EVP_get_digestbyname(alg), nullptr);
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < n; ++i) {
    out.push_back(kHex[md[i] >> 4]);
    out.push_back(kHex[md[i] & 15]);
  }
  return out;
}

std::vector<uint8_t> pattern(size_t n, uint32_t seed) {
  std::vector<uint8_t> v(n);
  for (auto& b : v) {
    seed = seed * 1103515245 + 12345;
    b = uint8_t(seed >> 16);
  }
  return v;
}

// Large files go through the helper thread past kInlineHashBytes: interleaved files, odd
// chunk sizes, a tracker reused for a second file and a moved tracker must all give the
// digests of hashing each file in one piece.
TEST(DigestOffload, InterleavedLargeFilesMatchOneShotDigests) {
  const std::vector<std::vector<uint8_t>> files = {pattern(3 << 20, 1), pattern(700001, 2),
                                                   pattern(kInlineHashBytes + 1, 3)};
  std::vector<FileTracker> trackers(files.size());
  for (int round = 0; round < 2; ++round) {
    for (size_t i = 0; i < files.size(); ++i)
      trackers[i].start(1, "F" + std::to_string(i), "HTTP", false);
    std::vector<size_t> at(files.size(), 0);
    for (bool more = true; more;) {
      more = false;
      for (size_t i = 0; i < files.size(); ++i) {
        size_t n = std::min<size_t>(1 + (at[i] * 7919 + i * 131) % 9000, files[i].size() - at[i]);
        if (!n) continue;
        trackers[i].data({files[i].data() + at[i], n}, 2);
        at[i] += n;
        more = true;
      }
    }
    if (round == 1) {
      FileTracker moved = std::move(trackers[0]);
      trackers[0] = std::move(moved);
    }
    for (size_t i = 0; i < files.size(); ++i) {
      const FileRecord& r = trackers[i].finish(3, true);
      ASSERT_TRUE(r.hashed) << i;
      EXPECT_EQ(r.md5, hex_digest("MD5", files[i])) << i;
      EXPECT_EQ(r.sha1, hex_digest("SHA1", files[i])) << i;
      EXPECT_EQ(r.sha256, hex_digest("SHA256", files[i])) << i;
      EXPECT_EQ(r.seen_bytes, files[i].size());
    }
  }
}

// A file abandoned half-way (never finished) leaves its bytes queued: the next file on the
// same tracker and the tracker's destruction wait for them.
TEST(DigestOffload, AbandonedFileThenReuse) {
  const auto big = pattern(1 << 20, 9), small = pattern(100, 4);
  {
    FileTracker t;
    t.start(1, "Fa", "SMB", true);
    t.data(big, 1);
    t.start(2, "Fb", "SMB", true);
    t.data(small, 2);
    const FileRecord& r = t.finish(2, true);
    EXPECT_EQ(r.md5, hex_digest("MD5", small));
    t.start(3, "Fc", "SMB", true);
    t.data(big, 3);
  }
  SUCCEED();
}

}  // namespace
}  // namespace komainu::files
