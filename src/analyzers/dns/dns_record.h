// DNS records. EVE follows Suricata's version-2 layout by default, one event per message:
// each question of a request is a "query" event, each response one "answer" event
// (detailed answers + grouped + authorities). Version 3 (Suricata 8: one "request" or
// "response" event per message with a queries array) is available through dns::Config. dns.log
// follows Zeek: one row per transaction (query matched with its reply by id, or left unmatched),
// published separately because the two granularities differ.
#pragma once
#include <span>
#include <string>
#include <vector>

#include "analyzers/dns/dns_parser.h"
#include "core/event.h"

namespace komainu::dns {

class DnsEveRecord : public Record {
 public:
  std::string_view event_type() const override { return "dns"; }
  void write_eve(JsonWriter& w) const override;

  const Message* msg = nullptr;  // valid while published
  size_t question = 0;           // v2 query events: which question
  uint64_t tx_id = 0;
  int version = 2;             // Suricata EVE dns layout: 2 or 3
  Error error = Error::kNone;  // parse fault of msg (app-layer events)
  // The message as received (no TCP length prefix), valid while published: over UDP it is
  // the datagram, the payload a rule mixing packet and dns.* checks inspects.
  std::span<const uint8_t> raw;

 private:
  void write_v3(JsonWriter& w) const;
};

// One dns.log row (Zeek's DNS::Info).
struct Transaction {
  TimeNs ts = 0;
  uint16_t trans_id = 0;
  bool has_rtt = false;
  TimeNs rtt = 0;
  bool has_query = false;
  std::string query;
  bool has_qinfo = false;  // qclass/qtype come from the request only
  uint16_t qclass = 0, qtype = 0;
  bool has_rcode = false;
  uint16_t rcode = 0;
  bool AA = false, TC = false, RD = false, RA = false;
  uint8_t Z = 0;
  std::vector<std::string> answers;
  std::vector<TimeNs> ttls;
  bool rejected = false;
  bool has_opcode = false;
  uint8_t opcode = 0;
  bool saw_query = false, saw_reply = false;
  bool is_reply_first = false;  // created by a reply (waits in the reply queue)
};

const ZeekSchema& dns_zeek_schema();

class DnsLogRecord : public Record {
 public:
  std::string_view event_type() const override { return "dns"; }
  bool has_eve() const override { return false; }
  void write_eve(JsonWriter&) const override {}
  const ZeekSchema* zeek_schema() const override { return &dns_zeek_schema(); }
  void write_zeek(ZeekRow& row) const override;

  const Transaction* txn = nullptr;
};

}  // namespace komainu::dns
