#include "services/permissions/identity/login_throttle.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/status/errors.h"
#include "common/status/macros.h"

namespace touchline::permissions {
namespace {

// Typed usernames are cut to this many bytes for the counter keys; no username is longer.
constexpr size_t kMaxUsernameBytes = 128;
// Forgotten counters deleted per failure, so that a flood of failures also cleans up.
constexpr int kForgottenDeletedPerFailure = 100;

// `text` with the bytes that would break a key or an array literal replaced.
std::string EscapeKey(std::string_view text) {
  std::string escaped;
  for (const char c : text) {
    const bool plain = c != '"' && c != '\\' && c != ',' && c != '{' && c != '}' && c != ' ' &&
                       static_cast<unsigned char>(c) >= 0x20;
    escaped += plain ? std::string(1, c)
                     : absl::StrCat("%", static_cast<int>(static_cast<unsigned char>(c)));
  }
  return escaped;
}

}  // namespace

ThrottleCounter AfterFailure(const ThrottleCounter& counter, int threshold,
                             const ThrottlePolicy& policy, absl::Time now) {
  ThrottleCounter next;
  const bool forgotten =
      !counter.last_failure_time || *counter.last_failure_time < now - policy.memory;
  next.failures = forgotten ? 1 : counter.failures + 1;
  next.last_failure_time = now;
  if (next.failures >= threshold) {
    // 2^doublings; 40 doublings of a microsecond exceed any sensible cap already.
    const int doublings = std::min(next.failures - threshold, 40);
    next.blocked_until =
        now + std::min(policy.max_delay, policy.first_delay * std::ldexp(1.0, doublings));
  }
  return next;
}

LoginThrottle::LoginThrottle(const ThrottlePolicy& policy, std::string_view tenant_id,
                             std::string_view address, std::string_view username)
    : policy_(policy), tenant_id_(tenant_id) {
  const std::string who = EscapeKey(absl::AsciiStrToLower(
      absl::string_view(username.data(), std::min(username.size(), kMaxUsernameBytes))));
  const std::string where = EscapeKey(address);
  counters_ = {
      {absl::StrCat("address_account ", where, " ", who), policy.address_account_failures, false},
      {absl::StrCat("account ", who), policy.account_failures, true},
      {absl::StrCat("address ", where), policy.account_failures, false},
      {"tenant", policy.tenant_failures, true},
  };
}

absl::StatusOr<std::optional<absl::Time>> LoginThrottle::RefusedUntil(IdentityReader& store,
                                                                      absl::Time now) const {
  std::vector<std::string> keys;
  for (const Counter& counter : counters_) keys.push_back(counter.key);
  TL_ASSIGN_OR_RETURN(const std::vector<StoredThrottleCounter> stored,
                      store.ThrottleCounters(tenant_id_, keys));
  bool known_address = false;
  for (const StoredThrottleCounter& row : stored) {
    known_address |= row.key == counters_[0].key && row.last_success_time.has_value();
  }
  std::optional<absl::Time> until;
  for (const StoredThrottleCounter& row : stored) {
    const auto counter = std::find_if(counters_.begin(), counters_.end(),
                                      [&](const Counter& c) { return c.key == row.key; });
    if (counter == counters_.end() || (counter->spares_known_address && known_address)) continue;
    if (row.blocked_until && *row.blocked_until > now) {
      until = std::max(until.value_or(*row.blocked_until), *row.blocked_until);
    }
  }
  return until;
}

absl::Status LoginThrottle::RecordFailure(IdentityTransaction& store, absl::Time now) const {
  for (const Counter& counter : counters_) {
    TL_ASSIGN_OR_RETURN(StoredThrottleCounter row,
                        store.LockThrottleCounter(tenant_id_, counter.key));
    const ThrottleCounter next = AfterFailure({.failures = row.failures,
                                               .last_failure_time = row.last_failure_time,
                                               .blocked_until = row.blocked_until},
                                              counter.threshold, policy_, now);
    row.failures = next.failures;
    row.last_failure_time = next.last_failure_time;
    row.blocked_until = next.blocked_until;
    TL_RETURN_IF_ERROR(store.SaveThrottleCounter(tenant_id_, row));
  }
  return store.DeleteForgottenThrottleCounters(tenant_id_, now - policy_.memory,
                                               kForgottenDeletedPerFailure);
}

absl::Status LoginThrottle::RecordSuccess(IdentityTransaction& store, absl::Time now) const {
  return store.RecordThrottleSuccess(tenant_id_, counters_[0].key, now);
}

absl::Status LoginThrottle::Refusal(absl::Time until, absl::Time now) {
  const absl::Duration wait = until - now;
  return status::WithErrorInfo(
      status::WithRetryInfo(
          absl::ResourceExhaustedError(
              absl::StrCat("too many failed logins; retry in ",
                           static_cast<int64_t>(std::ceil(absl::ToDoubleSeconds(wait))), " s")),
          wait),
      "LOGIN_THROTTLED");
}

}  // namespace touchline::permissions
