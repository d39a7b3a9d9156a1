// The topics events are published on. Each is one Redis stream, "<prefix>:{<topic>}:events"
// (StreamKey in outbox.h), with one producing service.
#ifndef TOUCHLINE_COMMON_EVENTS_TOPICS_H_
#define TOUCHLINE_COMMON_EVENTS_TOPICS_H_

namespace touchline::events {

// Customer changes, from contacts (touchline.events.v1 customer_events.proto).
inline constexpr char kCustomersTopic[] = "customers";
// Touchpoint changes, from touchpoints (touchpoint_events.proto).
inline constexpr char kTouchpointsTopic[] = "touchpoints";
// Scope invalidations and customer shares, from permissions (permission_events.proto).
inline constexpr char kPermissionsTopic[] = "permissions";
// Customers entering, moving through and completing journeys, from journeys
// (journey_events.proto).
inline constexpr char kJourneysTopic[] = "journeys";
// Tasks created and changed, from automation (task_events.proto).
inline constexpr char kTasksTopic[] = "tasks";
// What every service reports to the audit log the permissions service keeps
// (common/audit/audit.h).
inline constexpr char kAuditTopic[] = "audit";

}  // namespace touchline::events

#endif  // TOUCHLINE_COMMON_EVENTS_TOPICS_H_
