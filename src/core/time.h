// Data time. Every window, timeout and timestamp in komainu is derived from packet or log
// timestamps, never from the wall clock, so a replayed capture behaves exactly as live.
#pragma once
#include <cstdint>
#include <string>

namespace komainu {

// Nanoseconds since the Unix epoch, as carried by the data.
using TimeNs = int64_t;

inline constexpr TimeNs kNsPerUs = 1000;
inline constexpr TimeNs kNsPerMs = 1000 * 1000;
inline constexpr TimeNs kNsPerSec = 1000 * 1000 * 1000;

inline double to_seconds(TimeNs t) {
  return static_cast<double>(t) / 1e9;
}

// Suricata's EVE form: 2024-01-01T00:00:00.123456+0000 (UTC).
std::string format_eve_time(TimeNs t);
// Zeek's ts form: 1704067200.123456
std::string format_zeek_time(TimeNs t);
// Zeek's interval form: seconds with 6 decimals.
std::string format_zeek_interval(TimeNs d);
// The same two forms written into buf (at least kZeekTimeBuf bytes, NUL-terminated), without
// allocating: they are written for every conn.log row. Return the length.
inline constexpr size_t kZeekTimeBuf = 48;
size_t format_zeek_time(TimeNs t, char* buf);
size_t format_zeek_interval(TimeNs d, char* buf);
// Parses ISO 8601 / RFC 3339 ("2024-01-01T00:00:00Z", ".123", "+02:00"); false on error,
// and for times that int64 nanoseconds cannot hold (before 1677-09-21, after 2262-04-11).
bool parse_iso8601(std::string_view s, TimeNs& out);

// The one clock of a pipeline: advanced by the data, never backwards.
class DataClock {
 public:
  // Returns true when time moved forward.
  bool advance(TimeNs t) {
    if (t <= now_) return false;
    now_ = t;
    return true;
  }
  TimeNs now() const { return now_; }

 private:
  TimeNs now_ = 0;
};

}  // namespace komainu
