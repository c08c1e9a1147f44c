// Bursts of file downloads and mailbox item access per account.
#include <algorithm>
#include <deque>

#include "logs/model/detector.h"

namespace komainu::logs {
namespace {

const AlertSpec kMassDownload{
    2000040, "KOMAINU identity M365 mass file download", "Exfiltration", 2, "TA0009", "T1530"};
const AlertSpec kMailBurst{2000041,      "KOMAINU identity M365 MailItemsAccessed burst",
                           "Collection", 2,
                           "TA0009",     "T1114.002"};

struct Window {
  std::deque<std::pair<TimeNs, int64_t>> items;
  int64_t sum = 0;
  TimeNs alerted_at = kNever;
  std::vector<std::string> ips, objects;
};

enum : size_t { kTracked, kEvictions };
const std::vector<CounterInfo> kCounters = {{"tracked_accounts", "accounts with open windows"},
                                            {"evictions", "windows evicted by the cap"}};

class M365Exfil : public IdentityDetector {
 public:
  explicit M365Exfil(const YAML::Node& s)
      : dl_window_(setting_duration(s, "download_window", 600 * kNsPerSec)),
        mail_window_(setting_duration(s, "mail_window", 600 * kNsPerSec)),
        dl_min_(setting_int(s, "download_min_files", 50)),
        mail_min_(setting_int(s, "mail_min_items", 200)),
        downloads_(size_t(setting_int(s, "max_accounts", 200000)), dl_window_ * 2),
        mail_(size_t(setting_int(s, "max_accounts", 200000)), mail_window_ * 2),
        counters_("m365_exfil", kCounters) {}

  void on_event(const LogEvent& ev, DetectorContext& ctx) override {
    if (ev.user.empty()) return;
    if (ev.cls == EventClass::kFileAccess &&
        (ev.action == "FileDownloaded" || ev.action == "FileSyncDownloadedFull" ||
         ev.action == "FileSyncDownloadedPartial")) {
      track(downloads_, dl_window_, dl_min_, 1, kMassDownload, ev, ctx);
    } else if (ev.cls == EventClass::kMailAccess) {
      track(mail_, mail_window_, mail_min_, std::max<int64_t>(1, ev.count), kMailBurst, ev, ctx);
    }
    counters_[kTracked] = downloads_.size() + mail_.size();
    counters_[kEvictions] = downloads_.evictions() + mail_.evictions();
  }
  const CounterSet* counters() const override { return &counters_; }

 private:
  void track(BoundedMap<Window>& map, TimeNs window, int64_t min, int64_t n, const AlertSpec& spec,
             const LogEvent& ev, DetectorContext& ctx) {
    Window& w = map.touch(ev.user, ev.ts);
    while (!w.items.empty() && ev.ts - w.items.front().first > window) {
      w.sum -= w.items.front().second;
      w.items.pop_front();
    }
    if (w.items.empty()) {
      w.ips.clear();
      w.objects.clear();
    }
    w.items.emplace_back(ev.ts, n);
    w.sum += n;
    if (!ev.src_ip.empty() && w.ips.size() < 20 &&
        std::find(w.ips.begin(), w.ips.end(), ev.src_ip) == w.ips.end())
      w.ips.push_back(ev.src_ip);
    if (!ev.object.empty() && w.objects.size() < 20) w.objects.push_back(ev.object);
    if (w.sum < min || ev.ts - w.alerted_at <= window) return;
    w.alerted_at = ev.ts;
    AlertDraft d;
    d.spec = &spec;
    add_entities(d, ev);
    for (const auto& ip : w.ips)
      if (std::find(d.ips.begin(), d.ips.end(), ip) == d.ips.end()) d.ips.push_back(ip);
    std::string e;
    JsonWriter jw(e);
    jw.begin_object();
    jw.kv("count", w.sum);
    jw.kv("records", uint64_t(w.items.size()));
    jw.kv("window_s", int64_t(window / kNsPerSec));
    jw.kv("threshold", min);
    jw.kv("first", format_eve_time(w.items.front().first));
    jw.kv("last", format_eve_time(ev.ts));
    jw.key("objects").begin_array();
    for (const auto& o : w.objects) jw.value(std::string_view(o));
    jw.end_array();
    jw.end_object();
    d.evidence_json = std::move(e);
    ctx.raise(d, ev);
  }

  TimeNs dl_window_, mail_window_;
  int64_t dl_min_, mail_min_;
  BoundedMap<Window> downloads_, mail_;
  CounterSet counters_;
};

const Registration<IdentityDetectorApi> reg{{
    .name = "m365_exfil",
    .description = "M365 mass download and MailItemsAccessed bursts",
    .make = [](const YAML::Node& s) -> std::unique_ptr<IdentityDetector> {
      return std::make_unique<M365Exfil>(s);
    },
}};

}  // namespace
}  // namespace komainu::logs
