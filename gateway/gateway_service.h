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

class GatewayService final : public v1::GatewayService::CallbackService {
 public:
  // Every argument must outlive the service. `runner` authenticates callers (with the
  // gateway's ScopeAuthenticator); `executor` runs what blocks (rate limits in Redis).
  GatewayService(server::UnaryRunner* runner, server::Executor* executor, const EdgeGuard* edge,
                 Customer360Service* views);

  grpc::ServerUnaryReactor* GetCustomer360(grpc::CallbackServerContext* context,
                                           const v1::GetCustomer360Request* request,
                                           v1::GetCustomer360Response* response) override;

 private:
  server::UnaryRunner* const runner_;
  server::Executor* const executor_;
  const EdgeGuard* const edge_;
  Customer360Service* const views_;
};

}  // namespace touchline::gateway

#endif  // TOUCHLINE_GATEWAY_GATEWAY_SERVICE_H_
