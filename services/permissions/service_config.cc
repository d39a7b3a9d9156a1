#include "services/permissions/service_config.h"

#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/channel/balanced_channel.h"
#include "common/config/common_flags.h"
#include "common/config/flags.h"
#include "common/log/log.h"
#include "common/validation/field_checker.h"
#include "services/permissions/bootstrap.h"
#include "services/permissions/org/pg_org_store.h"

ABSL_FLAG(std::string, jwt_private_key_file, "",
          "PEM file of the RSA private key access tokens are signed with. Required");
ABSL_FLAG(std::string, contacts_addr, "",
          "Where the contacts service runs (e.g. dns:///contacts:8080), asked on the caller's "
          "behalf for a customer the read model does not know yet before a share of it is "
          "refused; empty: such a share is NOT_FOUND until the customer's event arrives");
ABSL_FLAG(absl::Duration, access_token_ttl, absl::Minutes(15), "Lifetime of an access token");
ABSL_FLAG(absl::Duration, session_ttl, absl::Hours(12),
          "Lifetime of a login session and its refresh tokens, from login");
ABSL_FLAG(absl::Duration, session_retention, absl::Hours(24 * 30),
          "How long a session stays stored after it expired or was revoked; then a background "
          "purge deletes it (and its refresh token hashes, which live in its row)");
ABSL_FLAG(absl::Duration, session_purge_interval, absl::Minutes(10),
          "How often the purge of ended sessions runs (each run deletes batches of "
          "--session_purge_batch until fewer are left)");
ABSL_FLAG(int, session_purge_batch, 1000, "Most sessions one purge statement deletes; at least 1");
ABSL_FLAG(int, login_throttle_failures, 5,
          "Failed logins from one client address on one account before further attempts from "
          "that address on it are delayed");
ABSL_FLAG(int, login_throttle_account_failures, 20,
          "Failed logins on one account from every address (and from one address on every "
          "account) before further attempts are delayed; an address the account logged in "
          "from before is not");
ABSL_FLAG(int, login_throttle_tenant_failures, 500,
          "Failed logins in a tenant before every further attempt is delayed, but from "
          "addresses the account logged in from before");
ABSL_FLAG(absl::Duration, login_throttle_delay, absl::Seconds(1),
          "Delay after the failure that reaches a threshold; it doubles with each further one");
ABSL_FLAG(absl::Duration, login_throttle_max_delay, absl::Minutes(15),
          "Longest delay of a throttled login");
ABSL_FLAG(std::string, delegating_services, "automation",
          "Comma-separated names of the Touchline services (as their signed service "
          "credentials name them) that DelegationService issues access tokens to, for acting on "
          "a user's behalf; empty: none");
ABSL_FLAG(std::string, password_hash_strength, "interactive",
          "argon2id cost of new password hashes: interactive, moderate, or min (tests only)");
ABSL_FLAG(std::string, bootstrap_tenant, "",
          "Set up this tenant's conventional roles and administrator, then exit (with "
          "--bootstrap_admin; the password comes from TOUCHLINE_BOOTSTRAP_PASSWORD)");
ABSL_FLAG(std::string, bootstrap_admin, "",
          "Username of the administrator --bootstrap_tenant "
          "creates");
ABSL_FLAG(std::string, bootstrap_gateway_key_file, "",
          "With --bootstrap_tenant: unless this file exists, also create the gateway's service "
          "user and a read-only API key for it, and write the key to this file (mode 0600) "
          "for the gateway's --service_api_keys_file");

ABSL_FLAG(int, audit_batch_size, 256,
          "Most audit entries the consumer of the audit topic reads at once and appends in one "
          "transaction (each tenant's chain head locked once per batch); at least 1");

namespace touchline::permissions {
namespace {

using config::Fatal;
using config::OrDie;

constexpr char kBootstrapPasswordEnv[] = "TOUCHLINE_BOOTSTRAP_PASSWORD";

PasswordHashCost HashCost(const std::string& strength) {
  if (strength == "interactive") return PasswordHashCost::Interactive();
  if (strength == "min") return PasswordHashCost::Minimum();
  if (strength == "moderate") {
    return PasswordHashCost{.ops_limit = crypto_pwhash_OPSLIMIT_MODERATE,
                            .mem_limit = crypto_pwhash_MEMLIMIT_MODERATE};
  }
  Fatal("--password_hash_strength must be interactive, moderate or min");
}

// --delegating_services: names as a service credential carries them (ServiceSigner::Sign).
std::vector<std::string> DelegatingServices(const std::string& flag) {
  const validation::TokenShape name_shape = {.max_length = 64, .punctuation = "-_"};
  std::vector<std::string> services;
  for (absl::string_view item : absl::StrSplit(flag, ',', absl::SkipWhitespace())) {
    const std::string name(absl::StripAsciiWhitespace(item));
    if (!validation::HasShape(name, name_shape)) {
      Fatal(absl::StrCat("--delegating_services: \"", name, "\" must be ",
                         validation::DescribeShape(name_shape)));
    }
    services.emplace_back(name);
  }
  return services;
}

IdentityOptions IdentityConfig() {
  IdentityOptions options;
  options.access_token_ttl = absl::GetFlag(FLAGS_access_token_ttl);
  options.session_ttl = absl::GetFlag(FLAGS_session_ttl);
  options.login_throttle.address_account_failures = absl::GetFlag(FLAGS_login_throttle_failures);
  options.login_throttle.account_failures = absl::GetFlag(FLAGS_login_throttle_account_failures);
  options.login_throttle.tenant_failures = absl::GetFlag(FLAGS_login_throttle_tenant_failures);
  options.login_throttle.first_delay = absl::GetFlag(FLAGS_login_throttle_delay);
  options.login_throttle.max_delay = absl::GetFlag(FLAGS_login_throttle_max_delay);
  options.hash_cost = HashCost(absl::GetFlag(FLAGS_password_hash_strength));
  options.session_retention = absl::GetFlag(FLAGS_session_retention);
  options.session_purge_batch = absl::GetFlag(FLAGS_session_purge_batch);
  options.delegating_services = DelegatingServices(absl::GetFlag(FLAGS_delegating_services));
  if (options.session_retention < absl::ZeroDuration()) {
    Fatal("--session_retention must not be negative");
  }
  if (options.session_purge_batch < 1) Fatal("--session_purge_batch must be at least 1");
  if (absl::GetFlag(FLAGS_session_purge_interval) <= absl::ZeroDuration()) {
    Fatal("--session_purge_interval must be positive");
  }
  if (options.access_token_ttl <= absl::ZeroDuration()) {
    Fatal("--access_token_ttl must be positive");
  }
  if (options.session_ttl < options.access_token_ttl) {
    Fatal("--session_ttl must be at least --access_token_ttl");
  }
  const ThrottlePolicy& throttle = options.login_throttle;
  if (throttle.address_account_failures < 1 || throttle.account_failures < 1 ||
      throttle.tenant_failures < 1) {
    Fatal(
        "--login_throttle_failures, --login_throttle_account_failures and "
        "--login_throttle_tenant_failures must be at least 1");
  }
  if (throttle.first_delay <= absl::ZeroDuration() || throttle.max_delay < throttle.first_delay) {
    Fatal("--login_throttle_delay must be positive and at most --login_throttle_max_delay");
  }
  return options;
}

}  // namespace

ServiceConfig ServiceConfigOrDie() {
  ServiceConfig config;
  config.identity = IdentityConfig();
  config.session_purge_interval = absl::GetFlag(FLAGS_session_purge_interval);
  config.jwt_private_key_file = absl::GetFlag(FLAGS_jwt_private_key_file);
  config.contacts_addr = absl::GetFlag(FLAGS_contacts_addr);
  config.audit_batch_size = absl::GetFlag(FLAGS_audit_batch_size);
  if (config.audit_batch_size < 1) Fatal("--audit_batch_size must be at least 1");
  config.bootstrap_tenant = absl::GetFlag(FLAGS_bootstrap_tenant);
  config.bootstrap_admin = absl::GetFlag(FLAGS_bootstrap_admin);
  config.bootstrap_gateway_key_file = absl::GetFlag(FLAGS_bootstrap_gateway_key_file);
  if (config.bootstrap_tenant.empty() && !config.bootstrap_admin.empty()) {
    Fatal("--bootstrap_admin needs --bootstrap_tenant");
  }
  return config;
}

TokenKeys TokenKeysOrDie(const ServiceConfig& config) {
  return TokenKeys{
      .signer = OrDie(auth::TokenSigner::Create(config::ReadFileOrDie("jwt_private_key_file",
                                                                      config.jwt_private_key_file)),
                      "--jwt_private_key_file"),
      .verifier = OrDie(auth::TokenVerifier::Create(config::ReadFileOrDie(
                            "jwt_public_key_file", absl::GetFlag(FLAGS_jwt_public_key_file))),
                        "--jwt_public_key_file")};
}

std::unique_ptr<customers::CustomerDirectory> CustomerDirectoryOrNull(const ServiceConfig& config) {
  if (config.contacts_addr.empty()) {
    log::Info(
        "no --contacts_addr: a share of a customer whose event has not arrived is "
        "NOT_FOUND until it does");
    return nullptr;
  }
  return customers::MakeGrpcCustomerDirectory(channel::BalancedChannel(config.contacts_addr));
}

int RunBootstrapOrDie(const ServiceConfig& config, pg::Pool* pool, IdentityManager* identity) {
  PgOrgStore org_store(pool);
  OrgManager org_manager(&org_store);
  OrgManager* const org = &org_manager;
  const std::string& tenant = config.bootstrap_tenant;
  const std::string& admin = config.bootstrap_admin;
  if (admin.empty()) Fatal("--bootstrap_admin is required with --bootstrap_tenant");
  const char* password = std::getenv(kBootstrapPasswordEnv);
  if (password == nullptr || *password == '\0') {
    Fatal(absl::StrCat(kBootstrapPasswordEnv, " is required with --bootstrap_tenant"));
  }
  const BootstrapResult result =
      OrDie(Bootstrap(pool, org, identity, tenant, admin, password), "bootstrapping the tenant");
  log::Info("tenant bootstrapped", {{"tenant", tenant},
                                    {"roles_created", absl::StrJoin(result.roles_created, ",")},
                                    {"admin_user_id", result.admin_user_id},
                                    {"admin_created", result.admin_created ? "true" : "false"}});
  const std::string& key_file = config.bootstrap_gateway_key_file;
  if (key_file.empty()) return 0;
  // O_EXCL: an existing file means the key was made before; a second key would be a secret
  // nobody holds.
  const int fd = ::open(key_file.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return 0;
    Fatal(absl::StrCat("--bootstrap_gateway_key_file: cannot create ", key_file, ": ",
                       std::strerror(errno)));
  }
  const absl::StatusOr<std::string> key = CreateGatewayServiceKey(pool, org, identity, tenant);
  const std::string line = key.ok() ? *key + "\n" : "";
  const bool written =
      key.ok() && ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  if (::close(fd) != 0 || !written) {
    // No half-made file: the next bootstrap tries again.
    ::unlink(key_file.c_str());
    Fatal(absl::StrCat("--bootstrap_gateway_key_file: ",
                       key.ok() ? "cannot write " + key_file : key.status().ToString()));
  }
  log::Info("gateway service key written", {{"tenant", tenant}, {"file", key_file}});
  return 0;
}

}  // namespace touchline::permissions
