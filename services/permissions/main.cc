// The permissions service (README.md); with --bootstrap_tenant, a tenant's set-up instead.
#include "common/enforcement/enforcement.h"
#include "common/service_host/service_host.h"
#include "services/permissions/delegation_service.h"
#include "services/permissions/identity/pg_identity_store.h"
#include "services/permissions/migrations.h"
#include "services/permissions/org/pg_org_store.h"
#include "services/permissions/permissions_service.h"
#include "services/permissions/scope_source.h"
#include "services/permissions/service_config.h"

namespace touchline::permissions {

int Main(int argc, char** argv) {
  constexpr char kService[] = "touchline.permissions.v1.PermissionsService";
  constexpr char kDelegation[] = "touchline.permissions.v1.DelegationService";  // Services only.
  service_host::ServiceOptions options(
      "permissions", "Touchline permissions service: users, roles, scopes and the audit log");
  options.migrations = &pg::permissions_migrations();
  options.enforce_scopes = false;  // Credentials are resolved here, in process.
  options.request_ids = true;      // CreateUser's, kept for --idempotency_retention.
  options.trimmed_topics = {events::kPermissionsTopic};
  options.customer_read_model = true;
  service_host::ServiceHost host(argc, argv, options);
  const ServiceConfig config = ServiceConfigOrDie();
  if (!host.Setup()) return 0;  // --migrate_only
  TokenKeys keys = TokenKeysOrDie(config);
  PgIdentityStore identity_store(host.pool());
  IdentityManager identity(&identity_store, keys.signer, host.page_tokens(), config.identity);
  if (!config.bootstrap_tenant.empty()) return RunBootstrapOrDie(config, host.pool(), &identity);
  PgOrgStore org_store(host.pool());
  const ScopeCompiler compiler(host.pool());
  InProcessScopes scopes(keys.verifier, &identity, &compiler, host.redis(), host.stream_prefix());
  host.AddBackground(&scopes);
  const std::unique_ptr<customers::CustomerDirectory> directory = CustomerDirectoryOrNull(config);
  OrgManager org(&org_store, {.invalidate_scopes = scopes.invalidator(),
                              .on_events = host.RelayWaker(),
                              .customers = directory.get()});
  AccessChecker access(host.pool(), &compiler);
  AuditLog audit(host.pool(), host.page_tokens());
  host.ReadCustomers(&CustomerReadModel(), config.contacts_addr);
  host.AddConsumer(AuditLog::StreamConsumerOptions(config.audit_batch_size),
                   AuditLog::ApplyBatchFromStream());
  host.AddPeriodic("purging ended sessions", config.session_purge_interval, [&] {
    return identity.PurgeAllEndedSessions([&host] { return host.stopping(); }).status();
  });
  const auth::MetadataAuthenticator tenant_only;  // Login and RefreshToken carry no token.
  const std::optional<auth::EdgeAddressSigner> edge = enforcement::EdgeAddressSignerFromFlags();
  PermissionsService service({.org = &org,
                              .identity = &identity,
                              .access = &access,
                              .audit = &audit,
                              .runner = host.runner(kService, scopes.authenticator()),
                              .login_runner = host.runner(kService, &tenant_only),
                              .invalidate_scopes = scopes.invalidator(),
                              .edge_addresses = edge ? &*edge : nullptr});
  const auth::ServiceAuthenticator service_authenticator(enforcement::ServiceSignerFromFlags());
  DelegationService delegation(&identity, host.runner(kDelegation, &service_authenticator));
  return host.Serve({{kService, &service}, {kDelegation, &delegation}});
}

}  // namespace touchline::permissions

int main(int argc, char** argv) { return touchline::permissions::Main(argc, argv); }
