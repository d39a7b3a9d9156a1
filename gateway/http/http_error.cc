#include "gateway/http/http_error.h"

#include "common/status/grpc_status.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/util/json_util.h"
#include "google/rpc/status.pb.h"

namespace touchline::gateway::http {

int HttpStatusFor(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk:
      return 200;
    case absl::StatusCode::kCancelled:
      return 499;
    case absl::StatusCode::kUnknown:
      return 500;
    case absl::StatusCode::kInvalidArgument:
      return 400;
    case absl::StatusCode::kDeadlineExceeded:
      return 504;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kAlreadyExists:
      return 409;
    case absl::StatusCode::kPermissionDenied:
      return 403;
    case absl::StatusCode::kResourceExhausted:
      return 429;
    case absl::StatusCode::kFailedPrecondition:
      return 400;
    case absl::StatusCode::kAborted:
      return 409;
    case absl::StatusCode::kOutOfRange:
      return 400;
    case absl::StatusCode::kUnimplemented:
      return 501;
    case absl::StatusCode::kInternal:
      return 500;
    case absl::StatusCode::kUnavailable:
      return 503;
    case absl::StatusCode::kDataLoss:
      return 500;
    case absl::StatusCode::kUnauthenticated:
      return 401;
    default:
      return 500;
  }
}

std::string StatusToJson(const absl::Status& status) {
  google::rpc::Status rpc = status::ToRpcStatus(status);
  // The JSON printer resolves an Any's type through the generated pool and fails the whole
  // message on a type it cannot find.
  auto* details = rpc.mutable_details();
  for (int i = details->size() - 1; i >= 0; --i) {
    const std::string& type_url = details->Get(i).type_url();
    const std::string type_name = type_url.substr(type_url.rfind('/') + 1);
    if (google::protobuf::DescriptorPool::generated_pool()->FindMessageTypeByName(type_name) ==
        nullptr) {
      details->DeleteSubrange(i, 1);
    }
  }
  std::string json;
  if (!google::protobuf::util::MessageToJsonString(rpc, &json).ok()) {
    // Only a detail that resolves but does not parse gets here; the code and message still
    // reach the caller.
    rpc.clear_details();
    json.clear();
    (void)google::protobuf::util::MessageToJsonString(rpc, &json);
  }
  return json;
}

std::string StatusToJson(const grpc::Status& status) {
  return StatusToJson(status::FromGrpcStatus(status));
}

}  // namespace touchline::gateway::http
