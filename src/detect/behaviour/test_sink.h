// Test helper: collects the alerts a detector publishes.
#pragma once
#include <vector>

#include "core/addr.h"
#include "core/event.h"

namespace komainu::testing {

struct AlertSink : EventSink {
  std::vector<AlertRecord> alerts;
  void publish(const Record& r) override {
    if (auto* a = dynamic_cast<const AlertRecord*>(&r)) alerts.push_back(*a);
  }
};

inline IpAddr ip(const char* s) {
  return *IpAddr::parse(s);
}

}  // namespace komainu::testing
