#include "gateway/cli/grpc_call.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <istream>
#include <iterator>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/notification.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/util/json_util.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "grpc/health/v1/health.pb.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/status.h"
#include "touchline/contacts/v1/contacts_service.pb.h"
#include "touchline/gateway/v1/gateway_service.pb.h"
#include "touchline/permissions/v1/permissions_service.pb.h"
#include "touchline/touchpoints/v1/touchpoints_service.pb.h"

namespace touchline::cli {
namespace {

using ::google::protobuf::Message;
using ::google::protobuf::MethodDescriptor;

absl::string_view View(google::protobuf::StringPiece piece) {
  return absl::string_view(piece.data(), piece.size());
}

bool IsHeaderNameChar(char c) {
  return absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '-' || c == '_' || c == '.';
}

absl::StatusOr<std::string> ReadRequest(absl::string_view request, std::istream& in) {
  std::string text;
  if (request == "-") {
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    if (in.bad()) return absl::InvalidArgumentError("cannot read the request from stdin");
  } else if (absl::ConsumePrefix(&request, "@")) {
    const std::string path(request);
    std::ifstream file(path, std::ios::binary);
    if (!file) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot read ", path, ": ", std::strerror(errno)));
    }
    text.assign(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
    if (file.bad()) return absl::InvalidArgumentError(absl::StrCat("cannot read ", path));
  } else {
    text = std::string(request);
  }
  // `echo -n | touchline-grpc ... -` and an empty file mean "no fields", as no argument does.
  if (absl::StripAsciiWhitespace(text).empty()) text = "{}";
  return text;
}

std::string MethodPath(const MethodDescriptor& method) {
  return absl::StrCat("/", method.service()->full_name(), "/", method.name());
}

// Pretty-printed and ending in a newline.
absl::StatusOr<std::string> ToJson(const Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  std::string json;
  const auto status = google::protobuf::util::MessageToJsonString(message, &json, options);
  if (!status.ok()) return absl::InternalError(std::string(View(status.message())));
  // Protobuf ends pretty-printed JSON with a newline already; not every version may.
  if (!absl::EndsWith(json, "\n")) json += '\n';
  return json;
}

void PrintMetadata(absl::string_view heading,
                   const std::multimap<grpc::string_ref, grpc::string_ref>& metadata,
                   std::ostream& err) {
  err << heading << ":\n";
  for (const auto& [name_ref, value_ref] : metadata) {
    const absl::string_view name(name_ref.data(), name_ref.size());
    const absl::string_view value(value_ref.data(), value_ref.size());
    err << "  " << name << ": "
        << (absl::EndsWith(name, "-bin") ? absl::Base64Escape(value) : std::string(value)) << "\n";
  }
}

// The code, the message and every google.rpc detail, as a caller needs them to fix a request.
void PrintError(const grpc::Status& status, std::ostream& err) {
  // Links error_details.proto in: printing an Any needs its type in the generated pool, and
  // Touchline's details are BadRequest and ErrorInfo.
  google::rpc::BadRequest::descriptor();
  err << "touchline-grpc: "
      << absl::StatusCodeToString(static_cast<absl::StatusCode>(status.error_code())) << ": "
      << status.error_message() << "\n";
  if (status.error_details().empty()) return;
  google::rpc::Status rpc_status;
  if (!rpc_status.ParseFromString(status.error_details())) {
    err << "(the error details are not a google.rpc.Status)\n";
    return;
  }
  for (const google::protobuf::Any& detail : rpc_status.details()) {
    const absl::StatusOr<std::string> json = ToJson(detail);
    if (json.ok()) {
      err << *json;
    } else {
      err << "(detail of a type this binary does not know: " << detail.type_url() << ")\n";
    }
  }
}

std::string Flatten(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  std::string bytes;
  if (!buffer.Dump(&slices).ok()) return bytes;
  for (const grpc::Slice& slice : slices) {
    bytes.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  return bytes;
}

}  // namespace

absl::StatusOr<const MethodDescriptor*> FindMethod(absl::string_view name) {
  std::string full_name(absl::StripPrefix(name, "/"));
  const size_t slash = full_name.rfind('/');
  if (slash != std::string::npos) full_name[slash] = '.';
  const size_t dot = full_name.rfind('.');
  if (dot == std::string::npos || dot == 0 || dot + 1 == full_name.size() ||
      full_name.find('/') != std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", name, "' is not a method name like package.Service/Method"));
  }
  const auto* pool = google::protobuf::DescriptorPool::generated_pool();
  if (const MethodDescriptor* method = pool->FindMethodByName(full_name)) return method;
  const std::string service_name = full_name.substr(0, dot);
  const auto* service = pool->FindServiceByName(service_name);
  if (service == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("unknown service ", service_name, " (--list shows the known ones)"));
  }
  std::vector<std::string> methods;
  for (int i = 0; i < service->method_count(); ++i) methods.push_back(service->method(i)->name());
  return absl::NotFoundError(absl::StrCat("service ", service_name, " has no method ",
                                          full_name.substr(dot + 1), "; it has ",
                                          absl::StrJoin(methods, ", ")));
}

absl::StatusOr<std::pair<std::string, std::string>> ParseHeader(absl::string_view header) {
  const size_t colon = header.find(':');
  if (colon == absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("header '", header, "' is not of the form 'name: value'"));
  }
  std::string name = absl::AsciiStrToLower(absl::StripAsciiWhitespace(header.substr(0, colon)));
  const absl::string_view value = absl::StripAsciiWhitespace(header.substr(colon + 1));
  if (name.empty() || !std::all_of(name.begin(), name.end(), IsHeaderNameChar)) {
    return absl::InvalidArgumentError(
        absl::StrCat("header '", header, "': a name has only letters, digits and '-', '_', '.'"));
  }
  if (absl::EndsWith(name, "-bin")) {
    std::string bytes;
    if (!absl::Base64Unescape(value, &bytes)) {
      return absl::InvalidArgumentError(
          absl::StrCat("header '", header, "': the value of a -bin header is base64"));
    }
    return std::make_pair(std::move(name), std::move(bytes));
  }
  if (!std::all_of(value.begin(), value.end(), [](char c) { return c >= 0x20 && c <= 0x7e; })) {
    return absl::InvalidArgumentError(
        absl::StrCat("header '", header, "': the value must be printable ASCII"));
  }
  return std::make_pair(std::move(name), std::string(value));
}

const std::vector<const google::protobuf::FileDescriptor*>& KnownServiceFiles() {
  static const auto* const files = new std::vector<const google::protobuf::FileDescriptor*>{
      touchline::contacts::v1::GetCustomerRequest::descriptor()->file(),
      touchline::touchpoints::v1::RecordTouchpointRequest::descriptor()->file(),
      touchline::permissions::v1::LoginRequest::descriptor()->file(),
      touchline::gateway::v1::GetCustomer360Request::descriptor()->file(),
      grpc::health::v1::HealthCheckRequest::descriptor()->file(),
  };
  return *files;
}

std::string ListMethods(const std::vector<const google::protobuf::FileDescriptor*>& files) {
  std::vector<std::string> lines;
  for (const google::protobuf::FileDescriptor* file : files) {
    for (int s = 0; s < file->service_count(); ++s) {
      const google::protobuf::ServiceDescriptor* service = file->service(s);
      for (int m = 0; m < service->method_count(); ++m) {
        const MethodDescriptor* method = service->method(m);
        lines.push_back(absl::StrCat(service->full_name(), "/", method->name(), "(",
                                     method->client_streaming() ? "stream " : "",
                                     method->input_type()->full_name(), ") returns (",
                                     method->server_streaming() ? "stream " : "",
                                     method->output_type()->full_name(), ")\n"));
      }
    }
  }
  std::sort(lines.begin(), lines.end());
  return absl::StrJoin(lines, "");
}

int Run(const Invocation& invocation, std::istream& in, std::ostream& out, std::ostream& err) {
  const auto usage_error = [&err](absl::string_view message) {
    err << "touchline-grpc: " << message << "\n";
    return kExitUsage;
  };
  const absl::StatusOr<const MethodDescriptor*> found = FindMethod(invocation.method);
  if (!found.ok()) return usage_error(found.status().message());
  const MethodDescriptor& method = **found;
  if (method.client_streaming() || method.server_streaming()) {
    return usage_error(
        absl::StrCat(MethodPath(method), " streams; only unary calls are supported"));
  }
  std::vector<std::pair<std::string, std::string>> metadata;
  for (const std::string& header : invocation.headers) {
    absl::StatusOr<std::pair<std::string, std::string>> parsed = ParseHeader(header);
    if (!parsed.ok()) return usage_error(parsed.status().message());
    metadata.push_back(*std::move(parsed));
  }
  const absl::StatusOr<std::string> request_json = ReadRequest(invocation.request, in);
  if (!request_json.ok()) return usage_error(request_json.status().message());

  // Dynamic rather than generated messages, so that nothing here depends on how the pool was
  // filled.
  google::protobuf::DynamicMessageFactory factory;
  const std::unique_ptr<Message> request(factory.GetPrototype(method.input_type())->New());
  const auto parsed = google::protobuf::util::JsonStringToMessage(*request_json, request.get());
  if (!parsed.ok()) {
    return usage_error(absl::StrCat("the request is not a ", method.input_type()->full_name(),
                                    " in JSON: ", View(parsed.message())));
  }
  std::string request_bytes;
  if (!request->SerializeToString(&request_bytes)) {
    return usage_error(
        absl::StrCat("cannot serialize the request as ", method.input_type()->full_name()));
  }

  const auto channel = grpc::CreateChannel(invocation.target, grpc::InsecureChannelCredentials());
  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + invocation.timeout));
  for (const auto& [name, value] : metadata) context.AddMetadata(name, value);
  grpc::Slice request_slice(request_bytes);
  const grpc::ByteBuffer request_buffer(&request_slice, 1);
  grpc::ByteBuffer response_buffer;
  grpc::Status status;
  absl::Notification done;
  stub.UnaryCall(&context, MethodPath(method), grpc::StubOptions(), &request_buffer,
                 &response_buffer, [&status, &done](grpc::Status s) {
                   status = std::move(s);
                   done.Notify();
                 });
  done.WaitForNotification();

  if (invocation.verbose) {
    PrintMetadata("response headers", context.GetServerInitialMetadata(), err);
    PrintMetadata("response trailers", context.GetServerTrailingMetadata(), err);
  }
  if (!status.ok()) {
    PrintError(status, err);
    return kExitCallFailed;
  }
  const std::unique_ptr<Message> response(factory.GetPrototype(method.output_type())->New());
  if (!response->ParseFromString(Flatten(response_buffer))) {
    err << "touchline-grpc: the reply is not a " << method.output_type()->full_name() << "\n";
    return kExitCallFailed;
  }
  const absl::StatusOr<std::string> json = ToJson(*response);
  if (!json.ok()) {
    err << "touchline-grpc: cannot print the reply as JSON: " << json.status().message() << "\n";
    return kExitCallFailed;
  }
  out << *json;
  return kExitOk;
}

}  // namespace touchline::cli
