// Errors as HTTP responses: the status code google/rpc/code.proto documents for each
// canonical code, and a JSON body in the shape of google.rpc.Status, as Google APIs answer.
#ifndef TOUCHLINE_GATEWAY_HTTP_HTTP_ERROR_H_
#define TOUCHLINE_GATEWAY_HTTP_HTTP_ERROR_H_

#include <string>

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace touchline::gateway::http {

// The HTTP status code for `code` (OK 200, INVALID_ARGUMENT 400, NOT_FOUND 404, ...;
// CANCELLED is 499, nginx's "client closed request"). 500 for a value that is no canonical
// code.
int HttpStatusFor(absl::StatusCode code);

// `status` as the JSON of a google.rpc.Status, e.g.
// {"code":3,"message":"...","details":[{"@type":"type.googleapis.com/google.rpc.BadRequest",
// "fieldViolations":[{"field":"body","description":"..."}]}]}.
// The details are the google.rpc payloads of `status` (see status::ToRpcStatus); a detail
// whose type is not linked into this binary is left out rather than failing the response.
// An OK status prints as "{}".
std::string StatusToJson(const absl::Status& status);

// The same for a status received from a backend over gRPC, its details read from the
// google.rpc.Status in its binary error details.
std::string StatusToJson(const grpc::Status& status);

}  // namespace touchline::gateway::http

#endif  // TOUCHLINE_GATEWAY_HTTP_HTTP_ERROR_H_
