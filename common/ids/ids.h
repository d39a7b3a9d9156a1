// Identifier generation.
#ifndef TOUCHLINE_COMMON_IDS_IDS_H_
#define TOUCHLINE_COMMON_IDS_IDS_H_

#include <string>
#include <string_view>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace touchline::ids {

// Returns a new UUID version 7 (RFC 9562) in canonical text form: 48 bits of Unix
// milliseconds from `now`, then random bits (libsodium). Ids made later sort later, which
// keeps B-tree inserts local. Thread-safe.
std::string NewUuid(absl::Time now = absl::Now());

// Whether `text` is a UUID in canonical form (8-4-4-4-12 lower- or upper-case hex digits).
bool IsUuid(std::string_view text);

}  // namespace touchline::ids

#endif  // TOUCHLINE_COMMON_IDS_IDS_H_
