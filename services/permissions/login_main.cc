// touchline-login: logs a user in and prints the LoginResponse as JSON (access_token,
// refresh_token, session_id, user...), for scripts and for trying the suite by hand:
//
//   TOUCHLINE_PASSWORD=... touchline-login --target=127.0.0.1:50051 --tenant=acme --username=admin
//
// The password comes from the environment, never from the command line (which `ps` shows).
// Exit 0 on success; 1 with the gRPC error on stderr when the login fails; 2 on bad usage.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "touchline/permissions/v1/permissions_service.grpc.pb.h"

ABSL_FLAG(std::string, target, "127.0.0.1:50051", "Address of the permissions service");
ABSL_FLAG(std::string, tenant, "", "Tenant (x-touchline-tenant). Required");
ABSL_FLAG(std::string, username, "", "Username. Required");
ABSL_FLAG(std::string, totp_code, "", "Current TOTP code, once a second factor is enrolled");

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const char* password = std::getenv("TOUCHLINE_PASSWORD");
  if (absl::GetFlag(FLAGS_tenant).empty() || absl::GetFlag(FLAGS_username).empty() ||
      password == nullptr) {
    std::fprintf(stderr,
                 "touchline-login: --tenant, --username and $TOUCHLINE_PASSWORD are required\n");
    return 2;
  }
  auto stub = touchline::permissions::v1::PermissionsService::NewStub(
      grpc::CreateChannel(absl::GetFlag(FLAGS_target), grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.AddMetadata("x-touchline-tenant", absl::GetFlag(FLAGS_tenant));
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  touchline::permissions::v1::LoginRequest request;
  request.set_username(absl::GetFlag(FLAGS_username));
  request.set_password(password);
  request.set_totp_code(absl::GetFlag(FLAGS_totp_code));
  touchline::permissions::v1::LoginResponse response;
  const grpc::Status status = stub->Login(&context, request, &response);
  if (!status.ok()) {
    std::fprintf(stderr, "touchline-login: %d %s\n", static_cast<int>(status.error_code()),
                 status.error_message().c_str());
    return 1;
  }
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  if (!google::protobuf::util::MessageToJsonString(response, &json, options).ok()) return 1;
  std::printf("%s\n", json.c_str());
  return 0;
}
