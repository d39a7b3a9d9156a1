#include "gateway/grpc_forwarder.h"

#include <chrono>
#include <string>
#include <utility>

#include "common/auth/edge_address.h"
#include "common/auth/request_context.h"
#include "common/status/grpc_status.h"
#include "grpcpp/client_context.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/support/byte_buffer.h"

namespace touchline::gateway {
namespace {

std::string_view View(grpc::string_ref ref) { return {ref.data(), ref.size()}; }

// Copies the service's response metadata the gateway passes back from `from` into `add`.
template <typename Add>
void CopyForwarded(const std::multimap<grpc::string_ref, grpc::string_ref>& from, Add add) {
  for (const auto& [name, value] : from) {
    if (IsForwardedHeader(View(name))) add(std::string(View(name)), std::string(View(value)));
  }
}

}  // namespace

// One forwarded call: read the request, admit the caller on the executor, call the service,
// hand back its answer. Deletes itself when gRPC is done with it.
class GrpcForwarder::Call final : public grpc::ServerGenericBidiReactor {
 public:
  Call(GrpcForwarder* forwarder, grpc::GenericCallbackServerContext* context)
      : forwarder_(forwarder), context_(context), start_(absl::Now()) {
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      Done(absl::InvalidArgumentError("the call carried no request message"));
      return;
    }
    method_ = forwarder_->backends_->Find(context_->method());
    if (method_ == nullptr) {
      request_id_ = auth::RequestIdOf(context_->client_metadata());
      Done(absl::UnimplementedError("the gateway does not serve " + context_->method()));
      return;
    }
    const absl::Status queued = forwarder_->executor_->Submit([this] { Admit(); });
    if (!queued.ok()) Done(queued);
  }

  void OnCancel() override { backend_context_.TryCancel(); }

  void OnDone() override {
    // Unknown methods share one label: their names are the caller's to choose.
    forwarder_->metrics_.Record(method_ != nullptr ? method_->path : "unknown", code_,
                                absl::Now() - start_);
    delete this;
  }

 private:
  void Admit() {
    absl::StatusOr<auth::RequestContext> caller =
        forwarder_->edge_->Admit(method_->credential_free, context_->client_metadata());
    request_id_ = caller.ok() ? caller->request_id : auth::RequestIdOf(context_->client_metadata());
    if (!caller.ok()) {
      Done(caller.status());
      return;
    }
    tenant_id_ = caller->tenant_id;
    // One id for the call in the logs of the gateway and of the service, among them.
    absl::StatusOr<Headers> forwarded = forwarder_->edge_->ForwardedMetadata(
        context_->client_metadata(), *caller, method_->credential_free,
        auth::PeerAddress(context_->peer()));
    if (!forwarded.ok()) {
      Done(forwarded.status());
      return;
    }
    for (auto& [name, value] : *forwarded) {
      backend_context_.AddMetadata(std::move(name), std::move(value));
    }
    const auto no_deadline = std::chrono::system_clock::time_point::max();
    backend_context_.set_deadline(
        context_->deadline() != no_deadline
            ? context_->deadline()
            : absl::ToChronoTime(absl::Now() + forwarder_->default_timeout_));
    grpc::GenericStub(method_->channel)
        .UnaryCall(&backend_context_, method_->path, grpc::StubOptions(), &request_, &response_,
                   [this](grpc::Status status) { Answer(std::move(status)); });
  }

  // Runs on a gRPC thread once the service answered.
  void Answer(grpc::Status status) {
    CopyForwarded(backend_context_.GetServerInitialMetadata(),
                  [this](std::string name, std::string value) {
                    context_->AddInitialMetadata(std::move(name), std::move(value));
                  });
    CopyForwarded(backend_context_.GetServerTrailingMetadata(),
                  [this](std::string name, std::string value) {
                    context_->AddTrailingMetadata(std::move(name), std::move(value));
                  });
    code_ = static_cast<absl::StatusCode>(status.error_code());
    LogFinished("grpc", context_->method(), request_id_, tenant_id_, status::FromGrpcStatus(status),
                absl::Now() - start_, forwarder_->access_log_);
    if (status.ok()) {
      StartWriteAndFinish(&response_, grpc::WriteOptions(), status);
    } else {
      // The service's details (BadRequest, ErrorInfo...) travel on unchanged.
      Finish(status);
    }
  }

  // Ends a call the gateway answers itself.
  void Done(const absl::Status& status) {
    code_ = status.code();
    LogFinished("grpc", context_->method(), request_id_, tenant_id_, status, absl::Now() - start_,
                forwarder_->access_log_);
    if (!request_id_.empty()) context_->AddInitialMetadata(auth::kRequestIdHeader, request_id_);
    Finish(status::ToGrpcStatus(status));
  }

  GrpcForwarder* const forwarder_;
  grpc::GenericCallbackServerContext* const context_;
  const absl::Time start_;
  const BackendMethod* method_ = nullptr;
  std::string request_id_;
  std::string tenant_id_;
  absl::StatusCode code_ = absl::StatusCode::kUnknown;
  grpc::ByteBuffer request_;
  grpc::ByteBuffer response_;
  grpc::ClientContext backend_context_;
};

GrpcForwarder::GrpcForwarder(const Backends* backends, const EdgeGuard* edge,
                             server::Executor* executor, absl::Duration default_timeout,
                             bool access_log)
    : backends_(backends),
      edge_(edge),
      executor_(executor),
      default_timeout_(default_timeout),
      access_log_(access_log),
      metrics_("touchline.gateway.Forward") {}

grpc::ServerGenericBidiReactor* GrpcForwarder::CreateReactor(
    grpc::GenericCallbackServerContext* context) {
  return new Call(this, context);
}

}  // namespace touchline::gateway
