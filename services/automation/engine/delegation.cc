#include "services/automation/engine/delegation.h"

#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/auth/request_context.h"
#include "common/auth/scope_authenticator.h"
#include "common/status/grpc_status.h"
#include "common/status/macros.h"
#include "grpcpp/client_context.h"

namespace touchline::automation {
namespace {

namespace pv1 = ::touchline::permissions::v1;
namespace cv1 = ::touchline::contacts::v1;

// The name the permissions service knows this service by (--delegating_services).
constexpr char kServiceName[] = "automation";
// A token is not used in its last minute: a call made with it must not outlive it.
constexpr absl::Duration kTokenMargin = absl::Minutes(1);

void SetDeadline(grpc::ClientContext& context, absl::Duration timeout) {
  context.set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(timeout));
}

}  // namespace

GrpcDelegation::GrpcDelegation(std::shared_ptr<grpc::Channel> permissions,
                               std::shared_ptr<grpc::Channel> contacts, auth::ServiceSigner signer,
                               GrpcDelegationOptions options)
    : delegation_(pv1::DelegationService::NewStub(permissions)),
      permissions_(pv1::PermissionsService::NewStub(permissions)),
      contacts_(cv1::ContactsService::NewStub(contacts)),
      signer_(std::move(signer)),
      options_(std::move(options)) {}

absl::StatusOr<std::string> GrpcDelegation::TokenOf(const std::string& tenant_id,
                                                    const std::string& user) {
  const std::string key = absl::StrCat(tenant_id, "/", user);
  const absl::Time now = options_.clock();
  {
    absl::MutexLock lock(&mu_);
    const auto found = tokens_.find(key);
    if (found != tokens_.end() && found->second.expire_time - kTokenMargin > now) {
      return found->second.access_token;
    }
  }
  grpc::ClientContext context;
  SetDeadline(context, options_.timeout);
  for (const auto& [name, value] : signer_.Sign(kServiceName, now)) {
    context.AddMetadata(name, value);
  }
  pv1::IssueDelegatedTokenRequest request;
  request.set_tenant_id(tenant_id);
  request.set_user_id(user);
  request.set_reason("automation rules owned by the user");
  pv1::IssueDelegatedTokenResponse response;
  TL_RETURN_IF_ERROR(
      status::FromGrpcStatus(delegation_->IssueDelegatedToken(&context, request, &response)));
  const absl::Time expire = absl::FromUnixSeconds(response.expire_time().seconds());
  absl::MutexLock lock(&mu_);
  tokens_[key] = Token{.access_token = response.access_token(), .expire_time = expire};
  return response.access_token();
}

absl::Status GrpcDelegation::Call(const std::string& tenant_id, const std::string& user,
                                  const std::string& request_id,
                                  const std::function<grpc::Status(grpc::ClientContext&)>& call) {
  for (int attempt = 0;; ++attempt) {
    TL_ASSIGN_OR_RETURN(const std::string token, TokenOf(tenant_id, user));
    grpc::ClientContext context;
    SetDeadline(context, options_.timeout);
    context.AddMetadata(auth::kTenantHeader, tenant_id);
    const auto [name, value] = auth::CredentialMetadata(
        auth::Credential{.kind = auth::Credential::Kind::kBearer, .secret = token});
    context.AddMetadata(name, value);
    if (!request_id.empty()) context.AddMetadata(auth::kRequestIdHeader, request_id);
    const grpc::Status status = call(context);
    if (status.error_code() != grpc::StatusCode::UNAUTHENTICATED || attempt > 0) {
      return status::FromGrpcStatus(status);
    }
    // Revoked since it was issued (a new session is made for a user enabled again).
    absl::MutexLock lock(&mu_);
    tokens_.erase(absl::StrCat(tenant_id, "/", user));
  }
}

absl::StatusOr<std::shared_ptr<const auth::Scope>> GrpcDelegation::ScopeOf(
    const std::string& tenant_id, const std::string& user) {
  const std::string key = absl::StrCat(tenant_id, "/", user);
  const absl::Time now = options_.clock();
  {
    absl::MutexLock lock(&mu_);
    const auto found = scopes_.find(key);
    if (found != scopes_.end() && found->second.until > now) return found->second.value;
  }
  pv1::GetEffectiveScopeResponse response;
  TL_RETURN_IF_ERROR(Call(tenant_id, user, "", [&](grpc::ClientContext& context) {
    return permissions_->GetEffectiveScope(&context, pv1::GetEffectiveScopeRequest(), &response);
  }));
  TL_ASSIGN_OR_RETURN(std::shared_ptr<const auth::Scope> scope,
                      auth::Scope::Compile(std::move(*response.mutable_scope())));
  absl::MutexLock lock(&mu_);
  scopes_[key] = {.value = scope, .until = now + options_.cache_ttl};
  return scope;
}

absl::StatusOr<pv1::User> GrpcDelegation::GetUser(const std::string& tenant_id,
                                                  const std::string& user,
                                                  const std::string& user_id) {
  pv1::GetUserRequest request;
  request.set_user_id(user_id);
  pv1::GetUserResponse response;
  TL_RETURN_IF_ERROR(Call(tenant_id, user, "", [&](grpc::ClientContext& context) {
    return permissions_->GetUser(&context, request, &response);
  }));
  return std::move(*response.mutable_user());
}

absl::StatusOr<std::vector<std::string>> GrpcDelegation::TeamMembers(const std::string& tenant_id,
                                                                     const std::string& user,
                                                                     const std::string& team_id) {
  const std::string key = absl::StrCat(tenant_id, "/", user, "/", team_id);
  const absl::Time now = options_.clock();
  {
    absl::MutexLock lock(&mu_);
    const auto found = teams_.find(key);
    if (found != teams_.end() && found->second.until > now) return found->second.value;
  }
  pv1::ListTeamsResponse response;
  TL_RETURN_IF_ERROR(Call(tenant_id, user, "", [&](grpc::ClientContext& context) {
    return permissions_->ListTeams(&context, pv1::ListTeamsRequest(), &response);
  }));
  for (const pv1::Team& team : response.teams()) {
    if (team.team_id() != team_id) continue;
    std::vector<std::string> members(team.member_user_ids().begin(), team.member_user_ids().end());
    absl::MutexLock lock(&mu_);
    teams_[key] = {.value = members, .until = now + options_.cache_ttl};
    return members;
  }
  return absl::NotFoundError(absl::StrCat("team ", team_id, " not found"));
}

absl::StatusOr<cv1::Customer> GrpcDelegation::GetCustomer(const std::string& tenant_id,
                                                          const std::string& user,
                                                          const std::string& customer_id) {
  cv1::GetCustomerRequest request;
  request.set_customer_id(customer_id);
  cv1::GetCustomerResponse response;
  TL_RETURN_IF_ERROR(Call(tenant_id, user, "", [&](grpc::ClientContext& context) {
    return contacts_->GetCustomer(&context, request, &response);
  }));
  return std::move(*response.mutable_customer());
}

absl::StatusOr<cv1::Customer> GrpcDelegation::UpdateCustomer(
    const std::string& tenant_id, const std::string& user,
    const cv1::UpdateCustomerRequest& request) {
  cv1::UpdateCustomerResponse response;
  TL_RETURN_IF_ERROR(Call(tenant_id, user, request.request_id(), [&](grpc::ClientContext& context) {
    return contacts_->UpdateCustomer(&context, request, &response);
  }));
  return std::move(*response.mutable_customer());
}

}  // namespace touchline::automation
