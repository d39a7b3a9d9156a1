// The logic of touchline-grpc, a grpcurl-like client: calls any unary method whose descriptor
// is linked into the process, with a proto3 JSON request, and prints the reply as JSON. Kept
// apart from grpc_call_main.cc so that tests run it against an in-process server.
#ifndef TOUCHLINE_GATEWAY_CLI_GRPC_CALL_H_
#define TOUCHLINE_GATEWAY_CLI_GRPC_CALL_H_

#include <iosfwd>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/descriptor.h"

namespace touchline::cli {

// Exit codes of touchline-grpc.
inline constexpr int kExitOk = 0;
inline constexpr int kExitCallFailed = 1;  // The call returned an error or an unreadable reply.
inline constexpr int kExitUsage = 2;       // Bad arguments; nothing was sent.

// One call, as given on the command line.
struct Invocation {
  std::string target;  // host:port
  // "package.Service/Method", "/package.Service/Method" or "package.Service.Method".
  std::string method;
  // Proto3 JSON, "@path" for a file, "-" for the `in` stream of Run; empty (or empty
  // input) means "{}".
  std::string request;
  std::vector<std::string> headers;  // "name: value", as given to -H.
  absl::Duration timeout = absl::Seconds(10);
  bool verbose = false;  // Also print the response metadata to `err`.
};

// Does the call: writes the reply as pretty-printed JSON (lowerCamelCase names, default values
// omitted) to `out`, and to `err` the error code, message and each google.rpc detail as JSON
// when the call fails, or one line saying what is wrong with `invocation`. With `verbose`, the
// response headers and trailers go to `err` too. Returns one of the exit codes above.
int Run(const Invocation& invocation, std::istream& in, std::ostream& out, std::ostream& err);

// The method named `name` (any spelling of Invocation::method) in the generated descriptor
// pool. INVALID_ARGUMENT for a name of no such shape, NOT_FOUND when it is not linked in.
absl::StatusOr<const google::protobuf::MethodDescriptor*> FindMethod(absl::string_view name);

// "Name: value" as gRPC metadata: the name lower-cased, blanks around the value dropped, and
// the value base64-decoded for a "-bin" name. INVALID_ARGUMENT when there is no ':', the name
// is empty or has characters gRPC does not allow, or the value is not printable ASCII.
absl::StatusOr<std::pair<std::string, std::string>> ParseHeader(absl::string_view header);

// The proto files whose services touchline-grpc knows: every Touchline API and grpc.health.
// Referencing them here is also what keeps the linker from dropping their descriptors.
const std::vector<const google::protobuf::FileDescriptor*>& KnownServiceFiles();

// One line per method of the services in `files`, sorted, e.g.
// "touchline.contacts.v1.ContactsService/GetCustomer(touchline.contacts.v1.GetCustomerRequest)
// returns (touchline.contacts.v1.GetCustomerResponse)" (on one line), with "stream " before a
// streamed type.
std::string ListMethods(const std::vector<const google::protobuf::FileDescriptor*>& files);

}  // namespace touchline::cli

#endif  // TOUCHLINE_GATEWAY_CLI_GRPC_CALL_H_
