#include "services/journeys/state/pg_state_store.h"

#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "common/audit/audit.h"
#include "common/customers/read_model.h"
#include "common/enforcement/shares_read_model.h"
#include "common/events/outbox.h"
#include "common/events/topics.h"
#include "common/idempotency/idempotency.h"
#include "common/ids/ids.h"
#include "common/status/macros.h"
#include "services/journeys/state/journey_mapper.h"
#include "services/journeys/state/sql.h"
#include "services/journeys/state/visit_rows.h"

namespace touchline::journeys {
namespace {

constexpr char kMoveMethod[] = "MoveCustomer";

// Every journey the customer is on, as CustomerJourneys shows them.
std::vector<v1::CustomerJourney> JourneysOf(pqxx::transaction_base& txn, const std::string& tenant,
                                            const std::string& customer) {
  std::vector<v1::CustomerJourney> journeys;
  for (const pqxx::row& row : txn.exec_params(sql::kCustomerJourneys, tenant, customer)) {
    v1::Journey journey;
    if (!ParseBody(row[6], journey)) continue;
    journeys.push_back(CustomerJourneyOf(journey, row[2].as<std::string>(), TimeOfMicros(row[3]),
                                         TimeOfMicros(row[4])));
  }
  return journeys;
}

// The customer's place on `journey_id`; NOT_FOUND when it is not on the journey.
absl::StatusOr<v1::CustomerJourney> PlaceOn(pqxx::transaction_base& txn, const std::string& tenant,
                                            const std::string& customer,
                                            const std::string& journey_id) {
  for (v1::CustomerJourney& journey : JourneysOf(txn, tenant, customer)) {
    if (journey.journey_id() == journey_id) return std::move(journey);
  }
  return absl::NotFoundError(
      absl::StrCat("customer ", customer, " is not on journey ", journey_id));
}

}  // namespace

absl::StatusOr<std::optional<auth::CustomerAttributes>> PgJourneyStateStore::FindCustomer(
    const std::string& tenant_id, const std::string& customer_id) {
  std::optional<auth::CustomerAttributes> found;
  TL_RETURN_IF_ERROR(pool_->Query([&](pqxx::nontransaction& txn) {
    const std::optional<customers::CustomerRow> row =
        customers::FindCustomer(txn, tenant_id, customer_id);
    if (!row.has_value()) return absl::OkStatus();
    found =
        auth::CustomerAttributes{.customer_id = customer_id,
                                 .owner_id = row->owner_id,
                                 .region = row->region,
                                 .level = row->level,
                                 .shares = enforcement::LoadShares(txn, tenant_id, customer_id)};
    return absl::OkStatus();
  }));
  return found;
}

absl::StatusOr<std::vector<v1::CustomerJourney>> PgJourneyStateStore::CustomerJourneys(
    const std::string& tenant_id, const std::string& customer_id) {
  std::vector<v1::CustomerJourney> journeys;
  TL_RETURN_IF_ERROR(pool_->Query([&](pqxx::nontransaction& txn) {
    journeys = JourneysOf(txn, tenant_id, customer_id);
    return absl::OkStatus();
  }));
  return journeys;
}

absl::StatusOr<std::vector<std::pair<int, v1::StageVisit>>> PgJourneyStateStore::Visits(
    const std::string& tenant_id, const std::string& customer_id, const std::string& journey_id,
    int after_seq, int limit) {
  std::vector<std::pair<int, v1::StageVisit>> visits;
  TL_RETURN_IF_ERROR(pool_->Query([&](pqxx::nontransaction& txn) {
    v1::Journey journey;  // Only its id and the visit's version show.
    journey.set_journey_id(journey_id);
    for (const pqxx::row& row :
         txn.exec_params(sql::kVisitsAfter, tenant_id, customer_id, journey_id, after_seq, limit)) {
      journey.set_version(row[1].as<int>());
      visits.emplace_back(row[0].as<int>(), VisitToProto(journey, VisitFromRow(row)));
    }
    return absl::OkStatus();
  }));
  return visits;
}

absl::StatusOr<std::vector<v1::StageMember>> PgJourneyStateStore::StageMembers(
    const StageMembersQuery& query) {
  std::vector<std::string> params = {query.tenant_id, query.journey_id, query.stage_id};
  const auto param = [&](std::string value) {
    params.push_back(std::move(value));
    return absl::StrCat("$", params.size());
  };
  std::string sql =
      absl::StrCat("SELECT m.customer_id::text, m.version, ",
                   TL_PG_TO_MICROS("m.stage_enter_time"), " FROM journey_members m");
  const auth::SqlCondition visible = query.scope->SqlVisibility(
      auth::Access::kRead, "c", enforcement::kSharesTable, static_cast<int>(params.size()) + 1);
  std::string where = " WHERE m.tenant_id = $1 AND m.journey_id = $2::uuid AND m.stage_id = $3";
  if (visible.sql != "TRUE") {
    absl::StrAppend(&sql,
                    " JOIN customers c ON c.tenant_id = m.tenant_id AND c.customer_id = "
                    "m.customer_id");
    params.insert(params.end(), visible.params.begin(), visible.params.end());
    absl::StrAppend(&where, " AND (", visible.sql, ")");
  }
  if (query.entered_by != absl::InfiniteFuture()) {
    absl::StrAppend(&where, " AND m.stage_enter_time <= (timestamptz 'epoch' + ",
                    param(absl::StrCat(absl::ToUnixMicros(query.entered_by))),
                    "::bigint * interval '1 microsecond')");
  }
  if (query.after.has_value()) {
    absl::StrAppend(&where, " AND (m.stage_enter_time, m.customer_id) > ((timestamptz 'epoch' + ",
                    param(absl::StrCat(absl::ToUnixMicros(query.after->stage_enter_time))),
                    "::bigint * interval '1 microsecond'), ", param(query.after->customer_id),
                    "::uuid)");
  }
  absl::StrAppend(&sql, where, " ORDER BY m.stage_enter_time, m.customer_id LIMIT ",
                  param(absl::StrCat(query.limit)), "::int");
  std::vector<v1::StageMember> members;
  TL_RETURN_IF_ERROR(pool_->Query([&](pqxx::nontransaction& txn) {
    for (const pqxx::row& row : txn.exec_params(sql, pqxx::prepare::make_dynamic_params(params))) {
      v1::StageMember& member = members.emplace_back();
      member.set_customer_id(row[0].as<std::string>());
      member.set_version(row[1].as<int>());
      *member.mutable_stage_enter_time() = ToProtoTime(TimeOfMicros(row[2]));
    }
    return absl::OkStatus();
  }));
  return members;
}

absl::StatusOr<v1::CustomerJourney> PgJourneyStateStore::MoveCustomer(const MoveRequest& move) {
  const std::string& tenant = move.caller.tenant_id;
  v1::CustomerJourney result;
  TL_RETURN_IF_ERROR(pool_->Transact([&](pqxx::work& txn) -> absl::Status {
    const std::string move_id = ids::NewUuid(move.now);
    if (!move.request_id.empty()) {
      TL_ASSIGN_OR_RETURN(
          const idempotency::Claim claim,
          idempotency::ClaimKey(txn, {tenant, move.request_id, kMoveMethod, move.fingerprint},
                                move_id));
      if (claim.decision == idempotency::Decision::kConflict) {
        return absl::AlreadyExistsError(
            absl::StrCat("request_id ", move.request_id, " was used before for another request"));
      }
      if (claim.decision == idempotency::Decision::kReplay) {
        TL_ASSIGN_OR_RETURN(result, PlaceOn(txn, tenant, move.customer_id, move.journey_id));
        return absl::OkStatus();
      }
    }
    TL_ASSIGN_OR_RETURN(
        result,
        journeys::MoveCustomer(txn, tenant, move.customer_id, move.journey_id, move.to_stage_id,
                               move.caller.caller_id, move.reason, move_id, move.now));
    events::AppendToOutbox(
        txn, events::kAuditTopic,
        audit::MakeAuditEnvelope(move.caller, "journey.customer_moved", "customer",
                                 move.customer_id, {"stage_id"},
                                 absl::StrCat("journey ", move.journey_id, " to stage ",
                                              move.to_stage_id, ": ", move.reason)));
    return absl::OkStatus();
  }));
  if (events_written_) events_written_();
  return result;
}

}  // namespace touchline::journeys
