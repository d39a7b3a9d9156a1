// Scope::SqlVisibility on a real PostgreSQL must select exactly the customers Scope::Allows
// admits: the proof that row filters in SQL and decisions in C++ are one policy. The same of
// SqlAttributeVisibility, for customers seen by their attributes.
#include <memory>
#include <pqxx/pqxx>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/auth/scope.h"
#include "common/ids/ids.h"
#include "common/pg/pool.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/pg_test_env.h"
#include "tests/testing/status_matchers.h"

namespace touchline::auth {
namespace {

namespace pv1 = ::touchline::permissions::v1;

constexpr char kTenant[] = "acme";
constexpr char kOtherTenant[] = "globex";

// Regions with characters an array literal or a query must not misread.
const std::vector<std::string>& Regions() {
  static const auto* const kRegions =
      new std::vector<std::string>{"华北", "华南", "", "O'Brien \"区\", {1}"};
  return *kRegions;
}

class ScopeSqlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pg::PoolOptions options;
    options.dsn = touchline::testing::TestPgDsn();
    options.search_path = schema_.name();
    options.size = 1;
    TL_ASSERT_OK_AND_ASSIGN(pool_, pg::Pool::Create(std::move(options)));
    TL_ASSERT_OK(pool_->Transact([this](pqxx::work& txn) {
      txn.exec(
          "CREATE TABLE customers (tenant_id text NOT NULL, customer_id uuid NOT NULL, "
          "owner_id text, region text, level smallint NOT NULL, PRIMARY KEY (tenant_id, "
          "customer_id))");
      txn.exec(
          "CREATE TABLE customer_shares (tenant_id text NOT NULL, customer_id uuid NOT NULL, "
          "grantee text NOT NULL, edit boolean NOT NULL, PRIMARY KEY (tenant_id, customer_id, "
          "grantee))");
      InsertGrid(txn);
      return absl::OkStatus();
    }));
  }

  // Every combination of owner, region, level and shares, in kTenant; the same attributes in
  // kOtherTenant; and a share in kOtherTenant's name for each kTenant customer, which must
  // never count.
  void InsertGrid(pqxx::work& txn) {
    const std::vector<std::vector<CustomerAttributes::Share>> share_sets = {
        {},
        {{"team:a", false}},
        {{"team:a", true}},
        {{"partner:p", false}},
        {{"partner:p", true}},
        {{"team:b", true}, {"team:a", false}},
    };
    for (const char* tenant : {kTenant, kOtherTenant}) {
      for (const char* owner : {"u-1", "u-2", "u-3", ""}) {
        for (const std::string& region : Regions()) {
          for (int level : {0, 1, 2, kVipLevel}) {
            for (const auto& shares : share_sets) {
              CustomerAttributes customer{.customer_id = ids::NewUuid(),
                                          .owner_id = owner,
                                          .region = region,
                                          .level = level,
                                          .shares = shares};
              // An empty owner or region is stored as NULL, as a customer without one is.
              txn.exec_params(
                  "INSERT INTO customers VALUES ($1, $2, NULLIF($3, ''), "
                  "NULLIF($4, ''), $5)",
                  tenant, customer.customer_id, customer.owner_id, customer.region, customer.level);
              for (const CustomerAttributes::Share& share : shares) {
                txn.exec_params("INSERT INTO customer_shares VALUES ($1, $2, $3, $4)", tenant,
                                customer.customer_id, share.grantee, share.edit);
              }
              if (std::string(tenant) == kTenant) {
                txn.exec_params(
                    "INSERT INTO customer_shares VALUES ($1, $2, $3, true) ON CONFLICT DO NOTHING",
                    kOtherTenant, customer.customer_id, "team:a");
                customers_.push_back(std::move(customer));
              }
            }
          }
        }
      }
    }
  }

  // The ids `from` (a query on kTenant = $1 ending in WHERE) selects under `condition` (params
  // from $2).
  std::set<std::string> Ids(const std::string& from, const SqlCondition& condition) {
    std::vector<std::string> params = {kTenant};
    params.insert(params.end(), condition.params.begin(), condition.params.end());
    std::set<std::string> ids;
    const absl::Status status = pool_->Query([&](pqxx::nontransaction& txn) {
      const pqxx::result rows = txn.exec_params(absl::StrCat(from, condition.sql),
                                                pqxx::prepare::make_dynamic_params(params));
      for (const pqxx::row& row : rows) ids.insert(row[0].as<std::string>());
      return absl::OkStatus();
    });
    EXPECT_THAT(status, touchline::testing::IsOk()) << condition.sql;
    return ids;
  }

  // The ids of kTenant's customers the condition selects.
  std::set<std::string> Select(const Scope& scope, Access access) {
    return Ids(
        "SELECT c.customer_id FROM customers c WHERE c.tenant_id = $1 AND ",
        scope.SqlVisibility(access, "c", absl::StrCat(schema_.name(), ".customer_shares"), 2));
  }

  // The ids of kTenant's customers `condition` selects over their attributes as aggregates keep
  // them (no customer_id, no shares; no owner or region is '').
  std::set<std::string> SelectByAttributes(const SqlCondition& condition) {
    return Ids(
        "SELECT c.id FROM (SELECT customer_id AS id, coalesce(owner_id, '') AS owner_id, "
        "coalesce(region, '') AS region, level FROM customers WHERE tenant_id = $1) c WHERE ",
        condition);
  }

  // Whom `scope` allows `access` to, with (or without) the customers' shares.
  std::set<std::string> Allowed(const Scope& scope, Access access, bool shares = true) const {
    std::set<std::string> ids;
    for (CustomerAttributes customer : customers_) {
      if (!shares) customer.shares.clear();
      if (scope.Allows(access, customer)) ids.insert(customer.customer_id);
    }
    return ids;
  }

  // SqlAttributeVisibility: its territory and its owners outside the territory (as the stage
  // analytics sum them) are the customers Allows admits by their attributes, each once.
  void ExpectAttributeVisibility(const Scope& scope, Access access) {
    const Scope::AttributeVisibility visibility = scope.SqlAttributeVisibility(access, "c", 2);
    const std::set<std::string> territory = SelectByAttributes(visibility.territory);
    SqlCondition outside = visibility.territory;
    outside.sql = absl::StrCat(visibility.owners.sql, " AND NOT ", visibility.territory.sql);
    outside.params.insert(outside.params.end(), visibility.owners.params.begin(),
                          visibility.owners.params.end());
    std::set<std::string> all = SelectByAttributes(outside);
    const size_t owners_only = all.size();
    all.insert(territory.begin(), territory.end());
    EXPECT_EQ(all.size(), owners_only + territory.size()) << "counted twice";
    EXPECT_EQ(all, Allowed(scope, access, /*shares=*/false));
  }

  touchline::testing::ScopedSchema schema_{"scope_sql"};
  std::unique_ptr<pg::Pool> pool_;
  std::vector<CustomerAttributes> customers_;
};

TEST_F(ScopeSqlTest, SelectsExactlyTheCustomersAllowsAdmits) {
  const std::vector<std::vector<std::string>> owner_sets = {{}, {"u-1"}, {"u-1", "u-2"}};
  const std::vector<std::vector<std::string>> region_sets = {{}, {"华北"}, {"华北", Regions()[3]}};
  const std::vector<std::vector<std::string>> grantee_sets = {
      {}, {"team:a"}, {"team:a", "partner:p"}};
  int scopes = 0;
  size_t selected = 0;
  for (bool all_customers : {false, true}) {
    for (const auto& owners : owner_sets) {
      for (const auto& regions : region_sets) {
        for (const auto& grantees : grantee_sets) {
          for (bool vip_visible : {false, true}) {
            for (bool can_write : {false, true}) {
              pv1::EffectiveScope proto;
              proto.set_tenant_id(kTenant);
              proto.set_user_id("u-1");
              proto.set_all_customers(all_customers);
              for (const std::string& owner : owners) proto.add_owner_ids(owner);
              for (const std::string& region : regions) proto.add_regions(region);
              for (const std::string& grantee : grantees) proto.add_grantees(grantee);
              proto.set_vip_visible(vip_visible);
              if (can_write) {
                proto.add_permissions(pv1::PERMISSION_CUSTOMERS_WRITE);
                proto.add_permissions(pv1::PERMISSION_TOUCHPOINTS_WRITE);
              }
              TL_ASSERT_OK_AND_ASSIGN(std::shared_ptr<const Scope> scope, Scope::Compile(proto));
              for (Access access : {Access::kRead, Access::kWrite, Access::kWriteTouchpoints}) {
                const std::set<std::string> allowed = Allowed(*scope, access);
                ASSERT_EQ(Select(*scope, access), allowed)
                    << static_cast<int>(access) << " with scope " << proto.ShortDebugString();
                ExpectAttributeVisibility(*scope, access);
                ASSERT_FALSE(HasFailure()) << static_cast<int>(access) << " by attributes, scope "
                                           << proto.ShortDebugString();
                selected += allowed.size();
              }
              ++scopes;
            }
          }
        }
      }
    }
  }
  EXPECT_EQ(scopes, 216);
  // Neither everything nor nothing: the grid discriminates.
  EXPECT_GT(selected, 216u * 20);
  EXPECT_LT(selected, 216u * 3 * customers_.size());
}

// VIP customers: those the rep owns, not those of its territory or team shares.
TEST_F(ScopeSqlTest, ARepSeesOwnedTerritoryAndTeamSharedCustomersOnly) {
  pv1::EffectiveScope proto;
  proto.set_tenant_id(kTenant);
  proto.set_user_id("u-2");
  proto.add_owner_ids("u-2");
  proto.add_regions("华南");
  proto.add_grantees("team:a");
  proto.add_permissions(pv1::PERMISSION_CUSTOMERS_WRITE);
  TL_ASSERT_OK_AND_ASSIGN(std::shared_ptr<const Scope> scope, Scope::Compile(proto));
  size_t expected_read = 0;
  size_t expected_write = 0;
  size_t owned_vip = 0;
  for (const CustomerAttributes& customer : customers_) {
    if (customer.level == kVipLevel) {
      owned_vip += customer.owner_id == "u-2" ? 1 : 0;
      continue;
    }
    bool team_read = false;
    bool team_edit = false;
    for (const auto& share : customer.shares) {
      if (share.grantee == "team:a") (share.edit ? team_edit : team_read) = true;
    }
    const bool own = customer.owner_id == "u-2" || customer.region == "华南";
    expected_read += (own || team_read || team_edit) ? 1 : 0;
    expected_write += (own || team_edit) ? 1 : 0;
  }
  EXPECT_GT(owned_vip, 0u);
  expected_read += owned_vip;
  expected_write += owned_vip;
  EXPECT_EQ(Select(*scope, Access::kRead).size(), expected_read);
  EXPECT_EQ(Select(*scope, Access::kWrite).size(), expected_write);
  EXPECT_GT(expected_read, expected_write);
}

}  // namespace
}  // namespace touchline::auth
