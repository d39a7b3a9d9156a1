// The HTTP/JSON front for portals: every route declared by a google.api.http option, served
// by transcoding to the same calls the gRPC front makes, with errors in the google.rpc.Status
// shape, CORS for configured origins, request size limits and keep-alive.
//
// It runs on an event loop (Boost.Beast on Asio) with a fixed number of threads: a
// connection costs a socket and a few kilobytes, never a thread, however slow or idle its
// client. Deadlines bound how long a connection may sit idle between requests and how long
// a request may take to arrive once it has begun; limits bound the connections in total and
// per client address. Calls run as the gRPC front's do: the caller is admitted on the
// executor (a scope fetch may block), then the service is called through gRPC's callback
// client and the answer written from its thread, so no thread waits for a service.
#ifndef TOUCHLINE_GATEWAY_HTTP_FRONT_H_
#define TOUCHLINE_GATEWAY_HTTP_FRONT_H_

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/server/executor.h"
#include "gateway/backends.h"
#include "gateway/customer360.h"
#include "gateway/edge.h"
#include "gateway/http/route_table.h"

namespace touchline::gateway {

struct HttpFrontOptions {
  // host:port; port 0 picks a free port (see HttpFront::port()).
  std::string address = "127.0.0.1:0";
  // Threads running the event loop (parsing, routing, JSON, writing).
  int threads = 2;
  // Largest request body; a larger one is answered 413 without being read.
  size_t max_request_bytes = 1 << 20;
  // Most header fields, and most bytes of their names and values together, a request may
  // have; more is answered 431.
  size_t max_header_count = 100;
  size_t max_header_bytes = 16 << 10;
  // Origins (e.g. "https://portal.example.com") whose browsers may call; "*" for any.
  std::vector<std::string> cors_allowed_origins;
  // Deadline of each call to a service.
  absl::Duration timeout = absl::Seconds(10);
  // How long a request may take to arrive, from its first byte to its last; a client that
  // is slower is disconnected. Also the deadline for a client to take a response.
  absl::Duration request_timeout = absl::Seconds(10);
  // How long a connection may wait for its next request (or its first) before it is closed.
  absl::Duration idle_timeout = absl::Seconds(60);
  // Connections held open at once, in total and from one client address; a connection over
  // either limit is answered 503 and closed.
  size_t max_connections = 20000;
  size_t max_connections_per_address = 5000;
  // Requests one keep-alive connection serves before it is closed.
  size_t keep_alive_max_requests = 10000;
  bool access_log = false;
};

class HttpFront {
 public:
  // Listens and serves on its own threads. Every pointer must outlive the front; calls are
  // admitted on `executor`. UNAVAILABLE when the address cannot be listened on,
  // INVALID_ARGUMENT when it is malformed.
  static absl::StatusOr<std::unique_ptr<HttpFront>> Start(
      HttpFrontOptions options, const http::RouteTable* routes, const Backends* backends,
      const EdgeGuard* edge, Customer360Service* views, server::Executor* executor);
  // Shutdown().
  ~HttpFront();

  HttpFront(const HttpFront&) = delete;
  HttpFront& operator=(const HttpFront&) = delete;

  int port() const;
  // Stops accepting, lets calls in flight finish (up to the call timeout), closes every
  // connection and joins the threads. Idempotent.
  void Shutdown();

 private:
  class Impl;
  explicit HttpFront(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace touchline::gateway

#endif  // TOUCHLINE_GATEWAY_HTTP_FRONT_H_
