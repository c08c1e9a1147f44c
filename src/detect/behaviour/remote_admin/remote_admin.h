// `remote_admin`: remote administration interfaces used the way intruders use them, from
// DCE-RPC calls (over TCP or SMB named pipes: interface + opnum) and SMB admin-share file
// operations. Service creation (PsExec, smbexec), scheduled tasks, remote registry,
// printer-bug coercion and PrintNightmare driver installs, DCSync, Zerologon's Netlogon
// brute force, WMI / DCOM execution, account/session/share enumeration, tools copied to
// ADMIN$ / C$ and command-output polling through C$. One alert per (source, target, rule)
// with the evidence (interface, operations, pipe, share, files, first/last seen).
// SMBGhost (CVE-2020-0796): a compression transform header whose sizes wrap 32 bits, read by
// the SMB analyzer; and the scanners' fingerprint, an SMB 3.1.1 NEGOTIATE offering compression
// that the client closes without any further command.
#pragma once
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/addr.h"
#include "detect/detector.h"

namespace komainu {

namespace smb {
class SmbRecord;
}

struct RemoteAdminConfig {
  TimeNs window = 60 * kNsPerSec;         // counting rules (Netlogon, share enumeration)
  uint64_t netlogon_auth_attempts = 20;   // NetrServerAuthenticate* per source→DC in window
  uint64_t share_enum_hosts = 5;          // NetrShareEnum targets of one source in window
  uint64_t output_polls = 2;              // admin-share root files read then deleted
  std::vector<Cidr> replication_sources;  // DCs: their DRSGetNCChanges is replication
  uint64_t max_keys = 100000;
};

class RemoteAdminDetector : public Detector {
 public:
  enum Rule : uint32_t {
    kServiceCreate = 9100801,
    kScheduledTask = 9100802,
    kRegistryHiveSave = 9100803,
    kRemoteRegistry = 9100804,
    kPrinterBug = 9100805,
    kPrintNightmare = 9100806,
    kDcSync = 9100807,
    kZerologon = 9100808,
    kWmiExec = 9100809,
    kDcomExec = 9100810,
    kAccountDiscovery = 9100811,
    kShareDiscovery = 9100812,
    kToolTransfer = 9100813,
    kExecToolPipe = 9100814,
    kOutputPolling = 9100815,
    kDcomActivation = 9100816,
    kSmbGhost = 9100817,
    kSmbGhostScan = 9100818,
  };

  RemoteAdminDetector(const RemoteAdminConfig& cfg, EventSink* alerts)
      : cfg_(cfg), alerts_(alerts) {}
  void publish(const Record& r) override;
  bool wants(std::string_view type) const override {
    return type == "flow" || type == "smb" || type == "dcerpc" || type == "smb_compression";
  }
  void write_stats(JsonWriter& w) const override;

  // One DCE-RPC request (for tests and the record path). `pipe` is "" over TCP.
  void on_rpc(TimeNs ts, const IpAddr& src, const IpAddr& dst, const std::string& endpoint,
              uint16_t opnum, const std::string& operation, const std::string& pipe,
              const std::string& user);
  // A DCOM activation of class `clsid` (`name` its well-known name or "") by `src` on `dst`.
  void on_activation(TimeNs ts, const IpAddr& src, const IpAddr& dst, const std::string& clsid,
                     const std::string& name, const std::string& operation,
                     const std::string& user);
  // SMB file events on a share: kind is 'c' (create/open), 'w' (write), 'r' (read), 'd'
  // (delete); `pipe` when the share is IPC$.
  void on_smb_file(TimeNs ts, const IpAddr& src, const IpAddr& dst, const std::string& share,
                   const std::string& file, char kind, const std::string& user);

 private:
  struct Hit {
    TimeNs first = 0, last = 0;
    uint64_t count = 0;
    std::set<std::string> details;  // operations / files (bounded)
    bool alerted = false;
  };
  struct Counter {  // a tumbling window per (source, target)
    TimeNs start = 0, last = 0;
    uint64_t n = 0;
    std::set<IpAddr> targets;
  };
  struct FlowInfo {
    std::string user;
    std::map<uint32_t, std::string> trees;
    TimeNs last = 0;
  };
  // The NEGOTIATEs of an SMB flow that has carried no other SMB command so far (the last
  // one's dialect and compression algorithms).
  struct NegotiateOnly {
    TimeNs ts = 0;
    uint32_t negotiates = 0;
    uint64_t client_bytes = 0;  // what the client had sent when the last one was answered
    std::string dialect;
    std::vector<std::string> offered, accepted;
    bool client_guid_zero = false;
  };
  void on_negotiate(const smb::SmbRecord& s);
  void on_flow_end(const Record& r);
  void on_compression(const Record& r);
  // The alert bookkeeping of `hit`: the (rule, source, target) entry, counted; true the first
  // time (alert now).
  bool first_hit(Rule rule, TimeNs ts, const IpAddr& src, const IpAddr& dst,
                 const std::string& detail, Hit** out);
  void hit(Rule rule, TimeNs ts, const IpAddr& src, const IpAddr& dst, const std::string& detail,
           const std::string& pipe, const std::string& share, const std::string& user,
           const char* technique = nullptr, int severity = 0);

  RemoteAdminConfig cfg_;
  EventSink* alerts_;
  std::map<std::tuple<uint32_t, IpAddr, IpAddr>, Hit> hits_;
  std::map<std::pair<IpAddr, IpAddr>, Counter> netlogon_;
  std::unordered_map<IpAddr, Counter, IpAddrHash> share_enum_;
  // (source, target, file) at an admin-share root: read, then deleted (output polling).
  std::map<std::tuple<IpAddr, IpAddr, std::string>, uint8_t> root_files_;
  std::map<std::pair<IpAddr, IpAddr>, uint64_t> polls_;
  struct FlowIdHash {
    size_t operator()(uint64_t id) const { return size_t(id); }
  };
  // SMB flow_id → user, trees. Open addressing: every flow's end probes it.
  FlatMap<uint64_t, FlowInfo, FlowIdHash> flows_;
  // SMB flow_id → its NEGOTIATE, while nothing else has followed (SMBGhost scanners).
  std::unordered_map<uint64_t, NegotiateOnly> negotiate_only_;
  uint64_t rpc_calls_ = 0, smb_events_ = 0, alerts_sent_ = 0, evictions_ = 0;
};

}  // namespace komainu
