// NTLMSSP AUTHENTICATE (type 3) inside a SESSION_SETUP security blob (SPNEGO/GSS-API
// wrapped or raw): user, domain, workstation and the client's version.
#pragma once
#include <cstdint>
#include <span>
#include <string>

namespace komainu::smb {

struct NtlmAuth {
  std::string user;
  std::string domain;
  std::string workstation;
  std::string version;  // "6.1 build 7601" when the client sent its version
};

// Finds "NTLMSSP\0" in `blob`; true if an AUTHENTICATE message was parsed.
bool parse_ntlm_authenticate(std::span<const uint8_t> blob, NtlmAuth& out);

}  // namespace komainu::smb
