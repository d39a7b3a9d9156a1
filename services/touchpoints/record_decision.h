// The decisions a write of touchpoints makes, as pure functions over what the store read: which
// live customer a touchpoint belongs to (following merges, checking the caller's scope and the
// contact persons) and what its idempotency keys say (new, a replay of an earlier touchpoint,
// or a conflict). The PostgreSQL store and the in-memory fake both call these, so the rules
// are the same in both and are tested here without a database.
#ifndef TOUCHLINE_SERVICES_TOUCHPOINTS_RECORD_DECISION_H_
#define TOUCHLINE_SERVICES_TOUCHPOINTS_RECORD_DECISION_H_

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/auth/scope.h"
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

// Kinds of idempotency keys (the touchpoint_keys.kind column).
inline constexpr int kRequestKey = 1;   // The client's request_id.
inline constexpr int kExternalKey = 2;  // The touchpoint's (source_system, external_id).

// One idempotency key a new touchpoint claims: unique per (tenant_id, kind, key).
struct IdempotencyKey {
  std::string tenant_id;
  int kind = kRequestKey;
  std::string key;
  std::string touchpoint_id;  // The touchpoint that claims it.
  absl::Time occurred_at;     // Its occur_time: keys are kept as long as their touchpoints.
  std::string fingerprint;    // Hex SHA-256 of the touchpoint as the client sent it.
  size_t owner = 0;           // Its position in the write.
};

// The keys of the touchpoint at position `owner` of a write: its request id (if any) and its
// (source_system, external_id) (if it has a source system).
std::vector<IdempotencyKey> KeysOf(const NewTouchpoint& touchpoint, size_t owner);

// What claiming the keys of a write decided.
struct ClaimDecision {
  // Per touchpoint of the write: it claimed every one of its keys (or had none), so it is new.
  std::vector<bool> is_new;
  // Keys (positions in the claimed keys) taken by a touchpoint that did not get all of its
  // keys: it is no new touchpoint, so they go back.
  std::vector<size_t> give_back;
};

// Decides, for `count` touchpoints whose keys `keys` were offered to the key table and of
// which those with won[k] were inserted (the rest existed), which touchpoints are new and which
// keys to give back.
ClaimDecision DecideClaims(size_t count, const std::vector<IdempotencyKey>& keys,
                           const std::vector<bool>& won);

// A key as stored by an earlier write.
struct StoredKey {
  int kind = kRequestKey;
  std::string touchpoint_id;
  std::string fingerprint;  // Hex.
};

// What a touchpoint that did not claim its keys is, given the stored rows of its keys
// (`stored`, ordered by kind): the id of the touchpoint an earlier request recorded with the
// same fingerprint (a replay); ALREADY_EXISTS (reason REQUEST_ID_REUSED or EXTERNAL_ID_EXISTS,
// metadata touchpoint_id) for a key recorded with another fingerprint or two keys naming two
// touchpoints; ABORTED when no key is stored (its owner gave it back in the same write, so the
// client retries).
absl::StatusOr<std::string> DecideReplay(const NewTouchpoint& touchpoint,
                                         const std::vector<StoredKey>& stored);

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
