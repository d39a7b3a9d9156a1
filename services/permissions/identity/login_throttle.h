// Throttling of login attempts, in place of locking accounts (which let anyone lock anyone
// out): failed logins are counted per (client address, account), per account, per client
// address and per tenant. Once a counter reaches its threshold, each further failure makes
// the next attempt it covers wait a delay that doubles up to a cap. So an attacker's address
// is slowed on the account it guesses at first, while the real user on another address, or on
// an address they logged in from before, still gets in; the account-wide and tenant-wide
// counters, with higher thresholds, slow attacks spread over many addresses, but never an
// address the account is known from. Counters live in the permissions schema
// (0004_login_throttle.sql, through IdentityStore), shared by every replica, and are forgotten
// after ThrottlePolicy::memory without a failure.
#ifndef TOUCHLINE_SERVICES_PERMISSIONS_IDENTITY_LOGIN_THROTTLE_H_
#define TOUCHLINE_SERVICES_PERMISSIONS_IDENTITY_LOGIN_THROTTLE_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/permissions/identity/identity_store.h"

namespace touchline::permissions {

struct ThrottlePolicy {
  // Failures from one address on one account before that address is slowed on it.
  int address_account_failures = 5;
  // Failures on one account from every address, and from one address on every account.
  int account_failures = 20;
  // Failures in the whole tenant.
  int tenant_failures = 500;
  // The wait after the failure that reaches a threshold; each further failure doubles it.
  absl::Duration first_delay = absl::Seconds(1);
  absl::Duration max_delay = absl::Minutes(15);
  // A counter without a failure for this long starts over.
  absl::Duration memory = absl::Hours(24);
};

// One counter's state.
struct ThrottleCounter {
  int failures = 0;
  std::optional<absl::Time> last_failure_time;
  std::optional<absl::Time> blocked_until;
};

// `counter` after one more failure at `now`, with `threshold` failures before delays start.
ThrottleCounter AfterFailure(const ThrottleCounter& counter, int threshold,
                             const ThrottlePolicy& policy, absl::Time now);

// The throttle of one login attempt: who from where. `address` is the client address the
// service trusts (common/auth/edge_address.h), `username` as typed (compared lower case).
class LoginThrottle {
 public:
  LoginThrottle(const ThrottlePolicy& policy, std::string_view tenant_id, std::string_view address,
                std::string_view username);

  // When the attempt may be made: nullopt now, else the time before which it is refused.
  absl::StatusOr<std::optional<absl::Time>> RefusedUntil(IdentityReader& store,
                                                         absl::Time now) const;
  // Counts a failed attempt on every counter (and deletes the tenant's forgotten counters).
  absl::Status RecordFailure(IdentityTransaction& store, absl::Time now) const;
  // Starts the (address, account) counter over and makes the address known to the account.
  absl::Status RecordSuccess(IdentityTransaction& store, absl::Time now) const;

  // RESOURCE_EXHAUSTED "too many failed logins; retry in N s" with a google.rpc.RetryInfo of
  // the wait from `now` to `until` and ErrorInfo reason LOGIN_THROTTLED.
  static absl::Status Refusal(absl::Time until, absl::Time now);

 private:
  struct Counter {
    std::string key;
    int threshold;
    // The account-wide and tenant-wide counters do not hold back an address the account
    // logged in from before.
    bool spares_known_address;
  };

  const ThrottlePolicy& policy_;
  std::string tenant_id_;
  std::vector<Counter> counters_;
};

}  // namespace touchline::permissions

#endif  // TOUCHLINE_SERVICES_PERMISSIONS_IDENTITY_LOGIN_THROTTLE_H_
