// touchline-health: asks a server's grpc.health.v1 service whether it is SERVING.
//
//   touchline-health HOST:PORT [--service=NAME] [--wait=30s]
//
// Exit 0 when SERVING, 1 otherwise (after retrying until --wait runs out), 2 on bad usage.
// Used by scripts/touchline and usable as a Kubernetes exec probe.
#include <grpcpp/grpcpp.h>

#include <cstdio>
#include <string>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "grpc/health/v1/health.grpc.pb.h"

ABSL_FLAG(std::string, service, "", "Service name to check; empty checks the whole server");
ABSL_FLAG(absl::Duration, wait, absl::ZeroDuration(),
          "Keep asking until SERVING or this much time has passed");

int main(int argc, char** argv) {
  const std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  if (args.size() != 2) {
    std::fprintf(stderr, "usage: touchline-health HOST:PORT [--service=NAME] [--wait=30s]\n");
    return 2;
  }
  // A server that is still starting refuses the first connects; without short reconnect
  // backoff the channel would wait 1 s and more between attempts.
  grpc::ChannelArguments channel_args;
  channel_args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 50);
  channel_args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 50);
  channel_args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 200);
  const auto channel =
      grpc::CreateCustomChannel(args[1], grpc::InsecureChannelCredentials(), channel_args);
  const auto stub = grpc::health::v1::Health::NewStub(channel);
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(absl::GetFlag(FLAGS_service));
  const absl::Time give_up = absl::Now() + absl::GetFlag(FLAGS_wait);
  std::string last = "no answer";
  do {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
    grpc::health::v1::HealthCheckResponse response;
    const grpc::Status status = stub->Check(&context, request, &response);
    if (status.ok() && response.status() == grpc::health::v1::HealthCheckResponse::SERVING) {
      std::printf("SERVING\n");
      return 0;
    }
    last = status.ok()
               ? grpc::health::v1::HealthCheckResponse::ServingStatus_Name(response.status())
               : status.error_message();
    if (absl::Now() < give_up) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  } while (absl::Now() < give_up);
  std::fprintf(stderr, "%s: %s\n", args[1], last.c_str());
  return 1;
}
