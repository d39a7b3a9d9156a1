#include "common/server/server.h"

#include <pthread.h>
#include <signal.h>

#include <chrono>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/metrics/metrics.h"
#include "grpc/grpc.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"

namespace touchline::server {
namespace {

// Both are process-wide switches read when a ServerBuilder is built.
void EnableHealthAndReflection() {
  static std::once_flag once;
  std::call_once(once, [] {
    grpc::EnableDefaultHealthCheckService(true);
    grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  });
}

sigset_t TerminationSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  return signals;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Server>> Server::Start(
    const ServerOptions& options,
    const std::vector<std::pair<std::string, grpc::Service*>>& services,
    grpc::CallbackGenericService* generic) {
  if (options.listen_address.empty()) {
    return absl::InvalidArgumentError("listen address must not be empty");
  }
  // The exposer first: it is the cheaper one to throw away if the other fails.
  std::unique_ptr<prometheus::Exposer> exposer;
  if (!options.metrics_address.empty()) {
    absl::StatusOr<std::unique_ptr<prometheus::Exposer>> started =
        metrics::StartExposer(options.metrics_address);
    if (!started.ok()) return started.status();
    exposer = *std::move(started);
  }

  EnableHealthAndReflection();
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(options.listen_address, grpc::InsecureServerCredentials(), &port);
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.SetMaxReceiveMessageSize(options.max_message_bytes);
  builder.SetMaxSendMessageSize(options.max_message_bytes);
  for (const auto& [name, service] : services) builder.RegisterService(service);
  if (generic != nullptr) builder.RegisterCallbackGenericService(generic);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    if (server != nullptr) server->Shutdown();
    return absl::UnavailableError(
        absl::StrCat("cannot listen for gRPC on ", options.listen_address));
  }
  grpc::HealthCheckServiceInterface* health = server->GetHealthCheckService();
  for (const auto& [name, service] : services) health->SetServingStatus(name, true);
  return std::unique_ptr<Server>(
      new Server(std::move(server), port, std::move(exposer), options.drain_timeout));
}

Server::Server(std::unique_ptr<grpc::Server> server, int port,
               std::unique_ptr<prometheus::Exposer> exposer, absl::Duration drain_timeout)
    : server_(std::move(server)),
      port_(port),
      exposer_(std::move(exposer)),
      metrics_port_(exposer_ == nullptr || exposer_->GetListeningPorts().empty()
                        ? 0
                        : exposer_->GetListeningPorts().front()),
      drain_timeout_(drain_timeout) {}

Server::~Server() { Shutdown(); }

void Server::Shutdown() {
  std::call_once(shutdown_once_, [this] {
    // NOT_SERVING first, so health checkers steer traffic away while calls drain; the health
    // service ignores any later status change.
    server_->GetHealthCheckService()->Shutdown();
    server_->Shutdown(std::chrono::system_clock::now() + absl::ToChronoNanoseconds(drain_timeout_));
    server_->Wait();
  });
}

void BlockTerminationSignals() {
  const sigset_t signals = TerminationSignals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  // Debian builds Abseil with mutex deadlock detection on; it records every lock in a
  // global graph and cost a fifth of the CPU of a request. Tests keep it.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
}

int WaitForTerminationSignal() {
  const sigset_t signals = TerminationSignals();
  int signal_number = 0;
  // sigwait fails only for an invalid set, which this one is not.
  while (sigwait(&signals, &signal_number) != 0) {
  }
  return signal_number;
}

}  // namespace touchline::server
