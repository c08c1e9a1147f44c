#include "detect/behaviour/mass_file_access/mass_file_access.h"

#include <functional>

#include "analyzers/smb/smb_record.h"
#include "flow/flow.h"

namespace komainu {

using namespace std::string_view_literals;

void MassFileAccessDetector::publish(const Record& r) {
  std::string_view type = r.event_type();
  if (type == "flow") {
    // The session's context ends with its flow.
    if (r.flow && flows_.size()) flows_.erase(r.flow->flow_id);
    return;
  }
  const auto* s = type == "smb" ? dynamic_cast<const smb::SmbRecord*>(&r) : nullptr;
  if (!s || !s->flow) return;
  bool inserted = false;
  FlowInfo& fi = flows_.find_or_insert(s->flow->flow_id, 100000, flow_evictions_, inserted);
  fi.last = s->ts;
  if (!s->ntlm_user.empty())
    fi.user = s->ntlm_domain.empty() ? s->ntlm_user : s->ntlm_domain + "\\" + s->ntlm_user;
  if (std::string_view(s->command) == "SMB2_COMMAND_TREE_CONNECT"sv && !s->share.empty() &&
      fi.trees.size() < 256)
    fi.trees[s->tree_id] = s->share;
  bool create = std::string_view(s->command) == "SMB2_COMMAND_CREATE"sv,
       read = std::string_view(s->command) == "SMB2_COMMAND_READ"sv;
  if (!(create || read) || s->filename.empty() || s->filename == "<share_root>") return;
  if (s->has_status && s->status != 0) return;  // failed opens are not collection
  static const std::string kNoShare;
  const std::string* share = &kNoShare;
  if (auto t = fi.trees.find(s->tree_id); t != fi.trees.end()) share = &t->second;
  on_file(s->ts, s->flow->tuple.src, s->flow->tuple.dst, *share, fi.user, s->filename,
          read ? s->bytes : 0);
}

void MassFileAccessDetector::on_file(TimeNs ts, const IpAddr& src, const IpAddr& server,
                                     const std::string& share, const std::string& user,
                                     const std::string& file, uint64_t bytes) {
  ++files_seen_;
  auto it = sources_.find(src);
  if (it == sources_.end()) {
    if (sources_.size() >= cfg_.max_sources) {
      evict_oldest(sources_);
      ++evictions_;
    }
    it = sources_.emplace(src, Source{}).first;
    it->second.start = it->second.first = ts;
  }
  Source& s = it->second;
  if (ts - s.start > cfg_.window && !s.alerted) {
    s = Source{};
    s.start = s.first = ts;
  } else if (ts - s.start > cfg_.window) {
    // An alerted collection keeps its counts (updates continue) but starts a new window.
    s.start = ts;
  }
  if (ts > s.last) s.last = ts;
  ++s.opens;
  s.bytes += bytes;
  if (!user.empty() && s.users.size() < 16) s.users.insert(user);
  if (!share.empty() && s.shares.size() < 16) s.shares.insert(share);
  if (s.servers.size() < 16) s.servers.insert(server);
  // (server, share, file) without building a "share|file" string per open.
  uint64_t hs = std::hash<std::string_view>{}(share), hf = std::hash<std::string_view>{}(file);
  uint64_t h = (hs * 0x9e3779b97f4a7c15ull + hf) ^ (hs >> 29) ^ IpAddrHash {}(server);
  if (s.files.size() >= cfg_.max_files_per_source) {
    ++s.over_cap;
    return;
  }
  if (!s.files.insert(h)) return;
  if (s.samples.size() < 10) s.samples.push_back(share.empty() ? file : share + "\\" + file);
  uint64_t n = s.files.size() + s.over_cap;
  if (n < cfg_.min_files || (s.alerted && (n < 2 * s.alerted || s.updates >= cfg_.max_updates)))
    return;
  bool update = s.alerted != 0;
  if (update) ++s.updates;
  s.alerted = n;
  std::string who = s.users.empty() ? src.str() : *s.users.begin() + " from " + src.str();
  std::string msg = "KOMAINU MASS_FILE_ACCESS " + who + " opened " + std::to_string(n) +
                    " distinct files over SMB";
  if (!s.shares.empty()) msg += " on " + *s.shares.begin();
  if (update) msg += " (update)";
  AlertBuilder a("mass_file_access", kSid, msg, 1, "TA0009", "T1039");
  a.ip(src);
  for (const auto& sv : s.servers) a.ip(sv);
  for (const auto& u : s.users) a.meta("user", u);
  for (const auto& sh : s.shares) a.meta("share", sh);
  a.ev.kv("files", n)
      .kv("opens", s.opens)
      .kv("bytes_read", s.bytes)
      .kv("first_seen", format_eve_time(s.first))
      .kv("last_seen", format_eve_time(s.last))
      .kv("update", update)
      .kv("update_number", s.updates);
  a.ev.key("shares").begin_array();
  for (const auto& sh : s.shares) a.ev.value(sh);
  a.ev.end_array();
  a.ev.key("users").begin_array();
  for (const auto& u : s.users) a.ev.value(u);
  a.ev.end_array();
  a.ev.key("sample_files").begin_array();
  for (const auto& f : s.samples) a.ev.value(f);
  a.ev.end_array();
  a.publish(alerts_, ts, &src, s.servers.size() == 1 ? &*s.servers.begin() : nullptr);
  ++alerts_sent_;
}

void MassFileAccessDetector::write_stats(JsonWriter& w) const {
  w.kv("file_opens", files_seen_)
      .kv("sources", uint64_t(sources_.size()))
      .kv("source_evictions", evictions_)
      .kv("flow_evictions", flow_evictions_)
      .kv("alerts", alerts_sent_);
}

namespace {

std::unique_ptr<Detector> create(const DetectorContext& ctx, std::string* error) {
  MassFileConfig c;
  double window = 600;
  if (!config_check_keys(
          ctx, "mass_file_access",
          {"window", "min_files", "max_updates", "max_sources", "max_files_per_source"}, error) ||
      !config_get(ctx, "window", window, error) ||
      !config_get(ctx, "min_files", c.min_files, error) ||
      !config_get(ctx, "max_updates", c.max_updates, error) ||
      !config_get(ctx, "max_sources", c.max_sources, error) ||
      !config_get(ctx, "max_files_per_source", c.max_files_per_source, error))
    return nullptr;
  c.window = TimeNs(window * kNsPerSec);
  return std::make_unique<MassFileAccessDetector>(c, ctx.alerts);
}

const Registration<DetectorApi> reg{{.name = "mass_file_access", .create = create}};

}  // namespace
}  // namespace komainu
