// Small text helpers shared by the syslog sources: key=value splitting, numbers, syslog and
// vendor timestamps. All work on views of the record; nothing allocates.
#pragma once
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

#include "core/civil.h"
#include "core/time.h"

namespace komainu::logs {

// Splits `k=v k="v w" ...` into views (quotes stripped). Returns false when a quote is
// unterminated; pairs parsed so far are kept.
bool split_kv(std::string_view s, std::vector<std::pair<std::string_view, std::string_view>>& out);

bool parse_int(std::string_view s, int64_t& out);
std::string_view trim(std::string_view s);
bool starts_with_ci(std::string_view s, std::string_view prefix);
size_t find_ci(std::string_view hay, std::string_view needle);

// "Jan".."Dec" -> 1..12, 0 if none.
int month_from_abbrev(std::string_view s);
// "2016-06-15" + "21:35:09" or "2016/02/24 21:45:08".
bool parse_ymd_hms(std::string_view s, TimeNs& out);
// "4/28/2021, 2:08:45.221 PM" (Sentinel portal CSV export, UTC).
bool parse_us_datetime(std::string_view s, TimeNs& out);
// ISO 8601 plus the variants seen in exports (space separator, 7-9 fractional digits).
// Years outside 1970..2200 are refused; *out_of_range (if given) is then set, so sources
// report the record as time_out_of_range rather than as having no time.
bool parse_any_time(std::string_view s, TimeNs& out, bool* out_of_range = nullptr);
// BSD syslog "Mmm dd hh:mm:ss" (no year): uses `year`. Consumes the prefix; returns its
// length, 0 if none.
size_t parse_bsd_time(std::string_view s, int year, TimeNs& out);
// Year of a timestamp (for completing year-less syslog dates from the last full date).
int year_of(TimeNs t);

}  // namespace komainu::logs
