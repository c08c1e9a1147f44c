// A mutex that spins before sleeping. The locks between worker threads (the output writers'
// appends, the cross-flow detectors) are held for about a microsecond, so a waiter almost
// always gets the lock within a few spins; with std::mutex a contended lock went to sleep in
// the kernel every time (31k context switches in a two-worker run of the benchmark capture,
// a third of the wall time).
#pragma once
#include <immintrin.h>

#include <mutex>

namespace komainu {

class SpinMutex {
 public:
  void lock() {
    for (int i = 0; i < kSpins; ++i) {
      if (mu_.try_lock()) return;
      _mm_pause();
    }
    mu_.lock();
  }
  bool try_lock() { return mu_.try_lock(); }
  void unlock() { mu_.unlock(); }

 private:
  // At most ~0.2 ms (4,000 PAUSEs took 231 us on the development machine's AMD EPYC): only a
  // holder that was preempted makes a waiter spin that long.
  static constexpr int kSpins = 4000;
  std::mutex mu_;
};

}  // namespace komainu
