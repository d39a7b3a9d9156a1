#include "common/status/grpc_status.h"

#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "common/status/errors.h"
#include "google/rpc/status.pb.h"

namespace touchline::status {

google::rpc::Status ToRpcStatus(const absl::Status& status) {
  google::rpc::Status rpc;
  // absl::StatusCode mirrors the canonical gRPC codes one for one; anything outside that
  // range can only come from a cast integer and is reported as UNKNOWN.
  const int code = static_cast<int>(status.code());
  rpc.set_code(code >= 0 && code <= grpc::StatusCode::UNAUTHENTICATED ? code
                                                                      : grpc::StatusCode::UNKNOWN);
  rpc.set_message(std::string(status.message()));
  status.ForEachPayload([&rpc](absl::string_view type_url, const absl::Cord& payload) {
    if (!absl::StartsWith(type_url, kGoogleRpcTypeUrlPrefix)) return;
    google::protobuf::Any* any = rpc.add_details();
    any->set_type_url(std::string(type_url));
    any->set_value(std::string(payload));
  });
  return rpc;
}

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  const google::rpc::Status rpc = ToRpcStatus(status);
  const auto code = static_cast<grpc::StatusCode>(rpc.code());
  if (rpc.details().empty()) return grpc::Status(code, rpc.message());
  return grpc::Status(code, rpc.message(), rpc.SerializeAsString());
}

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  absl::Status result(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
  google::rpc::Status details;
  if (status.error_details().empty() || !details.ParseFromString(status.error_details())) {
    return result;
  }
  for (const google::protobuf::Any& any : details.details()) {
    result.SetPayload(any.type_url(), absl::Cord(any.value()));
  }
  return result;
}

std::vector<std::pair<std::string, std::string>> FieldViolationsOf(const grpc::Status& status) {
  return FieldViolationsOf(FromGrpcStatus(status));
}

}  // namespace touchline::status
