#include "analyzers/http/http_session.h"

#include <cstring>

namespace komainu::http {

HttpSession::HttpSession(const SessionContext& ctx, HttpLimits limits, HttpLogOptions opts)
    : ctx_(ctx),
      worker_(dynamic_cast<HttpWorkerState*>(ctx.worker)),
      opts_(opts),
      parser_(*this, limits, ctx.flow ? ctx.flow->uid : std::string()) {}

void HttpSession::on_data(Direction dir, std::span<const uint8_t> data, TimeNs ts) {
  parser_.data(dir, data, ts);
  // Through a proxy's CONNECT tunnel the client speaks TLS (or SMTP ...) to the far end:
  // the flow stage probes it anew, as Zeek's conn.log service "http,smtp".
  if (parser_.connect_tunnel()) hand_off();
}

void HttpSession::on_gap(Direction dir, uint64_t len, TimeNs ts) {
  parser_.gap(dir, len, ts);
}

void HttpSession::on_close(TimeNs ts) {
  parser_.close(ts);
  if (worker_) worker_->range_files.release(ctx_.flow, ts, ctx_.sink);
}

const std::string* HttpSession::on_range_start(const HttpTransaction& tx, uint64_t total,
                                               bool has_total, TimeNs ts) {
  if (!worker_ || !ctx_.flow) return nullptr;
  // Zeek's handle: analyzer, is_orig, client address and build_url() (host, ":port" when
  // not 80, URI).
  const FlowTuple& t = ctx_.flow->tuple;
  range_key_.assign("HTTP\tF\t");
  range_key_ += t.src.str();
  range_key_ += '\t';
  range_key_ += tx.buf.host.empty() ? t.dst.str() : tx.buf.host;
  if (t.dport != 80) {
    range_key_ += ':';
    range_key_ += std::to_string(t.dport);
  }
  range_key_ += tx.buf.uri_raw;
  range_total_ = total;
  range_has_total_ = has_total;
  range_id_ = open_range(ts);
  return worker_->range_files.fuid(range_id_);
}

uint64_t HttpSession::open_range(TimeNs ts) {
  auto& table = worker_->range_files;
  uint64_t id =
      table.open(range_key_, "HTTP", ctx_.flow, range_total_, range_has_total_, ts, ctx_.sink);
  if (table.evicted() > worker_->evictions_counted) {
    auto& a = worker_->anomalies;
    a.count(a.intern("http_range_file_evicted"), table.evicted() - worker_->evictions_counted);
    worker_->evictions_counted = table.evicted();
  }
  return id;
}

void HttpSession::on_range_data(uint64_t offset, std::span<const uint8_t> bytes, TimeNs ts) {
  auto& table = worker_->range_files;
  if (table.data(range_id_, offset, bytes, ts, ctx_.sink)) return;
  // The joined file ended meanwhile (complete, timed out or evicted): the piece's remaining
  // bytes start it again, as Zeek opens a file for data under a known handle.
  range_id_ = open_range(ts);
  table.data(range_id_, offset, bytes, ts, ctx_.sink);
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

std::unique_ptr<AnalyzerWorkerState> make_worker_state(const AnalyzerOptions*) {
  return std::make_unique<HttpWorkerState>();
}

const Registration<AnalyzerApi> kRegistration{{
    .name = "http",
    .tcp = true,
    .udp = false,
    .probe = probe_http,
    .create = create,
    .make_worker_state = make_worker_state,
}};

}  // namespace
}  // namespace komainu::http
