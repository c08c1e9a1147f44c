#include "cli/run.h"

#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "analyzers/files/file_tracker.h"
#include "detect/detector.h"
#include "detect/signatures/engine.h"
#include "detect/sigstage/sig_stage.h"
#include "detect/zones/segmentation.h"
#include "detect/zones/zones.h"
#include "output/eve_writer.h"
#include "output/zeek_writer.h"

namespace komainu {
namespace {

std::atomic<PacketSource*> g_source{nullptr};
std::atomic<int> g_signal{0};

void on_signal(int sig) {
  g_signal = sig;
  if (PacketSource* s = g_source.load()) s->stop();
}

void install_signals() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void print_progress(const PacketSource& src, const Pipeline& p, double elapsed) {
  double mbit = elapsed > 0 ? p.bytes() * 8 / elapsed / 1e6 : 0;
  std::string eta;
  if (const auto* fs = dynamic_cast<const FileSource*>(&src)) {
    uint64_t total = fs->total_file_bytes(), done = fs->consumed_file_bytes();
    if (done > 0 && total > done && elapsed > 0)
      eta = "  ETA " + std::to_string(static_cast<long>(elapsed * (total - done) / done)) + "s";
  }
  fprintf(stderr, "\r%llu packets  %.1f MB  %.0f Mbit/s%s   ",
          static_cast<unsigned long long>(p.frames()), p.bytes() / 1e6, mbit, eta.c_str());
}

// HOME_NET as the zones file declares it: every zone but `internet` (CIDRs of the zones: map).
std::string home_net_of_zones(const std::string& path) {
  std::string v;
  try {
    YAML::Node zones = YAML::LoadFile(path)["zones"];
    if (!zones || !zones.IsMap()) return v;
    for (const auto& kv : zones) {
      auto add = [&](const YAML::Node& n) {
        if (!n.IsScalar()) return;
        v += v.empty() ? "[" : ",";
        v += n.Scalar();
      };
      if (kv.second.IsSequence())
        for (const auto& e : kv.second) add(e);
      else
        add(kv.second);
    }
  } catch (const YAML::Exception&) {
    return {};  // the zones loader reports the error
  }
  if (!v.empty()) v += "]";
  return v;
}

// Loads the -S rule files into an engine; false with a message on a fatal error (unreadable
// file, Hyperscan failure). Bad rules are warnings: the rest loads.
bool load_signatures(const RunOptions& opt, const YAML::Node& config_root,
                     std::unique_ptr<sig::Engine>& engine, sig::LoadReport& report,
                     std::string* err) {
  sig::RuleVars vars;
  if (!opt.config_file.empty() && !vars.load_yaml_file(opt.config_file, *err)) return false;
  bool home_set = false;
  if (config_root.IsMap() && config_root["vars"] && config_root["vars"]["address-groups"])
    home_set = bool(config_root["vars"]["address-groups"]["HOME_NET"]);
  if (!home_set && !opt.zones_file.empty()) {
    std::string home = home_net_of_zones(opt.zones_file);
    if (!home.empty()) vars.set_address("HOME_NET", home);
  }
  sig::RuleLoader loader(vars);
  for (const auto& f : opt.rule_files)
    if (!loader.load_file(f)) {
      *err = f + ": cannot read rule file";
      return false;
    }
  report = loader.report();
  // Every rule that does not load is named; a long list is cut (rules check -v has it all).
  size_t shown = 0, limit = 50;
  for (const auto& e : report.errors)
    if (shown++ < limit)
      fprintf(stderr, "komainu: %s: error: sid %u: %s (rule skipped)\n", e.where().c_str(), e.sid,
              e.message.c_str());
  for (const auto& w : report.warnings)
    if (shown++ < limit)
      fprintf(stderr, "komainu: %s: warning: sid %u: %s%s%s\n", w.where().c_str(), w.sid,
              w.keyword.empty() ? "" : w.keyword.c_str(), w.keyword.empty() ? "" : ": ",
              w.message.c_str());
  if (shown > limit)
    fprintf(stderr, "komainu: ... %zu more (komainu rules check -v lists them all)\n",
            shown - limit);
  fprintf(stderr,
          "komainu: signatures: %zu rules loaded, %zu skipped (%zu with errors) in %.2f s\n",
          report.loaded, report.skipped, report.failed, report.load_seconds);
  // Compiled prefilter databases are cached across runs (Suricata 8's sgh-mpm-caching):
  // `detect: {hyperscan-cache: DIR}` in --config, `false` turns it off; default
  // $XDG_CACHE_HOME/komainu/hyperscan (~/.cache/...).
  sig::BuildOptions build;
  if (const char* xdg = getenv("XDG_CACHE_HOME"); xdg && *xdg)
    build.hs_cache_dir = std::string(xdg) + "/komainu/hyperscan";
  else if (const char* home = getenv("HOME"); home && *home)
    build.hs_cache_dir = std::string(home) + "/.cache/komainu/hyperscan";
  if (config_root.IsMap() && config_root["detect"] && config_root["detect"].IsMap() &&
      config_root["detect"]["hyperscan-cache"]) {
    const YAML::Node n = config_root["detect"]["hyperscan-cache"];
    std::string v = n.IsScalar() ? n.Scalar() : "";
    build.hs_cache_dir = v == "false" || v == "no" || v == "off" ? "" : v;
  }
  engine = sig::Engine::build(loader.take(), *err, build);
  if (engine && engine->stats().databases_cached)
    fprintf(stderr, "komainu: signatures: %zu of %zu prefilter databases from %s\n",
            engine->stats().databases_cached, engine->stats().databases,
            build.hs_cache_dir.c_str());
  return engine != nullptr;
}

long peak_rss_kib() {
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

}  // namespace

bool prepare_out_dir(const std::string& dir, std::string* error) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec || !std::filesystem::is_directory(dir)) {
    *error = dir + ": cannot create output directory: " + ec.message();
    return false;
  }
  return true;
}

int run_packets(PacketSource& src, const PipelineConfig& config, const RunOptions& opt,
                const std::vector<std::string>& input_names) {
  std::string err;
  PipelineConfig cfg = config;
  if (opt.workers >= 0) cfg.workers = unsigned(opt.workers);
  if (cfg.workers == 0) cfg.workers = std::max(1u, std::thread::hardware_concurrency());
  files::set_digests(cfg.file_digests);
  EveWriter eve;
  if (!eve.open(opt.out_dir + "/eve.json", &err)) {
    fprintf(stderr, "komainu: %s\n", err.c_str());
    return 1;
  }
  ZeekLogWriter zeek(opt.out_dir, opt.zeek_json);
  EventBus bus;
  bus.add(&eve);
  if (opt.zeek_logs || opt.zeek_json) bus.add(&zeek);

  // Behavioural detectors see every record; their alerts go to the outputs only.
  Zones zones;
  if (!opt.zones_file.empty() && !zones.load_file(opt.zones_file, &err)) {
    fprintf(stderr, "komainu: %s\n", err.c_str());
    return 2;
  }
  YAML::Node config_root;
  if (!opt.config_file.empty()) {
    try {
      config_root = YAML::LoadFile(opt.config_file);
    } catch (const YAML::Exception& e) {
      fprintf(stderr, "komainu: %s: %s\n", opt.config_file.c_str(), e.what());
      return 2;
    }
  }
  DetectorSet detectors;
  detectors.app_layer = cfg.flow.analyzers;
  if (!detectors.build(&config_root, opt.config_file, opt.zones_file.empty() ? nullptr : &zones,
                       &eve, &err)) {
    fprintf(stderr, "komainu: %s\n", err.c_str());
    return 2;
  }
  if (cfg.workers > 1) {
    eve.set_concurrent(true);
    zeek.set_concurrent(true);
    detectors.set_concurrent(true);
  }
  bus.add(&detectors);

  // Signatures: one engine shared by the workers, one stage (and Scratch) per worker.
  std::unique_ptr<sig::Engine> engine;
  sig::LoadReport rule_report;
  std::vector<const sig::SigStage*> sig_stages;
  WorkerStageFactory stage_factory;
  if (!opt.rule_files.empty()) {
    if (!load_signatures(opt, config_root, engine, rule_report, &err)) {
      fprintf(stderr, "komainu: %s\n", err.c_str());
      return 2;
    }
    uint16_t seed = cfg.flow.community_id_seed;
    stage_factory = [&engine, &sig_stages, seed](unsigned, EventSink* out) {
      auto s = std::make_unique<sig::SigStage>(*engine, out, seed);
      sig_stages.push_back(s.get());
      return std::unique_ptr<WorkerStage>(std::move(s));
    };
  }

  Pipeline pipeline(cfg, &bus, stage_factory);
  bool show_progress = opt.progress && isatty(STDERR_FILENO);
  g_source = &src;
  install_signals();
  auto t0 = std::chrono::steady_clock::now();
  double next_progress = 0.5;
  RawFrame frame;
  int rc = 0;
  // Live: what was written reaches the files within about a second, however quiet the
  // network (the writers otherwise hand a buffer over only once it holds 256 KiB). Wall
  // clock on purpose: this is about when an analyst sees an alert, not about data time.
  const bool live = src.live();
  auto next_flush = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  auto flush_if_due = [&] {
    auto now = std::chrono::steady_clock::now();
    if (now < next_flush) return;
    bus.flush();
    next_flush = now + std::chrono::seconds(1);
  };
  for (;;) {
    SourceStatus st = src.next(frame);
    if (st == SourceStatus::kFrame) {
      pipeline.process(frame);
      if (detectors.due(pipeline.now())) detectors.advance(pipeline.watermark());
      if (live) flush_if_due();
      if (show_progress && (pipeline.frames() & 0x3fff) == 0) {
        double el = seconds_since(t0);
        if (el >= next_progress) {
          print_progress(src, pipeline, el);
          next_progress = el + 0.5;
        }
      }
      continue;
    }
    if (st == SourceStatus::kIdle) {
      pipeline.idle(src.idle_time());
      detectors.advance(pipeline.watermark());
      flush_if_due();
      if (show_progress) print_progress(src, pipeline, seconds_since(t0));
      continue;
    }
    if (st == SourceStatus::kError) {
      fprintf(stderr, "komainu: capture error: %s\n", src.error().c_str());
      rc = 1;
    }
    break;
  }
  g_source = nullptr;
  pipeline.set_dropped(src.dropped());
  pipeline.finish();
  detectors.finish(pipeline.now());
  double wall = seconds_since(t0);
  if (show_progress) fprintf(stderr, "\n");
  for (const auto& w : src.warnings()) fprintf(stderr, "komainu: warning: %s\n", w.c_str());

  bus.flush();
  zeek.close(pipeline.now());
  if (!zeek.error().empty()) {
    fprintf(stderr, "komainu: %s\n", zeek.error().c_str());
    rc = 1;
  }
  if (eve.write_errors()) {
    fprintf(stderr, "komainu: %s/eve.json: %s\n", opt.out_dir.c_str(), eve.write_error().c_str());
    rc = 1;
  }

  std::string stats;
  JsonWriter w(stats);
  w.begin_object();
  w.key("inputs").begin_array();
  for (const auto& n : input_names) w.value(n);
  w.end_array();
  w.key("warnings").begin_array();
  for (const auto& s : src.warnings()) w.value(s);
  w.end_array();
  if (g_signal) w.kv("stopped_by_signal", g_signal.load());
  pipeline.write_stats(w);
  detectors.write_stats(w);
  if (engine) sig::write_signature_stats(w, *engine, rule_report, sig_stages);
  w.kv("eve_events", eve.events());
  w.kv("wall_time_s", wall);
  w.key("throughput").begin_object();
  w.kv("packets_per_s", wall > 0 ? pipeline.frames() / wall : 0.0);
  w.kv("mbit_per_s", wall > 0 ? pipeline.bytes() * 8 / wall / 1e6 : 0.0);
  w.end_object();
  w.kv("peak_rss_kib", int64_t(peak_rss_kib()));
  w.end_object();
  stats.push_back('\n');
  std::string stats_path = opt.out_dir + "/stats.json";
  FILE* f = fopen(stats_path.c_str(), "w");
  if (!f) {
    fprintf(stderr, "komainu: %s: cannot write\n", stats_path.c_str());
    return 1;
  }
  fwrite(stats.data(), 1, stats.size(), f);
  fclose(f);

  if (const auto* seg = dynamic_cast<const SegmentationDetector*>(detectors.find("zones"))) {
    std::string zj;
    JsonWriter zw(zj);
    seg->write_matrix(zw);
    zj.push_back('\n');
    std::string zpath = opt.out_dir + "/zones.json";
    FILE* zf = fopen(zpath.c_str(), "w");
    if (!zf) {
      fprintf(stderr, "komainu: %s: cannot write\n", zpath.c_str());
      return 1;
    }
    fwrite(zj.data(), 1, zj.size(), zf);
    fclose(zf);
    if (opt.print_zones) seg->print_table(stdout);
  }
  return rc;
}

}  // namespace komainu
