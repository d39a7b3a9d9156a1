// What rules wait for, read from the event streams, and which rules wait for it. Pure logic:
// the engine calls it from its consumers (engine.h), the tests without a database.
#ifndef TOUCHLINE_SERVICES_AUTOMATION_ENGINE_TRIGGERS_H_
#define TOUCHLINE_SERVICES_AUTOMATION_ENGINE_TRIGGERS_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "common/customers/read_model.h"
#include "services/automation/rules/field_catalogue.h"
#include "touchline/automation/v1/rule.pb.h"
#include "touchline/events/v1/event.pb.h"

namespace touchline::automation {

// The request id prefix of the changes the engine makes (a customer update through contacts):
// "automation:d<depth>:" then the action's key, so the event of that change tells the rules
// it triggers how deep they run.
inline constexpr char kEngineRequestIdPrefix[] = "automation:d";

// One thing that happened to a customer that rules may wait for.
struct TriggerFact {
  v1::Trigger::KindCase kind = v1::Trigger::KIND_NOT_SET;
  // What runs are keyed by within a rule version: the event id (and ":<field>" for a
  // customer change, one fact per field).
  std::string cause;
  std::string customer_id;
  absl::Time occur_time;
  // The event's values by field name (touchpoint.*, stage.*, change.field, and customer.* as
  // the event carried the customer).
  FieldValues values;
  // customer_changed: the customer's values before the change.
  FieldValues before;
  // customer_changed: the field as CustomerChanged.field names it ("level", "tags",
  // "custom_fields.plan").
  std::string changed_field;
  // stage_entered / stage_exited.
  std::string journey_id;
  std::string stage_id;
  // How many rule runs caused the event (DepthOf its request id).
  int depth = 0;
  // touchpoint_recorded: whether the customer reached out (an inbound touchpoint).
  bool inbound = false;
};

// The facts of one "touchpoints" event: a TouchpointRecorded gives a touchpoint_recorded fact
// (values: TouchpointFieldValues); other events none. INVALID_ARGUMENT when the payload does
// not parse.
absl::StatusOr<std::vector<TriggerFact>> TouchpointFacts(const events::v1::EventEnvelope& event);

// The facts of one "journeys" event: StageEntered and StageExited give stage_entered and
// stage_exited (values stage.journey_id, stage.stage_id); others none.
absl::StatusOr<std::vector<TriggerFact>> StageFacts(const events::v1::EventEnvelope& event);

// The customer_changed facts of a change of the read model's row, one per field that changed:
// level, lifecycle_status, region, owner_id and tags from the rows (`before` null: none, a
// customer seen first is not a change), and custom_fields.<key> for each custom field a
// CustomerUpdated `cause` names in its changed_fields (its value after; before unknown: the
// read model keeps no custom fields). `cause` null (a bootstrap page): none.
std::vector<TriggerFact> CustomerChangeFacts(const customers::CustomerRow* before,
                                             const customers::CustomerRow& after,
                                             const events::v1::EventEnvelope* cause);

// The customer.* values of a read model row: level and lifecycle_status by their value names,
// region, owner_id, tags.
FieldValues CustomerRowValues(const customers::CustomerRow& row);

// Whether a rule with `trigger` waits for `fact`: the same kind, and for customer_changed the
// same field with `from` and `to` (when set) equal to the values before and after; for stage
// triggers the same journey and (when set) stage.
bool Matches(const v1::Trigger& trigger, const TriggerFact& fact);

// The depth a request id carries: n for "automation:d<n>:...", 0 for any other.
int DepthOf(std::string_view request_id);

// The request id of a change an action of a run at `depth` makes, keyed by `key`: at most 128
// characters (a digest of the key).
std::string EngineRequestId(int depth, std::string_view key);

}  // namespace touchline::automation

#endif  // TOUCHLINE_SERVICES_AUTOMATION_ENGINE_TRIGGERS_H_
