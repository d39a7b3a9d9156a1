// Asks a server's gRPC reflection which services it serves, for tests, without the
// reflection protos (libgrpc++_reflection carries them, but not for clients).
#ifndef TOUCHLINE_COMMON_SERVER_TESTING_REFLECTION_H_
#define TOUCHLINE_COMMON_SERVER_TESTING_REFLECTION_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/channel.h"

namespace touchline::server::testing {

// The serialized ServerReflectionResponse to ServerReflectionRequest{list_services: ""} on
// `channel`: it holds every service name, so a test can look for one in it. The error of the
// call, or INTERNAL when a step of it failed.
absl::StatusOr<std::string> ListServicesByReflection(const std::shared_ptr<grpc::Channel>& channel);

}  // namespace touchline::server::testing

#endif  // TOUCHLINE_COMMON_SERVER_TESTING_REFLECTION_H_
