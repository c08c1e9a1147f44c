// pcre:[!]"/regex/flags" -- compiled with PCRE2 and JIT at load time. Buffer flags (/U /H /P
// ...) put the regex on that HTTP buffer, as Suricata does.
#include "detect/signatures/inspect.h"
#include "detect/signatures/keyword.h"

namespace komainu::sig {
namespace {

const char* buffer_for_flag(char f) {
  switch (f) {
    case 'U':
      return "http.uri";
    case 'I':
      return "http.uri.raw";
    case 'P':
      return "http.request_body";
    case 'Q':
      return "http.response_body";
    case 'H':
      return "http.header";
    case 'D':
      return "http.header.raw";
    case 'M':
      return "http.method";
    case 'C':
      return "http.cookie";
    case 'S':
      return "http.stat_code";
    case 'Y':
      return "http.stat_msg";
    case 'V':
      return "http.user_agent";
    case 'W':
      return "http.host";
    case 'Z':
      return "http.host.raw";
  }
  return nullptr;
}

bool parse_pcre(ParseState& st, std::string_view v, std::string& err) {
  Pcre p;
  v = trim(v);
  if (!v.empty() && v[0] == '!') {
    p.negated = true;
    v = trim(v.substr(1));
  }
  if (v.size() < 2 || v.front() != '"' || v.back() != '"') {
    err = "pcre must be a quoted /regex/flags";
    return false;
  }
  v = v.substr(1, v.size() - 2);
  auto first = v.find('/'), last = v.rfind('/');
  if (first != 0 || last == std::string_view::npos || last == first) {
    err = "pcre must look like \"/regex/flags\"";
    return false;
  }
  std::string_view re = v.substr(1, last - 1), flags = v.substr(last + 1);
  p.source = std::string(v);
  uint32_t opts = 0;
  const char* buffer = nullptr;
  for (char f : flags) {
    switch (f) {
      case 'i':
        opts |= PCRE2_CASELESS;
        break;
      case 's':
        opts |= PCRE2_DOTALL;
        break;
      case 'm':
        opts |= PCRE2_MULTILINE;
        break;
      case 'x':
        opts |= PCRE2_EXTENDED;
        break;
      case 'A':
        opts |= PCRE2_ANCHORED;
        break;
      case 'E':
        opts |= PCRE2_DOLLAR_ENDONLY;
        break;
      case 'G':
        opts |= PCRE2_UNGREEDY;
        break;
      case 'R':
        p.relative = true;
        break;
      case 'B':
      case 'O':
        break;  // rawbytes (ignored), match-limit override
      default: {
        const char* b = buffer_for_flag(f);
        if (!b) {
          err = std::string("unknown pcre flag '") + f + "'";
          return false;
        }
        if (buffer && buffer != b) {
          err = "pcre names two buffers";
          return false;
        }
        buffer = b;
      }
    }
  }
  int code;
  PCRE2_SIZE off;
  pcre2_code* c =
      pcre2_compile(reinterpret_cast<PCRE2_SPTR>(re.data()), re.size(), opts, &code, &off, nullptr);
  if (!c) {
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(code, msg, sizeof msg);
    err =
        "pcre compile error at " + std::to_string(off) + ": " + reinterpret_cast<const char*>(msg);
    return false;
  }
  p.jit = pcre2_jit_compile(c, PCRE2_JIT_COMPLETE) == 0;
  p.code = std::shared_ptr<pcre2_code>(c, PcreDeleter{});

  // /Q after file_data: Suricata reads the response body as file.data.
  if (buffer && st.content_list >= 0 &&
      st.sig.lists[st.content_list].buffer == buffer_id("file.data") &&
      flags.find('Q') != flags.npos)
    buffer = nullptr;
  if (buffer) {
    if (p.relative && st.last_list >= 0 && st.sig.lists[st.last_list].buffer != buffer_id(buffer)) {
      // Relative to a content in another buffer: Suricata rejects this too.
      err = "relative pcre with a buffer flag must follow a content in that buffer";
      return false;
    }
    int id = buffer_id(buffer);
    if (st.sig.app_proto.empty()) st.sig.app_proto = "http";
    st.sig.lists.push_back(BufferList::of(static_cast<uint16_t>(id)));
    st.sig.lists.back().items.push_back(std::move(p));
    st.last_list = static_cast<int>(st.sig.lists.size() - 1);
    st.last_item = 0;
    return true;
  }
  auto& l = st.current();
  l.items.push_back(std::move(p));
  st.last_list = st.current_list;
  st.last_item = static_cast<int>(l.items.size() - 1);
  return true;
}

const Registration<KeywordApi> r{{.name = "pcre", .parse = parse_pcre, .matches = true}};

}  // namespace
}  // namespace komainu::sig
