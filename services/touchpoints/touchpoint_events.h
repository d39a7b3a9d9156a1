// The events a write of touchpoints commits with it: one for the touchpoints topic and one
// audit entry per touchpoint written. Built here, without I/O, so that every store emits the
// same ones.
#ifndef TOUCHLINE_SERVICES_TOUCHPOINTS_TOUCHPOINT_EVENTS_H_
#define TOUCHLINE_SERVICES_TOUCHPOINTS_TOUCHPOINT_EVENTS_H_

#include "services/touchpoints/touchpoint_store.h"
#include "touchline/events/v1/event.pb.h"

namespace touchline::touchpoints {

struct WriteEvents {
  events::v1::EventEnvelope change;  // For events::kTouchpointsTopic.
  events::v1::EventEnvelope audit;   // For events::kAuditTopic.
};

// TouchpointRecorded of `stored` (the touchpoint as written: for the survivor of a merge) and
// the "touchpoint.recorded" audit entry naming the fields the client set.
WriteEvents RecordedEvents(const NewTouchpoint& touchpoint, const v1::Touchpoint& stored);

// TouchpointUpdated (with the changed paths) or TouchpointDeleted of `t`, and the
// "touchpoint.updated" or "touchpoint.deleted" audit entry.
WriteEvents ChangedEvents(const WriteContext& context, const v1::Touchpoint& t,
                          const Change& change);

}  // namespace touchline::touchpoints

#endif  // TOUCHLINE_SERVICES_TOUCHPOINTS_TOUCHPOINT_EVENTS_H_
