#include "detect/behaviour/remote_admin/remote_admin.h"

#include <algorithm>
#include <cctype>

#include "analyzers/dcerpc/dcerpc.h"
#include "analyzers/smb/smb_names.h"
#include "analyzers/smb/smb_record.h"
#include "core/ascii.h"
#include "core/site.h"
#include "flow/flow.h"

namespace komainu {

using namespace std::string_view_literals;

namespace {

struct RuleInfo {
  uint32_t sid;
  const char* what;
  const char* tactic;
  const char* technique;
  int severity;
};
constexpr RuleInfo kRules[] = {
    {RemoteAdminDetector::kServiceCreate, "remote service creation (PsExec/smbexec style)",
     "TA0002", "T1569.002", 1},
    {RemoteAdminDetector::kScheduledTask, "remote scheduled task creation", "TA0002", "T1053.005",
     1},
    {RemoteAdminDetector::kRegistryHiveSave, "remote registry hive saved (credential dumping)",
     "TA0006", "T1003.002", 1},
    {RemoteAdminDetector::kRemoteRegistry, "remote registry access", "TA0007", "T1012", 3},
    {RemoteAdminDetector::kPrinterBug,
     "print spooler change-notification request (PrinterBug/SpoolSample coercion)", "TA0006",
     "T1187", 2},
    {RemoteAdminDetector::kPrintNightmare,
     "remote printer driver installation (PrintNightmare, CVE-2021-1675/34527)", "TA0008", "T1210",
     1},
    {RemoteAdminDetector::kDcSync, "directory replication request from a non-DC (DCSync)", "TA0006",
     "T1003.006", 1},
    {RemoteAdminDetector::kZerologon,
     "Netlogon authentication brute force (Zerologon, CVE-2020-1472)", "TA0008", "T1210", 1},
    {RemoteAdminDetector::kWmiExec, "remote WMI method execution", "TA0002", "T1047", 2},
    {RemoteAdminDetector::kDcomExec, "remote DCOM object activation and invocation", "TA0008",
     "T1021.003", 2},
    {RemoteAdminDetector::kAccountDiscovery, "remote account/session enumeration", "TA0007",
     "T1087.002", 3},
    {RemoteAdminDetector::kShareDiscovery, "share enumeration across hosts", "TA0007", "T1135", 3},
    {RemoteAdminDetector::kToolTransfer, "executable written to an admin share", "TA0008", "T1570",
     1},
    {RemoteAdminDetector::kExecToolPipe, "remote execution tool named pipe", "TA0002", "T1569.002",
     1},
    {RemoteAdminDetector::kOutputPolling,
     "command output read and deleted through an admin share (smbexec/wmiexec style)", "TA0008",
     "T1021.002", 2},
    {RemoteAdminDetector::kDcomActivation,
     "remote activation of a command-running DCOM object (MMC20.Application, ShellWindows ...)",
     "TA0008", "T1021.003", 1},
    // Tactic and technique of these two depend on who is involved (see on_compression and
    // on_flow_end).
    {RemoteAdminDetector::kSmbGhost,
     "SMBv3 compression header size overflow (SMBGhost, CVE-2020-0796)", "TA0008", "T1210", 1},
    {RemoteAdminDetector::kSmbGhostScan,
     "SMBv3 compression probe: SMB 3.1.1 NEGOTIATE offering compression, closed without a "
     "session (SMBGhost scanner)",
     "TA0007", "T1046", 3},
};

const RuleInfo& rule_info(uint32_t sid) {
  for (const auto& r : kRules)
    if (r.sid == sid) return r;
  return kRules[0];
}

// ASCII case-insensitive affixes, without a lower-cased copy per SMB file event.
bool iends_with(std::string_view s, std::string_view lower_suffix) {
  return s.size() >= lower_suffix.size() &&
         ascii_iequals(s.substr(s.size() - lower_suffix.size()), lower_suffix);
}

// "\\host\ADMIN$", "\\host\C$" (a drive letter's administrative share).
bool is_admin_share(std::string_view share) {
  size_t p = share.find_last_of('\\');
  std::string_view name = p == std::string_view::npos ? share : share.substr(p + 1);
  return ascii_iequals(name, "admin$") ||
         (name.size() == 2 && std::isalpha(uint8_t(name[0])) && name[1] == '$');
}

bool is_executable(std::string_view file) {
  static constexpr std::string_view kExt[] = {".exe", ".dll", ".sys", ".bat", ".cmd",
                                              ".ps1", ".vbs", ".hta", ".scr", ".msi"};
  for (std::string_view e : kExt)
    if (file.size() > e.size() && iends_with(file, e)) return true;
  return false;
}

// Named pipes that remote-execution tools create on their target.
bool is_exec_tool_pipe(std::string_view pipe) {
  return ascii_istarts_with(pipe, "psexesvc") || ascii_istarts_with(pipe, "remcom_") ||
         ascii_istarts_with(pipe, "paexec") || ascii_istarts_with(pipe, "csexecsvc");
}

bool is_loopback(const IpAddr& a) {
  static const IpAddr kV6Loopback = *IpAddr::parse("::1");
  return a.is_v4() ? (a.v4_host() >> 24) == 127 : a == kV6Loopback;
}

void list_value(JsonWriter& w, std::string_view key, const std::vector<std::string>& values) {
  w.key(key).begin_array();
  for (const auto& v : values) w.value(v);
  w.end_array();
}

}  // namespace

void RemoteAdminDetector::publish(const Record& r) {
  std::string_view type = r.event_type();
  if (type == "flow") {
    if (!negotiate_only_.empty()) on_flow_end(r);
    if (r.flow && flows_.size()) flows_.erase(r.flow->flow_id);
    return;
  }
  if (type == "smb_compression") {
    on_compression(r);
    return;
  }
  if (const auto* d = type == "dcerpc" ? dynamic_cast<const dcerpc::DceRpcRecord*>(&r) : nullptr) {
    if (!d->request || !d->flow) return;
    std::string user;
    if (const FlowInfo* fi = flows_.find(d->flow->flow_id)) user = fi->user;
    on_rpc(d->ts, d->flow->tuple.src, d->flow->tuple.dst, d->endpoint, d->opnum, d->operation,
           d->named_pipe, user);
    if (!d->activated_clsid.empty())
      on_activation(d->ts, d->flow->tuple.src, d->flow->tuple.dst, d->activated_clsid,
                    d->activated_class, d->operation, user);
    return;
  }
  const auto* s = type == "smb" ? dynamic_cast<const smb::SmbRecord*>(&r) : nullptr;
  if (!s || !s->flow) return;
  on_negotiate(*s);
  bool inserted = false;
  FlowInfo& fi = flows_.find_or_insert(s->flow->flow_id, cfg_.max_keys, evictions_, inserted);
  fi.last = s->ts;
  if (!s->ntlm_user.empty())
    fi.user = s->ntlm_domain.empty() ? s->ntlm_user : s->ntlm_domain + "\\" + s->ntlm_user;
  if (std::string_view(s->command) == "SMB2_COMMAND_TREE_CONNECT"sv && !s->share.empty() &&
      fi.trees.size() < 256) {
    fi.trees[s->tree_id] = s->share;
    return;
  }
  if (s->filename.empty() || (s->has_status && s->status != 0)) return;
  char kind = 0;
  if (std::string_view(s->command) == "SMB2_COMMAND_CREATE"sv)
    kind = s->access == "delete on close" ? 'd' : 'c';
  else if (std::string_view(s->command) == "SMB2_COMMAND_WRITE"sv)
    kind = 'w';
  else if (std::string_view(s->command) == "SMB2_COMMAND_READ"sv)
    kind = 'r';
  else if (std::string_view(s->command) == "SMB2_COMMAND_SET_INFO"sv &&
           s->set_info_level.starts_with("SMB2_FILE_DISPOSITION_INFO"))
    kind = 'd';
  if (!kind) return;
  static const std::string kNoShare;
  const std::string* share = &kNoShare;
  if (auto t = fi.trees.find(s->tree_id); t != fi.trees.end()) share = &t->second;
  on_smb_file(s->ts, s->flow->tuple.src, s->flow->tuple.dst, *share, s->filename, kind, fi.user);
}

void RemoteAdminDetector::on_rpc(TimeNs ts, const IpAddr& src, const IpAddr& dst,
                                 const std::string& endpoint, uint16_t opnum,
                                 const std::string& operation, const std::string& pipe,
                                 const std::string& user) {
  ++rpc_calls_;
  if (endpoint.empty()) return;
  std::string op = operation.empty() ? "opnum " + std::to_string(opnum) : operation;
  std::string detail = endpoint + "::" + op;
  auto h = [&](Rule r, const char* technique = nullptr, int sev = 0) {
    hit(r, ts, src, dst, detail, pipe, {}, user, technique, sev);
  };
  if (endpoint == "svcctl") {
    // Creating or re-pointing a service on another host is how PsExec, smbexec and
    // Impacket run code there; opening the SCM alone is what admin consoles do.
    if (opnum == 12 || opnum == 24 || opnum == 11) h(kServiceCreate);
  } else if (endpoint == "atsvc") {
    if (opnum == 0) h(kScheduledTask);
  } else if (endpoint == "ITaskSchedulerService") {
    if (opnum == 1) h(kScheduledTask);
  } else if (endpoint == "winreg") {
    if (opnum == 20) {
      h(kRegistryHiveSave);
    } else if (opnum == 6 || opnum == 22) {
      h(kRemoteRegistry, "T1112", 2);  // keys or values written remotely
    } else if (opnum == 4 || opnum == 9 || opnum == 15 || opnum == 17) {
      h(kRemoteRegistry);  // PsLoggedOn / BloodHound read HKU remotely
    }
  } else if (endpoint == "spoolss" || endpoint == "IRemoteWinspool") {
    if (endpoint == "spoolss" && opnum == 65) h(kPrinterBug);
    if ((endpoint == "spoolss" && (opnum == 89 || opnum == 9)) ||
        (endpoint == "IRemoteWinspool" && opnum == 39))
      h(kPrintNightmare);
  } else if (endpoint == "drsuapi") {
    if (opnum != 3) return;
    for (const auto& c : cfg_.replication_sources)
      if (c.contains(src)) return;
    h(kDcSync);
  } else if (endpoint == "netlogon") {
    // A machine sets up its secure channel with one or two authentications; Zerologon
    // needs ~256 tries on average with a zero client credential.
    if (opnum != 26 && opnum != 15 && opnum != 5) return;
    Counter& c = netlogon_[{src, dst}];
    if (c.n == 0 || ts - c.start > cfg_.window) c = Counter{ts, ts, 0, {}};
    c.last = std::max(c.last, ts);
    if (++c.n >= cfg_.netlogon_auth_attempts) h(kZerologon);
    if (netlogon_.size() > cfg_.max_keys) {
      netlogon_.erase(netlogon_.begin());
      ++evictions_;
    }
  } else if (endpoint == "IWbemServices") {
    if (opnum == 24) h(kWmiExec);  // ExecMethod: Win32_Process.Create and friends
  } else if (endpoint == "IDispatch") {
    // Invoke on a remotely activated object (MMC20.Application, ShellWindows ...) over
    // DCOM's dynamic TCP ports; never over a named pipe.
    if (pipe.empty() && opnum == 6) h(kDcomExec);
  } else if (endpoint == "samr") {
    if (opnum == 13 || opnum == 11 || opnum == 25 || opnum == 33 || opnum == 6)
      h(kAccountDiscovery);
  } else if (endpoint == "srvsvc") {
    if (opnum == 12) h(kAccountDiscovery, "T1049");
    if (opnum == 15) {
      auto it = share_enum_.find(src);
      if (it == share_enum_.end()) {
        if (share_enum_.size() >= cfg_.max_keys) {
          share_enum_.clear();
          ++evictions_;
        }
        it = share_enum_.emplace(src, Counter{ts, ts, 0, {}}).first;
      }
      Counter& c = it->second;
      if (ts - c.start > cfg_.window) c = Counter{ts, ts, 0, {}};
      if (c.targets.size() < 4096) c.targets.insert(dst);
      if (c.targets.size() >= cfg_.share_enum_hosts) h(kShareDiscovery);
    }
  } else if (endpoint == "wkssvc") {
    if (opnum == 2) h(kAccountDiscovery, "T1033");
  }
}

void RemoteAdminDetector::on_activation(TimeNs ts, const IpAddr& src, const IpAddr& dst,
                                        const std::string& clsid, const std::string& name,
                                        const std::string& operation, const std::string& user) {
  // Activating these classes on another host has no administrative use: their methods run
  // programs (ExecuteShellCommand, ShellExecute, DDE, macros) there. Other classes (WMI's
  // login object, an application's own server) are left to the rules on what is called.
  if (!dcerpc::com_class_runs_commands(clsid)) return;
  std::string detail = (name.empty() ? clsid : name + " {" + clsid + "}") + " via " +
                       (operation.empty() ? std::string("IRemoteSCMActivator") : operation);
  hit(kDcomActivation, ts, src, dst, detail, {}, {}, user);
}

void RemoteAdminDetector::on_smb_file(TimeNs ts, const IpAddr& src, const IpAddr& dst,
                                      const std::string& share, const std::string& file, char kind,
                                      const std::string& user) {
  ++smb_events_;
  if (kind == 'c' && iends_with(share, "\\ipc$") && is_exec_tool_pipe(file)) {
    hit(kExecToolPipe, ts, src, dst, file, file, share, user);
    return;
  }
  if (!is_admin_share(share)) return;
  if (kind == 'w' && is_executable(file)) {
    hit(kToolTransfer, ts, src, dst, file, {}, share, user, nullptr, 0);
    return;
  }
  if (file.find('\\') != std::string::npos) return;  // output files sit at the share root
  auto key = std::make_tuple(src, dst, file);
  if (kind == 'r') {
    if (root_files_.size() >= cfg_.max_keys) {
      root_files_.clear();
      ++evictions_;
    }
    root_files_[key] |= 1;
  } else if (kind == 'd') {
    auto it = root_files_.find(key);
    if (it == root_files_.end() || !(it->second & 1)) return;
    it->second = 0;
    if (polls_.size() >= cfg_.max_keys) {
      polls_.clear();
      ++evictions_;
    }
    if (++polls_[{src, dst}] >= cfg_.output_polls)
      hit(kOutputPolling, ts, src, dst, file, {}, share, user);
  }
}

// SMB records of a flow: a compression-offering 3.1.1 NEGOTIATE is remembered until another
// command shows the client went on (every real client sets up a session next).
void RemoteAdminDetector::on_negotiate(const smb::SmbRecord& s) {
  const uint64_t id = s.flow->flow_id;
  if (!std::string_view(s.command).ends_with("NEGOTIATE_PROTOCOL")) {
    if (!negotiate_only_.empty()) negotiate_only_.erase(id);
    return;
  }
  // Over NetBIOS (139) a 3.1.1 client closes and reconnects after the multi-protocol
  // negotiate by design (MS-SMB2 3.2.5.2); scanners speak SMB2 straight away on 445.
  if (s.flow->tuple.dport == 139) return;
  if (!negotiate_only_.count(id) && negotiate_only_.size() >= cfg_.max_keys) {
    negotiate_only_.erase(negotiate_only_.begin());
    ++evictions_;
  }
  NegotiateOnly& n = negotiate_only_[id];
  ++n.negotiates;  // every NEGOTIATE counts: an SMB1 multi-protocol one first is a client's
  n.ts = s.ts;
  n.dialect = s.dialect;
  n.offered = s.compression_offered;
  n.accepted = s.compression_accepted;
  n.client_guid_zero = s.client_guid_zero;
  n.client_bytes = s.client_bytes;
}

// The flow of a remembered NEGOTIATE ended: the scanners' fingerprint when the client itself
// closed it (FIN or RST from the originator), not when the capture or a timeout cut it.
void RemoteAdminDetector::on_flow_end(const Record& r) {
  if (!r.flow) return;
  auto it = negotiate_only_.find(r.flow->flow_id);
  if (it == negotiate_only_.end()) return;
  NegotiateOnly n = std::move(it->second);
  negotiate_only_.erase(it);
  // One SMB2 NEGOTIATE, answered with 3.1.1, in which the client offered compression.
  if (n.negotiates != 1 || n.dialect != "3.11" || n.offered.empty()) return;
  const auto* c = dynamic_cast<const ConnRecord*>(&r);
  // Nothing sent after the NEGOTIATE (a request the server never answered has no record).
  if (!c || !c->f || c->orig_bytes > n.client_bytes) return;
  // The client closed first: its FIN or RST comes before any of the server's (a server that
  // turns a client away closes first, and the client follows).
  std::string_view history(c->f->history, c->f->hist_len);
  size_t first_close = history.find_first_of("FRfr");
  if (first_close == std::string_view::npos) return;
  const char* closed = history[first_close] == 'F'   ? "client FIN"
                       : history[first_close] == 'R' ? "client RST"
                                                     : nullptr;
  if (!closed) return;
  const IpAddr& src = r.flow->tuple.src;
  const IpAddr& dst = r.flow->tuple.dst;
  // The evidence is complete when the client closes: at the flow's last packet.
  const TimeNs ts = std::max(n.ts, c->f->last);
  Hit* h = nullptr;
  // One alert per scanning source; further targets are counted into its entry.
  if (!first_hit(kSmbGhostScan, ts, src, IpAddr{}, dst.str(), &h)) return;
  const RuleInfo& info = rule_info(kSmbGhostScan);
  // From inside, probing for a wormable flaw is discovery; from outside, reconnaissance.
  const bool internal = is_zeek_local(src);
  std::string msg = std::string("KOMAINU REMOTE_ADMIN ") + info.what + ": " + src.str() + " -> " +
                    dst.str() + ":" + std::to_string(r.flow->tuple.dport);
  AlertBuilder a("remote_admin", kSmbGhostScan, msg, info.severity, internal ? "TA0007" : "TA0043",
                 internal ? "T1046" : "T1595.002");
  a.meta("cve", "CVE-2020-0796");
  a.ip(src).ip(dst);
  a.ev.kv("rule", info.what).kv("transport", "smb").kv("uid", r.flow->uid).kv("dialect", n.dialect);
  list_value(a.ev, "compression_offered", n.offered);
  list_value(a.ev, "compression_accepted", n.accepted);
  a.ev.kv("client_guid_zero", n.client_guid_zero)
      .kv("closed_by", closed)
      .kv("history", history)
      .kv("negotiate_seen", format_eve_time(n.ts))
      .kv("count", h->count);
  a.publish(alerts_, ts, &src, &dst);
  ++alerts_sent_;
}

// A compression transform header the SMB analyzer found malformed. The one that alerts is the
// SMBGhost size overflow; the other problems stay counted anomalies.
void RemoteAdminDetector::on_compression(const Record& r) {
  const auto* c = dynamic_cast<const smb::SmbCompressionRecord*>(&r);
  if (!c || !c->flow) return;
  if (!negotiate_only_.empty()) negotiate_only_.erase(c->flow->flow_id);  // not a probe, then
  if (c->anomaly != "smb3_compression_size_overflow") return;
  // The sender of the message is the attacker: a client attacking srv2.sys, or a server
  // attacking the client's mrxsmb.
  const IpAddr& from = c->to_client ? c->flow->tuple.dst : c->flow->tuple.src;
  const IpAddr& to = c->to_client ? c->flow->tuple.src : c->flow->tuple.dst;
  const uint64_t wrapped = (uint64_t(c->original_size) + c->offset) & 0xffffffffull;
  std::string detail = "OriginalCompressedSegmentSize " + std::to_string(c->original_size) +
                       " + Offset " + std::to_string(c->offset) + " = " + std::to_string(wrapped) +
                       " (mod 2^32)";
  Hit* h = nullptr;
  if (!first_hit(kSmbGhost, c->ts, from, to, detail, &h)) return;
  const RuleInfo& info = rule_info(kSmbGhost);
  // Source and target the same host (loopback): the exploit's local privilege escalation.
  const bool local = from == to || (is_loopback(from) && is_loopback(to));
  std::string msg = std::string("KOMAINU REMOTE_ADMIN ") + info.what + ": " + from.str() + " -> " +
                    to.str() + (local ? " (local privilege escalation)" : "");
  AlertBuilder a("remote_admin", kSmbGhost, msg, info.severity, local ? "TA0004" : "TA0008",
                 local ? "T1068" : "T1210");
  a.meta("cve", "CVE-2020-0796");
  a.ip(from).ip(to);
  a.ev.kv("rule", info.what)
      .kv("transport", "smb")
      .kv("uid", c->flow->uid)
      .kv("direction", c->to_client ? "to_client" : "to_server")
      .kv("anomaly", c->anomaly);
  a.ev.key("compression_transform_header")
      .begin_object()
      .kv("protocol_id", "0xFC534D42")
      .kv("original_compressed_segment_size", uint64_t(c->original_size))
      .kv("compression_algorithm", smb::compression_algorithm_name(c->algorithm))
      .kv("flags", uint64_t(c->flags))
      .kv("offset", uint64_t(c->offset))
      .end_object();
  a.ev.kv("size_plus_offset", uint64_t(c->original_size) + c->offset)
      .kv("size_plus_offset_32bit", wrapped)
      .kv("message_length", uint64_t(c->pdu_length));
  if (c->negotiated) {
    a.ev.kv("dialect", c->dialect).kv("compression_negotiated", !c->compression_accepted.empty());
    list_value(a.ev, "compression_accepted", c->compression_accepted);
    a.ev.kv("max_transact_size", uint64_t(c->max_transact))
        .kv("max_read_size", uint64_t(c->max_read))
        .kv("max_write_size", uint64_t(c->max_write))
        .kv("size_limit", c->size_limit);
  }
  a.ev.kv("count", h->count)
      .kv("first_seen", format_eve_time(h->first))
      .kv("last_seen", format_eve_time(h->last));
  a.publish(alerts_, c->ts, &from, &to);
  ++alerts_sent_;
}

bool RemoteAdminDetector::first_hit(Rule rule, TimeNs ts, const IpAddr& src, const IpAddr& dst,
                                    const std::string& detail, Hit** out) {
  auto key = std::make_tuple(uint32_t(rule), src, dst);
  auto it = hits_.find(key);
  if (it == hits_.end()) {
    if (hits_.size() >= cfg_.max_keys) {
      hits_.erase(hits_.begin());
      ++evictions_;
    }
    it = hits_.emplace(key, Hit{}).first;
  }
  Hit& h = it->second;
  if (!h.first) h.first = ts;
  h.first = std::min(h.first, ts);
  h.last = std::max(h.last, ts);
  ++h.count;
  if (h.details.size() < 10) h.details.insert(detail);
  *out = &h;
  if (h.alerted) return false;  // one alert per (rule, source, target); the rest is counted
  h.alerted = true;
  return true;
}

void RemoteAdminDetector::hit(Rule rule, TimeNs ts, const IpAddr& src, const IpAddr& dst,
                              const std::string& detail, const std::string& pipe,
                              const std::string& share, const std::string& user,
                              const char* technique, int severity) {
  Hit* hp = nullptr;
  if (!first_hit(rule, ts, src, dst, detail, &hp)) return;
  Hit& h = *hp;
  const RuleInfo& info = rule_info(rule);
  int sev = severity ? severity : info.severity;
  std::string msg =
      std::string("KOMAINU REMOTE_ADMIN ") + info.what + ": " + src.str() + " -> " + dst.str();
  if (!detail.empty()) msg += " (" + detail + ")";
  AlertBuilder a("remote_admin", rule, msg, sev, info.tactic,
                 technique ? technique : info.technique);
  if (!pipe.empty() || !share.empty()) a.meta("mitre_technique_id", "T1021.002");
  a.ip(src).ip(dst);
  if (!user.empty()) a.meta("user", user);
  if (!share.empty()) a.meta("share", share);
  a.ev.kv("rule", info.what)
      .kv("transport", pipe.empty() && share.empty() ? "tcp" : "smb")
      .kv("count", h.count)
      .kv("first_seen", format_eve_time(h.first))
      .kv("last_seen", format_eve_time(h.last));
  if (!pipe.empty()) a.ev.kv("named_pipe", pipe);
  if (!share.empty()) a.ev.kv("share", share);
  if (!user.empty()) a.ev.kv("user", user);
  if (rule == kZerologon) {
    auto c = netlogon_.find({src, dst});
    if (c != netlogon_.end()) a.ev.kv("attempts_in_window", c->second.n);
  }
  if (rule == kShareDiscovery) {
    auto c = share_enum_.find(src);
    if (c != share_enum_.end()) {
      a.ev.key("sample_hosts").begin_array();
      size_t k = 0;
      for (const auto& t : c->second.targets) {
        if (k++ == 10) break;
        a.ev.value(t.str());
      }
      a.ev.end_array();
    }
  }
  a.ev.key("samples").begin_array();
  for (const auto& d : h.details) a.ev.value(d);
  a.ev.end_array();
  a.publish(alerts_, ts, &src, &dst);
  ++alerts_sent_;
}

void RemoteAdminDetector::write_stats(JsonWriter& w) const {
  w.kv("rpc_calls", rpc_calls_)
      .kv("smb_file_events", smb_events_)
      .kv("keys", uint64_t(hits_.size()))
      .kv("smb_negotiate_only_flows", uint64_t(negotiate_only_.size()))
      .kv("evictions", evictions_)
      .kv("alerts", alerts_sent_);
}

namespace {

std::unique_ptr<Detector> create(const DetectorContext& ctx, std::string* error) {
  RemoteAdminConfig c;
  double window = 60;
  std::vector<std::string> dcs;
  if (!config_check_keys(ctx, "remote_admin",
                         {"window", "netlogon_auth_attempts", "share_enum_hosts", "output_polls",
                          "replication_sources", "max_keys"},
                         error) ||
      !config_get(ctx, "window", window, error) ||
      !config_get(ctx, "netlogon_auth_attempts", c.netlogon_auth_attempts, error) ||
      !config_get(ctx, "share_enum_hosts", c.share_enum_hosts, error) ||
      !config_get(ctx, "output_polls", c.output_polls, error) ||
      !config_get(ctx, "replication_sources", dcs, error) ||
      !config_get(ctx, "max_keys", c.max_keys, error))
    return nullptr;
  for (const auto& s : dcs) {
    auto cidr = Cidr::parse(s);
    if (!cidr) {
      *error =
          ctx.config_file + ": detectors.remote_admin.replication_sources: bad CIDR '" + s + "'";
      return nullptr;
    }
    c.replication_sources.push_back(*cidr);
  }
  c.window = TimeNs(window * kNsPerSec);
  if (c.max_keys < 16) c.max_keys = 16;
  return std::make_unique<RemoteAdminDetector>(c, ctx.alerts);
}

const Registration<DetectorApi> reg{{.name = "remote_admin", .create = create}};

}  // namespace
}  // namespace komainu
