// The gRPC adapter of the permissions service: requests to the managers, and dropping this
// process's cached scopes after changes. Nothing else.
#ifndef TOUCHLINE_SERVICES_PERMISSIONS_PERMISSIONS_SERVICE_H_
#define TOUCHLINE_SERVICES_PERMISSIONS_PERMISSIONS_SERVICE_H_

#include "common/auth/edge_address.h"
#include "common/server/unary_call.h"
#include "services/permissions/access_check.h"
#include "services/permissions/audit/audit_log.h"
#include "services/permissions/identity/identity_manager.h"
#include "services/permissions/org/org_manager.h"
#include "touchline/permissions/v1/permissions_service.grpc.pb.h"

namespace touchline::permissions {

// What the service calls; none owned, all must outlive it.
struct PermissionsServiceDeps {
  OrgManager* org;
  IdentityManager* identity;
  AccessChecker* access;
  AuditLog* audit;
  // Runs every call but Login and RefreshToken: built with the auth::ScopeAuthenticator that
  // resolves credentials in process (InProcessScopeSource).
  server::UnaryRunner* runner;
  // Runs Login and RefreshToken, which carry only the tenant (auth::MetadataAuthenticator).
  server::UnaryRunner* login_runner;
  // Drops this process's cached scopes after identity changes (OrgManager does it for its
  // own). Optional.
  InvalidateScopesFn invalidate_scopes;
  // Verifies the client address the gateway signed (--edge_secret_file), which Login throttles
  // by. Optional: without it, or without a valid signature, the gRPC peer address is used.
  const auth::EdgeAddressSigner* edge_addresses = nullptr;
};

// The managers authorise their calls (identity_manager.h, org_manager.h, access_check.h,
// audit_log.h): this class checks nothing itself.
class PermissionsService final : public v1::PermissionsService::CallbackService {
 public:
  explicit PermissionsService(PermissionsServiceDeps deps);

  grpc::ServerUnaryReactor* CreateUser(grpc::CallbackServerContext* context,
                                       const v1::CreateUserRequest* request,
                                       v1::CreateUserResponse* response) override;
  grpc::ServerUnaryReactor* GetUser(grpc::CallbackServerContext* context,
                                    const v1::GetUserRequest* request,
                                    v1::GetUserResponse* response) override;
  grpc::ServerUnaryReactor* ListUsers(grpc::CallbackServerContext* context,
                                      const v1::ListUsersRequest* request,
                                      v1::ListUsersResponse* response) override;
  grpc::ServerUnaryReactor* UpdateUser(grpc::CallbackServerContext* context,
                                       const v1::UpdateUserRequest* request,
                                       v1::UpdateUserResponse* response) override;
  grpc::ServerUnaryReactor* DisableUser(grpc::CallbackServerContext* context,
                                        const v1::DisableUserRequest* request,
                                        v1::DisableUserResponse* response) override;
  grpc::ServerUnaryReactor* EnrollTotp(grpc::CallbackServerContext* context,
                                       const v1::EnrollTotpRequest* request,
                                       v1::EnrollTotpResponse* response) override;
  grpc::ServerUnaryReactor* ConfirmTotp(grpc::CallbackServerContext* context,
                                        const v1::ConfirmTotpRequest* request,
                                        v1::ConfirmTotpResponse* response) override;
  grpc::ServerUnaryReactor* CreateRole(grpc::CallbackServerContext* context,
                                       const v1::CreateRoleRequest* request,
                                       v1::CreateRoleResponse* response) override;
  grpc::ServerUnaryReactor* ListRoles(grpc::CallbackServerContext* context,
                                      const v1::ListRolesRequest* request,
                                      v1::ListRolesResponse* response) override;
  grpc::ServerUnaryReactor* UpdateRole(grpc::CallbackServerContext* context,
                                       const v1::UpdateRoleRequest* request,
                                       v1::UpdateRoleResponse* response) override;
  grpc::ServerUnaryReactor* CreateTerritory(grpc::CallbackServerContext* context,
                                            const v1::CreateTerritoryRequest* request,
                                            v1::CreateTerritoryResponse* response) override;
  grpc::ServerUnaryReactor* ListTerritories(grpc::CallbackServerContext* context,
                                            const v1::ListTerritoriesRequest* request,
                                            v1::ListTerritoriesResponse* response) override;
  grpc::ServerUnaryReactor* UpdateTerritory(grpc::CallbackServerContext* context,
                                            const v1::UpdateTerritoryRequest* request,
                                            v1::UpdateTerritoryResponse* response) override;
  grpc::ServerUnaryReactor* CreateTeam(grpc::CallbackServerContext* context,
                                       const v1::CreateTeamRequest* request,
                                       v1::CreateTeamResponse* response) override;
  grpc::ServerUnaryReactor* ListTeams(grpc::CallbackServerContext* context,
                                      const v1::ListTeamsRequest* request,
                                      v1::ListTeamsResponse* response) override;
  grpc::ServerUnaryReactor* UpdateTeam(grpc::CallbackServerContext* context,
                                       const v1::UpdateTeamRequest* request,
                                       v1::UpdateTeamResponse* response) override;
  grpc::ServerUnaryReactor* CreatePartnerOrganization(
      grpc::CallbackServerContext* context, const v1::CreatePartnerOrganizationRequest* request,
      v1::CreatePartnerOrganizationResponse* response) override;
  grpc::ServerUnaryReactor* ListPartnerOrganizations(
      grpc::CallbackServerContext* context, const v1::ListPartnerOrganizationsRequest* request,
      v1::ListPartnerOrganizationsResponse* response) override;
  grpc::ServerUnaryReactor* ShareCustomer(grpc::CallbackServerContext* context,
                                          const v1::ShareCustomerRequest* request,
                                          v1::ShareCustomerResponse* response) override;
  grpc::ServerUnaryReactor* UnshareCustomer(grpc::CallbackServerContext* context,
                                            const v1::UnshareCustomerRequest* request,
                                            v1::UnshareCustomerResponse* response) override;
  grpc::ServerUnaryReactor* ListCustomerShares(grpc::CallbackServerContext* context,
                                               const v1::ListCustomerSharesRequest* request,
                                               v1::ListCustomerSharesResponse* response) override;
  grpc::ServerUnaryReactor* SetFieldPolicy(grpc::CallbackServerContext* context,
                                           const v1::SetFieldPolicyRequest* request,
                                           v1::SetFieldPolicyResponse* response) override;
  grpc::ServerUnaryReactor* DeleteFieldPolicy(grpc::CallbackServerContext* context,
                                              const v1::DeleteFieldPolicyRequest* request,
                                              v1::DeleteFieldPolicyResponse* response) override;
  grpc::ServerUnaryReactor* ListFieldPolicies(grpc::CallbackServerContext* context,
                                              const v1::ListFieldPoliciesRequest* request,
                                              v1::ListFieldPoliciesResponse* response) override;
  grpc::ServerUnaryReactor* Login(grpc::CallbackServerContext* context,
                                  const v1::LoginRequest* request,
                                  v1::LoginResponse* response) override;
  grpc::ServerUnaryReactor* RefreshToken(grpc::CallbackServerContext* context,
                                         const v1::RefreshTokenRequest* request,
                                         v1::RefreshTokenResponse* response) override;
  grpc::ServerUnaryReactor* RevokeSession(grpc::CallbackServerContext* context,
                                          const v1::RevokeSessionRequest* request,
                                          v1::RevokeSessionResponse* response) override;
  grpc::ServerUnaryReactor* CreateApiKey(grpc::CallbackServerContext* context,
                                         const v1::CreateApiKeyRequest* request,
                                         v1::CreateApiKeyResponse* response) override;
  grpc::ServerUnaryReactor* ListApiKeys(grpc::CallbackServerContext* context,
                                        const v1::ListApiKeysRequest* request,
                                        v1::ListApiKeysResponse* response) override;
  grpc::ServerUnaryReactor* RevokeApiKey(grpc::CallbackServerContext* context,
                                         const v1::RevokeApiKeyRequest* request,
                                         v1::RevokeApiKeyResponse* response) override;
  grpc::ServerUnaryReactor* GetEffectiveScope(grpc::CallbackServerContext* context,
                                              const v1::GetEffectiveScopeRequest* request,
                                              v1::GetEffectiveScopeResponse* response) override;
  grpc::ServerUnaryReactor* CheckAccess(grpc::CallbackServerContext* context,
                                        const v1::CheckAccessRequest* request,
                                        v1::CheckAccessResponse* response) override;
  grpc::ServerUnaryReactor* ExplainAccess(grpc::CallbackServerContext* context,
                                          const v1::ExplainAccessRequest* request,
                                          v1::ExplainAccessResponse* response) override;
  grpc::ServerUnaryReactor* ListAuditEvents(grpc::CallbackServerContext* context,
                                            const v1::ListAuditEventsRequest* request,
                                            v1::ListAuditEventsResponse* response) override;
  grpc::ServerUnaryReactor* VerifyAuditChain(grpc::CallbackServerContext* context,
                                             const v1::VerifyAuditChainRequest* request,
                                             v1::VerifyAuditChainResponse* response) override;

 private:
  // Drops the cached scopes of `session_ids` of the caller's tenant (all when empty).
  void Invalidate(const auth::RequestContext& caller, std::vector<std::string> session_ids);

  const PermissionsServiceDeps deps_;
};

}  // namespace touchline::permissions

#endif  // TOUCHLINE_SERVICES_PERMISSIONS_PERMISSIONS_SERVICE_H_
