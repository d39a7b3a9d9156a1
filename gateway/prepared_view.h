// 360 views prepared for a field policy profile: the cached entry with the policies of every
// scope of one auth::Scope::FieldProfile applied once, each message already encoded as the
// fronts send it, so that serving a cache hit is a row decision, an audit of what is shown
// and a concatenation of bytes, with nothing parsed, redacted or serialized per request.
#ifndef TOUCHLINE_GATEWAY_PREPARED_VIEW_H_
#define TOUCHLINE_GATEWAY_PREPARED_VIEW_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/auth/scope.h"
#include "gateway/cache/customer360_cache.h"
#include "gateway/http/route_table.h"
#include "touchline/contacts/v1/customer.pb.h"
#include "touchline/gateway/v1/gateway_service.pb.h"
#include "touchline/permissions/v1/permissions.pb.h"

namespace touchline::gateway {

// How a front sends a view.
enum class ViewEncoding {
  kProto,  // a serialized touchline.gateway.v1.GetCustomer360Response (the gRPC front)
  kJson,   // its JSON as http::ResponseToJson prints it for its route (the HTTP front)
};

// What the row decision (auth::Scope::Allows) needs of a customer and its shares.
auth::CustomerAttributes AttributesOf(
    const contacts::v1::Customer& customer,
    const google::protobuf::RepeatedPtrField<permissions::v1::CustomerShare>& shares);

// The field of an entry's Redis hash holding its view prepared for scopes of `field_profile`
// (auth::Scope::FieldProfile) in `encoding`.
std::string PreparedField(std::string_view field_profile, ViewEncoding encoding);

// What reading one message of a view reports to the audit log: the message's id (empty for
// the customer) and the sensitive fields it shows (auth::Scope::Redact's answer).
struct SensitiveRead {
  std::string_view id;
  std::vector<std::string_view> fields;
};

// A stored touchline.gateway.cache.PreparedCustomer360, read without copying its parts: the
// string views point into the stored bytes, which must outlive it.
struct PreparedView {
  struct Part {
    SensitiveRead read;
    std::string_view encoded;
  };
  auth::CustomerAttributes row;
  Part customer;
  // The first touchpoints of the view, as many as were asked for at most.
  std::vector<Part> touchpoints;
  // Every journey, in one part that reports nothing to the audit log (encoded is empty when
  // the customer is on none).
  Part journeys;
  // Every open task, in one part that reports nothing to the audit log (encoded is empty when
  // the customer has none).
  Part open_tasks;
};

// Reads `bytes` (as ViewEncoder::Prepare made them) and its first `count` touchpoints; the
// others are skipped. DATA_LOSS when the bytes are not a prepared view.
absl::StatusOr<PreparedView> ReadPreparedView(std::string_view bytes, int count);

// Encodes 360 views, whole or prepared. Immutable and thread-safe.
class ViewEncoder {
 public:
  // The JSON is that of `json_route` (GetCustomer360's HTTP route, whose response body is the
  // whole response).
  explicit ViewEncoder(http::Route json_route);

  // An encoder for GetCustomer360's route as the generated descriptors declare it. INTERNAL
  // when they declare none, or one whose response body is not the whole response (prepared
  // JSON could not be spliced into it).
  static absl::StatusOr<ViewEncoder> ForGeneratedRoute();

  // `response` as sent: serialized (deterministically: map entries in key order) or its JSON.
  // INTERNAL when protobuf cannot print it.
  absl::StatusOr<std::string> Encode(const v1::GetCustomer360Response& response,
                                     ViewEncoding encoding) const;

  // `entry` as every scope of `scope`'s field profile sees it, encoded in `encoding`: a
  // serialized PreparedCustomer360 holding the row attributes, the customer and every
  // touchpoint redacted with what each reports to the audit log, the journeys and the open
  // tasks (which no field policy names), and their encodings.
  // Whatever the caller's rows, so the row decision must still be made on each use. INTERNAL
  // when protobuf cannot print a message.
  absl::StatusOr<std::string> Prepare(const auth::Scope& scope,
                                      const Customer360Cache::Entry& entry,
                                      ViewEncoding encoding) const;

  // The bytes Encode would give for the response of `view`'s customer, its first `count`
  // touchpoints (all it holds when it holds fewer), its journeys and its open tasks, `view`
  // having been prepared in `encoding`.
  std::string Assemble(const PreparedView& view, int count, ViewEncoding encoding) const;

 private:
  const http::Route route_;
  // The JSON around the parts: {"customer":<customer>,"recentTouchpoints":[<t>,<t>],
  // "journeys":[<journeys>],"openTasks":[<tasks>]}.
  const std::string json_customer_key_;
  const std::string json_touchpoints_key_;
  const std::string json_journeys_key_;
  const std::string json_open_tasks_key_;
};

}  // namespace touchline::gateway

#endif  // TOUCHLINE_GATEWAY_PREPARED_VIEW_H_
