#include "gateway/prepared_view.h"

#include <algorithm>
#include <cstdint>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status/macros.h"
#include "gateway/http/transcoder.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"

namespace touchline::gateway {
namespace {

namespace pv1 = ::touchline::permissions::v1;
using cache::CustomerRow;
using cache::PreparedCustomer360;
using cache::PreparedPart;
using v1::GetCustomer360Response;

constexpr char kGatewayService[] = "touchline.gateway.v1.GatewayService";
constexpr char kGetCustomer360[] = "GetCustomer360";

// Map entries in key order, so that a message's bytes are the same wherever it is serialized:
// alone as a part, or inside the whole response.
std::string Serialized(const google::protobuf::MessageLite& message) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream out(&bytes);
    google::protobuf::io::CodedOutputStream coded(&out);
    coded.SetSerializationDeterministic(true);
    message.SerializePartialToCodedStream(&coded);
  }
  return bytes;
}

// Calls visit(field number, bytes) for each field of the message `bytes`, every one of which
// must be length-delimited; false when one is not, or the bytes end inside one, or `visit`
// returns false.
template <typename Visit>
bool ForEachField(std::string_view bytes, Visit visit) {
  constexpr uint32_t kLengthDelimited = 2;
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(bytes.data()),
                                            static_cast<int>(bytes.size()));
  while (const uint32_t tag = in.ReadTag()) {
    uint32_t length = 0;
    if ((tag & 7) != kLengthDelimited || !in.ReadVarint32(&length)) return false;
    const size_t at = static_cast<size_t>(in.CurrentPosition());
    if (length > bytes.size() - at) return false;
    if (!visit(static_cast<int>(tag >> 3), bytes.substr(at, length))) return false;
    if (!in.Skip(static_cast<int>(length))) return false;
  }
  return in.ConsumedEntireMessage();
}

bool ReadPart(std::string_view bytes, PreparedView::Part& part) {
  return ForEachField(bytes, [&part](int field, std::string_view value) {
    switch (field) {
      case PreparedPart::kIdFieldNumber:
        part.read.id = value;
        break;
      case PreparedPart::kSensitiveFieldsFieldNumber:
        part.read.fields.push_back(value);
        break;
      case PreparedPart::kEncodedFieldNumber:
        part.encoded = value;
        break;
      default:
        break;
    }
    return true;
  });
}

auth::CustomerAttributes AttributesOfRow(CustomerRow row) {
  auth::CustomerAttributes attributes{.customer_id = std::move(*row.mutable_customer_id()),
                                      .owner_id = std::move(*row.mutable_owner_id()),
                                      .region = std::move(*row.mutable_region()),
                                      .level = row.level(),
                                      .shares = {}};
  attributes.shares.reserve(static_cast<size_t>(row.shares_size()));
  for (CustomerRow::Share& share : *row.mutable_shares()) {
    attributes.shares.push_back(
        {.grantee = std::move(*share.mutable_grantee()), .edit = share.edit()});
  }
  return attributes;
}

CustomerRow RowOf(const auth::CustomerAttributes& attributes) {
  CustomerRow row;
  row.set_customer_id(attributes.customer_id);
  row.set_owner_id(attributes.owner_id);
  row.set_region(attributes.region);
  row.set_level(attributes.level);
  for (const auth::CustomerAttributes::Share& share : attributes.shares) {
    CustomerRow::Share* stored = row.add_shares();
    stored->set_grantee(share.grantee);
    stored->set_edit(share.edit);
  }
  return row;
}

// "<JSON name of the response's field `number`>":
std::string JsonKeyOf(int number) {
  return absl::StrCat(
      "\"", GetCustomer360Response::descriptor()->FindFieldByNumber(number)->json_name(), "\":");
}

// `json` without `prefix` and `suffix`; INTERNAL when it does not have them.
absl::StatusOr<std::string> Between(std::string json, std::string_view prefix,
                                    std::string_view suffix) {
  if (json.size() < prefix.size() + suffix.size() || !json.starts_with(prefix) ||
      !json.ends_with(suffix)) {
    return absl::InternalError(
        absl::StrCat("a 360 part printed as unexpected JSON: ", json.substr(0, 80)));
  }
  json.resize(json.size() - suffix.size());
  json.erase(0, prefix.size());
  return json;
}

}  // namespace

auth::CustomerAttributes AttributesOf(
    const contacts::v1::Customer& customer,
    const google::protobuf::RepeatedPtrField<pv1::CustomerShare>& shares) {
  auth::CustomerAttributes attributes{.customer_id = customer.customer_id(),
                                      .owner_id = customer.owner_id(),
                                      .region = customer.region(),
                                      .level = static_cast<int>(customer.level()),
                                      .shares = {}};
  for (const pv1::CustomerShare& share : shares) {
    attributes.shares.push_back(
        {.grantee = auth::GranteeOf(share), .edit = share.access() == pv1::SHARE_ACCESS_EDIT});
  }
  return attributes;
}

std::string PreparedField(std::string_view field_profile, ViewEncoding encoding) {
  // "pv3": the format of PreparedCustomer360 and of its encodings; another format needs
  // another name, so that gateways of both versions can share a Redis during a rollout
  // ("pv1" views had no journeys, "pv2" views no open tasks).
  return absl::StrCat("pv3:", std::string(field_profile),
                      encoding == ViewEncoding::kProto ? ":proto" : ":json");
}

absl::StatusOr<PreparedView> ReadPreparedView(std::string_view bytes, int count) {
  PreparedView view;
  bool has_row = false;
  bool has_customer = false;
  const bool read = ForEachField(bytes, [&](int field, std::string_view value) {
    switch (field) {
      case PreparedCustomer360::kRowFieldNumber: {
        CustomerRow row;
        if (!row.ParseFromArray(value.data(), static_cast<int>(value.size()))) return false;
        view.row = AttributesOfRow(std::move(row));
        has_row = true;
        return true;
      }
      case PreparedCustomer360::kCustomerFieldNumber:
        has_customer = true;
        return ReadPart(value, view.customer);
      case PreparedCustomer360::kTouchpointsFieldNumber:
        if (static_cast<int>(view.touchpoints.size()) >= count) return true;
        return ReadPart(value, view.touchpoints.emplace_back());
      case PreparedCustomer360::kJourneysFieldNumber:
        return ReadPart(value, view.journeys);
      case PreparedCustomer360::kOpenTasksFieldNumber:
        return ReadPart(value, view.open_tasks);
      default:
        return true;
    }
  });
  if (!read || !has_row || !has_customer) {
    return absl::DataLossError("a prepared 360 view does not parse");
  }
  return view;
}

ViewEncoder::ViewEncoder(http::Route json_route)
    : route_(std::move(json_route)),
      json_customer_key_(
          absl::StrCat("{", JsonKeyOf(GetCustomer360Response::kCustomerFieldNumber))),
      json_touchpoints_key_(
          absl::StrCat(JsonKeyOf(GetCustomer360Response::kRecentTouchpointsFieldNumber), "[")),
      json_journeys_key_(
          absl::StrCat(JsonKeyOf(GetCustomer360Response::kJourneysFieldNumber), "[")),
      json_open_tasks_key_(
          absl::StrCat(JsonKeyOf(GetCustomer360Response::kOpenTasksFieldNumber), "[")) {}

absl::StatusOr<ViewEncoder> ViewEncoder::ForGeneratedRoute() {
  absl::StatusOr<http::RouteTable> routes = http::RouteTable::Build({kGatewayService});
  if (!routes.ok()) {
    return absl::InternalError(
        absl::StrCat("the routes of ", kGatewayService, ": ", routes.status().message()));
  }
  for (const http::Route& route : routes->routes()) {
    if (route.method->name() != kGetCustomer360) continue;
    if (!route.response_body.empty()) {
      return absl::InternalError(
          "the HTTP route of GetCustomer360 does not answer the whole "
          "response, which prepared views are spliced into");
    }
    return ViewEncoder(route);
  }
  return absl::InternalError("GetCustomer360 has no HTTP route");
}

absl::StatusOr<std::string> ViewEncoder::Encode(const GetCustomer360Response& response,
                                                ViewEncoding encoding) const {
  if (encoding == ViewEncoding::kProto) return Serialized(response);
  return http::ResponseToJson(route_, response);
}

absl::StatusOr<std::string> ViewEncoder::Prepare(const auth::Scope& scope,
                                                 const Customer360Cache::Entry& entry,
                                                 ViewEncoding encoding) const {
  // Each part is cut from the encoding of a response that holds only it: in JSON the empty
  // lists printed around it are cut off.
  const auto encode = [&](const GetCustomer360Response& alone, std::string_view prefix,
                          std::string_view suffix) -> absl::StatusOr<std::string> {
    if (encoding == ViewEncoding::kProto) return Serialized(alone);
    TL_ASSIGN_OR_RETURN(std::string json, http::ResponseToJson(route_, alone));
    return Between(std::move(json), prefix, suffix);
  };
  // "recentTouchpoints":[], "journeys":[] and "openTasks":[]}, the end of a response without
  // open tasks.
  const std::string no_touchpoints = absl::StrCat(json_touchpoints_key_, "]");
  const std::string no_journeys = absl::StrCat(json_journeys_key_, "]");
  const std::string no_tasks = absl::StrCat(json_open_tasks_key_, "]}");
  PreparedCustomer360 prepared;
  *prepared.mutable_row() = RowOf(AttributesOf(entry.customer(), entry.shares()));
  {
    GetCustomer360Response alone;
    contacts::v1::Customer& customer = *alone.mutable_customer();
    customer = entry.customer();
    PreparedPart& part = *prepared.mutable_customer();
    for (std::string& field : scope.Redact(auth::kCustomerResource, customer)) {
      part.add_sensitive_fields(std::move(field));
    }
    // {"customer":<customer>,"recentTouchpoints":[],"journeys":[],"openTasks":[]}
    TL_ASSIGN_OR_RETURN(*part.mutable_encoded(),
                        encode(alone, json_customer_key_,
                               absl::StrCat(",", no_touchpoints, ",", no_journeys, ",", no_tasks)));
  }
  for (const touchpoints::v1::Touchpoint& stored : entry.touchpoints()) {
    GetCustomer360Response alone;
    touchpoints::v1::Touchpoint& touchpoint = *alone.add_recent_touchpoints();
    touchpoint = stored;
    PreparedPart& part = *prepared.add_touchpoints();
    for (std::string& field : scope.Redact(auth::kTouchpointResource, touchpoint)) {
      part.add_sensitive_fields(std::move(field));
    }
    part.set_id(touchpoint.touchpoint_id());
    // {"recentTouchpoints":[<touchpoint>],"journeys":[],"openTasks":[]}
    TL_ASSIGN_OR_RETURN(*part.mutable_encoded(),
                        encode(alone, absl::StrCat("{", json_touchpoints_key_),
                               absl::StrCat("],", no_journeys, ",", no_tasks)));
  }
  {
    // No field policy names a journey's fields (auth knows no such resource) and none is
    // sensitive: every caller who may see the customer sees the journeys as they are.
    GetCustomer360Response alone;
    *alone.mutable_journeys() = entry.journeys();
    // {"recentTouchpoints":[],"journeys":[<journey>,<journey>],"openTasks":[]}
    TL_ASSIGN_OR_RETURN(*prepared.mutable_journeys()->mutable_encoded(),
                        encode(alone, absl::StrCat("{", no_touchpoints, ",", json_journeys_key_),
                               absl::StrCat("],", no_tasks)));
  }
  {
    // As the journeys: no field policy names a task's fields (auth knows no such resource)
    // and none is sensitive.
    GetCustomer360Response alone;
    *alone.mutable_open_tasks() = entry.open_tasks();
    // {"recentTouchpoints":[],"journeys":[],"openTasks":[<task>,<task>]}
    TL_ASSIGN_OR_RETURN(
        *prepared.mutable_open_tasks()->mutable_encoded(),
        encode(alone,
               absl::StrCat("{", no_touchpoints, ",", no_journeys, ",", json_open_tasks_key_),
               "]}"));
  }
  return prepared.SerializeAsString();
}

std::string ViewEncoder::Assemble(const PreparedView& view, int count,
                                  ViewEncoding encoding) const {
  const size_t shown = std::min(view.touchpoints.size(), static_cast<size_t>(std::max(count, 0)));
  size_t size = view.customer.encoded.size() + view.journeys.encoded.size() +
                view.open_tasks.encoded.size() + json_customer_key_.size() +
                json_touchpoints_key_.size() + json_journeys_key_.size() +
                json_open_tasks_key_.size() + 7;
  for (size_t i = 0; i < shown; ++i) size += view.touchpoints[i].encoded.size() + 1;
  std::string bytes;
  bytes.reserve(size);
  if (encoding == ViewEncoding::kProto) {
    // Field 1, then each element of field 2, then each of field 3, then each of field 4: the
    // order protobuf serializes them in.
    bytes.append(view.customer.encoded);
    for (size_t i = 0; i < shown; ++i) bytes.append(view.touchpoints[i].encoded);
    bytes.append(view.journeys.encoded);
    bytes.append(view.open_tasks.encoded);
    return bytes;
  }
  bytes.append(json_customer_key_);
  bytes.append(view.customer.encoded);
  bytes.push_back(',');
  bytes.append(json_touchpoints_key_);
  for (size_t i = 0; i < shown; ++i) {
    if (i > 0) bytes.push_back(',');
    bytes.append(view.touchpoints[i].encoded);
  }
  bytes.append("],");
  bytes.append(json_journeys_key_);
  bytes.append(view.journeys.encoded);
  bytes.append("],");
  bytes.append(json_open_tasks_key_);
  bytes.append(view.open_tasks.encoded);
  bytes.append("]}");
  return bytes;
}

}  // namespace touchline::gateway
