#include "common/ratelimit/rate_limiter.h"

#include <openssl/sha.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/status/macros.h"

namespace touchline::ratelimit {
namespace {

constexpr double kMaxPerSecond = 1e6;
constexpr double kMaxRefillSeconds = 24 * 60 * 60;

// KEYS[1]: the bucket, holding its theoretical arrival time (TAT) in unix microseconds.
// ARGV: the emission interval (us), the burst, and "now" (us), which defaults to Redis TIME.
// Returns {allowed (0/1), remaining, retry_after (us), reset_after (us)}.
// Times are integers below 2^53 microseconds, so Lua's doubles hold them exactly; they are
// written with %d because tostring keeps only 14 significant digits.
constexpr std::string_view kScript = R"lua(
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
if not now then
  local time = redis.call('TIME')
  now = tonumber(time[1]) * 1000000 + tonumber(time[2])
end
local tat = tonumber(redis.call('GET', KEYS[1]))
if not tat or tat < now then tat = now end
local new_tat = tat + interval
local allow_at = new_tat - interval * burst
if now < allow_at then
  return {0, 0, allow_at - now, tat - now}
end
-- At new_tat the bucket is full, which is what a missing key means.
redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX',
           math.ceil((new_tat - now) / 1000))
return {1, math.floor((now - allow_at) / interval), 0, new_tat - now}
)lua";

std::string Sha1Hex(std::string_view text) {
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)));
}

// Why `limit` is not valid, or "" if it is.
std::string_view RateLimitProblem(const RateLimit& limit) {
  if (!std::isfinite(limit.per_second) || limit.per_second <= 0) {
    return "the rate must be a positive number of requests";
  }
  if (limit.per_second > kMaxPerSecond) return "the rate must be at most 1000000 per second";
  if (limit.burst < 1) return "the burst must be at least 1";
  if (limit.burst / limit.per_second > kMaxRefillSeconds) {
    return "an empty bucket must refill within a day (burst / requests per second <= 86400)";
  }
  return "";
}

// Rejects ':' so that distinct (tenant, kind, id) never share a key, and braces so that they
// cannot move the hash tag.
absl::Status CheckKeyPart(std::string_view name, std::string_view part) {
  if (part.empty() || part.find_first_of(":{}") != std::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat("rate limit: ", std::string(name),
                                                   " must be non-empty without ':', '{' or '}'"));
  }
  return absl::OkStatus();
}

std::string_view FirstWord(std::string_view text) { return text.substr(0, text.find(' ')); }

// Error replies that mean Redis cannot serve the call now but may soon.
bool IsTransient(std::string_view error) {
  const std::string_view code = FirstWord(error);
  for (std::string_view transient :
       {"LOADING", "BUSY", "READONLY", "MASTERDOWN", "TRYAGAIN", "CLUSTERDOWN", "OOM"}) {
    if (code == transient) return true;
  }
  return false;
}

absl::StatusOr<RateDecision> DecisionFrom(const redis::Reply& reply) {
  if (reply.is_error()) {
    std::string message = absl::StrCat("rate limit: Redis error: ", std::string(reply.str()));
    if (IsTransient(reply.str())) return absl::UnavailableError(message);
    return absl::InternalError(message);
  }
  bool well_formed = reply.is_array() && reply.size() == 4;
  for (size_t i = 0; well_formed && i < reply.size(); ++i) {
    well_formed = reply[i].is_integer();
  }
  if (!well_formed) return absl::InternalError("rate limit: unexpected reply from the script");
  RateDecision decision;
  decision.allowed = reply[0].integer() == 1;
  decision.remaining = static_cast<int>(reply[1].integer());
  decision.retry_after = absl::Microseconds(reply[2].integer());
  decision.reset_after = absl::Microseconds(reply[3].integer());
  return decision;
}

}  // namespace

absl::StatusOr<std::optional<RateLimit>> ParseRateLimit(std::string_view text) {
  if (text.empty() || text == "off") return std::nullopt;
  const auto bad = [text](std::string_view problem) {
    return absl::InvalidArgumentError(
        absl::StrCat("rate limit \"", std::string(text), "\": ", std::string(problem)));
  };
  const size_t slash = text.find('/');
  if (slash == std::string_view::npos) {
    return bad("expected <rate>/s or <rate>/m, optionally followed by :<burst>");
  }
  const std::string_view rate_text = text.substr(0, slash);
  std::string_view unit = text.substr(slash + 1);
  std::optional<std::string_view> burst_text;
  if (const size_t colon = unit.find(':'); colon != std::string_view::npos) {
    burst_text = unit.substr(colon + 1);
    unit = unit.substr(0, colon);
  }

  double rate = 0;
  const char* rate_end = rate_text.data() + rate_text.size();
  if (auto [end, error] = std::from_chars(rate_text.data(), rate_end, rate);
      error != std::errc() || end != rate_end) {
    return bad("the rate is not a number");
  }
  RateLimit limit;
  if (unit == "s") {
    limit.per_second = rate;
  } else if (unit == "m") {
    limit.per_second = rate / 60;
  } else {
    return bad("the unit must be /s or /m");
  }
  if (burst_text.has_value()) {
    const char* burst_end = burst_text->data() + burst_text->size();
    if (auto [end, error] = std::from_chars(burst_text->data(), burst_end, limit.burst);
        error != std::errc() || end != burst_end) {
      return bad("the burst is not a whole number");
    }
  } else if (limit.per_second > 0 && limit.per_second <= kMaxPerSecond) {
    limit.burst = std::max(1, static_cast<int>(std::ceil(limit.per_second)));
  }
  if (std::string_view problem = RateLimitProblem(limit); !problem.empty()) return bad(problem);
  return limit;
}

RateLimiter::RateLimiter(redis::Pool* redis, Options options)
    : redis_(redis), options_(std::move(options)), script_sha_(Sha1Hex(kScript)) {}

absl::StatusOr<RateDecision> RateLimiter::Take(std::string_view tenant_id, std::string_view kind,
                                               std::string_view id, const RateLimit& limit) {
  if (std::string_view problem = RateLimitProblem(limit); !problem.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("rate limit: ", std::string(problem)));
  }
  TL_RETURN_IF_ERROR(CheckKeyPart("tenant_id", tenant_id));
  TL_RETURN_IF_ERROR(CheckKeyPart("kind", kind));
  if (id.empty()) return absl::InvalidArgumentError("rate limit: id must be non-empty");

  std::string key = options_.key_prefix;
  key.append(":ratelimit:{").append(tenant_id).append(":").append(kind).append(":");
  key.append(id).append("}");
  const int64_t interval_us = std::llround(1e6 / limit.per_second);
  std::vector<std::string> argv = {"EVALSHA",
                                   script_sha_,
                                   "1",
                                   std::move(key),
                                   std::to_string(interval_us),
                                   std::to_string(limit.burst)};
  if (options_.clock) argv.push_back(std::to_string(absl::ToUnixMicros(options_.clock())));

  TL_ASSIGN_OR_RETURN(redis::Reply reply, redis_->Command(argv));
  if (reply.is_error() && FirstWord(reply.str()) == "NOSCRIPT") {
    // This server has not run the script since it started or its scripts were flushed. EVAL
    // runs it and caches it, so later calls need not send it. Sending it every time (plain
    // EVAL) measured 20-30% fewer decisions per second on a saturated Redis.
    argv[0] = "EVAL";
    argv[1] = std::string(kScript);
    TL_ASSIGN_OR_RETURN(reply, redis_->Command(argv));
  }
  return DecisionFrom(reply);
}

}  // namespace touchline::ratelimit
