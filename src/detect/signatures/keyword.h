// Rule keywords register themselves here, one descriptor per keyword:
//
//   static const Registration<KeywordApi> reg{{.name = "dsize", .parse = parse_dsize,
//                                              .matches = true}};
//
// `parse` validates the option value and records it on the Signature being built.
// `matches` says whether the engine evaluates what was recorded: a rule that uses a keyword
// without a matcher is skipped (named in `rules check`), never loaded half-checked.
#pragma once
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/registry.h"
#include "detect/signatures/signature.h"

namespace komainu::sig {

class Classifications;

// Names shared by all rules of a set (flowbits, flowints), interned to small integers.
struct NameTable {
  std::map<std::string, uint32_t, std::less<>> ids;
  uint32_t intern(std::string_view name) {
    auto it = ids.find(name);
    if (it != ids.end()) return it->second;
    uint32_t id = static_cast<uint32_t>(ids.size());
    ids.emplace(std::string(name), id);
    return id;
  }
};

struct ParseState {
  explicit ParseState(Signature& s) : sig(s) {}
  Signature& sig;
  const Classifications* classes = nullptr;
  NameTable* flowbits = nullptr;
  NameTable* flowints = nullptr;
  const struct KeywordApi* kw = nullptr;  // the keyword being parsed

  // The list new inspection items go to: the current sticky buffer, else the payload.
  int current_list = -1;
  // The last content/pcre etc. that modifiers (nocase, depth, http_uri, ...) apply to.
  int last_list = -1, last_item = -1;
  // The last content: nocase, depth, fast_pattern, ... may follow other items
  // ("content:"x"; isdataat:3,relative; fast_pattern;") and still mean it.
  int content_list = -1, content_item = -1;
  // Snort 3 dialect: http_uri etc. are sticky buffers, content takes ",nocase,within 10".
  bool snort3 = false;
  // byte_extract / byte_math variable names, index = variable number.
  std::vector<std::string> byte_var_names;
  // Unsupported keyword seen (rule is skipped, parsing goes on to validate the rest).
  std::string unsupported;

  // Returns the list for buffer id + transforms, creating it.
  BufferList& list_for(uint16_t buffer);
  // The list inspection items go to now (payload list created on demand).
  BufferList& current();
  // The list a relative item goes to when no sticky buffer is active and the last
  // content/pcre sits in another list (a legacy modifier moved it); -1 otherwise.
  int relative_target() const;
  // The last content, or nullptr.
  Content* last_content();
  InspectItem* last_item_ptr();
  // Makes `buffer` the current sticky buffer.
  bool select_buffer(int buffer, std::string& err);
  // Parses a number or a byte_extract variable name.
  bool value(std::string_view s, Value& out, std::string& err) const;
};

struct KeywordApi {
  std::string_view name;
  // value: the text after ':' with surrounding blanks removed, or empty for flag keywords.
  bool (*parse)(ParseState& st, std::string_view value, std::string& err) = nullptr;
  bool matches = false;
  std::string_view note = {};  // shown in the keyword table (docs/rules.md)
  int arg = 0;                 // for families sharing one parser (buffer id, field, ...)
};

using KeywordRegistry = Registry<KeywordApi>;

// --- small helpers shared by keyword parsers ----------------------------------------------

std::string_view trim(std::string_view s);
// Splits on `sep` outside double quotes.
std::vector<std::string_view> split_args(std::string_view s, char sep = ',');
bool parse_int(std::string_view s, int64_t& out);
bool parse_uint(std::string_view s, uint64_t& out);
// Comparison forms shared by dsize, bsize, urilen, ttl, itype, ...: "n", "<n", ">n",
// "<=n", ">=n", "!n", "a<>b", "a-b" (when allow_dash).
bool parse_numcmp(std::string_view s, NumCmp& out, std::string& err, bool allow_dash = false);
// Decodes a quoted content string: "a|0d 0a|b", with \" \; \\ escapes.
bool decode_content(std::string_view quoted, std::string& out, std::string& err);
// Removes one level of surrounding double quotes, if present.
std::string_view unquote(std::string_view s);

}  // namespace komainu::sig
