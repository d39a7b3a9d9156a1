// Request rate limits kept in Redis, so every replica enforces the same budget.
#ifndef TOUCHLINE_COMMON_RATELIMIT_RATE_LIMITER_H_
#define TOUCHLINE_COMMON_RATELIMIT_RATE_LIMITER_H_

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/redis/pool.h"

namespace touchline::ratelimit {

// A sustained rate with a burst: `burst` requests may arrive at once, after which they are
// allowed at `per_second`. Valid when 0 < per_second <= 1000000 and burst >= 1, and an empty
// bucket refills within a day (burst / per_second <= 86400): a longer window is a quota, not a
// rate limit. Requests are spaced 1 / per_second apart, rounded to a whole microsecond.
struct RateLimit {
  double per_second = 0;
  int burst = 1;
};

// Parses a limit as flags and configuration write it: "<rate>/s" or "<rate>/m" (requests per
// second or per minute; the rate may have a fraction), optionally followed by ":<burst>", e.g.
// "50/s:100" or "600/m". Without a burst it is max(1, ceil(requests per second)). "" and "off"
// mean no limit (std::nullopt). INVALID_ARGUMENT, naming the text and the problem, for anything
// else and for a limit that is not valid as RateLimit describes.
absl::StatusOr<std::optional<RateLimit>> ParseRateLimit(std::string_view text);

// The outcome of one request against a bucket.
struct RateDecision {
  bool allowed = false;
  // Requests still allowed right now after this one; 0 when refused.
  int remaining = 0;
  // When refused, how long until one request would be allowed; zero when allowed.
  absl::Duration retry_after;
  // How long until the bucket is full again (burst requests allowed at once).
  absl::Duration reset_after;
};

// GCRA (the "theoretical arrival time" form of a token bucket) evaluated by one Lua script in
// Redis, so each decision is one round trip and atomic across replicas. Each bucket is one key
// holding a timestamp, set to expire when the bucket would be full again, so idle buckets take
// no memory. Thread-safe.
class RateLimiter {
 public:
  struct Options {
    // Keys are "<key_prefix>:ratelimit:{<tenant_id>:<kind>:<id>}". Each call touches one key,
    // so the script is valid on Redis Cluster; the braces (a hash tag) make a bucket's slot
    // depend on the bucket alone, not on the prefix.
    std::string key_prefix = "touchline";
    // Null: "now" is Redis TIME, so replicas whose clocks disagree still agree on the limits.
    // Tests set it to control time exactly.
    std::function<absl::Time()> clock;
  };

  // `redis` is not owned and must outlive the limiter.
  RateLimiter(redis::Pool* redis, Options options);

  // Counts one request against the bucket (`tenant_id`, `kind`, `id`), e.g. (tenant,
  // "api_key", key id) or (tenant, "partner", organisation id), under `limit`, and says whether
  // it is allowed. A refused request does not count. `id` appears in the Redis key in clear:
  // pass an identifier, never a secret. The limit is not stored: a bucket taken with a new
  // limit continues from its state under the old one.
  //
  // Errors: INVALID_ARGUMENT for an invalid `limit`, an empty `tenant_id`, `kind` or `id`, or a
  // `tenant_id` or `kind` containing ':', '{' or '}' (checked before Redis is called);
  // UNAVAILABLE when Redis cannot be reached or cannot serve the call now (loading, busy,
  // read-only replica, out of memory), so the caller may choose to fail open; INTERNAL for any
  // other error reply or an unexpected reply.
  absl::StatusOr<RateDecision> Take(std::string_view tenant_id, std::string_view kind,
                                    std::string_view id, const RateLimit& limit);

 private:
  redis::Pool* const redis_;
  const Options options_;
  // SHA-1 of the script, for EVALSHA.
  const std::string script_sha_;
};

}  // namespace touchline::ratelimit

#endif  // TOUCHLINE_COMMON_RATELIMIT_RATE_LIMITER_H_
