#include "analyzers/http/http_session.h"

#include <cstring>

namespace komainu::http {

HttpSession::HttpSession(const SessionContext& ctx, HttpLimits limits, HttpLogOptions opts)
    : ctx_(ctx), opts_(opts), parser_(*this, limits, ctx.flow ? ctx.flow->uid : std::string()) {}

void HttpSession::on_data(Direction dir, std::span<const uint8_t> data, TimeNs ts) {
  parser_.data(dir, data, ts);
}

void HttpSession::on_gap(Direction dir, uint64_t len, TimeNs ts) {
  parser_.gap(dir, len, ts);
}

void HttpSession::on_close(TimeNs ts) {
  parser_.close(ts);
}

void HttpSession::on_transaction(const HttpTransaction& tx) {
  if (!ctx_.sink) return;
  HttpRecord r;
  r.ts = tx.ts;
  r.flow = ctx_.flow;
  r.tx = &tx;
  r.opts = opts_;
  ctx_.sink->publish(r);
}

void HttpSession::on_file(const HttpTransaction& tx, files::FileRecord& file) {
  if (!ctx_.sink) return;
  file.flow = ctx_.flow;
  file.to_client = !file.is_orig;
  // Rendered straight into the record (no intermediate copy).
  file.app_key = "http";
  file.app_json.clear();
  JsonWriter w(file.app_json);
  w.begin_object();
  write_http_members(w, tx, opts_);
  w.end_object();
  ctx_.sink->publish(file);
}

void HttpSession::on_anomaly(std::string_view name, Direction dir, TimeNs ts) {
  anomalies_.report(ctx_.sink, ctx_.flow, ts, name, dir == Direction::kToClient);
}

ProbeResult probe_http(std::span<const uint8_t> data, Direction dir, uint16_t) {
  static constexpr std::string_view kMethods[] = {
      "GET ",    "POST ",      "HEAD ",     "PUT ",    "DELETE ",    "OPTIONS ", "CONNECT ",
      "TRACE ",  "PATCH ",     "PROPFIND ", "MKCOL ",  "COPY ",      "MOVE ",    "LOCK ",
      "UNLOCK ", "PROPPATCH ", "SEARCH ",   "REPORT ", "SUBSCRIBE ", "NOTIFY ",  "BPROPFIND "};
  std::string_view s(reinterpret_cast<const char*>(data.data()), data.size());
  auto match = [&](std::string_view prefix) -> ProbeResult {
    size_t n = std::min(prefix.size(), s.size());
    if (s.substr(0, n) != prefix.substr(0, n)) return ProbeResult::kNo;
    return s.size() >= prefix.size() ? ProbeResult::kYes : ProbeResult::kMaybe;
  };
  if (s.empty()) return ProbeResult::kMaybe;
  if (dir == Direction::kToClient) return match("HTTP/1.");
  ProbeResult best = ProbeResult::kNo;
  for (std::string_view m : kMethods) {
    ProbeResult r = match(m);
    if (r == ProbeResult::kYes) return r;
    if (r == ProbeResult::kMaybe) best = r;
  }
  return best;
}

namespace {

std::unique_ptr<AppSession> create(const SessionContext& ctx) {
  return std::make_unique<HttpSession>(ctx);
}

const Registration<AnalyzerApi> kRegistration{{
    .name = "http",
    .tcp = true,
    .udp = false,
    .probe = probe_http,
    .create = create,
}};

}  // namespace
}  // namespace komainu::http
