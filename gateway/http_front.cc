#include "gateway/http_front.h"

#include <httplib.h>

#include <algorithm>
#include <map>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/notification.h"
#include "common/auth/request_context.h"
#include "common/status/errors.h"
#include "common/status/grpc_status.h"
#include "gateway/gateway_service.h"
#include "gateway/http/http_error.h"
#include "gateway/http/transcoder.h"
#include "google/protobuf/message.h"
#include "grpcpp/client_context.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/support/byte_buffer.h"

namespace touchline::gateway {
namespace {

constexpr char kJson[] = "application/json; charset=utf-8";
constexpr char kGetCustomer360[] = "/touchline.gateway.v1.GatewayService/GetCustomer360";
// What portals send beyond the CORS-safelisted headers.
constexpr char kAllowedHeaders[] =
    "authorization, content-type, x-api-key, x-touchline-tenant, x-request-id";
// What portals may read of a response.
constexpr char kExposedHeaders[] = "x-request-id, x-touchline-cache, retry-after";

// The request headers with lower-case names, and a view of them as gRPC metadata (what the
// authenticator reads), kept together so the views stay valid.
class HeaderMetadata {
 public:
  explicit HeaderMetadata(const httplib::Headers& headers) {
    lowered_.reserve(headers.size());
    for (const auto& [name, value] : headers) {
      lowered_.emplace_back(absl::AsciiStrToLower(name), value);
    }
    for (const auto& [name, value] : lowered_) metadata_.emplace(name, value);
  }
  const EdgeGuard::Metadata& metadata() const { return metadata_; }

 private:
  std::vector<std::pair<std::string, std::string>> lowered_;
  EdgeGuard::Metadata metadata_;
};

// "/<package.Service>/<Method>" of `route`, as gRPC names it.
std::string GrpcPath(const http::Route& route) {
  return absl::StrCat("/", route.method->service()->full_name(), "/", route.method->name());
}

std::unique_ptr<google::protobuf::Message> NewMessage(const google::protobuf::Descriptor* type) {
  return std::unique_ptr<google::protobuf::Message>(
      google::protobuf::MessageFactory::generated_factory()->GetPrototype(type)->New());
}

void SetJsonError(httplib::Response& response, int http_status, const std::string& body) {
  response.status = http_status;
  response.set_content(body, kJson);
}

// Retry-After when `status` says when to retry (a rate limit, a throttled login).
void SetRetryAfter(httplib::Response& response, const absl::Status& status) {
  if (const std::optional<int64_t> seconds = RetryAfterSeconds(status)) {
    response.set_header("Retry-After", std::to_string(std::max<int64_t>(1, *seconds)));
  }
}

void SetError(httplib::Response& response, const absl::Status& status) {
  SetJsonError(response, http::HttpStatusFor(status.code()), http::StatusToJson(status));
  if (status.code() == absl::StatusCode::kUnauthenticated) {
    response.set_header("WWW-Authenticate", R"(Bearer realm="touchline")");
  }
  SetRetryAfter(response, status);
}

// INVALID_ARGUMENT when the client sent more headers than `options` allow.
absl::Status CheckHeaderSize(const httplib::Headers& headers, const HttpFrontOptions& options) {
  size_t count = 0;
  size_t bytes = 0;
  for (const auto& [name, value] : headers) {
    // httplib adds these four of its own.
    if (name == "REMOTE_ADDR" || name == "REMOTE_PORT" || name == "LOCAL_ADDR" ||
        name == "LOCAL_PORT") {
      continue;
    }
    ++count;
    bytes += name.size() + value.size();
  }
  if (count <= options.max_header_count && bytes <= options.max_header_bytes) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "request headers too large: ", count, " fields of ", bytes, " bytes; at most ",
      options.max_header_count, " fields of ", options.max_header_bytes, " bytes together"));
}

// Sends `request` to the service behind `method` with `metadata` and waits.
grpc::Status Forward(const BackendMethod& method, const Headers& metadata, absl::Duration timeout,
                     const google::protobuf::Message& request,
                     google::protobuf::Message* response) {
  grpc::ClientContext context;
  for (const auto& [name, value] : metadata) context.AddMetadata(name, value);
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  const std::string serialized = request.SerializeAsString();
  grpc::Slice slice(serialized);
  const grpc::ByteBuffer request_bytes(&slice, 1);
  grpc::ByteBuffer response_bytes;
  grpc::Status result;
  absl::Notification done;
  grpc::GenericStub(method.channel)
      .UnaryCall(&context, method.path, grpc::StubOptions(), &request_bytes, &response_bytes,
                 [&](grpc::Status status) {
                   result = std::move(status);
                   done.Notify();
                 });
  done.WaitForNotification();
  if (!result.ok()) return result;
  std::vector<grpc::Slice> slices;
  std::string bytes;
  if (response_bytes.Dump(&slices).ok()) {
    for (const grpc::Slice& s : slices)
      bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  if (!response->ParseFromString(bytes)) {
    return grpc::Status(grpc::StatusCode::INTERNAL, "the service's response did not parse");
  }
  return result;
}

}  // namespace

absl::StatusOr<std::unique_ptr<HttpFront>> HttpFront::Start(HttpFrontOptions options,
                                                            const http::RouteTable* routes,
                                                            const Backends* backends,
                                                            const EdgeGuard* edge,
                                                            Customer360Service* views) {
  const size_t colon = options.address.rfind(':');
  int port = 0;
  if (colon == std::string::npos || colon == 0 ||
      !absl::SimpleAtoi(options.address.substr(colon + 1), &port) || port < 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("HTTP address must be host:port, not \"", options.address, "\""));
  }
  const std::string host = options.address.substr(0, colon);
  std::unique_ptr<HttpFront> front(
      new HttpFront(std::move(options), routes, backends, edge, views));
  httplib::Server& server = *front->server_;
  const int threads = std::max(1, front->options_.threads);
  server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server.set_payload_max_length(front->options_.max_request_bytes);
  server.set_keep_alive_timeout(front->options_.keep_alive_seconds);
  server.set_keep_alive_max_count(front->options_.keep_alive_max_requests);
  // Without it, Nagle and delayed ACKs hold every small response for 40 ms.
  server.set_tcp_nodelay(true);
  HttpFront* self = front.get();
  const auto handle = [self](const httplib::Request& request, httplib::Response& response) {
    self->Handle(request, response);
  };
  server.Get(".*", handle);
  server.Post(".*", handle);
  server.Put(".*", handle);
  server.Patch(".*", handle);
  server.Delete(".*", handle);
  server.Options(".*", handle);
  // What httplib answers itself (413 for a body over the limit, 400 for a malformed request)
  // gets the same JSON shape as every other error.
  server.set_error_handler(httplib::Server::HandlerWithResponse(
      [self](const httplib::Request& request, httplib::Response& response) {
        if (!response.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        absl::Status status =
            response.status == 413
                ? status::InvalidArgument("body",
                                          absl::StrCat("is larger than the limit of ",
                                                       self->options_.max_request_bytes, " bytes"))
                : absl::Status(absl::StatusCode::kInvalidArgument, "malformed HTTP request");
        self->AllowOrigin(request.get_header_value("Origin"), response);
        response.set_content(http::StatusToJson(status), kJson);
        return httplib::Server::HandlerResponse::Handled;
      }));
  front->port_ =
      port == 0 ? server.bind_to_any_port(host) : (server.bind_to_port(host, port) ? port : -1);
  if (front->port_ <= 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen for HTTP on ", front->options_.address));
  }
  front->listener_ = std::thread([self] { self->server_->listen_after_bind(); });
  return front;
}

HttpFront::HttpFront(HttpFrontOptions options, const http::RouteTable* routes,
                     const Backends* backends, const EdgeGuard* edge, Customer360Service* views)
    : options_(std::move(options)),
      routes_(routes),
      backends_(backends),
      edge_(edge),
      views_(views),
      metrics_("touchline.gateway.Http"),
      server_(std::make_unique<httplib::Server>()) {}

HttpFront::~HttpFront() { Shutdown(); }

void HttpFront::Shutdown() {
  server_->stop();
  if (listener_.joinable()) listener_.join();
}

bool HttpFront::AllowOrigin(const std::string& origin, httplib::Response& response) const {
  if (origin.empty()) return true;  // not a browser's cross-origin call
  const auto& allowed = options_.cors_allowed_origins;
  const bool any = std::find(allowed.begin(), allowed.end(), "*") != allowed.end();
  if (!any && std::find(allowed.begin(), allowed.end(), origin) == allowed.end()) return false;
  response.set_header("Access-Control-Allow-Origin", origin);
  response.set_header("Vary", "Origin");
  response.set_header("Access-Control-Expose-Headers", kExposedHeaders);
  return true;
}

void HttpFront::Handle(const httplib::Request& request, httplib::Response& response) {
  const absl::Time start = absl::Now();
  const HeaderMetadata headers(request.headers);
  std::string request_id = auth::RequestIdOf(headers.metadata());
  std::string tenant_id;
  std::string rpc = "unknown";
  absl::Status outcome = absl::OkStatus();
  // Every way out of this function passes here: the request id on the response, a log line
  // and the metrics.
  const auto finish = [&](const absl::Status& status) {
    outcome = status;
    if (!status.ok() && response.body.empty()) SetError(response, status);
    response.set_header(auth::kRequestIdHeader, request_id);
  };

  const std::string origin = request.get_header_value("Origin");
  const bool origin_allowed = AllowOrigin(origin, response);
  const absl::Status header_size = CheckHeaderSize(request.headers, options_);
  const absl::StatusOr<http::RouteMatch> match = routes_->Find(
      request.method == "OPTIONS" && request.has_header("Access-Control-Request-Method")
          ? request.get_header_value("Access-Control-Request-Method")
          : request.method,
      request.path);
  if (!header_size.ok()) {
    SetJsonError(response, 431, http::StatusToJson(header_size));
    finish(header_size);
  } else if (request.method == "OPTIONS") {
    // A CORS preflight (or a plain OPTIONS): which methods and headers the path takes.
    if (!origin_allowed) {
      finish(
          absl::PermissionDeniedError(absl::StrCat("origin ", origin, " may not call this API")));
    } else if (!match.ok()) {
      finish(match.status());
    } else {
      response.status = 204;
      const std::string methods = absl::StrJoin(match->allowed_methods, ", ");
      response.set_header("Allow", methods);
      response.set_header("Access-Control-Allow-Methods", methods);
      response.set_header("Access-Control-Allow-Headers", kAllowedHeaders);
      response.set_header("Access-Control-Max-Age", "600");
      finish(absl::OkStatus());
    }
  } else if (!origin_allowed) {
    finish(absl::PermissionDeniedError(absl::StrCat("origin ", origin, " may not call this API")));
  } else if (!match.ok()) {
    finish(match.status());
  } else if (match->route == nullptr) {
    response.set_header("Allow", absl::StrJoin(match->allowed_methods, ", "));
    SetJsonError(response, 405,
                 http::StatusToJson(absl::InvalidArgumentError(
                     absl::StrCat(request.method, " is not allowed on ", request.path,
                                  "; allowed: ", absl::StrJoin(match->allowed_methods, ", ")))));
    finish(absl::InvalidArgumentError("method not allowed"));
  } else {
    const http::Route& route = *match->route;
    rpc = GrpcPath(route);
    std::unique_ptr<google::protobuf::Message> rpc_request = NewMessage(route.method->input_type());
    // From the URL only: httplib also puts a form-encoded body (curl -d's default) into
    // params, and a JSON body must not be read as a parameter.
    const size_t question = request.target.find('?');
    const http::QueryParameters query = http::ParseQueryString(
        question == std::string::npos ? std::string_view()
                                      : std::string_view(request.target).substr(question + 1));
    absl::Status status =
        http::BuildRequest(route, match->bindings, query, request.body, rpc_request.get());
    std::unique_ptr<google::protobuf::Message> rpc_response =
        NewMessage(route.method->output_type());
    // The gateway's own RPC is served here; every other route goes on to its service.
    const bool own = rpc == kGetCustomer360;
    const BackendMethod* method = own ? nullptr : backends_->Find(rpc);
    if (status.ok() && !own && method == nullptr) {
      status = absl::UnimplementedError("no service serves " + rpc);
    }
    if (status.ok()) {
      const absl::StatusOr<auth::RequestContext> caller =
          edge_->Admit(method != nullptr && method->credential_free, headers.metadata());
      status = caller.status();
      if (caller.ok()) {
        request_id = caller->request_id;
        tenant_id = caller->tenant_id;
      }
      if (caller.ok() && own) {
        absl::StatusOr<Customer360Service::Served> served =
            views_->Get(*caller, CredentialHeaders(headers.metadata()),
                        static_cast<const v1::GetCustomer360Request&>(*rpc_request));
        status = served.status();
        if (served.ok()) {
          static_cast<v1::GetCustomer360Response&>(*rpc_response).Swap(&served->response);
          response.set_header(kCacheHeader, std::string(CacheOutcomeName(served->outcome)));
        }
      } else if (caller.ok()) {
        const absl::StatusOr<Headers> metadata = edge_->ForwardedMetadata(
            headers.metadata(), *caller, method->credential_free, request.remote_addr);
        status = metadata.status();
        if (metadata.ok()) {
          const grpc::Status answered =
              Forward(*method, *metadata, options_.timeout, *rpc_request, rpc_response.get());
          status = status::FromGrpcStatus(answered);
          if (!answered.ok()) {
            // The service's error as it gave it, details included.
            SetJsonError(response, http::HttpStatusFor(status.code()),
                         http::StatusToJson(answered));
            SetRetryAfter(response, status);
          }
        }
      }
    }
    if (status.ok()) {
      absl::StatusOr<std::string> json = http::ResponseToJson(route, *rpc_response);
      if (json.ok()) {
        response.set_content(*std::move(json), kJson);
      }
      status = json.status();
    }
    finish(status);
  }
  metrics_.Record(rpc, outcome.code(), absl::Now() - start);
  LogFinished("http", rpc, request_id, tenant_id, outcome, absl::Now() - start,
              options_.access_log);
}

}  // namespace touchline::gateway
