#include "gateway/http_front.h"

#include <algorithm>
#include <array>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "boost/asio/buffer.hpp"
#include "boost/asio/dispatch.hpp"
#include "boost/asio/executor_work_guard.hpp"
#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/post.hpp"
#include "boost/asio/steady_timer.hpp"
#include "boost/beast/core/flat_buffer.hpp"
#include "boost/beast/core/tcp_stream.hpp"
#include "boost/beast/http/error.hpp"
#include "boost/beast/http/parser.hpp"
#include "boost/beast/http/read.hpp"
#include "boost/beast/http/string_body.hpp"
#include "boost/beast/http/write.hpp"
#include "common/auth/request_context.h"
#include "common/log/log.h"
#include "common/metrics/metrics.h"
#include "common/status/errors.h"
#include "common/status/grpc_status.h"
#include "common/status/macros.h"
#include "gateway/gateway_service.h"
#include "gateway/http/http_error.h"
#include "gateway/http/transcoder.h"
#include "google/protobuf/message.h"
#include "grpcpp/client_context.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/impl/codegen/proto_utils.h"
#include "grpcpp/support/byte_buffer.h"

namespace touchline::gateway {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using Request = bhttp::request<bhttp::string_body>;
using Response = bhttp::response<bhttp::string_body>;

constexpr char kJson[] = "application/json; charset=utf-8";
constexpr char kGetCustomer360[] = "/touchline.gateway.v1.GatewayService/GetCustomer360";
// What portals send beyond the CORS-safelisted headers.
constexpr char kAllowedHeaders[] =
    "authorization, content-type, x-api-key, x-touchline-tenant, x-request-id";
// What portals may read of a response.
constexpr char kExposedHeaders[] = "x-request-id, x-touchline-cache, retry-after";
// Bytes a request line may add to the header fields before the parser refuses the head.
constexpr size_t kRequestLineAllowance = 8 << 10;
// How long a connection closed after an answer keeps reading what the client still sends.
constexpr auto kLinger = std::chrono::seconds(1);
// How long accepting pauses when the process is out of file descriptors.
constexpr auto kAcceptRetry = std::chrono::milliseconds(50);

std::chrono::steady_clock::duration ToChrono(absl::Duration d) {
  return absl::ToChronoNanoseconds(d);
}

// The request headers with lower-case names, and a view of them as gRPC metadata (what the
// authenticator reads), kept together so the views stay valid.
class HeaderMetadata {
 public:
  explicit HeaderMetadata(const Request& request) {
    for (const auto& field : request) {
      const beast::string_view name = field.name_string();
      lowered_.emplace_back(absl::AsciiStrToLower(absl::string_view(name.data(), name.size())),
                            std::string(field.value()));
    }
    for (const auto& [name, value] : lowered_) metadata_.emplace(name, value);
  }
  const EdgeGuard::Metadata& metadata() const { return metadata_; }
  size_t count() const { return lowered_.size(); }
  size_t bytes() const {
    size_t bytes = 0;
    for (const auto& [name, value] : lowered_) bytes += name.size() + value.size();
    return bytes;
  }

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

void SetJson(Response& response, unsigned http_status, std::string body) {
  response.result(http_status);
  response.set(bhttp::field::content_type, kJson);
  response.body() = std::move(body);
}

// Retry-After when `status` says when to retry (a rate limit, a throttled login).
void SetRetryAfter(Response& response, const absl::Status& status) {
  if (const std::optional<int64_t> seconds = RetryAfterSeconds(status)) {
    response.set(bhttp::field::retry_after, std::to_string(std::max<int64_t>(1, *seconds)));
  }
}

void SetError(Response& response, const absl::Status& status) {
  SetJson(response, http::HttpStatusFor(status.code()), http::StatusToJson(status));
  if (status.code() == absl::StatusCode::kUnauthenticated) {
    response.set(bhttp::field::www_authenticate, R"(Bearer realm="touchline")");
  }
  SetRetryAfter(response, status);
}

// The header of `request` named `name` (any case), "" when absent.
std::string HeaderOf(const Request& request, bhttp::field name) {
  const auto it = request.find(name);
  return it == request.end() ? std::string() : std::string(it->value());
}

}  // namespace

class HttpFront::Impl {
 public:
  using Reply = std::function<void(Response)>;

  Impl(HttpFrontOptions options, const http::RouteTable* routes, const Backends* backends,
       const EdgeGuard* edge, Customer360Service* views, server::Executor* executor)
      : options_(std::move(options)),
        routes_(routes),
        backends_(backends),
        edge_(edge),
        views_(views),
        executor_(executor),
        metrics_("touchline.gateway.Http"),
        loops_(MakeLoops(options_.threads)),
        acceptor_(loops_.front()->context),
        accept_retry_(loops_.front()->context) {}

  absl::Status Listen(const std::string& host, int port);
  void Run();
  int port() const { return port_; }
  void Shutdown();

  const HttpFrontOptions& options() const { return options_; }

  // Counts a connection from `address` in; false (counting nothing) when it is over a limit.
  bool Open(const std::string& address);
  // Counts a connection Open let in out again.
  void Close(const std::string& address);

  // Answers `request` from `client_address` through `reply`, exactly once, from whichever
  // thread the answer is ready on.
  void Serve(Request request, std::string client_address, Reply reply);

  // The answer to a request the parser refused: `status` as JSON with the CORS headers.
  Response Refusal(unsigned http_status, const absl::Status& status,
                   const std::string& origin) const;

 private:
  class Connection;

  // One request on its way through the front. Finish() sends its answer.
  struct Call {
    absl::Time start = absl::Now();
    Request request;
    std::string client_address;
    Reply reply;
    // The request's headers; set once, never moved (it holds views of itself).
    std::optional<HeaderMetadata> headers;
    Response response;
    std::string request_id;
    std::string tenant_id;
    std::string rpc = "unknown";
  };

  void Accept();
  bool NothingInFlight() const ABSL_SHARED_LOCKS_REQUIRED(mu_) { return in_flight_ == 0; }
  // The CORS headers of a response to `origin`; false when the origin is not allowed.
  bool AllowOrigin(const std::string& origin, Response& response) const;
  // Admits the caller (on the executor: a scope fetch may block) and starts the call.
  void Admit(std::shared_ptr<Call> call, const http::Route* route,
             std::shared_ptr<google::protobuf::Message> rpc_request, const BackendMethod* method);
  void ServeView(std::shared_ptr<Call> call, const auth::RequestContext& caller,
                 const HeaderMetadata& headers, const v1::GetCustomer360Request& request);
  void Forward(std::shared_ptr<Call> call, const http::Route* route, const BackendMethod* method,
               const Headers& metadata, const google::protobuf::Message& rpc_request);
  // Sets `message` as the JSON body of the call's response, then Finish().
  void Respond(const std::shared_ptr<Call>& call, const http::Route& route,
               const google::protobuf::Message& message);
  // Sends the call's response, with `status` as the body when it failed and has none yet.
  void Finish(const std::shared_ptr<Call>& call, const absl::Status& status);

  const HttpFrontOptions options_;
  const http::RouteTable* const routes_;
  const Backends* const backends_;
  const EdgeGuard* const edge_;
  Customer360Service* const views_;
  server::Executor* const executor_;
  metrics::RpcMetrics metrics_;

  absl::Mutex mu_;
  size_t open_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_map<std::string, size_t> open_by_address_ ABSL_GUARDED_BY(mu_);
  size_t in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;

  // One event loop per thread. Connections are handed to the loops in turn, and each runs
  // only on its loop's thread, so none needs a strand (which, measured, halved throughput).
  struct Loop {
    asio::io_context context{1};
    // Keeps run() going while the loop has no connection.
    asio::executor_work_guard<asio::io_context::executor_type> running =
        asio::make_work_guard(context);
  };
  static std::vector<std::unique_ptr<Loop>> MakeLoops(int threads) {
    std::vector<std::unique_ptr<Loop>> loops;
    for (int i = 0; i < std::max(1, threads); ++i) loops.push_back(std::make_unique<Loop>());
    return loops;
  }

  // After the counts: destroying a loop destroys the connections it still holds, which count
  // themselves out.
  std::vector<std::unique_ptr<Loop>> loops_;
  // On the first loop, with the state of accepting.
  tcp::acceptor acceptor_;
  asio::steady_timer accept_retry_;
  size_t next_loop_ = 0;
  int port_ = 0;
  std::vector<std::thread> threads_;
};

// One client connection: waits (idle_timeout) for a request to begin, reads it
// (request_timeout from its first byte), hands it to Serve, writes the answer, and again
// while the client keeps it alive. Its handlers run on its loop's thread.
class HttpFront::Impl::Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(Impl* front, tcp::socket socket, std::string address, bool admitted)
      : front_(front),
        stream_(std::move(socket)),
        address_(std::move(address)),
        admitted_(admitted) {}
  ~Connection() {
    if (admitted_) front_->Close(address_);
  }

  void Start() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] {
      if (!self->admitted_) {
        self->Write(self->front_->Refusal(
                        503, absl::UnavailableError("too many connections; try again later"), ""),
                    /*keep_alive=*/false);
        return;
      }
      self->AwaitRequest();
    });
  }

 private:
  void AwaitRequest() {
    parser_.emplace();
    parser_->header_limit(
        static_cast<uint32_t>(front_->options().max_header_bytes + kRequestLineAllowance));
    parser_->body_limit(front_->options().max_request_bytes);
    if (buffer_.size() > 0) {  // the next request came with the last one
      ReadRequest();
      return;
    }
    stream_.expires_after(ToChrono(front_->options().idle_timeout));
    stream_.async_read_some(buffer_.prepare(4096),
                            [self = shared_from_this()](beast::error_code error, size_t read) {
                              if (error) {
                                self->CloseSocket();
                                return;
                              }
                              self->buffer_.commit(read);
                              self->ReadRequest();
                            });
  }

  void ReadRequest() {
    stream_.expires_after(ToChrono(front_->options().request_timeout));
    bhttp::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code error, size_t) { self->OnRead(error); });
  }

  void OnRead(beast::error_code error) {
    if (error == bhttp::error::header_limit) {
      Refuse(431, absl::InvalidArgumentError(absl::StrCat("request headers too large: more than ",
                                                          front_->options().max_header_bytes,
                                                          " bytes together")));
      return;
    }
    if (error == bhttp::error::body_limit) {
      Refuse(413, status::InvalidArgument(
                      "body", absl::StrCat("is larger than the limit of ",
                                           front_->options().max_request_bytes, " bytes")));
      return;
    }
    if (error && error.category() == bhttp::make_error_code(bhttp::error::bad_method).category() &&
        error != bhttp::error::end_of_stream && error != bhttp::error::partial_message) {
      // Among them a control character in a header value, which RFC 9110 lets a server
      // refuse (or replace); refused here, saying what the parser found.
      Refuse(400,
             absl::InvalidArgumentError(absl::StrCat("malformed HTTP request: ", error.message())));
      return;
    }
    if (error) {  // timed out, closed, reset: nothing to answer
      CloseSocket();
      return;
    }
    stream_.expires_never();  // the call has its own deadline
    ++served_;
    Request request = parser_->release();
    // The last request a connection serves says so, rather than the connection just closing.
    const bool keep_alive =
        request.keep_alive() && served_ < front_->options().keep_alive_max_requests;
    front_->Serve(std::move(request), address_,
                  [self = shared_from_this(), keep_alive](Response response) {
                    asio::post(self->stream_.get_executor(),
                               [self, keep_alive, response = std::move(response)]() mutable {
                                 self->Write(std::move(response), keep_alive);
                               });
                  });
  }

  // Answers a request the parser refused, then closes: the rest of it is not read.
  void Refuse(unsigned http_status, const absl::Status& status) {
    const Request& head = parser_->get();
    Write(front_->Refusal(http_status, status, HeaderOf(head, bhttp::field::origin)),
          /*keep_alive=*/false);
  }

  void Write(Response response, bool keep_alive) {
    response.version(11);
    response.keep_alive(keep_alive);
    response.prepare_payload();
    auto shared = std::make_shared<Response>(std::move(response));
    stream_.expires_after(ToChrono(front_->options().request_timeout));
    bhttp::async_write(stream_, *shared,
                       [self = shared_from_this(), shared](beast::error_code error, size_t) {
                         if (error) {
                           self->CloseSocket();
                         } else if (!shared->keep_alive()) {
                           self->Linger();
                         } else {
                           self->AwaitRequest();
                         }
                       });
  }

  // Closes after an answer while the client may still be sending (a refused request whose
  // rest was not read, a 503): stops sending, then reads and drops what comes until the
  // client closes, for up to a second. Closing with unread bytes would reset the connection,
  // and a reset can destroy the answer before the client reads it.
  void Linger() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.expires_after(kLinger);
    Drain();
  }
  void Drain() {
    stream_.async_read_some(asio::buffer(drained_),
                            [self = shared_from_this()](beast::error_code error, size_t) {
                              if (error) {  // the client closed, or the second is over
                                self->stream_.close();
                                return;
                              }
                              self->Drain();
                            });
  }

  void CloseSocket() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.close();
  }

  Impl* const front_;
  beast::tcp_stream stream_;
  const std::string address_;
  const bool admitted_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  size_t served_ = 0;
  std::array<char, 4096> drained_;
};

absl::Status HttpFront::Impl::Listen(const std::string& host, int port) {
  beast::error_code error;
  const asio::ip::address address =
      asio::ip::make_address(host == "localhost" ? "127.0.0.1" : host, error);
  if (error) {
    return absl::InvalidArgumentError(absl::StrCat(
        "HTTP address must be host:port with a numeric host, not \"", options_.address, "\""));
  }
  const tcp::endpoint endpoint(address, static_cast<uint16_t>(port));
  acceptor_.open(endpoint.protocol(), error);
  if (!error) acceptor_.set_option(asio::socket_base::reuse_address(true), error);
  if (!error) acceptor_.bind(endpoint, error);
  if (!error) acceptor_.listen(asio::socket_base::max_listen_connections, error);
  if (error) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen for HTTP on ", options_.address, ": ", error.message()));
  }
  port_ = acceptor_.local_endpoint().port();
  return absl::OkStatus();
}

void HttpFront::Impl::Run() {
  Accept();
  for (const std::unique_ptr<Loop>& loop : loops_) {
    threads_.emplace_back([context = &loop->context] { context->run(); });
  }
}

void HttpFront::Impl::Accept() {
  asio::io_context& loop = loops_[next_loop_++ % loops_.size()]->context;
  acceptor_.async_accept(loop, [this](beast::error_code error, tcp::socket socket) {
    if (error == asio::error::operation_aborted) return;  // Shutdown
    if (error) {
      // Out of descriptors (or another transient failure): the connections already held
      // go on; accepting resumes shortly.
      log::Warning("HTTP accept failed", {{"error", error.message()}});
      accept_retry_.expires_after(kAcceptRetry);
      accept_retry_.async_wait([this](beast::error_code waited) {
        if (!waited) Accept();
      });
      return;
    }
    socket.set_option(tcp::no_delay(true), error);  // else Nagle holds small answers 40 ms
    beast::error_code no_peer;
    const tcp::endpoint peer = socket.remote_endpoint(no_peer);
    std::string address = no_peer ? std::string() : peer.address().to_string();
    const bool admitted = Open(address);
    std::make_shared<Connection>(this, std::move(socket), std::move(address), admitted)->Start();
    Accept();
  });
}

bool HttpFront::Impl::Open(const std::string& address) {
  absl::MutexLock lock(&mu_);
  size_t& from_address = open_by_address_[address];
  if (open_ >= options_.max_connections || from_address >= options_.max_connections_per_address) {
    if (from_address == 0) open_by_address_.erase(address);
    return false;
  }
  ++open_;
  ++from_address;
  return true;
}

void HttpFront::Impl::Close(const std::string& address) {
  absl::MutexLock lock(&mu_);
  --open_;
  const auto it = open_by_address_.find(address);
  if (--it->second == 0) open_by_address_.erase(it);
}

void HttpFront::Impl::Shutdown() {
  {
    absl::MutexLock lock(&mu_);
    if (stopped_) return;
    stopped_ = true;
  }
  asio::post(acceptor_.get_executor(), [this] {
    beast::error_code ignored;
    acceptor_.close(ignored);
    accept_retry_.cancel();
  });
  // Calls in flight answer (each has the call timeout) before the loop stops.
  {
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(this, &Impl::NothingInFlight),
                         options_.timeout + absl::Seconds(1));
  }
  for (const std::unique_ptr<Loop>& loop : loops_) loop->context.stop();
  for (std::thread& thread : threads_) thread.join();
  threads_.clear();
}

bool HttpFront::Impl::AllowOrigin(const std::string& origin, Response& response) const {
  if (origin.empty()) return true;  // not a browser's cross-origin call
  const auto& allowed = options_.cors_allowed_origins;
  const bool any = std::find(allowed.begin(), allowed.end(), "*") != allowed.end();
  if (!any && std::find(allowed.begin(), allowed.end(), origin) == allowed.end()) return false;
  response.set(bhttp::field::access_control_allow_origin, origin);
  response.set(bhttp::field::vary, "Origin");
  response.set(bhttp::field::access_control_expose_headers, kExposedHeaders);
  return true;
}

Response HttpFront::Impl::Refusal(unsigned http_status, const absl::Status& status,
                                  const std::string& origin) const {
  Response response;
  AllowOrigin(origin, response);
  SetJson(response, http_status, http::StatusToJson(status));
  return response;
}

void HttpFront::Impl::Serve(Request request, std::string client_address, Reply reply) {
  auto call = std::make_shared<Call>();
  {
    absl::MutexLock lock(&mu_);
    ++in_flight_;
  }
  call->request = std::move(request);
  call->client_address = std::move(client_address);
  call->reply = std::move(reply);
  const Request& r = call->request;
  Response& response = call->response;
  const HeaderMetadata& headers = call->headers.emplace(r);
  call->request_id = auth::RequestIdOf(headers.metadata());
  const std::string method(r.method_string());
  const std::string_view target(r.target().data(), r.target().size());
  const size_t question = target.find('?');
  const std::string path(target.substr(0, question));

  const std::string origin = HeaderOf(r, bhttp::field::origin);
  const bool origin_allowed = AllowOrigin(origin, response);
  const std::string preflight_method = HeaderOf(r, bhttp::field::access_control_request_method);
  const absl::StatusOr<http::RouteMatch> match = routes_->Find(
      method == "OPTIONS" && !preflight_method.empty() ? preflight_method : method, path);
  if (headers.count() > options_.max_header_count || headers.bytes() > options_.max_header_bytes) {
    const absl::Status too_large = absl::InvalidArgumentError(
        absl::StrCat("request headers too large: ", headers.count(), " fields of ", headers.bytes(),
                     " bytes; at most ", options_.max_header_count, " fields of ",
                     options_.max_header_bytes, " bytes together"));
    SetJson(response, 431, http::StatusToJson(too_large));
    Finish(call, too_large);
  } else if (method == "OPTIONS") {
    // A CORS preflight (or a plain OPTIONS): which methods and headers the path takes.
    if (!origin_allowed) {
      Finish(call, absl::PermissionDeniedError(
                       absl::StrCat("origin ", origin, " may not call this API")));
    } else if (!match.ok()) {
      Finish(call, match.status());
    } else {
      response.result(bhttp::status::no_content);
      const std::string methods = absl::StrJoin(match->allowed_methods, ", ");
      response.set(bhttp::field::allow, methods);
      response.set(bhttp::field::access_control_allow_methods, methods);
      response.set(bhttp::field::access_control_allow_headers, kAllowedHeaders);
      response.set(bhttp::field::access_control_max_age, "600");
      Finish(call, absl::OkStatus());
    }
  } else if (!origin_allowed) {
    Finish(call,
           absl::PermissionDeniedError(absl::StrCat("origin ", origin, " may not call this API")));
  } else if (!match.ok()) {
    Finish(call, match.status());
  } else if (match->route == nullptr) {
    const std::string allowed = absl::StrJoin(match->allowed_methods, ", ");
    response.set(bhttp::field::allow, allowed);
    SetJson(response, 405,
            http::StatusToJson(absl::InvalidArgumentError(
                absl::StrCat(method, " is not allowed on ", path, "; allowed: ", allowed))));
    Finish(call, absl::InvalidArgumentError("method not allowed"));
  } else {
    const http::Route* route = match->route;
    call->rpc = GrpcPath(*route);
    std::shared_ptr<google::protobuf::Message> rpc_request =
        NewMessage(route->method->input_type());
    const http::QueryParameters query = http::ParseQueryString(
        question == std::string_view::npos ? std::string_view() : target.substr(question + 1));
    absl::Status status =
        http::BuildRequest(*route, match->bindings, query, r.body(), rpc_request.get());
    // The gateway's own RPC is served here; every other route goes on to its service.
    const BackendMethod* method_of_route =
        call->rpc == kGetCustomer360 ? nullptr : backends_->Find(call->rpc);
    if (status.ok() && call->rpc != kGetCustomer360 && method_of_route == nullptr) {
      status = absl::UnimplementedError("no service serves " + call->rpc);
    }
    if (!status.ok()) {
      Finish(call, status);
      return;
    }
    status = executor_->Submit([this, call, route, rpc_request, method_of_route] {
      Admit(call, route, rpc_request, method_of_route);
    });
    if (!status.ok()) Finish(call, status);
  }
}

void HttpFront::Impl::Admit(std::shared_ptr<Call> call, const http::Route* route,
                            std::shared_ptr<google::protobuf::Message> rpc_request,
                            const BackendMethod* method) {
  const HeaderMetadata& headers = *call->headers;
  const absl::StatusOr<auth::RequestContext> caller =
      edge_->Admit(method != nullptr && method->credential_free, headers.metadata());
  if (!caller.ok()) {
    Finish(call, caller.status());
    return;
  }
  call->request_id = caller->request_id;
  call->tenant_id = caller->tenant_id;
  if (method == nullptr) {
    ServeView(std::move(call), *caller, headers,
              static_cast<const v1::GetCustomer360Request&>(*rpc_request));
    return;
  }
  const absl::StatusOr<Headers> metadata = edge_->ForwardedMetadata(
      headers.metadata(), *caller, method->credential_free, call->client_address);
  if (!metadata.ok()) {
    Finish(call, metadata.status());
    return;
  }
  Forward(std::move(call), route, method, *metadata, *rpc_request);
}

void HttpFront::Impl::ServeView(std::shared_ptr<Call> call, const auth::RequestContext& caller,
                                const HeaderMetadata& headers,
                                const v1::GetCustomer360Request& request) {
  // A hit comes as the JSON prepared for the caller's field profile, sent as it is.
  views_->GetEncodedAsync(
      caller, CredentialHeaders(headers.metadata()), request, Customer360Service::Encoding::kJson,
      [this, call](absl::StatusOr<Customer360Service::Encoded> view) {
        if (!view.ok()) {
          Finish(call, view.status());
          return;
        }
        call->response.set(kCacheHeader, std::string(CacheOutcomeName(view->outcome)));
        SetJson(call->response, 200, std::move(view->bytes));
        Finish(call, absl::OkStatus());
      });
}

void HttpFront::Impl::Forward(std::shared_ptr<Call> call, const http::Route* route,
                              const BackendMethod* method, const Headers& metadata,
                              const google::protobuf::Message& rpc_request) {
  struct Exchange {
    grpc::ClientContext context;
    grpc::ByteBuffer request;
    grpc::ByteBuffer response;
  };
  auto exchange = std::make_shared<Exchange>();
  for (const auto& [name, value] : metadata) exchange->context.AddMetadata(name, value);
  exchange->context.set_deadline(absl::ToChronoTime(absl::Now() + options_.timeout));
  bool own_buffer = false;
  if (const grpc::Status serialized =
          grpc::SerializationTraits<google::protobuf::Message>::Serialize(
              rpc_request, &exchange->request, &own_buffer);
      !serialized.ok()) {
    Finish(call, status::FromGrpcStatus(serialized));
    return;
  }
  // The answer comes on a gRPC thread; nothing waits for it.
  grpc::GenericStub(method->channel)
      .UnaryCall(&exchange->context, method->path, grpc::StubOptions(), &exchange->request,
                 &exchange->response, [this, call, route, exchange](grpc::Status answered) {
                   if (!answered.ok()) {
                     // The service's error as it gave it, details included.
                     const absl::Status status = status::FromGrpcStatus(answered);
                     SetJson(call->response, http::HttpStatusFor(status.code()),
                             http::StatusToJson(answered));
                     SetRetryAfter(call->response, status);
                     Finish(call, status);
                     return;
                   }
                   std::unique_ptr<google::protobuf::Message> message =
                       NewMessage(route->method->output_type());
                   if (!grpc::SerializationTraits<google::protobuf::Message>::Deserialize(
                            &exchange->response, message.get())
                            .ok()) {
                     Finish(call, absl::InternalError("the service's response did not parse"));
                     return;
                   }
                   Respond(call, *route, *message);
                 });
}

void HttpFront::Impl::Respond(const std::shared_ptr<Call>& call, const http::Route& route,
                              const google::protobuf::Message& message) {
  absl::StatusOr<std::string> json = http::ResponseToJson(route, message);
  if (json.ok()) SetJson(call->response, 200, *std::move(json));
  Finish(call, json.status());
}

void HttpFront::Impl::Finish(const std::shared_ptr<Call>& call, const absl::Status& status) {
  Response& response = call->response;
  if (!status.ok() && response.body().empty()) SetError(response, status);
  response.set(auth::kRequestIdHeader, call->request_id);
  const absl::Duration latency = absl::Now() - call->start;
  metrics_.Record(call->rpc, status.code(), latency);
  LogFinished("http", call->rpc, call->request_id, call->tenant_id, status, latency,
              options_.access_log);
  call->reply(std::move(response));
  absl::MutexLock lock(&mu_);
  --in_flight_;
}

absl::StatusOr<std::unique_ptr<HttpFront>> HttpFront::Start(
    HttpFrontOptions options, const http::RouteTable* routes, const Backends* backends,
    const EdgeGuard* edge, Customer360Service* views, server::Executor* executor) {
  const size_t colon = options.address.rfind(':');
  int port = 0;
  if (colon == std::string::npos || colon == 0 ||
      !absl::SimpleAtoi(options.address.substr(colon + 1), &port) || port < 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("HTTP address must be host:port, not \"", options.address, "\""));
  }
  const std::string host = options.address.substr(0, colon);
  auto impl = std::make_unique<Impl>(std::move(options), routes, backends, edge, views, executor);
  TL_RETURN_IF_ERROR(impl->Listen(host, port));
  impl->Run();
  return std::unique_ptr<HttpFront>(new HttpFront(std::move(impl)));
}

HttpFront::HttpFront(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpFront::~HttpFront() { Shutdown(); }

int HttpFront::port() const { return impl_->port(); }

void HttpFront::Shutdown() { impl_->Shutdown(); }

}  // namespace touchline::gateway
