// Creates the rep the enforcement benchmark reads as: user "bench_rep" (role rep) with the
// password in $TOUCHLINE_PASSWORD, created by the administrator whose token is in
// $TOUCHLINE_ADMIN_TOKEN. Prints the rep's user id. Idempotent by request id.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "touchline/permissions/v1/permissions_service.grpc.pb.h"

ABSL_FLAG(std::string, target, "127.0.0.1:50051", "Address of the permissions service");
ABSL_FLAG(std::string, username, "bench_rep", "The rep's username");

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const char* token = std::getenv("TOUCHLINE_ADMIN_TOKEN");
  const char* password = std::getenv("TOUCHLINE_PASSWORD");
  if (token == nullptr || password == nullptr) {
    std::fprintf(stderr, "enforcement_setup: $TOUCHLINE_ADMIN_TOKEN and $TOUCHLINE_PASSWORD\n");
    return 2;
  }
  namespace pv1 = touchline::permissions::v1;
  auto stub = pv1::PermissionsService::NewStub(
      grpc::CreateChannel(absl::GetFlag(FLAGS_target), grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.AddMetadata("authorization", std::string("Bearer ") + token);
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  pv1::CreateUserRequest request;
  request.mutable_user()->set_username(absl::GetFlag(FLAGS_username));
  request.mutable_user()->set_display_name("压测销售");
  request.mutable_user()->set_role_id("rep");
  request.set_password(password);
  request.set_request_id("bench-create-" + absl::GetFlag(FLAGS_username));
  pv1::CreateUserResponse response;
  const grpc::Status status = stub->CreateUser(&context, request, &response);
  if (!status.ok()) {
    std::fprintf(stderr, "enforcement_setup: %s\n", status.error_message().c_str());
    return 1;
  }
  std::printf("%s\n", response.user().user_id().c_str());
  return 0;
}
