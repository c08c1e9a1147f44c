// Test and fuzz helper: a sink that renders every published record as its EVE body and its
// Zeek row, so fuzz targets exercise the record writers as well as the parsers.
#pragma once
#include <string>

#include "core/event.h"
#include "core/json.h"

namespace komainu {

class RenderSink : public EventSink {
 public:
  void publish(const Record& r) override {
    eve.clear();
    JsonWriter w(eve);
    w.begin_object();
    r.write_eve(w);
    w.end_object();
    if (const ZeekSchema* s = r.zeek_schema()) {
      row.reset(s);
      r.write_zeek(row);
    }
    ++records;
  }
  std::string eve;
  ZeekRow row;
  size_t records = 0;
};

}  // namespace komainu
