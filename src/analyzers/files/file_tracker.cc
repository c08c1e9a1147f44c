#include "analyzers/files/file_tracker.h"

#include <openssl/evp.h>

#include <algorithm>
#include <utility>

#include "analyzers/files/mime.h"
#include "core/digest.h"
#include "core/site.h"

namespace komainu::files {

const ZeekSchema& files_schema() {
  static const ZeekSchema schema{"files",
                                 {{"ts", ZeekType::kTime},
                                  {"fuid", ZeekType::kString},
                                  {"uid", ZeekType::kString},
                                  {"id.orig_h", ZeekType::kAddr},
                                  {"id.orig_p", ZeekType::kPort},
                                  {"id.resp_h", ZeekType::kAddr},
                                  {"id.resp_p", ZeekType::kPort},
                                  {"source", ZeekType::kString},
                                  {"depth", ZeekType::kCount},
                                  {"analyzers", ZeekType::kSetString},
                                  {"mime_type", ZeekType::kString},
                                  {"filename", ZeekType::kString},
                                  {"duration", ZeekType::kInterval},
                                  {"local_orig", ZeekType::kBool},
                                  {"is_orig", ZeekType::kBool},
                                  {"seen_bytes", ZeekType::kCount},
                                  {"total_bytes", ZeekType::kCount},
                                  {"missing_bytes", ZeekType::kCount},
                                  {"overflow_bytes", ZeekType::kCount},
                                  {"timedout", ZeekType::kBool},
                                  {"parent_fuid", ZeekType::kString},
                                  {"md5", ZeekType::kString},
                                  {"sha1", ZeekType::kString},
                                  {"sha256", ZeekType::kString},
                                  {"extracted", ZeekType::kString},
                                  {"extracted_cutoff", ZeekType::kBool},
                                  {"extracted_size", ZeekType::kCount}}};
  return schema;
}

void FileRecord::write_eve(JsonWriter& w) const {
  if (!app_key.empty() && !app_json.empty()) w.kv_raw(app_key, app_json);
  w.key("fileinfo").begin_object();
  w.kv("filename", eve_filename.empty() ? filename : eve_filename);
  w.kv("gaps", missing_bytes > 0);
  w.kv("state", complete ? "CLOSED" : "TRUNCATED");
  if (hashed) {
    if (!md5.empty()) w.kv("md5", md5);
    if (!sha1.empty()) w.kv("sha1", sha1);
    if (!sha256.empty()) w.kv("sha256", sha256);
  }
  w.kv("stored", false);
  w.kv("size", seen_bytes);
  w.kv("tx_id", tx_id);
  w.end_object();
}

void FileRecord::write_zeek(ZeekRow& row) const {
  row.time(ts).str(fuid);
  if (flow) {
    row.str(flow->uid)
        .addr(flow->tuple.src)
        .count(flow->tuple.sport)
        .addr(flow->tuple.dst)
        .count(flow->tuple.dport);
  } else {
    row.unset().unset().unset().unset().unset();
  }
  row.str(source).count(depth).strings({});
  mime_type.empty() ? row.unset() : row.str(mime_type);
  filename.empty() ? row.unset() : row.str(filename);
  // local_orig: whether the host that sent the file is local (Zeek: private address space
  // counts as local).
  bool local = false;
  if (flow) local = is_zeek_local(is_orig ? flow->tuple.src : flow->tuple.dst);
  row.interval(last_ts > ts ? last_ts - ts : 0).boolean(local).boolean(is_orig).count(seen_bytes);
  has_total ? row.count(total_bytes) : row.unset();
  row.count(missing_bytes).count(overflow_bytes).boolean(timedout).unset();
  for (const std::string* h : {&md5, &sha1, &sha256})
    hashed && !h->empty() ? row.str(*h) : row.unset();
  row.unset().unset().unset();
}

FileTracker::FileTracker() = default;
FileTracker::~FileTracker() {
  free_digests();
}

FileTracker::FileTracker(FileTracker&& o) noexcept {
  *this = std::move(o);
}

FileTracker& FileTracker::operator=(FileTracker&& o) noexcept {
  if (this == &o) return *this;
  free_digests();
  rec_ = std::move(o.rec_);
  active_ = o.active_;
  next_offset_ = o.next_offset_;
  hash_broken_ = o.hash_broken_;
  magic_ = o.magic_;
  magic_len_ = o.magic_len_;
  sniff_ = o.sniff_;
  md5_ = std::exchange(o.md5_, nullptr);
  sha1_ = std::exchange(o.sha1_, nullptr);
  sha256_ = std::exchange(o.sha256_, nullptr);
  digesting_ = std::exchange(o.digesting_, false);
  o.active_ = false;
  return *this;
}

void FileTracker::free_digests() {
  EVP_MD_CTX_free(md5_);
  EVP_MD_CTX_free(sha1_);
  EVP_MD_CTX_free(sha256_);
  md5_ = sha1_ = sha256_ = nullptr;
  digesting_ = false;
}

void FileTracker::start(TimeNs ts, std::string fuid, std::string_view source, bool is_orig) {
  digesting_ = false;
  const FlowContext* flow = rec_.flow;
  // A tracker serves many files (an HTTP side's bodies): the long strings keep their buffers.
  std::string md5 = std::move(rec_.md5), sha1 = std::move(rec_.sha1),
              sha256 = std::move(rec_.sha256), app_json = std::move(rec_.app_json);
  rec_ = FileRecord{};
  rec_.flow = flow;
  rec_.md5 = std::move(md5);
  rec_.sha1 = std::move(sha1);
  rec_.sha256 = std::move(sha256);
  rec_.app_json = std::move(app_json);
  rec_.md5.clear();
  rec_.sha1.clear();
  rec_.sha256.clear();
  rec_.app_json.clear();
  rec_.ts = rec_.last_ts = ts;
  rec_.fuid = std::move(fuid);
  rec_.source.assign(source);
  rec_.is_orig = is_orig;
  active_ = true;
  next_offset_ = 0;
  hash_broken_ = false;
  magic_len_ = 0;
  sniff_ = true;
}

void FileTracker::data(std::span<const uint8_t> bytes, TimeNs ts) {
  data_at(next_offset_, bytes, ts);
}

void FileTracker::data_at(uint64_t offset, std::span<const uint8_t> bytes, TimeNs ts) {
  if (!active_ || bytes.empty()) return;
  rec_.last_ts = ts;
  rec_.seen_bytes += bytes.size();
  if (offset <= magic_len_ && offset + bytes.size() > magic_len_ && magic_len_ < magic_.size()) {
    size_t skip = magic_len_ - offset;
    size_t n = std::min(magic_.size() - magic_len_, bytes.size() - skip);
    std::copy_n(bytes.data() + skip, n, magic_.data() + magic_len_);
    magic_len_ += n;
  }
  if (offset != next_offset_) {
    // Out of order or overlapping: the running digests cannot follow.
    if (offset > next_offset_) rec_.missing_bytes += offset - next_offset_;
    hash_broken_ = true;
    if (offset + bytes.size() > next_offset_) next_offset_ = offset + bytes.size();
    return;
  }
  next_offset_ += bytes.size();
  if (hash_broken_) return;
  if (!digesting_) {
    const uint8_t want = digests();
    auto init = [&](evp_md_ctx_st*& ctx, Digest d, const EVP_MD* md) {
      if (!(want & d)) {
        EVP_MD_CTX_free(ctx);
        ctx = nullptr;
        return true;
      }
      if (!ctx) ctx = EVP_MD_CTX_new();
      return ctx && EVP_DigestInit_ex(ctx, md, nullptr);
    };
    if (!want || !init(md5_, kMd5, digest::md5()) || !init(sha1_, kSha1, digest::sha1()) ||
        !init(sha256_, kSha256, digest::sha256())) {
      hash_broken_ = true;
      free_digests();
      return;
    }
    digesting_ = true;
  }
  for (evp_md_ctx_st* ctx : {md5_, sha1_, sha256_})
    if (ctx) EVP_DigestUpdate(ctx, bytes.data(), bytes.size());
}

void FileTracker::gap(uint64_t len, TimeNs ts) {
  if (!active_ || len == 0) return;
  rec_.last_ts = ts;
  rec_.missing_bytes += len;
  next_offset_ += len;
  hash_broken_ = true;
}

const char* FileTracker::sniffed_mime() const {
  return sniff_ ? mime_from_magic({magic_.data(), magic_len_}) : nullptr;
}

namespace {
// False when the digest was wanted and failed.
bool finish_digest(evp_md_ctx_st* ctx, std::string& out) {
  out.clear();
  if (!ctx) return true;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (!EVP_DigestFinal_ex(ctx, md, &n)) return false;
  digest::append_hex(out, md, n);
  return true;
}

uint8_t g_digests = kAllDigests;
}  // namespace

FileRecord& FileTracker::finish(TimeNs, bool complete) {
  // The duration runs to the last data seen, not to when the protocol closed the file.
  if (const char* m = sniffed_mime(); m && rec_.mime_type.empty()) rec_.mime_type = m;
  if (rec_.has_total && rec_.seen_bytes + rec_.missing_bytes < rec_.total_bytes) complete = false;
  rec_.complete = complete && rec_.missing_bytes == 0;
  rec_.hashed = false;
  if (digesting_ && !hash_broken_ && rec_.complete) {
    bool ok = finish_digest(md5_, rec_.md5);
    ok = finish_digest(sha1_, rec_.sha1) && ok;
    ok = finish_digest(sha256_, rec_.sha256) && ok;
    rec_.hashed = ok;
  }
  digesting_ = false;
  rec_.head = {magic_.data(), magic_len_};
  active_ = false;
  return rec_;
}

void set_digests(uint8_t mask) {
  g_digests = mask & kAllDigests;
}

uint8_t digests() {
  return g_digests;
}

uint8_t digest_from_name(std::string_view name) {
  if (name == "md5") return kMd5;
  if (name == "sha1") return kSha1;
  if (name == "sha256") return kSha256;
  return 0;
}

std::string make_fuid(std::string_view flow_uid, uint64_t counter, uint64_t salt) {
  uint64_t h = 1469598103934665603ull ^ salt;
  for (char c : flow_uid) h = (h ^ static_cast<uint8_t>(c)) * 1099511628211ull;
  h ^= counter + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
  static const char kB62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  std::string out = "F";
  for (int round = 0; round < 2; ++round) {
    // splitmix64 finaliser: spreads the counter over every output character
    h += 0x9e3779b97f4a7c15ull;
    uint64_t z = h;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    for (int i = 0; i < 9; ++i) {
      out.push_back(kB62[z % 62]);
      z /= 62;
    }
  }
  return out;
}

}  // namespace komainu::files
