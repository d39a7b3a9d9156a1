// Places customers on journeys as what happens to them arrives: touchpoints (the "touchpoints"
// topic), changes of the customer (the customer read model's hook, fed by the "customers"
// topic and contacts' feed), manual moves, and the entry of existing customers into a newly
// published version. Each customer's facts are kept (customer_facts); its path on each journey
// is their fold (path/path.h), advanced by a fact later than those folded, derived again from
// all the facts by an earlier one, so the visits do not depend on the order things arrived in.
// Every change of a path is published on the "journeys" topic (journey_events.proto) in the
// same transaction. Every function runs in the caller's transaction.
#ifndef TOUCHLINE_SERVICES_JOURNEYS_STATE_JOURNEY_MAPPER_H_
#define TOUCHLINE_SERVICES_JOURNEYS_STATE_JOURNEY_MAPPER_H_

#include <functional>
#include <pqxx/pqxx>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/customers/read_model.h"
#include "common/pg/pool.h"
#include "services/journeys/facts.pb.h"
#include "touchline/events/v1/event.pb.h"
#include "touchline/journeys/v1/journey.pb.h"

namespace touchline::journeys {

// The statements the mapper runs for every event, (name, sql): the pool it runs on must prepare
// them on every connection (pg::PoolOptions::prepared, service_host::ServiceOptions::prepared).
std::vector<std::pair<std::string, std::string>> MapperStatements();

// An events::ApplyFn for the "touchpoints" topic: a recorded or updated touchpoint becomes (or
// replaces) a fact of its customer, a deleted one is removed, and the customer's journeys
// follow. TouchpointsReassigned is ignored (merges move facts through CustomerChanged).
absl::Status ApplyTouchpointEvent(pqxx::work& txn, const events::v1::EventEnvelope& event);

// An events::BatchApplyFn of ApplyTouchpointEvent: the events of one read in one transaction,
// in stream order, so that a burst of touchpoints costs one commit per batch, not per event.
absl::Status ApplyTouchpointEvents(pqxx::work& txn,
                                   std::span<const events::v1::EventEnvelope* const> events);

// The customer read model's hook (customers::ChangedFn):
//  - merged: its facts move to the survivor, it leaves its journeys (its visits stay), and the
//    survivor is on them (entering those it was not on) with its path derived again;
//  - unmerged: the facts that came from it move back, it is on the journeys it was on before
//    the merge and those that select it, and both paths are derived again;
//  - an active customer enters every published journey whose entry rule selects it (the latest
//    published version), and a change of its lifecycle status or level, or a tag added, with
//    an event as its cause, is a fact that rules may match.
absl::Status CustomerChanged(pqxx::work& txn, const customers::CustomerRow* before,
                             const customers::CustomerRow& after,
                             const events::v1::EventEnvelope* cause);

// The read model with CustomerChanged as its hook.
const customers::ReadModel& CustomerReadModel();

// Moves customer `customer_id` of `tenant` on journey `journey_id` to `to_stage_id` at `now`,
// as `user_id` for `reason`: a manual-move fact with id `move_id`. NOT_FOUND when the customer
// is not on the journey; INVALID_ARGUMENT (field to_stage_id) when the version it is on has no
// such stage. Returns where it stands afterwards.
absl::StatusOr<v1::CustomerJourney> MoveCustomer(
    pqxx::work& txn, const std::string& tenant, const std::string& customer_id,
    const std::string& journey_id, const std::string& to_stage_id, const std::string& user_id,
    const std::string& reason, const std::string& move_id, absl::Time now);

// Judges up to `batch` more customers of the oldest unfinished entry pass (a version just
// published) and enters those its entry rule selects, at `now`. Returns whether a pass is
// still unfinished (false: nothing left to do). Replicas may run it at once (a pass is
// locked while one works on it).
absl::StatusOr<bool> RunEntryPass(pqxx::work& txn, int batch, absl::Time now);

// RunEntryPass, one transaction at a time on `pool`, until no pass is left or `stopping` says
// so; `events_written` after each transaction that entered someone.
absl::Status RunEntryPasses(pg::Pool& pool, int batch, const std::function<void()>& events_written,
                            const std::function<bool()>& stopping);

}  // namespace touchline::journeys

#endif  // TOUCHLINE_SERVICES_JOURNEYS_STATE_JOURNEY_MAPPER_H_
