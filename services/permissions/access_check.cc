#include "services/permissions/access_check.h"

#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status/macros.h"
#include "services/permissions/customer_read_model.h"
#include "services/permissions/identity/pg_identity_store.h"
#include "services/permissions/org/org_manager.h"
#include "services/permissions/org/org_store.h"
#include "services/permissions/org/org_validation.h"

namespace touchline::permissions {
namespace {

std::string AccessWord(v1::FieldAccess access) {
  switch (access) {
    case v1::FIELD_ACCESS_HIDDEN:
      return "hidden";
    case v1::FIELD_ACCESS_MASKED:
      return "masked";
    case v1::FIELD_ACCESS_READ_ONLY:
      return "read-only";
    default:
      return "editable";
  }
}

// The principal a user is when logged in, without a session.
Principal LoggedIn(const std::string& tenant, const UserRecord& user) {
  return Principal{.tenant_id = tenant,
                   .user_id = user.user_id,
                   .session_id = "",
                   .kind = user.partner_org_id.empty() ? v1::PRINCIPAL_KIND_USER
                                                       : v1::PRINCIPAL_KIND_PARTNER_USER,
                   .role_id = user.role_id,
                   .partner_org_id = user.partner_org_id,
                   .key_permissions = {},
                   .is_api_key = false,
                   .expire_time = absl::InfiniteFuture()};
}

}  // namespace

AccessChecker::AccessChecker(pg::Pool* pool, const ScopeCompiler* compiler)
    : pool_(pool), compiler_(compiler) {}

absl::StatusOr<v1::ExplainAccessResponse> AccessChecker::Explain(const auth::RequestContext& caller,
                                                                 v1::CheckAccessRequest request,
                                                                 const std::string& path) const {
  TL_ASSIGN_OR_RETURN(const auth::Scope* caller_scope, auth::ScopeOf(caller));
  TL_RETURN_IF_ERROR(CheckAccessRequest(request, path));
  const bool about_self = request.user_id() == caller_scope->user_id();
  const bool admin = caller_scope->Has(v1::PERMISSION_ADMINISTER);
  if (!about_self && !admin) {
    return absl::PermissionDeniedError(
        "PERMISSION_ADMINISTER is required to ask about another user");
  }
  const auth::Access access =
      request.action() == v1::ACCESS_ACTION_READ ? auth::Access::kRead : auth::Access::kWrite;
  v1::ExplainAccessResponse response;
  v1::CheckAccessResponse& decision = *response.mutable_decision();
  const auto reason = [&response](std::string text) { response.add_reasons(std::move(text)); };
  TL_RETURN_IF_ERROR(pool_->Transact([&](pqxx::work& txn) -> absl::Status {
    PgIdentityRows users(txn);
    TL_ASSIGN_OR_RETURN(const std::optional<UserRecord> user,
                        users.FindUser(caller.tenant_id, request.user_id(), RowLock::kNone));
    TL_RETURN_IF_ERROR(users.Finish(absl::OkStatus()));
    if (!user) return absl::NotFoundError(absl::StrCat("user ", request.user_id(), " not found"));
    if (user->state == v1::USER_STATE_DISABLED) {
      reason(absl::StrCat("user ", request.user_id(), " is disabled"));
      return absl::OkStatus();
    }
    TL_ASSIGN_OR_RETURN(const std::shared_ptr<const auth::Scope> scope,
                        compiler_->Compile(txn, LoggedIn(caller.tenant_id, *user)));
    const std::optional<KnownCustomer> customer =
        FindCustomer(txn, caller.tenant_id, request.customer_id());
    if (!customer || (!admin && !scope->Allows(auth::Access::kRead, customer->attributes))) {
      // Only an administrator learns whether an invisible customer exists.
      reason(absl::StrCat("customer ", request.customer_id(),
                          admin ? " not found" : " not found or not visible"));
      return absl::OkStatus();
    }
    for (std::string& line : scope->Explain(access, customer->attributes)) reason(std::move(line));
    bool allowed = scope->Allows(access, customer->attributes);
    if (!request.field_path().empty()) {
      const v1::FieldAccess field =
          scope->FieldAccessOf(auth::kCustomerResource, request.field_path());
      const bool field_allowed = access == auth::Access::kRead ? field != v1::FIELD_ACCESS_HIDDEN
                                                               : field == v1::FIELD_ACCESS_EDITABLE;
      reason(absl::StrCat("field ", request.field_path(), " is ", AccessWord(field), " for role ",
                          scope->proto().role_id()));
      allowed = allowed && field_allowed;
      reason(absl::StrCat("field ", access == auth::Access::kRead ? "read" : "write",
                          allowed ? " allowed" : " denied"));
      if (allowed && access == auth::Access::kRead) decision.set_field_access(field);
    }
    decision.set_allowed(allowed);
    return absl::OkStatus();
  }));
  return response;
}

}  // namespace touchline::permissions
