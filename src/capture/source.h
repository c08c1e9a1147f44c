// Packet sources: where RawFrames come from.
#pragma once
#include <pcap/pcap.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "capture/pcap_direct.h"
#include "decode/packet.h"

namespace komainu {

enum class SourceStatus { kFrame, kIdle /* live: nothing yet */, kEnd, kError };

class PacketSource {
 public:
  virtual ~PacketSource() = default;
  // The frame's data stays valid until the next call.
  virtual SourceStatus next(RawFrame& frame) = 0;
  // Asks a blocking source to return kEnd soon; safe from a signal handler.
  virtual void stop() = 0;
  // Non-fatal problems met so far (a truncated file, ...), each naming file and packet.
  const std::vector<std::string>& warnings() const { return warnings_; }
  const std::string& error() const { return error_; }
  uint64_t frames() const { return frames_; }
  // Frames the capture layer lost (kernel drops on a live interface).
  virtual uint64_t dropped() const { return 0; }
  // Frames arrive as they happen (an interface), not as fast as they can be read (files).
  virtual bool live() const { return false; }
  // After kIdle: the time a frame arriving now would carry, at least (the data clock may
  // move on to it); 0 when the source cannot say (files).
  virtual TimeNs idle_time() const { return 0; }
  uint64_t bytes() const { return bytes_; }

 protected:
  std::vector<std::string> warnings_;
  std::string error_;
  uint64_t frames_ = 0;
  uint64_t bytes_ = 0;
};

// Several pcap/pcapng files read as one stream, merged by timestamp (ties: file order).
class FileSource : public PacketSource {
 public:
  // Opens every file; false (with error()) naming the first file that cannot be read.
  bool open(const std::vector<std::string>& paths);
  SourceStatus next(RawFrame& frame) override;
  void stop() override { stop_ = true; }
  // Total size of the inputs, for progress reporting.
  uint64_t total_file_bytes() const { return total_file_bytes_; }
  // Bytes of input consumed so far (approximate, from file offsets).
  uint64_t consumed_file_bytes() const;
  const std::vector<std::string>& paths() const { return paths_; }
  // Classic pcap files are read by DirectPcapReader unless this is turned off before open()
  // (libpcap then reads every record; the frames are the same either way).
  void set_direct_read(bool on) { direct_read_ = on; }

  ~FileSource() override;

 private:
  struct Input {
    pcap_t* handle = nullptr;
    std::string path;
    int linktype = 1;
    uint64_t number = 0;
    // Current frame, pending in the merge.
    const struct pcap_pkthdr* hdr = nullptr;
    const u_char* data = nullptr;
    bool done = false;
    std::unique_ptr<DirectPcapReader> direct;  // null: libpcap reads
    struct pcap_pkthdr direct_hdr {};
  };
  bool advance(Input& in);
  static constexpr size_t kReadBuffer = 1 << 20;

  std::vector<Input> inputs_;
  std::vector<std::string> paths_;
  uint64_t total_file_bytes_ = 0;
  int current_ = -1;  // input whose frame was handed out last (advanced on the next call)
  bool direct_read_ = true;
  std::atomic<bool> stop_{false};
};

// Live capture from one interface.
class LiveSource : public PacketSource {
 public:
  struct Options {
    std::string interface;
    int snaplen = 262144;
    bool promiscuous = true;
    int buffer_mib = 64;
    std::string bpf;  // optional capture filter
  };
  bool open(const Options& opt);
  SourceStatus next(RawFrame& frame) override;
  void stop() override;
  uint64_t dropped() const override;
  bool live() const override { return true; }
  // The system clock, which stamps live frames, less a second for frames still in the
  // kernel's buffer (its blocks are handed over within 100 ms).
  TimeNs idle_time() const override;
  ~LiveSource() override;

 private:
  static constexpr int kIdleMs = 100;  // a quiet interface reports kIdle this often
  pcap_t* handle_ = nullptr;
  int fd_ = -1;
  int linktype_ = 1;
  std::atomic<bool> stop_{false};
};

}  // namespace komainu
