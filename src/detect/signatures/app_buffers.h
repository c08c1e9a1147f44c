// How an app-layer record becomes sticky buffers for the signature engine.
//
// Analyzers know nothing about signatures: they publish records (HttpRecord, DnsRecord,
// TlsRecord, ...) that point at their parsed state. For each record type one provider,
// registered here in detect/signatures (one file per protocol, `app_<proto>.cc`), turns a
// record into one or more inspections: the buffers it fills, the direction, the app-layer
// events. The signature stage calls `fill(record, i, ...)` for i = 0, 1, ... until it returns
// false and runs the engine on each (an HTTP transaction is a request inspection to_server
// and a response inspection to_client; a DNS message with several queries is one inspection
// per query, as Suricata's multi-buffers).
#pragma once
#include <array>
#include <cstddef>
#include <string>
#include <string_view>

#include "core/event.h"
#include "core/registry.h"
#include "detect/signatures/inspect.h"

namespace komainu::sig {

// Strings a provider builds (normalised URI, header-name lists, two-byte TLS versions):
// reused across calls so a warm stage does not allocate.
struct AppBufferScratch {
  std::array<std::string, 8> str;
  // App-layer event names (string literals) a provider hands over in ctx.events.
  std::array<std::string_view, 16> events{};
};

struct AppBufferApi {
  std::string_view name;       // Record::event_type() it handles: "http", "dns", "tls", ...
  std::string_view app_proto;  // Suricata's app_proto of the flow ("http", "dns", "tls", ...)
  // Fills inspection `i` of `r`: clears nothing (the caller clears `b` between calls), sets
  // the buffers present, `ctx.to_server` and `ctx.events`. False when there is no inspection i.
  bool (*fill)(const Record& r, size_t i, InspectBuffers& b, InspectContext& ctx,
               AppBufferScratch& s);
};

inline const AppBufferApi* app_buffer_provider(std::string_view event_type) {
  return Registry<AppBufferApi>::find(event_type);
}

}  // namespace komainu::sig
