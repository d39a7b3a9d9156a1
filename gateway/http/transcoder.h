// HTTP/JSON requests to protobuf requests and protobuf responses to JSON, by the rules of
// Google's HTTP transcoding (google/api/http.proto) and the proto3 JSON mapping.
#ifndef TOUCHLINE_GATEWAY_HTTP_TRANSCODER_H_
#define TOUCHLINE_GATEWAY_HTTP_TRANSCODER_H_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gateway/http/path_template.h"
#include "gateway/http/route_table.h"
#include "google/protobuf/message.h"

namespace touchline::gateway::http {

// A request's query parameters in URL order, names and values already percent-decoded.
using QueryParameters = std::vector<std::pair<std::string, std::string>>;

// The parameters of a URL query string (what follows '?', as sent): "name=value" pairs split
// at '&', '+' read as a space, %XX escapes decoded, in URL order; a name without '=' has an
// empty value. Only the URL counts: a form-encoded body is never read as parameters.
QueryParameters ParseQueryString(std::string_view query);

// Replaces the contents of `request` (a message of `route.method`'s input type, generated or
// dynamic) with what the HTTP request says:
//  - the body, when not empty or white space only: with route.body "*" it is the whole
//    request and must be a JSON object; with route.body naming a field it is that field;
//  - `bindings` (from RouteTable::Find) set their fields, over what the body said;
//  - each query parameter sets the field its name denotes: a dotted path whose components
//    are proto field names or lowerCamelCase JSON names, through singular messages to a
//    scalar, enum, repeated scalar or enum, or well-known type field (Timestamp as RFC
//    3339, Duration as "1.5s", FieldMask as comma-separated paths, wrappers). A repeated
//    field takes one parameter per element. Bools are "true" or "false"; other values are
//    read as JSON strings by protobuf's JSON parser (numbers, enum names or numbers,
//    base64 bytes).
// Unknown JSON fields are rejected, not ignored. INVALID_ARGUMENT with one google.rpc.BadRequest
// field violation naming the culprit: field "body" when there is a body and route.body is
// "" ("this route takes no body"), for malformed JSON or invalid UTF-8 (with the parser's
// position), a non-object body for "*", and a body protobuf rejects (unknown field, bad
// value); the parameter's name for an unknown query parameter, a parameter naming a field
// the path or body already sets (every field when route.body is "*"), a singular field
// given twice, an unparsable value or invalid UTF-8; the field path of a binding whose value
// does not parse. INTERNAL when `request` is not of the route's input type or `bindings`
// name a field it does not have (bindings not from this route).
absl::Status BuildRequest(const Route& route, const Bindings& bindings,
                          const QueryParameters& query, std::string_view body,
                          google::protobuf::Message* request);

// `response` (of `route.method`'s output type) as the JSON body of the HTTP response: the
// proto3 JSON mapping (lowerCamelCase names, enums by name, scalar fields with default values
// left out) except that every repeated field is there, [] when empty ({} for a map), at any
// depth (not inside a google.protobuf.Any or Struct); of the whole message or, when
// route.response_body names a field, of that field.
// INTERNAL when protobuf cannot print it (e.g. a google.protobuf.Any of an unknown type).
absl::StatusOr<std::string> ResponseToJson(const Route& route,
                                           const google::protobuf::Message& response);

}  // namespace touchline::gateway::http

#endif  // TOUCHLINE_GATEWAY_HTTP_TRANSCODER_H_
