#include "gateway/gateway_service.h"

#include <string>
#include <utility>

#include "common/auth/scope_authenticator.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/proto_buffer_reader.h"
#include "grpcpp/support/slice.h"

namespace touchline::gateway {
namespace {

// Parses a request as the typed handler's deserializer would.
bool ParseRequest(const grpc::ByteBuffer& request, v1::GetCustomer360Request& parsed) {
  grpc::ByteBuffer copy(request);  // shares the slices; Deserialize consumes its argument
  return grpc::SerializationTraits<v1::GetCustomer360Request>::Deserialize(&copy, &parsed).ok();
}

// `bytes` as a response buffer, without copying them.
grpc::ByteBuffer ByteBufferOf(std::string bytes) {
  auto* owned = new std::string(std::move(bytes));
  grpc::Slice slice(
      owned->data(), owned->size(), [](void* data) { delete static_cast<std::string*>(data); },
      owned);
  return grpc::ByteBuffer(&slice, 1);
}

}  // namespace

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
                                                         const grpc::ByteBuffer* request,
                                                         grpc::ByteBuffer* response) {
  return runner_->RunAsync(
      context, "GetCustomer360",
      [=, this](const auth::RequestContext& caller, server::UnaryRunner::Done done) {
        v1::GetCustomer360Request parsed;
        if (!ParseRequest(*request, parsed)) {
          done(absl::InvalidArgumentError("the request is not a GetCustomer360Request"));
          return;
        }
        auto answer = [context, response,
                       done](absl::StatusOr<Customer360Service::Encoded> encoded) {
          if (encoded.ok()) {
            *response = ByteBufferOf(std::move(encoded->bytes));
            context->AddInitialMetadata(kCacheHeader,
                                        std::string(CacheOutcomeName(encoded->outcome)));
          }
          done(encoded.status());
        };
        Headers credential = CredentialHeaders(context->client_metadata());
        if (!edge_->Limits(caller)) {
          views_->GetEncodedAsync(caller, std::move(credential), std::move(parsed),
                                  Customer360Service::Encoding::kProto, std::move(answer));
          return;
        }
        // The limit costs a Redis round trip, which must not block a gRPC thread.
        const absl::Status queued =
            executor_->Submit([this, caller, credential = std::move(credential),
                               parsed = std::move(parsed), answer]() mutable {
              if (absl::Status limited = edge_->Limit(caller); !limited.ok()) {
                answer(limited);
                return;
              }
              views_->GetEncodedAsync(caller, std::move(credential), std::move(parsed),
                                      Customer360Service::Encoding::kProto, std::move(answer));
            });
        if (!queued.ok()) done(queued);
      });
}

}  // namespace touchline::gateway
