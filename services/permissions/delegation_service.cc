#include "services/permissions/delegation_service.h"

#include <string_view>

#include "common/auth/service_credential.h"
#include "common/status/macros.h"

namespace touchline::permissions {

DelegationService::DelegationService(IdentityManager* identity, server::UnaryRunner* runner)
    : identity_(identity), runner_(runner) {}

grpc::ServerUnaryReactor* DelegationService::IssueDelegatedToken(
    grpc::CallbackServerContext* context, const v1::IssueDelegatedTokenRequest* request,
    v1::IssueDelegatedTokenResponse* response) {
  return runner_->Run(
      context, "IssueDelegatedToken", [=, this](const auth::RequestContext& caller) {
        // "service:<name>" -> "<name>"; any other caller names no service, which the manager
        // refuses.
        const std::string_view prefix = auth::kServiceCallerPrefix;
        const std::string_view service =
            caller.caller_id.starts_with(prefix)
                ? std::string_view(caller.caller_id).substr(prefix.size())
                : std::string_view();
        TL_ASSIGN_OR_RETURN(*response, identity_->IssueDelegatedToken(
                                           request->tenant_id(), request->user_id(), service,
                                           request->reason(), caller.request_id));
        return absl::OkStatus();
      });
}

}  // namespace touchline::permissions
