#include "capture/source.h"

#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>

namespace komainu {

FileSource::~FileSource() {
  for (auto& in : inputs_)
    if (in.handle) pcap_close(in.handle);
}

bool FileSource::open(const std::vector<std::string>& paths) {
  paths_ = paths;
  for (const auto& path : paths) {
    char errbuf[PCAP_ERRBUF_SIZE] = {0};
    // Our own FILE with a large buffer: libpcap reads each record with small freads, and
    // stdio's default buffer (st_blksize, 4 KiB) costs one read(2) per 4 KiB of capture.
    FILE* fp = fopen(path.c_str(), "rb");
    if (!fp) {
      error_ = path + ": " + strerror(errno);
      return false;
    }
    setvbuf(fp, nullptr, _IOFBF, kReadBuffer);
    pcap_t* h = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_NANO, errbuf);
    if (!h) {
      fclose(fp);
      error_ = path + ": " + errbuf;
      return false;
    }
    struct stat st {};
    if (stat(path.c_str(), &st) == 0) total_file_bytes_ += static_cast<uint64_t>(st.st_size);
    inputs_.emplace_back();
    Input& in = inputs_.back();
    in.handle = h;
    in.path = path;
    in.linktype = pcap_datalink(h);
    if (direct_read_) {
      // libpcap has read and checked the header; records of a plain classic pcap file are
      // then read directly, from the offset after the header, with pread (the FILE's
      // position stays where libpcap left it until a hand-off seeks it).
      int fd = fileno(fp);
      uint8_t header[24];
      bool nano = false;
      struct stat fst {};
      if (fstat(fd, &fst) == 0 && S_ISREG(fst.st_mode) &&
          pread(fd, header, sizeof header, 0) == ssize_t(sizeof header) &&
          DirectPcapReader::eligible(header, nano))
        in.direct = std::make_unique<DirectPcapReader>(fd, sizeof header, nano, pcap_snapshot(h));
    }
  }
  for (auto& in : inputs_) advance(in);
  return true;
}

bool FileSource::advance(Input& in) {
  if (in.done) return false;
  if (in.direct) {
    const uint8_t* data = nullptr;
    switch (in.direct->next(in.direct_hdr, data)) {
      case DirectPcapReader::Status::kRecord:
        in.hdr = &in.direct_hdr;
        in.data = data;
        ++in.number;
        return true;
      case DirectPcapReader::Status::kEnd:
        in.direct.reset();
        in.done = true;
        return false;
      case DirectPcapReader::Status::kHandOff: {
        // libpcap reads on from this record: its handling of damaged records is the one
        // users (and tests) know.
        uint64_t off = in.direct->offset();
        in.direct.reset();
        if (fseeko(pcap_file(in.handle), off_t(off), SEEK_SET) != 0) {
          warnings_.push_back(in.path + ": after packet " + std::to_string(in.number) +
                              ": cannot seek: " + strerror(errno));
          in.done = true;
          return false;
        }
        break;
      }
    }
  }
  int rc = pcap_next_ex(in.handle, const_cast<struct pcap_pkthdr**>(&in.hdr), &in.data);
  if (rc == 1) {
    ++in.number;
    return true;
  }
  if (rc == -1) {
    // A truncated or corrupt file: keep what was read, name where it broke, go on.
    warnings_.push_back(in.path + ": after packet " + std::to_string(in.number) + ": " +
                        pcap_geterr(in.handle));
  }
  in.done = true;
  return false;
}

SourceStatus FileSource::next(RawFrame& frame) {
  if (current_ >= 0) advance(inputs_[current_]);
  current_ = -1;
  if (stop_) return SourceStatus::kEnd;
  TimeNs best = 0;
  for (size_t i = 0; i < inputs_.size(); ++i) {
    const Input& in = inputs_[i];
    if (in.done) continue;
    TimeNs t = static_cast<TimeNs>(in.hdr->ts.tv_sec) * kNsPerSec + in.hdr->ts.tv_usec;
    if (current_ < 0 || t < best) {
      best = t;
      current_ = static_cast<int>(i);
    }
  }
  if (current_ < 0) return SourceStatus::kEnd;
  const Input& in = inputs_[current_];
  frame.ts = best;  // nanosecond precision was requested: tv_usec holds nanoseconds
  frame.number = in.number;
  frame.caplen = in.hdr->caplen;
  frame.wirelen = in.hdr->len;
  frame.linktype = in.linktype;
  frame.data = in.data;
  frame.input = static_cast<uint16_t>(current_);
  ++frames_;
  bytes_ += in.hdr->caplen;
  return SourceStatus::kFrame;
}

uint64_t FileSource::consumed_file_bytes() const {
  uint64_t total = 0;
  for (const auto& in : inputs_) {
    if (in.direct) {
      total += in.direct->offset();
      continue;
    }
    if (in.done) {
      struct stat st {};
      if (stat(in.path.c_str(), &st) == 0) total += static_cast<uint64_t>(st.st_size);
      continue;
    }
    FILE* f = pcap_file(in.handle);
    if (f) {
      long pos = ftell(f);
      if (pos > 0) total += static_cast<uint64_t>(pos);
    }
  }
  return total;
}

LiveSource::~LiveSource() {
  if (handle_) pcap_close(handle_);
}

bool LiveSource::open(const Options& opt) {
  char errbuf[PCAP_ERRBUF_SIZE] = {0};
  handle_ = pcap_create(opt.interface.c_str(), errbuf);
  if (!handle_) {
    error_ = opt.interface + ": " + errbuf;
    return false;
  }
  pcap_set_snaplen(handle_, opt.snaplen);
  pcap_set_promisc(handle_, opt.promiscuous ? 1 : 0);
  pcap_set_buffer_size(handle_, opt.buffer_mib * 1024 * 1024);
  pcap_set_timeout(handle_, 100);  // ms: lets the loop notice stop() while idle
  pcap_set_tstamp_precision(handle_, PCAP_TSTAMP_PRECISION_NANO);
  int rc = pcap_activate(handle_);
  if (rc < 0) {
    error_ = opt.interface + ": " + pcap_geterr(handle_);
    return false;
  }
  if (rc > 0) warnings_.push_back(opt.interface + ": " + pcap_statustostr(rc));
  if (!opt.bpf.empty()) {
    struct bpf_program prog;
    if (pcap_compile(handle_, &prog, opt.bpf.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0 ||
        pcap_setfilter(handle_, &prog) != 0) {
      error_ = "capture filter '" + opt.bpf + "': " + pcap_geterr(handle_);
      return false;
    }
    pcap_freecode(&prog);
  }
  linktype_ = pcap_datalink(handle_);
  // Non-blocking reads and our own poll(2) with a timeout: with TPACKET_V3 a blocking read
  // waits in poll without a timeout while the interface is quiet (the kernel's block timeout
  // only retires blocks that hold packets), so the loop never heard that nothing came: no
  // partial batch handed to the workers, no output flushed, until the next packet.
  if (pcap_setnonblock(handle_, 1, errbuf) != 0 || (fd_ = pcap_get_selectable_fd(handle_)) < 0) {
    error_ = opt.interface + ": cannot poll the capture: " + errbuf;
    return false;
  }
  return true;
}

SourceStatus LiveSource::next(RawFrame& frame) {
  if (stop_) return SourceStatus::kEnd;
  const struct pcap_pkthdr* hdr;
  const u_char* data;
  int rc = pcap_next_ex(handle_, const_cast<struct pcap_pkthdr**>(&hdr), &data);
  if (rc == 0) {
    // Nothing buffered: wait up to kIdleMs for the kernel to hand a block over.
    struct pollfd p {
      fd_, POLLIN, 0
    };
    if (poll(&p, 1, kIdleMs) <= 0 || stop_) return stop_ ? SourceStatus::kEnd : SourceStatus::kIdle;
    rc = pcap_next_ex(handle_, const_cast<struct pcap_pkthdr**>(&hdr), &data);
    if (rc == 0) return SourceStatus::kIdle;
  }
  if (rc == PCAP_ERROR_BREAK) return SourceStatus::kEnd;
  if (rc < 0) {
    if (stop_) return SourceStatus::kEnd;
    error_ = pcap_geterr(handle_);
    return SourceStatus::kError;
  }
  ++frames_;
  bytes_ += hdr->caplen;
  frame.ts = static_cast<TimeNs>(hdr->ts.tv_sec) * kNsPerSec + hdr->ts.tv_usec;
  frame.number = frames_;
  frame.caplen = hdr->caplen;
  frame.wirelen = hdr->len;
  frame.linktype = linktype_;
  frame.data = data;
  frame.input = 0;
  return SourceStatus::kFrame;
}

TimeNs LiveSource::idle_time() const {
  auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
  return std::chrono::duration_cast<std::chrono::nanoseconds>(since_epoch).count() - kNsPerSec;
}

void LiveSource::stop() {
  stop_ = true;
  if (handle_) pcap_breakloop(handle_);
}

uint64_t LiveSource::dropped() const {
  struct pcap_stat st {};
  if (handle_ && pcap_stats(handle_, &st) == 0) return st.ps_drop + st.ps_ifdrop;
  return 0;
}

}  // namespace komainu
