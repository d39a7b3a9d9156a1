// Compiles the EffectiveScope of a principal from roles, reporting lines, territories, teams,
// partner organisations and field policies, exactly as touchline.permissions.v1.EffectiveScope
// documents it.
#ifndef TOUCHLINE_SERVICES_PERMISSIONS_SCOPE_COMPILER_H_
#define TOUCHLINE_SERVICES_PERMISSIONS_SCOPE_COMPILER_H_

#include <functional>
#include <memory>
#include <pqxx/transaction_base>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/auth/scope.h"
#include "common/pg/pool.h"
#include "services/permissions/identity/identity_manager.h"
#include "services/permissions/org/pg_org_store.h"

namespace touchline::permissions {

struct ScopeCompilerOptions {
  // Longest a compiled scope is valid (EffectiveScope.expire_time), however long the session
  // or key lasts: services fetch it again after this at the latest.
  absl::Duration max_scope_age = absl::Minutes(5);
  // What "now" is; tests replace it.
  std::function<absl::Time()> clock = &absl::Now;
};

// Thread-safe.
class ScopeCompiler {
 public:
  // `pool` (not owned) reaches the permissions schema.
  explicit ScopeCompiler(pg::Pool* pool, ScopeCompilerOptions options = {});

  // The scope of `principal` (from IdentityManager::ResolveSession or ResolveApiKey):
  // - rank and permissions of its role; for an API key only those of the key's permissions
  //   the role also has;
  // - all_customers for DATA_SCOPE_TENANT; owner_ids (the user and everyone reporting to them
  //   at any depth, disabled users included) for OWNED and TERRITORY; regions of the user's
  //   territories for TERRITORY; nothing of these for SHARED;
  // - grantees "team:<id>" for each of the user's teams and "partner:<id>" for a partner
  //   user; vip_visible when rank >= auth::kVipMinRank;
  // - field_rules: the role's policies that are not EDITABLE, and for partner users customer
  //   contact_persons.phones and contact_persons.emails MASKED (PHONE, EMAIL) unless the role
  //   has a policy for that exact path; masks resolved (auth::Scope::Compile);
  // - expire_time = min(now + max_scope_age, the principal's expire_time).
  // FAILED_PRECONDITION when the principal's role does not exist; the mapped PostgreSQL error
  // otherwise.
  absl::StatusOr<std::shared_ptr<const auth::Scope>> Compile(const Principal& principal) const;
  // As above, inside the caller's transaction.
  absl::StatusOr<std::shared_ptr<const auth::Scope>> Compile(pqxx::transaction_base& txn,
                                                             const Principal& principal) const;

 private:
  absl::StatusOr<std::shared_ptr<const auth::Scope>> Compile(PgOrgRows& org,
                                                             const Principal& principal) const;

  pg::Pool* const pool_;
  const ScopeCompilerOptions options_;
};

}  // namespace touchline::permissions

#endif  // TOUCHLINE_SERVICES_PERMISSIONS_SCOPE_COMPILER_H_
