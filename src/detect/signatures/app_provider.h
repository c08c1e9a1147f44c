// Helpers shared by the app-layer buffer providers (app_<proto>.cc): buffer ids resolved
// once, and the app-layer event list built in the scratch.
#pragma once
#include <span>
#include <string_view>

#include "detect/signatures/app_buffers.h"

namespace komainu::sig::app {

// Id of a buffer of the kw_buffers.cc table; providers resolve their ids once (static
// locals), so a name missing from the table is a programming error caught by the tests.
inline BufferId id_of(std::string_view name) {
  int id = buffer_id(name);
  return id < 0 ? kPayload : static_cast<BufferId>(id);
}

// Sets `id` only when the provider has something: an absent buffer never matches, an empty
// present one matches only rules that accept empty buffers (as Suricata's).
inline void set_if(InspectBuffers& b, BufferId id, std::string_view v, bool present = true) {
  if (present && id != kPayload) b.set(id, v);
}

// Collects app-layer event names (string literals) into the scratch, without duplicates.
class EventList {
 public:
  explicit EventList(AppBufferScratch& s) : s_(s) {}
  void add(std::string_view name) {
    if (name.empty() || n_ >= s_.events.size()) return;
    for (size_t i = 0; i < n_; ++i)
      if (s_.events[i] == name) return;
    s_.events[n_++] = name;
  }
  std::span<const std::string_view> span() const { return {s_.events.data(), n_}; }

 private:
  AppBufferScratch& s_;
  size_t n_ = 0;
};

// Analyzer anomaly name (Zeek weird) → Suricata app-layer event name.
struct EventName {
  std::string_view anomaly;
  std::string_view event;
};

template <size_t N>
std::string_view map_event(const EventName (&table)[N], std::string_view anomaly) {
  for (const auto& e : table)
    if (e.anomaly == anomaly) return e.event;
  return {};
}

}  // namespace komainu::sig::app
