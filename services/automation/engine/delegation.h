// What the engine does as a rule's owner in the other services: the owner's scope (whose field
// policies decide what a webhook payload or a task body may carry), the users and teams tasks
// go to, and changes of customers made through contacts. Each call is made with an access
// token the permissions service issues for the owner (DelegationService, which only this
// service's signed credential may ask), so contacts and permissions check the owner's own role,
// rows and field policies, and a disabled owner can do nothing.
#ifndef TOUCHLINE_SERVICES_AUTOMATION_ENGINE_DELEGATION_H_
#define TOUCHLINE_SERVICES_AUTOMATION_ENGINE_DELEGATION_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/auth/scope.h"
#include "common/auth/service_credential.h"
#include "grpcpp/channel.h"
#include "touchline/contacts/v1/contacts_service.grpc.pb.h"
#include "touchline/permissions/v1/delegation_service.grpc.pb.h"
#include "touchline/permissions/v1/permissions_service.grpc.pb.h"

namespace touchline::automation {

// The other services, as one user of one tenant sees them. Thread-safe. Errors are the
// services' own (PERMISSION_DENIED, NOT_FOUND...), UNAVAILABLE or DEADLINE_EXCEEDED when they
// cannot be reached, FAILED_PRECONDITION when the user is disabled.
class Delegation {
 public:
  virtual ~Delegation() = default;

  // The user's compiled scope.
  virtual absl::StatusOr<std::shared_ptr<const auth::Scope>> ScopeOf(const std::string& tenant_id,
                                                                     const std::string& user) = 0;
  // `user_id` (PermissionsService.GetUser), as `user` sees it.
  virtual absl::StatusOr<permissions::v1::User> GetUser(const std::string& tenant_id,
                                                        const std::string& user,
                                                        const std::string& user_id) = 0;
  // The members of team `team_id`; NOT_FOUND when the tenant has no such team.
  virtual absl::StatusOr<std::vector<std::string>> TeamMembers(const std::string& tenant_id,
                                                               const std::string& user,
                                                               const std::string& team_id) = 0;
  // The customer as `user` sees it (with its etag).
  virtual absl::StatusOr<contacts::v1::Customer> GetCustomer(const std::string& tenant_id,
                                                             const std::string& user,
                                                             const std::string& customer_id) = 0;
  // ContactsService.UpdateCustomer as `user`, with `request.request_id` also as the call's
  // x-request-id (so the change's event carries it).
  virtual absl::StatusOr<contacts::v1::Customer> UpdateCustomer(
      const std::string& tenant_id, const std::string& user,
      const contacts::v1::UpdateCustomerRequest& request) = 0;
};

struct GrpcDelegationOptions {
  // Deadline of each call.
  absl::Duration timeout = absl::Seconds(5);
  // How long a user's scope and a team's members are used before they are asked again: how
  // late a changed policy or team reaches what the engine sends.
  absl::Duration cache_ttl = absl::Seconds(30);
  std::function<absl::Time()> clock = &absl::Now;
};

// The Delegation of the running services: tokens from permissions' DelegationService (signed
// as the service "automation"), kept until a minute before they expire.
class GrpcDelegation final : public Delegation {
 public:
  GrpcDelegation(std::shared_ptr<grpc::Channel> permissions,
                 std::shared_ptr<grpc::Channel> contacts, auth::ServiceSigner signer,
                 GrpcDelegationOptions options = {});

  absl::StatusOr<std::shared_ptr<const auth::Scope>> ScopeOf(const std::string& tenant_id,
                                                             const std::string& user) override;
  absl::StatusOr<permissions::v1::User> GetUser(const std::string& tenant_id,
                                                const std::string& user,
                                                const std::string& user_id) override;
  absl::StatusOr<std::vector<std::string>> TeamMembers(const std::string& tenant_id,
                                                       const std::string& user,
                                                       const std::string& team_id) override;
  absl::StatusOr<contacts::v1::Customer> GetCustomer(const std::string& tenant_id,
                                                     const std::string& user,
                                                     const std::string& customer_id) override;
  absl::StatusOr<contacts::v1::Customer> UpdateCustomer(
      const std::string& tenant_id, const std::string& user,
      const contacts::v1::UpdateCustomerRequest& request) override;

 private:
  struct Token {
    std::string access_token;
    absl::Time expire_time;
  };
  template <typename Value>
  struct Cached {
    Value value;
    absl::Time until;
  };

  // The user's access token, from the cache or issued.
  absl::StatusOr<std::string> TokenOf(const std::string& tenant_id, const std::string& user);
  // Runs `call` with a context carrying the user's token (and `request_id`, when set); once
  // more with a new token when the first is refused as UNAUTHENTICATED (revoked meanwhile).
  absl::Status Call(const std::string& tenant_id, const std::string& user,
                    const std::string& request_id,
                    const std::function<grpc::Status(grpc::ClientContext&)>& call);

  const std::unique_ptr<permissions::v1::DelegationService::Stub> delegation_;
  const std::unique_ptr<permissions::v1::PermissionsService::Stub> permissions_;
  const std::unique_ptr<contacts::v1::ContactsService::Stub> contacts_;
  const auth::ServiceSigner signer_;
  const GrpcDelegationOptions options_;
  absl::Mutex mu_;
  // By "<tenant>/<user>".
  absl::flat_hash_map<std::string, Token> tokens_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, Cached<std::shared_ptr<const auth::Scope>>> scopes_
      ABSL_GUARDED_BY(mu_);
  // By "<tenant>/<user>/<team>".
  absl::flat_hash_map<std::string, Cached<std::vector<std::string>>> teams_ ABSL_GUARDED_BY(mu_);
};

}  // namespace touchline::automation

#endif  // TOUCHLINE_SERVICES_AUTOMATION_ENGINE_DELEGATION_H_
