#include "gateway/gateway_service.h"

#include <string>
#include <utility>

#include "common/auth/scope_authenticator.h"
#include "common/status/macros.h"

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

GatewayService::GatewayService(server::UnaryRunner* runner, const EdgeGuard* edge,
                               Customer360Service* views)
    : runner_(runner), edge_(edge), views_(views) {}

grpc::ServerUnaryReactor* GatewayService::GetCustomer360(grpc::CallbackServerContext* context,
                                                         const v1::GetCustomer360Request* request,
                                                         v1::GetCustomer360Response* response) {
  return runner_->Run(context, "GetCustomer360", [=, this](const auth::RequestContext& caller) {
    TL_RETURN_IF_ERROR(edge_->Limit(caller));
    TL_ASSIGN_OR_RETURN(
        Customer360Service::Served served,
        views_->Get(caller, CredentialHeaders(context->client_metadata()), *request));
    *response = std::move(served.response);
    context->AddInitialMetadata(kCacheHeader, std::string(CacheOutcomeName(served.outcome)));
    return absl::OkStatus();
  });
}

}  // namespace touchline::gateway
