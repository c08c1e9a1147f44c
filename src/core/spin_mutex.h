// A mutex that spins before sleeping. The locks between worker threads (the cross-flow
// detectors, the output writers' hand-overs) are held for about a microsecond, so a waiter
// almost always gets the lock within a few spins; with std::mutex a contended lock went to
// sleep in the kernel every time (31k context switches in a two-worker run of the benchmark
// capture, a third of the wall time). A waiter spins on a plain load and tries to take the
// lock only when it looks free: retrying std::mutex::try_lock in the loop wrote the lock's
// cache line on every spin, pulling it away from the holder (3% of a two-worker run in
// try_lock and unlock). Past the spins it sleeps on the atomic (a futex on Linux).
#pragma once
#include <immintrin.h>

#include <atomic>
#include <cstdint>
#include <mutex>  // std::lock_guard and std::unique_lock, which users take it with

namespace komainu {

class SpinMutex {
 public:
  void lock() {
    uint32_t c = kFree;
    if (state_.compare_exchange_strong(c, kLocked, std::memory_order_acquire)) return;
    for (int i = 0; i < kSpins; ++i) {
      _mm_pause();
      if (state_.load(std::memory_order_relaxed) != kFree) continue;
      c = kFree;
      if (state_.compare_exchange_weak(c, kLocked, std::memory_order_acquire)) return;
    }
    // Sleep: mark the lock contended so that unlock() wakes a sleeper.
    while (state_.exchange(kContended, std::memory_order_acquire) != kFree)
      state_.wait(kContended, std::memory_order_relaxed);
  }
  bool try_lock() {
    uint32_t c = kFree;
    return state_.compare_exchange_strong(c, kLocked, std::memory_order_acquire);
  }
  void unlock() {
    if (state_.exchange(kFree, std::memory_order_release) == kContended) state_.notify_one();
  }

 private:
  static constexpr uint32_t kFree = 0, kLocked = 1, kContended = 2;
  // At most ~0.2 ms (4,000 PAUSEs took 231 us on the development machine's AMD EPYC): only a
  // holder that was preempted makes a waiter spin that long.
  static constexpr int kSpins = 4000;
  std::atomic<uint32_t> state_{kFree};
};

}  // namespace komainu
