// Handing frames to worker threads: which shard a frame belongs to, and the bounded queue of
// frame batches between the reading thread and one worker.
#pragma once
#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <vector>

#include "core/time.h"
#include "decode/packet.h"

namespace komainu {

// The shard of a raw frame, from its outermost IP addresses only (symmetric, so both
// directions agree). Ports are left out on purpose: IP fragments after the first carry none,
// and an FTP data connection or an HTTP range request on a second connection must meet its
// control connection in the same worker. Frames whose IP header is not reached by the
// common link layers (ARP, MPLS, PPPoE, truncated) go to shard 0.
uint32_t frame_shard(const RawFrame& f, unsigned n);

// Frames copied out of the capture buffer, each with the reading thread's data clock at the
// moment it was read, so a worker advances its flows exactly as a single worker would.
struct FrameBatch {
  struct Item {
    RawFrame frame;  // data is set by the worker from `offset`
    uint32_t offset = 0;
    TimeNs now = 0;
  };
  std::vector<Item> items;
  std::vector<uint8_t> bytes;
  TimeNs now = 0;  // clock when handed over: the worker advances to it after the frames
  bool last = false;

  static constexpr size_t kMaxItems = 1024;
  static constexpr size_t kMaxBytes = 512 << 10;
  void add(const RawFrame& f, TimeNs clock);
  bool full() const { return items.size() >= kMaxItems || bytes.size() >= kMaxBytes; }
  void clear() {
    items.clear();
    bytes.clear();
    last = false;
  }
};

// Batches between the reading thread and the worker threads. Each shard has its own queue
// of batches, worked through in order by one thread at a time; a thread takes whichever shard
// is ready next, so with more shards than threads the load evens out between the threads: a
// shard that is busy for a while (a large file transfer) keeps one thread, the others share
// the remaining shards. With one fixed queue per thread, the reader stopped at the busy
// worker's full queue while the other worker ran dry (a tenth of the worker threads' time on
// the benchmark capture). A fixed number of batches exists, so memory stays bounded: the
// reader waits for a free batch when all are filled or in flight, and a slow consumer slows
// the reader (a live source then drops in the kernel, where it is counted).
class BatchScheduler {
 public:
  BatchScheduler(size_t shards, size_t batches)
      : shards_(shards), max_batches_(batches), refill_(std::max<size_t>(1, batches / 8)) {}
  // A cleared batch to fill; blocks while every batch is in use.
  std::unique_ptr<FrameBatch> take_empty();
  // The reader hands a shard its next batch (the shard's last one has `last` set).
  void push(size_t shard, std::unique_ptr<FrameBatch> b);
  // Worker thread `thread` of `threads`: the oldest batch of a ready shard no other thread is
  // working on (its own shards, shard % threads == thread, first), the shard in `shard`;
  // blocks until there is one; null once every shard's last batch is done.
  std::unique_ptr<FrameBatch> next(size_t thread, size_t threads, size_t& shard);
  // A worker thread is done with a batch next() gave it.
  void done(size_t shard, std::unique_ptr<FrameBatch> b);
  size_t allocated() {
    std::lock_guard lock(mu_);
    return allocated_;
  }

 private:
  struct Shard {
    std::deque<std::unique_ptr<FrameBatch>> pending;
    bool busy = false;    // a thread is working on one of its batches
    bool queued = false;  // in ready_
  };
  void make_ready(size_t shard);  // mu_ held

  std::mutex mu_;
  std::condition_variable work_cv_;  // a shard became ready, or everything ended
  std::condition_variable free_cv_;  // a batch was freed
  std::vector<Shard> shards_;
  std::deque<size_t> ready_;  // shards with pending batches and no thread on them, FIFO
  std::vector<std::unique_ptr<FrameBatch>> free_;
  size_t allocated_ = 0;
  const size_t max_batches_;
  const size_t refill_;  // free batches that wake a waiting reader
  bool reader_waiting_ = false;
  size_t ended_ = 0;  // shards whose last batch is done
};

}  // namespace komainu
