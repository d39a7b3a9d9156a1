// Storage of the audit log (migrations/0003_audit.sql): the entries of every tenant's hash
// chain and the chain heads. An interface, so AuditLog's rules (hashing, sequencing,
// verification, paging) run against PostgreSQL (pg_audit_store.h) or an in-memory fake
// (testing/in_memory_audit_store.h). The store keeps what it is given: it computes no hash
// and checks no chain.
//
// A unit of work is one AuditStore::Transact call: the heads it locks stay locked, and the
// entries and head moves it writes commit together or not at all. Errors are absl::Status
// (the mapped PostgreSQL error: UNAVAILABLE, DEADLINE_EXCEEDED ...).
#ifndef TOUCHLINE_SERVICES_PERMISSIONS_AUDIT_AUDIT_STORE_H_
#define TOUCHLINE_SERVICES_PERMISSIONS_AUDIT_AUDIT_STORE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "touchline/permissions/v1/permissions.pb.h"

namespace touchline::permissions {

// previous_hash of a tenant's first entry.
inline constexpr char kAuditGenesisHash[] =
    "0000000000000000000000000000000000000000000000000000000000000000";

// One event to add to the chain of `tenant_id`.
struct TenantAuditEvent {
  std::string tenant_id;
  touchline::permissions::v1::AuditEvent event;
};

// Where a tenant's chain ends: its last entry's sequence and hash (0 and kAuditGenesisHash
// before the first entry).
struct AuditChainHead {
  int64_t last_sequence = 0;
  std::string last_hash;
};

// Which entries AuditReader::ListEntries returns: of one tenant, each non-empty string equal
// (action: starting with action_prefix), start_micros <= occur_time < end_micros (Unix
// microseconds), sequence < before_sequence, at most `limit`.
struct AuditEntryFilter {
  std::string actor_id;
  std::string resource_type;
  std::string resource_id;
  std::string action_prefix;
  std::optional<int64_t> start_micros;
  std::optional<int64_t> end_micros;
  std::optional<int64_t> before_sequence;
  int limit = 0;
};

// What a unit of work or a read reads.
class AuditReader {
 public:
  virtual ~AuditReader() = default;

  // The entries `filter` selects, newest (highest sequence) first.
  virtual absl::StatusOr<std::vector<v1::AuditEvent>> ListEntries(
      const std::string& tenant, const AuditEntryFilter& filter) = 0;
  // At most `limit` entries of `tenant` with sequence > `after`, in sequence order.
  virtual absl::StatusOr<std::vector<v1::AuditEvent>> EntriesAfter(const std::string& tenant,
                                                                   int64_t after, int limit) = 0;
  // The chain head of `tenant`; none before its first entry.
  virtual absl::StatusOr<std::optional<AuditChainHead>> Head(const std::string& tenant) = 0;
};

class AuditTransaction : public AuditReader {
 public:
  // The heads of `tenants` (distinct), locked until the unit of work ends in tenant id order
  // (so that two units wait for each other rather than deadlock); a missing head is created
  // at (0, kAuditGenesisHash) first. Every tenant asked for has a head in the answer.
  virtual absl::StatusOr<std::map<std::string, AuditChainHead>> LockHeads(
      const std::vector<std::string>& tenants) = 0;
  // Stores `entries` as given (sequence, previous_hash and hash set; occur_time to the
  // microsecond; text storable) and moves the heads of `heads` to the values given, in one
  // write.
  virtual absl::Status Write(const std::vector<TenantAuditEvent>& entries,
                             const std::map<std::string, AuditChainHead>& heads) = 0;
};

class AuditStore {
 public:
  virtual ~AuditStore() = default;

  // Runs `work` as one unit of work: commits when it returns OK, drops everything when it
  // returns an error (returned as is). A conflict with a concurrent unit of work runs `work`
  // again from the start.
  virtual absl::Status Transact(const std::function<absl::Status(AuditTransaction&)>& work) = 0;
  // Runs `read` outside a unit of work: each read sees the latest committed data.
  virtual absl::Status Read(const std::function<absl::Status(AuditReader&)>& read) = 0;
  // Runs `read` on one snapshot: what a concurrent unit of work writes is either wholly seen
  // or not at all. May run `read` again from the start.
  virtual absl::Status ReadSnapshot(const std::function<absl::Status(AuditReader&)>& read) = 0;
};

}  // namespace touchline::permissions

#endif  // TOUCHLINE_SERVICES_PERMISSIONS_AUDIT_AUDIT_STORE_H_
