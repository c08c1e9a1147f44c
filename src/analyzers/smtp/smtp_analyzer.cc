#include "analyzers/smtp/smtp_analyzer.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstring>

#include "analyzers/analyzer_settings.h"
#include "core/ascii.h"

namespace komainu::smtp {

namespace {

// The commands Zeek's SMTP analyzer knows (SMTP_cmd.def); other words are not commands and
// take no part in matching replies.
bool known_command(std::string_view v) {
  static const char* const kCommands[] = {
      "EHLO",           "HELO", "MAIL",    "RCPT",   "DATA",         "RSET",    "SEND",
      "SOML",           "SAML", "VRFY",    "EXPN",   "HELP",         "NOOP",    "QUIT",
      "TURN",           "BDAT", "ETRN",    "AUTH",   "ATRN",         "ONEX",    "STARTTLS",
      "X-ANONYMOUSTLS", "VERB", "XADR",    "XCIR",   "XGEN",         "XQUE",    "XSTA",
      "XTRN",           "XUSR", "XEXCH50", "X-EXPS", "X-LINK2STATE", "CHUNKING"};
  for (const char* c : kCommands)
    if (v == c) return true;
  return false;
}

bool blank(char c) {
  return c == ' ' || c == '\t';
}

// entities.zeek's extract_filename_from_content_disposition: the value after the last
// `name=` (quoted: up to the next quote), an RFC 2231 charset'lang' prefix dropped, %XX
// decoded.
std::string extract_filename(std::string_view v) {
  size_t cut = std::string_view::npos;
  for (size_t i = 0; i + 4 <= v.size(); ++i) {
    if (!ascii_iequals(v.substr(i, 4), "name")) continue;
    size_t k = i + 4;
    while (k < v.size() && blank(v[k])) ++k;
    if (k < v.size() && v[k] == '*') ++k;
    if (k >= v.size() || v[k] != '=') continue;
    ++k;
    while (k < v.size() && blank(v[k])) ++k;
    cut = k;
  }
  if (cut == std::string_view::npos) return {};
  std::string_view s = v.substr(cut);
  if (!s.empty() && s[0] == '"') {
    s.remove_prefix(1);
    size_t q = s.find('"');
    if (q != std::string_view::npos) s = s.substr(0, q);
  }
  // ^[+-^]+'[+-^]*' : charset'language'
  auto cls = [](char c) { return c >= '+' && c <= '^'; };
  size_t a = 0;
  while (a < s.size() && cls(s[a]) && s[a] != '\'') ++a;
  if (a > 0 && a < s.size() && s[a] == '\'') {
    size_t b = a + 1;
    while (b < s.size() && cls(s[b]) && s[b] != '\'') ++b;
    if (b < s.size() && s[b] == '\'') {
      size_t last = s.rfind('\'');
      s = s.substr(last + 1);
    }
  }
  return percent_decode(s);
}

// /[fF][iI][lL][eE][nN][aA][mM][eE][[:blank:]]*\*?=/ and /[nN][aA][mM][eE][[:blank:]]*=/
bool has_param(std::string_view v, std::string_view word, bool star) {
  for (size_t i = 0; i + word.size() <= v.size(); ++i) {
    if (!ascii_iequals(v.substr(i, word.size()), word)) continue;
    size_t k = i + word.size();
    while (k < v.size() && blank(v[k])) ++k;
    if (star && k < v.size() && v[k] == '*') ++k;
    if (k < v.size() && v[k] == '=') return true;
  }
  return false;
}

}  // namespace

// --- probe ------------------------------------------------------------------------------

ProbeResult probe(std::span<const uint8_t> d, Direction dir, uint16_t) {
  std::string_view s(reinterpret_cast<const char*>(d.data()), d.size());
  if (dir == Direction::kToClient) {
    // "220 mx.example ESMTP ...": the greeting names the protocol more often than not; a
    // bare 220 also starts FTP, so it waits for the client's EHLO/HELO.
    if (s.size() < 4)
      return memcmp(s.data(), "220", std::min<size_t>(s.size(), 3)) == 0 ? ProbeResult::kMaybe
                                                                         : ProbeResult::kNo;
    if (s.substr(0, 3) != "220" || (s[3] != ' ' && s[3] != '-')) return ProbeResult::kNo;
    size_t eol = s.find('\n');
    std::string_view first = s.substr(0, eol);
    if (ascii_ifind(first, "SMTP") != std::string_view::npos) return ProbeResult::kYes;
    return ProbeResult::kMaybe;
  }
  static const char* const kFirst[] = {"EHLO", "HELO"};
  for (const char* c : kFirst) {
    size_t n = std::min<size_t>(s.size(), 4);
    bool prefix = true;
    for (size_t i = 0; i < n; ++i) prefix = prefix && ascii_lower(s[i]) == ascii_lower(c[i]);
    if (!prefix) continue;
    if (s.size() < 5) return ProbeResult::kMaybe;
    return s[4] == ' ' || s[4] == '\r' || s[4] == '\n' ? ProbeResult::kYes : ProbeResult::kNo;
  }
  return ProbeResult::kNo;
}

// --- session ----------------------------------------------------------------------------

SmtpSession::SmtpSession(const SessionContext& ctx, const Config& cfg) : ctx_(ctx), cfg_(cfg) {
  if (ctx.worker) {
    anomalies_.count_into(&ctx.worker->anomalies);
    bdat_anomalies_.count_into(&ctx.worker->anomalies);
  }
  file_.record().flow = ctx.flow;
  first_cmd_ = ">";
}

void SmtpSession::weird(const char* name, TimeNs ts, std::string addl) {
  anomalies_.report(ctx_.sink, ctx_.flow, ts, name, false, std::move(addl));
}

void SmtpSession::new_info(TimeNs ts) {
  info_ = Info{};
  for (auto& s : seen_) s.clear();
  have_info_ = true;
  info_.ts = ts;
  info_.trans_depth = messages_transferred_ + 1;
  info_.helo = helo_;
  if (ctx_.flow) info_.path = {ctx_.flow->tuple.dst.str(), ctx_.flow->tuple.src.str()};
}

void SmtpSession::set_session(TimeNs ts) {
  if (!have_info_) new_info(ts);
}

void SmtpSession::message(TimeNs ts) {
  if (!have_info_ || !info_.has_client_activity) return;
  if (ctx_.sink) {
    SmtpRecord r;
    r.ts = info_.ts;
    r.flow = ctx_.flow;
    r.info = &info_;
    r.tx_id = tx_id_++;
    r.done = ts;
    ctx_.sink->publish(r);
  }
  new_info(ts);
}

void SmtpSession::invalid_transaction(const char* addl, TimeNs ts) {
  weird("smtp_mail_transaction_invalid", ts, addl);
  ++invalid_transactions_;
  if (cfg_.max_invalid_mail_transactions > 0 &&
      invalid_transactions_ > cfg_.max_invalid_mail_transactions && !disabled_) {
    weird("smtp_excessive_invalid_mail_transactions", ts, std::to_string(invalid_transactions_));
    disabled_ = true;
  }
}

void SmtpSession::add_unique(std::optional<std::vector<std::string>>& set,
                             std::unordered_set<std::string>& seen, std::string v, size_t max,
                             const char* weird_name, TimeNs ts) {
  if (!set) set.emplace();
  if (seen.count(v)) return;
  if (max > 0 && set->size() >= max) {
    weird(weird_name, ts);
    return;
  }
  seen.insert(v);
  set->push_back(std::move(v));
}

void SmtpSession::on_data(Direction dir, std::span<const uint8_t> data, TimeNs ts) {
  if (stopped_ || closed_ || disabled_) return;
  now_ = ts;
  const int d = int(dir);
  const char* p = reinterpret_cast<const char*>(data.data());
  const char* end = p + data.size();
  while (p < end && !stopped_ && !disabled_) {
    // Lines end at CRLF, a lone LF or a lone CR (Zeek's ContentLine analyzer); the LF of a
    // CRLF split over two segments still belongs to the line before (a BDAT command's too).
    if (cr_pending_[d]) {
      cr_pending_[d] = false;
      if (*p == '\n') {
        ++p;
        continue;
      }
      // "\r\r\n" is a line and an empty line, not a lone CR.
      if (*p != '\r') weird("line_terminated_with_single_CR", ts);
    }
    if (d == 0 && bdat_left_ > 0) {
      size_t take = size_t(std::min<uint64_t>(bdat_left_, uint64_t(end - p)));
      bdat_data({reinterpret_cast<const uint8_t*>(p), take}, ts);
      p += take;
      continue;
    }
    if (d == 0 && bdat_last_ && bdat_left_ == 0 && in_bdat_message_) {
      end_message(ts, true);  // "BDAT 0 LAST" ends when the next bytes come
      continue;
    }
    const char* stop = p;
    while (stop < end && *stop != '\n' && *stop != '\r') ++stop;
    std::string& b = buf_[d];
    size_t room = cfg_.max_line_length > b.size() ? cfg_.max_line_length - b.size() : 0;
    size_t take = std::min(room, size_t(stop - p));
    if (!overlong_[d]) b.append(p, take);
    if (take < size_t(stop - p) && !overlong_[d]) {
      weird("contentline_size_exceeded", ts);
      overlong_[d] = true;
    }
    if (stop == end) break;
    if (*stop == '\r') cr_pending_[d] = true;
    p = stop + 1;
    if (b.find('\0') != std::string::npos && !nul_seen_[d]) {
      nul_seen_[d] = true;
      weird("NUL_in_line", ts);
      b.erase(b.find('\0'), 1);
    }
    // The line is handled in place: the buffer keeps its capacity for the next one.
    overlong_[d] = false;
    if (d == 0)
      client_line(b, ts);
    else
      server_line(b, ts);
    b.clear();
  }
}

void SmtpSession::client_line(std::string_view l, TimeNs ts) {
  if (state_ == State::kAfterGap) return;
  if (state_ == State::kInData) {
    if (l == ".") {
      push_command(".");
      end_message(ts, true);
      state_ = State::kAfterData;
      trans_mail_from_seen_ = trans_rcpt_to_seen_ = false;
      return;
    }
    if (!l.empty() && l[0] == '.') l.remove_prefix(1);
    if (!mime_) start_message(ts);
    info_.body_seen = true;
    mime_->line(l);
    return;
  }
  if (state_ == State::kInAuth) {
    push_command("AUTH_ANSWER");
    return;
  }
  command(l, ts);
}

void SmtpSession::push_command(std::string cmd) {
  if (first_cmd_.empty()) {
    first_cmd_ = std::move(cmd);
    return;
  }
  if (pending_.size() >= cfg_.max_pending_commands) {
    weird("smtp_excessive_pending_cmds", now_);
    pending_.clear();
  }
  pending_.push_back(std::move(cmd));
}

void SmtpSession::command(std::string_view l, TimeNs ts) {
  Command c = parse_command(l);
  if (c.verb.empty() || !known_command(c.verb)) return;
  // A command between BDAT chunks ends the mail that lacked its LAST chunk.
  if (in_bdat_message_ && c.verb != "BDAT") {
    weird("smtp_missing_bdat_last_chunk", ts);
    end_message(ts, false);
  }
  push_command(c.verb);
  set_session(ts);
  const std::string& v = c.verb;
  std::string_view arg = c.arg;
  if (v == "HELO" || v == "EHLO") {
    helo_ = std::string(arg);
    info_.helo = helo_;
  } else if (v == "RCPT" && arg.size() >= 3 && ascii_istarts_with(arg, "to:")) {
    if (!info_.rcptto) info_.rcptto.emplace();  // RCPT TO without an address: an empty set
    for (std::string a : extract_email_addrs(arg)) {
      if (cfg_.max_rcptto_addresses > 0 && info_.rcptto->size() >= cfg_.max_rcptto_addresses) {
        weird("smtp_too_many_rcptto_addresses", ts);
        break;
      }
      // gsub(/ORCPT=rfc822;?/, "")
      for (size_t at; (at = a.find("ORCPT=rfc822")) != std::string::npos;)
        a.erase(at, 12 + (at + 12 < a.size() && a[at + 12] == ';'));
      add_unique(info_.rcptto, seen_[kRcptTo], std::move(a), 0, nullptr, ts);
    }
    std::string_view raw = arg.substr(3);
    while (!raw.empty() && blank(raw.front())) raw.remove_prefix(1);
    if (info_.eve_rcpt_to.size() < cfg_.max_rcptto_addresses)
      info_.eve_rcpt_to.emplace_back(raw.substr(0, raw.find(' ')));
    info_.has_client_activity = true;
    trans_rcpt_to_seen_ = true;
    if (cfg_.mail_transaction_validation && !trans_mail_from_seen_)
      invalid_transaction("rcpt to missing mail from", ts);
  } else if (v == "MAIL" && arg.size() >= 5 && ascii_istarts_with(arg, "from:")) {
    message(ts);  // the last mail, if its end was never acknowledged
    auto addrs = extract_email_addrs(arg);
    if (!addrs.empty()) info_.mailfrom = addrs[0];
    std::string_view raw = arg.substr(5);
    while (!raw.empty() && blank(raw.front())) raw.remove_prefix(1);
    info_.eve_mail_from.assign(raw.substr(0, raw.find(' ')));
    info_.has_client_activity = true;
    trans_mail_from_seen_ = true;
    trans_rcpt_to_seen_ = false;
  } else if (v == "DATA" || v == "BDAT") {
    if (cfg_.mail_transaction_validation && !trans_rcpt_to_seen_)
      invalid_transaction("data missing rcpt to", ts);
    if (v == "BDAT" && arg.size() >= 5 && arg.substr(arg.size() - 5) == " LAST") {
      trans_mail_from_seen_ = trans_rcpt_to_seen_ = false;
      bdat_last_observed_ = true;
    }
  } else if (v == "AUTH") {
    auth_mechanism_.assign(arg.substr(0, std::min(arg.find(' '), arg.size())));
    for (char& ch : auth_mechanism_) ch = ascii_upper(ch);
    if (auth_mechanism_.size() > 32) auth_mechanism_.resize(32);
  }
  if (disabled_) return;

  if (v == "DATA") {
    start_message(ts);
    state_ = State::kInData;
  } else if (v == "BDAT") {
    Bdat b = parse_bdat(arg);
    if (b.error) {
      weird("smtp_invalid_bdat_command", ts, b.error);
      return;
    }
    if (b.huge) {
      weird("smtp_huge_bdat_chunk", ts, std::to_string(b.size));
      return;
    }
    if (!in_bdat_message_) {
      start_message(ts);
      in_bdat_message_ = true;
      state_ = State::kInBdat;
    }
    bdat_left_ = b.size;
    bdat_last_ = b.last;
    info_.body_seen = true;
    if (b.last && b.size == 0) end_message(ts, true);
  } else if (v == "RSET") {
    state_ = State::kReady;
  } else if (v == "QUIT") {
    state_ = State::kQuit;
  }
}

void SmtpSession::bdat_data(std::span<const uint8_t> d, TimeNs ts) {
  bdat_left_ -= d.size();
  const char* p = reinterpret_cast<const char*>(d.data());
  const char* end = p + d.size();
  while (p < end) {
    if (bdat_cr_) {
      bdat_cr_ = false;
      if (*p == '\n') {
        ++p;
        mime_line(bdat_line_);
        bdat_line_.clear();
        continue;
      }
      bdat_anomalies_.report(ctx_.sink, ctx_.flow, ts, "smtp_bdat_line_cr_only");
      bdat_line_.push_back('\r');
      mime_line(bdat_line_);
      bdat_line_.clear();
    }
    char c = *p++;
    if (c == '\r') {
      bdat_cr_ = true;
      continue;
    }
    if (c == '\n') {
      bdat_anomalies_.report(ctx_.sink, ctx_.flow, ts, "smtp_bdat_line_lf_only");
      mime_line(bdat_line_);
      bdat_line_.clear();
      continue;
    }
    bdat_line_.push_back(c);
    if (bdat_line_.size() >= kBdatMaxLine) {
      bdat_anomalies_.report(ctx_.sink, ctx_.flow, ts, "smtp_bdat_line_too_long", false,
                             std::to_string(bdat_line_.size()));
      mime_line(bdat_line_);
      bdat_line_.clear();
    }
  }
  if (bdat_left_ == 0 && bdat_last_) end_message(ts, true);
}

void SmtpSession::mime_line(std::string_view l) {
  if (!mime_) start_message(now_);
  mime_->line(l);
}

void SmtpSession::start_message(TimeNs ts) {
  set_session(ts);
  if (mime_) {
    weird("smtp_nested_mail_transaction", ts);
    mime_->finish();
    mime_.reset();
  }
  MimeLimits limits;
  limits.max_header_bytes = cfg_.max_header_length;
  mime_ = std::make_unique<MimeMessage>(static_cast<MimeHandler&>(*this), limits);
}

void SmtpSession::end_message(TimeNs ts, bool complete) {
  if (in_bdat_message_) {
    if (bdat_left_ > 0) weird("smtp_bdat_remaining_at_end_data", ts);
    bdat_left_ = 0;
    if (bdat_cr_) bdat_line_.push_back('\r');
    bdat_cr_ = false;
    if (!bdat_line_.empty()) {
      bdat_anomalies_.report(ctx_.sink, ctx_.flow, ts, "smtp_bdat_undelivered_at_done");
      mime_line(bdat_line_);
      bdat_line_.clear();
    }
    in_bdat_message_ = false;
    bdat_last_ = false;
    state_ = State::kAfterData;
  }
  if (!mime_) {
    weird("smtp_unmatched_end_of_data", ts);
    return;
  }
  mime_->finish();
  mime_.reset();
  if (complete && have_info_) info_.body_complete = true;
}

void SmtpSession::server_line(std::string_view l, TimeNs ts) {
  Reply r;
  if (!parse_reply(l, r) || r.code < 100 || r.code > 599) {
    weird("SMTP_invalid_reply_code", ts, std::string(l.substr(0, 100)));
    return;
  }
  // The text after the code and '-' or ' ', leading blanks skipped.
  while (!r.msg.empty() && blank(r.msg.front())) r.msg.remove_prefix(1);
  if (pending_reply_ != 0 && r.code != pending_reply_) pending_reply_ = 0;
  if (pending_reply_ == 0) {
    // The first line of a reply answers the oldest command.
    reply_cmd_ = first_cmd_.empty() ? std::string("(UNKNOWN)") : std::move(first_cmd_);
    first_cmd_.clear();
    if (!pending_.empty()) {
      first_cmd_ = std::move(pending_.front());
      pending_.erase(pending_.begin());
    }
    if (state_ == State::kAfterGap) state_ = State::kGapRecovery;
    update_state(reply_cmd_, r.code, ts);
  }
  pending_reply_ = r.cont ? r.code : 0;
  if (reply_cmd_ == "EHLO" && r.code == 250) {
    std::string_view w = r.msg.substr(0, r.msg.find(' '));
    if (ascii_iequals(w, "STARTTLS")) starttls_offered_ = true;
  }
  set_session(ts);
  info_.last_reply = std::to_string(r.code) + " " + std::string(r.msg);
  if (reply_cmd_ == "." || (!r.cont && reply_cmd_ == "BDAT" && bdat_last_observed_)) {
    ++messages_transferred_;
    bdat_last_observed_ = false;
    message(ts);
    new_info(ts);
  }
}

void SmtpSession::update_state(const std::string& cmd, uint32_t code, TimeNs ts) {
  if (cmd == "DATA") {
    if (code != 354 && state_ == State::kInData) {
      // The server refused the mail: what followed DATA was not a message.
      if (mime_) {
        mime_->finish();
        mime_.reset();
      }
      state_ = code == 421 ? State::kQuit : State::kReady;
    }
  } else if (cmd == ".") {
    state_ = State::kReady;
  } else if (cmd == "AUTH" || cmd == "AUTH_ANSWER") {
    if (code == 334) {
      state_ = State::kInAuth;
    } else {
      state_ = State::kInitiated;
      if (ctx_.sink) {
        SmtpAuthRecord a;
        a.ts = ts;
        a.flow = ctx_.flow;
        a.to_client = true;
        a.mechanism = auth_mechanism_;
        a.reply_code = code;
        a.starttls_offered = starttls_offered_;
        if (helo_) a.helo = *helo_;
        ctx_.sink->publish(a);
      }
    }
  } else if ((cmd == "STARTTLS" || cmd == "X-ANONYMOUSTLS") && code == 220) {
    // The rest is TLS: the flow stage hands it to the TLS analyzer (conn service
    // "smtp,ssl", as Zeek's); this session writes its row when it is closed.
    state_ = State::kInTls;
    set_session(ts);
    info_.tls = true;
    info_.has_client_activity = true;
    stopped_ = true;
    hand_off();
  } else if (cmd == "(UNKNOWN)" && state_ == State::kGapRecovery && code == 354) {
    start_message(ts);
    state_ = State::kInData;
  }
}

// --- MIME entities -------------------------------------------------------------------

void SmtpSession::begin_entity() {
  ++mime_depth_;
  set_session(now_);
  if (++info_.entity_count > 1) info_.process_headers = false;
  entity_filename_.clear();
}

void SmtpSession::header(std::string_view name, std::string_view value) {
  // entities.zeek: the file name, for every entity.
  if ((name == "CONTENT-DISPOSITION" && has_param(value, "filename", true)) ||
      (name == "CONTENT-TYPE" && has_param(value, "name", false)))
    entity_filename_ = extract_filename(value);
  if (!info_.process_headers) return;
  const TimeNs ts = now_;
  auto set = [&](std::optional<std::string>& f) { f = std::string(value); };
  if (name == "MESSAGE-ID") {
    set(info_.msg_id);
  } else if (name == "RECEIVED") {
    if (info_.first_received) info_.second_received = info_.first_received;
    set(info_.first_received);
  } else if (name == "IN-REPLY-TO") {
    set(info_.in_reply_to);
  } else if (name == "SUBJECT") {
    set(info_.subject);
  } else if (name == "FROM") {
    set(info_.from);
  } else if (name == "REPLY-TO") {
    set(info_.reply_to);
  } else if (name == "DATE") {
    set(info_.date);
  } else if (name == "TO" || name == "CC") {
    bool to = name == "TO";
    for (std::string& a : split_mime_email_addresses(value))
      add_unique(to ? info_.to : info_.cc, seen_[to ? kTo : kCc], std::move(a),
                 to ? cfg_.max_to_addresses : cfg_.max_cc_addresses,
                 to ? "smtp_too_many_to_addresses" : "smtp_too_many_cc_addresses", ts);
  } else if (name == "X-ORIGINATING-IP") {
    auto ips = extract_ip_addresses(value, false);
    if (!ips.empty()) info_.x_originating_ip = ips[0];
  } else if (name == "X-MAILER" || name == "USER-AGENT" || name == "X-USER-AGENT") {
    set(info_.user_agent);
  }
  // The Received path: the address a relay names for where the mail came from.
  if (name == "RECEIVED" && info_.process_received_from) {
    auto ips = extract_ip_addresses(value, true);
    if (ips.empty()) return;
    const std::string& ip = ips.size() > 1 ? ips[1] : ips[0];
    if (info_.path.empty() || info_.path.back() != ip) {
      if (cfg_.max_path_length > 0 && info_.path.size() >= cfg_.max_path_length) {
        weird("smtp_max_path_length_exceeded", ts);
        return;
      }
      info_.path.push_back(ip);
    }
  }
}

void SmtpSession::body(std::span<const uint8_t> data) {
  if (data.empty()) return;
  open_file();
  file_.data(data, now_);
}

void SmtpSession::open_file() {
  if (!file_.active()) {
    file_.start(now_,
                files::make_fuid(ctx_.flow ? ctx_.flow->uid : "", ++file_counter_, 0x534d5450),
                "SMTP", true);
    file_.record().depth = mime_depth_;
    file_.record().filename = entity_filename_;
    file_.record().tx_id = tx_id_;
    if (!info_.tls && info_.fuids.size() < cfg_.max_fuids)
      info_.fuids.push_back(file_.record().fuid);
    if (!entity_filename_.empty() && info_.attachments.size() < cfg_.max_attachments)
      info_.attachments.push_back(entity_filename_);
  }
}

void SmtpSession::end_entity() {
  if (!file_.active()) return;
  files::FileRecord& r = file_.finish(now_, !message_gap_);
  if (ctx_.sink) ctx_.sink->publish(r);
}

void SmtpSession::anomaly(const char* name, std::string addl) {
  weird(name, now_, std::move(addl));
}

void SmtpSession::on_gap(Direction dir, uint64_t len, TimeNs ts) {
  now_ = ts;
  int d = int(dir);
  buf_[d].clear();
  overlong_[d] = false;
  cr_pending_[d] = false;
  if (stopped_ || closed_) return;
  if (state_ == State::kInData || in_bdat_message_) {
    // The current entity's file records the hole (Zeek's file analysis makes a file of it
    // even before any byte arrived), then the mail ends.
    if (mime_) {
      open_file();
      file_.gap(len, ts);
    }
    message_gap_ = true;
    end_message(ts, false);
    message_gap_ = false;
  }
  pending_.clear();
  first_cmd_.clear();
  pending_reply_ = 0;
  state_ = State::kAfterGap;
}

void SmtpSession::on_close(TimeNs ts) {
  if (closed_) return;
  now_ = ts;
  for (int d = 0; d < 2; ++d) {
    if (buf_[d].empty()) continue;
    std::string line = std::move(buf_[d]);
    buf_[d].clear();
    if (!stopped_) d == 0 ? client_line(line, ts) : server_line(line, ts);
  }
  closed_ = true;
  if (mime_ || in_bdat_message_) end_message(ts, false);
  if (have_info_) message(ts);
}

// --- record -----------------------------------------------------------------------------

namespace {
const ZeekSchema& smtp_schema() {
  static const ZeekSchema schema{"smtp", zeek_conn_fields({{"trans_depth", ZeekType::kCount},
                                                           {"helo", ZeekType::kString},
                                                           {"mailfrom", ZeekType::kString},
                                                           {"rcptto", ZeekType::kSetString},
                                                           {"date", ZeekType::kString},
                                                           {"from", ZeekType::kString},
                                                           {"to", ZeekType::kSetString},
                                                           {"cc", ZeekType::kSetString},
                                                           {"reply_to", ZeekType::kString},
                                                           {"msg_id", ZeekType::kString},
                                                           {"in_reply_to", ZeekType::kString},
                                                           {"subject", ZeekType::kString},
                                                           {"x_originating_ip", ZeekType::kAddr},
                                                           {"first_received", ZeekType::kString},
                                                           {"second_received", ZeekType::kString},
                                                           {"last_reply", ZeekType::kString},
                                                           {"path", ZeekType::kVectorAddr},
                                                           {"user_agent", ZeekType::kString},
                                                           {"tls", ZeekType::kBool},
                                                           {"fuids", ZeekType::kVectorString}})};
  return schema;
}
}  // namespace

const ZeekSchema* SmtpRecord::zeek_schema() const {
  return &smtp_schema();
}

void SmtpRecord::write_zeek(ZeekRow& row) const {
  const Info& s = *info;
  row.time(ts);
  if (flow) {
    const FlowTuple& t = flow->tuple;
    row.str(flow->uid).addr(t.src).count(t.sport).addr(t.dst).count(t.dport);
  } else {
    row.unset().unset().unset().unset().unset();
  }
  auto opt = [&](const std::optional<std::string>& v) { v ? row.str(*v) : row.unset(); };
  auto set = [&](const std::optional<std::vector<std::string>>& v) {
    v ? row.strings(*v) : row.unset();
  };
  row.count(s.trans_depth);
  opt(s.helo);
  opt(s.mailfrom);
  set(s.rcptto);
  opt(s.date);
  opt(s.from);
  set(s.to);
  set(s.cc);
  opt(s.reply_to);
  opt(s.msg_id);
  opt(s.in_reply_to);
  opt(s.subject);
  if (auto a = s.x_originating_ip ? IpAddr::parse(*s.x_originating_ip) : std::nullopt)
    row.addr(*a);
  else
    row.unset();
  opt(s.first_received);
  opt(s.second_received);
  opt(s.last_reply);
  row.strings(s.path);  // vector[addr]: rendered addresses
  opt(s.user_agent);
  row.boolean(s.tls);
  row.strings(s.fuids);
}

void SmtpRecord::write_eve(JsonWriter& w) const {
  const Info& s = *info;
  w.kv("tx_id", tx_id);
  w.key("smtp").begin_object();
  if (s.helo) w.kv("helo", *s.helo);
  if (!s.eve_mail_from.empty()) w.kv("mail_from", s.eve_mail_from);
  if (!s.eve_rcpt_to.empty()) {
    w.key("rcpt_to").begin_array();
    for (const auto& r : s.eve_rcpt_to) w.value(r);
    w.end_array();
  }
  w.end_object();
  if (!s.body_seen) return;
  w.key("email").begin_object();
  w.kv("status", s.body_complete ? "PARSE_DONE" : "BODY_STARTED");
  if (s.from) w.kv("from", *s.from);
  auto list = [&](const char* key, const std::optional<std::vector<std::string>>& v) {
    if (!v || v->empty()) return;
    w.key(key).begin_array();
    for (const auto& a : *v) w.value(a);
    w.end_array();
  };
  list("to", s.to);
  list("cc", s.cc);
  if (s.subject) w.kv("subject", *s.subject);
  if (s.date) w.kv("date", *s.date);
  if (s.msg_id) w.kv("message_id", *s.msg_id);
  if (s.user_agent) w.kv("x_mailer", *s.user_agent);
  if (!s.attachments.empty()) {
    w.key("attachment").begin_array();
    for (const auto& a : s.attachments) w.value(a);
    w.end_array();
  }
  w.end_object();
}

// --- configuration ---------------------------------------------------------------------

std::shared_ptr<const AnalyzerOptions> configure(const YAML::Node& section,
                                                 AnalyzerConfigError& error) {
  using S = AnalyzerSetting<Config>;
  static const S kSettings[] = {
      {"mail-transaction-validation", &Config::mail_transaction_validation},
      {"max-invalid-mail-transactions", S::Size{&Config::max_invalid_mail_transactions}},
      {"max-rcptto-addresses", S::Size{&Config::max_rcptto_addresses}},
      {"max-to-addresses", S::Size{&Config::max_to_addresses}},
      {"max-cc-addresses", S::Size{&Config::max_cc_addresses}},
      {"max-path-length", S::Size{&Config::max_path_length}},
      {"max-line-length", S::Size{&Config::max_line_length, 64}},
      {"max-header-length", S::Size{&Config::max_header_length, 64}},
      {"max-pending-commands", S::Size{&Config::max_pending_commands, 1}},
      {"max-attachments", S::Size{&Config::max_attachments}},
      {"max-fuids", S::Size{&Config::max_fuids}},
  };
  return read_analyzer_settings<Options, Config>(section, kSettings, error);
}

namespace {
const Registration<AnalyzerApi> registration{{.name = "smtp",
                                              .tcp = true,
                                              .udp = false,
                                              .probe = &probe,
                                              .create = &create_configured<SmtpSession, Options>,
                                              .configure = &configure}};
}  // namespace

}  // namespace komainu::smtp
