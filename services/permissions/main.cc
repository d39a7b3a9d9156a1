// The permissions service: flags -> validated config -> dependencies -> serve until SIGTERM.
// With --bootstrap_tenant and --bootstrap_admin it sets up a tenant's conventional roles and
// administrator instead, and exits.
#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/audit/audit.h"
#include "common/auth/request_context.h"
#include "common/auth/scope_authenticator.h"
#include "common/auth/token.h"
#include "common/channel/balanced_channel.h"
#include "common/config/common_flags.h"
#include "common/config/flags.h"
#include "common/customers/customer_directory.h"
#include "common/enforcement/enforcement.h"
#include "common/enforcement/scope_invalidation.h"
#include "common/events/consumer.h"
#include "common/events/outbox.h"
#include "common/events/outbox_relay.h"
#include "common/log/log.h"
#include "common/paging/page_token.h"
#include "common/pg/migrator.h"
#include "common/pg/pool.h"
#include "common/redis/pool.h"
#include "common/server/executor.h"
#include "common/server/server.h"
#include "common/server/unary_call.h"
#include "services/permissions/access_check.h"
#include "services/permissions/audit/audit_log.h"
#include "services/permissions/bootstrap.h"
#include "services/permissions/customer_read_model.h"
#include "services/permissions/identity/identity_manager.h"
#include "services/permissions/identity/pg_identity_store.h"
#include "services/permissions/migrations.h"
#include "services/permissions/org/org_manager.h"
#include "services/permissions/org/pg_org_store.h"
#include "services/permissions/permissions_service.h"
#include "services/permissions/scope_compiler.h"
#include "services/permissions/scope_source.h"

ABSL_FLAG(std::string, pg_schema, "permissions",
          "PostgreSQL schema that holds the service's tables");
ABSL_FLAG(bool, migrate_only, false, "Apply the schema migrations and exit");
ABSL_FLAG(std::string, contacts_addr, "",
          "Where the contacts service runs (e.g. dns:///contacts:8080), asked on the caller's "
          "behalf for a customer the read model does not know yet before a share of it is "
          "refused; empty: such a share is NOT_FOUND until the customer's event arrives");
ABSL_FLAG(std::string, jwt_private_key_file, "",
          "PEM file of the RSA private key access tokens are signed with. Required");
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
using config::OkOrDie;
using config::OrDie;

constexpr char kServiceName[] = "touchline.permissions.v1.PermissionsService";
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

// --bootstrap_tenant: roles and administrator, then exit.
int RunBootstrap(pg::Pool* pool, OrgManager* org, IdentityManager* identity,
                 const std::string& tenant) {
  const std::string admin = absl::GetFlag(FLAGS_bootstrap_admin);
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
  const std::string key_file = absl::GetFlag(FLAGS_bootstrap_gateway_key_file);
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

int Run() {
  const std::string dsn = absl::GetFlag(FLAGS_pg_dsn);
  const std::string schema = absl::GetFlag(FLAGS_pg_schema);
  if (dsn.empty()) Fatal("--pg_dsn (or TOUCHLINE_PG_DSN) is required");
  if (schema.empty()) Fatal("--pg_schema must not be empty");
  if (absl::GetFlag(FLAGS_audit_batch_size) < 1) Fatal("--audit_batch_size must be at least 1");
  const std::string bootstrap_tenant = absl::GetFlag(FLAGS_bootstrap_tenant);
  if (bootstrap_tenant.empty() && !absl::GetFlag(FLAGS_bootstrap_admin).empty()) {
    Fatal("--bootstrap_admin needs --bootstrap_tenant");
  }
  const IdentityOptions identity_options = IdentityConfig();

  OkOrDie(pg::ApplyMigrations(dsn, schema, "permissions", pg::permissions_migrations()),
          "migrating the permissions schema");
  OkOrDie(pg::ApplyMigrations(dsn, schema, "outbox", events::OutboxMigrations()),
          "migrating the outbox");
  OkOrDie(pg::ApplyMigrations(dsn, schema, "inbox", events::InboxMigrations()),
          "migrating the inbox");
  OkOrDie(pg::ApplyMigrations(dsn, schema, "page_tokens", paging::PageTokenMigrations()),
          "migrating the page-token key");
  if (absl::GetFlag(FLAGS_migrate_only)) return 0;

  // Not needed to migrate (an init container runs --migrate_only without the keys).
  auth::TokenSigner signer =
      OrDie(auth::TokenSigner::Create(config::ReadFileOrDie(
                "jwt_private_key_file", absl::GetFlag(FLAGS_jwt_private_key_file))),
            "--jwt_private_key_file");
  const auth::TokenVerifier verifier =
      OrDie(auth::TokenVerifier::Create(config::ReadFileOrDie(
                "jwt_public_key_file", absl::GetFlag(FLAGS_jwt_public_key_file))),
            "--jwt_public_key_file");

  pg::PoolOptions pool_options;
  pool_options.dsn = dsn;
  pool_options.search_path = schema;
  pool_options.size = absl::GetFlag(FLAGS_pg_pool_size);
  const auto pool = OrDie(pg::Pool::Create(pool_options), "connecting to PostgreSQL");
  const paging::PageTokens page_tokens =
      OrDie(paging::PageTokens::Load(*pool), "loading the page-token key");
  PgIdentityStore identity_store(pool.get());
  IdentityManager identity(&identity_store, std::move(signer), page_tokens, identity_options);
  PgOrgStore org_store(pool.get());
  if (!bootstrap_tenant.empty()) {
    OrgManager org(&org_store);
    return RunBootstrap(pool.get(), &org, &identity, bootstrap_tenant);
  }

  auto redis_options =
      OrDie(redis::ParseRedisAddress(absl::GetFlag(FLAGS_redis_addr)), "--redis_addr");
  const auto redis = OrDie(redis::Pool::Create(redis_options), "setting up Redis");
  const std::string stream_prefix = absl::GetFlag(FLAGS_events_stream_prefix);
  events::RelayOptions relay_options;
  relay_options.dsn = dsn;
  relay_options.schema = schema;
  relay_options.stream_prefix = stream_prefix;
  events::OutboxRelay relay(relay_options, redis.get());
  relay.Start();

  // Credentials are resolved here, in process; every other service asks GetEffectiveScope.
  const ScopeCompiler compiler(pool.get());
  auth::ScopeAuthenticator authenticator(
      verifier, std::make_unique<InProcessScopeSource>(verifier, &identity, &compiler));
  const InvalidateScopesFn invalidate = [&authenticator](const std::string& tenant,
                                                         const std::vector<std::string>& sessions) {
    authenticator.Invalidate(tenant, sessions);
  };
  // Changes made by the other replicas.
  enforcement::ScopeInvalidationListener invalidation(redis.get(), stream_prefix, &authenticator);
  invalidation.Start();

  OrgOptions org_options;
  org_options.invalidate_scopes = invalidate;
  org_options.on_events = [&relay] { relay.Wake(); };
  // Customers the read model does not know yet, from their owner.
  const std::string contacts_addr = absl::GetFlag(FLAGS_contacts_addr);
  std::unique_ptr<customers::CustomerDirectory> directory;
  if (contacts_addr.empty()) {
    log::Info("no --contacts_addr: a share of a customer whose event has not arrived is "
              "NOT_FOUND until it does");
  } else {
    directory = customers::MakeGrpcCustomerDirectory(channel::BalancedChannel(contacts_addr));
    org_options.customers = directory.get();
  }
  OrgManager org(&org_store, org_options);
  AccessChecker access(pool.get(), &compiler);
  AuditLog audit(pool.get(), page_tokens);

  // The customer read model, fed by contacts' events, and the audit entries other services
  // report.
  events::ConsumerOptions customers_options;
  customers_options.stream_prefix = stream_prefix;
  customers_options.topic = kCustomersTopic;
  customers_options.group = kCustomersGroup;
  customers_options.consumer = events::ProcessConsumerName();
  events::StreamConsumer customers(customers_options, redis.get(), pool.get(), &ApplyCustomerEvent);
  customers.Start();
  events::ConsumerOptions audit_options = customers_options;
  audit_options.topic = events::kAuditTopic;
  audit_options.group = "permissions-audit";
  audit_options.batch_size = absl::GetFlag(FLAGS_audit_batch_size);
  events::StreamConsumer audit_consumer(audit_options, redis.get(), pool.get(),
                                        AuditLog::ApplyBatchFromStream());
  audit_consumer.Start();

  // Ended sessions are deleted once past --session_retention. A small thread until the shared
  // service host's periodic tasks replace it.
  absl::Notification stop_purging;
  std::thread session_purger([&] {
    do {
      absl::StatusOr<int64_t> purged;
      // A full batch means more are waiting.
      do {
        purged = identity.PurgeEndedSessions();
      } while (purged.ok() && *purged == identity_options.session_purge_batch &&
               !stop_purging.HasBeenNotified());
      if (!purged.ok()) {
        log::Warning("purging ended sessions failed", {{"status", purged.status().ToString()}});
      }
    } while (
        !stop_purging.WaitForNotificationWithTimeout(absl::GetFlag(FLAGS_session_purge_interval)));
  });

  server::Executor executor(absl::GetFlag(FLAGS_worker_threads),
                            absl::GetFlag(FLAGS_max_queued_calls));
  const bool access_log = absl::GetFlag(FLAGS_access_log);
  server::UnaryRunner runner(kServiceName, &executor, &authenticator, access_log);
  const auth::MetadataAuthenticator tenant_only;
  const std::optional<auth::EdgeAddressSigner> edge_addresses =
      enforcement::EdgeAddressSignerFromFlags();
  server::UnaryRunner login_runner(kServiceName, &executor, &tenant_only, access_log);
  PermissionsService service({.org = &org,
                              .identity = &identity,
                              .access = &access,
                              .audit = &audit,
                              .runner = &runner,
                              .login_runner = &login_runner,
                              .invalidate_scopes = invalidate,
                              .edge_addresses = edge_addresses ? &*edge_addresses : nullptr});

  server::ServerOptions server_options;
  server_options.listen_address = absl::GetFlag(FLAGS_listen_address);
  server_options.metrics_address = absl::GetFlag(FLAGS_metrics_address);
  server_options.drain_timeout = absl::GetFlag(FLAGS_drain_timeout);
  const auto grpc_server = OrDie(server::Server::Start(server_options, {{kServiceName, &service}}),
                                 "starting the gRPC server");
  log::Info("permissions service serving",
            {{"grpc_port", std::to_string(grpc_server->port())},
             {"metrics_port", std::to_string(grpc_server->metrics_port())}});

  const int signal = server::WaitForTerminationSignal();
  log::Info("shutting down", {{"signal", std::to_string(signal)}});
  grpc_server->Shutdown();
  executor.Shutdown();
  stop_purging.Notify();
  session_purger.join();
  audit_consumer.Stop();
  customers.Stop();
  invalidation.Stop();
  relay.Stop();
  return 0;
}

}  // namespace
}  // namespace touchline::permissions

int main(int argc, char** argv) {
  touchline::server::BlockTerminationSignals();
  touchline::config::ParseFlags(
      argc, argv, "Touchline permissions service: users, roles, scopes and the audit log");
  touchline::config::ApplyCommonFlags();
  return touchline::permissions::Run();
}
