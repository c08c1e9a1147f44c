// Test helper: an EventSink that keeps every published record rendered (EVE body and Zeek
// row as text, "-" unset, "(empty)" empty, containers joined by ','), as Zeek writes them.
#pragma once
#include <string>
#include <vector>

#include "core/event.h"

namespace komainu::testing {

struct CapturedRecord {
  std::string type;
  std::string eve;
  bool has_eve = true;  // false: a Zeek-only record
  std::string zeek_path;
  std::vector<std::string> fields;  // Zeek field names
  std::vector<std::string> values;  // Zeek values as text
  bool to_client = false;

  std::string get(const std::string& field) const {
    for (size_t i = 0; i < fields.size() && i < values.size(); ++i)
      if (fields[i] == field) return values[i];
    return "<no field " + field + ">";
  }
};

class CaptureSink : public EventSink {
 public:
  void publish(const Record& r) override {
    CapturedRecord c;
    c.type = std::string(r.event_type());
    c.to_client = r.to_client;
    c.has_eve = r.has_eve();
    JsonWriter w(c.eve);
    w.begin_object();
    r.write_eve(w);
    w.end_object();
    if (const ZeekSchema* schema = r.zeek_schema()) {
      ZeekRow row;
      row.reset(schema);
      r.write_zeek(row);
      c.zeek_path = schema->path;
      for (const auto& f : schema->fields) c.fields.push_back(f.name);
      for (size_t i = 0; i < row.size(); ++i) {
        const auto& v = row.at(i);
        if (!v.set) {
          c.values.push_back("-");
        } else if (v.container) {
          std::string joined;
          for (size_t k = 0; k < v.items.size(); ++k) joined += (k ? "," : "") + v.items[k];
          c.values.push_back(v.items.empty() ? "(empty)" : joined);
        } else {
          c.values.push_back(v.text.empty() && v.is_string ? "(empty)" : v.text);
        }
      }
    }
    records.push_back(std::move(c));
  }
  std::vector<const CapturedRecord*> of(const std::string& type) const {
    std::vector<const CapturedRecord*> out;
    for (const auto& r : records)
      if (r.type == type) out.push_back(&r);
    return out;
  }
  std::vector<CapturedRecord> records;
};

// A Zeek log baseline: field names and rows (values as text).
struct ZeekBaseline {
  std::vector<std::string> fields;
  std::vector<std::vector<std::string>> rows;
  std::string get(size_t row, const std::string& field) const {
    for (size_t i = 0; i < fields.size(); ++i)
      if (fields[i] == field && i < rows[row].size()) return rows[row][i];
    return "<no field " + field + ">";
  }
};

}  // namespace komainu::testing
