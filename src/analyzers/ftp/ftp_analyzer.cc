#include "analyzers/ftp/ftp_analyzer.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstring>

#include "analyzers/analyzer_settings.h"
#include "core/ascii.h"

namespace komainu::ftp {

namespace {

// Zeek's FTP::cmd_reply_code (utils-commands.zeek): the replies each command may get.
struct CmdCodes {
  const char* cmd;
  std::initializer_list<uint16_t> codes;
};
const CmdCodes kCmdReplyCodes[] = {
    {"<init>", {120, 220, 421, 0}},
    {"USER", {230, 331, 332, 421, 530, 500, 501}},
    {"PASS", {230, 202, 332, 421, 530, 500, 501, 503}},
    {"ACCT", {230, 202, 421, 530, 500, 501, 503}},
    {"CWD", {250, 421, 500, 501, 502, 530, 550}},
    {"CDUP", {200, 250, 421, 500, 501, 502, 530, 550}},
    {"SMNT", {202, 250, 421, 500, 501, 502, 530, 550}},
    {"REIN", {120, 220, 421, 500, 502}},
    {"QUIT", {221, 500, 0}},
    {"PORT", {200, 421, 500, 501, 530}},
    {"PASV", {227, 421, 500, 501, 502, 530}},
    {"MODE", {200, 421, 500, 501, 502, 504, 530}},
    {"TYPE", {200, 421, 500, 501, 504, 530}},
    {"STRU", {200, 421, 500, 501, 504, 530}},
    {"ALLO", {200, 202, 421, 500, 501, 504, 530}},
    {"REST", {200, 350, 421, 500, 501, 502, 530}},
    {"STOR",
     {110, 125, 150, 226, 250, 421, 425, 426, 451, 551, 552, 532, 450, 452, 553, 500, 501, 530,
      550}},
    {"STOU",
     {110, 125, 150, 226, 250, 421, 425, 426, 451, 551, 552, 532, 450, 452, 553, 500, 501, 530,
      550}},
    {"RETR", {110, 125, 150, 226, 250, 421, 425, 426, 451, 450, 500, 501, 530, 550}},
    {"LIST", {125, 150, 226, 250, 421, 425, 426, 451, 450, 500, 501, 502, 530, 550}},
    {"NLST", {125, 150, 226, 250, 421, 425, 426, 451, 450, 500, 501, 502, 530, 550}},
    {"APPE",
     {125, 150, 226, 250, 421, 425, 426, 451, 551, 552, 532, 450, 550, 452, 553, 500, 501, 502,
      530}},
    {"RNFR", {350, 421, 450, 550, 500, 501, 502, 530}},
    {"RNTO", {250, 421, 532, 553, 500, 501, 502, 503, 530}},
    {"DELE", {250, 421, 450, 550, 500, 501, 502, 530}},
    {"RMD", {250, 421, 500, 501, 502, 530, 550}},
    {"MKD", {257, 421, 500, 501, 502, 530, 550}},
    {"PWD", {257, 421, 500, 501, 502, 550}},
    {"ABOR", {225, 226, 421, 500, 501, 502}},
    {"SYST", {215, 421, 500, 501, 502, 530}},
    {"STAT", {211, 212, 213, 421, 450, 500, 501, 502, 530}},
    {"HELP", {200, 211, 214, 421, 500, 501, 502}},
    {"SITE", {200, 202, 214, 500, 501, 502, 530}},
    {"NOOP", {200, 421, 500}},
    {"LPRT", {500, 501, 521}},
    {"FEAT", {211, 500, 502}},
    {"OPTS", {200, 451, 501}},
    {"EPSV", {229, 500, 501}},
    {"EPRT", {200, 500, 501, 522}},
    {"SIZE", {213, 500, 501, 550}},
    {"MDTM", {213, 500, 501, 550}},
    {"MLST", {150, 226, 250, 500, 501, 550}},
    {"MLSD", {150, 226, 250, 500, 501, 550}},
    {"CLNT", {200, 500}},
    {"MACB", {200, 500, 550}},
    {"<missing>", {0}},
};

bool expected_reply(std::string_view cmd, uint32_t code) {
  for (const auto& e : kCmdReplyCodes)
    if (cmd == e.cmd) return std::find(e.codes.begin(), e.codes.end(), code) != e.codes.end();
  return false;
}

// Commands whose argument names a file or directory (Zeek's file_cmds): logged as a URL.
bool file_cmd(std::string_view c) {
  static const char* const kCmds[] = {"APPE", "CWD",  "DELE", "MKD",  "RETR", "RMD", "RNFR",
                                      "RNTO", "STOR", "STOU", "REST", "SIZE", "MDTM"};
  for (const char* k : kCmds)
    if (c == k) return true;
  return false;
}

// Zeek's strstr(big, little) > 0: found, and an empty needle is always found.
bool contains(std::string_view big, std::string_view little) {
  return big.find(little) != std::string_view::npos;
}

bool re_reply_like(std::string_view m) {
  // /^[1-9][0-9]{2} [[:print:]]{10}.*/
  if (m.size() < 14 || m[0] < '1' || m[0] > '9' || m[1] < '0' || m[1] > '9' || m[2] < '0' ||
      m[2] > '9' || m[3] != ' ')
    return false;
  for (size_t i = 4; i < 14; ++i)
    if (static_cast<unsigned char>(m[i]) < 0x20 || static_cast<unsigned char>(m[i]) > 0x7e)
      return false;
  return true;
}

std::string addr_to_uri(const IpAddr& a) {
  return a.is_v4() ? a.str() : "[" + a.str() + "]";
}

}  // namespace

// --- probe --------------------------------------------------------------------------------

ProbeResult probe(std::span<const uint8_t> d, Direction dir, uint16_t server_port) {
  std::string_view s(reinterpret_cast<const char*>(d.data()), d.size());
  if (dir == Direction::kToClient) {
    // A greeting ("220 ", "120-") is not enough: SMTP greets the same way. It waits for the
    // client's first command (Zeek's dpd_ftp_server requires the client signature too).
    static const char* const kGreetings[] = {"220 ", "220-", "120 ", "120-"};
    for (const char* g : kGreetings) {
      size_t n = std::min(s.size(), size_t(4));
      if (memcmp(s.data(), g, n) == 0) return ProbeResult::kMaybe;
    }
    return ProbeResult::kNo;
  }
  // POP3 and IMAP clients log in with USER too: their ports say it is not FTP.
  if (server_port == 110 || server_port == 995 || server_port == 143 || server_port == 993)
    return ProbeResult::kNo;
  // The flow stage also probes later segments on their own, so a word other protocols send
  // after their greeting would claim them: SMTP's AUTH counts only on FTP's port (explicit
  // FTPS starts with AUTH TLS).
  static const char* const kFirst[] = {"USER", "FEAT", "SYST", "OPTS", "CLNT",
                                       "PASV", "EPSV", "TYPE", "PWD",  "ACCT"};
  size_t n = 0;
  while (n < s.size() && s[n] != ' ' && s[n] != '\r' && s[n] != '\n') ++n;
  if (n > 4) return ProbeResult::kNo;
  char word[5] = {0, 0, 0, 0, 0};
  for (size_t i = 0; i < n; ++i) word[i] = char(toupper(static_cast<unsigned char>(s[i])));
  const bool complete = n < s.size();
  if (server_port == 21 && (complete ? strcmp(word, "AUTH") == 0 : strncmp(word, "AUTH", n) == 0))
    return complete ? ProbeResult::kYes : ProbeResult::kMaybe;
  for (const char* c : kFirst) {
    if (complete ? strcmp(word, c) == 0 : strncmp(word, c, n) == 0)
      return complete ? ProbeResult::kYes : ProbeResult::kMaybe;
  }
  return ProbeResult::kNo;
}

// --- session --------------------------------------------------------------------------------

FtpSession::FtpSession(const SessionContext& ctx, const Config& cfg) : ctx_(ctx), cfg_(cfg) {
  if (ctx.worker) anomalies_.count_into(&ctx.worker->anomalies);
}

void FtpSession::weird(const char* name, TimeNs ts, uint64_t n) {
  anomalies_.report(ctx_.sink, ctx_.flow, ts, name, false, std::to_string(n));
}

void FtpSession::on_data(Direction dir, std::span<const uint8_t> data, TimeNs ts) {
  if (stopped_ || closed_) return;
  const int d = int(dir);
  std::string& b = buf_[d];
  const char* p = reinterpret_cast<const char*>(data.data());
  const char* end = p + data.size();
  while (p < end && !stopped_) {
    const char* nl = static_cast<const char*>(memchr(p, '\n', size_t(end - p)));
    const char* stop = nl ? nl : end;
    if (!overlong_[d]) {
      size_t room = cfg_.max_line_length > b.size() ? cfg_.max_line_length - b.size() : 0;
      size_t take = std::min(room, size_t(stop - p));
      b.append(p, take);
      if (take < size_t(stop - p)) {
        anomalies_.report(ctx_.sink, ctx_.flow, ts, "FTP_line_too_long", d == 1);
        overlong_[d] = true;
      }
    }
    if (!nl) break;
    p = nl + 1;
    std::string_view l(b);
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    line(d, l, ts);
    b.clear();
    overlong_[d] = false;
  }
}

void FtpSession::line(int d, std::string_view l, TimeNs ts) {
  if (l.empty()) return;
  if (l.find('\0') != std::string_view::npos)
    anomalies_.report(ctx_.sink, ctx_.flow, ts, "NUL_in_line", d == 1);
  if (d == 0)
    request(l, ts);
  else
    reply(l, ts);
}

void FtpSession::start(TimeNs ts) {
  if (started_) return;
  started_ = true;
  info_.ts = ts;
  // A shim command the server's greeting answers.
  add_pending("<init>", "", ts);
}

void FtpSession::add_pending(const std::string& cmd, std::string_view arg, TimeNs ts) {
  CmdArg c;
  c.ts = ts;
  c.cmd = cmd;
  c.arg.assign(arg);
  c.seq = ++command_seq_;
  pending_.push_back(std::move(c));
}

bool FtpSession::remove_pending(uint64_t seq) {
  for (auto it = pending_.begin(); it != pending_.end(); ++it)
    if (it->seq == seq) {
      pending_.erase(it);
      return true;
    }
  return false;
}

// Zeek's get_pending_cmd: the command the reply fits best (expected code, command or argument
// quoted in the message), the oldest on ties.
CmdArg* FtpSession::best_pending(uint32_t code, std::string_view msg) {
  CmdArg* best = nullptr;
  int best_score = -1;
  for (auto& c : pending_) {
    int score = 0;
    if (code == 500 || expected_reply(c.cmd, code)) score += 100;
    if (contains(msg, c.cmd)) score += 20;
    if (contains(msg, c.arg)) score += 10;
    if (score > best_score || (score == best_score && best && best->seq > c.seq)) {
      best_score = score;
      best = &c;
    }
  }
  return best;
}

bool FtpSession::hide_password() const {
  if (cfg_.capture_password) return false;
  std::string lower = info_.user;
  for (char& c : lower) c = char(ascii_lower(c));
  return std::find(cfg_.guest_ids.begin(), cfg_.guest_ids.end(), lower) == cfg_.guest_ids.end();
}

void FtpSession::request(std::string_view l, TimeNs ts) {
  Request rq;
  RequestStatus st = parse_request(l, cfg_.max_command_length, rq);
  if (st == RequestStatus::kInvalid) {
    if (confirmed_) anomalies_.report(ctx_.sink, ctx_.flow, ts, "FTP_invalid_command");
    return;
  }
  if (st == RequestStatus::kTooLong) {
    if (confirmed_) anomalies_.report(ctx_.sink, ctx_.flow, ts, "FTP_max_command_length_exceeded");
    return;
  }
  confirmed_ = true;
  // The previous command is written when the next one comes (Zeek's ftp_request).
  if (cmdarg_ && info_.reply_code && remove_pending(cmdarg_->seq)) message(ts);
  start(ts);
  if (pending_.size() < cfg_.max_pending_commands)
    add_pending(rq.command, rq.arg, ts);
  else
    weird("FTP_too_many_pending_commands", ts, pending_.size());
  std::string_view arg = rq.arg;
  if (rq.command == "USER") {
    if (arg.size() > cfg_.max_user_length) {
      weird("FTP_user_too_long", ts, arg.size());
      arg = arg.substr(0, cfg_.max_user_length);
    }
    info_.user.assign(arg);
  } else if (rq.command == "PASS") {
    if (arg.size() > cfg_.max_password_length) {
      weird("FTP_password_too_long", ts, arg.size());
      arg = arg.substr(0, cfg_.max_password_length);
    }
    info_.password = std::string(arg);
  } else if (rq.command == "PORT" || rq.command == "EPRT") {
    Endpoint e = rq.command == "PORT" ? parse_port(arg) : parse_eprt(arg);
    if (e.valid && ctx_.flow) {
      info_.passive = false;
      info_.data_channel = DataChannel{false, ctx_.flow->tuple.dst, e.h, e.p};
    }
  }
}

void FtpSession::reply(std::string_view l, TimeNs ts) {
  ReplyParser::Line r;
  ReplyParser::Status st = replies_.parse(l, r);
  const char* violation = nullptr;
  if (st == ReplyParser::Status::kNonNumeric) violation = "FTP_non_numeric_reply_code";
  if (st == ReplyParser::Status::kInvalidCode) violation = "FTP_invalid_reply_code";
  if (st == ReplyParser::Status::kNoSpace) violation = "FTP_invalid_reply_line";
  if (violation) {
    // Zeek reports an analyzer violation and removes the analyzer: nothing more is parsed,
    // the commands still pending are written when the connection ends.
    anomalies_.report(ctx_.sink, ctx_.flow, ts, violation, true, std::string(l.substr(0, 100)));
    stopped_ = true;
    buf_[0].clear();
    buf_[1].clear();
    return;
  }
  start(ts);
  // Intermediate lines of a multi-line reply are not matched to commands, unless they look
  // like a reply of their own (servers that never close a "230-" block).
  if (r.cont && r.code == 0 && info_.reply_code && !re_reply_like(r.msg)) return;
  CmdArg* best = best_pending(r.code, r.msg);
  if (!best) return;  // Zeek's script fails on an empty queue: nothing changes
  cmdarg_ = *best;
  info_.reply_code = r.code;
  info_.reply_msg = std::string(r.msg);
  if (r.cont) return;

  const std::string& cmd = cmdarg_->cmd;
  // AUTH TLS/SSL accepted: the control channel continues in TLS (RFC 4217), which the flow
  // stage hands to the TLS analyzer after this delivery.
  if (cmd == "AUTH" && r.code == 234) hand_off();
  if ((cmd == "USER" || cmd == "PASS") && ctx_.sink) {
    FtpLoginRecord lr;
    lr.ts = ts;
    lr.flow = ctx_.flow;
    lr.to_client = true;
    lr.command = cmd;
    lr.user = info_.user;
    lr.reply_code = r.code;
    ctx_.sink->publish(lr);
  }
  if ((r.code == 150 && cmd == "RETR") || (r.code == 213 && cmd == "SIZE")) {
    info_.file_size = extract_last_count(r.msg);
  } else if ((r.code == 227 || r.code == 229) && (cmd == "PASV" || cmd == "EPSV")) {
    Endpoint e = r.code == 227 ? parse_pasv(r.msg) : parse_epsv(r.msg);
    if (e.valid && ctx_.flow) {
      if (r.code == 229 && e.h == IpAddr{}) e.h = ctx_.flow->tuple.dst;
      info_.passive = true;
      info_.data_channel = DataChannel{true, ctx_.flow->tuple.src, e.h, e.p};
    }
  }
  const bool dir_cmd = (cmd == "CWD" && r.code == 250) ||
                       (cmd == "CDUP" && (r.code == 200 || r.code == 250)) ||
                       ((cmd == "PWD" || cmd == "XPWD") && r.code == 257);
  if (dir_cmd && !cmdarg_->cwd_consumed) {
    cmdarg_->cwd_consumed = best->cwd_consumed = true;
    if (cmd == "CWD")
      info_.cwd = build_path_compressed(info_.cwd, cmdarg_->arg);
    else if (cmd == "CDUP")
      info_.cwd = build_path_compressed(info_.cwd, "/..");
    else
      info_.cwd = extract_path(r.msg);
    // Each CWD may lengthen the path: bounded like a line, so a session's state stays small.
    if (info_.cwd.size() > cfg_.max_line_length) {
      anomalies_.report(ctx_.sink, ctx_.flow, ts, "FTP_cwd_too_long", true,
                        std::to_string(info_.cwd.size()));
      info_.cwd.resize(cfg_.max_line_length);
    }
  }
  // Several commands queued: write this one now, the next command will not.
  if (pending_.size() > 1) {
    remove_pending(cmdarg_->seq);
    message(ts);
  }
}

// Zeek's ftp_message: fills the row from the command and its reply, writes it if the command
// is logged, then clears the per-transfer fields.
void FtpSession::message(TimeNs) {
  if (!cmdarg_) return;
  const CmdArg& c = *cmdarg_;
  info_.ts = c.ts;
  info_.command = c.cmd;
  std::string arg = c.arg;
  if (file_cmd(c.cmd) && ctx_.flow) {
    std::string path = build_path_compressed(info_.cwd, arg);
    if (path.empty() || path[0] != '/') path.insert(0, "/");
    arg = "ftp://" + addr_to_uri(ctx_.flow->tuple.dst) + path;
  }
  if (arg.size() > cfg_.max_arg_length) {
    weird("FTP_arg_too_long", c.ts, arg.size());
    arg.resize(cfg_.max_arg_length);
  }
  bool reply_truncated = false;
  if (info_.reply_msg && info_.reply_msg->size() > cfg_.max_reply_msg_length) {
    reply_truncated = true;
    weird("FTP_reply_msg_too_long", c.ts, info_.reply_msg->size());
    info_.reply_msg->resize(cfg_.max_reply_msg_length);
  }
  const bool hide = hide_password();
  std::string command_data = c.arg;
  if (c.cmd == "PASS" && hide) arg = command_data = "<hidden>";
  if (arg.empty())
    info_.arg.reset();
  else
    info_.arg = std::move(arg);
  if (info_.password && hide) info_.password = "<hidden>";

  const bool logged = std::find(cfg_.logged_commands.begin(), cfg_.logged_commands.end(), c.cmd) !=
                      cfg_.logged_commands.end();
  if (logged) info_.logged_command_seen = true;
  if (ctx_.sink) {
    // Every command is an EVE event; the greeting too, without a command (as Suricata 8).
    FtpRecord r;
    r.ts = c.ts;
    r.flow = ctx_.flow;
    r.info = &info_;
    r.command_data = command_data;
    r.reply_truncated = reply_truncated;
    r.zeek = logged;
    ctx_.sink->publish(r);
  }
  info_.file_size.reset();
  info_.data_channel.reset();
}

void FtpSession::on_gap(Direction dir, uint64_t, TimeNs ts) {
  int d = int(dir);
  buf_[d].clear();
  overlong_[d] = false;
  anomalies_.report(ctx_.sink, ctx_.flow, ts, "FTP_stream_gap", d == 1);
}

void FtpSession::on_close(TimeNs ts) {
  if (closed_) return;
  closed_ = true;
  if (!started_) return;
  // Zeek's finalize_ftp: every command still pending is written with the last reply seen.
  std::vector<CmdArg> left;
  left.swap(pending_);
  for (auto& c : left) {
    cmdarg_ = c;
    message(ts);
  }
  // FTP::log_at_least_one_command: a session that logged nothing (failed logins, a lone
  // QUIT) still leaves one row with its last state.
  if (cfg_.log_at_least_one_command && !info_.logged_command_seen && ctx_.sink) {
    FtpRecord r;
    r.ts = info_.ts;
    r.flow = ctx_.flow;
    r.info = &info_;
    r.zeek = true;
    r.eve = false;
    ctx_.sink->publish(r);
  }
}

// --- record -----------------------------------------------------------------------------

namespace {
const ZeekSchema& ftp_schema() {
  static const ZeekSchema schema{"ftp", zeek_conn_fields({{"user", ZeekType::kString},
                                                          {"password", ZeekType::kString},
                                                          {"command", ZeekType::kString},
                                                          {"arg", ZeekType::kString},
                                                          {"mime_type", ZeekType::kString},
                                                          {"file_size", ZeekType::kCount},
                                                          {"reply_code", ZeekType::kCount},
                                                          {"reply_msg", ZeekType::kString},
                                                          {"data_channel.passive", ZeekType::kBool},
                                                          {"data_channel.orig_h", ZeekType::kAddr},
                                                          {"data_channel.resp_h", ZeekType::kAddr},
                                                          {"data_channel.resp_p", ZeekType::kPort},
                                                          {"fuid", ZeekType::kString}})};
  return schema;
}
}  // namespace

const ZeekSchema* FtpRecord::zeek_schema() const {
  return zeek ? &ftp_schema() : nullptr;
}

void FtpRecord::write_zeek(ZeekRow& row) const {
  const Info& s = *info;
  row.time(ts);
  if (flow) {
    const FlowTuple& t = flow->tuple;
    row.str(flow->uid).addr(t.src).count(t.sport).addr(t.dst).count(t.dport);
  } else {
    row.unset().unset().unset().unset().unset();
  }
  auto opt = [&](const std::optional<std::string>& v) {
    if (v)
      row.str(*v);
    else
      row.unset();
  };
  row.str(s.user);
  opt(s.password);
  opt(s.command);
  opt(s.arg);
  row.unset();  // mime_type: needs the ftp-data connection's file analysis
  if (s.file_size)
    row.count(*s.file_size);
  else
    row.unset();
  if (s.reply_code)
    row.count(*s.reply_code);
  else
    row.unset();
  opt(s.reply_msg);
  if (s.data_channel) {
    const DataChannel& dc = *s.data_channel;
    row.boolean(dc.passive).addr(dc.orig_h).addr(dc.resp_h).count(dc.resp_p);
  } else {
    row.unset().unset().unset().unset();
  }
  row.unset();  // fuid
}

void FtpRecord::write_eve(JsonWriter& w) const {
  const Info& s = *info;
  w.key("ftp").begin_object();
  if (s.command && *s.command != "<init>") w.kv("command", *s.command);
  if (!command_data.empty()) w.kv("command_data", command_data);
  if (s.reply_code) {
    w.key("reply").begin_array().value(s.reply_msg ? *s.reply_msg : std::string()).end_array();
    w.key("completion_code").begin_array().value(std::to_string(*s.reply_code)).end_array();
    w.kv("reply_received", "yes");
    if (reply_truncated) w.kv("reply_truncated", true);
  } else {
    w.kv("reply_received", "no");
  }
  if (s.data_channel) {
    w.kv("dynamic_port", unsigned(s.data_channel->resp_p));
    w.kv("mode", s.data_channel->passive ? "passive" : "active");
  }
  w.end_object();
}

// --- configuration ---------------------------------------------------------------------

std::shared_ptr<const AnalyzerOptions> configure(const YAML::Node& section,
                                                 AnalyzerConfigError& error) {
  using S = AnalyzerSetting<Config>;
  static const S kSettings[] = {
      {"logged-commands", &Config::logged_commands},
      {"guest-ids", &Config::guest_ids},
      {"capture-password", &Config::capture_password},
      {"log-at-least-one-command", &Config::log_at_least_one_command},
      {"max-pending-commands", S::Size{&Config::max_pending_commands, 1}},
      {"max-user-length", S::Size{&Config::max_user_length}},
      {"max-password-length", S::Size{&Config::max_password_length}},
      {"max-arg-length", S::Size{&Config::max_arg_length}},
      {"max-reply-msg-length", S::Size{&Config::max_reply_msg_length}},
      {"max-command-length", S::Size{&Config::max_command_length}},
      {"max-line-length", S::Size{&Config::max_line_length, 64}},
  };
  return read_analyzer_settings<Options, Config>(section, kSettings, error);
}

namespace {
const Registration<AnalyzerApi> registration{{.name = "ftp",
                                              .tcp = true,
                                              .udp = false,
                                              .probe = &probe,
                                              .create = &create_configured<FtpSession, Options>,
                                              .configure = &configure}};
}  // namespace

}  // namespace komainu::ftp
