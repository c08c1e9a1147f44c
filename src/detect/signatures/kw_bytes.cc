// byte_test, byte_jump, byte_extract, byte_math.
#include "detect/signatures/keyword.h"

namespace komainu::sig {
namespace {

constexpr size_t kMaxByteVars = 16;

bool parse_nbytes(std::string_view s, uint8_t& out, std::string& err) {
  uint64_t n;
  if (!parse_uint(s, n) || n > 23) {  // 0 with 'string': all the digits there are
    err = "bad byte count '" + std::string(s) + "'";
    return false;
  }
  out = static_cast<uint8_t>(n);
  return true;
}

bool base_from(std::string_view s, NumBase& b) {
  if (s == "dec")
    b = NumBase::kDec;
  else if (s == "hex")
    b = NumBase::kHex;
  else if (s == "oct")
    b = NumBase::kOct;
  else
    return false;
  return true;
}

// The trailing options shared by the byte_* family. Returns false on an unknown option;
// `extra` handles the keyword-specific ones and returns true if it consumed the option.
template <typename Extra>
bool parse_common_opts(std::vector<std::string_view>& a, size_t from, ByteCommon& c,
                       std::string& err, Extra extra) {
  for (size_t i = from; i < a.size(); ++i) {
    auto opt = a[i];
    if (opt.empty()) continue;
    if (opt == "relative") {
      c.relative = true;
    } else if (opt == "big") {
      c.endian = Endian::kBig;
    } else if (opt == "little") {
      c.endian = Endian::kLittle;
    } else if (opt == "dce") {
      c.endian = Endian::kDce;
    } else if (opt == "string") {
      c.base = NumBase::kDec;
      if (i + 1 < a.size() && base_from(a[i + 1], c.base)) ++i;
    } else if (opt.starts_with("string ")) {
      if (!base_from(trim(opt.substr(7)), c.base)) {
        err = "bad string base";
        return false;
      }
    } else if (opt == "hex" || opt == "dec" || opt == "oct") {
      base_from(opt, c.base);
    } else if (opt.starts_with("bitmask")) {
      uint64_t m;
      if (!parse_uint(trim(opt.substr(7)), m) || m == 0) {
        err = "bad bitmask";
        return false;
      }
      c.bitmask = m;
    } else if (opt.starts_with("endian")) {
      auto e = trim(opt.substr(6));
      if (e == "big")
        c.endian = Endian::kBig;
      else if (e == "little")
        c.endian = Endian::kLittle;
      else if (e == "dce")
        c.endian = Endian::kDce;
      else {
        err = "bad endian";
        return false;
      }
    } else if (!extra(opt)) {
      if (err.empty()) err = "unknown option '" + std::string(opt) + "'";
      return false;
    }
  }
  if (c.base == NumBase::kBinary && c.nbytes > 8) {
    err = "more than 8 bytes need 'string'";
    return false;
  }
  return true;
}

void add_item(ParseState& st, InspectItem item) {
  // Without a sticky buffer, a relative keyword goes to the list of the content/pcre it is
  // relative to ("content:"x"; http_uri; byte_test:...,relative;"), as Suricata does.
  if (int rel = st.relative_target(); rel >= 0 && std::visit(
                                                      [](const auto& i) {
                                                        if constexpr (requires { i.c.relative; })
                                                          return i.c.relative;
                                                        else if constexpr (requires { i.relative; })
                                                          return i.relative;
                                                        else
                                                          return false;
                                                      },
                                                      item)) {
    auto& l = st.sig.lists[rel];
    l.items.push_back(std::move(item));
    st.last_list = rel;
    st.last_item = static_cast<int>(l.items.size() - 1);
    return;
  }
  auto& l = st.current();
  l.items.push_back(std::move(item));
  st.last_list = st.current_list;
  st.last_item = static_cast<int>(l.items.size() - 1);
}

bool parse_byte_test(ParseState& st, std::string_view v, std::string& err) {
  auto a = split_args(v);
  if (a.size() < 4) {
    err = "expected nbytes,operator,value,offset";
    return false;
  }
  ByteTest t;
  if (!parse_nbytes(a[0], t.c.nbytes, err)) return false;
  std::string_view op = a[1];
  if (!op.empty() && op[0] == '!') {
    t.negated = true;
    op = trim(op.substr(1));
  }
  if (op == "<")
    t.op = '<';
  else if (op == ">")
    t.op = '>';
  else if (op == "=")
    t.op = '=';
  else if (op == "&")
    t.op = '&';
  else if (op == "^")
    t.op = '^';
  else if (op == "<=")
    t.op = 'l';
  else if (op == ">=")
    t.op = 'g';
  else if (op.empty() && t.negated)
    t.op = '=';  // "!" alone means not-equal
  else {
    err = "bad operator '" + std::string(a[1]) + "'";
    return false;
  }
  if (!st.value(a[2], t.value, err) || !st.value(a[3], t.c.offset, err)) return false;
  if (!parse_common_opts(a, 4, t.c, err, [](std::string_view) { return false; })) return false;
  add_item(st, t);
  return true;
}

bool parse_byte_jump(ParseState& st, std::string_view v, std::string& err) {
  auto a = split_args(v);
  if (a.size() < 2) {
    err = "expected nbytes,offset";
    return false;
  }
  ByteJump j;
  if (!parse_nbytes(a[0], j.c.nbytes, err) || !st.value(a[1], j.c.offset, err)) return false;
  bool ok = parse_common_opts(a, 2, j.c, err, [&](std::string_view o) {
    if (o == "align") return j.align = true;
    if (o == "from_beginning") return j.from_beginning = true;
    if (o == "from_end") return j.from_end = true;
    if (o.starts_with("multiplier")) {
      uint64_t m;
      if (!parse_uint(trim(o.substr(10)), m) || m == 0 || m > 65535) return false;
      j.multiplier = static_cast<uint32_t>(m);
      return true;
    }
    if (o.starts_with("post_offset")) return parse_int(trim(o.substr(11)), j.post_offset);
    return false;
  });
  if (!ok) return false;
  if (j.from_beginning && j.from_end) {
    err = "from_beginning and from_end exclude each other";
    return false;
  }
  add_item(st, j);
  return true;
}

bool new_var(ParseState& st, std::string_view name, int8_t& out, std::string& err) {
  name = trim(name);
  if (name.empty() || (name[0] >= '0' && name[0] <= '9')) {
    err = "bad variable name '" + std::string(name) + "'";
    return false;
  }
  for (size_t i = 0; i < st.byte_var_names.size(); ++i)
    if (st.byte_var_names[i] == name) {
      out = static_cast<int8_t>(i);
      return true;
    }
  if (st.byte_var_names.size() >= kMaxByteVars) {
    err = "too many byte_extract/byte_math variables";
    return false;
  }
  st.byte_var_names.emplace_back(name);
  out = static_cast<int8_t>(st.byte_var_names.size() - 1);
  return true;
}

bool parse_byte_extract(ParseState& st, std::string_view v, std::string& err) {
  auto a = split_args(v);
  if (a.size() < 3) {
    err = "expected nbytes,offset,name";
    return false;
  }
  ByteExtract e;
  if (!parse_nbytes(a[0], e.c.nbytes, err) || !st.value(a[1], e.c.offset, err)) return false;
  bool ok = parse_common_opts(a, 3, e.c, err, [&](std::string_view o) {
    if (o.starts_with("multiplier")) {
      uint64_t m;
      if (!parse_uint(trim(o.substr(10)), m) || m == 0 || m > 65535) return false;
      e.multiplier = static_cast<uint32_t>(m);
      return true;
    }
    if (o.starts_with("align")) {
      uint64_t m;
      if (!parse_uint(trim(o.substr(5)), m) || (m != 2 && m != 4)) return false;
      e.align = static_cast<uint8_t>(m);
      return true;
    }
    return false;
  });
  if (!ok || !new_var(st, a[2], e.var, err)) return false;
  add_item(st, e);
  return true;
}

// byte_math:bytes n, offset n, oper op, rvalue v, result name [, relative] ...
bool parse_byte_math(ParseState& st, std::string_view v, std::string& err) {
  auto a = split_args(v);
  ByteMath m;
  bool have_bytes = false, have_offset = false, have_oper = false, have_rvalue = false,
       have_result = false;
  std::string_view result;
  std::vector<std::string_view> rest;
  for (auto opt : a) {
    auto sp = opt.find(' ');
    auto k = opt.substr(0, sp);
    auto val = sp == std::string_view::npos ? std::string_view{} : trim(opt.substr(sp + 1));
    if (k == "bytes") {
      if (!parse_nbytes(val, m.c.nbytes, err)) return false;
      have_bytes = true;
    } else if (k == "offset") {
      if (!st.value(val, m.c.offset, err)) return false;
      have_offset = true;
    } else if (k == "oper") {
      if (val == "+" || val == "-" || val == "*" || val == "/")
        m.oper = val[0];
      else if (val == "<<")
        m.oper = 'L';
      else if (val == ">>")
        m.oper = 'R';
      else {
        err = "bad oper '" + std::string(val) + "'";
        return false;
      }
      have_oper = true;
    } else if (k == "rvalue") {
      if (!st.value(val, m.rvalue, err)) return false;
      have_rvalue = true;
    } else if (k == "result") {
      result = val;
      have_result = true;
    } else {
      rest.push_back(opt);
    }
  }
  if (!have_bytes || !have_offset || !have_oper || !have_rvalue || !have_result) {
    err = "needs bytes, offset, oper, rvalue and result";
    return false;
  }
  if (!parse_common_opts(rest, 0, m.c, err, [](std::string_view) { return false; })) return false;
  if (!new_var(st, result, m.var, err)) return false;
  add_item(st, m);
  return true;
}

const Registration<KeywordApi> r1{{.name = "byte_test", .parse = parse_byte_test, .matches = true}};
const Registration<KeywordApi> r2{{.name = "byte_jump", .parse = parse_byte_jump, .matches = true}};
const Registration<KeywordApi> r3{
    {.name = "byte_extract", .parse = parse_byte_extract, .matches = true}};
const Registration<KeywordApi> r4{{.name = "byte_math", .parse = parse_byte_math, .matches = true}};

}  // namespace
}  // namespace komainu::sig
