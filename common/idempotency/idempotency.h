// Idempotent mutations (AIP-155): a request carries an optional request_id; the first request
// with an id records its outcome, a retry with the same id and the same request gets that
// outcome again instead of writing twice, and the id reused for a different request is a
// conflict. One table per service schema (IdempotencyMigrations), claimed inside the caller's
// own transaction so the key commits or rolls back with the write it guards, and purged after
// a retention.
//
// Typical use, in a store's transaction:
//   TL_ASSIGN_OR_RETURN(Claim claim, ClaimKey(txn, {tenant, request_id, "CreateCustomer",
//                                                    ids::Fingerprint(request)}, new_id));
//   switch (claim.decision) {
//     case Decision::kNew:      insert the resource new_id ...
//     case Decision::kReplay:   read and return the resource claim.result ...
//     case Decision::kConflict: return the service's ALREADY_EXISTS ...
//   }
#ifndef TOUCHLINE_COMMON_IDEMPOTENCY_IDEMPOTENCY_H_
#define TOUCHLINE_COMMON_IDEMPOTENCY_IDEMPOTENCY_H_

#include <cstdint>
#include <optional>
#include <pqxx/transaction>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/pg/migrator.h"
#include "common/pg/pool.h"

namespace touchline::idempotency {

// The table idempotency_keys(tenant_id, request_id, method, fingerprint, result, create_time),
// primary key (tenant_id, request_id), indexed by create_time. Apply it to each schema whose
// service takes request ids:
//   pg::ApplyMigrations(dsn, schema, "idempotency", IdempotencyMigrations());
const std::vector<pg::Migration>& IdempotencyMigrations();

// --- The request_id rule, the same for every method of every service ---

// The longest request_id, in characters (Unicode code points, not bytes: a Chinese client's id
// is as long as an English one's). 128 is room for a UUID, a ULID or a client's own compound
// key.
inline constexpr size_t kMaxRequestIdChars = 128;

// Why `request_id` cannot be a request id, as a field violation message (the field path is the
// caller's): "must be valid UTF-8", "must not contain NUL characters", or "must be at most 128
// characters"; nullopt when it can. Empty is valid and means the request has no key; any other
// text of valid UTF-8 without NUL, up to kMaxRequestIdChars code points, is valid as sent
// (compared byte for byte: no trimming, no case folding).
std::optional<std::string> RequestIdProblem(std::string_view request_id);

// What a write answers when `request_id` was used before for a different request (another
// fingerprint or method): ALREADY_EXISTS "request_id <id> was already used for a different
// request", with ErrorInfo reason REQUEST_ID_REUSED and metadata request_id.
absl::Status RequestIdReused(std::string_view request_id);

// --- Keys and the decision ---

// One request's key and what identifies the request.
struct Key {
  std::string tenant_id;
  // Non-empty and valid by RequestIdProblem. Unique per tenant across all methods.
  std::string request_id;
  // The RPC, e.g. "CreateCustomer": the same id used with another method is a conflict.
  std::string method;
  // Tells a retry from another request reusing the id: usually ids::Fingerprint(request),
  // with anything that must not be stored (a password) cleared first.
  std::string fingerprint;
};

// What the first request with a key recorded.
struct StoredRequest {
  std::string method;
  std::string fingerprint;
  std::string result;
};

enum class Decision {
  kNew,       // No request had the key: this one runs.
  kReplay,    // The same request had it: return its outcome (StoredRequest::result).
  kConflict,  // Another request (another method or fingerprint) had it: refuse this one.
};

// The decision for a request with `method` and `fingerprint` given what its key's first
// request recorded (`stored`), or nullopt when none did. Pure.
Decision Decide(const std::optional<StoredRequest>& stored, std::string_view method,
                std::string_view fingerprint);

// --- Claims, inside the caller's transaction ---

// The outcome of a claim.
struct Claim {
  Decision decision = Decision::kNew;
  // kNew: the result this claim recorded; kReplay: the one the first request recorded;
  // kConflict: empty.
  std::string result;
};

// A key to claim and the result to record with it if it is new.
struct KeyClaim {
  Key key;
  // What a replay of this request returns, usually the id (chosen before the claim) of the
  // resource the request creates. Recorded at once, in the caller's transaction.
  std::string result;
};

// Claims `key` in `txn` (the schema on txn's search_path holds idempotency_keys), recording
// `result` if no request had the key. The claim commits or rolls back with `txn`: while `txn`
// is open, another transaction claiming the same key waits for it, and then sees kReplay or
// kConflict if `txn` committed, or claims the key itself if `txn` rolled back. Errors: ABORTED
// when the key disappeared between the claim and the lookup (purged meanwhile; a retry
// claims it anew). Throws libpqxx exceptions like any statement run in `txn` (Pool::Transact
// maps them).
absl::StatusOr<Claim> ClaimKey(pqxx::work& txn, const Key& key, std::string_view result);

// As ClaimKey for several keys in two statements, claimed in (tenant, request_id) order so that
// transactions claiming overlapping sets wait for each other instead of deadlocking. Returns one
// Claim per element of `claims`, in order. When several claims in `claims` share a key, the
// first of them claims it and the others are decided against it (kReplay or kConflict).
absl::StatusOr<std::vector<Claim>> ClaimKeys(pqxx::work& txn, std::span<const KeyClaim> claims);

// Gives back keys this transaction claimed (ClaimKeys said kNew) for a request that then did
// not go ahead after all, e.g. one whose other unique key turned out to be taken: deletes the
// rows of `claims` whose result is still the one given, so another request's claim is never
// removed. Throws libpqxx exceptions like any statement run in `txn`.
void ReleaseKeys(pqxx::work& txn, std::span<const KeyClaim> claims);

// --- Retention ---

// Deletes the keys claimed more than `retention` ago by PostgreSQL's clock, at most
// `batch_size` per transaction (so no statement holds its locks for long) and as many
// transactions as it takes; a request retried after that is new again. Pass
// --idempotency_retention: keys must be kept at least as long as a client may retry. Run it
// periodically (--purge_interval) on the schema's pool; replicas may run it at once. Returns how
// many keys were deleted. Errors: INVALID_ARGUMENT for retention <= 0 or batch_size < 1; the
// mapped PostgreSQL error of the failing batch (the batches before it stay deleted).
absl::StatusOr<int64_t> PurgeExpiredKeys(pg::Pool& pool, absl::Duration retention,
                                         int batch_size = 1000);

}  // namespace touchline::idempotency

#endif  // TOUCHLINE_COMMON_IDEMPOTENCY_IDEMPOTENCY_H_
