#include "gateway/http/transcoder.h"

#include <algorithm>
#include <iterator>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status/errors.h"
#include "common/status/macros.h"
#include "common/text/text.h"
#include "gateway/http/field_path.h"
#include "gateway/http/path_template.h"
#include "google/protobuf/util/json_util.h"
#include "nlohmann/json.hpp"

namespace touchline::gateway::http {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using Json = nlohmann::json;
using OrderedJson = nlohmann::ordered_json;

// Well-known types whose JSON form is a string or a bool, so a query parameter can carry
// them; other messages need a JSON object.
constexpr std::string_view kQueryableMessages[] = {
    "google.protobuf.Timestamp",   "google.protobuf.Duration",   "google.protobuf.FieldMask",
    "google.protobuf.StringValue", "google.protobuf.BytesValue", "google.protobuf.BoolValue",
    "google.protobuf.Int32Value",  "google.protobuf.Int64Value", "google.protobuf.UInt32Value",
    "google.protobuf.UInt64Value", "google.protobuf.FloatValue", "google.protobuf.DoubleValue",
};

bool IsQueryableMessage(const Descriptor& type) {
  return std::find(std::begin(kQueryableMessages), std::end(kQueryableMessages),
                   type.full_name()) != std::end(kQueryableMessages);
}

bool IsBool(const FieldDescriptor& field) {
  return field.type() == FieldDescriptor::TYPE_BOOL ||
         (field.type() == FieldDescriptor::TYPE_MESSAGE &&
          field.message_type()->full_name() == "google.protobuf.BoolValue");
}

bool IsBlank(std::string_view text) {
  return text.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

// Unknown fields are errors: a portal's typo must be visible, not silently dropped.
absl::Status ParseJson(const std::string& json, Message* message) {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  const auto status = google::protobuf::util::JsonStringToMessage(json, message, options);
  if (status.ok()) return absl::OkStatus();
  return absl::InvalidArgumentError(status.message().ToString());
}

// nlohmann's parse error without its "[json.exception.parse_error.101] " prefix and without
// the "; last read: '...'" it quotes from the input, which may be invalid UTF-8 and so could
// not travel in a google.rpc.BadRequest.
std::string ParseErrorText(std::string what) {
  const size_t bracket = what.find("] ");
  if (!what.empty() && what.front() == '[' && bracket != std::string::npos) {
    what.erase(0, bracket + 2);
  }
  constexpr std::string_view kLastRead = "; last read: '";
  const size_t last_read = what.find(kLastRead);
  if (last_read == std::string::npos) return what;
  const size_t expected = what.rfind("'; expected ");
  if (expected == std::string::npos || expected < last_read + kLastRead.size()) {
    what.erase(last_read);
  } else {
    what.erase(last_read, expected + 1 - last_read);
  }
  if (!text::IsValidUtf8(what)) what.erase(last_read);
  return what;
}

// The body as JSON protobuf can read into the request (the body itself for "*", the body
// wrapped as the value of the body field otherwise). nlohmann checks the syntax first: its
// messages give the position, it rejects invalid UTF-8, and a body checked to be exactly one
// JSON value cannot break out of the wrapping object.
absl::StatusOr<std::string> BodyJson(const Route& route, std::string_view body) {
  if (!Json::accept(body)) {
    try {
      [[maybe_unused]] const Json never_valid = Json::parse(body);
    } catch (const Json::parse_error& error) {
      return status::InvalidArgument("body", "malformed JSON: " + ParseErrorText(error.what()));
    }
    return status::InvalidArgument("body", "malformed JSON");
  }
  if (route.body == "*") {
    if (body[body.find_first_not_of(" \t\r\n")] != '{') {
      return status::InvalidArgument("body", "must be a JSON object");
    }
    return std::string(body);
  }
  const FieldDescriptor* field = route.method->input_type()->FindFieldByName(route.body);
  return "{\"" + field->json_name() + "\":" + std::string(body) + "}";
}

absl::StatusOr<Json> TypedValue(const FieldDescriptor& field, const std::string& value,
                                const std::string& culprit) {
  if (!text::IsValidUtf8(value)) return status::InvalidArgument(culprit, "not valid UTF-8");
  if (!IsBool(field)) return Json(value);
  if (value == "true") return Json(true);
  if (value == "false") return Json(false);
  return status::InvalidArgument(culprit, "must be true or false");
}

// Sets the field `fields` leads to from `values` (one unless it is repeated) by parsing
// {"a":{"b":value}} into a scratch message and merging that into `request`: a separate parse
// per field names the culprit of a parse error exactly.
absl::Status MergeField(const std::vector<const FieldDescriptor*>& fields,
                        const std::vector<std::string>& values, const std::string& culprit,
                        Message* request) {
  const FieldDescriptor& leaf = *fields.back();
  Json items = Json::array();
  for (const std::string& value : values) {
    TL_ASSIGN_OR_RETURN(Json item, TypedValue(leaf, value, culprit));
    items.push_back(std::move(item));
  }
  Json json = leaf.is_repeated() ? std::move(items) : std::move(items[0]);
  for (auto field = fields.rbegin(); field != fields.rend(); ++field) {
    Json object = Json::object();
    object[(*field)->json_name()] = std::move(json);
    json = std::move(object);
  }
  std::unique_ptr<Message> scratch(request->New());
  if (absl::Status status = ParseJson(json.dump(), scratch.get()); !status.ok()) {
    return status::InvalidArgument(culprit, std::string(status.message()));
  }
  request->MergeFrom(*scratch);
  return absl::OkStatus();
}

// google.protobuf.*: their JSON forms (a string for a Timestamp, any value for a Struct...)
// are their own.
bool IsWellKnown(const Descriptor& type) { return type.file()->package() == "google.protobuf"; }

// The JSON object member name of map key `entry`'s key, as the JSON mapping prints it.
std::string MapKeyName(const Message& entry) {
  const FieldDescriptor& key = *entry.GetDescriptor()->map_key();
  const google::protobuf::Reflection& reflection = *entry.GetReflection();
  switch (key.cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      return std::to_string(reflection.GetInt32(entry, &key));
    case FieldDescriptor::CPPTYPE_INT64:
      return std::to_string(reflection.GetInt64(entry, &key));
    case FieldDescriptor::CPPTYPE_UINT32:
      return std::to_string(reflection.GetUInt32(entry, &key));
    case FieldDescriptor::CPPTYPE_UINT64:
      return std::to_string(reflection.GetUInt64(entry, &key));
    case FieldDescriptor::CPPTYPE_BOOL:
      return reflection.GetBool(entry, &key) ? "true" : "false";
    default:
      return reflection.GetString(entry, &key);
  }
}

// Adds what the proto3 JSON mapping leaves out of `json` (`message` as protobuf printed it)
// for an empty repeated field: [] (or {} for a map), in `message` and every message it holds,
// so that a client always finds its lists. Well-known types keep their own JSON form.
void AddEmptyLists(const Message& message, OrderedJson& json) {
  if (!json.is_object() || IsWellKnown(*message.GetDescriptor())) return;
  const Descriptor& type = *message.GetDescriptor();
  const google::protobuf::Reflection& reflection = *message.GetReflection();
  bool added = false;
  for (int i = 0; i < type.field_count(); ++i) {
    const FieldDescriptor& field = *type.field(i);
    const bool holds_messages = field.cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE;
    if (!field.is_repeated()) {
      if (!holds_messages || !reflection.HasField(message, &field)) continue;
      const auto member = json.find(field.json_name());
      if (member != json.end()) AddEmptyLists(reflection.GetMessage(message, &field), *member);
      continue;
    }
    const int size = reflection.FieldSize(message, &field);
    if (size == 0) {
      json[field.json_name()] = field.is_map() ? OrderedJson::object() : OrderedJson::array();
      added = true;
      continue;
    }
    if (!holds_messages) continue;
    const auto member = json.find(field.json_name());
    if (member == json.end()) continue;
    for (int j = 0; j < size; ++j) {
      const Message& element = reflection.GetRepeatedMessage(message, &field, j);
      if (!field.is_map()) {
        if (member->is_array() && static_cast<size_t>(j) < member->size()) {
          AddEmptyLists(element, (*member)[static_cast<size_t>(j)]);
        }
        continue;
      }
      const FieldDescriptor& value = *field.message_type()->map_value();
      if (value.cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) break;
      const auto entry = member->find(MapKeyName(element));
      if (entry != member->end()) {
        AddEmptyLists(element.GetReflection()->GetMessage(element, &value), *entry);
      }
    }
  }
  if (!added) return;
  // Back in the order of the fields, as protobuf prints them.
  OrderedJson ordered = OrderedJson::object();
  for (int i = 0; i < type.field_count(); ++i) {
    const auto member = json.find(type.field(i)->json_name());
    if (member != json.end()) ordered[type.field(i)->json_name()] = std::move(*member);
  }
  json = std::move(ordered);
}

// `message` in the JSON mapping, empty lists included (AddEmptyLists); with `with_defaults`,
// scalar fields with their default values too.
absl::StatusOr<std::string> PrintJson(const Message& message, bool with_defaults) {
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = with_defaults;
  std::string printed;
  const auto status = google::protobuf::util::MessageToJsonString(message, &printed, options);
  if (!status.ok()) return absl::InternalError(status.message().ToString());
  if (IsWellKnown(*message.GetDescriptor())) return printed;
  // Ordered: the members stay in the order protobuf printed them (field number order).
  OrderedJson json = OrderedJson::parse(printed, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object()) return absl::InternalError("protobuf printed malformed JSON");
  AddEmptyLists(message, json);
  return json.dump(-1, ' ', /*ensure_ascii=*/false, OrderedJson::error_handler_t::replace);
}

struct QueryField {
  std::string first_name;  // the parameter's name as the caller spelled it first
  std::vector<const FieldDescriptor*> fields;
  std::vector<std::string> values;
};

}  // namespace

absl::Status BuildRequest(const Route& route, const Bindings& bindings,
                          const QueryParameters& query, std::string_view body, Message* request) {
  const Descriptor& type = *route.method->input_type();
  if (request->GetDescriptor()->full_name() != type.full_name()) {
    return absl::InternalError("request is a " + request->GetDescriptor()->full_name() +
                               ", the route takes a " + type.full_name());
  }
  request->Clear();

  if (!IsBlank(body)) {
    if (route.body.empty()) return status::InvalidArgument("body", "this route takes no body");
    TL_ASSIGN_OR_RETURN(const std::string json, BodyJson(route, body));
    if (absl::Status status = ParseJson(json, request); !status.ok()) {
      return status::InvalidArgument("body", std::string(status.message()));
    }
  }

  std::vector<std::string> path_fields;
  for (const auto& [field_path, value] : bindings) {
    absl::StatusOr<std::vector<const FieldDescriptor*>> fields =
        ResolveFieldPath(type, field_path, /*accept_json_names=*/false);
    if (!fields.ok()) {
      return absl::InternalError("binding of a field the route does not have: " + field_path);
    }
    TL_RETURN_IF_ERROR(MergeField(*fields, {value}, field_path, request));
    path_fields.push_back(FieldPathName(*fields));
  }

  // Grouped by field, so both spellings of a name (page_size, pageSize) meet, and a repeated
  // field parses all its values at once.
  std::vector<QueryField> query_fields;
  std::map<std::string, size_t> index_of;
  for (const auto& [name, value] : query) {
    if (route.body == "*") {
      return status::InvalidArgument(name, "this route takes every field from the body");
    }
    absl::StatusOr<std::vector<const FieldDescriptor*>> fields =
        ResolveFieldPath(type, name, /*accept_json_names=*/true);
    if (!fields.ok()) return status::InvalidArgument(name, "unknown query parameter");
    const FieldDescriptor& leaf = *fields->back();
    if (leaf.is_map() || (leaf.cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE &&
                          !IsQueryableMessage(*leaf.message_type()))) {
      return status::InvalidArgument(name, "cannot be set by a query parameter");
    }
    const std::string canonical = FieldPathName(*fields);
    if (!route.body.empty() &&
        (canonical == route.body || canonical.rfind(route.body + ".", 0) == 0)) {
      return status::InvalidArgument(name, "set by the body");
    }
    if (std::find(path_fields.begin(), path_fields.end(), canonical) != path_fields.end()) {
      return status::InvalidArgument(name, "set by the URL path");
    }
    auto [it, inserted] = index_of.emplace(canonical, query_fields.size());
    if (inserted) query_fields.push_back({name, *std::move(fields), {}});
    QueryField& query_field = query_fields[it->second];
    if (!leaf.is_repeated() && !query_field.values.empty()) {
      return status::InvalidArgument(name, "given more than once");
    }
    query_field.values.push_back(value);
  }
  for (const QueryField& query_field : query_fields) {
    TL_RETURN_IF_ERROR(
        MergeField(query_field.fields, query_field.values, query_field.first_name, request));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ResponseToJson(const Route& route, const Message& response) {
  if (route.response_body.empty()) return PrintJson(response, /*with_defaults=*/false);
  const FieldDescriptor* field = response.GetDescriptor()->FindFieldByName(route.response_body);
  if (field == nullptr) {
    return absl::InternalError("response has no field " + route.response_body);
  }
  if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE && !field->is_repeated()) {
    return PrintJson(response.GetReflection()->GetMessage(response, field),
                     /*with_defaults=*/false);
  }
  // A repeated or scalar field has no JSON printer of its own: print the message (a scalar
  // with its default value, a list even when empty) and take the field's value out.
  TL_ASSIGN_OR_RETURN(const std::string json,
                      PrintJson(response, /*with_defaults=*/!field->is_repeated()));
  const Json parsed = Json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_object()) return absl::InternalError("protobuf printed malformed JSON");
  const auto value = parsed.find(field->json_name());
  return value == parsed.end() ? std::string("null") : value->dump();
}

QueryParameters ParseQueryString(std::string_view query) {
  QueryParameters parameters;
  size_t start = 0;
  while (start <= query.size()) {
    size_t end = query.find('&', start);
    if (end == std::string_view::npos) end = query.size();
    std::string part(query.substr(start, end - start));
    start = end + 1;
    if (part.empty()) continue;
    std::replace(part.begin(), part.end(), '+', ' ');
    const size_t equals = part.find('=');
    if (equals == std::string::npos) {
      parameters.emplace_back(PercentDecode(part), "");
    } else {
      parameters.emplace_back(PercentDecode(std::string_view(part).substr(0, equals)),
                              PercentDecode(std::string_view(part).substr(equals + 1)));
    }
  }
  return parameters;
}

}  // namespace touchline::gateway::http
