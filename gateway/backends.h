// The services behind the gateway: one channel per service, and the table of the public
// methods it forwards to them.
//
// A method is public when its proto declares a google.api.http route: the same declaration
// puts it on the HTTP front, so both fronts expose exactly the same methods. Methods whose
// route is a GET only read, so their channel retries them on UNAVAILABLE; writes are not
// retried by the gateway (a client retries them with its request_id).
#ifndef TOUCHLINE_GATEWAY_BACKENDS_H_
#define TOUCHLINE_GATEWAY_BACKENDS_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "google/protobuf/descriptor.h"
#include "grpcpp/channel.h"
#include "grpcpp/generic/generic_stub.h"

namespace touchline::gateway {

// One forwarded method.
struct BackendMethod {
  // "/touchline.contacts.v1.ContactsService/GetCustomer", as gRPC names it on the wire.
  std::string path;
  const google::protobuf::MethodDescriptor* descriptor = nullptr;
  // The channel of the service that owns it.
  std::shared_ptr<grpc::Channel> channel;
  // Login and RefreshToken: called before the caller has a credential. Every other method
  // needs one.
  bool credential_free = false;
};

// Whether `name` (lower case) is response metadata of a service that the gRPC front passes
// back to its client: everything but transport headers (":path", "grpc-*", "content-type",
// "te", "user-agent", "host", ...) and x-touchline-caller. What goes the other way, to the
// services, is EdgeGuard::ForwardedMetadata's allow-list.
bool IsForwardedHeader(std::string_view name);

class Backends {
 public:
  // A service (fully qualified name) and the gRPC target it runs at (host:port, or
  // dns:///name:port to balance over every address the name resolves to).
  struct Target {
    std::string service;
    std::string address;
  };

  // Channels to every target (round-robin over resolved addresses, messages up to
  // `max_message_bytes`, reads retried on UNAVAILABLE) and the table of their methods with a
  // google.api.http route. INVALID_ARGUMENT for a service missing from the generated
  // descriptor pool or an empty address.
  static absl::StatusOr<std::unique_ptr<Backends>> Create(const std::vector<Target>& targets,
                                                          int max_message_bytes);

  // The method at `path`, or null when the gateway does not forward it.
  const BackendMethod* Find(std::string_view path) const;
  // The channel of `service`, or null.
  std::shared_ptr<grpc::Channel> ChannelOf(std::string_view service) const;

 private:
  Backends() = default;

  absl::flat_hash_map<std::string, std::shared_ptr<grpc::Channel>> channels_;
  absl::flat_hash_map<std::string, BackendMethod> methods_;
};

}  // namespace touchline::gateway

#endif  // TOUCHLINE_GATEWAY_BACKENDS_H_
