// Identifier generation, and content fingerprints.
#ifndef TOUCHLINE_COMMON_IDS_IDS_H_
#define TOUCHLINE_COMMON_IDS_IDS_H_

#include <string>
#include <string_view>

#include "absl/time/clock.h"
#include "google/protobuf/message.h"
#include "absl/time/time.h"

namespace touchline::ids {

// Returns a new UUID version 7 (RFC 9562) in canonical text form: 48 bits of Unix
// milliseconds from `now`, then random bits (libsodium). Ids made later sort later, which
// keeps B-tree inserts local. Thread-safe.
std::string NewUuid(absl::Time now = absl::Now());

// Whether `text` is a UUID in canonical form (8-4-4-4-12 lower- or upper-case hex digits).
bool IsUuid(std::string_view text);

// The hex SHA-256 of `message`'s deterministic serialization: equal messages give equal
// fingerprints within one build (map order included), so a retried request can be told
// from another one that reuses its idempotency key.
std::string Fingerprint(const google::protobuf::Message& message);

}  // namespace touchline::ids

#endif  // TOUCHLINE_COMMON_IDS_IDS_H_
