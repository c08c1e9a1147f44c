#include <gtest/gtest.h>

#include <string>

#include "analyzers/files/file_tracker.h"
#include "analyzers/files/mime.h"

namespace komainu::files {
namespace {

std::span<const uint8_t> bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

TEST(Files, DigestsAcrossChunks) {
  FileTracker t;
  t.start(1000, "Fabc", "HTTP", false);
  t.data(bytes("a"), 1000);
  t.data(bytes("bc"), 3000);
  const FileRecord& r = t.finish(3000, true);
  EXPECT_EQ(r.md5, "900150983cd24fb0d6963f7d28e17f72");
  EXPECT_EQ(r.sha1, "a9993e364706816aba3e25717850c26c9cd0d89d");
  EXPECT_EQ(r.sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(r.seen_bytes, 3u);
  EXPECT_TRUE(r.complete);
  EXPECT_EQ(r.mime_type, "");  // under ten bytes: Zeek's text signature does not match
  EXPECT_EQ(r.last_ts - r.ts, 2000);
}

// files.hashes: only the chosen digests are computed and written; a tracker reused for the
// next file follows the setting in force when that file's data starts.
TEST(Files, OnlyConfiguredDigests) {
  FileTracker t;
  set_digests(kSha256);
  t.start(1000, "Fabc", "HTTP", false);
  t.data(bytes("abc"), 1000);
  FileRecord r = t.finish(3000, true);
  EXPECT_TRUE(r.hashed);
  EXPECT_EQ(r.md5, "");
  EXPECT_EQ(r.sha1, "");
  EXPECT_EQ(r.sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  std::string eve;
  JsonWriter w(eve);
  w.begin_object();
  r.write_eve(w);
  w.end_object();
  EXPECT_EQ(eve.find("md5"), std::string::npos) << eve;
  EXPECT_NE(eve.find("\"sha256\":\"ba78"), std::string::npos) << eve;
  ZeekRow row;
  row.reset(r.zeek_schema());
  r.write_zeek(row);
  EXPECT_EQ(row.size(), files_schema().fields.size());

  set_digests(0);
  t.start(4000, "Fdef", "HTTP", false);
  t.data(bytes("abc"), 4000);
  r = t.finish(5000, true);
  EXPECT_FALSE(r.hashed);
  EXPECT_EQ(r.sha256, "");

  set_digests(kAllDigests);
  t.start(6000, "Fghi", "HTTP", false);
  t.data(bytes("abc"), 6000);
  r = t.finish(7000, true);
  EXPECT_EQ(r.md5, "900150983cd24fb0d6963f7d28e17f72");
  EXPECT_EQ(r.sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(digest_from_name("sha1"), kSha1);
  EXPECT_EQ(digest_from_name("SHA1"), 0);
}

TEST(Files, PlainTextNeedsTenBytesLikeZeeksSignature) {
  auto mime = [](std::string_view s) {
    const char* m = mime_from_magic({reinterpret_cast<const uint8_t*>(s.data()), s.size()});
    return std::string(m ? m : "");
  };
  EXPECT_EQ(mime("Hello\n"), "");
  EXPECT_EQ(mime("123456789"), "");
  EXPECT_EQ(mime("1234567890"), "text/plain");
  EXPECT_EQ(mime("Hello,\r\nworld\n"), "text/plain");
  EXPECT_EQ(mime("bin\x01ary data here"), "");
}

TEST(Files, GapMeansTruncatedAndNoHashes) {
  FileTracker t;
  t.start(0, "F1", "HTTP", false);
  t.data(bytes("MZ\x90"), 0);
  t.gap(100, 0);
  t.data(bytes("xyz"), 0);
  const FileRecord& r = t.finish(0, true);
  EXPECT_FALSE(r.complete);
  EXPECT_FALSE(r.hashed);
  EXPECT_EQ(r.missing_bytes, 100u);
  EXPECT_EQ(r.mime_type, "application/x-dosexec");
  std::string eve;
  JsonWriter w(eve);
  w.begin_object();
  r.write_eve(w);
  w.end_object();
  EXPECT_NE(eve.find("\"state\":\"TRUNCATED\""), std::string::npos) << eve;
  EXPECT_NE(eve.find("\"gaps\":true"), std::string::npos) << eve;
}

TEST(Files, ShortOfDeclaredSizeIsIncomplete) {
  FileTracker t;
  t.start(0, "F1", "SMB", true);
  t.record().total_bytes = 10;
  t.record().has_total = true;
  t.data(bytes("12345"), 0);
  EXPECT_FALSE(t.finish(0, true).complete);
}

TEST(Files, OutOfOrderOffsetsCountMissing) {
  FileTracker t;
  t.start(0, "F1", "SMB", true);
  t.data_at(10, bytes("abcd"), 0);
  const FileRecord& r = t.finish(0, true);
  EXPECT_EQ(r.missing_bytes, 10u);
  EXPECT_EQ(r.seen_bytes, 4u);
  EXPECT_FALSE(r.hashed);
}

TEST(Files, ZeekRowFollowsSchema) {
  FileTracker t;
  t.start(0, "F1", "HTTP", false);
  t.data(bytes("<html><body>x</body></html>"), 0);
  const FileRecord& r = t.finish(0, true);
  ZeekRow row;
  row.reset(r.zeek_schema());
  r.write_zeek(row);
  EXPECT_EQ(row.size(), files_schema().fields.size());
  EXPECT_EQ(r.mime_type, "text/html");
}

TEST(Mime, KnownMagic) {
  EXPECT_STREQ(mime_from_magic(bytes("%PDF-1.4")), "application/pdf");
  EXPECT_STREQ(mime_from_magic(bytes("\x89PNG\r\n\x1a\n....")), "image/png");
  EXPECT_STREQ(mime_from_magic(bytes("GIF89a")), "image/gif");
  EXPECT_STREQ(mime_from_magic(bytes("PK\x03\x04zz")), "application/zip");
  EXPECT_STREQ(mime_from_magic(bytes("  <!DOCTYPE html>")), "text/html");
  EXPECT_STREQ(mime_from_magic(bytes("{\"a\": 1}")), "text/json");
  EXPECT_STREQ(mime_from_magic(bytes("<?xml version=\"1.0\"?><a/>")), "application/xml");
  EXPECT_EQ(mime_from_magic(bytes(std::string_view("\x00\x01\x02\x03", 4))), nullptr);
  EXPECT_EQ(mime_from_magic({}), nullptr);
}

TEST(Files, FuidIsDeterministicAndDistinct) {
  EXPECT_EQ(make_fuid("Cabc", 1), make_fuid("Cabc", 1));
  EXPECT_NE(make_fuid("Cabc", 1), make_fuid("Cabc", 2));
  EXPECT_EQ(make_fuid("Cabc", 1).size(), 19u);
  EXPECT_EQ(make_fuid("Cabc", 1)[0], 'F');
}

}  // namespace
}  // namespace komainu::files
