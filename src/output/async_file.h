// Output files written by a helper thread: the worker renders lines into a buffer and hands
// full buffers over, so the write(2) calls (about a twentieth of a whole run with every log
// on) overlap with packet processing on the second core. Buffers go back and forth between
// the two threads and keep their capacity: nothing is allocated per line. Each file's bytes
// are written in the order they were handed over.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace komainu {

class AsyncFileWriter {
 public:
  // A buffer is handed over once it holds this much.
  static constexpr size_t kChunk = 256 << 10;

  AsyncFileWriter() = default;
  ~AsyncFileWriter();  // writes what was handed over, then stops the helper
  AsyncFileWriter(const AsyncFileWriter&) = delete;
  AsyncFileWriter& operator=(const AsyncFileWriter&) = delete;

  // Hands `buf`'s bytes over for `fd` and leaves `buf` empty (with a spare buffer's
  // capacity). Waits when too much is queued, so memory stays bounded.
  void write(int fd, std::string& buf);
  // Returns once everything handed over has been written.
  void drain();
  // Failed or short writes so far, with the first error's text.
  uint64_t errors() const;
  std::string first_error() const;

 private:
  static constexpr size_t kMaxQueued = 16;  // 4 MiB in flight at most
  struct Item {
    int fd;
    std::string data;
  };
  void run();

  mutable std::mutex mu_;
  std::condition_variable work_cv_;  // helper: an item was queued or stop
  std::condition_variable done_cv_;  // producer: an item was written
  std::deque<Item> queue_;
  std::vector<std::string> spare_;
  bool busy_ = false;  // the helper is writing an item it took off the queue
  bool stop_ = false;
  uint64_t errors_ = 0;
  std::string first_error_;
  std::thread thread_;
};

}  // namespace komainu
