// The 64-bit finaliser of MurmurHash3 (fmix64): spreads every input bit over the word. Flow
// keys, uids and worker shards are derived with it.
#pragma once
#include <cstdint>

namespace komainu {

inline uint64_t mix64(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ull;
  x ^= x >> 33;
  return x;
}

}  // namespace komainu
