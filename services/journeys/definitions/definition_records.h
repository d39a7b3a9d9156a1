// What both definition stores record the same way: the audit entries of writes, the
// idempotency key of a create, and the errors they report. Pure.
#ifndef TOUCHLINE_SERVICES_JOURNEYS_DEFINITIONS_DEFINITION_RECORDS_H_
#define TOUCHLINE_SERVICES_JOURNEYS_DEFINITIONS_DEFINITION_RECORDS_H_

#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/idempotency/idempotency.h"
#include "services/journeys/definitions/definition_store.h"
#include "touchline/events/v1/event.pb.h"

namespace touchline::journeys {

// The resource type of the audit entries of journey writes.
inline constexpr char kJourneyResource[] = "journey";
// The method idempotency keys of creates are claimed for.
inline constexpr char kCreateJourneyMethod[] = "CreateJourney";

// The "journey.created" audit entry of `journey`, naming the fields the client set.
events::v1::EventEnvelope CreatedAuditEntry(const NewJourney& journey);

// The audit entry of `write` of the journey `journey_id`.
events::v1::EventEnvelope WriteAuditEntry(const WriteContext& context, std::string_view journey_id,
                                          const JourneyWrite& write);

// The idempotency key of `journey` (its request_id must not be empty).
idempotency::Key CreateKey(const NewJourney& journey);

// Gives each version of `write` its etag: the next revision of the stored version it replaces,
// or "1" for a new version. Returns, for each, whether it is new. INTERNAL for a version that
// is neither stored nor the next. `stored` is every version of the journey, oldest first.
absl::StatusOr<std::vector<bool>> StampEtags(const std::vector<v1::Journey>& stored,
                                             JourneyWrite& write);

// NOT_FOUND "journey <id> not found", or "journey <id> has no version <n>" for a version > 0.
absl::Status JourneyNotFound(std::string_view journey_id, int version = 0);

}  // namespace touchline::journeys

#endif  // TOUCHLINE_SERVICES_JOURNEYS_DEFINITIONS_DEFINITION_RECORDS_H_
