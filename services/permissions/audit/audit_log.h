// The tamper-evident audit log: logins, reads of sensitive fields and every change, one hash
// chain per tenant in the permissions schema (migrations/0003_audit.sql).
//
// Entry n of a tenant holds previous_hash = hash of entry n-1 (64 '0' for entry 1) and
//   hash = lower-case hex SHA-256(previous_hash || canonical bytes of the entry),
// where previous_hash is its 64 hex characters and the canonical bytes are the
// touchline.permissions.v1.AuditEvent with sequence set and hash and previous_hash empty,
// serialized deterministically (CodedOutputStream::SetSerializationDeterministic; all fields
// are scalars, strings, a repeated string and a Timestamp, which protobuf writes in field
// number order). occur_time is kept to the microsecond (what PostgreSQL stores), so the stored
// row reproduces the hashed bytes exactly. Changing an entry breaks its hash; removing one
// leaves a gap; cutting entries off the end leaves the chain head pointing past the last
// entry. Whoever can rewrite the whole table and the head together can forge a consistent
// chain: a hash anchored outside the database (e.g. the head's hash copied to an external log
// from time to time) is what detects that.
#ifndef TOUCHLINE_SERVICES_PERMISSIONS_AUDIT_AUDIT_LOG_H_
#define TOUCHLINE_SERVICES_PERMISSIONS_AUDIT_AUDIT_LOG_H_

#include <memory>
#include <pqxx/transaction>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/auth/request_context.h"
#include "common/events/consumer.h"
#include "common/paging/page_token.h"
#include "common/pg/pool.h"
#include "services/permissions/audit/audit_store.h"
#include "touchline/permissions/v1/permissions.pb.h"
#include "touchline/permissions/v1/permissions_service.pb.h"

namespace touchline::permissions {

// The audit log of every tenant: the chain's rules over an AuditStore. Thread-safe.
class AuditLog {
 public:
  // Over `store` (not owned, outlives the log). Verify reads the chain `verify_chunk_size`
  // (>= 1) entries at a time. `page_tokens` seals List's page tokens.
  AuditLog(AuditStore* store, paging::PageTokens page_tokens, int verify_chunk_size = 1000);
  // Over a PgAuditStore of `pg`, which has the permissions schema on its search_path and must
  // outlive the log.
  AuditLog(pg::Pool* pg, paging::PageTokens page_tokens, int verify_chunk_size = 1000);

  // Appends `event` to `tenant_id`'s chain inside the caller's transaction: it is in the log
  // if and only if the transaction commits. Locks the tenant's chain head until the
  // transaction ends, so concurrent appends of a tenant queue up there: append last in a
  // transaction to hold it briefly. Sets sequence, previous_hash and hash (values given are
  // ignored) and occur_time to now when unset; truncates occur_time to the microsecond; text
  // that is not UTF-8 or holds NUL (which PostgreSQL text cannot) has those bytes replaced by
  // U+FFFD. Preconditions: `tenant_id` is valid (auth::IsValidTenantId); occur_time, when set,
  // is a valid Timestamp (years 1 to 9999), else std::invalid_argument is thrown. Throws
  // libpqxx exceptions like any statement run in `txn` (Pool::Transact maps them).
  static void Append(pqxx::work& txn, const std::string& tenant_id,
                     touchline::permissions::v1::AuditEvent event);

  // Appends `events`, of any tenants, as Append would one after the other, but locks the
  // chain head of each tenant once (heads in tenant id order, so that two such calls wait for
  // each other rather than deadlock) and writes all entries and heads in one statement. The
  // events of one tenant are appended in the order given. Same preconditions and exceptions
  // as Append, checked for every event before anything is written.
  static void Append(pqxx::work& txn, std::vector<TenantAuditEvent> events);

  // The same inside a unit of work of any AuditStore, errors returned: INVALID_ARGUMENT for
  // an invalid occur_time (nothing written), INTERNAL when a head the store locked is missing
  // from its answer, the store's error otherwise.
  static absl::Status Append(AuditTransaction& txn, std::vector<TenantAuditEvent> events);

  // One page of `tenant_id`'s entries, newest (highest sequence) first, with the request's
  // filters: actor_id, resource_type and resource_id equal, action starting with
  // action_prefix, start_time <= occur_time < end_time. page_size 0 means 100. Errors:
  // INVALID_ARGUMENT naming each bad field (page_size outside 0..1000, a malformed
  // start_time or end_time, end_time not after start_time; page_token malformed or from
  // another query); the mapped PostgreSQL error otherwise.
  absl::StatusOr<touchline::permissions::v1::ListAuditEventsResponse> List(
      const std::string& tenant_id,
      const touchline::permissions::v1::ListAuditEventsRequest& request) const;

  // List and Verify for `caller`: of caller.tenant_id, and PERMISSION_DENIED unless its scope
  // holds PERMISSION_AUDIT_READ (INTERNAL "no scope" without a scope).
  absl::StatusOr<touchline::permissions::v1::ListAuditEventsResponse> List(
      const auth::RequestContext& caller,
      const touchline::permissions::v1::ListAuditEventsRequest& request) const;
  absl::StatusOr<touchline::permissions::v1::VerifyAuditChainResponse> Verify(
      const auth::RequestContext& caller) const;

  // Recomputes `tenant_id`'s chain in sequence order, from one snapshot, `verify_chunk_size`
  // entries per query, and reports the first break: a missing sequence (first_broken_sequence
  // is the missing one), a previous_hash that is not the hash of the entry before, a hash
  // that does not match the entry's content, or a chain head that does not match the last
  // entry (entries cut off the end, or entries beyond the head). entries_checked counts the
  // entries read up to and including the one where the break was found. A tenant without
  // entries is intact with 0 checked. Errors: the mapped PostgreSQL error.
  absl::StatusOr<touchline::permissions::v1::VerifyAuditChainResponse> Verify(
      const std::string& tenant_id) const;

  // For the "audit" topic's StreamConsumer (group "permissions-audit"): appends the event of
  // each touchline.events.v1.AuditRecorded to the chain of the envelope's tenant, in the
  // consumer's transaction, so each is appended once however often it is delivered. Returns
  // INVALID_ARGUMENT (the entry is retried, then dead-lettered, never dropped silently) for
  // another payload type, a payload that does not parse, an invalid tenant id or occur_time.
  static events::ApplyFn ApplyFromStream();

  // The options of that consumer: topic "audit", group "permissions-audit", `batch_size`
  // entries at most per batch.
  static events::ConsumerOptions StreamConsumerOptions(int batch_size);

  // The same for a batched StreamConsumer: all events the consumer hands over are appended
  // in one Append call, so a batch locks each tenant's chain head once. One event that is not
  // a valid AuditRecorded fails the batch with INVALID_ARGUMENT (the consumer then applies
  // the events one by one, which isolates it).
  static events::BatchApplyFn ApplyBatchFromStream();

  // hash of an entry whose previous_hash is `previous_hash` (see the top of this file); the
  // event's own sequence counts, its hash and previous_hash do not.
  static std::string ChainHash(std::string_view previous_hash,
                               const touchline::permissions::v1::AuditEvent& event);

 private:
  std::unique_ptr<AuditStore> owned_store_;  // Set by the pg::Pool constructor.
  AuditStore* const store_;
  const paging::PageTokens page_tokens_;
  const int verify_chunk_size_;
};

}  // namespace touchline::permissions

#endif  // TOUCHLINE_SERVICES_PERMISSIONS_AUDIT_AUDIT_LOG_H_
