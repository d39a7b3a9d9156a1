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
namespace cv1 = ::touchline::contacts::v1;

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

struct Upserted {
  bool applied = false;             // The model held no newer version.
  bool visibility_changed = false;  // An existing customer's kVisibilityColumns changed.
};

// Upserts a customer of the read model unless it holds a newer version. The row's version is
// the customer's plus `version_offset`; `folded` are its folded_persons. When who may see an
// existing customer changes, re-sends its touchpoints (ResendTouchpoints) unless `resend` is
// false (a merge moves them itself).
Upserted UpsertCustomer(pqxx::work& txn, const std::string& tenant, const cv1::Customer& c,
                        int64_t version_offset = 0, const std::vector<std::string>& folded = {},
                        bool resend = true) {
  std::vector<std::string> persons;
  for (const cv1::ContactPerson& p : c.contact_persons()) persons.push_back(p.person_id());
  // Locked, so that the comparison below is with what this transaction replaces.
  const pqxx::result before = txn.exec_params(sql::LockCustomerSql(), tenant, c.customer_id());
  const pqxx::result applied = txn.exec_params(
      sql::UpsertCustomerSql(), tenant, c.customer_id(), static_cast<int>(c.state()),
      c.merged_into_customer_id(), pg::TextArrayLiteral(persons), c.owner_id(), c.region(),
      static_cast<int>(c.level()),
      (c.etag().empty() ? int64_t{0} : std::stoll(c.etag())) + version_offset,
      pg::TextArrayLiteral(folded));
  Upserted upserted;
  upserted.applied = !applied.empty();
  if (upserted.applied && !before.empty()) {
    for (int i = 0; i < static_cast<int>(applied[0].size()); ++i) {
      if (std::string_view(before[0][i].c_str()) != std::string_view(applied[0][i].c_str())) {
        upserted.visibility_changed = true;
      }
    }
  }
  if (upserted.visibility_changed && resend) ResendTouchpoints(txn, tenant, c.customer_id());
  return upserted;
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

void PublishReassigned(pqxx::work& txn, const ev::EventEnvelope& cause, const std::string& from,
                       const std::string& to, const std::string& merge_id, int64_t count) {
  if (count == 0) return;
  ev::TouchpointsReassigned moved;
  moved.set_from_customer_id(from);
  moved.set_to_customer_id(to);
  moved.set_merge_id(merge_id);
  moved.set_count(count);
  events::AppendToOutbox(txn, events::kTouchpointsTopic,
                         events::MakeEnvelope(moved, cause.tenant_id(), "customer", to,
                                              cause.request_id(), cause.actor_id()));
}

absl::Status ApplyMerge(pqxx::work& txn, const ev::EventEnvelope& event,
                        const ev::CustomersMerged& merged) {
  const std::string& tenant = event.tenant_id();
  UpsertCustomer(txn, tenant, merged.survivor());
  std::vector<std::string> folded_pairs;
  for (const ev::FoldedPerson& f : merged.folded_persons()) {
    folded_pairs.push_back(absl::StrCat(f.person_id(), ":", f.into_person_id()));
  }
  // The move below re-sends the merged customer's touchpoints (as the survivor's).
  if (!UpsertCustomer(txn, tenant, merged.merged(), 0, folded_pairs, /*resend=*/false).applied) {
    return absl::OkStatus();
  }
  const pqxx::result moved =
      txn.exec_params(sql::MoveToSurvivorSql(), tenant, merged.merged().customer_id(),
                      merged.survivor().customer_id());
  // A person folded into one of the survivor's is that one now.
  absl::flat_hash_map<std::string, std::string> folded;
  for (const ev::FoldedPerson& f : merged.folded_persons()) {
    folded.emplace(f.person_id(), f.into_person_id());
  }
  TL_RETURN_IF_ERROR(RemapContactPersons(txn, tenant, moved, folded));
  PublishReassigned(txn, event, merged.merged().customer_id(), merged.survivor().customer_id(),
                    merged.merge().merge_id(), moved.affected_rows());
  return absl::OkStatus();
}

absl::Status ApplyUnmerge(pqxx::work& txn, const ev::EventEnvelope& event,
                          const ev::CustomersUnmerged& unmerged) {
  const std::string& tenant = event.tenant_id();
  UpsertCustomer(txn, tenant, unmerged.survivor());
  if (!UpsertCustomer(txn, tenant, unmerged.restored()).applied) return absl::OkStatus();
  // Back to the restored customer: what was recorded for it, or for a customer merged into it
  // earlier.
  const pqxx::result moved =
      txn.exec_params(sql::MoveToRestoredSql(), tenant, unmerged.restored().customer_id(),
                      unmerged.survivor().customer_id());
  // Back to the restored customer's own persons (the first, if several were folded into one).
  absl::flat_hash_map<std::string, std::string> unfolded;
  for (const ev::FoldedPerson& f : unmerged.folded_persons()) {
    unfolded.emplace(f.into_person_id(), f.person_id());
  }
  TL_RETURN_IF_ERROR(RemapContactPersons(txn, tenant, moved, unfolded));
  PublishReassigned(txn, event, unmerged.survivor().customer_id(),
                    unmerged.restored().customer_id(), unmerged.merge().merge_id(),
                    moved.affected_rows());
  return absl::OkStatus();
}

}  // namespace

absl::Status ApplyCustomerEvent(pqxx::work& txn, const ev::EventEnvelope& event) {
  const std::string& tenant = event.tenant_id();
  const auto& payload = event.payload();
  ev::CustomerCreated created;
  ev::CustomerUpdated updated;
  ev::CustomerDeleted deleted;
  ev::CustomerUndeleted undeleted;
  ev::CustomersMerged merged;
  ev::CustomersUnmerged unmerged;
  if (payload.Is<ev::CustomerCreated>() && payload.UnpackTo(&created)) {
    UpsertCustomer(txn, tenant, created.customer());
  } else if (payload.Is<ev::CustomerUpdated>() && payload.UnpackTo(&updated)) {
    UpsertCustomer(txn, tenant, updated.customer());
  } else if (payload.Is<ev::CustomerDeleted>() && payload.UnpackTo(&deleted)) {
    UpsertCustomer(txn, tenant, deleted.customer());
  } else if (payload.Is<ev::CustomerUndeleted>() && payload.UnpackTo(&undeleted)) {
    UpsertCustomer(txn, tenant, undeleted.customer());
  } else if (payload.Is<ev::CustomersMerged>() && payload.UnpackTo(&merged)) {
    return ApplyMerge(txn, event, merged);
  } else if (payload.Is<ev::CustomersUnmerged>() && payload.UnpackTo(&unmerged)) {
    return ApplyUnmerge(txn, event, unmerged);
  }
  return absl::OkStatus();
}

absl::Status SharesChanged(pqxx::work& txn, const std::string& tenant_id,
                           const std::string& customer_id) {
  ResendTouchpoints(txn, tenant_id, customer_id);
  return absl::OkStatus();
}

void LearnReportedCustomer(pqxx::work& txn, const std::string& tenant_id,
                           const cv1::Customer& customer, int64_t version_offset) {
  UpsertCustomer(txn, tenant_id, customer, version_offset);
}

}  // namespace touchline::touchpoints
