// Zeek parity through the real pipeline for any set of logs (header-only; the test links
// komainu_pipeline, komainu_capture, simdjson and the analyzers it checks). Every entry of
// the Zeek corpus manifest with a baseline for one of the logs goes through FileSource ->
// Pipeline with Zeek's defaults, and the rows are compared on the fields both sides have
// (ts and uid are masked/random in the baselines). Differences are printed.
#pragma once
#include <gtest/gtest.h>
#include <simdjson.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "analyzers/analyzer_testing.h"
#include "capture/source.h"
#include "pipeline/pipeline.h"

namespace komainu::testing {

struct LogTotals {
  size_t baseline = 0, identical = 0, produced = 0;
};

// Fills `table` (markdown, per trace and per log) and returns totals by log name. Returns
// an empty map when the manifest is absent.
inline std::map<std::string, LogTotals> zeek_manifest_parity(const std::string& zeek_dir,
                                                             const std::vector<std::string>& logs,
                                                             std::string& table,
                                                             const RowCompare& how = {},
                                                             std::string_view only = {}) {
  std::map<std::string, LogTotals> totals;
  simdjson::ondemand::parser parser;
  auto json = simdjson::padded_string::load(zeek_dir + "manifest.json");
  if (json.error() != simdjson::SUCCESS) return totals;
  simdjson::ondemand::document doc = parser.iterate(json.value());
  table = "| trace | log | identical / baseline | produced |\n|---|---|---|---|\n";
  for (auto entry : doc.get_array()) {
    std::string pcap(std::string_view(entry["pcap"].get_string().value()));
    std::string name(std::string_view(entry["btest_name"].get_string().value()));
    std::map<std::string, std::string> baselines;
    for (auto field : entry["baselines"].get_object()) {
      std::string key(std::string_view(field.unescaped_key().value()));
      baselines[key] = std::string(std::string_view(field.value().get_string().value()));
    }
    if (name.find(only) == std::string::npos) continue;  // `only`: a part of the trace name
    bool ignore_checksums = false;
    if (entry["zeek_ignore_checksums"].get(ignore_checksums) != simdjson::SUCCESS)
      ignore_checksums = false;
    bool wanted = false;
    for (const auto& l : logs) wanted |= baselines.count(l + ".log") > 0;
    if (!wanted) continue;
    CollectingSink sink;
    {
      PipelineConfig cfg;
      // Zeek's defaults: the plain 5-tuple is the connection key, and (without -C) a
      // datagram or segment with a bad checksum is counted but not analysed.
      cfg.flow.key_vlan = false;
      cfg.flow.key_tunnel = false;
      cfg.decode.verify_checksums = !ignore_checksums;
      Pipeline pipe(cfg, &sink);
      FileSource src;
      EXPECT_TRUE(src.open({zeek_dir + pcap})) << pcap;
      RawFrame f;
      while (src.next(f) == SourceStatus::kFrame) pipe.process(f);
      pipe.finish();
    }
    for (const auto& log : logs) {
      auto it = baselines.find(log + ".log");
      if (it == baselines.end()) continue;
      ZeekBaseline base;
      EXPECT_TRUE(load_zeek_baseline(zeek_dir + it->second, base)) << it->second;
      ParityResult r;
      if (sink.schemas.count(log))
        r = compare_rows(base, *sink.schemas[log], sink.zeek[log], how);
      else
        r.baseline = base.rows.size();
      LogTotals& t = totals[log];
      t.baseline += r.baseline;
      t.identical += r.identical;
      t.produced += r.produced;
      table += "| " + name + " | " + log + " | " + std::to_string(r.identical) + " / " +
               std::to_string(r.baseline) + " | " + std::to_string(r.produced) + " |\n";
      if (r.identical != r.baseline || r.produced != r.baseline) {
        printf("[parity] %s %s: %zu/%zu identical, %zu produced\n", log.c_str(), name.c_str(),
               r.identical, r.baseline, r.produced);
        for (const auto& d : r.diffs) printf("    %.300s\n", d.c_str());
      }
    }
  }
  table += "\n| log | identical / baseline rows | produced |\n|---|---|---|\n";
  for (auto& [log, t] : totals)
    table += "| " + log + ".log | " + std::to_string(t.identical) + " / " +
             std::to_string(t.baseline) + " | " + std::to_string(t.produced) + " |\n";
  return totals;
}

}  // namespace komainu::testing
