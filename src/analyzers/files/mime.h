// MIME type by magic bytes, with the names Zeek's file analysis logs (files.log mime_type).
// Only the leading bytes are looked at; nullptr when nothing matches.
#pragma once
#include <cstdint>
#include <span>

namespace komainu::files {

// Bytes a caller should buffer before sniffing for a confident answer.
inline constexpr size_t kMagicBytes = 512;

const char* mime_from_magic(std::span<const uint8_t> head);

}  // namespace komainu::files
