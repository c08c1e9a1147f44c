// The FTP control session: Zeek's FTP analyzer (lines, commands, multi-line replies) and its
// base/protocols/ftp script state (pending commands matched to replies by score, user and
// password, cwd, data channels, file sizes), producing ftp.log rows as Zeek writes them and
// one EVE `ftp` event per command (Suricata's field names). Login replies are also published
// as FtpLoginRecord for the brute-force detector.
#pragma once
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "analyzers/analyzer.h"
#include "analyzers/anomaly.h"
#include "analyzers/ftp/ftp_parser.h"

namespace komainu::ftp {

// Zeek's FTP:: options (base/protocols/ftp/main.zeek, info.zeek), same defaults.
struct Config {
  std::vector<std::string> logged_commands = {"APPE", "DELE", "RETR", "STOR", "STOU",
                                              "ACCT", "PORT", "PASV", "EPRT", "EPSV"};
  std::vector<std::string> guest_ids = {"anonymous", "ftp", "ftpuser", "guest"};
  bool capture_password = false;  // FTP::default_capture_password
  size_t max_pending_commands = 20;
  size_t max_user_length = 128;
  size_t max_password_length = 128;
  size_t max_arg_length = 4096;
  size_t max_reply_msg_length = 4096;
  size_t max_command_length = 100;  // FTP::max_command_length
  bool log_at_least_one_command = true;
  size_t max_line_length = 16384;  // komainu's bound on a buffered line
};

struct Options : AnalyzerOptions {
  Config config;
};

std::shared_ptr<const AnalyzerOptions> configure(const YAML::Node& section,
                                                 AnalyzerConfigError& error);

struct DataChannel {
  bool passive = false;
  IpAddr orig_h, resp_h;
  uint16_t resp_p = 0;
};

struct CmdArg {
  TimeNs ts = 0;
  std::string cmd = "<unknown>";
  std::string arg;
  uint64_t seq = 0;
  bool cwd_consumed = false;
};

// Zeek's FTP::Info: the session's state, of which ftp.log rows are snapshots.
struct Info {
  TimeNs ts = 0;
  std::string user = "<unknown>";
  std::optional<std::string> password;
  std::optional<std::string> command;
  std::optional<std::string> arg;
  std::optional<uint64_t> file_size;
  std::optional<uint32_t> reply_code;
  std::optional<std::string> reply_msg;
  std::optional<DataChannel> data_channel;
  std::string cwd = ".";
  bool passive = false;
  bool logged_command_seen = false;
};

// One command/reply pair (EVE `ftp`), and the ftp.log row when the command is logged.
class FtpRecord : public Record {
 public:
  std::string_view event_type() const override { return "ftp"; }
  void write_eve(JsonWriter& w) const override;
  const ZeekSchema* zeek_schema() const override;
  void write_zeek(ZeekRow& row) const override;
  bool has_eve() const override { return eve; }

  const Info* info = nullptr;
  std::string_view command_data;  // the client's argument (password hidden), for EVE
  bool reply_truncated = false;   // over max-reply-msg-length (Suricata's reply_truncated)
  bool zeek = false;
  bool eve = true;
};

// A reply to USER or PASS (Zeek's ftp/detect-bruteforcing observes the same): feeds
// detectors only, no EVE event, no log row.
class FtpLoginRecord : public Record {
 public:
  std::string_view event_type() const override { return "ftp_login"; }
  void write_eve(JsonWriter&) const override {}
  bool has_eve() const override { return false; }

  std::string_view command;  // "USER" or "PASS"
  std::string_view user;
  uint32_t reply_code = 0;
  bool failed() const { return reply_code / 100 == 5; }
  bool succeeded() const { return reply_code == 230; }
};

class FtpSession : public AppSession {
 public:
  FtpSession(const SessionContext& ctx, const Config& cfg = {});
  void on_data(Direction dir, std::span<const uint8_t> data, TimeNs ts) override;
  void on_gap(Direction dir, uint64_t len, TimeNs ts) override;
  void on_close(TimeNs ts) override;

  const Info& info() const { return info_; }
  const AnomalyReporter& anomalies() const { return anomalies_; }
  size_t pending() const { return pending_.size(); }

 private:
  void line(int d, std::string_view l, TimeNs ts);
  void request(std::string_view l, TimeNs ts);
  void reply(std::string_view l, TimeNs ts);
  void start(TimeNs ts);
  void add_pending(const std::string& cmd, std::string_view arg, TimeNs ts);
  CmdArg* best_pending(uint32_t code, std::string_view msg);
  bool remove_pending(uint64_t seq);
  void message(TimeNs ts);
  bool hide_password() const;
  void weird(const char* name, TimeNs ts, uint64_t n);

  SessionContext ctx_;
  Config cfg_;
  Info info_;
  std::vector<CmdArg> pending_;  // by seq; at most max_pending_commands (+ "<init>")
  std::optional<CmdArg> cmdarg_;
  uint64_t command_seq_ = 0;
  bool started_ = false, confirmed_ = false, stopped_ = false, closed_ = false;
  ReplyParser replies_;
  std::string buf_[2];
  bool overlong_[2] = {false, false};  // discarding the rest of an overlong line
  AnomalyReporter anomalies_{"ftp", "FTP"};
};

ProbeResult probe(std::span<const uint8_t> data, Direction dir, uint16_t server_port);

}  // namespace komainu::ftp
