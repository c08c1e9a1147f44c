// Names as Suricata and Zeek print them: NT status codes, SMB1/SMB2 commands, dialects,
// create dispositions, UTF-16LE strings.
#pragma once
#include <cstdint>
#include <span>
#include <string>

namespace komainu::smb {

// "STATUS_SUCCESS", ...; unknown codes are rendered into `buf` as "UNKNOWN_0x...".
const char* status_name(uint32_t status, char (&buf)[32]);
const char* smb2_command_name(uint16_t cmd);
const char* smb1_command_name(uint8_t cmd);
// 0x0202 → "2.02", 0x0311 → "3.11", 0x02ff → "2.??".
std::string dialect_name(uint16_t dialect);
const char* disposition_name(uint32_t disposition);
// SMB 3.1.1 compression algorithm ids (MS-SMB2 2.2.3.1.3): 1 → "LZNT1", ...; unknown ids are
// rendered as "0x0009".
std::string compression_algorithm_name(uint16_t id);
// UTF-16LE → UTF-8; unpaired surrogates become U+FFFD; output capped at `max_bytes`.
std::string utf16le_to_utf8(std::span<const uint8_t> in, size_t max_bytes = 1024);

}  // namespace komainu::smb
