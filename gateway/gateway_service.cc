#include "gateway/gateway_service.h"

#include <string>
#include <utility>

#include "common/auth/scope_authenticator.h"

namespace touchline::gateway {

Headers CredentialHeaders(const std::multimap<grpc::string_ref, grpc::string_ref>& metadata) {
  Headers headers;
  for (const char* name : {auth::kAuthorizationHeader, auth::kApiKeyHeader}) {
    const auto [begin, end] = metadata.equal_range(name);
    for (auto it = begin; it != end; ++it) {
      headers.emplace_back(name, std::string(it->second.data(), it->second.size()));
    }
  }
  return headers;
}

GatewayService::GatewayService(server::UnaryRunner* runner, server::Executor* executor,
                               const EdgeGuard* edge, Customer360Service* views)
    : runner_(runner), executor_(executor), edge_(edge), views_(views) {}

grpc::ServerUnaryReactor* GatewayService::GetCustomer360(grpc::CallbackServerContext* context,
                                                         const v1::GetCustomer360Request* request,
                                                         v1::GetCustomer360Response* response) {
  return runner_->RunAsync(
      context, "GetCustomer360",
      [=, this](const auth::RequestContext& caller, server::UnaryRunner::Done done) {
        auto answer = [context, response, done](absl::StatusOr<Customer360Service::Served> served) {
          if (served.ok()) {
            *response = std::move(served->response);
            context->AddInitialMetadata(kCacheHeader,
                                        std::string(CacheOutcomeName(served->outcome)));
          }
          done(served.status());
        };
        Headers credential = CredentialHeaders(context->client_metadata());
        if (!edge_->Limits(caller)) {
          views_->GetAsync(caller, std::move(credential), *request, std::move(answer));
          return;
        }
        // The limit costs a Redis round trip, which must not block a gRPC thread.
        const absl::Status queued = executor_->Submit([=, this] {
          if (absl::Status limited = edge_->Limit(caller); !limited.ok()) {
            answer(limited);
            return;
          }
          answer(views_->Get(caller, credential, *request));
        });
        if (!queued.ok()) done(queued);
      });
}

}  // namespace touchline::gateway
