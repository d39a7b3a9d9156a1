// Customers' lifecycle status from the touchpoints recorded with them: the newest touchpoint
// (by when it occurred) that says what status it left the customer in (customer_status_after)
// sets it, through the touchpoint events contacts consumes (topic "touchpoints", consumer
// group "contacts", applied once each through the inbox).
//
// A touchpoint that occurred before the one that last set the status never moves it back,
// whenever its event arrives; a deleted touchpoint leaves the status as it is; a correction
// (TouchpointUpdated) that changes customer_status_after or occur_time counts as the
// touchpoint being recorded again. The change is audited as the change of the user who
// recorded (or corrected) the touchpoint.
#ifndef TOUCHLINE_SERVICES_CONTACTS_TOUCHPOINT_STATUS_H_
#define TOUCHLINE_SERVICES_CONTACTS_TOUCHPOINT_STATUS_H_

#include <functional>
#include <optional>
#include <pqxx/transaction>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/contacts/model.h"
#include "services/contacts/pg_customer_store.h"
#include "touchline/events/v1/event.pb.h"

namespace touchline::contacts {

// The status `event` sets, if any: a TouchpointRecorded whose touchpoint has a
// customer_status_after, or a TouchpointUpdated of such a touchpoint that changed
// customer_status_after or occur_time. nullopt for every other event. INVALID_ARGUMENT for an
// event of those two types whose payload does not parse or whose customer id, touchpoint id,
// occur time or status is not valid.
absl::StatusOr<std::optional<TouchpointStatus>> TouchpointStatusOf(
    const events::v1::EventEnvelope& event);

// The apply function (events::ApplyFn) of contacts' consumer of touchpoint events.
class TouchpointStatusSync {
 public:
  using Clock = std::function<absl::Time()>;

  // `store` must outlive the sync.
  TouchpointStatusSync(PgCustomerStore* store, Clock clock);

  // Applies `event` within `txn` as TouchpointStatusOf and PgCustomerStore::
  // ApplyTouchpointStatus say; OK without doing anything for an event that sets no status.
  absl::Status Apply(pqxx::work& txn, const events::v1::EventEnvelope& event) const;

 private:
  PgCustomerStore* store_;
  Clock clock_;
};

}  // namespace touchline::contacts

#endif  // TOUCHLINE_SERVICES_CONTACTS_TOUCHPOINT_STATUS_H_
