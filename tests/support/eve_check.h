// suricata-verify `filter` checks on EVE events, shared by the test programs that run them
// (the HTTP analyzer's payload-level test, tests/suricata_verify).
#pragma once
#include <simdjson.h>

#include <string_view>

namespace komainu::testing {

// Scalars as suricata-verify compares them: numbers by value whatever their JSON type,
// strings and booleans exactly.
bool value_matches(simdjson::dom::element want, simdjson::dom::element got);

// The member of `event` at `path` ("alert.signature_id", "dns.answers[0].rdata"); false when
// it is absent.
bool lookup(simdjson::dom::element event, std::string_view path, simdjson::dom::element& out);

// True when every key of `match` is present in `event` with an equal value. `has-key` and
// `not-has-key` test presence of the named path.
bool event_matches(simdjson::dom::element event, simdjson::dom::object match);

}  // namespace komainu::testing
