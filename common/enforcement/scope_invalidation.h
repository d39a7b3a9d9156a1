// Keeps a replica's scope cache honest: every ScopesInvalidated event on the "permissions"
// topic drops the cached scopes it names, in every replica of every service.
#ifndef TOUCHLINE_COMMON_ENFORCEMENT_SCOPE_INVALIDATION_H_
#define TOUCHLINE_COMMON_ENFORCEMENT_SCOPE_INVALIDATION_H_

#include <atomic>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/auth/scope_authenticator.h"
#include "common/redis/pool.h"

namespace touchline::enforcement {

// Reads the "permissions" stream with plain XREAD (no consumer group, so each replica sees
// every event) from the moment it starts, and calls auth::ScopeAuthenticator::Invalidate (or any
// `invalidate` function) for each ScopesInvalidated event. After a Redis failure it resumes after
// the last entry it saw, so nothing published meanwhile is missed while the stream still holds it;
// scopes also expire by age (ScopeAuthenticatorOptions::max_scope_age), which bounds staleness if
// it does not.
class ScopeInvalidationListener {
 public:
  // Called with the tenant and the session ids of each ScopesInvalidated event (empty: all of
  // the tenant's), on the listener's thread.
  using InvalidateFn =
      std::function<void(const std::string& tenant_id, const std::vector<std::string>& sessions)>;

  // `redis` must outlive the listener. `block` must be shorter than the Redis pool's timeout.
  ScopeInvalidationListener(redis::Pool* redis, std::string stream_prefix, InvalidateFn invalidate,
                            absl::Duration block = absl::Milliseconds(500));
  // Invalidates `authenticator`, which must outlive the listener.
  ScopeInvalidationListener(redis::Pool* redis, std::string stream_prefix,
                            auth::ScopeAuthenticator* authenticator,
                            absl::Duration block = absl::Milliseconds(500));
  ~ScopeInvalidationListener();
  ScopeInvalidationListener(const ScopeInvalidationListener&) = delete;
  ScopeInvalidationListener& operator=(const ScopeInvalidationListener&) = delete;

  // Starts the background thread. Events published before Start are not replayed; every one
  // published after it is seen.
  void Start();
  // Stops it; waits at most one `block`.
  void Stop();

  // One XREAD of up to 100 entries after `last_id`, applying what it finds; returns the id to
  // read after next time. Exposed for tests; the thread calls it in a loop.
  absl::StatusOr<std::string> PollOnce(const std::string& last_id);

 private:
  // The id of the stream's newest entry, "0-0" when it has none.
  absl::StatusOr<std::string> LastId();
  void Run();

  redis::Pool* const redis_;
  const std::string stream_key_;
  const InvalidateFn invalidate_;
  const absl::Duration block_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace touchline::enforcement

#endif  // TOUCHLINE_COMMON_ENFORCEMENT_SCOPE_INVALIDATION_H_
