#include "pipeline/dispatch.h"

#include <cstring>

#include "core/hash.h"

namespace komainu {
namespace {

uint16_t rd16(const uint8_t* p) {
  return uint16_t(p[0] << 8 | p[1]);
}

uint64_t hash_bytes(const uint8_t* p, size_t n) {
  uint64_t h = 0x9e3779b97f4a7c15ULL;
  for (size_t i = 0; i + 4 <= n; i += 4) {
    uint32_t w;
    memcpy(&w, p + i, 4);
    h = mix64(h ^ w);
  }
  return h;
}

}  // namespace

uint32_t frame_shard(const RawFrame& f, unsigned n) {
  if (n <= 1) return 0;
  const uint8_t* p = f.data;
  size_t cap = f.caplen;
  uint16_t type = 0;  // ethertype; 0: the IP version nibble decides
  size_t off = 0;
  switch (f.linktype) {
    case 1:  // Ethernet, up to two VLAN tags
      if (cap < 14) return 0;
      type = rd16(p + 12);
      off = 14;
      for (int i = 0; i < 2 && (type == 0x8100 || type == 0x88a8 || type == 0x9100); ++i) {
        if (cap < off + 4) return 0;
        type = rd16(p + off + 2);
        off += 4;
      }
      break;
    case 12:
    case 14:
    case 101:
    case 228:
    case 229:
      break;
    case 113:  // Linux SLL
      if (cap < 16) return 0;
      type = rd16(p + 14);
      off = 16;
      break;
    case 276:  // Linux SLL2
      if (cap < 20) return 0;
      type = rd16(p);
      off = 20;
      break;
    case 0:
    case 108:  // BSD null / loopback
      off = 4;
      break;
    default:
      return 0;
  }
  if (cap <= off) return 0;
  unsigned version = p[off] >> 4;
  if (type == 0x0800 || (type == 0 && version == 4)) {
    if (version != 4 || cap < off + 20) return 0;
    uint64_t a = hash_bytes(p + off + 12, 4), b = hash_bytes(p + off + 16, 4);
    return uint32_t(mix64((a ^ b) + mix64(a + b)) % n);
  }
  if (type == 0x86DD || (type == 0 && version == 6)) {
    if (version != 6 || cap < off + 40) return 0;
    uint64_t a = hash_bytes(p + off + 8, 16), b = hash_bytes(p + off + 24, 16);
    return uint32_t(mix64((a ^ b) + mix64(a + b)) % n);
  }
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
