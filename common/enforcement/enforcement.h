// What every service that enforces callers' scopes runs beside its own work, the same in each:
// the auth::ScopeAuthenticator (tokens verified with the public key, scopes fetched from the
// permissions service and cached), the listener that drops cached scopes when policies
// change, and the consumer that keeps the customer shares read model in the service's schema.
//
//   auto config = enforcement::EnforcementConfigFromFlags("contacts");  // at start-up: exit 2 if
//   bad
//   ...
//   enforcement::Enforcement enforcement(std::move(config), redis, pool);
//   enforcement.Start();
//   server::UnaryRunner runner(..., enforcement.authenticator(), ...);
//   ...
//   enforcement.Stop();  // after the server has shut down
#ifndef TOUCHLINE_COMMON_ENFORCEMENT_ENFORCEMENT_H_
#define TOUCHLINE_COMMON_ENFORCEMENT_ENFORCEMENT_H_

#include <optional>
#include <string>

#include "common/auth/edge_address.h"
#include "common/auth/scope_authenticator.h"
#include "common/auth/service_credential.h"
#include "common/auth/token.h"
#include "common/enforcement/scope_invalidation.h"
#include "common/enforcement/shares_read_model.h"
#include "common/events/consumer.h"
#include "common/pg/pool.h"
#include "common/redis/pool.h"

namespace touchline::enforcement {

struct EnforcementOptions {
  // host:port (or any gRPC target, e.g. dns:///permissions:8080) of the permissions service.
  // Calls are balanced round-robin over every address it resolves to.
  std::string permissions_addr;
  std::string stream_prefix = "touchline";
  // The service's consumer group on the "permissions" topic, e.g. "contacts".
  std::string consumer_group;
  // Called in the transaction that changed a customer's shares (see ApplyPermissionEvent);
  // may be empty.
  SharesChangedFn shares_changed;
  // Of the shares consumer, as of every consumer of the service (--inbox_retention,
  // --events_dead_letter_max_len; see events::ConsumerOptions): the inbox purge of the
  // service's schema must not delete rows this consumer still needs.
  absl::Duration inbox_retention = events::ConsumerOptions().inbox_retention;
  long long dead_letter_max_len = events::ConsumerOptions().dead_letter_max_len;
};

// An Enforcement's configuration: the token verifier and its options.
struct EnforcementConfig {
  auth::TokenVerifier verifier;
  EnforcementOptions options;
};

// The configuration the common flags give (--jwt_public_key_file, --permissions_addr,
// --events_stream_prefix), with `consumer_group`; config::Fatal (exit 2, one line) naming a
// missing or bad flag.
EnforcementConfig EnforcementConfigFromFlags(std::string consumer_group);

// The signer of client addresses made from --edge_secret_file; nullopt when the flag is empty.
// config::Fatal when the file cannot be read or holds fewer than 32 bytes.
std::optional<auth::EdgeAddressSigner> EdgeAddressSignerFromFlags();

// The signer of service names (service_credential.h) made from the same --edge_secret_file;
// nullopt when the flag is empty. config::Fatal as above.
std::optional<auth::ServiceSigner> ServiceSignerFromFlags();

// Not copyable. `redis` and `pool` (whose schema holds SharesMigrations and the inbox) must
// outlive it.
class Enforcement {
 public:
  Enforcement(EnforcementConfig config, redis::Pool* redis, pg::Pool* pool);
  Enforcement(const Enforcement&) = delete;
  Enforcement& operator=(const Enforcement&) = delete;

  // Starts the invalidation listener and the shares consumer.
  void Start();
  // Stops them; call once no more calls are served.
  void Stop();

  auth::ScopeAuthenticator* authenticator() { return &authenticator_; }

 private:
  auth::ScopeAuthenticator authenticator_;
  ScopeInvalidationListener invalidation_;
  events::StreamConsumer shares_;
};

}  // namespace touchline::enforcement

#endif  // TOUCHLINE_COMMON_ENFORCEMENT_ENFORCEMENT_H_
