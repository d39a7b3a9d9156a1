#include "common/server/unary_call.h"

#include <exception>
#include <utility>

#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "common/log/log.h"
#include "common/status/grpc_status.h"

namespace touchline::server {
namespace {

// Failures that mean a defect or lost data on our side, as opposed to a bad or unlucky call.
bool IsServerFault(absl::StatusCode code) {
  return code == absl::StatusCode::kInternal || code == absl::StatusCode::kUnknown ||
         code == absl::StatusCode::kDataLoss;
}

}  // namespace

UnaryRunner::UnaryRunner(std::string service_name, Executor* executor,
                         const auth::Authenticator* authenticator, bool access_log,
                         std::function<absl::Time()> clock)
    : service_name_(std::move(service_name)),
      executor_(executor),
      authenticator_(authenticator),
      access_log_(access_log),
      clock_(std::move(clock)),
      metrics_(service_name_) {}

bool UnaryRunner::DeadlinePassed(const grpc::CallbackServerContext* context) const {
  // A call without a deadline has time_point::max(), which absl::Time represents exactly.
  return absl::FromChrono(context->deadline()) <= clock_();
}

namespace {

// "<peer> <user agent>" for the audit log, e.g. "ipv4:10.0.3.7:51234 grpc-c++/1.51.1", cut to
// 256 bytes: the user agent is the caller's to choose.
std::string ClientOf(const grpc::CallbackServerContext* context) {
  std::string client = context->peer();
  const auto agent = context->client_metadata().find("user-agent");
  if (agent != context->client_metadata().end()) {
    client.append(" ").append(agent->second.data(), agent->second.size());
  }
  if (client.size() > 256) client.resize(256);
  return client;
}

}  // namespace

std::optional<auth::RequestContext> UnaryRunner::Admit(grpc::CallbackServerContext* context,
                                                       grpc::ServerUnaryReactor* reactor,
                                                       CallLabels& labels) {
  absl::StatusOr<auth::RequestContext> caller =
      authenticator_->Authenticate(context->client_metadata());
  if (!caller.ok()) {
    labels.request_id = auth::RequestIdOf(context->client_metadata());
    Finish(context, reactor, labels, caller.status());
    return std::nullopt;
  }
  labels.request_id = caller->request_id;
  labels.tenant_id = caller->tenant_id;
  caller->client = ClientOf(context);
  if (DeadlinePassed(context)) {
    Finish(context, reactor, labels,
           absl::DeadlineExceededError("deadline passed before the call started"));
    return std::nullopt;
  }
  return *std::move(caller);
}

grpc::ServerUnaryReactor* UnaryRunner::Run(grpc::CallbackServerContext* context,
                                           std::string_view method, Handler handler) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  CallLabels labels{
      .method = std::string(method), .request_id = {}, .tenant_id = {}, .start = Clock::now()};
  std::optional<auth::RequestContext> caller = Admit(context, reactor, labels);
  if (!caller) return reactor;
  absl::Status queued = executor_->Submit(
      [this, context, reactor, labels, caller = *std::move(caller), handler = std::move(handler)] {
        Finish(context, reactor, labels, RunHandler(context, labels, caller, handler));
      });
  if (!queued.ok()) Finish(context, reactor, labels, queued);
  return reactor;
}

grpc::ServerUnaryReactor* UnaryRunner::RunAsync(grpc::CallbackServerContext* context,
                                                std::string_view method, AsyncHandler handler) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  CallLabels labels{
      .method = std::string(method), .request_id = {}, .tenant_id = {}, .start = Clock::now()};
  std::optional<auth::RequestContext> caller = Admit(context, reactor, labels);
  if (!caller) return reactor;
  Done done = [this, context, reactor, labels](absl::Status status) {
    Finish(context, reactor, labels, status);
  };
  log::ScopedRequestFields fields(labels.request_id, labels.tenant_id, labels.method);
  // As in RunHandler: an exception must fail this call, not the process. `done` has not
  // been called when the handler throws before handing its work on.
  try {
    handler(*caller, std::move(done));
    return reactor;
  } catch (const std::exception& e) {
    log::Error("handler threw an exception", {{"exception", e.what()}});
  } catch (...) {
    log::Error("handler threw a non-standard exception");
  }
  Finish(context, reactor, labels, absl::InternalError("internal error"));
  return reactor;
}

absl::Status UnaryRunner::RunHandler(grpc::CallbackServerContext* context, const CallLabels& labels,
                                     const auth::RequestContext& caller,
                                     const Handler& handler) const {
  // Work for a caller that has gone is wasted capacity when the queue is long.
  if (context->IsCancelled()) return absl::CancelledError("call cancelled while queued");
  if (DeadlinePassed(context)) {
    return absl::DeadlineExceededError("deadline passed while the call was queued");
  }
  log::ScopedRequestFields fields(labels.request_id, labels.tenant_id, labels.method);
  // Handlers are meant to return errors, but a library throwing past one must fail the call,
  // not terminate the process and every other call in it.
  try {
    return handler(caller);
  } catch (const std::exception& e) {
    log::Error("handler threw an exception", {{"exception", e.what()}});
  } catch (...) {
    log::Error("handler threw a non-standard exception");
  }
  return absl::InternalError("internal error");
}

void UnaryRunner::Finish(grpc::CallbackServerContext* context, grpc::ServerUnaryReactor* reactor,
                         const CallLabels& labels, const absl::Status& status) {
  const absl::Duration latency = absl::FromChrono(Clock::now() - labels.start);
  metrics_.Record(labels.method, status.code(), latency);
  const log::Level level = status.ok()                    ? log::Level::kInfo
                           : IsServerFault(status.code()) ? log::Level::kError
                                                          : log::Level::kWarning;
  if ((!status.ok() || access_log_) && log::Enabled(level)) {
    log::ScopedRequestFields fields(labels.request_id, labels.tenant_id, labels.method);
    const std::string code = absl::StatusCodeToString(status.code());
    const std::string latency_ms = absl::StrFormat("%.3f", absl::ToDoubleMilliseconds(latency));
    if (status.ok()) {
      log::Write(level, "rpc finished",
                 {{"service", service_name_}, {"code", code}, {"latency_ms", latency_ms}});
    } else {
      log::Write(level, "rpc finished",
                 {{"service", service_name_},
                  {"code", code},
                  {"latency_ms", latency_ms},
                  {"error", std::string_view(status.message().data(), status.message().size())}});
    }
  }
  context->AddInitialMetadata(auth::kRequestIdHeader, labels.request_id);
  // Last: once finished, the call may complete and the server may shut down and destroy this
  // runner.
  reactor->Finish(status::ToGrpcStatus(status));
}

}  // namespace touchline::server
