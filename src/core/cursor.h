// The bounds-checked reader every parser uses. A failed read leaves the cursor unchanged
// and returns false: parsers turn that into a named, counted anomaly, never a crash.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

namespace komainu {

class Cursor {
 public:
  Cursor() = default;
  Cursor(const uint8_t* data, size_t len) : p_(data), end_(data + len) {}
  explicit Cursor(std::span<const uint8_t> s) : Cursor(s.data(), s.size()) {}

  size_t remaining() const { return static_cast<size_t>(end_ - p_); }
  bool empty() const { return p_ == end_; }
  const uint8_t* data() const { return p_; }
  bool has(size_t n) const { return remaining() >= n; }

  bool skip(size_t n) {
    if (!has(n)) return false;
    p_ += n;
    return true;
  }
  bool u8(uint8_t& v) {
    if (!has(1)) return false;
    v = *p_++;
    return true;
  }
  bool be16(uint16_t& v) {
    if (!has(2)) return false;
    v = static_cast<uint16_t>(p_[0] << 8 | p_[1]);
    p_ += 2;
    return true;
  }
  bool be32(uint32_t& v) {
    if (!has(4)) return false;
    v = uint32_t(p_[0]) << 24 | uint32_t(p_[1]) << 16 | uint32_t(p_[2]) << 8 | p_[3];
    p_ += 4;
    return true;
  }
  bool le16(uint16_t& v) {
    if (!has(2)) return false;
    v = static_cast<uint16_t>(p_[1] << 8 | p_[0]);
    p_ += 2;
    return true;
  }
  bool le32(uint32_t& v) {
    if (!has(4)) return false;
    v = uint32_t(p_[3]) << 24 | uint32_t(p_[2]) << 16 | uint32_t(p_[1]) << 8 | p_[0];
    p_ += 4;
    return true;
  }
  bool le64(uint64_t& v) {
    uint32_t lo = 0, hi = 0;
    if (!has(8)) return false;
    le32(lo);
    le32(hi);
    v = uint64_t(hi) << 32 | lo;
    return true;
  }
  bool be64(uint64_t& v) {
    uint32_t hi = 0, lo = 0;
    if (!has(8)) return false;
    be32(hi);
    be32(lo);
    v = uint64_t(hi) << 32 | lo;
    return true;
  }
  // Takes the next n bytes as a sub-cursor.
  bool take(size_t n, Cursor& out) {
    if (!has(n)) return false;
    out = Cursor(p_, n);
    p_ += n;
    return true;
  }
  bool bytes(size_t n, std::span<const uint8_t>& out) {
    if (!has(n)) return false;
    out = {p_, n};
    p_ += n;
    return true;
  }
  bool str(size_t n, std::string_view& out) {
    if (!has(n)) return false;
    out = {reinterpret_cast<const char*>(p_), n};
    p_ += n;
    return true;
  }
  bool copy(void* dst, size_t n) {
    if (!has(n)) return false;
    memcpy(dst, p_, n);
    p_ += n;
    return true;
  }
  // Peeks without moving.
  bool peek_u8(size_t off, uint8_t& v) const {
    if (remaining() <= off) return false;
    v = p_[off];
    return true;
  }

 private:
  const uint8_t* p_ = nullptr;
  const uint8_t* end_ = nullptr;
};

}  // namespace komainu
