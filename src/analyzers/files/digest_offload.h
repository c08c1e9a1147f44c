// Hashing of large file bodies on a helper thread. MD5, SHA-1 and SHA-256 of every HTTP/SMB
// file (Zeek's hash-all-files) cost about a tenth of a whole run on the benchmark capture,
// and the worker thread would otherwise do it inline while the second core idles.
//
// One DigestOffload per worker thread (for_this_thread), so there is exactly one producer:
// the worker copies a file's bytes into 64 KiB blocks with the digest contexts they belong
// to; a full block goes to the helper thread, which updates the contexts block by block in
// submission order. A tracker remembers the last block that holds its bytes and waits for it
// (wait) before it reads or re-initialises its contexts, so the digests are exactly those
// of inline hashing. Memory is bounded: a fixed number of blocks, the producer waits for a
// free one when all are queued.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

struct evp_md_ctx_st;

namespace komainu::files {

class DigestOffload {
 public:
  static constexpr size_t kBlockSize = 64 << 10;
  static constexpr size_t kBlocks = 64;  // 4 MiB of queued bytes at most

  // The three contexts one file's bytes update, in order (MD5, SHA-1, SHA-256).
  struct Contexts {
    evp_md_ctx_st* ctx[3];
  };

  // The calling thread's instance; its helper thread starts on the first submit.
  static DigestOffload& for_this_thread();

  DigestOffload();
  ~DigestOffload();
  DigestOffload(const DigestOffload&) = delete;
  DigestOffload& operator=(const DigestOffload&) = delete;

  // Queues `bytes` for the contexts; returns the number of the last block holding them.
  uint64_t submit(const Contexts& c, std::span<const uint8_t> bytes);
  // Returns once every block up to `block` has been hashed (sends it first if it is the one
  // being filled).
  void wait(uint64_t block);

 private:
  struct Job {
    Contexts c;
    uint32_t off, len;
  };
  struct Block {
    std::unique_ptr<uint8_t[]> data{new uint8_t[kBlockSize]};
    size_t used = 0;
    uint64_t number = 0;
    std::vector<Job> jobs;
  };

  void send_current();  // hands the block being filled to the helper
  void run();

  std::mutex mu_;
  std::condition_variable work_cv_;  // helper: a block was queued or stop
  std::condition_variable done_cv_;  // producer: a block was hashed
  std::vector<Block*> free_;         // guarded by mu_
  std::vector<Block*> queue_;        // guarded by mu_, FIFO (front at queue_head_)
  size_t queue_head_ = 0;
  uint64_t done_ = 0;  // blocks hashed, guarded by mu_
  bool stop_ = false;
  std::vector<std::unique_ptr<Block>> blocks_;
  Block* current_ = nullptr;  // producer only
  uint64_t next_number_ = 1;  // producer only
  std::thread thread_;
};

}  // namespace komainu::files
