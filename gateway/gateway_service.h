// The gRPC adapter of touchline.gateway.v1.GatewayService.
#ifndef TOUCHLINE_GATEWAY_GATEWAY_SERVICE_H_
#define TOUCHLINE_GATEWAY_GATEWAY_SERVICE_H_

#include "common/server/executor.h"
#include "common/server/unary_call.h"
#include "gateway/customer360.h"
#include "gateway/edge.h"
#include "touchline/gateway/v1/gateway_service.grpc.pb.h"

namespace touchline::gateway {

// The response metadata (HTTP header) saying how a 360 view was served.
inline constexpr char kCacheHeader[] = "x-touchline-cache";

// The caller's credential headers as received ("authorization", "x-api-key"), to read a view
// as the caller when the tenant has no service key.
Headers CredentialHeaders(const std::multimap<grpc::string_ref, grpc::string_ref>& metadata);

// GetCustomer360 takes and answers bytes (a raw callback method): a cache hit is written as
// the view prepared for the caller, with no message built or serialized for it. The service
// stays registered as GatewayService, so server reflection still describes it.
class GatewayService final
    : public v1::GatewayService::WithRawCallbackMethod_GetCustomer360<v1::GatewayService::Service> {
 public:
  // Every argument must outlive the service. `runner` authenticates callers (with the
  // gateway's ScopeAuthenticator); `executor` runs what blocks (rate limits in Redis).
  GatewayService(server::UnaryRunner* runner, server::Executor* executor, const EdgeGuard* edge,
                 Customer360Service* views);

  // INVALID_ARGUMENT when the request is not a GetCustomer360Request; otherwise as
  // Customer360Service::Get, RESOURCE_EXHAUSTED from the rate limits.
  grpc::ServerUnaryReactor* GetCustomer360(grpc::CallbackServerContext* context,
                                           const grpc::ByteBuffer* request,
                                           grpc::ByteBuffer* response) override;

 private:
  server::UnaryRunner* const runner_;
  server::Executor* const executor_;
  const EdgeGuard* const edge_;
  Customer360Service* const views_;
};

}  // namespace touchline::gateway

#endif  // TOUCHLINE_GATEWAY_GATEWAY_SERVICE_H_
