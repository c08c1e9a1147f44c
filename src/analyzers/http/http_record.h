// One HTTP transaction as a record: EVE `http` (Suricata's field names) and a Zeek
// http.log row. The record points at the parser's transaction (valid while published), so
// consumers such as the signature engine can reach every parsed buffer (`tx->buf`).
#pragma once
#include "analyzers/http/http_parser.h"
#include "core/event.h"

namespace komainu::http {

const ZeekSchema& http_schema();

struct HttpLogOptions {
  bool dump_headers = false;      // EVE request_headers / response_headers
  bool capture_password = false;  // Zeek's HTTP::default_capture_password
};

// Writes Suricata's "http" object (also embedded in fileinfo events).
void write_http_object(JsonWriter& w, const HttpTransaction& tx, const HttpLogOptions& opts);
// The members of that object only (the caller opens and closes it).
void write_http_members(JsonWriter& w, const HttpTransaction& tx, const HttpLogOptions& opts);

class HttpRecord : public Record {
 public:
  std::string_view event_type() const override { return "http"; }
  void write_eve(JsonWriter& w) const override;
  const ZeekSchema* zeek_schema() const override { return &http_schema(); }
  void write_zeek(ZeekRow& row) const override;
  bool has_eve() const override { return !(tx && tx->zeek_only); }

  const HttpTransaction* tx = nullptr;
  HttpLogOptions opts;
};

}  // namespace komainu::http
