// Deterministic ids of the benchmark's customers and their contact persons, shared by
// touchpoints_gen (which writes them into the customers read model) and touchpoints_load
// (which sends them), so neither has to look the other's ids up.
#ifndef TOUCHLINE_BENCH_BENCH_IDS_H_
#define TOUCHLINE_BENCH_BENCH_IDS_H_

#include <cstdint>
#include <cstdio>
#include <string>

namespace touchline::bench {

// "<prefix>" followed by 12 lower-case hex digits of n (n < 2^48).
inline std::string IdWithHex12(const char* prefix, uint64_t n) {
  char hex[16];
  std::snprintf(hex, sizeof hex, "%012llx",
                static_cast<unsigned long long>(n & 0xffffffffffffULL));
  return std::string(prefix) + hex;
}

// Customer i: 00000000-0000-7000-8000-<12 hex digits of i>.
inline std::string CustomerId(int64_t i) {
  return IdWithHex12("00000000-0000-7000-8000-", static_cast<uint64_t>(i));
}

// Customer i has i % 4 contact persons (0 to 3).
inline int PersonCount(int64_t i) { return static_cast<int>(i % 4); }

// Contact person j (0 <= j < PersonCount(i)) of customer i:
// 00000000-0000-7001-8000-<12 hex digits of 4i + j>.
inline std::string PersonId(int64_t i, int j) {
  return IdWithHex12("00000000-0000-7001-8000-", static_cast<uint64_t>(i) * 4 + j);
}

}  // namespace touchline::bench

#endif  // TOUCHLINE_BENCH_BENCH_IDS_H_
