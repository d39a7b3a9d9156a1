// The gRPC front's forwarding: every public method of contacts, touchpoints and permissions
// reaches its service through the gateway without a handler per RPC. The request and
// response stay serialized bytes; the gateway authenticates and rate-limits the caller, then
// passes the call on with its deadline and the metadata EdgeGuard::ForwardedMetadata allows,
// and passes back the service's answer, error details and metadata included.
#ifndef TOUCHLINE_GATEWAY_GRPC_FORWARDER_H_
#define TOUCHLINE_GATEWAY_GRPC_FORWARDER_H_

#include "absl/time/time.h"
#include "common/metrics/metrics.h"
#include "common/server/executor.h"
#include "gateway/backends.h"
#include "gateway/edge.h"
#include "grpcpp/generic/async_generic_service.h"

namespace touchline::gateway {

// Register with server::Server::Start(..., generic). Every argument must outlive the server.
class GrpcForwarder final : public grpc::CallbackGenericService {
 public:
  // `executor` runs the admission (a scope fetch on a cache miss, a rate limit round trip to
  // Redis) off gRPC's threads. A call without a deadline gets `default_timeout`.
  GrpcForwarder(const Backends* backends, const EdgeGuard* edge, server::Executor* executor,
                absl::Duration default_timeout, bool access_log);

  // UNIMPLEMENTED for a method the gateway does not forward; otherwise the service's answer,
  // or UNAUTHENTICATED / RESOURCE_EXHAUSTED from the edge.
  grpc::ServerGenericBidiReactor* CreateReactor(
      grpc::GenericCallbackServerContext* context) override;

 private:
  class Call;

  const Backends* const backends_;
  const EdgeGuard* const edge_;
  server::Executor* const executor_;
  const absl::Duration default_timeout_;
  const bool access_log_;
  metrics::RpcMetrics metrics_;
};

}  // namespace touchline::gateway

#endif  // TOUCHLINE_GATEWAY_GRPC_FORWARDER_H_
