// IdentityStore in memory, for tests of IdentityManager without PostgreSQL. Units of work run
// one at a time on a copy of the data that replaces it only when the work returns OK, so what
// the manager relies on holds: all or nothing, row locks (trivially: nothing runs
// concurrently), a retried unit starting from the committed data. Thread-safe.
#ifndef TOUCHLINE_SERVICES_PERMISSIONS_IDENTITY_TESTING_IN_MEMORY_IDENTITY_STORE_H_
#define TOUCHLINE_SERVICES_PERMISSIONS_IDENTITY_TESTING_IN_MEMORY_IDENTITY_STORE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "services/permissions/identity/identity_store.h"
#include "services/permissions/testing/units_of_work.h"

namespace touchline::permissions::testing {

class InMemoryIdentityStore final : public IdentityStore {
 public:
  // An audit entry or outbox event committed with a unit of work.
  using AuditEntry = CommittedAudit;
  using Published = CommittedEvent;

  // Everything the store holds; keys are (tenant_id, id).
  struct Data {
    std::map<std::pair<std::string, std::string>, UserRecord> users;
    std::map<std::pair<std::string, std::string>, SessionRecord> sessions;
    std::map<std::pair<std::string, std::string>, ApiKeyRecord> api_keys;
    std::map<std::pair<std::string, std::string>, RoleFacts> roles;
    std::set<std::pair<std::string, std::string>> partner_orgs;
    std::map<std::pair<std::string, std::string>, idempotency::StoredRequest> request_ids;
    std::map<std::pair<std::string, std::string>, StoredThrottleCounter> throttle;
    std::vector<AuditEntry> audit;
    std::vector<Published> published;
  };

  absl::Status Transact(const std::function<absl::Status(IdentityTransaction&)>& work) override;
  absl::Status Read(const std::function<absl::Status(IdentityReader&)>& read) override;
  absl::StatusOr<int64_t> PurgeSessions(absl::Time before, int limit) override;

  // The organisation model identity reads (its own tables are the org store's).
  void AddRole(const std::string& tenant_id, const std::string& role_id, RoleFacts role);
  void AddPartnerOrg(const std::string& tenant_id, const std::string& partner_org_id);

  // A copy of the committed data.
  Data Snapshot() const;

 private:
  class Rows;
  UnitsOfWork<Data, Rows> units_;
};

}  // namespace touchline::permissions::testing

#endif  // TOUCHLINE_SERVICES_PERMISSIONS_IDENTITY_TESTING_IN_MEMORY_IDENTITY_STORE_H_
