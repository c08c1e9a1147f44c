#include "output/async_file.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace komainu {

AsyncFileWriter::~AsyncFileWriter() {
  if (!thread_.joinable()) return;
  drain();
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  work_cv_.notify_one();
  thread_.join();
}

void AsyncFileWriter::write(int fd, std::string& buf) {
  if (buf.empty()) return;
  if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
  {
    std::unique_lock lock(mu_);
    done_cv_.wait(lock, [this] { return queue_.size() < kMaxQueued; });
    queue_.push_back({fd, std::move(buf)});
    if (spare_.empty()) {
      buf = std::string();
      buf.reserve(kChunk + 4096);
    } else {
      buf = std::move(spare_.back());
      spare_.pop_back();
    }
  }
  buf.clear();
  work_cv_.notify_one();
}

void AsyncFileWriter::drain() {
  std::unique_lock lock(mu_);
  done_cv_.wait(lock, [this] { return queue_.empty() && !busy_; });
}

uint64_t AsyncFileWriter::errors() const {
  std::lock_guard lock(mu_);
  return errors_;
}

std::string AsyncFileWriter::first_error() const {
  std::lock_guard lock(mu_);
  return first_error_;
}

void AsyncFileWriter::run() {
  std::unique_lock lock(mu_);
  for (;;) {
    work_cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stop, and everything written
    Item item = std::move(queue_.front());
    queue_.pop_front();
    busy_ = true;
    lock.unlock();
    const char* p = item.data.data();
    size_t left = item.data.size();
    int err = 0;
    while (left) {
      ssize_t n = ::write(item.fd, p, left);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        err = n < 0 ? errno : ENOSPC;
        break;
      }
      p += n;
      left -= size_t(n);
    }
    item.data.clear();
    lock.lock();
    if (err && errors_++ == 0) first_error_ = strerror(err);
    spare_.push_back(std::move(item.data));
    busy_ = false;
    done_cv_.notify_all();
  }
}

}  // namespace komainu
