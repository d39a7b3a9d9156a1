#include "services/touchpoints/record_decision.h"

#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/status/errors.h"
#include "common/status/macros.h"
#include "touchline/contacts/v1/customer.pb.h"

namespace touchline::touchpoints {
namespace {

using ::google::protobuf::util::TimeUtil;
namespace cv1 = ::touchline::contacts::v1;

// The key of the touchpoint's source: the length prefix keeps ("ab", "c") and ("a", "bc")
// apart.
std::string ExternalKey(const v1::Touchpoint& t) {
  return absl::StrCat(t.source_system().size(), ":", t.source_system(), t.external_id());
}

}  // namespace

bool RenamePersons(v1::Touchpoint& t,
                   const absl::flat_hash_map<std::string, std::string>& persons) {
  std::vector<std::string> renamed;
  bool changed = false;
  for (const std::string& id : t.contact_person_ids()) {
    const auto it = persons.find(id);
    changed = changed || it != persons.end();
    const std::string& now = it == persons.end() ? id : it->second;
    if (std::find(renamed.begin(), renamed.end(), now) == renamed.end()) renamed.push_back(now);
  }
  if (!changed) return false;
  t.clear_contact_person_ids();
  for (std::string& id : renamed) t.add_contact_person_ids(std::move(id));
  return true;
}

absl::Status CheckStatusAfterWritable(const auth::Scope& scope,
                                      const auth::CustomerAttributes& customer,
                                      const v1::Touchpoint& t) {
  if (t.customer_status_after() == cv1::LIFECYCLE_STATUS_UNSPECIFIED) return absl::OkStatus();
  TL_RETURN_IF_ERROR(scope.CheckRow(auth::Access::kWrite, customer,
                                    absl::PermissionDeniedError("customer not writable")));
  return scope.CheckWritable(auth::kCustomerResource, {"lifecycle_status"});
}

absl::Status ResolveCustomer(const CustomerStates& customers, const auth::Scope& scope,
                             v1::Touchpoint& t, std::string_view prefix) {
  const std::string field = absl::StrCat(std::string(prefix), prefix.empty() ? "" : ".");
  absl::flat_hash_set<std::string> persons;
  absl::flat_hash_map<std::string, std::string> folded;  // By the merges on the way.
  std::string id = t.customer_id();
  for (int hop = 0;; ++hop) {
    const auto it = customers.find(id);
    absl::Status unknown = status::InvalidArgument(
        field + "customer_id",
        "names no customer of this tenant (new customers take a moment to arrive)");
    if (it == customers.end() || hop > kMaxMergeHops) return unknown;
    // Seen through a READ share only: PERMISSION_DENIED.
    TL_RETURN_IF_ERROR(
        scope.CheckRow(auth::Access::kWriteTouchpoints, it->second.attributes, std::move(unknown)));
    persons.insert(it->second.person_ids.begin(), it->second.person_ids.end());
    for (const std::string& pair : it->second.folded_persons) {
      const size_t colon = pair.find(':');
      if (colon != std::string::npos) folded.emplace(pair.substr(0, colon), pair.substr(colon + 1));
    }
    if (it->second.state == cv1::CUSTOMER_STATE_DELETED) {
      return status::InvalidArgument(field + "customer_id", "names a deleted customer");
    }
    if (it->second.state != cv1::CUSTOMER_STATE_MERGED) {
      TL_RETURN_IF_ERROR(CheckStatusAfterWritable(scope, it->second.attributes, t));
      break;
    }
    id = it->second.merged_into;
  }
  status::FieldViolations violations;
  for (int i = 0; i < t.contact_person_ids_size(); ++i) {
    if (!persons.contains(t.contact_person_ids(i))) {
      violations.Add(absl::StrCat(field, "contact_person_ids[", i, "]"),
                     "is not a contact person of the customer");
    }
  }
  TL_RETURN_IF_ERROR(violations.ToStatus());
  t.set_customer_id(id);
  // A person folded by a merge is the one it was folded into (through every merge on the way).
  for (int hop = 0; hop <= kMaxMergeHops && RenamePersons(t, folded); ++hop) {
  }
  return absl::OkStatus();
}

KeyClaims KeysOf(const NewTouchpoint& touchpoint) {
  const v1::Touchpoint& t = touchpoint.touchpoint;
  const std::string& tenant = touchpoint.context.caller.tenant_id;
  KeyClaims keys;
  if (!touchpoint.request_id.empty()) {
    keys.request = idempotency::KeyClaim{
        {tenant, touchpoint.request_id, kRecordMethod, touchpoint.fingerprint}, t.touchpoint_id()};
  }
  if (!t.source_system().empty()) {
    keys.source = SourceKey{tenant, ExternalKey(t), t.touchpoint_id(),
                            absl::FromUnixMicros(TimeUtil::TimestampToMicroseconds(t.occur_time())),
                            touchpoint.fingerprint};
  }
  return keys;
}

ClaimDecision DecideClaims(const std::vector<KeyClaims>& claims) {
  ClaimDecision decision;
  for (const KeyClaims& c : claims) {
    const bool request_new = c.request && c.request_claim.decision == idempotency::Decision::kNew;
    const bool is_new = (!c.request || request_new) && (!c.source || c.source_won);
    decision.is_new.push_back(is_new);
    decision.give_back_request.push_back(request_new && !is_new);
    decision.give_back_source.push_back(c.source && c.source_won && !is_new);
  }
  return decision;
}

absl::StatusOr<std::string> DecideReplay(const NewTouchpoint& touchpoint, const KeyClaims& claims,
                                         const std::optional<StoredSourceKey>& source,
                                         const absl::flat_hash_set<std::string>& not_recorded) {
  const v1::Touchpoint& t = touchpoint.touchpoint;
  std::string prior;
  if (claims.request) {
    switch (claims.request_claim.decision) {
      case idempotency::Decision::kConflict:
        return status::WithErrorInfo(
            absl::AlreadyExistsError(absl::StrCat("request_id ", touchpoint.request_id,
                                                  " was used for another request")),
            "REQUEST_ID_REUSED", {{"request_id", touchpoint.request_id}});
      case idempotency::Decision::kReplay:
        prior = claims.request_claim.result;
        break;
      case idempotency::Decision::kNew:  // Given back: the source key decides.
        break;
    }
  }
  if (source) {
    if (source->fingerprint != touchpoint.fingerprint ||
        (!prior.empty() && prior != source->touchpoint_id)) {
      return status::WithErrorInfo(
          absl::AlreadyExistsError(absl::StrCat(
              "source_system/external_id ", t.source_system(), "/", t.external_id(),
              " already recorded touchpoint ", source->touchpoint_id, " with other content")),
          "EXTERNAL_ID_EXISTS", {{"touchpoint_id", source->touchpoint_id}});
    }
    prior = source->touchpoint_id;
  }
  // The key's claimer in this same write gave it back (its other key was taken): nothing to
  // replay, and this one can't claim it now without a retry.
  if (prior.empty() || not_recorded.contains(prior)) {
    return absl::AbortedError("idempotency key contended; retry");
  }
  return prior;
}

absl::StatusOr<Mutated> ApplyMutation(const WriteContext& context,
                                      const auth::CustomerAttributes& customer,
                                      std::string_view field_prefix,
                                      const TouchpointStore::Mutation& mutate,
                                      const CustomerLoader& load, absl::Status not_found,
                                      v1::Touchpoint& t) {
  const auth::Scope& scope = *context.caller.scope;
  TL_RETURN_IF_ERROR(
      scope.CheckRow(auth::Access::kWriteTouchpoints, customer, std::move(not_found)));
  const v1::Touchpoint before = t;
  Mutated mutated;
  TL_ASSIGN_OR_RETURN(mutated.change, mutate(t));
  if (t.customer_id() != before.customer_id()) mutated.named_customer = t.customer_id();
  if (t.customer_status_after() != before.customer_status_after()) {
    TL_RETURN_IF_ERROR(CheckStatusAfterWritable(scope, customer, t));
  }
  if (t.customer_id() != before.customer_id() ||
      !std::equal(t.contact_person_ids().begin(), t.contact_person_ids().end(),
                  before.contact_person_ids().begin(), before.contact_person_ids().end())) {
    TL_RETURN_IF_ERROR(ResolveCustomer(load(t.customer_id()), scope, t, field_prefix));
  }
  t.set_etag(std::to_string(std::stoll(before.etag()) + 1));
  *t.mutable_update_time() = TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(context.now));
  if (mutated.change.kind == ChangeKind::kDeleted) {
    *t.mutable_delete_time() = t.update_time();
    t.set_state(v1::TOUCHPOINT_STATE_DELETED);
  }
  return mutated;
}

}  // namespace touchline::touchpoints
