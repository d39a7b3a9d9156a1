#include "services/contacts/touchpoint_status.h"

#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/ids/ids.h"
#include "common/status/macros.h"
#include "common/status/time_fields.h"
#include "touchline/contacts/v1/customer.pb.h"
#include "touchline/events/v1/touchpoint_events.pb.h"

namespace touchline::contacts {
namespace {

namespace ev = ::touchline::events::v1;
namespace tv1 = ::touchline::touchpoints::v1;

absl::Status Malformed(const ev::EventEnvelope& event, std::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("touchpoint event ", event.event_id(), ": ", std::string(why)));
}

}  // namespace

absl::StatusOr<std::optional<TouchpointStatus>> TouchpointStatusOf(const ev::EventEnvelope& event) {
  tv1::Touchpoint touchpoint;
  std::string actor_id;
  if (event.payload().Is<ev::TouchpointRecorded>()) {
    ev::TouchpointRecorded recorded;
    if (!event.payload().UnpackTo(&recorded)) return Malformed(event, "payload does not parse");
    touchpoint = std::move(*recorded.mutable_touchpoint());
    actor_id = touchpoint.recorded_by().empty() ? event.actor_id() : touchpoint.recorded_by();
  } else if (event.payload().Is<ev::TouchpointUpdated>()) {
    ev::TouchpointUpdated updated;
    if (!event.payload().UnpackTo(&updated)) return Malformed(event, "payload does not parse");
    const auto& paths = updated.changed_fields().paths();
    if (std::none_of(paths.begin(), paths.end(), [](const std::string& path) {
          return path == "customer_status_after" || path == "occur_time";
        })) {
      return std::nullopt;
    }
    touchpoint = std::move(*updated.mutable_touchpoint());
    actor_id = event.actor_id();
  } else {
    return std::nullopt;
  }
  const int status = touchpoint.customer_status_after();
  if (status == contacts::v1::LIFECYCLE_STATUS_UNSPECIFIED) return std::nullopt;
  if (!contacts::v1::LifecycleStatus_IsValid(status)) {
    return Malformed(event, absl::StrCat("unknown customer_status_after ", status));
  }
  if (!ids::IsUuid(touchpoint.customer_id()) || !ids::IsUuid(touchpoint.touchpoint_id())) {
    return Malformed(event, "customer_id and touchpoint_id must be UUIDs");
  }
  if (!touchpoint.has_occur_time() || !status::IsValidTimestamp(touchpoint.occur_time())) {
    return Malformed(event, "occur_time is not a valid timestamp");
  }
  return TouchpointStatus{
      .tenant_id = event.tenant_id(),
      .customer_id = absl::AsciiStrToLower(touchpoint.customer_id()),
      .touchpoint_id = absl::AsciiStrToLower(touchpoint.touchpoint_id()),
      .status = static_cast<LifecycleStatus>(status),
      // As PostgreSQL keeps it: microseconds.
      .occurred_at = absl::FromUnixMicros(touchpoint.occur_time().seconds() * 1000000 +
                                          touchpoint.occur_time().nanos() / 1000),
      .actor_id = std::move(actor_id),
      .request_id = event.request_id()};
}

TouchpointStatusSync::TouchpointStatusSync(PgCustomerStore* store, Clock clock)
    : store_(store), clock_(std::move(clock)) {}

absl::Status TouchpointStatusSync::Apply(pqxx::work& txn, const ev::EventEnvelope& event) const {
  TL_ASSIGN_OR_RETURN(const std::optional<TouchpointStatus> status, TouchpointStatusOf(event));
  if (!status) return absl::OkStatus();
  const absl::Time now = absl::FromUnixMicros(absl::ToUnixMicros(clock_()));
  return store_->ApplyTouchpointStatus(txn, *status, now).status();
}

}  // namespace touchline::contacts
