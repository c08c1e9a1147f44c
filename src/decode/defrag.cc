#include "decode/defrag.h"

#include <algorithm>
#include <cstring>

namespace komainu {

FragmentTable::FragmentTable(const FragLimits& limits) : lim_(limits) {
  if (lim_.max_datagrams == 0) lim_.max_datagrams = 1;
  if (lim_.max_pieces == 0) lim_.max_pieces = 1;
  slots_.resize(lim_.max_datagrams);
  size_t nb = 16;
  while (nb < size_t(lim_.max_datagrams) * 2) nb <<= 1;
  buckets_.assign(nb, -1);
  free_.reserve(lim_.max_datagrams);
  for (int32_t i = int32_t(lim_.max_datagrams) - 1; i >= 0; --i) free_.push_back(i);
}

size_t FragmentTable::bucket_of(const FragKey& k) const {
  // FNV-1a over the fields that vary most; cheap and good enough for a bounded table.
  uint64_t h = 1469598103934665603ull;
  auto mix = [&h](const uint8_t* p, size_t n) {
    for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ull;
  };
  mix(k.src.b.data() + 8, 8);
  mix(k.dst.b.data() + 8, 8);
  mix(reinterpret_cast<const uint8_t*>(&k.id), sizeof k.id);
  return size_t(h ^ (h >> 29)) & (buckets_.size() - 1);
}

int FragmentTable::find(const FragKey& k, size_t bucket) const {
  for (int32_t i = buckets_[bucket]; i >= 0; i = slots_[i].hnext)
    if (slots_[i].key == k && !slots_[i].pending) return i;
  return -1;
}

void FragmentTable::free_slot(int i, bool drop_buffer) {
  Slot& s = slots_[i];
  // Unlink from its hash chain.
  size_t b = bucket_of(s.key);
  for (int32_t* p = &buckets_[b]; *p >= 0; p = &slots_[*p].hnext) {
    if (*p == i) {
      *p = s.hnext;
      break;
    }
  }
  // Unlink from the age list.
  if (s.older >= 0)
    slots_[s.older].newer = s.newer;
  else
    oldest_ = s.newer;
  if (s.newer >= 0)
    slots_[s.newer].older = s.older;
  else
    newest_ = s.older;
  s.hnext = s.older = s.newer = -1;
  s.used = s.pending = s.have_last = false;
  s.total = s.hdr_len = 0;
  s.ranges.clear();
  if (drop_buffer) {
    memory_ -= s.buf.capacity();
    std::vector<uint8_t>().swap(s.buf);
  }
  free_.push_back(i);
  --used_;
}

int FragmentTable::allocate(const FragKey& k, size_t bucket, TimeNs ts) {
  if (free_.empty()) {
    // Table full: the oldest datagram that is not handed out makes room.
    int victim = oldest_;
    while (victim >= 0 && slots_[victim].pending) victim = slots_[victim].newer;
    if (victim < 0) return -1;
    free_slot(victim, false);
    ++evicted_;
  }
  int i = free_.back();
  free_.pop_back();
  Slot& s = slots_[i];
  s.key = k;
  s.first_ts = ts;
  s.used = true;
  s.hnext = buckets_[bucket];
  buckets_[bucket] = i;
  s.older = newest_;
  s.newer = -1;
  if (newest_ >= 0) slots_[newest_].newer = i;
  newest_ = i;
  if (oldest_ < 0) oldest_ = i;
  if (s.ranges.capacity() == 0) s.ranges.reserve(std::min<uint16_t>(lim_.max_pieces, 16));
  ++used_;
  return i;
}

// Makes the slot's buffer hold kHeadroom + bytes, staying under the memory cap by first
// dropping idle pooled buffers, then evicting the oldest datagrams.
bool FragmentTable::reserve(Slot& s, uint32_t bytes, int self) {
  size_t need = size_t(kHeadroom) + bytes;
  if (s.buf.size() >= need) return true;
  if (s.buf.capacity() >= need) {
    s.buf.resize(need);
    return true;
  }
  // Grow in 8 KiB steps (capped at the largest datagram) so a datagram grows a few times.
  size_t cap = std::min<size_t>((need + 8191) & ~size_t(8191), kHeadroom + lim_.max_datagram);
  cap = std::max(cap, need);
  size_t grow = cap - s.buf.capacity();
  if (memory_ + grow > lim_.memcap) {
    for (int32_t f : free_) {
      if (memory_ + grow <= lim_.memcap) break;
      Slot& idle = slots_[f];
      memory_ -= idle.buf.capacity();
      std::vector<uint8_t>().swap(idle.buf);
    }
  }
  while (memory_ + grow > lim_.memcap) {
    int victim = oldest_;
    while (victim >= 0 && (slots_[victim].pending || victim == self)) victim = slots_[victim].newer;
    if (victim < 0) return false;
    free_slot(victim, true);
    ++evicted_;
  }
  size_t old_cap = s.buf.capacity();
  s.buf.reserve(cap);
  memory_ += s.buf.capacity() - old_cap;
  s.buf.resize(need);
  return true;
}

FragmentTable::Status FragmentTable::add(const FragKey& key, TimeNs ts, const uint8_t* hdr,
                                         uint32_t hdr_len, uint32_t offset, bool more,
                                         const uint8_t* data, uint32_t len, Datagram& out,
                                         Reporter report, void* ctx) {
  size_t bucket = bucket_of(key);
  int i = find(key, bucket);
  if (i < 0) {
    i = allocate(key, bucket, ts);
    if (i < 0) {
      report(ctx, FragEvent::kMemcap);
      return Status::kDropped;
    }
  }
  Slot& s = slots_[i];
  uint64_t end = uint64_t(offset) + len;
  if (end > lim_.max_datagram) {
    report(ctx, FragEvent::kTooLarge);
    free_slot(i, false);
    return Status::kDropped;
  }
  if (!more) {
    if (s.have_last && s.total != end) {
      report(ctx, FragEvent::kSizeInconsistent);
    } else {
      s.have_last = true;
      s.total = uint32_t(end);
    }
  }
  if (s.have_last && end > s.total) {
    // Bytes past the end announced by the last fragment: keep what fits.
    report(ctx, FragEvent::kSizeInconsistent);
    end = std::max<uint64_t>(s.total, offset);
    len = uint32_t(end - offset);
  }
  if (offset == 0 && s.hdr_len == 0 && hdr_len > 0 && hdr_len <= kHeadroom) {
    memcpy(s.hdr, hdr, hdr_len);
    s.hdr_len = hdr_len;
  }
  if (len > 0) {
    if (!reserve(s, uint32_t(end), i)) {
      report(ctx, FragEvent::kMemcap);
      free_slot(i, false);
      return Status::kDropped;
    }
    uint8_t* base = s.buf.data() + kHeadroom;
    // Copy the parts of [offset, end) not yet covered; compare the parts that are.
    uint32_t pos = offset;
    bool overlap = false, inconsistent = false;
    for (const Range& r : s.ranges) {
      if (r.end <= pos) continue;
      if (r.begin >= end) break;
      if (r.begin > pos) memcpy(base + pos, data + (pos - offset), r.begin - pos);
      uint32_t ob = std::max(r.begin, pos), oe = std::min<uint32_t>(r.end, uint32_t(end));
      overlap = true;
      if (memcmp(base + ob, data + (ob - offset), oe - ob) != 0) inconsistent = true;
      pos = oe;
    }
    if (pos < end) memcpy(base + pos, data + (pos - offset), end - pos);
    if (overlap) report(ctx, FragEvent::kOverlap);
    if (inconsistent) report(ctx, FragEvent::kInconsistent);

    // Merge [offset, end) into the sorted range list.
    Range nr{offset, uint32_t(end)};
    size_t k = 0;
    while (k < s.ranges.size() && s.ranges[k].end < nr.begin) ++k;
    size_t j = k;
    while (j < s.ranges.size() && s.ranges[j].begin <= nr.end) {
      nr.begin = std::min(nr.begin, s.ranges[j].begin);
      nr.end = std::max(nr.end, s.ranges[j].end);
      ++j;
    }
    if (j == k && s.ranges.size() >= lim_.max_pieces) {
      report(ctx, FragEvent::kTooManyPieces);
      free_slot(i, false);
      return Status::kDropped;
    }
    s.ranges.erase(s.ranges.begin() + k, s.ranges.begin() + j);
    s.ranges.insert(s.ranges.begin() + k, nr);
  }

  // Whole once [0, total) is covered; bytes kept past a later-announced end are dropped.
  if (!s.have_last || s.hdr_len == 0 || s.ranges.empty() || s.ranges[0].begin != 0 ||
      s.ranges[0].end < s.total)
    return Status::kHeld;

  // Complete: put the header right before the payload and describe the whole datagram.
  uint8_t* h = s.buf.data() + kHeadroom - s.hdr_len;
  memcpy(h, s.hdr, s.hdr_len);
  if (key.version == 4) {
    uint32_t tot = s.hdr_len + s.total;
    h[2] = uint8_t(tot >> 8);
    h[3] = uint8_t(tot);
    h[6] = 0;
    h[7] = 0;
  } else {
    h[4] = uint8_t(s.total >> 8);
    h[5] = uint8_t(s.total);
  }
  s.pending = true;
  out.data = h;
  out.len = s.hdr_len + s.total;
  out.slot = i;
  return Status::kComplete;
}

void FragmentTable::release(int slot) {
  if (slot >= 0 && size_t(slot) < slots_.size() && slots_[slot].used) free_slot(slot, false);
}

uint64_t FragmentTable::expire(TimeNs now) {
  uint64_t n = 0;
  while (oldest_ >= 0 && !slots_[oldest_].pending &&
         slots_[oldest_].first_ts + lim_.timeout <= now) {
    free_slot(oldest_, false);
    ++n;
  }
  timed_out_ += n;
  return n;
}

}  // namespace komainu
