// simdjson DOM helpers shared by the JSON sources. Keys are matched case-insensitively
// because the same record arrives as Graph camelCase, Sentinel PascalCase and lower-cased
// diagnostic exports.
#pragma once
#include <simdjson.h>

#include <string>
#include <string_view>

namespace komainu::logs {

// Lower-cases key into buf (up to 63 chars); returns the view, or {} when longer.
std::string_view fold_key(std::string_view key, char (&buf)[64]);
// Member by case-insensitive key, or an invalid result.
simdjson::simdjson_result<simdjson::dom::element> get_ci(simdjson::dom::object o,
                                                         std::string_view key);
// Scalar text: strings as-is, numbers/bools rendered, null -> false. Objects and arrays
// are rendered as minified JSON.
bool scalar_text(simdjson::dom::element e, std::string& out);
// Convenience: assign scalar text to out if e is set.
inline void assign_text(simdjson::dom::element e, std::string& out) {
  out.clear();
  scalar_text(e, out);
}
// Values that Sentinel stores as JSON inside a string ("InitiatedBy": "{\"user\":...}").
// Parses with the given parser when the string holds an object/array.
bool parse_embedded(simdjson::dom::parser& p, simdjson::dom::element e,
                    simdjson::dom::element& out);

// A JSON document read from a file: records framed out of JSON lines, arrays and wrappers.
}  // namespace komainu::logs
