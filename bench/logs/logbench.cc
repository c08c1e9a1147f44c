// Times the log pipeline against a parse-only simdjson pass over the same files, in one run.
//
//   logbench [--sigma PATH]... [--watchlist NAME=FILE]... [--config FILE] [--eve OUT]
//            [--stats] [--no-parse-only] FILE...
//   logbench --sigma PATH... --sigma-check      (the `rules check --sigma` report)
//
// Prints one JSON object: bytes, records, seconds, MB/s and events/s for both passes, their
// ratio, alerts and peak RSS. With --eve, alerts and vpn_session records are written as
// EVE JSON lines (a development aid; the real output path is `komainu analyze`).
#include <simdjson.h>
#include <sys/resource.h>
#include <time.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "logs/log_pipeline.h"

namespace {

class EveLines : public komainu::EventSink {
 public:
  explicit EveLines(FILE* f) : f_(f) {}
  void publish(const komainu::Record& r) override {
    ++count_;
    if (!f_) return;
    line_.clear();
    komainu::JsonWriter w(line_);
    w.begin_object();
    w.kv("timestamp", komainu::format_eve_time(r.ts));
    w.kv("event_type", r.event_type());
    r.write_eve(w);
    w.end_object();
    line_ += '\n';
    fwrite(line_.data(), 1, line_.size(), f_);
  }
  uint64_t count() const { return count_; }

 private:
  FILE* f_;
  std::string line_;
  uint64_t count_ = 0;
};

double now_s() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

// CPU time of this thread: on a shared machine the wall clock measures the neighbours too,
// so MB/s are reported on both clocks and the ratio on CPU time.
double cpu_s() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) / 1e9;
}

// simdjson parse of every line (the floor any JSON-lines ingest has to pay).
void parse_only(const std::vector<std::string>& files, uint64_t& bytes, uint64_t& records) {
  simdjson::dom::parser parser;
  std::vector<char> buf(16u << 20);
  for (const auto& path : files) {
    FILE* f = fopen(path.c_str(), "rb");
    if (!f) continue;
    size_t have = 0;
    while (true) {
      size_t n = fread(buf.data() + have, 1, buf.size() - simdjson::SIMDJSON_PADDING - have, f);
      if (n == 0 && have == 0) break;
      have += n;
      bytes += n;
      size_t p = 0;
      while (true) {
        const char* nl = static_cast<const char*>(memchr(buf.data() + p, '\n', have - p));
        if (!nl) {
          if (n == 0 && p < have)
            nl = buf.data() + have;
          else
            break;
        }
        size_t e = size_t(nl - buf.data());
        if (e > p) {
          auto doc = parser.parse(buf.data() + p, e - p, false);
          if (!doc.error()) ++records;
        }
        p = e + 1;
        if (p >= have) break;
      }
      if (p > have) p = have;
      memmove(buf.data(), buf.data() + p, have - p);
      have -= p;
      if (n == 0) break;
    }
    fclose(f);
  }
}

}  // namespace

int main(int argc, char** argv) {
  komainu::logs::LogOptions opts;
  std::vector<std::string> files;
  std::string eve;
  bool stats = false, do_parse_only = true;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--sigma")
      opts.sigma_paths.push_back(next());
    else if (a == "--watchlist") {
      std::string v = next();
      auto eq = v.find('=');
      if (eq == std::string::npos) {
        fprintf(stderr, "--watchlist NAME=FILE\n");
        return 2;
      }
      opts.watchlists.emplace_back(v.substr(0, eq), v.substr(eq + 1));
    } else if (a == "--config")
      opts.config_file = next();
    else if (a == "--log-kind")
      opts.forced_kind = next();
    else if (a == "--eve")
      eve = next();
    else if (a == "--stats")
      stats = true;
    else if (a == "--no-parse-only")
      do_parse_only = false;
    else if (a == "--sigma-check") {
      // What `komainu rules check --sigma` prints, for the paths given with --sigma.
      std::string json;
      bool ok = komainu::logs::sigma_check(opts.sigma_paths, json, opts.config_file);
      printf("%s\n", json.c_str());
      return ok ? 0 : 1;
    } else
      files.push_back(a);
  }
  if (files.empty()) {
    fprintf(stderr,
            "usage: logbench [--sigma PATH] [--watchlist N=F] [--eve OUT] [--stats] FILE...\n");
    return 2;
  }
  FILE* out = nullptr;
  if (!eve.empty()) out = eve == "-" ? stdout : fopen(eve.c_str(), "w");
  EveLines sink(out);
  komainu::logs::LogPipeline p(opts, sink);
  std::string err;
  if (!p.load(&err)) {
    fprintf(stderr, "load: %s\n", err.c_str());
    return 1;
  }
  uint64_t po_bytes = 0, po_records = 0;
  double po_s = 0, po_cpu = 0;
  if (do_parse_only) {
    double t0 = now_s(), c0 = cpu_s();
    parse_only(files, po_bytes, po_records);
    po_s = now_s() - t0;
    po_cpu = cpu_s() - c0;
  }
  double t0 = now_s(), c0 = cpu_s();
  uint64_t bytes = 0;
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::ate | std::ios::binary);
    bytes += in ? uint64_t(in.tellg()) : 0;
    if (!p.process_file(f, &err)) fprintf(stderr, "%s\n", err.c_str());
  }
  p.finish();
  double full_s = now_s() - t0;
  double full_cpu = cpu_s() - c0;
  if (out && out != stdout) fclose(out);
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  std::string js;
  komainu::JsonWriter w(js);
  w.begin_object();
  w.kv("bytes", bytes);
  w.kv("records_read", p.records_read());
  w.kv("parsed", p.records_parsed());
  w.kv("malformed", p.records_malformed());
  w.kv("alerts", p.alerts());
  w.kv("records_published", sink.count());
  w.kv("sigma_rules", p.sigma().report().loaded);
  w.kv("full_seconds", full_s);
  w.kv("full_mb_per_s", full_s > 0 ? bytes / 1e6 / full_s : 0.0);
  w.kv("full_events_per_s", full_s > 0 ? p.records_read() / full_s : 0.0);
  w.kv("full_cpu_seconds", full_cpu);
  w.kv("full_cpu_mb_per_s", full_cpu > 0 ? bytes / 1e6 / full_cpu : 0.0);
  w.kv("full_cpu_events_per_s", full_cpu > 0 ? p.records_read() / full_cpu : 0.0);
  if (do_parse_only) {
    w.kv("parse_only_seconds", po_s);
    w.kv("parse_only_mb_per_s", po_s > 0 ? po_bytes / 1e6 / po_s : 0.0);
    w.kv("parse_only_records", po_records);
    w.kv("full_over_parse_only", po_s > 0 ? full_s / po_s : 0.0);
    w.kv("parse_only_cpu_seconds", po_cpu);
    w.kv("parse_only_cpu_mb_per_s", po_cpu > 0 ? po_bytes / 1e6 / po_cpu : 0.0);
    w.kv("full_over_parse_only_cpu", po_cpu > 0 ? full_cpu / po_cpu : 0.0);
  }
  w.kv("peak_rss_mb", double(ru.ru_maxrss) / 1024.0);
  if (stats) {
    w.key("stats");
    p.write_stats(w);
  }
  w.end_object();
  printf("%s\n", js.c_str());
  return 0;
}
