#include "analyzers/dcerpc/dcerpc.h"

#include <charconv>
#include <cstdio>
#include <cstring>

#include "core/cursor.h"

namespace komainu::dcerpc {

namespace {

enum PType : uint8_t { kRequest = 0, kBind = 11, kAlterContext = 14 };
constexpr uint8_t kFirstFrag = 0x01, kObjectUuid = 0x80;

struct Known {
  const char* uuid;
  const char* name;
};
// Interfaces that matter for detection (remote execution, credential access, discovery),
// named as Zeek's DCE_RPC::uuid_endpoint_map names them.
constexpr Known kEndpoints[] = {
    {"367abb81-9844-35f1-ad32-98f038001003", "svcctl"},
    {"1ff70682-0a51-30e8-076d-740be8cee98b", "atsvc"},
    {"86d35949-83c9-4044-b424-db363231fd0c", "ITaskSchedulerService"},
    {"338cd001-2244-31f1-aaaa-900038001003", "winreg"},
    {"12345678-1234-abcd-ef00-0123456789ab", "spoolss"},
    {"76f03f96-cdfd-44fc-a22c-64950a001209", "IRemoteWinspool"},
    {"e3514235-4b06-11d1-ab04-00c04fc2dcd2", "drsuapi"},
    {"12345778-1234-abcd-ef00-0123456789ac", "samr"},
    {"12345778-1234-abcd-ef00-0123456789ab", "lsarpc"},
    {"4b324fc8-1670-01d3-1278-5a47bf6ee188", "srvsvc"},
    {"6bffd098-a112-3610-9833-46c3f87e345a", "wkssvc"},
    {"12345678-1234-abcd-ef00-01234567cffb", "netlogon"},
    {"e1af8308-5d1f-11c9-91a4-08002b14a0fa", "epmapper"},
    {"000001a0-0000-0000-c000-000000000046", "IRemoteSCMActivator"},
    {"4d9f4ab8-7d1c-11cf-861e-0020af6e7c57", "IActivation"},
    {"99fcfec4-5260-101b-bbcb-00aa0021347a", "IOXIDResolver"},
    {"00000143-0000-0000-c000-000000000046", "IRemUnknown2"},
    {"00000131-0000-0000-c000-000000000046", "IRemUnknown"},
    {"f309ad18-d86a-11d0-a075-00c04fb68820", "IWbemLevel1Login"},
    {"9556dc99-828c-11cf-a37e-00aa003240c7", "IWbemServices"},
    {"00020400-0000-0000-c000-000000000046", "IDispatch"},
    {"c681d488-d850-11d0-8c52-00c04fd90f7e", "efsrpc"},
    {"df1941c5-fe89-4e79-bf10-463657acf44d", "efsrpc"},
    {"82273fdc-e32a-18c3-3f78-827929dc23ea", "eventlog"},
};

struct KnownOp {
  const char* endpoint;
  uint16_t opnum;
  const char* name;
};
constexpr KnownOp kOperations[] = {
    {"svcctl", 0, "CloseServiceHandle"},
    {"svcctl", 2, "DeleteService"},
    {"svcctl", 11, "ChangeServiceConfigW"},
    {"svcctl", 12, "CreateServiceW"},
    {"svcctl", 15, "OpenSCManagerW"},
    {"svcctl", 16, "OpenServiceW"},
    {"svcctl", 19, "StartServiceW"},
    {"svcctl", 24, "CreateServiceA"},
    {"svcctl", 27, "OpenSCManagerA"},
    {"atsvc", 0, "NetrJobAdd"},
    {"ITaskSchedulerService", 1, "SchRpcRegisterTask"},
    {"ITaskSchedulerService", 12, "SchRpcRun"},
    {"winreg", 2, "OpenLocalMachine"},
    {"winreg", 4, "OpenUsers"},
    {"winreg", 6, "BaseRegCreateKey"},
    {"winreg", 9, "BaseRegEnumKey"},
    {"winreg", 15, "BaseRegOpenKey"},
    {"winreg", 17, "BaseRegQueryValue"},
    {"winreg", 20, "BaseRegSaveKey"},
    {"winreg", 22, "BaseRegSetValue"},
    {"spoolss", 1, "RpcOpenPrinter"},
    {"spoolss", 9, "RpcAddPrinterDriver"},
    {"spoolss", 65, "RpcRemoteFindFirstPrinterChangeNotificationEx"},
    {"spoolss", 69, "RpcOpenPrinterEx"},
    {"spoolss", 89, "RpcAddPrinterDriverEx"},
    {"IRemoteWinspool", 39, "RpcAsyncAddPrinterDriver"},
    {"drsuapi", 0, "DRSBind"},
    {"drsuapi", 1, "DRSUnbind"},
    {"drsuapi", 3, "DRSGetNCChanges"},
    {"drsuapi", 12, "DRSCrackNames"},
    {"samr", 5, "SamrLookupDomainInSamServer"},
    {"samr", 6, "SamrEnumerateDomainsInSamServer"},
    {"samr", 7, "SamrOpenDomain"},
    {"samr", 11, "SamrEnumerateGroupsInDomain"},
    {"samr", 13, "SamrEnumerateUsersInDomain"},
    {"samr", 25, "SamrGetMembersInGroup"},
    {"samr", 33, "SamrGetMembersInAlias"},
    {"samr", 64, "SamrConnect5"},
    {"lsarpc", 7, "LsarQueryInformationPolicy"},
    {"lsarpc", 14, "LsarLookupNames"},
    {"lsarpc", 15, "LsarLookupSids"},
    {"lsarpc", 44, "LsarOpenPolicy2"},
    {"lsarpc", 45, "LsarGetUserName"},
    {"lsarpc", 57, "LsarLookupSids2"},
    {"lsarpc", 76, "LsarLookupSids3"},
    {"srvsvc", 12, "NetrSessionEnum"},
    {"srvsvc", 15, "NetrShareEnum"},
    {"srvsvc", 16, "NetrShareGetInfo"},
    {"srvsvc", 21, "NetrServerGetInfo"},
    {"wkssvc", 0, "NetrWkstaGetInfo"},
    {"wkssvc", 2, "NetrWkstaUserEnum"},
    {"netlogon", 2, "NetrLogonSamLogon"},
    {"netlogon", 4, "NetrServerReqChallenge"},
    {"netlogon", 26, "NetrServerAuthenticate3"},
    {"netlogon", 29, "NetrLogonGetDomainInfo"},
    {"netlogon", 30, "NetrServerPasswordSet2"},
    {"epmapper", 2, "ept_lookup"},
    {"epmapper", 3, "ept_map"},
    {"IRemoteSCMActivator", 3, "RemoteGetClassObject"},
    {"IRemoteSCMActivator", 4, "RemoteCreateInstance"},
    {"IWbemLevel1Login", 6, "NTLMLogin"},
    {"IWbemServices", 20, "ExecQuery"},
    {"IWbemServices", 24, "ExecMethod"},
    {"IDispatch", 5, "GetIDsOfNames"},
    {"IDispatch", 6, "Invoke"},
    {"efsrpc", 0, "EfsRpcOpenFileRaw"},
    {"efsrpc", 4, "EfsRpcEncryptFileSrv"},
};

bool rd16(Cursor& c, bool le, uint16_t& v) {
  return le ? c.le16(v) : c.be16(v);
}
bool rd32(Cursor& c, bool le, uint32_t& v) {
  return le ? c.le32(v) : c.be32(v);
}

struct KnownClass {
  const char* clsid;
  const char* name;
  bool runs_commands;  // its methods start processes: remote activation is lateral movement
};
// Classes remote clients activate. The command-running ones are those public DCOM
// lateral-movement research and tools (Impacket dcomexec, enigma0x3, Cybereason) use.
constexpr KnownClass kClasses[] = {
    {"49b2791a-b1ae-4c90-9b8e-e860ba07f889", "MMC20.Application", true},
    {"9ba05972-f6a8-11cf-a442-00a0c90a8f39", "ShellWindows", true},
    {"c08afd90-f2a1-11d1-8455-00a0c91f3880", "ShellBrowserWindow", true},
    {"00024500-0000-0000-c000-000000000046", "Excel.Application", true},
    {"000209ff-0000-0000-c000-000000000046", "Word.Application", true},
    {"0006f03a-0000-0000-c000-000000000046", "Outlook.Application", true},
    {"0002df01-0000-0000-c000-000000000046", "InternetExplorer.Application", true},
    {"8bc3f05e-d86b-11d0-a075-00c04fb68820", "WbemLevel1Login", false},
};

constexpr const char* kIidActivationPropertiesIn = "000001a2-0000-0000-c000-000000000046";
constexpr const char* kClsidActivationPropertiesIn = "00000338-0000-0000-c000-000000000046";
constexpr const char* kClsidInstantiationInfo = "000001ab-0000-0000-c000-000000000046";
constexpr const char* kIRemoteSCMActivator = "000001a0-0000-0000-c000-000000000046";
constexpr uint8_t kAuthLevelPrivacy = 6;

}  // namespace

std::string uuid_text(const uint8_t* u, bool le) {
  auto rd32 = [le](const uint8_t* p) {
    return le ? uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24
              : uint32_t(p[3]) | uint32_t(p[2]) << 8 | uint32_t(p[1]) << 16 | uint32_t(p[0]) << 24;
  };
  auto rd16 = [le](const uint8_t* p) {
    return le ? unsigned(p[0] | p[1] << 8) : unsigned(p[1] | p[0] << 8);
  };
  // Written digit by digit: snprintf was most of a DCE/RPC record's cost.
  static const char* hex = "0123456789abcdef";
  std::string out(36, '-');
  auto put = [&](size_t at, uint32_t v, int digits) {
    for (int i = digits - 1; i >= 0; --i, v >>= 4) out[at + size_t(i)] = hex[v & 15];
  };
  put(0, rd32(u), 8);
  put(9, rd16(u + 4), 4);
  put(14, rd16(u + 6), 4);
  put(19, u[8], 2);
  put(21, u[9], 2);
  for (int i = 0; i < 6; ++i) put(24 + size_t(i) * 2, u[10 + i], 2);
  return out;
}

std::string_view com_class_name(std::string_view clsid) {
  for (const auto& k : kClasses)
    if (clsid == k.clsid) return k.name;
  return {};
}

bool com_class_runs_commands(std::string_view clsid) {
  for (const auto& k : kClasses)
    if (clsid == k.clsid) return k.runs_commands;
  return false;
}

std::string activation_clsid(std::span<const uint8_t> stub, bool le) {
  // ORPCTHIS (32 bytes, more with extensions) then the MInterfacePointer of the activation
  // properties: the OBJREF sits within the first few hundred bytes.
  static constexpr uint8_t kMeow[4] = {'M', 'E', 'O', 'W'};
  constexpr size_t kSearch = 1024;
  for (size_t o = 0; o + 4 <= stub.size() && o < kSearch; ++o) {
    if (std::memcmp(stub.data() + o, kMeow, 4) != 0) continue;
    Cursor c(stub.subspan(o + 4));
    uint32_t flags = 0;
    uint8_t iid[16], clsid[16];
    if (!(rd32(c, le, flags) && c.copy(iid, 16) && c.copy(clsid, 16)) || flags != 4 ||
        uuid_text(iid, le) != kIidActivationPropertiesIn ||
        uuid_text(clsid, le) != kClsidActivationPropertiesIn)
      continue;
    // OBJREF_CUSTOM: cbExtension, size; ActivationPropertiesBlob: dwSize, dwReserved, then
    // the CustomHeader in NDR type serialisation (8-byte common + 8-byte private header).
    size_t hdr = o + 56;
    if (hdr + 16 > stub.size()) return {};
    bool ble = stub[hdr + 1] == 0x10;  // the serialisation header's own byte order
    Cursor h(stub.subspan(hdr + 16));
    uint32_t total = 0, header_size = 0, reserved = 0, dest = 0, n = 0, count = 0;
    uint32_t p_clsids = 0, p_sizes = 0, p_reserved = 0;
    if (!(rd32(h, ble, total) && rd32(h, ble, header_size) && rd32(h, ble, reserved) &&
          rd32(h, ble, dest) && rd32(h, ble, n) && h.skip(16) && rd32(h, ble, p_clsids) &&
          rd32(h, ble, p_sizes) && rd32(h, ble, p_reserved) && rd32(h, ble, count)) ||
        n == 0 || n > 32 || count != n || !p_clsids || !p_sizes)
      return {};
    uint8_t ids[32][16];
    uint32_t sizes[32];
    for (uint32_t i = 0; i < n; ++i)
      if (!h.copy(ids[i], 16)) return {};
    if (!(rd32(h, ble, count)) || count != n) return {};
    for (uint32_t i = 0; i < n; ++i)
      if (!rd32(h, ble, sizes[i])) return {};
    // The properties follow the header, in the order of the class-id array.
    size_t prop = hdr + size_t(header_size);
    for (uint32_t i = 0; i < n; ++i) {
      if (prop >= stub.size()) return {};
      if (uuid_text(ids[i], ble) == kClsidInstantiationInfo) {
        // InstantiationInfoData (after its own 16 bytes of serialisation headers) opens
        // with the class id.
        if (prop + 32 > stub.size()) return {};
        return uuid_text(stub.data() + prop + 16, stub[prop + 1] == 0x10);
      }
      prop += sizes[i];
    }
    return {};
  }
  return {};
}

std::string_view endpoint_name(std::string_view uuid) {
  for (const auto& k : kEndpoints)
    if (uuid == k.uuid) return k.name;
  return {};
}

std::string_view operation_name(std::string_view endpoint, uint16_t opnum) {
  for (const auto& k : kOperations)
    if (k.opnum == opnum && endpoint == k.endpoint) return k.name;
  return {};
}

const ZeekSchema& dce_rpc_schema() {
  static const ZeekSchema schema{"dce_rpc", zeek_conn_fields({{"rtt", ZeekType::kInterval},
                                                              {"named_pipe", ZeekType::kString},
                                                              {"endpoint", ZeekType::kString},
                                                              {"operation", ZeekType::kString}})};
  return schema;
}

void DceRpcRecord::write_eve(JsonWriter& w) const {
  w.key("dcerpc").begin_object();
  w.kv("request", request ? "REQUEST" : alter ? "ALTER_CONTEXT" : "BIND");
  w.kv("call_id", uint64_t(call_id)).kv("rpc_version", "5.0");
  if (request) {
    w.key("req")
        .begin_object()
        .kv("opnum", uint64_t(opnum))
        .kv("stub_data_size", uint64_t(stub_len));
    w.end_object();
    if (!uuid.empty()) w.kv("interface", uuid);
    if (!endpoint.empty()) w.kv("endpoint", endpoint);
    if (!operation.empty()) w.kv("operation", operation);
    if (interface_from_stub) w.kv("interface_from_stub", true);
    if (!activated_clsid.empty()) {
      w.key("activation").begin_object().kv("clsid", activated_clsid);
      if (!activated_class.empty()) w.kv("class", activated_class);
      w.end_object();
    }
  } else {
    w.key("interfaces").begin_array();
    for (const auto& i : interfaces) {
      char ver[16];
      char* e = std::to_chars(ver, ver + 6, unsigned(i.ver_major)).ptr;
      *e++ = '.';
      e = std::to_chars(e, e + 6, unsigned(i.ver_minor)).ptr;
      w.begin_object().kv("uuid", i.uuid).kv("version", std::string_view(ver, size_t(e - ver)));
      if (auto e = endpoint_name(i.uuid); !e.empty()) w.kv("endpoint", e);
      w.end_object();
    }
    w.end_array();
  }
  if (authenticated) w.kv("authenticated", true);
  if (!named_pipe.empty()) w.kv("named_pipe", named_pipe);
  w.end_object();
}

void DceRpcRecord::write_zeek(ZeekRow& row) const {
  row.time(ts);
  if (flow) {
    row.str(flow->uid).addr(flow->tuple.src).count(flow->tuple.sport);
    row.addr(flow->tuple.dst).count(flow->tuple.dport);
  } else {
    row.unset().unset().unset().unset().unset();
  }
  row.unset();  // rtt: responses are not matched yet
  named_pipe.empty() ? row.unset() : row.str(named_pipe);
  row.str(endpoint.empty() ? "unknown-" + uuid : endpoint);
  row.str(operation.empty() ? "unknown-" + std::to_string(opnum) : operation);
}

void DceRpcParser::gap(Direction dir) {
  Side& s = sides_[size_t(dir)];
  s.buf.clear();
  s.skip = 0;
  // PDUs carry no marker, but clients and servers write one PDU per send: the first segment
  // after the hole may open one (see data()).
  s.lost = true;
  s.after_gap = true;
}

void DceRpcParser::data(Direction dir, std::span<const uint8_t> bytes, TimeNs ts) {
  Side& s = sides_[size_t(dir)];
  if (s.lost && s.after_gap && plausible_header(bytes)) {
    s.lost = s.after_gap = false;  // resynchronised on a whole, well-formed header
    ++resyncs_;
  }
  if (s.lost) return;
  if (s.skip) {
    size_t n = std::min(s.skip, bytes.size());
    s.skip -= n;
    bytes = bytes.subspan(n);
  }
  if (bytes.empty()) return;
  s.buf.insert(s.buf.end(), bytes.begin(), bytes.end());
  size_t pos = 0;
  while (s.buf.size() - pos >= 16) {
    const uint8_t* h = s.buf.data() + pos;
    bool le = h[4] & 0x10;
    uint16_t frag = le ? uint16_t(h[8] | h[9] << 8) : uint16_t(h[8] << 8 | h[9]);
    if (h[0] != 5 || h[1] > 1 || frag < 16) {
      anomalies_.report(ctx_.sink, ctx_.flow, ts, "dcerpc_bad_header", dir == Direction::kToClient);
      s.lost = true;
      s.after_gap = false;  // not DCE-RPC framing here: stay off
      s.buf.clear();
      return;
    }
    size_t have = s.buf.size() - pos;
    if (frag > limits_.max_pdu) {
      anomalies_.report(ctx_.sink, ctx_.flow, ts, "dcerpc_pdu_too_large",
                        dir == Direction::kToClient);
      if (have < frag) {
        s.skip = frag - have;
        pos = s.buf.size();
        break;
      }
      pos += frag;
      continue;
    }
    if (have < frag) break;
    pdu(dir, {h, frag}, ts);
    pos += frag;
  }
  s.buf.erase(s.buf.begin(), s.buf.begin() + pos);
}

void DceRpcParser::pdu(Direction dir, std::span<const uint8_t> p, TimeNs ts) {
  ++pdus_;
  if (dir != Direction::kToServer) return;  // requests and binds come from the client
  bool le = p[4] & 0x10;
  uint8_t ptype = p[2], flags = p[3];
  Cursor c(p);
  uint16_t frag = 0, auth_len = 0;
  uint32_t call_id = 0;
  c.skip(8);
  rd16(c, le, frag);
  rd16(c, le, auth_len);
  rd32(c, le, call_id);
  if (ptype == kBind || ptype == kAlterContext) {
    bind(p, le, ptype == kAlterContext, call_id, ts);
    return;
  }
  if (ptype != kRequest || !(flags & kFirstFrag)) return;  // one record per call
  uint32_t alloc_hint = 0;
  uint16_t ctx_id = 0, opnum = 0;
  if (!(rd32(c, le, alloc_hint) && rd16(c, le, ctx_id) && rd16(c, le, opnum)) ||
      ((flags & kObjectUuid) && !c.skip(16))) {
    anomalies_.report(ctx_.sink, ctx_.flow, ts, "dcerpc_truncated_request");
    return;
  }
  DceRpcRecord r;
  r.ts = ts;
  r.flow = ctx_.flow;
  r.request = true;
  r.call_id = call_id;
  r.opnum = opnum;
  size_t trailer = auth_len ? size_t(auth_len) + 8 : 0;
  r.stub_len = uint32_t(c.remaining() > trailer ? c.remaining() - trailer : 0);
  r.authenticated = auth_len != 0;
  for (const auto& k : contexts_)
    if (k.id == ctx_id) r.uuid = k.uuid;
  r.endpoint = std::string(endpoint_name(r.uuid));
  // DCOM activations (RemoteGetClassObject 3, RemoteCreateInstance 4) name the class to
  // instantiate in clear unless the call is sealed. Without a BIND (capture started later)
  // only the activation-properties OBJREF in the stub says which interface this is.
  bool sealed = auth_len && p.size() >= size_t(auth_len) + 8 &&
                p[p.size() - auth_len - 8 + 1] == kAuthLevelPrivacy;
  if ((opnum == 3 || opnum == 4) && !sealed &&
      (r.uuid.empty() || r.endpoint == "IRemoteSCMActivator")) {
    size_t stub_at = p.size() - c.remaining();
    r.activated_clsid = activation_clsid(p.subspan(stub_at, r.stub_len), le);
    if (!r.activated_clsid.empty()) {
      r.activated_class = std::string(com_class_name(r.activated_clsid));
      if (r.uuid.empty()) {
        r.uuid = kIRemoteSCMActivator;
        r.endpoint = "IRemoteSCMActivator";
        r.interface_from_stub = true;
      }
    }
  }
  r.operation = std::string(operation_name(r.endpoint, opnum));
  r.named_pipe = pipe_;
  r.midstream = pipe_.empty() && !bind_seen_;
  if (ctx_.sink) ctx_.sink->publish(r);
}

void DceRpcParser::bind(std::span<const uint8_t> p, bool le, bool alter, uint32_t call_id,
                        TimeNs ts) {
  bind_seen_ = true;
  Cursor c(p);
  c.skip(16);
  uint16_t xmit, recv;
  uint32_t group;
  uint8_t n = 0;
  if (!(rd16(c, le, xmit) && rd16(c, le, recv) && rd32(c, le, group) && c.u8(n) && c.skip(3))) {
    anomalies_.report(ctx_.sink, ctx_.flow, ts, "dcerpc_truncated_bind");
    return;
  }
  DceRpcRecord r;
  r.ts = ts;
  r.flow = ctx_.flow;
  r.alter = alter;
  r.call_id = call_id;
  r.named_pipe = pipe_;
  r.authenticated = p[10] | p[11];
  for (uint8_t i = 0; i < n; ++i) {
    uint16_t id = 0, major = 0, minor = 0;
    uint8_t n_ts = 0, pad;
    uint8_t uuid[16];
    if (!(rd16(c, le, id) && c.u8(n_ts) && c.u8(pad) && c.copy(uuid, 16) && rd16(c, le, major) &&
          rd16(c, le, minor) && c.skip(size_t(n_ts) * 20))) {
      anomalies_.report(ctx_.sink, ctx_.flow, ts, "dcerpc_truncated_bind");
      break;
    }
    DceRpcRecord::Interface itf{uuid_text(uuid, le), major, minor};
    bool found = false;
    for (auto& k : contexts_)
      if (k.id == id) {
        k.uuid = itf.uuid;
        found = true;
      }
    if (!found) {
      if (contexts_.size() >= limits_.max_contexts) {
        anomalies_.report(ctx_.sink, ctx_.flow, ts, "dcerpc_too_many_contexts");
        contexts_.erase(contexts_.begin());
      }
      contexts_.push_back({id, itf.uuid});
    }
    if (r.interfaces.size() < 16) r.interfaces.push_back(std::move(itf));
  }
  if (ctx_.sink && !r.interfaces.empty()) ctx_.sink->publish(r);
}

bool plausible_header(std::span<const uint8_t> h, size_t min_frag) {
  if (h.size() < 16 || h[0] != 5 || h[1] > 1 || h[2] > 20) return false;  // 20: last ptype
  bool le = h[4] & 0x10;
  bool drep_ok = (h[4] & 0xef) == 0 && h[5] <= 3 && h[6] == 0 && h[7] == 0;
  uint16_t frag = le ? uint16_t(h[8] | h[9] << 8) : uint16_t(h[8] << 8 | h[9]);
  uint16_t auth = le ? uint16_t(h[10] | h[11] << 8) : uint16_t(h[10] << 8 | h[11]);
  return drep_ok && frag >= min_frag && size_t(auth) + min_frag <= frag;
}

ProbeResult probe_dcerpc(std::span<const uint8_t> data, Direction dir, uint16_t) {
  if (dir != Direction::kToServer) return ProbeResult::kNo;
  if (data.empty()) return ProbeResult::kMaybe;
  if (data[0] != 5) return ProbeResult::kNo;
  if (data.size() < 3) return ProbeResult::kMaybe;
  if (data[1] > 1 || (data[2] != kBind && data[2] != kAlterContext && data[2] != kRequest))
    return ProbeResult::kNo;
  if (data.size() < 16) return ProbeResult::kMaybe;
  bool le = data[4] & 0x10;
  uint16_t frag = le ? uint16_t(data[8] | data[9] << 8) : uint16_t(data[8] << 8 | data[9]);
  if (data[2] != kRequest) return frag >= 28 ? ProbeResult::kYes : ProbeResult::kNo;
  // A REQUEST opens the stream only when the capture began after the BIND. Its header has
  // less fixed content than a BIND's, so it must be exactly well formed: the first
  // fragment of a call, a data representation NDR defines (ASCII, IEEE/VAX/Cray/IBM floats),
  // a 24-byte request header and an auth trailer that fit.
  return (data[3] & kFirstFrag) && plausible_header(data, 24) ? ProbeResult::kYes
                                                              : ProbeResult::kNo;
}

namespace {

std::unique_ptr<AppSession> create(const SessionContext& ctx) {
  return std::make_unique<DceRpcSession>(ctx);
}

const Registration<AnalyzerApi> kRegistration{{
    .name = "dce_rpc",
    .tcp = true,
    .udp = false,
    .probe = probe_dcerpc,
    .create = create,
    .eve_name = "dcerpc",
}};

}  // namespace
}  // namespace komainu::dcerpc
