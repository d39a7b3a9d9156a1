#include "gateway/http/route_table.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "common/status/macros.h"
#include "gateway/http/field_path.h"
#include "google/api/annotations.pb.h"
#include "google/api/http.pb.h"

namespace touchline::gateway::http {
namespace {

using google::api::HttpRule;
using google::protobuf::FieldDescriptor;
using google::protobuf::MethodDescriptor;

absl::Status RuleError(const MethodDescriptor& method, const std::string& problem) {
  return absl::InvalidArgumentError("google.api.http of RPC " + method.full_name() + ": " +
                                    problem);
}

// The HTTP method and template text of `rule`, or "" for both when the pattern is unset.
std::pair<std::string, std::string> PatternOf(const HttpRule& rule) {
  switch (rule.pattern_case()) {
    case HttpRule::kGet:
      return {"GET", rule.get()};
    case HttpRule::kPut:
      return {"PUT", rule.put()};
    case HttpRule::kPost:
      return {"POST", rule.post()};
    case HttpRule::kDelete:
      return {"DELETE", rule.delete_()};
    case HttpRule::kPatch:
      return {"PATCH", rule.patch()};
    case HttpRule::kCustom:
      return {rule.custom().kind(), rule.custom().path()};
    case HttpRule::PATTERN_NOT_SET:
      break;
  }
  return {"", ""};
}

absl::StatusOr<Route> RouteOf(const MethodDescriptor& method, const HttpRule& rule) {
  auto [http_method, text] = PatternOf(rule);
  if (http_method.empty()) return RuleError(method, "no HTTP method and path");
  absl::StatusOr<PathTemplate> path = PathTemplate::Parse(text);
  if (!path.ok()) return RuleError(method, std::string(path.status().message()));

  const google::protobuf::Descriptor& input = *method.input_type();
  for (const PathTemplate::Variable& variable : path->variables()) {
    absl::StatusOr<std::vector<const FieldDescriptor*>> fields =
        ResolveFieldPath(input, variable.field_path, /*accept_json_names=*/false);
    if (!fields.ok()) {
      return RuleError(method, "path variable \"" + variable.field_path +
                                   "\": " + std::string(fields.status().message()));
    }
    const FieldDescriptor& leaf = *fields->back();
    if (leaf.is_repeated() || leaf.cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      return RuleError(method, "path variable \"" + variable.field_path +
                                   "\" must name a singular non-message field");
    }
  }
  if (!rule.body().empty() && rule.body() != "*" && input.FindFieldByName(rule.body()) == nullptr) {
    return RuleError(method, "body \"" + rule.body() + "\" is no field of " + input.full_name());
  }
  if (!rule.response_body().empty() &&
      method.output_type()->FindFieldByName(rule.response_body()) == nullptr) {
    return RuleError(method, "response_body \"" + rule.response_body() + "\" is no field of " +
                                 method.output_type()->full_name());
  }
  return Route{std::move(http_method), *std::move(path), &method, rule.body(),
               rule.response_body()};
}

}  // namespace

absl::StatusOr<RouteTable> RouteTable::Build(const std::vector<std::string>& service_names,
                                             const google::protobuf::DescriptorPool& pool) {
  RouteTable table;
  for (const std::string& service_name : service_names) {
    const google::protobuf::ServiceDescriptor* service = pool.FindServiceByName(service_name);
    if (service == nullptr) return absl::NotFoundError("unknown service " + service_name);
    for (int i = 0; i < service->method_count(); ++i) {
      const MethodDescriptor& method = *service->method(i);
      if (!method.options().HasExtension(google::api::http)) continue;
      const HttpRule& rule = method.options().GetExtension(google::api::http);
      TL_ASSIGN_OR_RETURN(Route route, RouteOf(method, rule));
      table.routes_.push_back(std::move(route));
      for (const HttpRule& binding : rule.additional_bindings()) {
        if (!binding.additional_bindings().empty()) {
          return RuleError(method, "additional_bindings must not nest");
        }
        TL_ASSIGN_OR_RETURN(Route additional, RouteOf(method, binding));
        table.routes_.push_back(std::move(additional));
      }
    }
  }

  const std::vector<Route>& routes = table.routes_;
  for (size_t i = 0; i < routes.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (routes[i].http_method == routes[j].http_method &&
          routes[i].path.Shape() == routes[j].path.Shape()) {
        return RuleError(*routes[i].method, routes[i].http_method + " " + routes[i].path.text() +
                                                " matches the same requests as " +
                                                routes[j].path.text() + " of RPC " +
                                                routes[j].method->full_name());
      }
    }
  }
  return table;
}

absl::StatusOr<RouteMatch> RouteTable::Find(std::string_view http_method,
                                            std::string_view path) const {
  RouteMatch match;
  for (const Route& route : routes_) {
    std::optional<Bindings> bindings = route.path.Match(path);
    if (!bindings.has_value()) continue;
    match.allowed_methods.push_back(route.http_method);
    if (route.http_method != http_method) continue;
    if (match.route == nullptr || route.path.MoreSpecificThan(match.route->path)) {
      match.route = &route;
      match.bindings = *std::move(bindings);
    }
  }
  if (match.allowed_methods.empty()) {
    return absl::NotFoundError("no route for " + std::string(http_method) + " " +
                               std::string(path));
  }
  std::sort(match.allowed_methods.begin(), match.allowed_methods.end());
  match.allowed_methods.erase(
      std::unique(match.allowed_methods.begin(), match.allowed_methods.end()),
      match.allowed_methods.end());
  return match;
}

}  // namespace touchline::gateway::http
