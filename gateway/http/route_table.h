// The gateway's HTTP routes, read from the google.api.http option of each RPC rather than
// written by hand, so the .proto files stay the one description of the public API.
#ifndef TOUCHLINE_GATEWAY_HTTP_ROUTE_TABLE_H_
#define TOUCHLINE_GATEWAY_HTTP_ROUTE_TABLE_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "gateway/http/path_template.h"
#include "google/protobuf/descriptor.h"

namespace touchline::gateway::http {

// One HTTP binding of an RPC: its google.api.http rule or one of its additional_bindings.
struct Route {
  // "GET", "POST", "PUT", "PATCH", "DELETE", or the kind of a custom pattern as written.
  std::string http_method;
  PathTemplate path;
  const google::protobuf::MethodDescriptor* method;
  // "" (the route takes no body), "*" (the body is the whole request) or the name of a
  // top-level field of the request the body is the JSON of.
  std::string body;
  // "" (the response body is the whole response) or the name of a top-level field of the
  // response whose JSON is the response body.
  std::string response_body;
};

// What a request's method and path lead to.
struct RouteMatch {
  // The route for the request's method, or nullptr when the path has routes only under
  // other methods: answer 405 with `allowed_methods` as the Allow header.
  const Route* route = nullptr;
  // The path variables of `route`; empty when `route` is nullptr.
  Bindings bindings;
  // Every method with a route matching the path, the request's included, sorted and
  // without duplicates (the Allow header, and the answer to a CORS preflight).
  std::vector<std::string> allowed_methods;
};

// Immutable once built, so Find may be called from any number of threads.
class RouteTable {
 public:
  // The routes of every RPC with a google.api.http option in the services named by
  // `service_names` (fully qualified, e.g. "touchline.gateway.v1.GatewayService") in `pool`.
  // With the generated pool, a service is found only if its generated code is linked in.
  // NOT_FOUND when a service is not in `pool`. INVALID_ARGUMENT naming the RPC when a rule
  // has no pattern or nests additional_bindings, a template does not parse, a template
  // variable does not name a singular non-message field (nested through singular messages
  // by '.'), body is neither "", "*" nor a top-level request field, response_body is
  // neither "" nor a top-level response field, or two routes have the same HTTP method and
  // templates of the same shape (see PathTemplate::Shape) and so would match the same
  // requests.
  static absl::StatusOr<RouteTable> Build(const std::vector<std::string>& service_names,
                                          const google::protobuf::DescriptorPool& pool =
                                              *google::protobuf::DescriptorPool::generated_pool());

  // The route for `http_method` and `path` (without query string). When several routes of
  // the method match, one with a verb wins over one without, then the more literal
  // template (PathTemplate::MoreSpecificThan). NOT_FOUND ("no route for GET /v1/x") when no
  // route of any method matches the path; a path matching only under other methods is not
  // an error but a RouteMatch without route.
  absl::StatusOr<RouteMatch> Find(std::string_view http_method, std::string_view path) const;

  // Every route, in the order of the services, their methods, and each method's rule
  // before its additional_bindings.
  const std::vector<Route>& routes() const { return routes_; }

 private:
  std::vector<Route> routes_;
};

}  // namespace touchline::gateway::http

#endif  // TOUCHLINE_GATEWAY_HTTP_ROUTE_TABLE_H_
