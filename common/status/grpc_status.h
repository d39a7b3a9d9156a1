// The one conversion between absl::Status (used everywhere inside Touchline) and grpc::Status
// (used only at the gRPC boundary), keeping the google.rpc error details in both directions.
#ifndef TOUCHLINE_COMMON_STATUS_GRPC_STATUS_H_
#define TOUCHLINE_COMMON_STATUS_GRPC_STATUS_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "google/rpc/status.pb.h"
#include "grpcpp/support/status.h"

namespace touchline::status {

// Same code and message. Every payload of `status` keyed by a google.rpc type URL (BadRequest,
// ErrorInfo, ...) is packed into a google.rpc.Status carried as the binary error details, the
// form gRPC clients of every language read ("grpc-status-details-bin"); other payloads are
// dropped. Messages are passed through unchanged for every code, INTERNAL and UNKNOWN
// included: the storage wrappers guarantee those never carry SQL or other internals.
grpc::Status ToGrpcStatus(const absl::Status& status);

// `status` as a google.rpc.Status message (code, message and the google.rpc payloads as
// details), for errors carried inside a response, e.g. per item of a batch.
google::rpc::Status ToRpcStatus(const absl::Status& status);

// The reverse of ToGrpcStatus, for clients and tests: code, message, and each detail of the
// google.rpc.Status in the error details as a payload keyed by its type URL. Details that do
// not parse are ignored.
absl::Status FromGrpcStatus(const grpc::Status& status);

// The (field, description) pairs of the google.rpc.BadRequest in the error details of
// `status`, in order; empty when there is none.
std::vector<std::pair<std::string, std::string>> FieldViolationsOf(const grpc::Status& status);

}  // namespace touchline::status

#endif  // TOUCHLINE_COMMON_STATUS_GRPC_STATUS_H_
