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

std::unique_ptr<FrameBatch> BatchScheduler::take_empty() {
  std::unique_lock lock(mu_);
  if (free_.empty() && allocated_ >= max_batches_) {
    // Everything is in flight: sleep until a few batches are free, not just one, so the
    // reader wakes once per few batches instead of once per batch.
    reader_waiting_ = true;
    free_cv_.wait(lock, [&] { return free_.size() >= refill_; });
    reader_waiting_ = false;
  }
  if (free_.empty()) {
    ++allocated_;
    return std::make_unique<FrameBatch>();
  }
  auto b = std::move(free_.back());
  free_.pop_back();
  return b;
}

void BatchScheduler::make_ready(size_t shard) {
  Shard& s = shards_[shard];
  if (s.busy || s.queued || s.pending.empty()) return;
  s.queued = true;
  ready_.push_back(shard);
  work_cv_.notify_one();
}

void BatchScheduler::push(size_t shard, std::unique_ptr<FrameBatch> b) {
  std::lock_guard lock(mu_);
  shards_[shard].pending.push_back(std::move(b));
  make_ready(shard);
}

std::unique_ptr<FrameBatch> BatchScheduler::next(size_t thread, size_t threads, size_t& shard) {
  std::unique_lock lock(mu_);
  work_cv_.wait(lock, [&] { return !ready_.empty() || ended_ == shards_.size(); });
  if (ready_.empty()) return nullptr;
  // A thread keeps to its own shards while they have work, so their flow tables stay in its
  // core's cache; it takes another thread's shard only instead of waiting.
  auto it =
      std::find_if(ready_.begin(), ready_.end(), [&](size_t s) { return s % threads == thread; });
  if (it == ready_.end()) it = ready_.begin();
  shard = *it;
  ready_.erase(it);
  Shard& s = shards_[shard];
  s.queued = false;
  s.busy = true;
  auto b = std::move(s.pending.front());
  s.pending.pop_front();
  return b;
}

void BatchScheduler::done(size_t shard, std::unique_ptr<FrameBatch> b) {
  bool last = b->last;
  b->clear();
  std::lock_guard lock(mu_);
  free_.push_back(std::move(b));
  if (reader_waiting_ && free_.size() >= refill_) free_cv_.notify_one();
  shards_[shard].busy = false;
  if (last && ++ended_ == shards_.size()) {
    work_cv_.notify_all();
  } else {
    make_ready(shard);
  }
}

}  // namespace komainu
