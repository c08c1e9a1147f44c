#include "core/event.h"

#include <charconv>
#include <cstdio>

namespace komainu {

const char* zeek_type_name(ZeekType t) {
  switch (t) {
    case ZeekType::kTime:
      return "time";
    case ZeekType::kString:
      return "string";
    case ZeekType::kAddr:
      return "addr";
    case ZeekType::kPort:
      return "port";
    case ZeekType::kCount:
      return "count";
    case ZeekType::kInt:
      return "int";
    case ZeekType::kDouble:
      return "double";
    case ZeekType::kInterval:
      return "interval";
    case ZeekType::kBool:
      return "bool";
    case ZeekType::kEnum:
      return "enum";
    case ZeekType::kSetString:
      return "set[string]";
    case ZeekType::kVectorString:
      return "vector[string]";
    case ZeekType::kSetEnum:
      return "set[enum]";
    case ZeekType::kVectorInterval:
      return "vector[interval]";
    case ZeekType::kVectorCount:
      return "vector[count]";
    case ZeekType::kVectorAddr:
      return "vector[addr]";
  }
  return "string";
}

void ZeekRow::reset(const ZeekSchema* schema) {
  schema_ = schema;
  n_ = 0;
  if (values_.size() < schema->fields.size()) values_.resize(schema->fields.size());
}

ZeekRow::Value& ZeekRow::next() {
  if (n_ >= values_.size()) values_.resize(n_ + 1);
  Value& v = values_[n_++];
  v.set = true;
  v.is_string = false;
  v.container = false;
  v.text.clear();
  v.items.clear();
  return v;
}

ZeekRow& ZeekRow::unset() {
  next().set = false;
  return *this;
}

ZeekRow& ZeekRow::time(TimeNs t) {
  char buf[kZeekTimeBuf];
  size_t n = format_zeek_time(t, buf);
  next().text.assign(buf, n);
  return *this;
}

ZeekRow& ZeekRow::interval(TimeNs d) {
  char buf[kZeekTimeBuf];
  size_t n = format_zeek_interval(d, buf);
  next().text.assign(buf, n);
  return *this;
}

ZeekRow& ZeekRow::str(std::string_view s) {
  Value& v = next();
  v.is_string = true;
  v.text.assign(s);
  return *this;
}

ZeekRow& ZeekRow::addr(const IpAddr& a) {
  Value& v = next();
  v.is_string = true;
  char buf[64];
  v.text.assign(buf, a.format(buf));
  return *this;
}

ZeekRow& ZeekRow::count(uint64_t n) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, n);
  next().text.assign(buf, r.ptr);
  return *this;
}

ZeekRow& ZeekRow::integer(int64_t n) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, n);
  next().text.assign(buf, r.ptr);
  return *this;
}

ZeekRow& ZeekRow::dbl(double d) {
  char buf[40];
  int k = snprintf(buf, sizeof buf, "%.6f", d);
  next().text.assign(buf, k);
  return *this;
}

ZeekRow& ZeekRow::boolean(bool b) {
  next().text = b ? "T" : "F";
  return *this;
}

ZeekRow& ZeekRow::strings(const std::vector<std::string>& items) {
  Value& v = next();
  v.container = true;
  v.is_string = true;
  v.items = items;
  return *this;
}

ZeekRow& ZeekRow::counts(const std::vector<uint64_t>& items) {
  Value& v = next();
  v.container = true;
  for (auto n : items) v.items.push_back(std::to_string(n));
  return *this;
}

ZeekRow& ZeekRow::intervals(const std::vector<TimeNs>& items) {
  Value& v = next();
  v.container = true;
  char buf[kZeekTimeBuf];
  for (auto d : items) v.items.emplace_back(buf, format_zeek_interval(d, buf));
  return *this;
}

void AlertRecord::write_eve(JsonWriter& w) const {
  if (!flow) {
    if (!src_ip.empty()) w.kv("src_ip", src_ip);
    if (!dest_ip.empty()) w.kv("dest_ip", dest_ip);
  }
  w.key("alert").begin_object();
  w.kv("action", alert.action)
      .kv("gid", uint64_t(alert.gid))
      .kv("signature_id", uint64_t(alert.signature_id))
      .kv("rev", uint64_t(alert.rev))
      .kv("signature", alert.signature)
      .kv("category", alert.category)
      .kv("severity", alert.severity);
  if (!alert.metadata.empty()) {
    w.key("metadata").begin_object();
    for (const auto& [k, vals] : alert.metadata) {
      w.key(k).begin_array();
      for (const auto& v : vals) w.value(v);
      w.end_array();
    }
    w.end_object();
  }
  w.end_object();
  for (const auto& [k, json] : extra_json) w.kv_raw(k, json);
}

}  // namespace komainu
