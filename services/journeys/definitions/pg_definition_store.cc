#include "services/journeys/definitions/pg_definition_store.h"

#include <cstdint>
#include <pqxx/binarystring>
#include <pqxx/pqxx>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "common/events/outbox.h"
#include "common/events/topics.h"
#include "common/idempotency/idempotency.h"
#include "common/status/macros.h"
#include "google/protobuf/util/time_util.h"
#include "services/journeys/definitions/definition_records.h"
#include "services/journeys/definitions/sql.h"

namespace touchline::journeys {
namespace {

namespace sql = definitions_sql;
using ::google::protobuf::util::TimeUtil;

// Reads (body, revision): the journey with its etag.
absl::StatusOr<v1::Journey> ParseJourney(const pqxx::row& row) {
  v1::Journey journey;
  if (!journey.ParseFromString(pqxx::binarystring(row[0]).str())) {
    return absl::InternalError("a stored journey does not parse");
  }
  journey.set_etag(std::to_string(row[1].as<int64_t>()));
  return journey;
}

absl::StatusOr<std::vector<v1::Journey>> ParseJourneys(const pqxx::result& rows) {
  std::vector<v1::Journey> journeys;
  journeys.reserve(rows.size());
  for (const pqxx::row& row : rows) {
    TL_ASSIGN_OR_RETURN(v1::Journey journey, ParseJourney(row));
    journeys.push_back(std::move(journey));
  }
  return journeys;
}

// Inserts `journey` (its etag the revision) as a new version, or replaces the version it is.
void StoreVersion(pqxx::work& txn, const std::string& tenant_id, const v1::Journey& journey,
                  bool insert) {
  int64_t revision = 0;
  if (!absl::SimpleAtoi(journey.etag(), &revision)) revision = 1;
  const pqxx::binarystring body(journey.SerializeAsString());
  const int64_t update = TimeUtil::TimestampToMicroseconds(journey.update_time());
  // sql.h's -1: NULL.
  const int64_t publish =
      journey.has_publish_time() ? TimeUtil::TimestampToMicroseconds(journey.publish_time()) : -1;
  if (insert) {
    txn.exec_params(sql::kInsertVersion, tenant_id, journey.journey_id(), journey.version(),
                    static_cast<int>(journey.state()), journey.display_name(), body,
                    TimeUtil::TimestampToMicroseconds(journey.create_time()), update, publish,
                    revision);
  } else {
    txn.exec_params(sql::kUpdateVersion, tenant_id, journey.journey_id(), journey.version(),
                    static_cast<int>(journey.state()), journey.display_name(), body, update,
                    publish, revision);
  }
}

}  // namespace

PgDefinitionStore::PgDefinitionStore(pg::Pool* pool, std::function<void()> events_written)
    : pool_(pool), events_written_(std::move(events_written)) {}

absl::StatusOr<v1::Journey> PgDefinitionStore::Create(const NewJourney& journey) {
  v1::Journey result;
  bool written = false;
  TL_RETURN_IF_ERROR(pool_->Transact([&](pqxx::work& txn) -> absl::Status {
    written = false;
    const std::string& tenant_id = journey.context.caller.tenant_id;
    if (!journey.request_id.empty()) {
      TL_ASSIGN_OR_RETURN(
          const idempotency::Claim claim,
          idempotency::ClaimKey(txn, CreateKey(journey), journey.journey.journey_id()));
      if (claim.decision == idempotency::Decision::kConflict) {
        return idempotency::RequestIdReused(journey.request_id);
      }
      if (claim.decision == idempotency::Decision::kReplay) {
        const pqxx::result rows = txn.exec_params(sql::kSelectLatest, tenant_id, claim.result);
        if (rows.empty()) return JourneyNotFound(claim.result);
        TL_ASSIGN_OR_RETURN(result, ParseJourney(rows[0]));
        return absl::OkStatus();
      }
    }
    result = journey.journey;
    result.set_etag("1");
    StoreVersion(txn, tenant_id, result, /*insert=*/true);
    events::AppendToOutbox(txn, events::kAuditTopic, CreatedAuditEntry(journey));
    written = true;
    return absl::OkStatus();
  }));
  if (written) events_written_();
  return result;
}

absl::StatusOr<v1::Journey> PgDefinitionStore::Get(std::string_view tenant_id,
                                                   std::string_view journey_id, int version) {
  v1::Journey result;
  TL_RETURN_IF_ERROR(pool_->Query([&](pqxx::nontransaction& txn) -> absl::Status {
    const pqxx::result rows =
        version == 0
            ? txn.exec_params(sql::kSelectLatest, std::string(tenant_id), std::string(journey_id))
            : txn.exec_params(sql::kSelectVersion, std::string(tenant_id), std::string(journey_id),
                              version);
    if (rows.empty()) return JourneyNotFound(journey_id, version);
    TL_ASSIGN_OR_RETURN(result, ParseJourney(rows[0]));
    return absl::OkStatus();
  }));
  return result;
}

absl::StatusOr<JourneyPage> PgDefinitionStore::List(std::string_view tenant_id, bool show_archived,
                                                    int page_size,
                                                    const std::optional<JourneyCursor>& after) {
  JourneyPage page;
  TL_RETURN_IF_ERROR(pool_->Query([&](pqxx::nontransaction& txn) -> absl::Status {
    // One more than asked: whether a next page exists.
    const pqxx::result rows =
        after ? txn.exec_params(sql::kListAfter, std::string(tenant_id), show_archived,
                                page_size + 1, after->display_name, after->journey_id)
              : txn.exec_params(sql::kListFirst, std::string(tenant_id), show_archived,
                                page_size + 1);
    TL_ASSIGN_OR_RETURN(page.journeys, ParseJourneys(rows));
    return absl::OkStatus();
  }));
  if (page.journeys.size() > static_cast<size_t>(page_size)) {
    page.journeys.pop_back();
    const v1::Journey& last = page.journeys.back();
    page.next = JourneyCursor{.display_name = last.display_name(), .journey_id = last.journey_id()};
  }
  return page;
}

absl::StatusOr<std::vector<v1::Journey>> PgDefinitionStore::ListPublished(
    std::string_view tenant_id) {
  std::vector<v1::Journey> result;
  TL_RETURN_IF_ERROR(pool_->Query([&](pqxx::nontransaction& txn) -> absl::Status {
    TL_ASSIGN_OR_RETURN(
        result, ParseJourneys(txn.exec_params(sql::kListPublished, std::string(tenant_id))));
    return absl::OkStatus();
  }));
  return result;
}

absl::StatusOr<v1::Journey> PgDefinitionStore::Write(const WriteContext& context,
                                                     std::string_view journey_id,
                                                     const Decide& decide) {
  const std::string& tenant_id = context.caller.tenant_id;
  const std::string id(journey_id);
  v1::Journey result;
  bool written = false;
  TL_RETURN_IF_ERROR(pool_->Transact([&](pqxx::work& txn) -> absl::Status {
    written = false;
    if (txn.exec_params(sql::kLockJourney, tenant_id, id).empty()) return JourneyNotFound(id);
    // Read after the lock: a statement of its own sees what the writer before committed.
    TL_ASSIGN_OR_RETURN(const std::vector<v1::Journey> versions,
                        ParseJourneys(txn.exec_params(sql::kSelectVersions, tenant_id, id)));
    TL_ASSIGN_OR_RETURN(JourneyWrite write, decide(versions));
    if (write.versions.empty()) {
      result = versions.back();
      return absl::OkStatus();
    }
    TL_ASSIGN_OR_RETURN(const std::vector<bool> inserted, StampEtags(versions, write));
    for (size_t i = 0; i < write.versions.size(); ++i) {
      StoreVersion(txn, tenant_id, write.versions[i], inserted[i]);
    }
    result = write.versions.back();
    if (write.publishes) {
      txn.exec_params(sql::kInsertEntryPass, tenant_id, id, result.version(),
                      absl::ToUnixMicros(context.now));
    }
    events::AppendToOutbox(txn, events::kAuditTopic, WriteAuditEntry(context, id, write));
    written = true;
    return absl::OkStatus();
  }));
  if (written) events_written_();
  return result;
}

}  // namespace touchline::journeys
