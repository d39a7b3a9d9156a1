// OrgStore in memory, for tests of OrgManager without PostgreSQL. Units of work run one at a
// time on a copy of the data that replaces it only when the work returns OK: all or nothing,
// row locks trivially held, a retried unit starting from the committed data. Thread-safe.
#ifndef TOUCHLINE_SERVICES_PERMISSIONS_ORG_TESTING_IN_MEMORY_ORG_STORE_H_
#define TOUCHLINE_SERVICES_PERMISSIONS_ORG_TESTING_IN_MEMORY_ORG_STORE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "services/permissions/org/org_store.h"
#include "services/permissions/testing/units_of_work.h"

namespace touchline::permissions::testing {

class InMemoryOrgStore final : public OrgStore {
 public:
  // A user as the organisation model sees one.
  struct User {
    std::string role_id;
    std::string partner_org_id;  // Empty for employees.
  };
  using AuditEntry = CommittedAudit;
  using Published = CommittedEvent;
  using Key = std::pair<std::string, std::string>;  // (tenant, id)

  // Everything the store holds.
  struct Data {
    std::map<Key, v1::Role> roles;
    std::map<Key, v1::PartnerOrganization> partners;
    std::map<Key, v1::Territory> territories;
    std::map<Key, v1::Team> teams;
    std::map<Key, User> users;
    // (tenant, role, resource, field path)
    std::map<std::tuple<std::string, std::string, std::string, std::string>, v1::FieldPolicy>
        field_policies;
    // (tenant, customer, grantee)
    std::map<std::tuple<std::string, std::string, std::string>, v1::CustomerShare> shares;
    std::map<Key, int64_t> share_versions;
    // The read model; shares are added from `shares` when read.
    std::map<Key, KnownCustomer> customers;
    std::vector<AuditEntry> audit;
    std::vector<Published> published;
  };

  absl::Status Transact(const std::function<absl::Status(OrgTransaction&)>& work) override;
  absl::Status Read(const std::function<absl::Status(OrgReader&)>& read) override;
  // The read model here holds only what a test adds with AddCustomer: the directory is not
  // asked.
  absl::Status LearnUnknownCustomer(customers::CustomerDirectory& directory,
                                    const auth::RequestContext& caller,
                                    const std::string& customer_id) override;

  // The identity and read model rows the organisation model reads but does not own.
  void AddUser(const std::string& tenant, const std::string& user_id, User user);
  void AddCustomer(const std::string& tenant, KnownCustomer customer);

  // A copy of the committed data.
  Data Snapshot() const;

 private:
  class Rows;
  UnitsOfWork<Data, Rows> units_;
};

}  // namespace touchline::permissions::testing

#endif  // TOUCHLINE_SERVICES_PERMISSIONS_ORG_TESTING_IN_MEMORY_ORG_STORE_H_
