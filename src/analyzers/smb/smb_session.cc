#include "analyzers/smb/smb_session.h"

namespace komainu::smb {

ProbeResult probe_smb(std::span<const uint8_t> data, Direction, uint16_t server_port) {
  if (data.empty()) return ProbeResult::kMaybe;
  // NetBIOS session request (port 139 before SMB): accepted where SMB is expected.
  if (data[0] == 0x81 && server_port == 139) return ProbeResult::kYes;
  if (data[0] != 0x00) return ProbeResult::kNo;
  static constexpr uint8_t kIds[] = {0xFE, 0xFF, 0xFD};
  if (data.size() < 5) return ProbeResult::kMaybe;
  bool id = false;
  for (uint8_t b : kIds) id = id || data[4] == b;
  if (!id) return ProbeResult::kNo;
  for (size_t i = 5; i < 8; ++i) {
    if (i >= data.size()) return ProbeResult::kMaybe;
    if (data[i] != "xSMB"[i - 4]) return ProbeResult::kNo;
  }
  return ProbeResult::kYes;
}

namespace {

std::unique_ptr<AppSession> create(const SessionContext& ctx) {
  return std::make_unique<SmbSession>(ctx);
}

const Registration<AnalyzerApi> kRegistration{{
    .name = "smb",
    .tcp = true,
    .udp = false,
    .probe = probe_smb,
    .create = create,
}};

}  // namespace
}  // namespace komainu::smb
