#include "services/permissions/permissions_service.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/auth/scope.h"
#include "common/status/macros.h"

namespace touchline::permissions {

using auth::RequestContext;

namespace {

// The client address Login throttles by: the one the gateway signed, else the gRPC peer's (a
// direct caller cannot claim another address).
std::string ClientAddress(const grpc::CallbackServerContext& context,
                          const auth::EdgeAddressSigner* signer) {
  if (signer != nullptr) {
    if (std::optional<std::string> signed_address =
            signer->Verify(context.client_metadata(), absl::Now())) {
      return *std::move(signed_address);
    }
  }
  return auth::PeerAddress(context.peer());
}

}  // namespace

PermissionsService::PermissionsService(PermissionsServiceDeps deps) : deps_(std::move(deps)) {}

void PermissionsService::Invalidate(const RequestContext& caller,
                                    std::vector<std::string> session_ids) {
  if (deps_.invalidate_scopes) deps_.invalidate_scopes(caller.tenant_id, session_ids);
}

grpc::ServerUnaryReactor* PermissionsService::CreateUser(grpc::CallbackServerContext* context,
                                                         const v1::CreateUserRequest* request,
                                                         v1::CreateUserResponse* response) {
  return deps_.runner->Run(
      context, "CreateUser", [=, this](const RequestContext& caller) -> absl::Status {
        TL_ASSIGN_OR_RETURN(*response->mutable_user(),
                            deps_.identity->CreateUser(caller, *request));
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* PermissionsService::GetUser(grpc::CallbackServerContext* context,
                                                      const v1::GetUserRequest* request,
                                                      v1::GetUserResponse* response) {
  return deps_.runner->Run(
      context, "GetUser", [=, this](const RequestContext& caller) -> absl::Status {
        TL_ASSIGN_OR_RETURN(*response->mutable_user(),
                            deps_.identity->GetUser(caller, request->user_id()));
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* PermissionsService::ListUsers(grpc::CallbackServerContext* context,
                                                        const v1::ListUsersRequest* request,
                                                        v1::ListUsersResponse* response) {
  return deps_.runner->Run(
      context, "ListUsers", [=, this](const RequestContext& caller) -> absl::Status {
        TL_ASSIGN_OR_RETURN(*response, deps_.identity->ListUsers(caller, *request));
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* PermissionsService::UpdateUser(grpc::CallbackServerContext* context,
                                                         const v1::UpdateUserRequest* request,
                                                         v1::UpdateUserResponse* response) {
  return deps_.runner->Run(
      context, "UpdateUser", [=, this](const RequestContext& caller) -> absl::Status {
        TL_ASSIGN_OR_RETURN(*response->mutable_user(),
                            deps_.identity->UpdateUser(caller, *request));
        // A role or reporting line change alters this user's scope and their managers'.
        Invalidate(caller, {});
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* PermissionsService::DisableUser(grpc::CallbackServerContext* context,
                                                          const v1::DisableUserRequest* request,
                                                          v1::DisableUserResponse* response) {
  return deps_.runner->Run(
      context, "DisableUser", [=, this](const RequestContext& caller) -> absl::Status {
        TL_ASSIGN_OR_RETURN(*response->mutable_user(),
                            deps_.identity->DisableUser(caller, request->user_id()));
        Invalidate(caller, {});
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* PermissionsService::EnrollTotp(grpc::CallbackServerContext* context,
                                                         const v1::EnrollTotpRequest* /*request*/,
                                                         v1::EnrollTotpResponse* response) {
  return deps_.runner->Run(context, "EnrollTotp",
                           [=, this](const RequestContext& caller) -> absl::Status {
                             TL_ASSIGN_OR_RETURN(*response, deps_.identity->EnrollTotp(caller));
                             return absl::OkStatus();
                           });
}

grpc::ServerUnaryReactor* PermissionsService::ConfirmTotp(grpc::CallbackServerContext* context,
                                                          const v1::ConfirmTotpRequest* request,
                                                          v1::ConfirmTotpResponse* response) {
  return deps_.runner->Run(
      context, "ConfirmTotp", [=, this](const RequestContext& caller) -> absl::Status {
        TL_ASSIGN_OR_RETURN(*response->mutable_user(),
                            deps_.identity->ConfirmTotp(caller, request->code()));
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* PermissionsService::CreateRole(grpc::CallbackServerContext* context,
                                                         const v1::CreateRoleRequest* request,
                                                         v1::CreateRoleResponse* response) {
  return deps_.runner->Run(
      context, "CreateRole", [=, this](const RequestContext& caller) -> absl::Status {
        TL_ASSIGN_OR_RETURN(*response->mutable_role(), deps_.org->CreateRole(caller, *request));
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* PermissionsService::ListRoles(grpc::CallbackServerContext* context,
                                                        const v1::ListRolesRequest* /*request*/,
                                                        v1::ListRolesResponse* response) {
  return deps_.runner->Run(context, "ListRoles",
                           [=, this](const RequestContext& caller) -> absl::Status {
                             TL_ASSIGN_OR_RETURN(*response, deps_.org->ListRoles(caller));
                             return absl::OkStatus();
                           });
}

grpc::ServerUnaryReactor* PermissionsService::UpdateRole(grpc::CallbackServerContext* context,
                                                         const v1::UpdateRoleRequest* request,
                                                         v1::UpdateRoleResponse* response) {
  return deps_.runner->Run(
      context, "UpdateRole", [=, this](const RequestContext& caller) -> absl::Status {
        TL_ASSIGN_OR_RETURN(*response->mutable_role(), deps_.org->UpdateRole(caller, *request));
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* PermissionsService::CreateTerritory(
    grpc::CallbackServerContext* context, const v1::CreateTerritoryRequest* request,
    v1::CreateTerritoryResponse* response) {
  return deps_.runner->Run(context, "CreateTerritory",
                           [=, this](const RequestContext& caller) -> absl::Status {
                             TL_ASSIGN_OR_RETURN(*response->mutable_territory(),
                                                 deps_.org->CreateTerritory(caller, *request));
                             return absl::OkStatus();
                           });
}

grpc::ServerUnaryReactor* PermissionsService::ListTerritories(
    grpc::CallbackServerContext* context, const v1::ListTerritoriesRequest* /*request*/,
    v1::ListTerritoriesResponse* response) {
  return deps_.runner->Run(context, "ListTerritories",
                           [=, this](const RequestContext& caller) -> absl::Status {
                             TL_ASSIGN_OR_RETURN(*response, deps_.org->ListTerritories(caller));
                             return absl::OkStatus();
                           });
}

grpc::ServerUnaryReactor* PermissionsService::UpdateTerritory(
    grpc::CallbackServerContext* context, const v1::UpdateTerritoryRequest* request,
    v1::UpdateTerritoryResponse* response) {
  return deps_.runner->Run(context, "UpdateTerritory",
                           [=, this](const RequestContext& caller) -> absl::Status {
                             TL_ASSIGN_OR_RETURN(*response->mutable_territory(),
                                                 deps_.org->UpdateTerritory(caller, *request));
                             return absl::OkStatus();
                           });
}

grpc::ServerUnaryReactor* PermissionsService::CreateTeam(grpc::CallbackServerContext* context,
                                                         const v1::CreateTeamRequest* request,
                                                         v1::CreateTeamResponse* response) {
  return deps_.runner->Run(
      context, "CreateTeam", [=, this](const RequestContext& caller) -> absl::Status {
        TL_ASSIGN_OR_RETURN(*response->mutable_team(), deps_.org->CreateTeam(caller, *request));
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* PermissionsService::ListTeams(grpc::CallbackServerContext* context,
                                                        const v1::ListTeamsRequest* /*request*/,
                                                        v1::ListTeamsResponse* response) {
  return deps_.runner->Run(context, "ListTeams",
                           [=, this](const RequestContext& caller) -> absl::Status {
                             TL_ASSIGN_OR_RETURN(*response, deps_.org->ListTeams(caller));
                             return absl::OkStatus();
                           });
}

grpc::ServerUnaryReactor* PermissionsService::UpdateTeam(grpc::CallbackServerContext* context,
                                                         const v1::UpdateTeamRequest* request,
                                                         v1::UpdateTeamResponse* response) {
  return deps_.runner->Run(
      context, "UpdateTeam", [=, this](const RequestContext& caller) -> absl::Status {
        TL_ASSIGN_OR_RETURN(*response->mutable_team(), deps_.org->UpdateTeam(caller, *request));
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* PermissionsService::CreatePartnerOrganization(
    grpc::CallbackServerContext* context, const v1::CreatePartnerOrganizationRequest* request,
    v1::CreatePartnerOrganizationResponse* response) {
  return deps_.runner->Run(context, "CreatePartnerOrganization",
                           [=, this](const RequestContext& caller) -> absl::Status {
                             TL_ASSIGN_OR_RETURN(
                                 *response->mutable_partner_organization(),
                                 deps_.org->CreatePartnerOrganization(caller, *request));
                             return absl::OkStatus();
                           });
}

grpc::ServerUnaryReactor* PermissionsService::ListPartnerOrganizations(
    grpc::CallbackServerContext* context, const v1::ListPartnerOrganizationsRequest* /*request*/,
    v1::ListPartnerOrganizationsResponse* response) {
  return deps_.runner->Run(
      context, "ListPartnerOrganizations", [=, this](const RequestContext& caller) -> absl::Status {
        TL_ASSIGN_OR_RETURN(*response, deps_.org->ListPartnerOrganizations(caller));
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* PermissionsService::ShareCustomer(grpc::CallbackServerContext* context,
                                                            const v1::ShareCustomerRequest* request,
                                                            v1::ShareCustomerResponse* response) {
  return deps_.runner->Run(
      context, "ShareCustomer", [=, this](const RequestContext& caller) -> absl::Status {
        TL_ASSIGN_OR_RETURN(*response->mutable_share(), deps_.org->ShareCustomer(caller, *request));
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* PermissionsService::UnshareCustomer(
    grpc::CallbackServerContext* context, const v1::UnshareCustomerRequest* request,
    v1::UnshareCustomerResponse* /*response*/) {
  return deps_.runner->Run(context, "UnshareCustomer",
                           [=, this](const RequestContext& caller) -> absl::Status {
                             return deps_.org->UnshareCustomer(caller, *request);
                           });
}

grpc::ServerUnaryReactor* PermissionsService::ListCustomerShares(
    grpc::CallbackServerContext* context, const v1::ListCustomerSharesRequest* request,
    v1::ListCustomerSharesResponse* response) {
  return deps_.runner->Run(
      context, "ListCustomerShares", [=, this](const RequestContext& caller) -> absl::Status {
        TL_ASSIGN_OR_RETURN(*response, deps_.org->ListCustomerShares(caller, *request));
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* PermissionsService::SetFieldPolicy(
    grpc::CallbackServerContext* context, const v1::SetFieldPolicyRequest* request,
    v1::SetFieldPolicyResponse* response) {
  return deps_.runner->Run(context, "SetFieldPolicy",
                           [=, this](const RequestContext& caller) -> absl::Status {
                             TL_ASSIGN_OR_RETURN(*response->mutable_policy(),
                                                 deps_.org->SetFieldPolicy(caller, *request));
                             return absl::OkStatus();
                           });
}

grpc::ServerUnaryReactor* PermissionsService::DeleteFieldPolicy(
    grpc::CallbackServerContext* context, const v1::DeleteFieldPolicyRequest* request,
    v1::DeleteFieldPolicyResponse* /*response*/) {
  return deps_.runner->Run(context, "DeleteFieldPolicy",
                           [=, this](const RequestContext& caller) -> absl::Status {
                             return deps_.org->DeleteFieldPolicy(caller, *request);
                           });
}

grpc::ServerUnaryReactor* PermissionsService::ListFieldPolicies(
    grpc::CallbackServerContext* context, const v1::ListFieldPoliciesRequest* request,
    v1::ListFieldPoliciesResponse* response) {
  return deps_.runner->Run(
      context, "ListFieldPolicies", [=, this](const RequestContext& caller) -> absl::Status {
        TL_ASSIGN_OR_RETURN(*response, deps_.org->ListFieldPolicies(caller, *request));
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* PermissionsService::Login(grpc::CallbackServerContext* context,
                                                    const v1::LoginRequest* request,
                                                    v1::LoginResponse* response) {
  return deps_.login_runner->Run(
      context, "Login", [=, this](const RequestContext& caller) -> absl::Status {
        TL_ASSIGN_OR_RETURN(*response,
                            deps_.identity->Login(caller.tenant_id, caller.client,
                                                  ClientAddress(*context, deps_.edge_addresses),
                                                  caller.request_id, *request));
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* PermissionsService::RefreshToken(grpc::CallbackServerContext* context,
                                                           const v1::RefreshTokenRequest* request,
                                                           v1::RefreshTokenResponse* response) {
  return deps_.login_runner->Run(
      context, "RefreshToken", [=, this](const RequestContext& caller) -> absl::Status {
        TL_ASSIGN_OR_RETURN(
            *response->mutable_tokens(),
            deps_.identity->Refresh(caller.tenant_id, caller.client, caller.request_id, *request));
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* PermissionsService::RevokeSession(
    grpc::CallbackServerContext* context, const v1::RevokeSessionRequest* request,
    v1::RevokeSessionResponse* /*response*/) {
  return deps_.runner->Run(
      context, "RevokeSession", [=, this](const RequestContext& caller) -> absl::Status {
        TL_RETURN_IF_ERROR(deps_.identity->RevokeSession(caller, request->session_id()));
        Invalidate(caller, {request->session_id()});
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* PermissionsService::CreateApiKey(grpc::CallbackServerContext* context,
                                                           const v1::CreateApiKeyRequest* request,
                                                           v1::CreateApiKeyResponse* response) {
  return deps_.runner->Run(
      context, "CreateApiKey", [=, this](const RequestContext& caller) -> absl::Status {
        TL_ASSIGN_OR_RETURN(*response, deps_.identity->CreateApiKey(caller, *request));
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* PermissionsService::ListApiKeys(grpc::CallbackServerContext* context,
                                                          const v1::ListApiKeysRequest* request,
                                                          v1::ListApiKeysResponse* response) {
  return deps_.runner->Run(
      context, "ListApiKeys", [=, this](const RequestContext& caller) -> absl::Status {
        TL_ASSIGN_OR_RETURN(*response, deps_.identity->ListApiKeys(caller, *request));
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* PermissionsService::RevokeApiKey(grpc::CallbackServerContext* context,
                                                           const v1::RevokeApiKeyRequest* request,
                                                           v1::RevokeApiKeyResponse* response) {
  return deps_.runner->Run(
      context, "RevokeApiKey", [=, this](const RequestContext& caller) -> absl::Status {
        TL_ASSIGN_OR_RETURN(*response->mutable_api_key(),
                            deps_.identity->RevokeApiKey(caller, request->api_key_id()));
        Invalidate(caller, {request->api_key_id()});
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* PermissionsService::GetEffectiveScope(
    grpc::CallbackServerContext* context, const v1::GetEffectiveScopeRequest* /*request*/,
    v1::GetEffectiveScopeResponse* response) {
  return deps_.runner->Run(context, "GetEffectiveScope",
                           [=, this](const RequestContext& caller) -> absl::Status {
                             TL_ASSIGN_OR_RETURN(const auth::Scope* scope, auth::ScopeOf(caller));
                             *response->mutable_scope() = scope->proto();
                             return absl::OkStatus();
                           });
}

grpc::ServerUnaryReactor* PermissionsService::CheckAccess(grpc::CallbackServerContext* context,
                                                          const v1::CheckAccessRequest* request,
                                                          v1::CheckAccessResponse* response) {
  return deps_.runner->Run(context, "CheckAccess",
                           [=, this](const RequestContext& caller) -> absl::Status {
                             TL_ASSIGN_OR_RETURN(v1::ExplainAccessResponse explained,
                                                 deps_.access->Explain(caller, *request));
                             *response = std::move(*explained.mutable_decision());
                             return absl::OkStatus();
                           });
}

grpc::ServerUnaryReactor* PermissionsService::ExplainAccess(grpc::CallbackServerContext* context,
                                                            const v1::ExplainAccessRequest* request,
                                                            v1::ExplainAccessResponse* response) {
  return deps_.runner->Run(
      context, "ExplainAccess", [=, this](const RequestContext& caller) -> absl::Status {
        TL_ASSIGN_OR_RETURN(*response, deps_.access->Explain(caller, request->check(), "check"));
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* PermissionsService::ListAuditEvents(
    grpc::CallbackServerContext* context, const v1::ListAuditEventsRequest* request,
    v1::ListAuditEventsResponse* response) {
  return deps_.runner->Run(context, "ListAuditEvents",
                           [=, this](const RequestContext& caller) -> absl::Status {
                             TL_ASSIGN_OR_RETURN(*response, deps_.audit->List(caller, *request));
                             return absl::OkStatus();
                           });
}

grpc::ServerUnaryReactor* PermissionsService::VerifyAuditChain(
    grpc::CallbackServerContext* context, const v1::VerifyAuditChainRequest* /*request*/,
    v1::VerifyAuditChainResponse* response) {
  return deps_.runner->Run(context, "VerifyAuditChain",
                           [=, this](const RequestContext& caller) -> absl::Status {
                             TL_ASSIGN_OR_RETURN(*response, deps_.audit->Verify(caller));
                             return absl::OkStatus();
                           });
}

}  // namespace touchline::permissions
