#include "detect/zones/zones.h"

#include <gtest/gtest.h>

#include "detect/zones/segmentation.h"
#include "flow/flow.h"

namespace komainu {
namespace {

const char* kZones = R"(zones:
  dmz: [198.51.100.0/28, 10.0.0.0/24]
  vpn_pool: [10.8.0.0/16]
  research: [10.20.0.0/16]
  business: [10.30.0.0/16]
  launch_ops: [10.40.0.0/16]
  lab: [10.20.9.0/24]
policy:
  forbidden:
    - {from: business, to: launch_ops}
    - {from: internet, to: launch_ops}
  allowed_services:
    - {from: vpn_pool, to: research, services: [tcp/443, tcp/22]}
    - {from: vpn_pool, to: research, services: [udp/53]}
  no_internet: [launch_ops]
)";

IpAddr ip(const char* s) {
  return *IpAddr::parse(s);
}

struct Collect : EventSink {
  std::vector<AlertRecord> alerts;
  void publish(const Record& r) override {
    if (auto* a = dynamic_cast<const AlertRecord*>(&r)) alerts.push_back(*a);
  }
};

TEST(Zones, LongestPrefixAndInternet) {
  Zones z;
  std::string err;
  ASSERT_TRUE(z.load_string(kZones, "z.yaml", &err)) << err;
  EXPECT_EQ(z.name(z.zone_of(ip("10.20.1.1"))), "research");
  EXPECT_EQ(z.name(z.zone_of(ip("10.20.9.7"))), "lab");  // /24 beats /16
  EXPECT_EQ(z.name(z.zone_of(ip("8.8.8.8"))), "internet");
  EXPECT_EQ(z.name(z.zone_of(ip("198.51.100.10"))), "dmz");
  EXPECT_EQ(z.name(z.zone_of(ip("198.51.100.16"))), "internet");
}

TEST(Zones, Violations) {
  Zones z;
  std::string err;
  ASSERT_TRUE(z.load_string(kZones, "z.yaml", &err)) << err;
  auto check = [&](const char* a, const char* b, Service s) {
    std::vector<const PolicyRule*> v;
    z.violations(z.zone_of(ip(a)), z.zone_of(ip(b)), s, v);
    std::string ids;
    for (auto* r : v) ids += r->id + "@" + std::to_string(r->line) + " ";
    return ids;
  };
  EXPECT_EQ(check("10.30.1.1", "10.40.1.20", {6, 22}), "policy.forbidden[0]@10 ");
  EXPECT_EQ(check("8.8.8.8", "10.40.1.20", {6, 22}),
            "policy.forbidden[1]@11 policy.no_internet[0]@15 ");
  EXPECT_EQ(check("10.40.1.20", "8.8.8.8", {17, 53}), "policy.no_internet[0]@15 ");
  EXPECT_EQ(check("10.8.3.17", "10.20.0.5", {6, 445}), "policy.allowed_services[0]@13 ");
  EXPECT_EQ(check("10.8.3.17", "10.20.0.5", {6, 443}), "");
  EXPECT_EQ(check("10.8.3.17", "10.20.0.5", {17, 53}), "");  // second entry for the pair
  EXPECT_EQ(check("10.30.1.1", "10.30.1.2", {6, 22}), "");   // inside one zone
  EXPECT_EQ(check("10.30.1.1", "10.20.1.2", {6, 22}), "");   // pair not listed
}

TEST(Zones, ErrorsNameFileAndLine) {
  Zones z;
  std::string err;
  EXPECT_FALSE(z.load_string("zones:\n  a: [10.0.0.0/33]\n", "f.yaml", &err));
  EXPECT_EQ(err.rfind("f.yaml:2:", 0), 0u) << err;
  Zones z2;
  EXPECT_FALSE(
      z2.load_string("zones:\n  a: [10.0.0.0/8]\npolicy:\n  forbidden:\n    - {from: a, to: b}\n",
                     "f.yaml", &err));
  EXPECT_NE(err.find("f.yaml:5:"), std::string::npos) << err;
  EXPECT_NE(err.find("unknown zone 'b'"), std::string::npos) << err;
  Zones z3;
  EXPECT_FALSE(
      z3.load_string("zones:\n  a: [10.0.0.0/8]\npolicy:\n  allowed_services:\n    - {from: a, to: "
                     "internet, services: [tcp/99999]}\n",
                     "f.yaml", &err));
  EXPECT_NE(err.find("f.yaml:5:"), std::string::npos) << err;
  Zones z4;
  EXPECT_FALSE(z4.load_string("zones:\n  internet: [10.0.0.0/8]\n", "f.yaml", &err));
  Zones z5;
  EXPECT_FALSE(z5.load_file("/nonexistent/zones.yaml", &err));
}

TEST(Segmentation, OneSynAlertsOnceNamingTheLine) {
  Zones z;
  std::string err;
  ASSERT_TRUE(z.load_string(kZones, "z.yaml", &err)) << err;
  Collect out;
  DetectorContext ctx;
  ctx.alerts = &out;
  ctx.zones = &z;
  SegmentationDetector d(ctx, 1000, 20);
  Flow f;
  f.proto = 6;
  f.ctx.tuple = {ip("10.30.12.34"), ip("10.40.1.20"), 50000, 22, 6};
  f.start = 1000 * kNsPerSec;
  f.last = f.start + 3 * kNsPerSec;
  ConnRecord c;
  c.f = &f;
  c.flow = &f.ctx;
  c.ts = f.start;
  d.publish(c);
  d.publish(c);  // the same pair again: no second alert
  ASSERT_EQ(out.alerts.size(), 1u);
  const auto& a = out.alerts[0];
  EXPECT_EQ(a.alert.gid, kBehaviourGid);
  EXPECT_EQ(a.alert.signature_id, SegmentationDetector::kSidForbidden);
  EXPECT_EQ(a.ts, f.start);
  EXPECT_NE(a.alert.signature.find("policy.forbidden[0]"), std::string::npos);
  EXPECT_NE(a.alert.signature.find("z.yaml:10"), std::string::npos);
  EXPECT_EQ(a.src_ip, "10.30.12.34");
  std::string m;
  JsonWriter w(m);
  d.write_matrix(w);
  EXPECT_NE(m.find("\"from\":\"business\",\"to\":\"launch_ops\",\"connections\":2"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("\"violating_services\":[\"tcp/22\"]"), std::string::npos) << m;
}

TEST(Segmentation, AlertsPerSourceAreCapped) {
  Zones z;
  std::string err;
  ASSERT_TRUE(z.load_string(kZones, "z.yaml", &err)) << err;
  Collect out;
  DetectorContext ctx;
  ctx.alerts = &out;
  ctx.zones = &z;
  SegmentationDetector d(ctx, 1000, 3);
  for (int i = 0; i < 50; ++i) {
    Flow f;
    f.proto = 6;
    f.ctx.tuple = {ip("10.8.3.17"), IpAddr::v4(0x0a140000 + i), 40000, 445, 6};
    f.start = f.last = (1000 + i) * kNsPerSec;
    ConnRecord c;
    c.f = &f;
    c.flow = &f.ctx;
    d.publish(c);
  }
  EXPECT_EQ(out.alerts.size(), 3u);
}

}  // namespace
}  // namespace komainu
