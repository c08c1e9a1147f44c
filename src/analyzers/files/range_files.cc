#include "analyzers/files/range_files.h"

#include <algorithm>

namespace komainu::files {

RangeFiles::File* RangeFiles::find(uint64_t id) {
  for (auto& f : files_)
    if (f.id == id) return &f;
  return nullptr;
}

const std::string* RangeFiles::fuid(uint64_t id) const {
  for (const auto& f : files_)
    if (f.id == id) return &f.fuid;
  return nullptr;
}

uint64_t RangeFiles::open(std::string_view key, std::string_view source, const FlowContext* flow,
                          uint64_t total, bool has_total, TimeNs ts, EventSink* sink) {
  expire(ts, sink);
  File* f = nullptr;
  for (auto& x : files_)
    if (x.key == key) f = &x;
  if (!f) {
    if (files_.size() >= max_files_) {
      size_t stalest = 0;
      for (size_t i = 1; i < files_.size(); ++i)
        if (files_[i].last < files_[stalest].last) stalest = i;
      ++evicted_;
      end(stalest, true, sink);
    }
    File& n = files_.emplace_back();
    n.id = next_id_++;
    n.key.assign(key);
    n.source.assign(source);
    // Deterministic per worker: the key names the file, the id tells reopenings apart.
    n.fuid = make_fuid(key, n.id, 0x52414e4745ull);
    n.first = n.last = ts;
    n.digests.start(ts, n.fuid, source, false);
    f = &n;
  }
  if (has_total && !f->has_total) {
    f->total = total;
    f->has_total = true;
  }
  if (flow) {
    auto it = std::find_if(f->conns.begin(), f->conns.end(),
                           [&](const Conn& c) { return c.flow.uid == flow->uid; });
    if (it != f->conns.end()) {
      it->open = true;
    } else if (f->conns.size() < kMaxConns) {
      f->conns.push_back({*flow, true});
    }
  }
  return f->id;
}

void RangeFiles::add_piece(File& f, uint64_t lo, uint64_t hi) {
  auto& v = f.pieces;
  // First piece ending at or after lo: everything from there that overlaps or touches
  // [lo, hi) merges into one.
  auto it = std::lower_bound(v.begin(), v.end(), lo,
                             [](const auto& p, uint64_t x) { return p.second < x; });
  auto last = it;
  while (last != v.end() && last->first <= hi) {
    lo = std::min(lo, last->first);
    hi = std::max(hi, last->second);
    ++last;
  }
  if (it != last) {
    *it = {lo, hi};
    v.erase(it + 1, last);
    return;
  }
  if (v.size() < kMaxPieces) {
    v.insert(it, {lo, hi});
    return;
  }
  // Full: join the new piece to its nearer neighbour (the hole between them is then not
  // counted as missing).
  ++pieces_merged_;
  bool left = it != v.begin();
  bool right = it != v.end();
  if (left && right) left = lo - (it - 1)->second <= it->first - hi;
  if (left) {
    (it - 1)->second = hi;
  } else {
    it->first = lo;
  }
}

bool RangeFiles::complete(const File& f) const {
  return f.has_total && !f.pieces.empty() && f.pieces.front().first == 0 &&
         f.pieces.front().second >= f.total;
}

bool RangeFiles::data(uint64_t id, uint64_t offset, std::span<const uint8_t> bytes, TimeNs ts,
                      EventSink* sink) {
  File* f = find(id);
  if (!f) return false;
  if (bytes.empty()) return true;
  f->last = ts;
  f->digests.data_at(offset, bytes, ts);  // counts the bytes, keeps the head, hashes in order
  add_piece(*f, offset, offset + bytes.size());
  if (complete(*f)) end(static_cast<size_t>(f - files_.data()), false, sink);
  return true;
}

void RangeFiles::release(const FlowContext* flow, TimeNs ts, EventSink* sink) {
  if (!flow) return;
  for (size_t i = files_.size(); i-- > 0;) {
    File& f = files_[i];
    bool carried = false, others = false;
    for (auto& c : f.conns) {
      if (c.flow.uid == flow->uid) {
        carried = carried || c.open;
        c.open = false;
      } else if (c.open) {
        others = true;
      }
    }
    if (carried && !others) end(i, true, sink);
  }
  expire(ts, sink);
}

void RangeFiles::expire(TimeNs now, EventSink* sink) {
  for (size_t i = files_.size(); i-- > 0;)
    if (now - files_[i].last > kTimeout) end(i, true, sink);
}

void RangeFiles::end(size_t index, bool timedout, EventSink* sink) {
  File& f = files_[index];
  if (sink) {
    FileLogRecord rec;
    rec.ts = f.first;
    rec.last_ts = f.last;
    rec.fuid = f.fuid;
    rec.source = f.source;
    rec.is_orig = false;
    rec.total_bytes = f.total;
    rec.has_total = f.has_total;
    // Zeek's reassembler reports the holes up to the last byte it holds when the file ends.
    uint64_t covered = 0;
    for (const auto& [lo, hi] : f.pieces) covered += hi - lo;
    rec.missing_bytes = f.pieces.empty() ? 0 : f.pieces.back().second - covered;
    rec.timedout = timedout;
    rec.complete = complete(f);
    const FileRecord& d = f.digests.finish(f.last, rec.complete);
    rec.seen_bytes = d.seen_bytes;
    rec.mime_type = d.mime_type;
    rec.head = d.head;
    if (d.hashed) {
      rec.md5 = d.md5;
      rec.sha1 = d.sha1;
      rec.sha256 = d.sha256;
      rec.hashed = true;
    }
    for (const Conn& c : f.conns) {
      rec.flow = &c.flow;
      sink->publish(rec);
    }
  }
  files_.erase(files_.begin() + static_cast<std::ptrdiff_t>(index));
}

}  // namespace komainu::files
