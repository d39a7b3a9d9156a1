// AuditStore in memory, for tests of AuditLog without PostgreSQL. Units of work run one at a
// time on a copy of the data that replaces it only when the work returns OK: all or nothing,
// chain heads trivially held, a retried unit starting from the committed data; a read sees
// one snapshot. Thread-safe.
#ifndef TOUCHLINE_SERVICES_PERMISSIONS_AUDIT_TESTING_IN_MEMORY_AUDIT_STORE_H_
#define TOUCHLINE_SERVICES_PERMISSIONS_AUDIT_TESTING_IN_MEMORY_AUDIT_STORE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>

#include "services/permissions/audit/audit_store.h"
#include "services/permissions/testing/units_of_work.h"

namespace touchline::permissions::testing {

class InMemoryAuditStore final : public AuditStore {
 public:
  // Everything the store holds.
  struct Data {
    std::map<std::string, AuditChainHead> heads;                        // By tenant.
    std::map<std::pair<std::string, int64_t>, v1::AuditEvent> entries;  // (tenant, sequence)
  };

  absl::Status Transact(const std::function<absl::Status(AuditTransaction&)>& work) override;
  absl::Status Read(const std::function<absl::Status(AuditReader&)>& read) override;
  absl::Status ReadSnapshot(const std::function<absl::Status(AuditReader&)>& read) override;

  // Runs `change` on the committed data: what a tamperer with access to the tables would do.
  void Change(const std::function<void(Data&)>& change);
  // A copy of the committed data.
  Data Snapshot() const;

 private:
  class Rows;
  UnitsOfWork<Data, Rows> units_;
};

}  // namespace touchline::permissions::testing

#endif  // TOUCHLINE_SERVICES_PERMISSIONS_AUDIT_TESTING_IN_MEMORY_AUDIT_STORE_H_
