#include "services/permissions/org/testing/in_memory_org_store.h"

#include <algorithm>
#include <optional>

#include "absl/strings/ascii.h"
#include "common/auth/scope.h"
#include "common/status/macros.h"
#include "google/protobuf/util/time_util.h"

namespace touchline::permissions::testing {
namespace {

using ::google::protobuf::util::TimeUtil;
using Key = InMemoryOrgStore::Key;

google::protobuf::Timestamp ToProtoTime(absl::Time t) {
  return TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(t));
}

// Member ids as the members tables keep them: UUIDs, sorted.
template <typename Group>
Group WithSortedMembers(Group group) {
  std::vector<std::string> members;
  for (const std::string& id : group.member_user_ids()) {
    members.push_back(absl::AsciiStrToLower(id));
  }
  std::sort(members.begin(), members.end());
  group.clear_member_user_ids();
  for (std::string& id : members) group.add_member_user_ids(std::move(id));
  return group;
}

template <typename Row>
std::optional<Row> Find(const std::map<Key, Row>& rows, const std::string& tenant,
                        const std::string& id) {
  const auto it = rows.find({tenant, id});
  if (it == rows.end()) return std::nullopt;
  return it->second;
}

template <typename Row>
std::vector<Row> OfTenant(const std::map<Key, Row>& rows, const std::string& tenant) {
  std::vector<Row> out;
  for (auto it = rows.lower_bound({tenant, ""}); it != rows.end() && it->first.first == tenant;
       ++it) {
    out.push_back(it->second);
  }
  return out;
}

}  // namespace

// The rows of one unit of work (or of a read, which refuses writes).
class InMemoryOrgStore::Rows final : public OrgTransaction {
 public:
  Rows(InMemoryOrgStore::Data& data, bool writable) : data_(data), writable_(writable) {}

  absl::StatusOr<std::optional<v1::Role>> FindRole(const std::string& tenant,
                                                   const std::string& role_id,
                                                   OrgLock /*lock*/) override {
    return Find(data_.roles, tenant, role_id);
  }
  absl::StatusOr<std::vector<v1::Role>> ListRoles(const std::string& tenant) override {
    return OfTenant(data_.roles, tenant);
  }
  absl::StatusOr<bool> PartnerOrgExists(const std::string& tenant,
                                        const std::string& partner_org_id) override {
    return data_.partners.contains({tenant, partner_org_id});
  }
  absl::StatusOr<std::vector<v1::PartnerOrganization>> ListPartnerOrganizations(
      const std::string& tenant) override {
    return OfTenant(data_.partners, tenant);
  }
  absl::StatusOr<std::optional<v1::Territory>> FindTerritory(const std::string& tenant,
                                                             const std::string& territory_id,
                                                             OrgLock /*lock*/) override {
    return Find(data_.territories, tenant, territory_id);
  }
  absl::StatusOr<std::vector<v1::Territory>> ListTerritories(const std::string& tenant) override {
    return OfTenant(data_.territories, tenant);
  }
  absl::StatusOr<std::optional<v1::Team>> FindTeam(const std::string& tenant,
                                                   const std::string& team_id,
                                                   OrgLock /*lock*/) override {
    return Find(data_.teams, tenant, team_id);
  }
  absl::StatusOr<std::vector<v1::Team>> ListTeams(const std::string& tenant) override {
    return OfTenant(data_.teams, tenant);
  }
  absl::StatusOr<absl::flat_hash_map<std::string, std::string>> PartnerOrgsOfUsers(
      const std::string& tenant, const std::vector<std::string>& user_ids) override {
    absl::flat_hash_map<std::string, std::string> users;
    for (const std::string& id : user_ids) {
      const auto user = data_.users.find({tenant, absl::AsciiStrToLower(id)});
      if (user != data_.users.end()) users.emplace(user->first.second, user->second.partner_org_id);
    }
    return users;
  }
  absl::StatusOr<RoleHolders> CountRoleHolders(const std::string& tenant,
                                               const std::string& role_id) override {
    RoleHolders holders;
    for (const auto& [key, user] : data_.users) {
      if (key.first != tenant || user.role_id != role_id) continue;
      ++(user.partner_org_id.empty() ? holders.employees : holders.partner_users);
    }
    return holders;
  }
  absl::StatusOr<std::vector<v1::FieldPolicy>> ListFieldPolicies(
      const std::string& tenant, const std::string& role_id) override {
    std::vector<v1::FieldPolicy> policies;
    for (const auto& [key, policy] : data_.field_policies) {
      if (std::get<0>(key) == tenant && (role_id.empty() || std::get<1>(key) == role_id)) {
        policies.push_back(policy);
      }
    }
    return policies;
  }
  absl::StatusOr<std::vector<v1::CustomerShare>> ListShares(
      const std::string& tenant, const std::string& customer_id) override {
    return SharesOf(tenant, customer_id);
  }
  absl::StatusOr<std::optional<KnownCustomer>> FindCustomer(
      const std::string& tenant, const std::string& customer_id) override {
    std::optional<KnownCustomer> customer = Find(data_.customers, tenant, customer_id);
    if (!customer) return customer;
    customer->attributes.shares.clear();
    for (const v1::CustomerShare& share : SharesOf(tenant, customer_id)) {
      customer->attributes.shares.push_back(
          {.grantee = auth::GranteeOf(share), .edit = share.access() == v1::SHARE_ACCESS_EDIT});
    }
    return customer;
  }

  absl::StatusOr<bool> InsertRole(const std::string& tenant, const v1::Role& role,
                                  absl::Time now) override {
    TL_RETURN_IF_ERROR(RequireWritable());
    v1::Role row = role;
    *row.mutable_create_time() = ToProtoTime(now);
    *row.mutable_update_time() = ToProtoTime(now);
    return data_.roles.emplace(Key(tenant, role.role_id()), std::move(row)).second;
  }
  absl::Status UpdateRole(const std::string& tenant, const v1::Role& role,
                          absl::Time now) override {
    TL_RETURN_IF_ERROR(RequireWritable());
    const auto it = data_.roles.find({tenant, role.role_id()});
    if (it == data_.roles.end()) return absl::OkStatus();
    v1::Role row = role;
    *row.mutable_create_time() = it->second.create_time();
    *row.mutable_update_time() = ToProtoTime(now);
    it->second = std::move(row);
    return absl::OkStatus();
  }
  absl::StatusOr<bool> InsertPartnerOrganization(const std::string& tenant,
                                                 const v1::PartnerOrganization& partner,
                                                 absl::Time /*now*/) override {
    TL_RETURN_IF_ERROR(RequireWritable());
    return data_.partners.emplace(Key(tenant, partner.partner_org_id()), partner).second;
  }
  absl::StatusOr<bool> InsertTerritory(const std::string& tenant, const v1::Territory& territory,
                                       absl::Time /*now*/) override {
    TL_RETURN_IF_ERROR(RequireWritable());
    return data_.territories
        .emplace(Key(tenant, territory.territory_id()), WithSortedMembers(territory))
        .second;
  }
  absl::Status UpdateTerritory(const std::string& tenant, const v1::Territory& territory,
                               absl::Time /*now*/) override {
    TL_RETURN_IF_ERROR(RequireWritable());
    const auto it = data_.territories.find({tenant, territory.territory_id()});
    if (it != data_.territories.end()) it->second = WithSortedMembers(territory);
    return absl::OkStatus();
  }
  absl::StatusOr<bool> InsertTeam(const std::string& tenant, const v1::Team& team,
                                  absl::Time /*now*/) override {
    TL_RETURN_IF_ERROR(RequireWritable());
    return data_.teams.emplace(Key(tenant, team.team_id()), WithSortedMembers(team)).second;
  }
  absl::Status UpdateTeam(const std::string& tenant, const v1::Team& team,
                          absl::Time /*now*/) override {
    TL_RETURN_IF_ERROR(RequireWritable());
    const auto it = data_.teams.find({tenant, team.team_id()});
    if (it != data_.teams.end()) it->second = WithSortedMembers(team);
    return absl::OkStatus();
  }
  absl::Status UpsertFieldPolicy(const std::string& tenant,
                                 const v1::FieldPolicy& policy) override {
    TL_RETURN_IF_ERROR(RequireWritable());
    data_.field_policies[{tenant, policy.role_id(), policy.resource(), policy.field_path()}] =
        policy;
    return absl::OkStatus();
  }
  absl::StatusOr<bool> DeleteFieldPolicy(const std::string& tenant, const std::string& role_id,
                                         const std::string& resource,
                                         const std::string& field_path) override {
    TL_RETURN_IF_ERROR(RequireWritable());
    return data_.field_policies.erase({tenant, role_id, resource, field_path}) > 0;
  }
  absl::Status UpsertShare(const std::string& tenant, const v1::CustomerShare& share,
                           const std::string& granted_by, absl::Time now) override {
    TL_RETURN_IF_ERROR(RequireWritable());
    const auto key = std::make_tuple(tenant, share.customer_id(), auth::GranteeOf(share));
    const auto it = data_.shares.find(key);
    if (it != data_.shares.end()) {
      it->second.set_access(share.access());
      return absl::OkStatus();
    }
    v1::CustomerShare row = share;
    row.set_granted_by(granted_by);
    *row.mutable_create_time() = ToProtoTime(now);
    data_.shares.emplace(key, std::move(row));
    return absl::OkStatus();
  }
  absl::StatusOr<bool> DeleteShare(const std::string& tenant, const std::string& customer_id,
                                   const std::string& grantee) override {
    TL_RETURN_IF_ERROR(RequireWritable());
    return data_.shares.erase({tenant, customer_id, grantee}) > 0;
  }
  absl::StatusOr<int64_t> BumpShareVersion(const std::string& tenant,
                                           const std::string& customer_id) override {
    TL_RETURN_IF_ERROR(RequireWritable());
    return ++data_.share_versions[{tenant, customer_id}];
  }
  absl::Status AppendAudit(const std::string& tenant, v1::AuditEvent event) override {
    TL_RETURN_IF_ERROR(RequireWritable());
    data_.audit.push_back({tenant, std::move(event)});
    return absl::OkStatus();
  }
  absl::Status Publish(std::string_view topic, const events::v1::EventEnvelope& envelope) override {
    TL_RETURN_IF_ERROR(RequireWritable());
    data_.published.push_back({std::string(topic), envelope});
    return absl::OkStatus();
  }

 private:
  // By grantee (the key's order).
  std::vector<v1::CustomerShare> SharesOf(const std::string& tenant,
                                          const std::string& customer_id) const {
    std::vector<v1::CustomerShare> shares;
    for (const auto& [key, share] : data_.shares) {
      if (std::get<0>(key) == tenant && std::get<1>(key) == customer_id) shares.push_back(share);
    }
    return shares;
  }
  absl::Status RequireWritable() const {
    if (!writable_) return absl::FailedPreconditionError("a write outside a transaction");
    return absl::OkStatus();
  }

  InMemoryOrgStore::Data& data_;
  const bool writable_;
};

absl::Status InMemoryOrgStore::Transact(const std::function<absl::Status(OrgTransaction&)>& work) {
  return units_.Transact(work);
}

absl::Status InMemoryOrgStore::Read(const std::function<absl::Status(OrgReader&)>& read) {
  return units_.Read(read);
}

absl::Status InMemoryOrgStore::LearnUnknownCustomer(customers::CustomerDirectory& /*directory*/,
                                                    const auth::RequestContext& /*caller*/,
                                                    const std::string& /*customer_id*/) {
  return absl::OkStatus();
}

void InMemoryOrgStore::AddUser(const std::string& tenant, const std::string& user_id, User user) {
  units_.Change([&](Data& data) {
    data.users[{tenant, absl::AsciiStrToLower(user_id)}] = std::move(user);
  });
}

void InMemoryOrgStore::AddCustomer(const std::string& tenant, KnownCustomer customer) {
  const std::string id = customer.attributes.customer_id;
  units_.Change([&](Data& data) { data.customers[{tenant, id}] = std::move(customer); });
}

InMemoryOrgStore::Data InMemoryOrgStore::Snapshot() const { return units_.Snapshot(); }

}  // namespace touchline::permissions::testing
