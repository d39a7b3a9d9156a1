// The HTTP/JSON front for portals: every route declared by a google.api.http option, served
// by transcoding to the same calls the gRPC front makes, with errors in the google.rpc.Status
// shape, CORS for configured origins, a request size limit and keep-alive.
#ifndef TOUCHLINE_GATEWAY_HTTP_FRONT_H_
#define TOUCHLINE_GATEWAY_HTTP_FRONT_H_

#include <cstddef>
#include <ctime>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/metrics/metrics.h"
#include "gateway/backends.h"
#include "gateway/customer360.h"
#include "gateway/edge.h"
#include "gateway/http/route_table.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace touchline::gateway {

struct HttpFrontOptions {
  // host:port; port 0 picks a free port (see HttpFront::port()).
  std::string address = "127.0.0.1:0";
  // Threads serving connections; an idle keep-alive connection holds one.
  int threads = 64;
  // Largest request body; a larger one is answered 413 without being read.
  size_t max_request_bytes = 1 << 20;
  // Most header fields, and most bytes of their names and values together, a request may
  // have; more is answered 431. (One line over 8 KiB is a 400 from the HTTP parser.)
  size_t max_header_count = 100;
  size_t max_header_bytes = 16 << 10;
  // Origins (e.g. "https://portal.example.com") whose browsers may call; "*" for any.
  std::vector<std::string> cors_allowed_origins;
  // Deadline of each call to a service.
  absl::Duration timeout = absl::Seconds(10);
  // How long an idle keep-alive connection stays open, and how many requests it serves.
  time_t keep_alive_seconds = 5;
  size_t keep_alive_max_requests = 10000;
  bool access_log = false;
};

class HttpFront {
 public:
  // Listens and serves on its own threads. Every pointer must outlive the front.
  // UNAVAILABLE when the address cannot be listened on, INVALID_ARGUMENT when it is malformed.
  static absl::StatusOr<std::unique_ptr<HttpFront>> Start(HttpFrontOptions options,
                                                          const http::RouteTable* routes,
                                                          const Backends* backends,
                                                          const EdgeGuard* edge,
                                                          Customer360Service* views);
  // Shutdown().
  ~HttpFront();

  int port() const { return port_; }
  // Stops accepting and waits for the listener thread. Idempotent.
  void Shutdown();

 private:
  HttpFront(HttpFrontOptions options, const http::RouteTable* routes, const Backends* backends,
            const EdgeGuard* edge, Customer360Service* views);

  void Handle(const httplib::Request& request, httplib::Response& response);
  // The CORS headers of a response to `origin`; false when the origin is not allowed.
  bool AllowOrigin(const std::string& origin, httplib::Response& response) const;

  const HttpFrontOptions options_;
  const http::RouteTable* const routes_;
  const Backends* const backends_;
  const EdgeGuard* const edge_;
  Customer360Service* const views_;
  metrics::RpcMetrics metrics_;
  std::unique_ptr<httplib::Server> server_;
  int port_ = 0;
  std::thread listener_;
};

}  // namespace touchline::gateway

#endif  // TOUCHLINE_GATEWAY_HTTP_FRONT_H_
