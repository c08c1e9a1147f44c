#include "pipeline/dispatch.h"

#include <cstring>
#include <span>

#include "core/cursor.h"
#include "core/hash.h"

namespace komainu {
namespace {

uint64_t hash_bytes(std::span<const uint8_t> b) {
  uint64_t h = 0x9e3779b97f4a7c15ULL;
  for (size_t i = 0; i + 4 <= b.size(); i += 4) {
    uint32_t w;
    memcpy(&w, b.data() + i, 4);
    h = mix64(h ^ w);
  }
  return h;
}

// Symmetric in the two addresses: both directions of a flow get the same shard.
uint32_t pair_shard(Cursor ip, size_t at, size_t len, unsigned n) {
  std::span<const uint8_t> src, dst;
  if (!ip.skip(at) || !ip.bytes(len, src) || !ip.bytes(len, dst)) return 0;
  uint64_t a = hash_bytes(src), b = hash_bytes(dst);
  return uint32_t(mix64((a ^ b) + mix64(a + b)) % n);
}

}  // namespace

uint32_t frame_shard(const RawFrame& f, unsigned n) {
  if (n <= 1) return 0;
  Cursor c(f.data, f.caplen);
  uint16_t type = 0;  // ethertype; 0: the IP version nibble decides
  switch (f.linktype) {
    case 1:  // Ethernet, up to two VLAN tags
      if (!c.skip(12) || !c.be16(type)) return 0;
      for (int i = 0; i < 2 && (type == 0x8100 || type == 0x88a8 || type == 0x9100); ++i)
        if (!c.skip(2) || !c.be16(type)) return 0;
      break;
    case 12:
    case 14:
    case 101:
    case 228:
    case 229:
      break;
    case 113:  // Linux SLL
      if (!c.skip(14) || !c.be16(type)) return 0;
      break;
    case 276:  // Linux SLL2
      if (!c.be16(type) || !c.skip(18)) return 0;
      break;
    case 0:
    case 108:  // BSD null / loopback
      if (!c.skip(4)) return 0;
      break;
    default:
      return 0;
  }
  uint8_t first = 0;
  if (!Cursor(c).u8(first)) return 0;
  unsigned version = first >> 4;
  if (type == 0x0800 || (type == 0 && version == 4))
    return version == 4 && c.has(20) ? pair_shard(c, 12, 4, n) : 0;
  if (type == 0x86DD || (type == 0 && version == 6))
    return version == 6 && c.has(40) ? pair_shard(c, 8, 16, n) : 0;
  return 0;
}

void FrameBatch::add(const RawFrame& f, TimeNs clock) {
  Item it;
  it.frame = f;
  it.frame.data = nullptr;
  it.offset = uint32_t(bytes.size());
  it.now = clock;
  items.push_back(it);
  bytes.insert(bytes.end(), f.data, f.data + f.caplen);
}

std::unique_ptr<FrameBatch> BatchQueue::take_empty() {
  std::unique_lock lock(mu_);
  // At most kDepth batches wait in the queue and one is being filled; the worker holds one.
  cv_.wait(lock, [&] { return !empty_.empty() || allocated_ < kDepth + 2; });
  if (empty_.empty()) {
    ++allocated_;
    return std::make_unique<FrameBatch>();
  }
  auto b = std::move(empty_.back());
  empty_.pop_back();
  return b;
}

void BatchQueue::push(std::unique_ptr<FrameBatch> b) {
  std::lock_guard lock(mu_);
  full_.push_back(std::move(b));
  cv_.notify_all();
}

std::unique_ptr<FrameBatch> BatchQueue::pop() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return !full_.empty(); });
  auto b = std::move(full_.front());
  full_.pop_front();
  return b;
}

void BatchQueue::recycle(std::unique_ptr<FrameBatch> b) {
  b->clear();
  std::lock_guard lock(mu_);
  empty_.push_back(std::move(b));
  cv_.notify_all();
}

}  // namespace komainu
