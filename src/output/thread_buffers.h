// Line buffers per writing thread, for outputs that several worker threads write at once.
// Each thread appends to its own slot under the slot's lock, which no other thread takes
// except to flush, and hands a full buffer to the file as one block: the workers share no
// lock or cache line per line written. With one lock per writer, two workers bounced the
// lock's line between the cores on every EVE and Zeek line (about 3% of a two-worker run on
// the benchmark capture, spinning and unlocking). Lines of one thread stay in order; lines of
// different threads interleave by block, which multi-worker output never promised otherwise.
#pragma once
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "core/spin_mutex.h"

namespace komainu {

class ThreadBuffers {
 public:
  // Threads beyond this share slots (still correct: the slot lock serialises them).
  static constexpr size_t kSlots = 16;

  // One thread's lines for one output stream (the EVE file; each Zeek log).
  struct Stream {
    const void* key;  // what the writer looks the stream up by (itself, a schema)
    void* value;      // the writer's own data for it (a Log*)
    std::string buf;
  };

  struct alignas(64) Slot {
    SpinMutex mu;
    std::vector<Stream> streams;  // found without the writer's lock
    uint64_t lines = 0;

    // This thread's stream for `key`, or nullptr when it has not written to it yet.
    Stream* find(const void* key) {
      for (Stream& st : streams)
        if (st.key == key) return &st;
      return nullptr;
    }
    Stream& add(const void* key, void* value) {
      streams.push_back({key, value, {}});
      return streams.back();
    }
  };

  // The calling thread's slot; lock its `mu` before touching it.
  Slot& mine() { return slots_[thread_index() % kSlots]; }

  // Calls f(key-value, buffer) for every non-empty buffer of every slot, each slot locked.
  template <typename F>
  void drain(F&& f) {
    for (Slot& s : slots_) {
      std::lock_guard lock(s.mu);
      for (Stream& st : s.streams)
        if (!st.buf.empty()) f(st.value, st.buf);
    }
  }

  // Lines counted by every slot; exact once the writing threads are done.
  uint64_t lines() {
    uint64_t n = 0;
    for (Slot& s : slots_) {
      std::lock_guard lock(s.mu);
      n += s.lines;
    }
    return n;
  }

 private:
  static size_t thread_index() {
    static std::atomic<size_t> next{0};
    thread_local size_t index = next.fetch_add(1, std::memory_order_relaxed);
    return index;
  }

  Slot slots_[kSlots];
};

}  // namespace komainu
