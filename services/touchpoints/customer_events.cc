#include "services/touchpoints/customer_events.h"

#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/events/outbox.h"
#include "common/events/topics.h"
#include "common/pg/array.h"
#include "common/status/macros.h"
#include "services/touchpoints/record_decision.h"
#include "services/touchpoints/sql.h"
#include "services/touchpoints/touchpoint_row.h"
#include "touchline/events/v1/customer_events.pb.h"
#include "touchline/events/v1/touchpoint_events.pb.h"

namespace touchline::touchpoints {
namespace {

namespace ev = ::touchline::events::v1;

// Sends the touchpoints of `customer_id` through the change feed again: their change_xid
// becomes the current transaction's, nothing else of them changes (version, update_time). For
// a change of who may see the customer, in the transaction that makes it: the feed judges
// visibility when it is read and a reader's cursor has passed over what it did not see then,
// so this is how the customer's earlier touchpoints reach whoever sees it now. One UPDATE
// over the timeline index (tenant_id, customer_id) of each partition; rows keep their
// partition (occurred_at does not change).
void ResendTouchpoints(pqxx::work& txn, const std::string& tenant, const std::string& customer_id) {
  txn.exec_params(sql::kResendTouchpoints, tenant, customer_id);
}

// Rewrites the contact persons of the touchpoints of `rows` (kSelectColumns, e.g. of a
// RETURNING) through `persons` (old id -> new id; an id named twice afterwards stays once), in
// the body only: the move that returned the rows has already counted their new version.
absl::Status RemapContactPersons(pqxx::work& txn, const std::string& tenant,
                                 const pqxx::result& rows,
                                 const absl::flat_hash_map<std::string, std::string>& persons) {
  if (persons.empty()) return absl::OkStatus();
  std::vector<std::string> ids, times, bodies;
  for (const auto& row : rows) {
    TL_ASSIGN_OR_RETURN(v1::Touchpoint t, FromRow(row));
    if (!RenamePersons(t, persons)) continue;
    ids.push_back(t.touchpoint_id());
    times.push_back(PgTime(FromProtoTime(t.occur_time())));
    bodies.push_back(absl::BytesToHexString(t.SerializeAsString()));
  }
  if (ids.empty()) return absl::OkStatus();
  txn.exec_params(sql::kRewriteBodies, tenant, pg::TextArrayLiteral(ids),
                  pg::TextArrayLiteral(times), pg::TextArrayLiteral(bodies));
  return absl::OkStatus();
}

void PublishReassigned(pqxx::work& txn, const ev::EventEnvelope* cause, const std::string& tenant,
                       const std::string& from, const std::string& to, const std::string& merge_id,
                       int64_t count) {
  if (count == 0) return;
  ev::TouchpointsReassigned moved;
  moved.set_from_customer_id(from);
  moved.set_to_customer_id(to);
  moved.set_merge_id(merge_id);
  moved.set_count(count);
  events::AppendToOutbox(
      txn, events::kTouchpointsTopic,
      events::MakeEnvelope(moved, tenant, "customer", to, cause ? cause->request_id() : "",
                           cause ? cause->actor_id() : ""));
}

// Moves touchpoints between `customer` and the survivor it was merged into, with `sql` ($1
// tenant, $2 the customer, $3 the survivor, returning what moved): to the survivor for a merge,
// back for an unmerge. Renames their persons through `persons` and tells with a
// TouchpointsReassigned event.
absl::Status Move(pqxx::work& txn, const ev::EventEnvelope* cause, const std::string& sql,
                  const customers::CustomerRow& customer, const std::string& survivor,
                  bool to_survivor, const std::string& merge_id,
                  const absl::flat_hash_map<std::string, std::string>& persons) {
  const std::string& tenant = customer.tenant_id;
  const std::string& id = customer.customer_id;
  const pqxx::result moved = txn.exec_params(sql, tenant, id, survivor);
  TL_RETURN_IF_ERROR(RemapContactPersons(txn, tenant, moved, persons));
  PublishReassigned(txn, cause, tenant, to_survivor ? id : survivor, to_survivor ? survivor : id,
                    merge_id, moved.affected_rows());
  return absl::OkStatus();
}

}  // namespace

const customers::ReadModel& CustomerReadModel() {
  static const customers::ReadModel* const kModel = new customers::ReadModel(&CustomerChanged);
  return *kModel;
}

absl::Status CustomerChanged(pqxx::work& txn, const customers::CustomerRow* before,
                             const customers::CustomerRow& after, const ev::EventEnvelope* cause) {
  const std::string was_merged_into = before != nullptr ? before->merged_into : "";
  bool moved = false;
  if (!was_merged_into.empty() && was_merged_into != after.merged_into) {
    // Back to the restored customer: what was recorded for it, or for a customer merged into
    // it earlier, with its own persons (the first, if several were folded into one).
    absl::flat_hash_map<std::string, std::string> unfolded;
    for (const auto& [person, into] : before->folded_persons) unfolded.emplace(into, person);
    TL_RETURN_IF_ERROR(Move(txn, cause, sql::MoveToRestoredSql(), after, was_merged_into,
                            /*to_survivor=*/false, before->merge_id, unfolded));
    moved = true;
  }
  if (!after.merged_into.empty() && after.merged_into != was_merged_into) {
    // A person folded into one of the survivor's is that one now.
    const absl::flat_hash_map<std::string, std::string> folded(after.folded_persons.begin(),
                                                               after.folded_persons.end());
    TL_RETURN_IF_ERROR(Move(txn, cause, sql::MoveToSurvivorSql(), after, after.merged_into,
                            /*to_survivor=*/true, after.merge_id, folded));
    moved = true;
  }
  // A move re-sends what it moved.
  if (!moved && before != nullptr && before->VisibilityDiffers(after)) {
    ResendTouchpoints(txn, after.tenant_id, after.customer_id);
  }
  return absl::OkStatus();
}

absl::Status SharesChanged(pqxx::work& txn, const std::string& tenant_id,
                           const std::string& customer_id) {
  ResendTouchpoints(txn, tenant_id, customer_id);
  return absl::OkStatus();
}

}  // namespace touchline::touchpoints
