// Starting and stopping a Touchline gRPC server: the services, health checking, reflection,
// message limits, the metrics endpoint, graceful drain, and the signals that trigger it.
//
//   int main(int argc, char** argv) {
//     server::BlockTerminationSignals();
//     config::ParseFlags(argc, argv, "Contacts service");
//     ... build dependencies and services ...
//     TL_ASSIGN_OR_RETURN-style: auto server = server::Server::Start(options, {{name, &svc}});
//     server::WaitForTerminationSignal();
//     (*server)->Shutdown();
//   }
#ifndef TOUCHLINE_COMMON_SERVER_SERVER_H_
#define TOUCHLINE_COMMON_SERVER_SERVER_H_

#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/generic/async_generic_service.h"
#include "grpcpp/server.h"
#include "prometheus/exposer.h"

namespace touchline::server {

struct ServerOptions {
  // host:port for gRPC; port 0 picks a free port (see Server::port()).
  std::string listen_address = "127.0.0.1:0";
  // host:port serving Prometheus /metrics; empty disables it.
  std::string metrics_address = "127.0.0.1:0";
  // How long Shutdown() lets in-flight calls finish before cancelling them.
  absl::Duration drain_timeout = absl::Seconds(10);
  // Largest request and response message accepted or sent.
  int max_message_bytes = 4 << 20;
};

class Server {
 public:
  // Builds and starts a gRPC server with `services` (fully qualified service name, e.g.
  // "touchline.contacts.v1.ContactsService", and the service; not owned, must outlive the
  // Server), grpc.health.v1 (the default health service: "" and each named service SERVING),
  // server reflection (grpc.reflection.v1alpha), the message size limits, and the Prometheus
  // exposer if metrics_address is set. Plaintext: TLS is terminated in front of the services.
  // The port is not shared (SO_REUSEPORT off), so a second instance on the same port fails.
  // UNAVAILABLE if listen_address or metrics_address cannot be listened on, INVALID_ARGUMENT
  // if listen_address is empty.
  // With `generic` (not owned, must outlive the Server), every method no registered service
  // implements goes to it: the gateway forwards them.
  static absl::StatusOr<std::unique_ptr<Server>> Start(
      const ServerOptions& options,
      const std::vector<std::pair<std::string, grpc::Service*>>& services,
      grpc::CallbackGenericService* generic = nullptr);

  // Shutdown().
  ~Server();

  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // The gRPC port listened on.
  int port() const { return port_; }
  // The metrics port listened on; 0 when metrics are off.
  int metrics_port() const { return metrics_port_; }

  // Marks every service NOT_SERVING (health Check and Watch report it), then shuts gRPC down:
  // new calls are refused, in-flight calls may finish until drain_timeout, after which they
  // are cancelled (their callers get UNAVAILABLE). Returns when every call has completed (a
  // cancelled handler still runs to its end). Open health Watch streams count as in-flight.
  // Idempotent and thread-safe. The metrics endpoint keeps serving until the Server is
  // destroyed; destroying it can take up to 2 s (civetweb polls its listener that often).
  void Shutdown();

 private:
  Server(std::unique_ptr<grpc::Server> server, int port,
         std::unique_ptr<prometheus::Exposer> exposer, absl::Duration drain_timeout);

  std::unique_ptr<grpc::Server> server_;
  const int port_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  const int metrics_port_;
  const absl::Duration drain_timeout_;
  std::once_flag shutdown_once_;
};

// Blocks SIGTERM and SIGINT in the calling thread and, by inheritance, in every thread it
// starts later, so WaitForTerminationSignal() receives them. Call first thing in main.
void BlockTerminationSignals();

// Blocks until SIGTERM or SIGINT arrives and returns its number. Requires
// BlockTerminationSignals() to have run before any other thread was started.
int WaitForTerminationSignal();

}  // namespace touchline::server

#endif  // TOUCHLINE_COMMON_SERVER_SERVER_H_
