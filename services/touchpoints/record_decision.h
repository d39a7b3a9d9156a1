// The decisions a write of touchpoints makes, as pure functions over what the store read: which
// live customer a touchpoint belongs to (following merges, checking the caller's scope and the
// contact persons) and what its idempotency keys say (new, a replay of an earlier touchpoint,
// or a conflict). The PostgreSQL store and the in-memory fake both call these, so the rules
// are the same in both and are tested here without a database.
#ifndef TOUCHLINE_SERVICES_TOUCHPOINTS_RECORD_DECISION_H_
#define TOUCHLINE_SERVICES_TOUCHPOINTS_RECORD_DECISION_H_

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/auth/scope.h"
#include "common/idempotency/idempotency.h"
#include "services/touchpoints/touchpoint_store.h"
#include "touchline/touchpoints/v1/touchpoint.pb.h"

namespace touchline::touchpoints {

// How many merges deep a customer id is followed to its survivor.
inline constexpr int kMaxMergeHops = 8;

// A customer of the read model, as a write needs it.
struct CustomerState {
  int state = 0;  // contacts::v1::CustomerState.
  std::string merged_into;
  std::vector<std::string> person_ids;
  std::vector<std::string> folded_persons;  // "<person_id>:<into_person_id>"
  auth::CustomerAttributes attributes;
};
// The customers a write names and, transitively, the survivors they were merged into; by id.
using CustomerStates = absl::flat_hash_map<std::string, CustomerState>;

// Renames the contact persons of `t` through `persons` (old id -> new id; an id named twice
// afterwards stays once); true if any changed.
bool RenamePersons(v1::Touchpoint& t, const absl::flat_hash_map<std::string, std::string>& persons);

// A touchpoint that sets customer_status_after changes the customer's lifecycle status
// (contacts applies it as the recorder's change), so its writer must be allowed to write that
// field of that customer, not only its touchpoints: PERMISSION_DENIED otherwise.
absl::Status CheckStatusAfterWritable(const auth::Scope& scope,
                                      const auth::CustomerAttributes& customer,
                                      const v1::Touchpoint& t);

// Resolves the touchpoint's customer to the live one it stands for and checks its contact
// persons, with `customers` holding that customer and the survivors it was merged into.
// Rewrites customer_id to the survivor of a merge and a contact person folded by a merge to
// the one it was folded into. INVALID_ARGUMENT (at `prefix`.customer_id) when the customer is
// unknown, not visible to `scope` (the same error) or deleted, and (at
// `prefix`.contact_person_ids[i]) for a person not the customer's; PERMISSION_DENIED when the
// scope sees the customer but may not write its touchpoints (a READ share) or may not set
// customer_status_after.
absl::Status ResolveCustomer(const CustomerStates& customers, const auth::Scope& scope,
                             v1::Touchpoint& t, std::string_view prefix);

// --- Idempotency: a touchpoint is new when it claims both its request id (common/idempotency)
// and its (source_system, external_id) (touchpoint_keys), each where it has one ---

// The method request ids of touchpoints are claimed under: RecordTouchpoint and each request of
// BatchRecordTouchpoints alike (a batch request is a RecordTouchpointRequest), so either
// replays the other.
inline constexpr char kRecordMethod[] = "RecordTouchpoint";

// The touchpoint_keys.kind of a source key. (Kind 1, request ids, moved to idempotency_keys:
// migrations/0005.)
inline constexpr int kSourceKey = 2;

// A (source_system, external_id) key a new touchpoint claims: unique per (tenant_id, key), kept
// as long as the touchpoint (it is the touchpoint's identity in its source, not a retry window).
struct SourceKey {
  std::string tenant_id;
  std::string key;
  std::string touchpoint_id;  // The touchpoint that claims it.
  absl::Time occurred_at;     // Its occur_time.
  std::string fingerprint;    // Hex SHA-256 of the touchpoint as the client sent it.
};
// A source key as an earlier write stored it.
struct StoredSourceKey {
  std::string touchpoint_id;
  std::string fingerprint;  // Hex.
};

// The keys of one touchpoint of a write, and what claiming them said.
struct KeyClaims {
  std::optional<idempotency::KeyClaim> request;  // Its request id, if any.
  idempotency::Claim request_claim;              // With `request`: what ClaimKeys said.
  std::optional<SourceKey> source;               // Its source key, if it has a source system.
  bool source_won = false;                       // With `source`: the insert took it.
};

// The keys of `touchpoint` (claims not made yet).
KeyClaims KeysOf(const NewTouchpoint& touchpoint);

// What claiming the keys of a write decided, per touchpoint.
struct ClaimDecision {
  // It claimed every key it has (or has none), so it is new.
  std::vector<bool> is_new;
  // Not new, but it claimed its request id or its source key: those go back, so that they
  // stay free for the touchpoint they name (idempotency::ReleaseKeys, and a delete).
  std::vector<bool> give_back_request;
  std::vector<bool> give_back_source;
};
ClaimDecision DecideClaims(const std::vector<KeyClaims>& claims);

// What a touchpoint that is not new is: the id of the touchpoint an earlier request recorded
// with the same content (a replay), given what its request id's claim said and the stored row
// of its source key (`source`, if one is stored). ALREADY_EXISTS with reason REQUEST_ID_REUSED
// (metadata request_id) when the request id was used for another request, EXTERNAL_ID_EXISTS
// (metadata touchpoint_id) when the source recorded other content or another touchpoint than
// the request id did; ABORTED when nothing is stored to replay, or what is names a touchpoint
// of `not_recorded` (its claimer in the same write gave its keys back): the client retries.
absl::StatusOr<std::string> DecideReplay(const NewTouchpoint& touchpoint, const KeyClaims& claims,
                                         const std::optional<StoredSourceKey>& source,
                                         const absl::flat_hash_set<std::string>& not_recorded);

// The customers named by `customer_id` and the survivors it was merged into (the store reads
// them, locked, in the mutation's transaction).
using CustomerLoader = std::function<CustomerStates(const std::string& customer_id)>;

// A mutation of the stored touchpoint `t` (of the customer `customer`) by `context`, as
// TouchpointStore::Mutate describes: `not_found` when the caller's scope does not see the
// customer, PERMISSION_DENIED before `mutate` runs when it may not write its touchpoints; then
// `mutate`, a re-check of customer_status_after, and of the customer and contact persons (with
// `load`, at `field_prefix`) when the mutation changed them; then the next etag, update_time =
// context.now, and for a deletion delete_time and the DELETED state.
struct Mutated {
  Change change;
  // The customer the mutation named when it named another one (before a merge took it to the
  // survivor): the touchpoint's origin from now on, which an unmerge moves it back by.
  std::string named_customer;
};
absl::StatusOr<Mutated> ApplyMutation(const WriteContext& context,
                                      const auth::CustomerAttributes& customer,
                                      std::string_view field_prefix,
                                      const TouchpointStore::Mutation& mutate,
                                      const CustomerLoader& load, absl::Status not_found,
                                      v1::Touchpoint& t);

}  // namespace touchline::touchpoints

#endif  // TOUCHLINE_SERVICES_TOUCHPOINTS_RECORD_DECISION_H_
