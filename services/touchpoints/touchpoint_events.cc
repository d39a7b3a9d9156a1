#include "services/touchpoints/touchpoint_events.h"

#include "common/audit/audit.h"
#include "common/events/outbox.h"
#include "touchline/events/v1/touchpoint_events.pb.h"

namespace touchline::touchpoints {
namespace {

namespace ev = ::touchline::events::v1;

ev::EventEnvelope Envelope(const google::protobuf::Message& payload, const WriteContext& c,
                           const std::string& touchpoint_id) {
  return events::MakeEnvelope(payload, c.caller.tenant_id, "touchpoint", touchpoint_id,
                              c.caller.request_id, c.caller.caller_id);
}

}  // namespace

WriteEvents RecordedEvents(const NewTouchpoint& touchpoint, const v1::Touchpoint& stored) {
  ev::TouchpointRecorded recorded;
  *recorded.mutable_touchpoint() = stored;
  return {Envelope(recorded, touchpoint.context, stored.touchpoint_id()),
          audit::MakeAuditEnvelope(touchpoint.context.caller, "touchpoint.recorded", "touchpoint",
                                   stored.touchpoint_id(), touchpoint.fields)};
}

WriteEvents ChangedEvents(const WriteContext& context, const v1::Touchpoint& t,
                          const Change& change) {
  WriteEvents events;
  if (change.kind == ChangeKind::kDeleted) {
    ev::TouchpointDeleted deleted;
    *deleted.mutable_touchpoint() = t;
    events.change = Envelope(deleted, context, t.touchpoint_id());
  } else {
    ev::TouchpointUpdated updated;
    *updated.mutable_touchpoint() = t;
    for (const std::string& path : change.fields) updated.mutable_changed_fields()->add_paths(path);
    events.change = Envelope(updated, context, t.touchpoint_id());
  }
  events.audit = audit::MakeAuditEnvelope(
      context.caller,
      change.kind == ChangeKind::kDeleted ? "touchpoint.deleted" : "touchpoint.updated",
      "touchpoint", t.touchpoint_id(), change.fields);
  return events;
}

}  // namespace touchline::touchpoints
