// The gRPC adapter of DelegationService (delegation_service.proto): access tokens of a user
// for a Touchline service acting on the user's behalf. It translates only: the runner's
// authenticator (auth::ServiceAuthenticator) checks the service credential, and
// IdentityManager::IssueDelegatedToken decides which services may ask and for whom.
#ifndef TOUCHLINE_SERVICES_PERMISSIONS_DELEGATION_SERVICE_H_
#define TOUCHLINE_SERVICES_PERMISSIONS_DELEGATION_SERVICE_H_

#include "common/server/unary_call.h"
#include "services/permissions/identity/identity_manager.h"
#include "touchline/permissions/v1/delegation_service.grpc.pb.h"

namespace touchline::permissions {

class DelegationService final : public v1::DelegationService::CallbackService {
 public:
  // No pointer is owned; both must outlive the service. `runner` authenticates with
  // auth::ServiceAuthenticator (RequestContext::caller_id "service:<name>").
  DelegationService(IdentityManager* identity, server::UnaryRunner* runner);

  grpc::ServerUnaryReactor* IssueDelegatedToken(grpc::CallbackServerContext* context,
                                                const v1::IssueDelegatedTokenRequest* request,
                                                v1::IssueDelegatedTokenResponse* response) override;

 private:
  IdentityManager* identity_;
  server::UnaryRunner* runner_;
};

}  // namespace touchline::permissions

#endif  // TOUCHLINE_SERVICES_PERMISSIONS_DELEGATION_SERVICE_H_
