// Handing frames to worker threads: which shard a frame belongs to, and the bounded queue of
// frame batches between the reading thread and one worker.
#pragma once
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

// One producer, one consumer; at most kDepth batches in flight, so memory stays bounded and
// a slow worker slows the reader (a live source then drops in the kernel, where it is
// counted) instead of growing a queue.
class BatchQueue {
 public:
  static constexpr size_t kDepth = 8;
  // A cleared batch to fill (recycled once the worker is done with it); blocks while every
  // batch is queued or in use.
  std::unique_ptr<FrameBatch> take_empty();
  void push(std::unique_ptr<FrameBatch> b);
  std::unique_ptr<FrameBatch> pop();  // blocks until a batch arrives
  void recycle(std::unique_ptr<FrameBatch> b);
  size_t allocated() {
    std::lock_guard lock(mu_);
    return allocated_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<FrameBatch>> full_;
  std::vector<std::unique_ptr<FrameBatch>> empty_;
  size_t allocated_ = 0;
};

}  // namespace komainu
