#include "detect/signatures/engine.h"

#include <openssl/evp.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>

#include "core/ascii.h"
#include "core/digest.h"

namespace komainu::sig {

namespace {

constexpr size_t kMaxThresholdEntries = 65536;
// Suricata's default inspection recursion limit: bounds backtracking on hostile input.
constexpr int kRecursionLimit = 3000;
constexpr uint32_t kPcreMatchLimit = 3500, kPcreDepthLimit = 1500;

int transport_of(uint8_t proto) {
  switch (proto) {
    case 6:
      return 0;
    case 17:
      return 1;
    case 1:
    case 58:
      return 2;
  }
  return 3;
}

int action_rank(Action a) {
  return static_cast<int>(a);  // pass, drop, reject, alert
}

// --- transforms -----------------------------------------------------------------------

bool is_space(uint8_t c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

int hexv(uint8_t c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void digest_raw(const EVP_MD* md, const std::string& in, std::string& out) {
  unsigned char buf[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(in.data(), in.size(), buf, &n, md, nullptr);
  out.assign(reinterpret_cast<char*>(buf), n);
}

void apply_transform(Transform t, std::string& in, std::string& tmp) {
  tmp.clear();
  switch (t) {
    case Transform::kToLowercase:
      for (auto& c : in) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      return;
    case Transform::kToUppercase:
      for (auto& c : in) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      return;
    case Transform::kStripWhitespace:
      for (char c : in)
        if (!is_space(static_cast<uint8_t>(c))) tmp.push_back(c);
      break;
    case Transform::kCompressWhitespace:
      for (size_t i = 0; i < in.size(); ++i) {
        if (is_space(static_cast<uint8_t>(in[i]))) {
          tmp.push_back(' ');
          while (i + 1 < in.size() && is_space(static_cast<uint8_t>(in[i + 1]))) ++i;
        } else {
          tmp.push_back(in[i]);
        }
      }
      break;
    case Transform::kUrlDecode:
      for (size_t i = 0; i < in.size(); ++i) {
        uint8_t c = static_cast<uint8_t>(in[i]);
        int h, l;
        if (c == '%' && i + 2 < in.size() && (h = hexv(static_cast<uint8_t>(in[i + 1]))) >= 0 &&
            (l = hexv(static_cast<uint8_t>(in[i + 2]))) >= 0) {
          tmp.push_back(static_cast<char>(h << 4 | l));
          i += 2;
        } else if (c == '+') {
          tmp.push_back(' ');
        } else {
          tmp.push_back(static_cast<char>(c));
        }
      }
      break;
    case Transform::kDotPrefix:
      tmp.push_back('.');
      tmp.append(in);
      break;
    case Transform::kToMd5:
      digest_raw(digest::md5(), in, tmp);
      break;
    case Transform::kToSha1:
      digest_raw(digest::sha1(), in, tmp);
      break;
    case Transform::kToSha256:
      digest_raw(digest::sha256(), in, tmp);
      break;
    case Transform::kHeaderLowercase: {
      bool in_name = true;
      for (char c : in) {
        if (in_name && c == ':') in_name = false;
        if (c == '\n') in_name = true;
        tmp.push_back(in_name ? static_cast<char>(std::tolower(static_cast<unsigned char>(c))) : c);
      }
      break;
    }
    case Transform::kStripPseudoHeaders: {
      size_t pos = 0;
      while (pos < in.size()) {
        size_t nl = in.find('\n', pos);
        size_t end = nl == std::string::npos ? in.size() : nl + 1;
        if (in[pos] != ':') tmp.append(in, pos, end - pos);
        pos = end;
      }
      break;
    }
  }
  in.swap(tmp);
}

// --- byte reading ---------------------------------------------------------------------

// Reads the number a byte_* keyword points at. False when out of bounds or not a number.
bool read_number(const uint8_t* data, size_t len, int64_t pos, const ByteCommon& c, uint64_t& out) {
  if (pos < 0 || size_t(pos) + c.nbytes > len) return false;
  const uint8_t* p = data + pos;
  uint64_t v = 0;
  // nbytes 0 (string only): every digit from pos on, at most 20.
  int nbytes = c.nbytes ? c.nbytes : static_cast<int>(std::min<size_t>(20, len - size_t(pos)));
  if (c.base == NumBase::kBinary) {
    if (c.endian == Endian::kBig) {
      for (int i = 0; i < c.nbytes; ++i) v = v << 8 | p[i];
    } else {
      for (int i = c.nbytes - 1; i >= 0; --i) v = v << 8 | p[i];
    }
  } else {
    int base = c.base == NumBase::kDec ? 10 : c.base == NumBase::kHex ? 16 : 8;
    int digits = 0;
    for (int i = 0; i < nbytes; ++i) {
      int d = hexv(p[i]);
      if (d < 0 || d >= base) break;
      v = v * base + d;
      ++digits;
    }
    if (digits == 0) return false;
  }
  if (c.bitmask) {
    v &= c.bitmask;
    uint64_t m = c.bitmask;
    while (m && !(m & 1)) {
      m >>= 1;
      v >>= 1;
    }
  }
  out = v;
  return true;
}

// Case-insensitive search for an already-lowercased pattern (ASCII folding, as Hyperscan's
// HS_FLAG_CASELESS).
const uint8_t* find_nocase(const uint8_t* h, size_t hlen, std::string_view pat) {
  size_t n = pat.size();
  if (n == 0 || n > hlen) return nullptr;
  const uint8_t first = static_cast<uint8_t>(pat[0]);
  const uint8_t first_up = first >= 'a' && first <= 'z' ? uint8_t(first - ('a' - 'A')) : first;
  for (size_t i = 0; i + n <= hlen; ++i) {
    uint8_t c = h[i];
    if (c != first && c != first_up) continue;
    size_t j = 1;
    for (; j < n; ++j)
      if (ascii_lower(static_cast<char>(h[i + j])) != pat[j]) break;
    if (j == n) return h + i;
  }
  return nullptr;
}

const uint8_t* find(const uint8_t* h, size_t hlen, const Content& c) {
  if (c.nocase) return find_nocase(h, hlen, c.pattern);
  return static_cast<const uint8_t*>(memmem(h, hlen, c.pattern.data(), c.pattern.size()));
}

bool is_relative(const InspectItem& it) {
  if (auto* c = std::get_if<Content>(&it)) return c->relative();
  if (auto* p = std::get_if<Pcre>(&it)) return p->relative;
  if (auto* b = std::get_if<ByteTest>(&it)) return b->c.relative;
  if (auto* b = std::get_if<ByteJump>(&it)) return b->c.relative;
  if (auto* b = std::get_if<ByteExtract>(&it)) return b->c.relative;
  if (auto* b = std::get_if<ByteMath>(&it)) return b->c.relative;
  if (auto* d = std::get_if<IsDataAt>(&it)) return d->relative;
  if (auto* d = std::get_if<Base64Decode>(&it)) return d->relative;
  return false;
}

int64_t decode_base64(const uint8_t* in, size_t len, std::string& out) {
  static constexpr int8_t kMap[256] = {
#define X -1
      X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
      X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  62,
      X,  X,  X,  63, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, X,  X,  X,  X,  X,  X,  X,  0,
      1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
      23, 24, 25, X,  X,  X,  X,  X,  X,  26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38,
      39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, X,  X,  X,  X,  X,  X,  X,  X,  X,
      X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
      X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
      X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
      X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
      X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
      X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X};
#undef X
  out.clear();
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < len; ++i) {
    int8_t v = kMap[in[i]];
    if (v < 0) {
      if (in[i] == '=' || is_space(in[i])) continue;
      break;  // Suricata stops at the first byte outside the alphabet
    }
    acc = acc << 6 | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return static_cast<int64_t>(out.size());
}

}  // namespace

// --- buffer evaluation ----------------------------------------------------------------

struct Evaluator {
  Scratch& sc;
  const BufferList& list;
  int budget = kRecursionLimit;
  // When >= 0, the last match of the list must end past this offset (new stream bytes).
  int64_t min_end = -1;

  int64_t val(const Value& v) const { return v.var >= 0 ? sc.vars[v.var] : v.v; }

  // Items [idx, end) over data; prev_end is where the previous match ended.
  bool run(size_t idx, const uint8_t* data, size_t len, int64_t prev_end) {
    if (--budget <= 0) {
      ++sc.counters_.recursion_limit;
      return false;
    }
    if (idx == list.items.size()) return prev_end > min_end;
    if (list.base64_data_at >= 0 && idx == size_t(list.base64_data_at) &&
        data != reinterpret_cast<const uint8_t*>(sc.b64.data())) {
      return run(idx, reinterpret_cast<const uint8_t*>(sc.b64.data()), sc.b64.size(), 0);
    }
    const InspectItem& item = list.items[idx];
    bool next_relative = idx + 1 < list.items.size() && is_relative(list.items[idx + 1]);

    if (const auto* c = std::get_if<Content>(&item)) {
      int64_t start = 0, stop = static_cast<int64_t>(len);
      const int64_t plen = static_cast<int64_t>(c->pattern.size());
      if (c->relative()) {
        int64_t dist = c->has_distance ? val(c->distance) : 0;
        start = prev_end + dist;
        if (c->has_within) stop = std::min(stop, prev_end + dist + val(c->within));
        if (start < 0) start = 0;
      } else {
        if (c->has_offset) start = val(c->offset);
        if (c->has_depth) stop = std::min(stop, start + val(c->depth));
        if (c->startswith) stop = std::min(stop, plen);
      }
      if (c->endswith) start = std::max(start, static_cast<int64_t>(len) - plen);
      for (;;) {
        const uint8_t* hit = nullptr;
        if (stop - start >= plen && start >= 0)
          hit = find(data + start, static_cast<size_t>(stop - start), *c);
        if (hit && c->endswith && hit - data + plen != static_cast<int64_t>(len)) hit = nullptr;
        if (c->negated) return hit ? false : run(idx + 1, data, len, prev_end);
        if (!hit) return false;
        int64_t pos = hit - data;
        if (run(idx + 1, data, len, pos + plen)) return true;
        if ((!next_relative && min_end < 0) || budget <= 0) return false;
        start = pos + 1;  // retry the next occurrence for the relative matches after it
      }
    }
    if (const auto* p = std::get_if<Pcre>(&item)) {
      int64_t start = p->relative ? prev_end : 0;
      if (start > static_cast<int64_t>(len)) return p->negated && run(idx + 1, data, len, prev_end);
      int rc = pcre2_match(p->code.get(), data + start, len - start, 0, 0, sc.md, sc.mctx);
      if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT) ++sc.counters_.pcre_limit;
      bool hit = rc >= 0;
      if (p->negated) return hit ? false : run(idx + 1, data, len, prev_end);
      if (!hit) return false;
      PCRE2_SIZE* ov = pcre2_get_ovector_pointer(sc.md);
      return run(idx + 1, data, len, start + static_cast<int64_t>(ov[1]));
    }
    if (const auto* b = std::get_if<ByteTest>(&item)) {
      int64_t pos = val(b->c.offset) + (b->c.relative ? prev_end : 0);
      uint64_t v;
      if (!read_number(data, len, pos, b->c, v)) return false;
      uint64_t t = static_cast<uint64_t>(val(b->value));
      bool ok = false;
      switch (b->op) {
        case '<':
          ok = v < t;
          break;
        case '>':
          ok = v > t;
          break;
        case '=':
          ok = v == t;
          break;
        case '&':
          ok = (v & t) != 0;
          break;
        case '^':
          ok = (v ^ t) != 0;
          break;
        case 'l':
          ok = v <= t;
          break;
        case 'g':
          ok = v >= t;
          break;
      }
      if (b->negated) ok = !ok;
      return ok && run(idx + 1, data, len, prev_end);
    }
    if (const auto* j = std::get_if<ByteJump>(&item)) {
      int64_t pos = val(j->c.offset) + (j->c.relative ? prev_end : 0);
      uint64_t v;
      if (!read_number(data, len, pos, j->c, v)) return false;
      int64_t jump = static_cast<int64_t>(v) * j->multiplier;
      if (j->align && jump % 4) jump += 4 - jump % 4;
      int64_t base = j->from_beginning ? 0
                     : j->from_end     ? static_cast<int64_t>(len)
                                       : pos + j->c.nbytes;
      int64_t target = base + jump + j->post_offset;
      // Suricata clamps a jump before the buffer start (negative post_offset) to the start.
      if (target < 0) target = 0;
      if (target > static_cast<int64_t>(len)) return false;
      return run(idx + 1, data, len, target);
    }
    if (const auto* e = std::get_if<ByteExtract>(&item)) {
      int64_t pos = val(e->c.offset) + (e->c.relative ? prev_end : 0);
      uint64_t v;
      if (!read_number(data, len, pos, e->c, v)) return false;
      int64_t x = static_cast<int64_t>(v) * e->multiplier;
      if (e->align && x % e->align) x += e->align - x % e->align;
      sc.vars[e->var] = x;
      return run(idx + 1, data, len, pos + e->c.nbytes);
    }
    if (const auto* m = std::get_if<ByteMath>(&item)) {
      int64_t pos = val(m->c.offset) + (m->c.relative ? prev_end : 0);
      uint64_t v;
      if (!read_number(data, len, pos, m->c, v)) return false;
      int64_t r = val(m->rvalue), x = static_cast<int64_t>(v);
      switch (m->oper) {
        case '+':
          x += r;
          break;
        case '-':
          x -= r;
          break;
        case '*':
          x *= r;
          break;
        case '/':
          if (r == 0) return false;
          x /= r;
          break;
        case 'L':
          x = r >= 0 && r < 64 ? x << r : 0;
          break;
        case 'R':
          x = r >= 0 && r < 64 ? x >> r : 0;
          break;
      }
      sc.vars[m->var] = x;
      return run(idx + 1, data, len, prev_end);
    }
    if (const auto* d = std::get_if<IsDataAt>(&item)) {
      int64_t n = val(d->n);
      bool ok =
          d->relative ? prev_end + n <= static_cast<int64_t>(len) : n < static_cast<int64_t>(len);
      if (d->negated) ok = !ok;
      return ok && run(idx + 1, data, len, prev_end);
    }
    if (const auto* b = std::get_if<Bsize>(&item)) {
      return b->cmp.match(static_cast<int64_t>(len)) && run(idx + 1, data, len, prev_end);
    }
    if (const auto* b = std::get_if<Base64Decode>(&item)) {
      int64_t pos = val(b->offset) + (b->relative ? prev_end : 0);
      if (pos < 0 || pos > static_cast<int64_t>(len)) return false;
      size_t n = len - static_cast<size_t>(pos);
      if (b->has_bytes)
        n = std::min<size_t>(n, static_cast<size_t>(std::max<int64_t>(0, val(b->bytes))));
      decode_base64(data + pos, n, sc.b64);
      return run(idx + 1, data, len, prev_end);
    }
    return false;
  }
};

// --- build ----------------------------------------------------------------------------

Scratch::~Scratch() {
  if (hs) hs_free_scratch(hs);
  if (md) pcre2_match_data_free(md);
  if (mctx) pcre2_match_context_free(mctx);
  if (jit_stack) pcre2_jit_stack_free(jit_stack);
}

Engine::~Engine() {
  for (auto& l : groups_)
    for (auto& t : l)
      for (auto& g : t)
        for (auto& d : g.dbs) hs_free_database(d.db);
}

bool is_stream_rule(const Signature& s);

namespace {

// Rules whose dsize allows no payload over this (banners, beacons, keep-alives) get
// databases of their own, skipped for larger payloads.
constexpr int64_t kSmallDsize = 512;

// Longest fast pattern the stream databases hold (longer ones: their first bytes).
constexpr size_t kMaxStreamPattern = 32;

// The payload sizes a rule's dsize checks accept ([0, max] without one).
std::pair<int64_t, int64_t> dsize_range(const Signature& s) {
  int64_t lo = 0, hi = INT64_MAX;
  for (const auto& f : s.fields) {
    if (std::strcmp(f.name, "dsize") != 0) continue;
    const auto [l, h] = f.cmp.range();
    lo = std::max(lo, l);
    hi = std::min(hi, h);
  }
  return {lo, hi};
}

// The cache file of one database: SHA-256 of the compile inputs, hex.
std::string hs_cache_key(const std::vector<std::string>& pats, const std::vector<unsigned>& flags) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, digest::sha256(), nullptr);
  const char* version = hs_version();
  EVP_DigestUpdate(ctx, version, strlen(version));
  const uint32_t mode = HS_MODE_BLOCK, n = uint32_t(pats.size());
  EVP_DigestUpdate(ctx, &mode, sizeof mode);
  EVP_DigestUpdate(ctx, &n, sizeof n);
  for (size_t k = 0; k < pats.size(); ++k) {
    const uint64_t len = pats[k].size();
    EVP_DigestUpdate(ctx, &len, sizeof len);
    EVP_DigestUpdate(ctx, pats[k].data(), pats[k].size());
    EVP_DigestUpdate(ctx, &flags[k], sizeof flags[k]);
  }
  unsigned char md[32];
  unsigned int mdlen = 0;
  EVP_DigestFinal_ex(ctx, md, &mdlen);
  EVP_MD_CTX_free(ctx);
  std::string out;
  digest::append_hex(out, md, mdlen);
  return out;
}

// A database from the cache, or null (absent, unreadable, or not for this Hyperscan and
// platform: hs_deserialize_database checks both).
hs_database_t* hs_cache_read(const std::string& path, bool& error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return nullptr;
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  hs_database_t* db = nullptr;
  if (hs_deserialize_database(bytes.data(), bytes.size(), &db) != HS_SUCCESS) {
    error = true;
    return nullptr;
  }
  return db;
}

// Written to a temporary name and renamed, so a concurrent reader never sees half a file.
void hs_cache_write(const std::string& dir, const std::string& path, const hs_database_t* db,
                    bool& error) {
  char* bytes = nullptr;
  size_t len = 0;
  if (hs_serialize_database(db, &bytes, &len) != HS_SUCCESS) {
    error = true;
    return;
  }
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  std::string tmp = path + ".tmp" + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(bytes, std::streamsize(len));
    if (!out) error = true;
  }
  free(bytes);
  if (error || std::rename(tmp.c_str(), path.c_str()) != 0) {
    error = true;
    std::filesystem::remove(tmp, ec);
  }
}

}  // namespace

std::unique_ptr<Engine> Engine::build(RuleSet rules, std::string& err, const BuildOptions& opt) {
  auto t0 = std::chrono::steady_clock::now();
  std::unique_ptr<Engine> e(new Engine());
  e->rules_ = std::move(rules);
  auto& sigs = e->sigs_;
  // Suricata's evaluation order.
  std::stable_sort(sigs.begin(), sigs.end(), [](const Signature& a, const Signature& b) {
    if (a.action != b.action) return action_rank(a.action) < action_rank(b.action);
    if (a.sets_flowbits() != b.sets_flowbits()) return a.sets_flowbits();
    if (a.priority != b.priority) return a.priority < b.priority;
    return a.sid < b.sid;
  });
  e->variants_.push_back({0, {}});
  for (auto& s : sigs) {
    for (auto& l : s.lists) {
      size_t v = 0;
      for (; v < e->variants_.size(); ++v)
        if (e->variants_[v].buffer == l.buffer && e->variants_[v].transforms == l.transforms) break;
      if (v == e->variants_.size()) e->variants_.push_back({l.buffer, l.transforms});
      l.variant = static_cast<uint16_t>(v);
      for (const auto& it : l.items)
        if (auto* p = std::get_if<Pcre>(&it)) {
          uint32_t n = 0;
          pcre2_pattern_info(p->code.get(), PCRE2_INFO_CAPTURECOUNT, &n);
          e->max_captures_ = std::max<size_t>(e->max_captures_, n + 1);
        }
    }
  }

  for (size_t v = 1; v < e->variants_.size(); ++v)
    if (!e->variants_[v].transforms.empty())
      e->transformed_variants_.push_back(static_cast<uint16_t>(v));

  // Patterns per group and variant: (pattern bytes, nocase) -> pattern id.
  struct Pending {
    std::vector<std::string> pats;
    std::vector<unsigned> flags;
    std::map<std::pair<std::string, bool>, unsigned> ids;
    std::vector<std::vector<uint32_t>> sigs_of;
    int64_t dsize_lo = INT64_MAX, dsize_hi = -1;  // hull of the rules' dsize ranges
  };
  // Keyed by variant and whether the rules need a small payload (dsize).
  std::map<std::pair<uint16_t, bool>, Pending> pending[kLayers][4][2];
  auto add_pattern = [](Pending& p, const Content& fp, uint32_t sig,
                        std::pair<int64_t, int64_t> dsize, size_t max_len) {
    p.dsize_lo = std::min(p.dsize_lo, dsize.first);
    p.dsize_hi = std::max(p.dsize_hi, dsize.second);
    std::string pat(fp.prefilter_pattern());
    if (pat.size() > max_len) pat.resize(max_len);
    auto key = std::make_pair(pat, fp.nocase);
    auto it = p.ids.find(key);
    if (it == p.ids.end()) {
      it = p.ids.emplace(key, static_cast<unsigned>(p.pats.size())).first;
      p.pats.push_back(std::move(pat));
      p.flags.push_back(HS_FLAG_SINGLEMATCH | (fp.nocase ? HS_FLAG_CASELESS : 0));
      p.sigs_of.emplace_back();
    }
    p.sigs_of[it->second].push_back(sig);
  };
  for (uint32_t i = 0; i < sigs.size(); ++i) {
    const auto& s = sigs[i];
    // Rules with an app-layer buffer or a protocol's event ("dns.z_flag_set": raised on
    // transactions) run on transactions, the others on packets.
    int rule_layer = 0;
    for (const auto& l : s.lists) rule_layer |= l.buffer != kPayload;
    for (const auto& ev : s.app_events) rule_layer |= ev.event.find('.') != std::string::npos;
    // Over TCP, packet rules with payload checks run on the reassembled stream only (see
    // is_stream_rule): their own groups, so a segment's packet inspection and its stream
    // inspection each scan only the patterns of the rules that can apply.
    const bool stream_rule = rule_layer == 0 && is_stream_rule(s);
    bool transports[4] = {};
    if (s.ip_proto == 0) {
      if (s.app_proto.empty()) {
        std::fill(std::begin(transports), std::end(transports), true);
      } else {
        transports[0] = transports[1] = true;
      }
    } else {
      transports[transport_of(s.ip_proto)] = true;
    }
    bool dirs[2] = {!s.flow.to_client, !s.flow.to_server};
    const Content* fp = nullptr;
    uint16_t fp_variant = 0;
    if (s.fp_list >= 0) {
      fp = &std::get<Content>(s.lists[s.fp_list].items[s.fp_item]);
      fp_variant = s.lists[s.fp_list].variant;
    }
    // An address side is "narrow" when no range is wider than 2^20 addresses (a /12: the
    // widest blocks of the Spamhaus DROP lists; $EXTERNAL_NET-like complements stay out, so
    // a stabbing query walks back over few entries).
    const IpRanges* narrow = nullptr;
    auto is_narrow = [](const IpRanges& r) {
      if (r.is_all() || r.size() == 0 || r.size() > 4096) return false;
      for (const auto& [lo, hi] : r.ranges())
        if (hi - lo > (IpRanges::U128(1) << 20)) return false;
      return true;
    };
    if (!fp) {
      if (is_narrow(s.src_set))
        narrow = &s.src_set;
      else if (is_narrow(s.dst_set))
        narrow = &s.dst_set;
    }
    if (fp)
      ++e->stats_.prefiltered;
    else if (narrow)
      ++e->stats_.addr_indexed;
    else
      ++e->stats_.always;
    for (int t = 0; t < 4; ++t)
      for (int d = 0; d < 2; ++d) {
        if (!transports[t] || !dirs[d]) continue;
        const int layer = stream_rule && t == kTcp ? kStreamLayer : rule_layer;
        if (!fp && narrow) {
          for (const auto& [lo, hi] : narrow->ranges())
            e->groups_[layer][t][d].by_addr.push_back({lo, hi, i});
          continue;
        }
        if (!fp) {
          e->groups_[layer][t][d].always.push_back(i);
          continue;
        }
        const auto dsize = dsize_range(s);
        // Stream chunks scan from max_pattern - 1 bytes before their new bytes: a few long
        // patterns (up to 210 bytes in ET Open) would make every chunk rescan that much
        // lookback, so they are prefiltered by their first kMaxStreamPattern bytes.
        const size_t max_len =
            layer == kStreamLayer && fp_variant == 0 ? kMaxStreamPattern : SIZE_MAX;
        add_pattern(pending[layer][t][d][{fp_variant, dsize.second <= kSmallDsize}], *fp, i, dsize,
                    max_len);
      }
  }
  for (int layer = 0; layer < kLayers; ++layer)
    for (int t = 0; t < 4; ++t)
      for (int d = 0; d < 2; ++d)
        for (auto& [key, p] : pending[layer][t][d]) {
          const uint16_t variant = key.first;
          std::vector<const char*> exprs;
          std::vector<size_t> lens;
          std::vector<unsigned> ids;
          for (size_t k = 0; k < p.pats.size(); ++k) {
            exprs.push_back(p.pats[k].data());
            lens.push_back(p.pats[k].size());
            ids.push_back(static_cast<unsigned>(k));
          }
          hs_database_t* db = nullptr;
          std::string cache_path;
          if (!opt.hs_cache_dir.empty()) {
            cache_path = opt.hs_cache_dir + "/" + hs_cache_key(p.pats, p.flags) + ".hsdb";
            bool error = false;
            db = hs_cache_read(cache_path, error);
            e->stats_.cache_errors += error;
            if (db) ++e->stats_.databases_cached;
          }
          if (!db) {
            hs_compile_error_t* cerr = nullptr;
            if (hs_compile_lit_multi(exprs.data(), p.flags.data(), ids.data(), lens.data(),
                                     static_cast<unsigned>(exprs.size()), HS_MODE_BLOCK, nullptr,
                                     &db, &cerr) != HS_SUCCESS) {
              err = std::string("hyperscan: ") + (cerr ? cerr->message : "compile failed");
              if (cerr) hs_free_compile_error(cerr);
              return nullptr;
            }
            if (!cache_path.empty()) {
              bool error = false;
              hs_cache_write(opt.hs_cache_dir, cache_path, db, error);
              e->stats_.cache_errors += error;
            }
          }
          size_t sz = 0;
          hs_database_size(db, &sz);
          e->stats_.database_bytes += sz;
          e->stats_.patterns += p.pats.size();
          ++e->stats_.databases;
          size_t max_pattern = 0;
          for (const auto& pat : p.pats) max_pattern = std::max(max_pattern, pat.size());
          e->groups_[layer][t][d].dbs.push_back(
              {variant, db, std::move(p.sigs_of), p.dsize_lo, p.dsize_hi, max_pattern});
        }
  for (auto& l : e->groups_)
    for (auto& t : l)
      for (auto& g : t) {
        std::sort(g.by_addr.begin(), g.by_addr.end(),
                  [](const AddrIndexEntry& a, const AddrIndexEntry& b) { return a.lo < b.lo; });
        IpRanges::U128 m = 0;
        for (const auto& en : g.by_addr) {
          m = std::max(m, en.hi);
          g.by_addr_maxhi.push_back(m);
        }
      }
  // Distinct address sets: most rules share a few ($HOME_NET, $EXTERNAL_NET), so a packet
  // is looked up once per set instead of once per candidate rule.
  std::map<std::vector<std::pair<IpRanges::U128, IpRanges::U128>>, uint32_t> set_ids;
  auto intern = [&](const IpRanges& r) {
    if (r.is_all()) return kAnySet;
    auto [it, added] = set_ids.emplace(r.ranges(), uint32_t(e->addr_sets_.size()));
    if (added) e->addr_sets_.push_back(&r);
    return it->second;
  };
  e->meta_.resize(sigs.size());
  for (size_t i = 0; i < sigs.size(); ++i) {
    e->meta_[i].src_set = intern(sigs[i].src_set);
    e->meta_[i].dst_set = intern(sigs[i].dst_set);
    e->meta_[i].stream_rule = is_stream_rule(sigs[i]);
    if (sigs[i].fp_list >= 0) {
      const auto& fp = std::get<Content>(sigs[i].lists[sigs[i].fp_list].items[sigs[i].fp_item]);
      const size_t len = fp.prefilter_pattern().size();
      // As prefiltered on the stream (only stream rules are remembered there).
      e->meta_[i].fp_len = static_cast<uint32_t>(std::min(len, kMaxStreamPattern));
    }
  }
  e->stats_.signatures = sigs.size();
  e->stats_.compile_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return e;
}

std::unique_ptr<Scratch> Engine::new_scratch() const {
  auto s = std::unique_ptr<Scratch>(new Scratch());
  for (const auto& l : groups_)
    for (const auto& t : l)
      for (const auto& g : t)
        for (const auto& d : g.dbs) hs_alloc_scratch(d.db, &s->hs);
  s->mark.assign(sigs_.size(), 0);
  s->addr_stamp.assign(addr_sets_.size() * 2, 0);
  s->addr_val.assign(addr_sets_.size() * 2, 0);
  s->candidates.reserve(sigs_.size());
  s->hit_ends.reserve(sigs_.size());
  s->alerts.reserve(64);
  s->transformed.resize(variants_.size());
  s->transformed_stamp.assign(variants_.size(), 0);
  s->transformed_present.assign(variants_.size(), false);
  s->md = pcre2_match_data_create(static_cast<uint32_t>(max_captures_), nullptr);
  s->mctx = pcre2_match_context_create(nullptr);
  pcre2_set_match_limit(s->mctx, kPcreMatchLimit);
  pcre2_set_depth_limit(s->mctx, kPcreDepthLimit);
  s->jit_stack = pcre2_jit_stack_create(32 * 1024, 512 * 1024, nullptr);
  pcre2_jit_stack_assign(s->mctx, nullptr, s->jit_stack);
  return s;
}

std::unique_ptr<FlowVars> Engine::new_flow_vars() const {
  auto f = std::make_unique<FlowVars>();
  f->bits.assign((rules_.flowbits.ids.size() + 63) / 64 + 1, 0);
  f->ints.assign(rules_.flowints.ids.size() + 1, 0);
  f->int_set.assign(rules_.flowints.ids.size() + 1, 0);
  return f;
}

namespace {

struct ScanCtx {
  Scratch* sc;
  const std::vector<std::vector<uint32_t>>* sigs_of;
  std::vector<uint32_t>* mark;
  std::vector<uint32_t>* cand;
  uint32_t stamp;
  // Stream chunk, raw payload: each new candidate's match end, offset by `base`.
  std::vector<uint32_t>* ends = nullptr;
  uint32_t base = 0;
};

int on_hs_match(unsigned id, unsigned long long, unsigned long long to, unsigned, void* p) {
  auto* c = static_cast<ScanCtx*>(p);
  for (uint32_t s : (*c->sigs_of)[id]) {
    if ((*c->mark)[s] == c->stamp) continue;
    (*c->mark)[s] = c->stamp;
    c->cand->push_back(s);
    if (c->ends) c->ends->push_back(c->base + static_cast<uint32_t>(to));
  }
  return 0;
}

bool ports_match(const Signature& s, const Packet& p, bool swap) {
  bool has_ports = p.l4_valid && (p.proto == 6 || p.proto == 17 || p.proto == 132);
  if (!has_ports) return s.sport.is_any() && s.dport.is_any();
  uint16_t sp = swap ? p.dport : p.sport, dp = swap ? p.sport : p.dport;
  return s.sport.match(sp) && s.dport.match(dp);
}

bool flow_match(const FlowCheck& f, const InspectContext& c) {
  if (f.to_server && !(c.has_flow && c.to_server)) return false;
  if (f.to_client && !(c.has_flow && !c.to_server)) return false;
  if (f.established && !(c.has_flow && c.established)) return false;
  if (f.not_established && c.established) return false;
  if (f.only_stream && !c.is_stream) return false;
  if (f.no_stream && c.is_stream) return false;
  if (f.only_frag && !c.is_fragment) return false;
  if (f.no_frag && c.is_fragment) return false;
  return true;
}

// Key of one xbit for this packet: bit id + the tracked address(es).
bool xbit_key(const XbitOp& x, const InspectContext& c, std::string& key) {
  if (!c.pkt) return false;
  key.assign(reinterpret_cast<const char*>(&x.bit), sizeof x.bit);
  if (x.track != XbitOp::Track::kIpDst)
    key.append(reinterpret_cast<const char*>(c.pkt->src.b.data()), 16);
  if (x.track != XbitOp::Track::kIpSrc)
    key.append(reinterpret_cast<const char*>(c.pkt->dst.b.data()), 16);
  return true;
}

bool flags_match(const FlagsCheck& f, const InspectContext& c) {
  if (!c.pkt || !c.pkt->l4_valid || c.pkt->proto != 6) return false;
  uint8_t v = c.pkt->tcp_flags & f.mask;
  switch (f.mod) {
    case '+':
      return (v & f.flags) == f.flags;
    case '*':
      return (v & f.flags) != 0;
    case '!':
      return (v & f.flags) == 0;
  }
  return v == f.flags;
}

}  // namespace

// Which inspection of a TCP segment a rule belongs to (Suricata's rule types): rules with
// payload checks run on the reassembled stream unless they are packet-only (tcp-pkt,
// flow:no_stream, dsize); rules without payload checks run once per packet.
bool is_stream_rule(const Signature& s) {
  bool payload = false, packet_only = s.flow.no_stream;
  for (const auto& l : s.lists) payload |= l.buffer == kPayload;
  for (const auto& f : s.fields) packet_only |= std::strcmp(f.name, "dsize") == 0;
  return payload && !packet_only;
}

bool Engine::in_set(uint32_t id, bool dst, Scratch& sc) const {
  if (id == kAnySet) return true;
  const uint8_t slot = sc.addr_slot[dst];
  size_t k = size_t(id) * 2 + slot;
  if (sc.addr_stamp[k] != sc.addr_epoch[slot]) {
    sc.addr_stamp[k] = sc.addr_epoch[slot];
    sc.addr_val[k] = addr_sets_[id]->match_key(sc.addr_key[slot]);
  }
  return sc.addr_val[k];
}

bool Engine::fast_pattern_in(uint32_t sig, const uint8_t* data, size_t len) const {
  const Signature& s = sigs_[sig];
  const Content& fp = std::get<Content>(s.lists[s.fp_list].items[s.fp_item]);
  const std::string_view pat = fp.prefilter_pattern().substr(0, meta_[sig].fp_len);
  if (pat.empty() || pat.size() > len) return false;
  if (!fp.nocase) {
    // memchr to the first byte, then compare: glibc's memmem took ~4,000 Ir per lookback.
    const uint8_t* p = data;
    const uint8_t* last = data + (len - pat.size());
    const auto first = static_cast<unsigned char>(pat[0]);
    while (p <= last) {
      p = static_cast<const uint8_t*>(std::memchr(p, first, static_cast<size_t>(last - p) + 1));
      if (!p) return false;
      if (std::memcmp(p + 1, pat.data() + 1, pat.size() - 1) == 0) return true;
      ++p;
    }
    return false;
  }
  return find_nocase(data, len, pat) != nullptr;  // stored lowercased
}

void Engine::remember_stream_hits(const InspectContext& c, StreamHits& h, size_t hits_begin,
                                  size_t lookback, Scratch& sc) const {
  const std::span<const uint8_t> window = c.payload();
  const size_t hits_end = sc.candidates.size();
  // Lookback bytes not scanned now: a remembered rule is a candidate when its fast pattern
  // lies wholly in them (a match reaching the new bytes was just found by the scan).
  const uint32_t lookback_start = h.pos - static_cast<uint32_t>(lookback);
  const uint32_t pos_after = h.pos + static_cast<uint32_t>(window.size() - c.stream_seen);
  size_t keep = 0;
  for (const StreamHits::Hit& x : h.hits) {
    // Found in a chunk that ended before the lookback: none of its bytes are left.
    if (static_cast<int32_t>(x.end - lookback_start) <= 0) continue;
    if (sc.mark[x.sig] == sc.stamp) continue;  // found again now: remembered with this chunk
    // The occurrence Hyperscan reported lies in the lookback, or another one does.
    const bool in_lookback =
        static_cast<int32_t>(x.match_end - meta_[x.sig].fp_len - lookback_start) >= 0 ||
        fast_pattern_in(x.sig, window.data(), lookback);
    if (!in_lookback) continue;
    sc.mark[x.sig] = sc.stamp;
    sc.candidates.push_back(x.sig);
    h.hits[keep++] = x;
  }
  h.hits.resize(keep);
  h.pos = pos_after;
  if (keep + (hits_end - hits_begin) > StreamHits::kMax) {
    // Bounded per flow direction: forget, and scan the next window whole (exact either way).
    h.hits.clear();
    h.rescan = true;
    ++sc.counters_.stream_rescans;
    return;
  }
  h.rescan = false;
  for (size_t i = hits_begin; i < hits_end; ++i)
    h.hits.push_back({sc.candidates[i], pos_after, sc.hit_ends[i - hits_begin]});
}

bool Engine::header_match(const Signature& s, const InspectContext& c, Scratch& sc) const {
  if (!s.app_proto.empty() && !app_proto_matches(s.app_proto, c.app_proto)) return false;
  const Packet* p = c.pkt;
  if (!p) return true;
  if (s.ip_proto && p->proto != s.ip_proto && !(s.icmp_both && (p->proto == 1 || p->proto == 58)))
    return false;
  if ((s.ipv4_only && p->ip_version != 4) || (s.ipv6_only && p->ip_version != 6)) return false;
  const SigMeta& m = meta_[&s - sigs_.data()];
  if (in_set(m.src_set, false, sc) && in_set(m.dst_set, true, sc) && ports_match(s, *p, false))
    return true;
  return s.bidirectional && in_set(m.src_set, true, sc) && in_set(m.dst_set, false, sc) &&
         ports_match(s, *p, true);
}

bool Engine::evaluate(const Signature& s, const InspectContext& c, Scratch& sc) const {
  if ((c.is_stream || c.stream_covered) && meta_[&s - sigs_.data()].stream_rule != c.is_stream)
    return false;
  if (!header_match(s, c, sc) || !flow_match(s.flow, c)) return false;
  for (const auto& f : s.fields) {
    int64_t v;
    if (!f.get(c, v) || !f.cmp.match(v)) return false;
  }
  for (const auto& f : s.flags)
    if (!flags_match(f, c)) return false;
  for (const auto& a : s.app_protos) {
    // Suricata compares only once detection has decided (a protocol, or "failed"): while the
    // flow's protocol is still unknown neither "http" nor "!http" matches.
    if (c.app_proto.empty()) {
      if (a.proto != "unknown" || a.negated) return false;
      continue;
    }
    if (app_proto_matches(a.proto, c.app_proto) == a.negated) return false;
  }
  for (const auto& ev : s.app_events) {
    bool found = false;
    for (auto e : c.events) found |= e == ev.event;
    if (!found) return false;
  }
  for (const auto& ss : s.stream_sizes) {
    if (!c.has_flow) return false;
    int64_t sv = static_cast<int64_t>(c.bytes_to_client),
            cv = static_cast<int64_t>(c.bytes_to_server);
    bool ok = ss.side == StreamSizeCheck::Side::kServer   ? ss.cmp.match(sv)
              : ss.side == StreamSizeCheck::Side::kClient ? ss.cmp.match(cv)
              : ss.side == StreamSizeCheck::Side::kBoth   ? ss.cmp.match(sv) && ss.cmp.match(cv)
                                                          : ss.cmp.match(sv) || ss.cmp.match(cv);
    if (!ok) return false;
  }
  FlowVars* fv = c.flow_vars;
  for (const auto& fb : s.flowbit_checks) {
    if (!fv) return false;
    bool hit = !fb.any;
    for (uint32_t b : fb.bits) {
      bool set = fv->isset(b);
      if (fb.any)
        hit |= set;
      else
        hit &= set;
    }
    if (fb.op == FlowbitCheck::Op::kIsNotSet) {
      // isnotset a|b: any unset; isnotset a&b: all unset.
      hit = false;
      bool all_unset = true, any_unset = false;
      for (uint32_t b : fb.bits) {
        bool set = fv->isset(b);
        all_unset &= !set;
        any_unset |= !set;
      }
      hit = fb.any ? any_unset : all_unset;
    }
    if (!hit) return false;
  }
  for (const auto& x : s.xbits) {
    if (!x.is_check()) continue;
    if (!xbit_key(x, c, sc.threshold_key)) return false;
    auto it = sc.xbits.find(sc.threshold_key);
    bool set = it != sc.xbits.end() && it->second >= c.ts;
    if (set != (x.op == XbitOp::Op::kIsSet)) return false;
  }

  for (const auto& l : s.lists) {
    const uint8_t* data;
    size_t len;
    if (l.transforms.empty()) {
      if (!c.buffers || !c.buffers->present[l.buffer]) {
        if (l.buffer != kPayload || !c.pkt) return false;
      }
      std::span<const uint8_t> b = l.buffer == kPayload ? c.payload() : c.buffers->data[l.buffer];
      data = b.data();
      len = b.size();
    } else {
      if (!sc.transformed_present[l.variant]) return false;
      data = reinterpret_cast<const uint8_t*>(sc.transformed[l.variant].data());
      len = sc.transformed[l.variant].size();
    }
    if (!data) data = reinterpret_cast<const uint8_t*>("");
    Evaluator ev{sc, l};
    if (c.is_stream && l.buffer == kPayload && l.transforms.empty() && c.stream_seen > 0 &&
        c.stream_seen < len) {
      // The new stream bytes first, on their own: offsets and depths count from where this
      // chunk starts, as in Suricata's raw stream chunks.
      Evaluator fresh{sc, l};
      if (fresh.run(0, data + c.stream_seen, len - c.stream_seen, 0)) continue;
      // Then with the lookback, for a match split across segments: a match lying wholly in
      // the bytes inspected before was reported then; only one ending in the new bytes counts.
      ev.min_end = static_cast<int64_t>(c.stream_seen);
    }
    if (!ev.run(0, data, len, 0)) return false;
  }
  // flowint last, in rule order: a modifier before a check counts this packet, as in
  // "flowint:fails,+,1; flowint:fails,>,2;".
  for (const auto& fi : s.flowints) {
    if (!fv) return false;
    bool set = fv->int_set[fi.var];
    if (!fi.is_check) {
      int64_t rhs = fi.value.v;
      if (fi.from_var >= 0) {
        if (!fv->int_set[fi.from_var]) return false;
        rhs = fv->ints[fi.from_var];
      }
      int64_t& x = fv->ints[fi.var];
      if (fi.op == 's')
        x = rhs;
      else if (!set)
        x = fi.op == '+' ? rhs : -rhs;  // unset counts from 0
      else if (fi.op == '+')
        x += rhs;
      else
        x -= rhs;
      fv->int_set[fi.var] = 1;
      continue;
    }
    if (fi.op == 'i' || fi.op == 'n') {
      if (set != (fi.op == 'i')) return false;
      continue;
    }
    if (!set) return false;
    int64_t rhs = fi.value.v;
    if (fi.from_var >= 0) {
      if (!fv->int_set[fi.from_var]) return false;
      rhs = fv->ints[fi.from_var];
    }
    NumCmp cmp{fi.op, rhs, 0};
    if (!cmp.match(fv->ints[fi.var])) return false;
  }
  return true;
}

std::span<const Signature* const> Engine::inspect(const InspectContext& c, Scratch& sc) const {
  sc.alerts.clear();
  sc.candidates.clear();
  ++sc.counters_.inspected;
  if (++sc.stamp == 0) {  // wrapped: forget old marks
    std::fill(sc.mark.begin(), sc.mark.end(), 0);
    std::fill(sc.transformed_stamp.begin(), sc.transformed_stamp.end(), 0);
    sc.stamp = 1;
  }
  if (c.pkt) {
    // The packet's addresses take the cache slots already holding them, or the slot the
    // other address does not use (its cached set results dropped with a new epoch).
    const IpAddr* a[2] = {&c.pkt->src, &c.pkt->dst};
    int found[2];
    for (int i = 0; i < 2; ++i)
      found[i] = a[i]->b == sc.addr[0].b ? 0 : a[i]->b == sc.addr[1].b ? 1 : -1;
    for (int i = 0; i < 2; ++i) {
      if (found[i] >= 0) continue;
      const int other = found[1 - i];
      const int slot = other >= 0 ? 1 - other : i;
      if (++sc.addr_epoch_next == 0) {  // wrapped: forget every cached result
        std::fill(sc.addr_stamp.begin(), sc.addr_stamp.end(), 0);
        sc.addr_epoch[1 - slot] = 1;
        sc.addr_epoch_next = 2;
      }
      sc.addr_epoch[slot] = sc.addr_epoch_next;
      sc.addr[slot] = *a[i];
      sc.addr_key[slot] = IpRanges::key(*a[i]);
      found[i] = slot;
      if (a[0]->b == a[1]->b) found[1 - i] = slot;
    }
    sc.addr_slot[0] = static_cast<uint8_t>(found[0]);
    sc.addr_slot[1] = static_cast<uint8_t>(found[1]);
  }
  uint8_t proto = c.pkt ? c.pkt->proto : 6;

  // Transformed buffers are computed once per call, for every variant a rule uses.
  for (const uint16_t v : transformed_variants_) {
    const auto& var = variants_[v];
    std::span<const uint8_t> b;
    bool present = var.buffer == kPayload ? true : (c.buffers && c.buffers->present[var.buffer]);
    if (present) b = var.buffer == kPayload ? c.payload() : c.buffers->data[var.buffer];
    sc.transformed_present[v] = present;
    if (!present) continue;
    auto& out = sc.transformed[v];
    out.assign(reinterpret_cast<const char*>(b.data()), b.size());
    for (auto t : var.transforms) apply_transform(t, out, sc.b64);
  }

  ScanCtx ctx{&sc, nullptr, &sc.mark, &sc.candidates, sc.stamp};
  // dsize as the rules see it (none on a stream chunk): databases whose rules all need
  // another size are skipped.
  const int64_t dsize = c.is_stream ? -1 : static_cast<int64_t>(c.payload().size());
  // Layers to scan: a stream chunk meets the stream rules, a segment whose payload the
  // stream covers the packet-only rules, any other packet both; transactions the app rules.
  int layers[3], n_layers = 0;
  if (c.layer != InspectLayer::kApp) {
    if (c.is_stream || !c.stream_covered) layers[n_layers++] = kStreamLayer;
    if (!c.is_stream) layers[n_layers++] = kPacketLayer;
  }
  if (c.layer != InspectLayer::kPacket) layers[n_layers++] = kAppLayer;
  // A stream chunk with the direction's prefilter memory: the payload databases scan the new
  // bytes (from where a pattern ending in them can start); the lookback's fast patterns are
  // the remembered hits, checked again below.
  StreamHits* hits = c.is_stream ? c.stream_hits : nullptr;
  if (hits && c.stream_seen > c.payload().size()) {
    hits->rescan = true;  // not a lookback + new bytes window: forget, scan the next one whole
    hits = nullptr;
  }
  const size_t seen = hits && !hits->rescan ? c.stream_seen : 0;
  for (int li = 0; li < n_layers; ++li) {
    const int layer = layers[li];
    const Group& g = groups_[layer][transport_of(proto)][c.to_server ? 0 : 1];
    const bool remember = hits && layer == kStreamLayer;
    const size_t hits_begin = sc.candidates.size();
    sc.hit_ends.clear();
    // Pass 0: the raw payload databases (their hits are remembered); pass 1: the others.
    for (int pass = 0; pass < 2; ++pass) {
      if (pass == 1 && remember) remember_stream_hits(c, *hits, hits_begin, seen, sc);
      for (const auto& d : g.dbs) {
        if ((d.variant == 0) == (pass == 1)) continue;
        if (d.dsize_bounded() && (dsize < d.dsize_lo || dsize > d.dsize_hi)) continue;
        const auto& var = variants_[d.variant];
        const char* data;
        size_t len;
        if (!var.transforms.empty()) {
          if (!sc.transformed_present[d.variant]) continue;
          data = sc.transformed[d.variant].data();
          len = sc.transformed[d.variant].size();
        } else {
          std::span<const uint8_t> b;
          if (var.buffer == kPayload)
            b = c.payload();
          else if (c.buffers && c.buffers->present[var.buffer])
            b = c.buffers->data[var.buffer];
          else
            continue;
          data = reinterpret_cast<const char*>(b.data());
          len = b.size();
        }
        ctx.ends = nullptr;
        if (remember && d.variant == 0) {
          // Matches lying wholly in the lookback were found by an earlier chunk.
          const size_t from = seen - std::min(seen, d.max_pattern ? d.max_pattern - 1 : 0);
          data += from;
          len -= from;
          ctx.ends = &sc.hit_ends;
          ctx.base = hits->pos - static_cast<uint32_t>(c.stream_seen - from);
        }
        if (len == 0) continue;
        ctx.sigs_of = &d.sigs_of_pattern;
        hs_scan(d.db, data, static_cast<unsigned>(std::min<size_t>(len, UINT32_MAX)), 0, sc.hs,
                on_hs_match, &ctx);
      }
    }
    if (c.pkt && !g.by_addr.empty()) {
      for (const uint8_t slot : sc.addr_slot) {
        const IpRanges::U128 v = sc.addr_key[slot];
        auto it =
            std::upper_bound(g.by_addr.begin(), g.by_addr.end(), v,
                             [](IpRanges::U128 x, const AddrIndexEntry& en) { return x < en.lo; });
        // Walk back while some earlier range can still reach v.
        for (size_t k = static_cast<size_t>(it - g.by_addr.begin()); k > 0; --k) {
          if (g.by_addr_maxhi[k - 1] < v) break;
          const auto& en = g.by_addr[k - 1];
          if (en.hi < v || sc.mark[en.sig] == sc.stamp) continue;
          sc.mark[en.sig] = sc.stamp;
          sc.candidates.push_back(en.sig);
        }
      }
    }
    // Rules without a pattern would be candidates of every inspection (IP lists too wide to
    // index, flag/threshold scan rules): their stream class and header (addresses through the
    // per-inspection set cache, ports, protocol) are checked here, so only the few that
    // apply are sorted and evaluated.
    for (uint32_t s : g.always) {
      if (sc.mark[s] == sc.stamp) continue;
      sc.mark[s] = sc.stamp;
      if ((c.is_stream || c.stream_covered) && meta_[s].stream_rule != c.is_stream) continue;
      // TCP flags first: most of these are scan rules (flags:S, F, 0) that evaluate() would
      // reject for the ACK segments that make most of the traffic.
      bool flags_ok = true;
      for (const auto& f : sigs_[s].flags) flags_ok = flags_ok && flags_match(f, c);
      if (!flags_ok || !header_match(sigs_[s], c, sc)) continue;
      sc.candidates.push_back(s);
    }
  }
  std::sort(sc.candidates.begin(), sc.candidates.end());
  sc.counters_.candidates += sc.candidates.size();

  for (uint32_t idx : sc.candidates) {
    const Signature& s = sigs_[idx];
    if (!evaluate(s, c, sc)) continue;
    // Post-match: flow variables change whether or not the rule alerts.
    if (FlowVars* fv = c.flow_vars) {
      for (const auto& a : s.flowbit_actions)
        for (uint32_t b : a.bits) {
          if (a.op == FlowbitAction::Op::kSet)
            fv->set(b);
          else if (a.op == FlowbitAction::Op::kUnset)
            fv->unset(b);
          else if (fv->isset(b))
            fv->unset(b);
          else
            fv->set(b);
        }
    }
    for (const auto& x : s.xbits) {
      if (x.is_check() || !xbit_key(x, c, sc.threshold_key)) continue;
      auto it = sc.xbits.find(sc.threshold_key);
      bool set = it != sc.xbits.end() && it->second >= c.ts;
      bool want = x.op == XbitOp::Op::kSet || (x.op == XbitOp::Op::kToggle && !set);
      if (!want) {
        if (it != sc.xbits.end()) sc.xbits.erase(it);
        continue;
      }
      if (sc.xbits.size() >= kMaxThresholdEntries && it == sc.xbits.end()) {
        sc.xbits.clear();  // bounded memory: start over, and count it
        ++sc.counters_.xbit_evictions;
      }
      sc.xbits[sc.threshold_key] = c.ts + static_cast<TimeNs>(x.expire) * kNsPerSec;
    }
    if (s.action == Action::kPass) break;  // pass stops inspection of this packet
    if (s.noalert) continue;
    if (s.threshold.type != Threshold::Type::kNone) {
      const auto& t = s.threshold;
      auto& key = sc.threshold_key;
      key.assign(reinterpret_cast<const char*>(&s.sid), sizeof s.sid);
      key.append(reinterpret_cast<const char*>(&s.gid), sizeof s.gid);
      if (c.pkt) {
        if (t.track == Threshold::Track::kBySrc || t.track == Threshold::Track::kByBoth)
          key.append(reinterpret_cast<const char*>(c.pkt->src.b.data()), 16);
        if (t.track == Threshold::Track::kByDst || t.track == Threshold::Track::kByBoth)
          key.append(reinterpret_cast<const char*>(c.pkt->dst.b.data()), 16);
      }
      if (t.track == Threshold::Track::kByFlow)
        key.append(reinterpret_cast<const char*>(&c.flow_id), sizeof c.flow_id);
      if (sc.thresholds.size() >= kMaxThresholdEntries && !sc.thresholds.count(key)) {
        sc.thresholds.clear();  // bounded memory: start over, and count it
        ++sc.counters_.threshold_evictions;
      }
      auto& e = sc.thresholds[key];
      TimeNs window = static_cast<TimeNs>(t.seconds) * kNsPerSec;
      bool expired =
          e.count == 0 || (t.type != Threshold::Type::kBackoff && c.ts - e.first > window);
      if (expired) {
        e.first = c.ts;
        e.count = 0;
        e.next = 1;
      }
      ++e.count;
      bool fire = false;
      switch (t.type) {
        case Threshold::Type::kLimit:
          fire = e.count <= t.count;
          break;
        case Threshold::Type::kThreshold:
          fire = e.count >= t.count;
          if (fire) e.count = 0, e.first = c.ts;
          break;
        case Threshold::Type::kBoth:
          fire = e.count == t.count;
          break;
        case Threshold::Type::kDetectionFilter:
          fire = e.count > t.count;
          break;
        case Threshold::Type::kBackoff:
          fire = e.count == e.next;
          if (fire) e.next = e.next == 1 ? t.count : e.next * t.seconds;
          break;
        case Threshold::Type::kNone:
          fire = true;
          break;
      }
      if (!fire) {
        ++sc.counters_.suppressed_by_threshold;
        continue;
      }
    }
    sc.alerts.push_back(&s);
  }
  sc.counters_.alerts += sc.alerts.size();
  return sc.alerts;
}

AlertInfo alert_info(const Signature& s) {
  AlertInfo a;
  a.action = "allowed";  // IDS mode: drop and reject rules alert, nothing is blocked
  a.gid = s.gid;
  a.signature_id = s.sid;
  a.rev = s.rev;
  a.signature = s.msg;
  a.category = s.class_description;
  a.severity = s.priority;
  for (const auto& kv : s.metadata) {
    const std::string& k = kv.first;
    const std::string& v = kv.second;
    auto it = std::find_if(a.metadata.begin(), a.metadata.end(),
                           [&](const auto& m) { return m.first == k; });
    if (it == a.metadata.end()) {
      a.metadata.push_back({k, {v}});
    } else {
      it->second.push_back(v);
    }
  }
  return a;
}

void fill_alert_record(const Signature& s, const InspectContext& c, const FlowContext* flow,
                       AlertRecord& out) {
  out.alert = alert_info(s);
  out.ts = c.ts;
  out.flow = flow;
  out.to_client = c.has_flow && !c.to_server;
  out.src_ip.clear();
  out.dest_ip.clear();
  out.extra_json.clear();
  if (!flow && c.pkt) {
    out.src_ip = c.pkt->src.str();
    out.dest_ip = c.pkt->dst.str();
  }
}

}  // namespace komainu::sig
