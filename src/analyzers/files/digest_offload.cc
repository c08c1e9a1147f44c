#include "analyzers/files/digest_offload.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstring>

namespace komainu::files {

DigestOffload& DigestOffload::for_this_thread() {
  static thread_local DigestOffload instance;
  return instance;
}

DigestOffload::DigestOffload() {
  blocks_.reserve(kBlocks);
  free_.reserve(kBlocks);
  queue_.reserve(kBlocks);
  for (size_t i = 0; i < kBlocks; ++i) {
    blocks_.push_back(std::make_unique<Block>());
    free_.push_back(blocks_.back().get());
  }
}

DigestOffload::~DigestOffload() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  work_cv_.notify_one();
  thread_.join();
}

uint64_t DigestOffload::submit(const Contexts& c, std::span<const uint8_t> bytes) {
  if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
  uint64_t last = 0;
  while (!bytes.empty()) {
    if (!current_) {
      std::unique_lock lock(mu_);
      done_cv_.wait(lock, [this] { return !free_.empty(); });
      current_ = free_.back();
      free_.pop_back();
      current_->used = 0;
      current_->jobs.clear();
      current_->number = next_number_++;
    }
    Block& b = *current_;
    const size_t n = std::min(kBlockSize - b.used, bytes.size());
    memcpy(b.data.get() + b.used, bytes.data(), n);
    // Consecutive pieces of the same file (one body over many segments) are one update.
    if (!b.jobs.empty() && b.jobs.back().off + b.jobs.back().len == b.used &&
        std::equal(c.ctx, c.ctx + 3, b.jobs.back().c.ctx)) {
      b.jobs.back().len += uint32_t(n);
    } else {
      b.jobs.push_back({c, uint32_t(b.used), uint32_t(n)});
    }
    b.used += n;
    bytes = bytes.subspan(n);
    last = b.number;
    if (b.used == kBlockSize) send_current();
  }
  return last;
}

void DigestOffload::send_current() {
  {
    std::lock_guard lock(mu_);
    queue_.push_back(current_);
  }
  current_ = nullptr;
  work_cv_.notify_one();
}

void DigestOffload::wait(uint64_t block) {
  if (block == 0) return;
  if (current_ && current_->number <= block) send_current();
  std::unique_lock lock(mu_);
  done_cv_.wait(lock, [&] { return done_ >= block; });
}

void DigestOffload::run() {
  for (;;) {
    Block* b = nullptr;
    {
      std::unique_lock lock(mu_);
      work_cv_.wait(lock, [this] { return stop_ || queue_head_ < queue_.size(); });
      // Every tracker waits for its blocks before it frees its contexts, so whatever is still
      // queued at shutdown belongs to nobody.
      if (stop_) return;
      b = queue_[queue_head_++];
      if (queue_head_ == queue_.size()) {
        queue_.clear();
        queue_head_ = 0;
      }
    }
    for (const Job& j : b->jobs)
      for (evp_md_ctx_st* ctx : j.c.ctx) EVP_DigestUpdate(ctx, b->data.get() + j.off, j.len);
    {
      std::lock_guard lock(mu_);
      done_ = b->number;
      free_.push_back(b);
    }
    done_cv_.notify_one();
  }
}

}  // namespace komainu::files
