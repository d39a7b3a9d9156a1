// CheckAccess and ExplainAccess: whether a user may read or write a customer, or one field of
// it, decided by the same engine every service enforces (auth::Scope) on the user's compiled
// scope and the customer as this service's read model knows it.
#ifndef TOUCHLINE_SERVICES_PERMISSIONS_ACCESS_CHECK_H_
#define TOUCHLINE_SERVICES_PERMISSIONS_ACCESS_CHECK_H_

#include <string>

#include "absl/status/statusor.h"
#include "common/auth/request_context.h"
#include "common/pg/pool.h"
#include "services/permissions/scope_compiler.h"
#include "touchline/permissions/v1/permissions_service.pb.h"

namespace touchline::permissions {

// Thread-safe.
class AccessChecker {
 public:
  // Neither pointer is owned; both must outlive the checker.
  AccessChecker(pg::Pool* pool, const ScopeCompiler* compiler);

  // The decision for `request` with one reason per rule considered. The user is compiled as
  // if logged in (an employee or partner user by their organisation); a disabled user is
  // allowed nothing. A customer the user cannot see, or that does not exist, is allowed=false,
  // never an error. The caller needs PERMISSION_ADMINISTER unless asking about themselves;
  // then the reasons for a customer they cannot see are only "not found or not visible", as
  // for one that does not exist. `path` prefixes the request's field paths in violations
  // ("check" for ExplainAccessRequest.check). Errors: INVALID_ARGUMENT for bad input,
  // PERMISSION_DENIED, NOT_FOUND for an unknown user, the mapped PostgreSQL error.
  absl::StatusOr<v1::ExplainAccessResponse> Explain(const auth::RequestContext& caller,
                                                    v1::CheckAccessRequest request,
                                                    const std::string& path = "") const;

 private:
  pg::Pool* const pool_;
  const ScopeCompiler* const compiler_;
};

}  // namespace touchline::permissions

#endif  // TOUCHLINE_SERVICES_PERMISSIONS_ACCESS_CHECK_H_
