// Bootstrapping a tenant on real PostgreSQL (a fresh schema per test): the conventional roles
// and the administrator, once, however often it runs.
#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "common/auth/testing/test_keys.h"
#include "common/auth/token.h"
#include "common/pg/pool.h"
#include "common/status/macros.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "services/permissions/bootstrap.h"
#include "services/permissions/identity/pg_identity_store.h"
#include "services/permissions/org/pg_org_store.h"
#include "services/permissions/scope_compiler.h"
#include "services/permissions/testing/permissions_db.h"

namespace touchline::permissions {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr char kPassword[] = "correct horse battery";

class BootstrapTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pool_ = testing::MigratedPool(schema_);
    ASSERT_NE(pool_, nullptr);
    auto signer = auth::TokenSigner::Create(auth::testing::NewTestKeyPair().private_key_pem);
    ASSERT_TRUE(signer.ok()) << signer.status();
    IdentityOptions identity_options;
    identity_options.hash_cost = PasswordHashCost::Minimum();
    auto page_tokens = paging::PageTokens::Load(*pool_);
    ASSERT_TRUE(page_tokens.ok()) << page_tokens.status();
    identity_store_ = std::make_unique<PgIdentityStore>(pool_.get());
    identity_ = std::make_unique<IdentityManager>(identity_store_.get(), *std::move(signer),
                                                  *std::move(page_tokens), identity_options);
    org_store_ = std::make_unique<PgOrgStore>(pool_.get());
    org_ = std::make_unique<OrgManager>(org_store_.get());
  }

  // Rows of `table`, as a count.
  int64_t Count(const std::string& table) {
    int64_t count = -1;
    const absl::Status read = pool_->Query([&](pqxx::nontransaction& txn) {
      count = txn.exec1("SELECT count(*) FROM " + table)[0].as<int64_t>();
      return absl::OkStatus();
    });
    EXPECT_TRUE(read.ok()) << read;
    return count;
  }

  touchline::testing::ScopedSchema schema_{"permissions"};
  std::unique_ptr<pg::Pool> pool_;
  std::unique_ptr<PgIdentityStore> identity_store_;
  std::unique_ptr<IdentityManager> identity_;
  std::unique_ptr<PgOrgStore> org_store_;
  std::unique_ptr<OrgManager> org_;
};

TEST_F(BootstrapTest, CreatesTheConventionalRolesAndTheAdministratorOnce) {
  const absl::StatusOr<BootstrapResult> first =
      Bootstrap(pool_.get(), org_.get(), identity_.get(), "acme", "admin", kPassword);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_THAT(first->roles_created,
              ElementsAre("rep", "team_lead", "regional_manager", "admin", "partner"));
  EXPECT_TRUE(first->admin_created);
  const int64_t audit = Count("audit_events");
  const int64_t outbox = Count("outbox");
  EXPECT_EQ(audit, 6);  // five roles and the user

  const absl::StatusOr<BootstrapResult> second =
      Bootstrap(pool_.get(), org_.get(), identity_.get(), "acme", "ADMIN", kPassword);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_THAT(second->roles_created, IsEmpty());
  EXPECT_FALSE(second->admin_created);
  EXPECT_EQ(second->admin_user_id, first->admin_user_id);
  EXPECT_EQ(Count("audit_events"), audit);
  EXPECT_EQ(Count("outbox"), outbox);
  EXPECT_EQ(Count("roles"), 5);
  EXPECT_EQ(Count("users"), 1);

  v1::LoginRequest login;
  login.set_username("admin");
  login.set_password(kPassword);
  const absl::StatusOr<v1::LoginResponse> session =
      identity_->Login("acme", "test", "10.0.0.7", "r-1", login);
  ASSERT_TRUE(session.ok()) << session.status();
  EXPECT_EQ(session->user().role_id(), "admin");
}

TEST_F(BootstrapTest, RolesAreTheConventionalOnes) {
  ASSERT_TRUE(Bootstrap(pool_.get(), org_.get(), identity_.get(), "acme", "admin", kPassword).ok());
  std::vector<v1::Role> roles;
  ASSERT_TRUE(org_store_
                  ->Read([&](OrgReader& org) -> absl::Status {
                    TL_ASSIGN_OR_RETURN(roles, org.ListRoles("acme"));
                    return absl::OkStatus();
                  })
                  .ok());
  std::vector<std::string> text;
  for (v1::Role& role : roles) {
    role.clear_create_time();
    role.clear_update_time();
    role.clear_display_name();
    std::string line;
    google::protobuf::TextFormat::Printer printer;
    printer.SetSingleLineMode(true);
    printer.PrintToString(role, &line);
    text.push_back(line);
  }
  EXPECT_THAT(
      text,
      ElementsAre("role_id: \"admin\" rank: 40 data_scope: DATA_SCOPE_TENANT permissions: "
                  "PERMISSION_CUSTOMERS_WRITE permissions: PERMISSION_CUSTOMERS_MERGE "
                  "permissions: PERMISSION_TOUCHPOINTS_WRITE permissions: PERMISSION_ADMINISTER "
                  "permissions: PERMISSION_AUDIT_READ ",
                  "role_id: \"partner\" rank: 5 data_scope: DATA_SCOPE_SHARED permissions: "
                  "PERMISSION_TOUCHPOINTS_WRITE ",
                  "role_id: \"regional_manager\" rank: 30 data_scope: DATA_SCOPE_TERRITORY "
                  "permissions: PERMISSION_CUSTOMERS_WRITE permissions: "
                  "PERMISSION_TOUCHPOINTS_WRITE permissions: PERMISSION_CUSTOMERS_MERGE ",
                  "role_id: \"rep\" rank: 10 data_scope: DATA_SCOPE_OWNED permissions: "
                  "PERMISSION_CUSTOMERS_WRITE permissions: PERMISSION_TOUCHPOINTS_WRITE ",
                  "role_id: \"team_lead\" rank: 20 data_scope: DATA_SCOPE_OWNED permissions: "
                  "PERMISSION_CUSTOMERS_WRITE permissions: PERMISSION_TOUCHPOINTS_WRITE "
                  "permissions: PERMISSION_CUSTOMERS_MERGE "));
}

TEST_F(BootstrapTest, KeepsRolesAnAdministratorChanged) {
  ASSERT_TRUE(Bootstrap(pool_.get(), org_.get(), identity_.get(), "acme", "admin", kPassword).ok());
  ASSERT_TRUE(pool_
                  ->Transact([](pqxx::work& txn) {
                    txn.exec("UPDATE roles SET rank = 15 WHERE role_id = 'rep'");
                    txn.exec("DELETE FROM roles WHERE role_id = 'partner'");
                    return absl::OkStatus();
                  })
                  .ok());
  const absl::StatusOr<BootstrapResult> again =
      Bootstrap(pool_.get(), org_.get(), identity_.get(), "acme", "admin", kPassword);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_THAT(again->roles_created, ElementsAre("partner"));
  std::optional<v1::Role> rep;
  ASSERT_TRUE(org_store_
                  ->Read([&](OrgReader& org) -> absl::Status {
                    TL_ASSIGN_OR_RETURN(rep, org.FindRole("acme", "rep", OrgLock::kNone));
                    return absl::OkStatus();
                  })
                  .ok());
  ASSERT_TRUE(rep.has_value());
  EXPECT_EQ(rep->rank(), 15);
}

TEST_F(BootstrapTest, RefusesABadTenantOrPasswordBeforeWritingAnything) {
  EXPECT_EQ(Bootstrap(pool_.get(), org_.get(), identity_.get(), "Acme Corp", "admin", kPassword)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      Bootstrap(pool_.get(), org_.get(), identity_.get(), "acme", "admin", "short").status().code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Count("roles"), 0);
  EXPECT_EQ(Count("users"), 0);
  EXPECT_EQ(Count("outbox"), 0);
}

TEST_F(BootstrapTest, GatewayServiceKeySeesEveryCustomerAndFieldAndOnlyReads) {
  const absl::StatusOr<std::string> first =
      CreateGatewayServiceKey(pool_.get(), org_.get(), identity_.get(), "acme");
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_THAT(*first, ::testing::StartsWith("tlk_acme_"));
  const absl::StatusOr<Principal> principal = identity_->ResolveApiKey(*first);
  ASSERT_TRUE(principal.ok()) << principal.status();
  const absl::StatusOr<std::shared_ptr<const auth::Scope>> scope =
      ScopeCompiler(pool_.get()).Compile(*principal);
  ASSERT_TRUE(scope.ok()) << scope.status();
  const v1::EffectiveScope& compiled = (*scope)->proto();
  EXPECT_EQ(compiled.role_id(), "gateway");
  EXPECT_EQ(compiled.principal_kind(), v1::PRINCIPAL_KIND_API_KEY);
  EXPECT_TRUE(compiled.all_customers());
  EXPECT_TRUE(compiled.vip_visible());
  EXPECT_THAT(compiled.permissions(), IsEmpty());
  EXPECT_THAT(compiled.field_rules(), IsEmpty());

  // A second key reuses the role and the user.
  const absl::StatusOr<std::string> second =
      CreateGatewayServiceKey(pool_.get(), org_.get(), identity_.get(), "acme");
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_NE(*second, *first);
  EXPECT_EQ(Count("roles"), 1);
  EXPECT_EQ(Count("users"), 1);
  EXPECT_EQ(Count("api_keys"), 2);
}

}  // namespace
}  // namespace touchline::permissions
