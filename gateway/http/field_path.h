// Dotted field paths ("customer.address.city") resolved against a message type, shared by
// the route table (template variables, body) and the transcoder (query parameters).
#ifndef TOUCHLINE_GATEWAY_HTTP_FIELD_PATH_H_
#define TOUCHLINE_GATEWAY_HTTP_FIELD_PATH_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "google/protobuf/descriptor.h"

namespace touchline::gateway::http {

// The fields `path` names in `message`, outermost first. Each component is a proto field
// name or, when `accept_json_names`, also its lowerCamelCase JSON name. INVALID_ARGUMENT
// (message says which component) when a component names no field or a component other than
// the last is not a singular message field.
absl::StatusOr<std::vector<const google::protobuf::FieldDescriptor*>> ResolveFieldPath(
    const google::protobuf::Descriptor& message, std::string_view path, bool accept_json_names);

// The proto field names of `fields` joined by '.', the canonical spelling of a path.
std::string FieldPathName(const std::vector<const google::protobuf::FieldDescriptor*>& fields);

}  // namespace touchline::gateway::http

#endif  // TOUCHLINE_GATEWAY_HTTP_FIELD_PATH_H_
