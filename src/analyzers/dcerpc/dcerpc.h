// DCE-RPC connection-oriented PDUs (MS-RPCE / C706 ch. 12) over TCP (the endpoint mapper on
// 135 and the dynamic ports it hands out) and over SMB named pipes (the SMB analyzer feeds
// pipe data here). Only headers are read: BIND / ALTER_CONTEXT give the interface UUIDs
// per presentation context, REQUEST gives the context and opnum. Stubs are never parsed, so
// sealed (packet-privacy) calls are as visible as clear ones: who called which interface
// and operation is what lateral-movement detection needs.
#pragma once
#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "analyzers/analyzer.h"
#include "analyzers/anomaly.h"
#include "core/event.h"

namespace komainu::dcerpc {

const ZeekSchema& dce_rpc_schema();

// Well-known interfaces: endpoint name as Zeek's DCE_RPC::uuid_endpoint_map writes it.
// Returns "" when unknown.
// 16 bytes of a UUID (GUID) in the given byte order -> "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx".
// Its first three fields follow the byte order; the last 8 bytes are as stored.
std::string uuid_text(const uint8_t* u, bool little_endian);
std::string_view endpoint_name(std::string_view uuid);
// Operation name of a well-known (endpoint, opnum), else "".
std::string_view operation_name(std::string_view endpoint, uint16_t opnum);

// One BIND / ALTER_CONTEXT (interfaces) or one REQUEST (opnum) → EVE "dcerpc" and, for
// requests, a Zeek dce_rpc.log row.
class DceRpcRecord : public Record {
 public:
  std::string_view event_type() const override { return "dcerpc"; }
  void write_eve(JsonWriter& w) const override;
  // Calls of a TCP connection whose BIND was not captured are EVE only: Zeek's dce_rpc.log
  // has no row for them (its mapi baseline skips the trace's mid-stream connections).
  const ZeekSchema* zeek_schema() const override {
    return request && !midstream ? &dce_rpc_schema() : nullptr;
  }
  void write_zeek(ZeekRow& row) const override;

  bool request = false;  // REQUEST, else BIND / ALTER_CONTEXT
  bool alter = false;    // ALTER_CONTEXT
  uint32_t call_id = 0;
  uint16_t opnum = 0;
  uint32_t stub_len = 0;
  bool authenticated = false;  // auth verifier present (signed or sealed)
  std::string uuid;            // the request's interface (from its context)
  std::string endpoint;        // well-known name of `uuid`, or ""
  std::string operation;       // well-known name of (endpoint, opnum), or ""
  std::string named_pipe;      // SMB pipe name, or "" over TCP
  // DCOM activation (IRemoteSCMActivator RemoteGetClassObject / RemoteCreateInstance): the
  // CLSID the client asks the remote host to instantiate, read from the clear activation
  // properties, and its well-known name ("MMC20.Application") or "".
  std::string activated_clsid;
  std::string activated_class;
  // The interface was not bound on this connection (the capture starts after the BIND) but
  // the request's stub itself identifies it (an activation-properties OBJREF).
  bool interface_from_stub = false;
  bool midstream = false;  // TCP connection picked up after its BIND (no BIND seen)
  struct Interface {
    std::string uuid;
    uint16_t ver_major = 0, ver_minor = 0;
  };
  std::vector<Interface> interfaces;  // BIND / ALTER_CONTEXT
};

struct DceRpcLimits {
  size_t max_pdu = 64 * 1024;  // larger fragments are skipped (counted)
  size_t max_contexts = 64;    // presentation contexts remembered per connection
};

// Frames PDUs in both directions and publishes records. Bounded: one PDU buffer per
// direction and a capped context table.
class DceRpcParser {
 public:
  DceRpcParser(const SessionContext& ctx, AnomalyReporter& anomalies, DceRpcLimits limits = {})
      : ctx_(ctx), anomalies_(anomalies), limits_(limits) {}
  void set_named_pipe(std::string pipe) { pipe_ = std::move(pipe); }
  void data(Direction dir, std::span<const uint8_t> bytes, TimeNs ts);
  void gap(Direction dir);
  uint64_t pdus() const { return pdus_; }
  uint64_t resyncs() const { return resyncs_; }

 private:
  struct Side {
    std::vector<uint8_t> buf;
    size_t skip = 0;         // bytes of an oversized PDU still to drop
    bool lost = false;       // framing lost after a gap or bad header: ignore this direction
    bool after_gap = false;  // lost to a gap: a segment opening with a valid header resumes
  };
  struct Context {
    uint16_t id = 0;
    std::string uuid;
  };
  void pdu(Direction dir, std::span<const uint8_t> p, TimeNs ts);
  void bind(std::span<const uint8_t> p, bool le, bool alter, uint32_t call_id, TimeNs ts);

  SessionContext ctx_;
  AnomalyReporter& anomalies_;
  DceRpcLimits limits_;
  Side sides_[2];
  std::vector<Context> contexts_;
  std::string pipe_;
  bool bind_seen_ = false;
  uint64_t pdus_ = 0;
  uint64_t resyncs_ = 0;
};

// Well-known name of a COM class id (lower-case text), else "".
std::string_view com_class_name(std::string_view clsid);
// Whether remotely activating this class is a known lateral-movement technique (objects whose
// methods run commands: MMC20.Application, ShellWindows, ShellBrowserWindow, Office).
bool com_class_runs_commands(std::string_view clsid);
// The CLSID in a DCOM activation request's stub (ORPCTHIS, then the activation properties as
// an OBJREF_CUSTOM of CLSID_ActivationPropertiesIn: MS-DCOM 2.2.22), "" when the stub holds
// no such blob or it is malformed.
std::string activation_clsid(std::span<const uint8_t> stub, bool little_endian);

// A connection-oriented PDU header (16 bytes) that is well formed: version 5.0/5.1, a
// defined PDU type and data representation, a fragment length of at least `min_frag` that
// holds its auth trailer beside that many header bytes.
bool plausible_header(std::span<const uint8_t> h, size_t min_frag = 16);

// Content probe: a version 5.0/5.1 BIND or ALTER_CONTEXT header from the client, or a
// REQUEST when the capture starts after the BIND (the interface is then unknown).
ProbeResult probe_dcerpc(std::span<const uint8_t> data, Direction dir, uint16_t server_port);

class DceRpcSession : public AppSession {
 public:
  explicit DceRpcSession(const SessionContext& ctx) : parser_(ctx, anomalies_) {}
  void on_data(Direction dir, std::span<const uint8_t> data, TimeNs ts) override {
    parser_.data(dir, data, ts);
  }
  void on_gap(Direction dir, uint64_t, TimeNs) override { parser_.gap(dir); }
  void on_close(TimeNs) override {}
  const AnomalyReporter& anomalies() const { return anomalies_; }

 private:
  AnomalyReporter anomalies_{"dcerpc", "DCE_RPC"};
  DceRpcParser parser_;
};

}  // namespace komainu::dcerpc
