// The SMTP session: Zeek's SMTP analyzer (commands, multi-line replies, DATA and BDAT
// bodies, STARTTLS) and its base/protocols/smtp script state (one smtp.log row per mail
// transaction: envelope, the message's top-level headers, the Received path, the files of
// its MIME entities), and Suricata's EVE `smtp` event (smtp.helo/mail_from/rcpt_to and the
// `email` object). AUTH exchanges are published as SmtpAuthRecord for the detectors: an
// internal host logging in to an internet mail server in the clear is how infostealers
// (AgentTesla, Snake) send what they collected.
#pragma once
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_set>
#include <vector>

#include "analyzers/analyzer.h"
#include "analyzers/anomaly.h"
#include "analyzers/files/file_tracker.h"
#include "analyzers/smtp/mime_message.h"
#include "analyzers/smtp/smtp_parser.h"

namespace komainu::smtp {

// Zeek's SMTP:: limits (base/protocols/smtp/main.zeek), same defaults, and komainu's bounds
// on buffered text.
struct Config {
  bool mail_transaction_validation = true;
  size_t max_invalid_mail_transactions = 25;
  size_t max_rcptto_addresses = 1000;
  size_t max_to_addresses = 1000;
  size_t max_cc_addresses = 1000;
  size_t max_path_length = 1000;
  size_t max_line_length = 16384;    // one buffered line
  size_t max_header_length = 16384;  // one folded header field (MIME::max_header_bytes)
  size_t max_pending_commands = 100;
  size_t max_attachments = 100;  // EVE email.attachment names kept per message
  size_t max_fuids = 1000;       // smtp.log fuids per mail (a mail may have any number of parts)
};

struct Options : AnalyzerOptions {
  Config config;
};

std::shared_ptr<const AnalyzerOptions> configure(const YAML::Node& section,
                                                 AnalyzerConfigError& error);

// Zeek's SMTP::Info: one mail transaction.
struct Info {
  TimeNs ts = 0;
  uint32_t trans_depth = 1;
  std::optional<std::string> helo, mailfrom;
  std::optional<std::vector<std::string>> rcptto, to, cc;  // sets, in first-seen order
  std::optional<std::string> date, from, reply_to, msg_id, in_reply_to, subject;
  std::optional<std::string> x_originating_ip, first_received, second_received;
  std::optional<std::string> last_reply, user_agent;
  std::vector<std::string> path;
  bool tls = false;
  std::vector<std::string> fuids;
  bool process_received_from = true;
  bool has_client_activity = false;
  bool process_headers = true;
  uint32_t entity_count = 0;
  // EVE (Suricata): the envelope as the client wrote it, the attachments' names.
  std::string eve_mail_from;
  std::vector<std::string> eve_rcpt_to;
  std::vector<std::string> attachments;
  bool body_seen = false;  // DATA/BDAT content arrived (EVE email.status)
  bool body_complete = false;
};

// One mail transaction: a smtp.log row and an EVE `smtp` event.
class SmtpRecord : public Record {
 public:
  std::string_view event_type() const override { return "smtp"; }
  void write_eve(JsonWriter& w) const override;
  const ZeekSchema* zeek_schema() const override;
  void write_zeek(ZeekRow& row) const override;

  const Info* info = nullptr;
  uint64_t tx_id = 0;
  TimeNs done = 0;  // data time the transaction ended (ts is when it began, as Zeek's)
};

// The outcome of an AUTH exchange (no EVE event, no log row): for the detectors.
class SmtpAuthRecord : public Record {
 public:
  std::string_view event_type() const override { return "smtp_auth"; }
  void write_eve(JsonWriter&) const override {}
  bool has_eve() const override { return false; }

  std::string_view mechanism;  // "LOGIN", "PLAIN", "CRAM-MD5" ...
  uint32_t reply_code = 0;     // 235 success, 535 failure ...
  bool tls = false;            // inside STARTTLS (never seen by komainu: kept for clarity)
  bool starttls_offered = false;
  std::string_view helo;
  bool succeeded() const { return reply_code == 235; }
};

class SmtpSession : public AppSession, private MimeHandler {
 public:
  SmtpSession(const SessionContext& ctx, const Config& cfg = {});
  void on_data(Direction dir, std::span<const uint8_t> data, TimeNs ts) override;
  void on_gap(Direction dir, uint64_t len, TimeNs ts) override;
  void on_close(TimeNs ts) override;

  const Info& info() const { return info_; }
  const AnomalyReporter& anomalies() const { return anomalies_; }

 private:
  enum class State : uint8_t {
    kInitiated,
    kReady,
    kInData,
    kAfterData,
    kInAuth,
    kInTls,
    kQuit,
    kInBdat,
    kAfterGap,
    kGapRecovery
  };
  static constexpr size_t kBdatMaxLine = 4096;  // SMTP::bdat_max_line_length

  // MimeHandler
  void begin_entity() override;
  void header(std::string_view name, std::string_view value) override;
  void body(std::span<const uint8_t> data) override;
  void end_entity() override;
  void anomaly(const char* name, std::string addl) override;

  void client_line(std::string_view l, TimeNs ts);
  void server_line(std::string_view l, TimeNs ts);
  void command(std::string_view l, TimeNs ts);
  void push_command(std::string cmd);
  void update_state(const std::string& cmd, uint32_t code, TimeNs ts);
  void bdat_data(std::span<const uint8_t> d, TimeNs ts);
  void mime_line(std::string_view l);
  void open_file();  // the current entity's file, started on its first byte or gap
  void start_message(TimeNs ts);
  void end_message(TimeNs ts, bool complete);
  void message(TimeNs ts);  // Zeek's smtp_message: writes the row if the client did anything
  void new_info(TimeNs ts);
  void set_session(TimeNs ts);
  void invalid_transaction(const char* addl, TimeNs ts);
  // Adds `v` to one of the transaction's sets (Zeek's set[string], kept in first-seen order)
  // unless present; beyond `max` (0: none) it is dropped with the weird `weird_name`.
  void add_unique(std::optional<std::vector<std::string>>& set,
                  std::unordered_set<std::string>& seen, std::string v, size_t max,
                  const char* weird_name, TimeNs ts);
  void weird(const char* name, TimeNs ts, std::string addl = {});

  SessionContext ctx_;
  Config cfg_;
  Info info_;
  // Members of info_'s rcptto/to/cc, so a mail with thousands of addresses stays linear.
  enum SetField { kRcptTo, kTo, kCc };
  std::unordered_set<std::string> seen_[3];
  bool have_info_ = false;
  State state_ = State::kInitiated;
  uint32_t messages_transferred_ = 0;
  std::optional<std::string> helo_;
  bool trans_mail_from_seen_ = false, trans_rcpt_to_seen_ = false, bdat_last_observed_ = false;
  size_t invalid_transactions_ = 0;
  // Commands awaiting their reply (pipelining): the oldest apart, as Zeek keeps it.
  std::string first_cmd_;
  std::vector<std::string> pending_;  // a vector: a deque allocates when made
  std::string reply_cmd_;             // the command the current reply answers
  uint32_t pending_reply_ = 0;        // code of a multi-line reply in progress
  // Client side
  uint64_t bdat_left_ = 0;  // bytes of the current BDAT chunk still to come
  bool bdat_last_ = false;  // the current chunk is the last
  bool in_bdat_message_ = false;
  bool bdat_cr_ = false;
  std::string bdat_line_;  // BDAT chunk bytes are split into lines for the MIME reader
  std::string auth_mechanism_;
  bool starttls_offered_ = false;
  bool stopped_ = false;  // TLS: nothing more can be read
  bool closed_ = false;
  bool disabled_ = false;  // too many invalid transactions (Zeek disables the analyzer)
  std::string buf_[2];
  bool overlong_[2] = {false, false};
  bool cr_pending_[2] = {false, false};
  bool nul_seen_[2] = {false, false};
  std::unique_ptr<MimeMessage> mime_;
  TimeNs now_ = 0;
  // MIME entity files
  files::FileTracker file_;
  uint32_t mime_depth_ = 0;  // entities begun on the connection (Zeek's mime_depth)
  std::string entity_filename_;
  bool message_gap_ = false;
  uint64_t file_counter_ = 0;
  uint64_t tx_id_ = 0;
  AnomalyReporter anomalies_{"smtp", "SMTP"};
  AnomalyReporter bdat_anomalies_{"smtp", "SMTP_BDAT"};
};

ProbeResult probe(std::span<const uint8_t> data, Direction dir, uint16_t server_port);

}  // namespace komainu::smtp
