// The permissions service's own flags (beside the host's, common/service_host), checked, and
// what main does with some of them: the token keys and the --bootstrap_tenant mode.
#ifndef TOUCHLINE_SERVICES_PERMISSIONS_SERVICE_CONFIG_H_
#define TOUCHLINE_SERVICES_PERMISSIONS_SERVICE_CONFIG_H_

#include <memory>
#include <string>

#include "absl/time/time.h"
#include "common/auth/token.h"
#include "common/customers/customer_directory.h"
#include "common/pg/pool.h"
#include "services/permissions/identity/identity_manager.h"
#include "services/permissions/org/org_manager.h"

namespace touchline::permissions {

struct ServiceConfig {
  // --access_token_ttl, --session_ttl, --login_throttle_*, --password_hash_strength,
  // --session_retention, --session_purge_batch, --delegating_services.
  IdentityOptions identity;
  absl::Duration session_purge_interval;  // --session_purge_interval
  std::string jwt_private_key_file;       // --jwt_private_key_file
  std::string contacts_addr;              // --contacts_addr; empty: no directory
  int audit_batch_size = 0;               // --audit_batch_size
  // --bootstrap_tenant (empty: serve), --bootstrap_admin, --bootstrap_gateway_key_file.
  std::string bootstrap_tenant;
  std::string bootstrap_admin;
  std::string bootstrap_gateway_key_file;
};

// The flags above, after config::ParseFlags; config::Fatal (one line, exit 2) on a bad one.
ServiceConfig ServiceConfigOrDie();

// The keys access tokens are signed and verified with (--jwt_private_key_file and the common
// --jwt_public_key_file); config::Fatal when one cannot be read.
struct TokenKeys {
  auth::TokenSigner signer;
  auth::TokenVerifier verifier;
};
TokenKeys TokenKeysOrDie(const ServiceConfig& config);

// The directory OrgManager asks for customers its read model does not know yet (contacts at
// --contacts_addr); null without the flag (logged: such a share is NOT_FOUND until the
// customer's event arrives).
std::unique_ptr<customers::CustomerDirectory> CustomerDirectoryOrNull(const ServiceConfig& config);

// --bootstrap_tenant: sets up the tenant's conventional roles and administrator (password from
// TOUCHLINE_BOOTSTRAP_PASSWORD) and, with --bootstrap_gateway_key_file, the gateway's service
// key; logs what it did and returns main's exit code. config::Fatal on failure.
int RunBootstrapOrDie(const ServiceConfig& config, pg::Pool* pool, IdentityManager* identity);

}  // namespace touchline::permissions

#endif  // TOUCHLINE_SERVICES_PERMISSIONS_SERVICE_CONFIG_H_
