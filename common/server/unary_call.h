// Runs the handler of a callback-API unary RPC the way every Touchline service does:
// authentication, load shedding, logging, metrics and status conversion in one place, so a
// service method is only "read the request, call the manager, fill the response".
//
//   grpc::ServerUnaryReactor* ContactsService::GetCustomer(grpc::CallbackServerContext* context,
//                                                          const GetCustomerRequest* request,
//                                                          Customer* response) {
//     return runner_.Run(context, "GetCustomer", [=](const auth::RequestContext& caller) {
//       TL_ASSIGN_OR_RETURN(*response, manager_.Get(caller, request->name()));
//       return absl::OkStatus();
//     });
//   }
#ifndef TOUCHLINE_COMMON_SERVER_UNARY_CALL_H_
#define TOUCHLINE_COMMON_SERVER_UNARY_CALL_H_

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/auth/request_context.h"
#include "common/metrics/metrics.h"
#include "common/server/executor.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/server_callback.h"

namespace touchline::server {

// Thread-safe. Must outlive every call it runs: destroy it after the Server has shut down.
class UnaryRunner {
 public:
  using Handler = std::function<absl::Status(const auth::RequestContext&)>;

  // `service_name` labels metrics and logs (e.g. "touchline.contacts.v1.ContactsService").
  // `executor` and `authenticator` are not owned and must outlive the runner. With
  // `access_log`, every call is logged at info level, not only failed ones. `clock` is what
  // call deadlines are compared with; tests replace it.
  UnaryRunner(std::string service_name, Executor* executor,
              const auth::Authenticator* authenticator, bool access_log,
              std::function<absl::Time()> clock = &absl::Now);

  UnaryRunner(const UnaryRunner&) = delete;
  UnaryRunner& operator=(const UnaryRunner&) = delete;

  // For a callback unary RPC. Authenticates the caller (UNAUTHENTICATED on failure, handler
  // not run); rejects with DEADLINE_EXCEEDED if the deadline already passed; queues `handler`
  // on the executor (RESOURCE_EXHAUSTED "server overloaded" when its queue is full,
  // UNAVAILABLE "server shutting down" once it stops). On an executor thread, skips the handler
  // when the call was cancelled (CANCELLED) or its deadline passed while queued
  // (DEADLINE_EXCEEDED); otherwise runs it with log::ScopedRequestFields set (an exception
  // escaping it becomes INTERNAL "internal error", logged with its text). Then converts the
  // result with status::ToGrpcStatus, records RpcMetrics, logs it (error for INTERNAL, UNKNOWN
  // and DATA_LOSS, warning for other failures, info for successes when access_log), adds the
  // response metadata "x-request-id", and finishes the reactor. `method` is the bare RPC name
  // ("GetCustomer"). `handler` fills the response and returns its status; it runs at most once.
  // Returns the reactor for the service method to return.
  grpc::ServerUnaryReactor* Run(grpc::CallbackServerContext* context, std::string_view method,
                                Handler handler);

  // Completes an asynchronous call: fill the response first, then call it exactly once, from
  // any thread.
  using Done = std::function<void(absl::Status)>;
  using AsyncHandler = std::function<void(const auth::RequestContext&, Done)>;

  // As Run, for handlers that never block: after authentication and the deadline check,
  // `handler` runs at once on the gRPC thread and hands its work on (to a Batcher, say),
  // which calls `done` when the response is ready. This saves the hop to an executor thread
  // and back. A handler that blocks here stalls the server's I/O.
  grpc::ServerUnaryReactor* RunAsync(grpc::CallbackServerContext* context, std::string_view method,
                                     AsyncHandler handler);

 private:
  using Clock = std::chrono::steady_clock;

  // What a call is known by, for its logs, metrics and response metadata.
  struct CallLabels {
    std::string method;
    std::string request_id;
    std::string tenant_id;
    Clock::time_point start;
  };

  bool DeadlinePassed(const grpc::CallbackServerContext* context) const;
  // Authenticates the call and checks its deadline. On failure finishes the call and returns
  // nullopt.
  std::optional<auth::RequestContext> Admit(grpc::CallbackServerContext* context,
                                            grpc::ServerUnaryReactor* reactor, CallLabels& labels);

  // Runs on an executor thread.
  absl::Status RunHandler(grpc::CallbackServerContext* context, const CallLabels& labels,
                          const auth::RequestContext& caller, const Handler& handler) const;

  void Finish(grpc::CallbackServerContext* context, grpc::ServerUnaryReactor* reactor,
              const CallLabels& labels, const absl::Status& status);

  const std::string service_name_;
  Executor* const executor_;
  const auth::Authenticator* const authenticator_;
  const bool access_log_;
  const std::function<absl::Time()> clock_;
  metrics::RpcMetrics metrics_;
};

}  // namespace touchline::server

#endif  // TOUCHLINE_COMMON_SERVER_UNARY_CALL_H_
