// IdentityManager on a real PostgreSQL schema: users and their validation, reporting lines,
// login with throttling and TOTP, refresh token rotation, sessions, delegated sessions, API
// keys, and what each change leaves in the audit log and the outbox.
#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/barrier.h"
#include "absl/synchronization/mutex.h"
#include "common/auth/testing/test_keys.h"
#include "common/events/outbox.h"
#include "common/idempotency/idempotency.h"
#include "common/ids/ids.h"
#include "common/pg/migrator.h"
#include "common/status/errors.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/permissions/identity/identity_manager.h"
#include "services/permissions/identity/login_throttle.h"
#include "services/permissions/identity/password.h"
#include "services/permissions/identity/pg_identity_store.h"
#include "services/permissions/identity/testing/callers.h"
#include "services/permissions/identity/totp.h"
#include "services/permissions/migrations.h"
#include "tests/testing/pg_test_env.h"
#include "tests/testing/status_matchers.h"
#include "touchline/events/v1/event.pb.h"
#include "touchline/events/v1/permission_events.pb.h"

namespace touchline::permissions {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::Pair;
using ::testing::SizeIs;
using ::testing::StartsWith;
using ::testing::UnorderedElementsAre;
using ::touchline::testing::StatusIs;

constexpr char kTenant[] = "acme";
constexpr char kOtherTenant[] = "globex";
constexpr char kPassword[] = "correct horse battery";
constexpr char kAdminId[] = "00000000-0000-7000-8000-000000000001";

// One RSA key pair for the whole suite (generating one is slow).
const auth::testing::TestKeyPair& TestKeys() {
  static const auth::testing::TestKeyPair* const keys =
      new auth::testing::TestKeyPair(auth::testing::NewTestKeyPair());
  return *keys;
}

// One audit row, as the tests compare them.
struct AuditRow {
  std::string action;
  std::string actor_id;
  std::string resource_type;
  std::string resource_id;
  std::string detail;
};

class IdentityManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string dsn = touchline::testing::TestPgDsn();
    ASSERT_FALSE(dsn.empty());
    TL_ASSERT_OK(pg::ApplyMigrations(dsn, schema_.name(), "idempotency",
                                     idempotency::IdempotencyMigrations()));
    TL_ASSERT_OK(
        pg::ApplyMigrations(dsn, schema_.name(), "permissions", pg::permissions_migrations()));
    TL_ASSERT_OK(pg::ApplyMigrations(dsn, schema_.name(), "outbox", events::OutboxMigrations()));
    TL_ASSERT_OK(
        pg::ApplyMigrations(dsn, schema_.name(), "page_tokens", paging::PageTokenMigrations()));
    TL_ASSERT_OK_AND_ASSIGN(pool_, pg::Pool::Create({.dsn = dsn,
                                                     .search_path = schema_.name(),
                                                     .size = 4,
                                                     .acquire_timeout = absl::Seconds(10),
                                                     .statement_timeout = absl::Seconds(10),
                                                     .prepared = {},
                                                     .settings = {}}));
    for (const char* tenant : {kTenant, kOtherTenant}) {
      Exec(absl::StrCat(
          "INSERT INTO roles (tenant_id, role_id, display_name, rank, data_scope, permissions, "
          "create_time, update_time) VALUES "
          "('",
          tenant,
          "', 'rep', '销售代表', 10, 1, '{1,3}', now(), now()), "
          "('",
          tenant,
          "', 'admin', '管理员', 40, 3, '{1,2,3,4,5}', now(), now()), "
          "('",
          tenant, "', 'partner', '渠道伙伴', 5, 4, '{3}', now(), now())"));
      Exec(
          absl::StrCat("INSERT INTO partner_orgs (tenant_id, partner_org_id, display_name, "
                       "create_time) VALUES ('",
                       tenant, "', 'channel-one', '渠道一', now())"));
    }
    store_ = std::make_unique<PgIdentityStore>(pool_.get());
    manager_ = NewManager(PasswordHashCost::Minimum());
  }

  std::unique_ptr<IdentityManager> NewManager(PasswordHashCost cost,
                                              std::vector<std::string> delegating_services = {
                                                  "automation"}) {
    auto signer = auth::TokenSigner::Create(TestKeys().private_key_pem);
    EXPECT_TRUE(signer.ok()) << signer.status();
    IdentityOptions options;
    options.hash_cost = cost;
    options.delegating_services = std::move(delegating_services);
    options.clock = [this] {
      absl::MutexLock lock(&mu_);
      return now_;
    };
    options.on_scopes_invalidated = [this](const std::string& tenant,
                                           const std::vector<std::string>& sessions) {
      absl::MutexLock lock(&mu_);
      hook_calls_.emplace_back(tenant, sessions);
    };
    auto page_tokens = paging::PageTokens::Load(*pool_);
    EXPECT_TRUE(page_tokens.ok()) << page_tokens.status();
    return std::make_unique<IdentityManager>(store_.get(), *std::move(signer),
                                             *std::move(page_tokens), std::move(options));
  }

  void Advance(absl::Duration d) {
    absl::MutexLock lock(&mu_);
    now_ += d;
  }
  absl::Time Now() {
    absl::MutexLock lock(&mu_);
    return now_;
  }

  void Exec(const std::string& sql) {
    TL_ASSERT_OK(pool_->Transact([&](pqxx::work& txn) {
      txn.exec(sql);
      return absl::OkStatus();
    }));
  }

  std::string QueryValue(const std::string& sql) {
    std::string value;
    EXPECT_THAT(pool_->Query([&](pqxx::nontransaction& txn) {
      const pqxx::result rows = txn.exec(sql);
      if (!rows.empty() && !rows[0][0].is_null()) value = rows[0][0].as<std::string>();
      return absl::OkStatus();
    }),
                touchline::testing::IsOk());
    return value;
  }

  auth::RequestContext Admin(std::string tenant = kTenant) {
    return testing::AdminCaller(tenant, kAdminId);
  }
  auth::RequestContext As(const std::string& user_id) {
    return testing::UserCaller(kTenant, user_id);
  }

  absl::StatusOr<v1::User> Create(const std::string& username, const std::string& role = "rep",
                                  const std::string& manager_id = "",
                                  const std::string& partner_org_id = "",
                                  std::string tenant = kTenant) {
    v1::CreateUserRequest request;
    request.mutable_user()->set_username(username);
    request.mutable_user()->set_display_name(absl::StrCat("用户 ", username));
    request.mutable_user()->set_email(absl::StrCat(username, "@example.com"));
    request.mutable_user()->set_role_id(role);
    request.mutable_user()->set_manager_id(manager_id);
    request.mutable_user()->set_partner_org_id(partner_org_id);
    request.set_password(kPassword);
    return manager_->CreateUser(Admin(std::move(tenant)), request);
  }

  absl::StatusOr<v1::User> SetManager(const std::string& user_id, const std::string& manager_id) {
    v1::UpdateUserRequest request;
    request.mutable_user()->set_user_id(user_id);
    request.mutable_user()->set_manager_id(manager_id);
    request.mutable_update_mask()->add_paths("manager_id");
    return manager_->UpdateUser(Admin(), request);
  }

  absl::StatusOr<v1::LoginResponse> Login(const std::string& username,
                                          const std::string& password = kPassword,
                                          const std::string& totp_code = "",
                                          std::string_view tenant = kTenant,
                                          std::string_view address = "10.0.0.7") {
    v1::LoginRequest request;
    request.set_username(username);
    request.set_password(password);
    request.set_totp_code(totp_code);
    return manager_->Login(tenant, "ipv4:10.0.0.7 curl/8", address, "req-login", request);
  }

  // A login of `username` from `address` with the right password or a wrong one.
  absl::StatusOr<v1::LoginResponse> LoginFrom(std::string_view address, const std::string& username,
                                              bool right) {
    return Login(username, right ? kPassword : "wrong password!", "", kTenant, address);
  }

  absl::StatusOr<v1::LoginResponse> Refresh(const std::string& refresh_token) {
    v1::RefreshTokenRequest request;
    request.set_refresh_token(refresh_token);
    return manager_->Refresh(kTenant, "ipv4:10.0.0.7 curl/8", "req-refresh", request);
  }

  // IssueDelegatedToken in kTenant, as DelegationService calls it for `service`.
  absl::StatusOr<v1::IssueDelegatedTokenResponse> Delegate(
      const std::string& user_id, const std::string& reason,
      const std::string& service = "automation") {
    return manager_->IssueDelegatedToken(kTenant, user_id, service, reason, "req-delegate");
  }

  absl::StatusOr<v1::CreateApiKeyResponse> CreateKey(const std::string& user_id,
                                                     std::vector<v1::Permission> permissions,
                                                     std::optional<absl::Time> expire = {}) {
    v1::CreateApiKeyRequest request;
    request.mutable_api_key()->set_display_name("CRM 同步");
    request.mutable_api_key()->set_user_id(user_id);
    for (const v1::Permission p : permissions) request.mutable_api_key()->add_permissions(p);
    if (expire) {
      request.mutable_api_key()->mutable_expire_time()->set_seconds(absl::ToUnixSeconds(*expire));
    }
    return manager_->CreateApiKey(Admin(), request);
  }

  // The tenant's audit entries, oldest first.
  std::vector<AuditRow> AuditRows(const std::string& tenant = kTenant) {
    std::vector<AuditRow> rows;
    EXPECT_THAT(pool_->Query([&](pqxx::nontransaction& txn) {
      for (const pqxx::row& row : txn.exec_params(
               "SELECT action, actor_id, resource_type, resource_id, detail FROM audit_events "
               "WHERE tenant_id = $1 ORDER BY sequence",
               tenant)) {
        rows.push_back({row[0].as<std::string>(), row[1].as<std::string>(),
                        row[2].as<std::string>(), row[3].as<std::string>(),
                        row[4].as<std::string>()});
      }
      return absl::OkStatus();
    }),
                touchline::testing::IsOk());
    return rows;
  }

  std::vector<std::string> AuditActions(const std::string& tenant = kTenant) {
    std::vector<std::string> actions;
    for (const AuditRow& row : AuditRows(tenant)) actions.push_back(row.action);
    return actions;
  }

  // The ScopesInvalidated events in the outbox, oldest first: (aggregate type, session ids).
  std::vector<std::pair<std::string, std::vector<std::string>>> Invalidations() {
    std::vector<std::pair<std::string, std::vector<std::string>>> out;
    EXPECT_THAT(pool_->Query([&](pqxx::nontransaction& txn) {
      for (const pqxx::row& row : txn.exec("SELECT encode(envelope, 'base64') FROM outbox "
                                           "WHERE topic = 'permissions' ORDER BY id")) {
        std::string bytes;
        absl::Base64Unescape(row[0].as<std::string>(), &bytes);
        events::v1::EventEnvelope envelope;
        EXPECT_TRUE(envelope.ParseFromString(bytes));
        events::v1::ScopesInvalidated payload;
        EXPECT_TRUE(envelope.payload().UnpackTo(&payload));
        out.emplace_back(
            envelope.aggregate_type(),
            std::vector<std::string>(payload.session_ids().begin(), payload.session_ids().end()));
      }
      return absl::OkStatus();
    }),
                touchline::testing::IsOk());
    return out;
  }

  void ClearOutbox() { Exec("DELETE FROM outbox"); }

  // The user's confirmed or pending TOTP secret, as stored.
  std::string TotpSecret(const std::string& user_id, const std::string& column) {
    return absl::HexStringToBytes(QueryValue(absl::StrCat(
        "SELECT encode(", column, ", 'hex') FROM users WHERE user_id = '", user_id, "'")));
  }

  // Enrols and confirms TOTP for `user_id` at now; returns the secret.
  std::string EnableTotp(const std::string& user_id) {
    auto enrolled = manager_->EnrollTotp(As(user_id));
    EXPECT_TRUE(enrolled.ok()) << enrolled.status();
    const std::string secret = TotpSecret(user_id, "totp_pending_secret");
    EXPECT_EQ(Base32Encode(secret), enrolled->secret_base32());
    EXPECT_TRUE(manager_->ConfirmTotp(As(user_id), TotpCode(secret, TotpStepAt(Now()))).ok());
    return secret;
  }

  touchline::testing::ScopedSchema schema_{"identity"};
  std::unique_ptr<pg::Pool> pool_;
  std::unique_ptr<PgIdentityStore> store_;
  std::unique_ptr<IdentityManager> manager_;
  absl::Mutex mu_;
  // A step boundary plus 1 s, so TOTP tests know where in the step they are.
  absl::Time now_ ABSL_GUARDED_BY(mu_) = absl::FromUnixSeconds(1700000010);
  std::vector<std::pair<std::string, std::vector<std::string>>> hook_calls_ ABSL_GUARDED_BY(mu_);
};

// --- users ---

TEST_F(IdentityManagerTest, CreateUserStoresTheUserAndAuditsIt) {
  TL_ASSERT_OK_AND_ASSIGN(const v1::User boss, Create("Boss"));
  TL_ASSERT_OK_AND_ASSIGN(const v1::User wang, Create("Wang.Wei", "rep", boss.user_id()));
  EXPECT_EQ(wang.username(), "Wang.Wei");
  EXPECT_EQ(wang.display_name(), "用户 Wang.Wei");
  EXPECT_EQ(wang.email(), "Wang.Wei@example.com");
  EXPECT_EQ(wang.role_id(), "rep");
  EXPECT_EQ(wang.manager_id(), boss.user_id());
  EXPECT_EQ(wang.partner_org_id(), "");
  EXPECT_EQ(wang.state(), v1::USER_STATE_ACTIVE);
  EXPECT_FALSE(wang.totp_enabled());
  EXPECT_EQ(wang.create_time().seconds(), absl::ToUnixSeconds(Now()));
  EXPECT_FALSE(wang.has_locked_until());

  TL_ASSERT_OK_AND_ASSIGN(const v1::User got, manager_->GetUser(Admin(), wang.user_id()));
  EXPECT_EQ(got.SerializeAsString(), wang.SerializeAsString());
  // Only an argon2id hash is stored.
  EXPECT_THAT(QueryValue(absl::StrCat("SELECT password_hash FROM users WHERE user_id = '",
                                      wang.user_id(), "'")),
              StartsWith("$argon2id$"));

  const std::vector<AuditRow> audit = AuditRows();
  ASSERT_THAT(audit, SizeIs(2));
  EXPECT_EQ(audit[1].action, "user.created");
  EXPECT_EQ(audit[1].actor_id, kAdminId);
  EXPECT_EQ(audit[1].resource_type, "user");
  EXPECT_EQ(audit[1].resource_id, wang.user_id());
  EXPECT_EQ(audit[1].detail, "username \"Wang.Wei\", role rep");
  // Only the user with a manager changes existing scopes (the managers'): the whole tenant.
  EXPECT_THAT(Invalidations(), ElementsAre(Pair("user", IsEmpty())));
}

TEST_F(IdentityManagerTest, UsernamesAreUniqueIgnoringCase) {
  TL_ASSERT_OK(Create("Wang"));
  EXPECT_THAT(Create("wANG"),
              StatusIs(absl::StatusCode::kAlreadyExists, "username 'wANG' is taken"));
  // Another tenant has its own usernames.
  TL_EXPECT_OK(Create("wang", "rep", "", "", kOtherTenant));
}

TEST_F(IdentityManagerTest, CreateUserNamesEveryBadField) {
  v1::CreateUserRequest request;
  request.mutable_user()->set_username("has space");
  request.mutable_user()->set_display_name("   ");
  request.mutable_user()->set_email("not-an-email");
  request.set_password("short");
  request.set_request_id(std::string(129, 'r'));
  const absl::Status status = manager_->CreateUser(Admin(), request).status();
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(
      status::FieldViolationsOf(status),
      ElementsAre(Pair("user.username", "must not contain white space or control characters"),
                  Pair("user.display_name", "is required"),
                  Pair("user.email", "must be a valid email address"),
                  Pair("user.role_id", "is required"),
                  Pair("password", "must be 12 to 256 characters long, not 5"),
                  Pair("request_id", "must be at most 128 characters")));
  EXPECT_THAT(AuditRows(), IsEmpty());
}

TEST_F(IdentityManagerTest, NulCharactersAreInvalidArgumentAndALoginLikeAnyOther) {
  const std::string nul("a\0b", 3);
  v1::CreateUserRequest request;
  request.mutable_user()->set_username("wang");
  request.mutable_user()->set_display_name(nul);
  request.mutable_user()->set_role_id(nul);
  request.mutable_user()->set_partner_org_id(nul);
  request.set_password(std::string("password-\0-0001", 15));
  const absl::Status status = manager_->CreateUser(Admin(), request).status();
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(status::FieldViolationsOf(status),
              ElementsAre(Pair("user.display_name", "must not contain NUL characters"),
                          Pair("user.role_id", "must not contain NUL characters"),
                          Pair("user.partner_org_id", "must not contain NUL characters"),
                          Pair("password", "must not contain NUL characters")));
  EXPECT_THAT(Login(nul), StatusIs(absl::StatusCode::kUnauthenticated, "invalid credentials"));
  v1::ListUsersRequest list;
  list.set_partner_org_id(nul);
  EXPECT_THAT(status::FieldViolationsOf(manager_->ListUsers(Admin(), list).status()),
              ElementsAre(Pair("partner_org_id", "must not contain NUL characters")));
}

TEST_F(IdentityManagerTest, CreateUserChecksRoleManagerAndPartner) {
  TL_ASSERT_OK_AND_ASSIGN(const v1::User boss, Create("boss"));
  EXPECT_THAT(status::FieldViolationsOf(Create("a", "nope").status()),
              ElementsAre(Pair("user.role_id", "no role 'nope'")));
  EXPECT_THAT(status::FieldViolationsOf(Create("b", "rep", "", "channel-one").status()),
              ElementsAre(Pair("user.role_id",
                               "role 'rep' is not a partner role: a partner user needs a role "
                               "of DATA_SCOPE_SHARED")));
  EXPECT_THAT(status::FieldViolationsOf(Create("c", "partner").status()),
              ElementsAre(Pair("user.role_id",
                               "role 'partner' is a partner role (DATA_SCOPE_SHARED): an "
                               "employee needs another role")));
  EXPECT_THAT(status::FieldViolationsOf(Create("d", "partner", "", "nobody").status()),
              ElementsAre(Pair("user.partner_org_id", "no partner organisation 'nobody'")));
  const std::string unknown = "00000000-0000-7000-8000-00000000abcd";
  EXPECT_THAT(status::FieldViolationsOf(Create("e", "rep", unknown).status()),
              ElementsAre(Pair("user.manager_id", absl::StrCat("no user '", unknown, "'"))));
  EXPECT_THAT(
      status::FieldViolationsOf(Create("f", "partner", boss.user_id(), "channel-one").status()),
      ElementsAre(Pair("user.manager_id", "partner users have no manager")));
  TL_ASSERT_OK_AND_ASSIGN(const v1::User partner, Create("p", "partner", "", "channel-one"));
  EXPECT_EQ(partner.partner_org_id(), "channel-one");
  EXPECT_THAT(status::FieldViolationsOf(Create("g", "rep", partner.user_id()).status()),
              ElementsAre(Pair("user.manager_id",
                               absl::StrCat("user '", partner.user_id(), "' is a partner user"))));
  // A role of another tenant does not count.
  Exec(
      "INSERT INTO roles (tenant_id, role_id, display_name, rank, data_scope, create_time, "
      "update_time) VALUES ('globex', 'globex-only', 'x', 10, 1, now(), now())");
  EXPECT_THAT(status::FieldViolationsOf(Create("h", "globex-only").status()),
              ElementsAre(Pair("user.role_id", "no role 'globex-only'")));
  EXPECT_EQ(QueryValue("SELECT count(*) FROM users"), "2");
}

TEST_F(IdentityManagerTest, CreateUserIsIdempotentByRequestId) {
  v1::CreateUserRequest request;
  request.mutable_user()->set_username("li");
  request.mutable_user()->set_display_name("李雷");
  request.mutable_user()->set_role_id("rep");
  request.set_password(kPassword);
  request.set_request_id("create-li-1");
  TL_ASSERT_OK_AND_ASSIGN(const v1::User first, manager_->CreateUser(Admin(), request));
  TL_ASSERT_OK_AND_ASSIGN(const v1::User again, manager_->CreateUser(Admin(), request));
  EXPECT_EQ(again.user_id(), first.user_id());

  request.mutable_user()->set_display_name("韩梅梅");
  EXPECT_THAT(manager_->CreateUser(Admin(), request),
              StatusIs(absl::StatusCode::kAlreadyExists,
                       "request_id 'create-li-1' was used for another request"));
  EXPECT_EQ(QueryValue("SELECT count(*) FROM users"), "1");
  EXPECT_THAT(AuditActions(), ElementsAre("user.created"));
  // The password is not part of the stored fingerprint.
  EXPECT_EQ(QueryValue("SELECT count(*) FROM idempotency_keys WHERE fingerprint LIKE '%horse%'"),
            "0");
}

// Request ids recorded in the schema's own requests table before the shared idempotency table
// existed move there (0006), so a retry across the upgrade still replays.
TEST(IdentityMigrationsTest, RequestIdsMoveToTheSharedIdempotencyTable) {
  touchline::testing::ScopedSchema schema("permissions_migrate");
  const std::string dsn = touchline::testing::TestPgDsn();
  const std::vector<pg::Migration>& all = pg::permissions_migrations();
  ASSERT_EQ(all[5].name, "0006_idempotency_keys.sql");
  TL_ASSERT_OK(pg::ApplyMigrations(dsn, schema.name(), "permissions",
                                   std::vector<pg::Migration>(all.begin(), all.begin() + 5)));
  TL_ASSERT_OK_AND_ASSIGN(auto pool, pg::Pool::Create({.dsn = dsn,
                                                       .search_path = schema.name(),
                                                       .size = 1,
                                                       .acquire_timeout = absl::Seconds(10),
                                                       .statement_timeout = absl::Seconds(10),
                                                       .prepared = {},
                                                       .settings = {}}));
  TL_ASSERT_OK(pool->Transact([](pqxx::work& txn) {
    txn.exec(
        "INSERT INTO requests (tenant_id, request_id, method, fingerprint, resource_id) "
        "VALUES ('acme', 'create-li-1', 'CreateUser', 'f1', 'u-li')");
    return absl::OkStatus();
  }));
  TL_ASSERT_OK(
      pg::ApplyMigrations(dsn, schema.name(), "idempotency", idempotency::IdempotencyMigrations()));
  TL_ASSERT_OK(pg::ApplyMigrations(dsn, schema.name(), "permissions", all));
  std::string moved;
  TL_ASSERT_OK(pool->Query([&](pqxx::nontransaction& txn) {
    moved = txn.exec1(
                   "SELECT tenant_id || ' ' || request_id || ' ' || method || ' ' || fingerprint "
                   "|| ' ' || result FROM idempotency_keys")[0]
                .as<std::string>();
    EXPECT_TRUE(txn.exec("SELECT to_regclass('requests')")[0][0].is_null());
    return absl::OkStatus();
  }));
  EXPECT_EQ(moved, "acme create-li-1 CreateUser f1 u-li");
}

TEST_F(IdentityManagerTest, GetAndListUsers) {
  EXPECT_THAT(manager_->GetUser(Admin(), "00000000-0000-7000-8000-00000000abcd"),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(manager_->GetUser(Admin(), "not-a-uuid"), StatusIs(absl::StatusCode::kNotFound));
  for (const char* name : {"carol", "Alice", "bob", "dave"}) TL_ASSERT_OK(Create(name));
  TL_ASSERT_OK(Create("partner1", "partner", "", "channel-one"));
  TL_ASSERT_OK(Create("zed", "rep", "", "", kOtherTenant));

  v1::ListUsersRequest request;
  request.set_page_size(2);
  std::vector<std::string> names;
  std::string token;
  int pages = 0;
  do {
    request.set_page_token(token);
    TL_ASSERT_OK_AND_ASSIGN(const v1::ListUsersResponse page,
                            manager_->ListUsers(Admin(), request));
    for (const v1::User& u : page.users()) names.push_back(u.username());
    token = page.next_page_token();
    ++pages;
  } while (!token.empty());
  EXPECT_THAT(names, ElementsAre("Alice", "bob", "carol", "dave", "partner1"));
  EXPECT_EQ(pages, 3);

  v1::ListUsersRequest partners;
  partners.set_partner_org_id("channel-one");
  TL_ASSERT_OK_AND_ASSIGN(const v1::ListUsersResponse only, manager_->ListUsers(Admin(), partners));
  ASSERT_THAT(only.users(), SizeIs(1));
  EXPECT_EQ(only.users(0).username(), "partner1");

  request.set_page_size(1001);
  EXPECT_THAT(status::FieldViolationsOf(manager_->ListUsers(Admin(), request).status()),
              ElementsAre(Pair("page_size", "must be 0 to 1000")));
  // A token of one filter is refused with another.
  request.set_page_size(1);
  request.set_page_token("");
  TL_ASSERT_OK_AND_ASSIGN(const v1::ListUsersResponse first, manager_->ListUsers(Admin(), request));
  partners.set_page_token(first.next_page_token());
  EXPECT_THAT(manager_->ListUsers(Admin(), partners), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(IdentityManagerTest, ListUsersFindsAUsernameExactlyAndAnEmailWhateverItsCase) {
  TL_ASSERT_OK_AND_ASSIGN(const v1::User alice, Create("Alice"));
  TL_ASSERT_OK_AND_ASSIGN(const v1::User alice2, Create("alice2"));
  TL_ASSERT_OK(Create("bob"));
  TL_ASSERT_OK(Create("partner1", "partner", "", "channel-one"));
  TL_ASSERT_OK(Create("Alice", "rep", "", "", kOtherTenant));
  const auto usernames = [&](const v1::ListUsersRequest& request) {
    std::vector<std::string> found;
    const absl::StatusOr<v1::ListUsersResponse> listed = manager_->ListUsers(Admin(), request);
    EXPECT_TRUE(listed.ok()) << listed.status();
    if (listed.ok()) {
      for (const v1::User& u : listed->users()) found.push_back(u.username());
    }
    return found;
  };
  v1::ListUsersRequest by_username;
  by_username.set_username("Alice");
  EXPECT_THAT(usernames(by_username), ElementsAre("Alice"));
  v1::ListUsersRequest by_email;
  by_email.set_email("BOB@Example.COM");
  EXPECT_THAT(usernames(by_email), ElementsAre("bob"));
  // A username in another case, a prefix, part of an address: nothing.
  const std::vector<std::pair<std::string, std::string>> misses = {
      {"alice", ""},       {"Ali", ""},         {"Alice ", ""},
      {"", "example.com"}, {"", "bob@example"}, {"", "b%@example.com"}};
  for (const auto& [username, email] : misses) {
    v1::ListUsersRequest miss;
    miss.set_username(username);
    miss.set_email(email);
    EXPECT_THAT(usernames(miss), IsEmpty()) << username << email;
  }
  // Two users sharing an address: both, one page each, the token bound to the filter.
  v1::UpdateUserRequest share;
  share.mutable_user()->set_user_id(alice2.user_id());
  share.mutable_user()->set_email(alice.email());
  share.mutable_update_mask()->add_paths("email");
  TL_ASSERT_OK(manager_->UpdateUser(Admin(), share));
  by_email.set_email("ALICE@example.com");
  by_email.set_page_size(1);
  TL_ASSERT_OK_AND_ASSIGN(const v1::ListUsersResponse first,
                          manager_->ListUsers(Admin(), by_email));
  ASSERT_THAT(first.users(), SizeIs(1));
  EXPECT_EQ(first.users(0).username(), "Alice");
  by_email.set_page_token(first.next_page_token());
  EXPECT_THAT(usernames(by_email), ElementsAre("alice2"));
  by_email.set_email("bob@example.com");
  EXPECT_THAT(manager_->ListUsers(Admin(), by_email), StatusIs(absl::StatusCode::kInvalidArgument));

  // Filters combine.
  v1::ListUsersRequest both;
  both.set_username("partner1");
  both.set_email("partner1@example.com");
  both.set_partner_org_id("channel-one");
  EXPECT_THAT(usernames(both), ElementsAre("partner1"));
  both.set_username("bob");
  EXPECT_THAT(usernames(both), IsEmpty());

  const std::string nul("a\0b", 3);
  v1::ListUsersRequest bad;
  bad.set_username(nul);
  bad.set_email(nul);
  EXPECT_THAT(status::FieldViolationsOf(manager_->ListUsers(Admin(), bad).status()),
              ElementsAre(Pair("username", "must not contain NUL characters"),
                          Pair("email", "must not contain NUL characters")));
}

TEST_F(IdentityManagerTest, UpdateUserChangesTheNamedFieldsOnly) {
  TL_ASSERT_OK_AND_ASSIGN(const v1::User user, Create("wang"));
  TL_ASSERT_OK_AND_ASSIGN(const v1::LoginResponse login, Login("wang"));
  ClearOutbox();
  Advance(absl::Seconds(5));
  v1::UpdateUserRequest request;
  request.mutable_user()->set_user_id(user.user_id());
  request.mutable_user()->set_display_name("  王伟  ");
  request.mutable_user()->set_email("ignored@example.com");
  request.mutable_user()->set_role_id("admin");
  request.mutable_update_mask()->add_paths("display_name");
  request.mutable_update_mask()->add_paths("role_id");
  TL_ASSERT_OK_AND_ASSIGN(const v1::User updated, manager_->UpdateUser(Admin(), request));
  EXPECT_EQ(updated.display_name(), "王伟");
  EXPECT_EQ(updated.email(), "wang@example.com");
  EXPECT_EQ(updated.role_id(), "admin");
  EXPECT_EQ(updated.update_time().seconds(), absl::ToUnixSeconds(Now()));
  EXPECT_EQ(updated.create_time().seconds(), user.create_time().seconds());
  // A role change affects only the user's own scopes: those of its session.
  EXPECT_THAT(Invalidations(), ElementsAre(Pair("user", ElementsAre(login.session_id()))));
  {
    absl::MutexLock lock(&mu_);
    EXPECT_THAT(hook_calls_.back(), Pair(kTenant, ElementsAre(login.session_id())));
  }
  const std::vector<AuditRow> audit = AuditRows();
  EXPECT_EQ(audit.back().action, "user.updated");
  EXPECT_EQ(QueryValue(absl::StrCat("SELECT array_to_string(fields, ',') FROM audit_events "
                                    "WHERE action = 'user.updated'")),
            "display_name,role_id");

  request.mutable_update_mask()->add_paths("username");
  request.mutable_update_mask()->add_paths("partner_org_id");
  EXPECT_THAT(status::FieldViolationsOf(manager_->UpdateUser(Admin(), request).status()),
              ElementsAre(Pair("update_mask.paths",
                               "cannot update 'username'; updatable: display_name, email, "
                               "role_id, manager_id, password"),
                          Pair("update_mask.paths",
                               "cannot update 'partner_org_id'; updatable: display_name, email, "
                               "role_id, manager_id, password")));
  request.clear_update_mask();
  request.mutable_update_mask()->add_paths("role_id");
  request.mutable_user()->set_role_id("partner");
  EXPECT_THAT(status::FieldViolationsOf(manager_->UpdateUser(Admin(), request).status()),
              ElementsAre(Pair("user.role_id",
                               "role 'partner' is a partner role (DATA_SCOPE_SHARED): an "
                               "employee needs another role")));
  request.mutable_user()->set_user_id("00000000-0000-7000-8000-00000000abcd");
  request.mutable_user()->set_role_id("rep");
  EXPECT_THAT(manager_->UpdateUser(Admin(), request), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(IdentityManagerTest, ManagerChangesRefuseCycles) {
  TL_ASSERT_OK_AND_ASSIGN(const v1::User a, Create("a"));
  TL_ASSERT_OK_AND_ASSIGN(const v1::User b, Create("b", "rep", a.user_id()));
  TL_ASSERT_OK_AND_ASSIGN(const v1::User c, Create("c", "rep", b.user_id()));
  ClearOutbox();

  EXPECT_THAT(
      status::FieldViolationsOf(SetManager(a.user_id(), c.user_id()).status()),
      ElementsAre(Pair("user.manager_id",
                       absl::StrCat("would make a reporting cycle: ", a.user_id(), " -> ",
                                    c.user_id(), " -> ", b.user_id(), " -> ", a.user_id()))));
  EXPECT_THAT(status::FieldViolationsOf(SetManager(a.user_id(), b.user_id()).status()),
              ElementsAre(Pair("user.manager_id",
                               absl::StrCat("would make a reporting cycle: ", a.user_id(), " -> ",
                                            b.user_id(), " -> ", a.user_id()))));
  EXPECT_THAT(status::FieldViolationsOf(SetManager(a.user_id(), a.user_id()).status()),
              ElementsAre(Pair("user.manager_id", "a user cannot be their own manager")));
  EXPECT_THAT(Invalidations(), IsEmpty());

  // Moving c to the top, then a under c, is fine.
  TL_ASSERT_OK_AND_ASSIGN(const v1::User top, SetManager(c.user_id(), ""));
  EXPECT_EQ(top.manager_id(), "");
  TL_ASSERT_OK_AND_ASSIGN(const v1::User moved, SetManager(a.user_id(), c.user_id()));
  EXPECT_EQ(moved.manager_id(), c.user_id());
  // Reporting lines change other users' scopes: the whole tenant is invalidated.
  EXPECT_THAT(Invalidations(), ElementsAre(Pair("user", IsEmpty()), Pair("user", IsEmpty())));
}

TEST_F(IdentityManagerTest, ConcurrentManagerChangesCannotCloseACycleTogether) {
  // With a -> b, the changes b -> c and c -> a are each fine alone and a cycle together; their
  // rows differ, so row locks alone would not order them. Exactly one may win.
  for (int round = 0; round < 10; ++round) {
    TL_ASSERT_OK_AND_ASSIGN(const v1::User c, Create(absl::StrCat("c", round)));
    TL_ASSERT_OK_AND_ASSIGN(const v1::User b, Create(absl::StrCat("b", round)));
    TL_ASSERT_OK_AND_ASSIGN(const v1::User a, Create(absl::StrCat("a", round), "rep", b.user_id()));
    absl::Barrier* start = new absl::Barrier(2);
    absl::StatusOr<v1::User> first, second;
    std::thread t1([&] {
      if (start->Block()) delete start;
      first = SetManager(b.user_id(), c.user_id());
    });
    std::thread t2([&] {
      if (start->Block()) delete start;
      second = SetManager(c.user_id(), a.user_id());
    });
    t1.join();
    t2.join();
    EXPECT_NE(first.ok(), second.ok())
        << "round " << round << ": " << first.status() << " / " << second.status();
    const absl::Status& loser = first.ok() ? second.status() : first.status();
    EXPECT_THAT(loser, StatusIs(absl::StatusCode::kInvalidArgument,
                                HasSubstr("would make a reporting cycle")));
  }
}

TEST_F(IdentityManagerTest, DisableUserEndsSessionsAndKeys) {
  TL_ASSERT_OK_AND_ASSIGN(const v1::User user, Create("wang"));
  TL_ASSERT_OK_AND_ASSIGN(const v1::LoginResponse login, Login("wang"));
  TL_ASSERT_OK_AND_ASSIGN(const v1::CreateApiKeyResponse key, CreateKey(user.user_id(), {}));
  ClearOutbox();

  TL_ASSERT_OK_AND_ASSIGN(const v1::User disabled, manager_->DisableUser(Admin(), user.user_id()));
  EXPECT_EQ(disabled.state(), v1::USER_STATE_DISABLED);
  EXPECT_THAT(Invalidations(),
              ElementsAre(Pair(
                  "user", UnorderedElementsAre(login.session_id(), key.api_key().api_key_id()))));
  EXPECT_THAT(manager_->ResolveSession(kTenant, user.user_id(), login.session_id()),
              StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(manager_->ResolveApiKey(key.secret()), StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(Refresh(login.refresh_token()),
              StatusIs(absl::StatusCode::kUnauthenticated, "invalid refresh token"));
  EXPECT_THAT(Login("wang"), StatusIs(absl::StatusCode::kUnauthenticated, "invalid credentials"));
  EXPECT_EQ(AuditRows().back().detail, "username \"wang\": user disabled");

  // Again: unchanged, nothing published.
  ClearOutbox();
  TL_ASSERT_OK_AND_ASSIGN(const v1::User again, manager_->DisableUser(Admin(), user.user_id()));
  EXPECT_EQ(again.update_time().seconds(), disabled.update_time().seconds());
  EXPECT_THAT(Invalidations(), IsEmpty());
  EXPECT_THAT(manager_->DisableUser(Admin(), "00000000-0000-7000-8000-00000000abcd"),
              StatusIs(absl::StatusCode::kNotFound));
}

// --- login ---

TEST_F(IdentityManagerTest, LoginIssuesVerifiableTokens) {
  {
    // cpp-jwt also checks exp against the system clock: issue the token at the real time.
    absl::MutexLock lock(&mu_);
    now_ = absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()));
  }
  TL_ASSERT_OK_AND_ASSIGN(const v1::User user, Create("Wang"));
  TL_ASSERT_OK_AND_ASSIGN(const v1::LoginResponse login, Login("WANG"));
  EXPECT_EQ(login.user().user_id(), user.user_id());
  EXPECT_EQ(login.access_token_expire_time().seconds(),
            absl::ToUnixSeconds(Now() + absl::Minutes(15)));
  EXPECT_EQ(login.refresh_token_expire_time().seconds(),
            absl::ToUnixSeconds(Now() + absl::Hours(12)));
  EXPECT_THAT(login.refresh_token(), StartsWith(absl::StrCat(login.session_id(), ".")));

  TL_ASSERT_OK_AND_ASSIGN(const auth::TokenVerifier verifier,
                          auth::TokenVerifier::Create(TestKeys().public_key_pem));
  TL_ASSERT_OK_AND_ASSIGN(const auth::TokenClaims claims,
                          verifier.Verify(login.access_token(), Now()));
  EXPECT_EQ(claims.tenant_id, kTenant);
  EXPECT_EQ(claims.user_id, user.user_id());
  EXPECT_EQ(claims.session_id, login.session_id());
  EXPECT_EQ(claims.expire_time, Now() + absl::Minutes(15));

  TL_ASSERT_OK_AND_ASSIGN(const Principal principal,
                          manager_->ResolveSession(kTenant, user.user_id(), login.session_id()));
  EXPECT_EQ(principal.tenant_id, kTenant);
  EXPECT_EQ(principal.user_id, user.user_id());
  EXPECT_EQ(principal.session_id, login.session_id());
  EXPECT_EQ(principal.kind, v1::PRINCIPAL_KIND_USER);
  EXPECT_EQ(principal.role_id, "rep");
  EXPECT_FALSE(principal.is_api_key);
  EXPECT_EQ(principal.expire_time, Now() + absl::Hours(12));

  // Only a hash of the refresh token is stored.
  EXPECT_EQ(QueryValue("SELECT count(*) FROM sessions WHERE refresh_hash = '" +
                       login.refresh_token() + "'"),
            "0");
  const AuditRow last = AuditRows().back();
  EXPECT_EQ(last.action, "login.succeeded");
  EXPECT_EQ(last.actor_id, user.user_id());
  EXPECT_EQ(last.resource_type, "session");
  EXPECT_EQ(last.resource_id, login.session_id());
  EXPECT_EQ(QueryValue("SELECT client FROM audit_events ORDER BY sequence DESC LIMIT 1"),
            "ipv4:10.0.0.7 curl/8");
}

TEST_F(IdentityManagerTest, PartnerUsersAreResolvedAsPartners) {
  TL_ASSERT_OK_AND_ASSIGN(const v1::User partner, Create("p", "partner", "", "channel-one"));
  TL_ASSERT_OK_AND_ASSIGN(const v1::LoginResponse login, Login("p"));
  TL_ASSERT_OK_AND_ASSIGN(const Principal principal,
                          manager_->ResolveSession(kTenant, partner.user_id(), login.session_id()));
  EXPECT_EQ(principal.kind, v1::PRINCIPAL_KIND_PARTNER_USER);
  EXPECT_EQ(principal.partner_org_id, "channel-one");
  // A session is not another user's, nor another tenant's.
  TL_ASSERT_OK_AND_ASSIGN(const v1::User other, Create("other"));
  EXPECT_THAT(manager_->ResolveSession(kTenant, other.user_id(), login.session_id()),
              StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(manager_->ResolveSession(kOtherTenant, partner.user_id(), login.session_id()),
              StatusIs(absl::StatusCode::kUnauthenticated));
}

TEST_F(IdentityManagerTest, LoginFailuresAllLookTheSame) {
  TL_ASSERT_OK(Create("wang"));
  EXPECT_THAT(Login("nobody"), StatusIs(absl::StatusCode::kUnauthenticated, "invalid credentials"));
  EXPECT_THAT(Login("wang", "wrong password!"),
              StatusIs(absl::StatusCode::kUnauthenticated, "invalid credentials"));
  EXPECT_THAT(Login("wang", kPassword, "", kOtherTenant),
              StatusIs(absl::StatusCode::kUnauthenticated, "invalid credentials"));
  const std::vector<AuditRow> audit = AuditRows();
  ASSERT_THAT(audit, SizeIs(3));
  EXPECT_EQ(audit[1].action, "login.failed");
  EXPECT_EQ(audit[1].actor_id, "");
  EXPECT_EQ(audit[1].resource_id, "");
  EXPECT_EQ(audit[1].detail, "username \"nobody\": unknown user");
  EXPECT_EQ(audit[2].action, "login.failed");
  EXPECT_EQ(audit[2].detail, "username \"wang\": wrong password");
  EXPECT_THAT(AuditActions(kOtherTenant), ElementsAre("login.failed"));
}

TEST(LoginThrottleTest, DelaysStartAtTheThresholdDoubleAndStopAtTheCap) {
  const ThrottlePolicy policy{.address_account_failures = 3,
                              .account_failures = 20,
                              .tenant_failures = 500,
                              .first_delay = absl::Seconds(1),
                              .max_delay = absl::Seconds(5),
                              .memory = absl::Hours(24)};
  const absl::Time t0 = absl::FromUnixSeconds(1700000000);
  ThrottleCounter counter;
  std::vector<std::optional<absl::Duration>> delays;
  for (int i = 0; i < 6; ++i) {
    counter = AfterFailure(counter, 3, policy, t0);
    delays.push_back(counter.blocked_until ? std::optional(*counter.blocked_until - t0)
                                           : std::nullopt);
  }
  EXPECT_THAT(delays, ElementsAre(std::nullopt, std::nullopt, absl::Seconds(1), absl::Seconds(2),
                                  absl::Seconds(4), absl::Seconds(5)));
  // A day without a failure: the count starts over.
  counter = AfterFailure(counter, 3, policy, t0 + absl::Hours(24) + absl::Seconds(1));
  EXPECT_EQ(counter.failures, 1);
  EXPECT_EQ(counter.blocked_until, std::nullopt);
}

TEST_F(IdentityManagerTest, FailuresSlowTheAttackersAddressNotTheAccount) {
  TL_ASSERT_OK(Create("wang"));
  const std::string attacker = "203.0.113.9";
  for (int i = 0; i < 5; ++i) {
    EXPECT_THAT(LoginFrom(attacker, "wang", false),
                StatusIs(absl::StatusCode::kUnauthenticated, "invalid credentials"));
  }
  // The sixth attempt from there waits, even with the right password, and is not audited.
  const size_t audited = AuditRows().size();
  const absl::StatusOr<v1::LoginResponse> refused = LoginFrom(attacker, "wang", true);
  EXPECT_THAT(refused, StatusIs(absl::StatusCode::kResourceExhausted,
                                "too many failed logins; retry in 1 s"));
  EXPECT_EQ(status::ErrorReasonOf(refused.status()), "LOGIN_THROTTLED");
  EXPECT_TRUE(refused.status().GetPayload(status::kRetryInfoTypeUrl).has_value());
  EXPECT_EQ(AuditRows().size(), audited);
  // The real user, from their own address, is not held back; nor is the account locked.
  TL_EXPECT_OK(LoginFrom("10.0.0.7", "wang", true));
  // Each further failure from the attacker's address doubles its wait.
  Advance(absl::Seconds(1));
  EXPECT_THAT(LoginFrom(attacker, "wang", false),
              StatusIs(absl::StatusCode::kUnauthenticated, "invalid credentials"));
  EXPECT_THAT(LoginFrom(attacker, "wang", false), StatusIs(absl::StatusCode::kResourceExhausted,
                                                           "too many failed logins; retry in 2 s"));
  Advance(absl::Seconds(2));
  EXPECT_FALSE(LoginFrom(attacker, "wang", false).ok());
  EXPECT_THAT(LoginFrom(attacker, "wang", true), StatusIs(absl::StatusCode::kResourceExhausted,
                                                          "too many failed logins; retry in 4 s"));
  Advance(absl::Seconds(4));
  TL_EXPECT_OK(LoginFrom(attacker, "wang", true));
}

TEST_F(IdentityManagerTest, FailuresFromManyAddressesSlowTheAccountButNotItsKnownAddresses) {
  TL_ASSERT_OK(Create("wang"));
  TL_ASSERT_OK(LoginFrom("10.0.0.7", "wang", true));  // the user's usual address
  for (int i = 0; i < 20; ++i) {
    EXPECT_THAT(LoginFrom(absl::StrCat("198.51.100.", i), "wang", false),
                StatusIs(absl::StatusCode::kUnauthenticated, "invalid credentials"));
  }
  EXPECT_THAT(LoginFrom("198.51.100.200", "wang", true),
              StatusIs(absl::StatusCode::kResourceExhausted));
  TL_EXPECT_OK(LoginFrom("10.0.0.7", "wang", true));
  // One address trying many accounts is slowed as well.
  for (int i = 0; i < 20; ++i) {
    EXPECT_FALSE(LoginFrom("192.0.2.1", absl::StrCat("u", i), false).ok());
  }
  EXPECT_THAT(LoginFrom("192.0.2.1", "u99", false), StatusIs(absl::StatusCode::kResourceExhausted));
}

TEST_F(IdentityManagerTest, NewPasswordEndsSessions) {
  TL_ASSERT_OK_AND_ASSIGN(const v1::User user, Create("wang"));
  TL_ASSERT_OK_AND_ASSIGN(const v1::LoginResponse login, Login("wang"));
  v1::UpdateUserRequest request;
  request.mutable_user()->set_user_id(user.user_id());
  request.mutable_update_mask()->add_paths("password");
  request.set_password("short");
  EXPECT_THAT(status::FieldViolationsOf(manager_->UpdateUser(Admin(), request).status()),
              ElementsAre(Pair("password", "must be 12 to 256 characters long, not 5")));
  request.set_password("新的密码也要足够长才行啊");
  ClearOutbox();
  TL_ASSERT_OK(manager_->UpdateUser(Admin(), request));
  EXPECT_THAT(Invalidations(), ElementsAre(Pair("user", ElementsAre(login.session_id()))));
  EXPECT_THAT(manager_->ResolveSession(kTenant, user.user_id(), login.session_id()),
              StatusIs(absl::StatusCode::kUnauthenticated, "session revoked"));
  EXPECT_THAT(Login("wang"), StatusIs(absl::StatusCode::kUnauthenticated, "invalid credentials"));
  TL_EXPECT_OK(Login("wang", "新的密码也要足够长才行啊"));
}

TEST_F(IdentityManagerTest, LoginRehashesWhenTheCostChanged) {
  TL_ASSERT_OK(Create("wang"));
  const std::string before = QueryValue("SELECT password_hash FROM users");
  manager_ = NewManager({.ops_limit = PasswordHashCost::Minimum().ops_limit + 1,
                         .mem_limit = PasswordHashCost::Minimum().mem_limit});
  EXPECT_THAT(Login("wang", "wrong password!"), StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_EQ(QueryValue("SELECT password_hash FROM users"), before);
  TL_ASSERT_OK(Login("wang"));
  const std::string after = QueryValue("SELECT password_hash FROM users");
  EXPECT_NE(after, before);
  EXPECT_THAT(after,
              HasSubstr(absl::StrCat(",t=", PasswordHashCost::Minimum().ops_limit + 1, ",")));
  EXPECT_EQ(AuditRows().back().detail, "username \"wang\"; password rehashed");
  // The next login verifies against the new hash and does not rehash again.
  TL_ASSERT_OK(Login("wang"));
  EXPECT_EQ(QueryValue("SELECT password_hash FROM users"), after);
}

// --- TOTP ---

TEST_F(IdentityManagerTest, TotpEnrolmentNeedsAConfirmingCode) {
  TL_ASSERT_OK_AND_ASSIGN(const v1::User user, Create("wang"));
  EXPECT_THAT(manager_->ConfirmTotp(As(user.user_id()), "123456"),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  TL_ASSERT_OK_AND_ASSIGN(const v1::EnrollTotpResponse enrolled,
                          manager_->EnrollTotp(As(user.user_id())));
  const std::string secret = TotpSecret(user.user_id(), "totp_pending_secret");
  ASSERT_EQ(secret.size(), 20u);
  EXPECT_EQ(enrolled.secret_base32(), Base32Encode(secret));
  EXPECT_EQ(enrolled.otpauth_uri(),
            absl::StrCat("otpauth://totp/Touchline:wang%40acme?secret=", enrolled.secret_base32(),
                         "&issuer=Touchline&algorithm=SHA1&digits=6&period=30"));
  // Not in force before confirmation.
  TL_ASSERT_OK(Login("wang"));

  const int64_t step = TotpStepAt(Now());
  EXPECT_THAT(status::FieldViolationsOf(
                  manager_->ConfirmTotp(As(user.user_id()), TotpCode(secret, step + 2)).status()),
              ElementsAre(Pair("code", "does not match the pending secret")));
  TL_ASSERT_OK_AND_ASSIGN(const v1::User confirmed,
                          manager_->ConfirmTotp(As(user.user_id()), TotpCode(secret, step)));
  EXPECT_TRUE(confirmed.totp_enabled());
  EXPECT_EQ(TotpSecret(user.user_id(), "totp_secret"), secret);
  EXPECT_EQ(TotpSecret(user.user_id(), "totp_pending_secret"), "");
  EXPECT_THAT(AuditActions(), ElementsAre("user.created", "user.totp_enrollment_started",
                                          "login.succeeded", "user.totp_enabled"));
}

TEST_F(IdentityManagerTest, TotpIsRequiredOnceEnrolledAndNeverReplayed) {
  TL_ASSERT_OK_AND_ASSIGN(const v1::User user, Create("wang"));
  const std::string secret = EnableTotp(user.user_id());
  const int64_t step = TotpStepAt(Now());

  EXPECT_THAT(Login("wang"), StatusIs(absl::StatusCode::kUnauthenticated, "invalid credentials"));
  EXPECT_EQ(AuditRows().back().detail, "username \"wang\": missing TOTP code");
  // The code that confirmed enrolment is used up.
  EXPECT_THAT(Login("wang", kPassword, TotpCode(secret, step)),
              StatusIs(absl::StatusCode::kUnauthenticated, "invalid credentials"));
  EXPECT_EQ(AuditRows().back().detail, "username \"wang\": TOTP code already used");
  EXPECT_THAT(Login("wang", kPassword, TotpCode(secret, step + 2)),
              StatusIs(absl::StatusCode::kUnauthenticated, "invalid credentials"));
  EXPECT_EQ(AuditRows().back().detail, "username \"wang\": wrong TOTP code");
  // A wrong password with a right code still fails, as wrong password.
  EXPECT_THAT(Login("wang", "wrong password!", TotpCode(secret, step + 1)),
              StatusIs(absl::StatusCode::kUnauthenticated, "invalid credentials"));
  EXPECT_EQ(AuditRows().back().detail, "username \"wang\": wrong password");

  // The next step's code, within the window of one step of clock drift.
  TL_ASSERT_OK(Login("wang", kPassword, TotpCode(secret, step + 1)));
  // Used now, as is every step before it.
  EXPECT_THAT(Login("wang", kPassword, TotpCode(secret, step + 1)),
              StatusIs(absl::StatusCode::kUnauthenticated));
  Advance(absl::Seconds(30));  // now at step + 1
  EXPECT_THAT(Login("wang", kPassword, TotpCode(secret, step)),
              StatusIs(absl::StatusCode::kUnauthenticated));
  TL_ASSERT_OK(Login("wang", kPassword, TotpCode(secret, step + 2)));
  // Each success reset the failures counted on the way.
  EXPECT_EQ(QueryValue("SELECT failed_logins FROM users"), "0");
}

TEST_F(IdentityManagerTest, WrongTotpCodesAreThrottled) {
  TL_ASSERT_OK_AND_ASSIGN(const v1::User user, Create("wang"));
  const std::string secret = EnableTotp(user.user_id());
  const int64_t step = TotpStepAt(Now());
  for (int i = 0; i < 5; ++i) {
    EXPECT_THAT(Login("wang", kPassword, TotpCode(secret, step + 5)),
                StatusIs(absl::StatusCode::kUnauthenticated, "invalid credentials"));
  }
  EXPECT_THAT(Login("wang", kPassword, TotpCode(secret, step + 1)),
              StatusIs(absl::StatusCode::kResourceExhausted));
}

// --- refresh and sessions ---

TEST_F(IdentityManagerTest, RefreshRotatesTheToken) {
  TL_ASSERT_OK(Create("wang"));
  TL_ASSERT_OK_AND_ASSIGN(const v1::LoginResponse login, Login("wang"));
  Advance(absl::Minutes(20));
  TL_ASSERT_OK_AND_ASSIGN(const v1::LoginResponse second, Refresh(login.refresh_token()));
  EXPECT_EQ(second.session_id(), login.session_id());
  EXPECT_NE(second.refresh_token(), login.refresh_token());
  EXPECT_NE(second.access_token(), login.access_token());
  EXPECT_EQ(second.access_token_expire_time().seconds(),
            absl::ToUnixSeconds(Now() + absl::Minutes(15)));
  // The session keeps its end: refreshing does not extend it.
  EXPECT_EQ(second.refresh_token_expire_time().seconds(),
            login.refresh_token_expire_time().seconds());
  TL_ASSERT_OK_AND_ASSIGN(const v1::LoginResponse third, Refresh(second.refresh_token()));
  EXPECT_EQ(third.session_id(), login.session_id());

  // Tokens that were never issued, and garbage.
  EXPECT_THAT(Refresh(absl::StrCat(login.session_id(), ".", std::string(43, 'A'))),
              StatusIs(absl::StatusCode::kUnauthenticated, "invalid refresh token"));
  EXPECT_THAT(Refresh("garbage"), StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(Refresh(""), StatusIs(absl::StatusCode::kUnauthenticated));
  // An older token than the previous one is refused without revoking.
  EXPECT_THAT(Refresh(login.refresh_token()), StatusIs(absl::StatusCode::kUnauthenticated));
  TL_ASSERT_OK(Refresh(third.refresh_token()));
}

TEST_F(IdentityManagerTest, AReusedRefreshTokenRevokesTheSession) {
  TL_ASSERT_OK_AND_ASSIGN(const v1::User user, Create("wang"));
  TL_ASSERT_OK_AND_ASSIGN(const v1::LoginResponse login, Login("wang"));
  TL_ASSERT_OK_AND_ASSIGN(const v1::LoginResponse rotated, Refresh(login.refresh_token()));
  ClearOutbox();
  // The old token again: stolen or replayed. The session ends for both holders.
  EXPECT_THAT(Refresh(login.refresh_token()),
              StatusIs(absl::StatusCode::kUnauthenticated, "invalid refresh token"));
  EXPECT_THAT(Refresh(rotated.refresh_token()), StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(manager_->ResolveSession(kTenant, user.user_id(), login.session_id()),
              StatusIs(absl::StatusCode::kUnauthenticated, "session revoked"));
  EXPECT_THAT(Invalidations(), ElementsAre(Pair("session", ElementsAre(login.session_id()))));
  const AuditRow last = AuditRows().back();
  EXPECT_EQ(last.action, "session.revoked");
  EXPECT_EQ(last.detail, "a replaced refresh token was presented again");
}

TEST_F(IdentityManagerTest, ExpiredSessionsAreRefused) {
  TL_ASSERT_OK_AND_ASSIGN(const v1::User user, Create("wang"));
  TL_ASSERT_OK_AND_ASSIGN(const v1::LoginResponse login, Login("wang"));
  Advance(absl::Hours(12) - absl::Minutes(10));
  TL_ASSERT_OK_AND_ASSIGN(const v1::LoginResponse late, Refresh(login.refresh_token()));
  // The access token never outlives its session.
  EXPECT_EQ(late.access_token_expire_time().seconds(), login.refresh_token_expire_time().seconds());
  Advance(absl::Minutes(10));
  EXPECT_THAT(Refresh(late.refresh_token()),
              StatusIs(absl::StatusCode::kUnauthenticated, "invalid refresh token"));
  EXPECT_THAT(manager_->ResolveSession(kTenant, user.user_id(), login.session_id()),
              StatusIs(absl::StatusCode::kUnauthenticated, "session expired"));
}

TEST_F(IdentityManagerTest, PurgeEndedSessionsDeletesOnlyThosePastTheRetention) {
  TL_ASSERT_OK(Create("wang"));
  TL_ASSERT_OK(Login("wang"));  // Expires after 12 h.
  TL_ASSERT_OK_AND_ASSIGN(const v1::LoginResponse revoked, Login("wang"));
  TL_ASSERT_OK(manager_->RevokeSession(Admin(), revoked.session_id()));
  TL_ASSERT_OK_AND_ASSIGN(const int64_t none_yet, manager_->PurgeEndedSessions());
  EXPECT_EQ(none_yet, 0);
  // Past the default retention of 30 days.
  Advance(absl::Hours(24 * 31));
  TL_ASSERT_OK_AND_ASSIGN(const v1::LoginResponse live, Login("wang"));
  TL_ASSERT_OK_AND_ASSIGN(const v1::LoginResponse recently_revoked, Login("wang"));
  TL_ASSERT_OK(manager_->RevokeSession(Admin(), recently_revoked.session_id()));
  TL_ASSERT_OK_AND_ASSIGN(const int64_t purged, manager_->PurgeEndedSessions());
  EXPECT_EQ(purged, 2);
  EXPECT_EQ(QueryValue("SELECT string_agg(session_id::text, ',' ORDER BY session_id) "
                       "FROM sessions"),
            absl::StrCat(std::min(live.session_id(), recently_revoked.session_id()), ",",
                         std::max(live.session_id(), recently_revoked.session_id())));
  TL_ASSERT_OK_AND_ASSIGN(const int64_t again, manager_->PurgeEndedSessions());
  EXPECT_EQ(again, 0);
}

TEST_F(IdentityManagerTest, RevokeSessionOwnOrAsAdministrator) {
  TL_ASSERT_OK_AND_ASSIGN(const v1::User wang, Create("wang"));
  TL_ASSERT_OK_AND_ASSIGN(const v1::User li, Create("li"));
  TL_ASSERT_OK_AND_ASSIGN(const v1::LoginResponse wang_login, Login("wang"));
  TL_ASSERT_OK_AND_ASSIGN(const v1::LoginResponse li_login, Login("li"));
  ClearOutbox();

  // Someone else's session does not exist for a caller without PERMISSION_ADMINISTER.
  EXPECT_THAT(manager_->RevokeSession(As(wang.user_id()), li_login.session_id()),
              StatusIs(absl::StatusCode::kNotFound));
  TL_ASSERT_OK(manager_->ResolveSession(kTenant, li.user_id(), li_login.session_id()));
  TL_EXPECT_OK(manager_->RevokeSession(As(wang.user_id()), wang_login.session_id()));
  TL_EXPECT_OK(manager_->RevokeSession(Admin(), li_login.session_id()));
  // Again: nothing more happens.
  TL_EXPECT_OK(manager_->RevokeSession(Admin(), li_login.session_id()));
  EXPECT_THAT(manager_->RevokeSession(Admin(), "00000000-0000-7000-8000-00000000abcd"),
              StatusIs(absl::StatusCode::kNotFound));

  EXPECT_THAT(manager_->ResolveSession(kTenant, wang.user_id(), wang_login.session_id()),
              StatusIs(absl::StatusCode::kUnauthenticated, "session revoked"));
  EXPECT_THAT(Refresh(li_login.refresh_token()), StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(Invalidations(), ElementsAre(Pair("session", ElementsAre(wang_login.session_id())),
                                           Pair("session", ElementsAre(li_login.session_id()))));
  EXPECT_THAT(AuditActions(), ElementsAre("user.created", "user.created", "login.succeeded",
                                          "login.succeeded", "session.revoked", "session.revoked"));
}

// --- delegated sessions ---

TEST_F(IdentityManagerTest, DelegatedTokenIsALoginTokenOfASessionKeptForTheService) {
  {
    // cpp-jwt also checks exp against the system clock: issue the token at the real time.
    absl::MutexLock lock(&mu_);
    now_ = absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()));
  }
  TL_ASSERT_OK_AND_ASSIGN(const v1::User owner, Create("owner"));
  ClearOutbox();
  TL_ASSERT_OK_AND_ASSIGN(const v1::IssueDelegatedTokenResponse issued,
                          Delegate(owner.user_id(), "  rule 0190c3f2  "));
  EXPECT_TRUE(ids::IsUuid(issued.session_id()));
  EXPECT_EQ(issued.expire_time().seconds(), absl::ToUnixSeconds(Now() + absl::Minutes(15)));

  TL_ASSERT_OK_AND_ASSIGN(const auth::TokenVerifier verifier,
                          auth::TokenVerifier::Create(TestKeys().public_key_pem));
  TL_ASSERT_OK_AND_ASSIGN(const auth::TokenClaims claims,
                          verifier.Verify(issued.access_token(), Now()));
  EXPECT_EQ(claims.tenant_id, kTenant);
  EXPECT_EQ(claims.user_id, owner.user_id());
  EXPECT_EQ(claims.session_id, issued.session_id());
  EXPECT_EQ(claims.expire_time, Now() + absl::Minutes(15));

  TL_ASSERT_OK_AND_ASSIGN(const Principal principal,
                          manager_->ResolveSession(kTenant, owner.user_id(), issued.session_id()));
  EXPECT_EQ(principal.user_id, owner.user_id());
  EXPECT_EQ(principal.session_id, issued.session_id());
  EXPECT_EQ(principal.kind, v1::PRINCIPAL_KIND_USER);
  EXPECT_EQ(principal.role_id, "rep");
  EXPECT_EQ(principal.expire_time, Now() + absl::Hours(12));

  EXPECT_EQ(QueryValue(absl::StrCat("SELECT delegated_to FROM sessions WHERE session_id = '",
                                    issued.session_id(), "'")),
            "automation");
  const AuditRow last = AuditRows().back();
  EXPECT_EQ(last.action, "session.delegated");
  EXPECT_EQ(last.actor_id, "service:automation");
  EXPECT_EQ(last.resource_type, "session");
  EXPECT_EQ(last.resource_id, issued.session_id());
  EXPECT_EQ(last.detail, absl::StrCat("user ", owner.user_id(),
                                      " delegated to service \"automation\": rule 0190c3f2"));
  EXPECT_EQ(QueryValue("SELECT request_id FROM audit_events ORDER BY sequence DESC LIMIT 1"),
            "req-delegate");
  // A new session invalidates no cached scope.
  EXPECT_THAT(Invalidations(), IsEmpty());

  // A role change reaches the delegated session as it reaches a login's.
  v1::UpdateUserRequest promote;
  promote.mutable_user()->set_user_id(owner.user_id());
  promote.mutable_user()->set_role_id("admin");
  promote.mutable_update_mask()->add_paths("role_id");
  TL_ASSERT_OK(manager_->UpdateUser(Admin(), promote));
  TL_ASSERT_OK_AND_ASSIGN(const Principal promoted,
                          manager_->ResolveSession(kTenant, owner.user_id(), issued.session_id()));
  EXPECT_EQ(promoted.role_id, "admin");
  EXPECT_THAT(Invalidations(), ElementsAre(Pair("user", ElementsAre(issued.session_id()))));
}

TEST_F(IdentityManagerTest, DelegatedSessionIsReusedWhileItOutlastsAnAccessToken) {
  TL_ASSERT_OK_AND_ASSIGN(const v1::User owner, Create("owner"));
  const absl::Time created = Now();
  TL_ASSERT_OK_AND_ASSIGN(const v1::IssueDelegatedTokenResponse first,
                          Delegate(owner.user_id(), "rule 1"));
  // A login session of the user is not a delegated one, and is never reused as one.
  TL_ASSERT_OK_AND_ASSIGN(const v1::LoginResponse login, Login("owner"));

  Advance(absl::Hours(1));
  TL_ASSERT_OK_AND_ASSIGN(const v1::IssueDelegatedTokenResponse second,
                          Delegate(owner.user_id(), "rule 2"));
  EXPECT_EQ(second.session_id(), first.session_id());
  EXPECT_NE(second.session_id(), login.session_id());
  EXPECT_NE(second.access_token(), first.access_token());
  EXPECT_EQ(second.expire_time().seconds(), absl::ToUnixSeconds(Now() + absl::Minutes(15)));

  // The last moment a whole access token fits in the session (12 h from its creation).
  {
    absl::MutexLock lock(&mu_);
    now_ = created + absl::Hours(12) - absl::Minutes(15) - absl::Seconds(1);
  }
  TL_ASSERT_OK_AND_ASSIGN(const v1::IssueDelegatedTokenResponse last,
                          Delegate(owner.user_id(), "rule 3"));
  EXPECT_EQ(last.session_id(), first.session_id());
  EXPECT_EQ(last.expire_time().seconds(), absl::ToUnixSeconds(Now() + absl::Minutes(15)));

  // From then on a token would be cut short: a new session, audited again.
  Advance(absl::Seconds(1));
  TL_ASSERT_OK_AND_ASSIGN(const v1::IssueDelegatedTokenResponse renewed,
                          Delegate(owner.user_id(), "rule 4"));
  EXPECT_NE(renewed.session_id(), first.session_id());
  EXPECT_EQ(renewed.expire_time().seconds(), absl::ToUnixSeconds(Now() + absl::Minutes(15)));
  Advance(absl::Minutes(5));
  TL_ASSERT_OK_AND_ASSIGN(const v1::IssueDelegatedTokenResponse after,
                          Delegate(owner.user_id(), "rule 5"));
  EXPECT_EQ(after.session_id(), renewed.session_id());
  EXPECT_THAT(AuditActions(), ElementsAre("user.created", "session.delegated", "login.succeeded",
                                          "session.delegated"));
  EXPECT_EQ(QueryValue("SELECT count(*) FROM sessions WHERE delegated_to = 'automation'"), "2");
}

TEST_F(IdentityManagerTest, EachServiceHasItsOwnDelegatedSession) {
  manager_ = NewManager(PasswordHashCost::Minimum(), {"automation", "journeys"});
  TL_ASSERT_OK_AND_ASSIGN(const v1::User owner, Create("owner"));
  TL_ASSERT_OK_AND_ASSIGN(const v1::IssueDelegatedTokenResponse automation,
                          Delegate(owner.user_id(), "rule 1"));
  TL_ASSERT_OK_AND_ASSIGN(const v1::IssueDelegatedTokenResponse journeys,
                          Delegate(owner.user_id(), "journey 1", "journeys"));
  EXPECT_NE(journeys.session_id(), automation.session_id());
  EXPECT_EQ(QueryValue(absl::StrCat("SELECT delegated_to FROM sessions WHERE session_id = '",
                                    journeys.session_id(), "'")),
            "journeys");
  // Revoking one session leaves the other; the next token gets a new one.
  TL_ASSERT_OK(manager_->RevokeSession(As(owner.user_id()), automation.session_id()));
  TL_ASSERT_OK_AND_ASSIGN(const v1::IssueDelegatedTokenResponse again,
                          Delegate(owner.user_id(), "rule 1"));
  EXPECT_NE(again.session_id(), automation.session_id());
  TL_ASSERT_OK_AND_ASSIGN(const v1::IssueDelegatedTokenResponse journeys_again,
                          Delegate(owner.user_id(), "journey 1", "journeys"));
  EXPECT_EQ(journeys_again.session_id(), journeys.session_id());
}

TEST_F(IdentityManagerTest, ConcurrentFirstDelegationsMakeOneSession) {
  // Several rounds, each with a new user whose first tokens are all asked for at once.
  constexpr int kRounds = 5;
  constexpr int kCallers = 4;
  for (int round = 0; round < kRounds; ++round) {
    TL_ASSERT_OK_AND_ASSIGN(const v1::User owner, Create(absl::StrCat("owner", round)));
    absl::Barrier* start = new absl::Barrier(kCallers);
    std::vector<std::string> session_ids(kCallers);
    std::vector<std::thread> threads;
    for (int i = 0; i < kCallers; ++i) {
      threads.emplace_back([&, i] {
        if (start->Block()) delete start;
        auto issued = Delegate(owner.user_id(), "rule 1");
        EXPECT_TRUE(issued.ok()) << issued.status();
        if (issued.ok()) session_ids[i] = issued->session_id();
      });
    }
    for (std::thread& thread : threads) thread.join();
    for (const std::string& id : session_ids) EXPECT_EQ(id, session_ids[0]);
  }
  EXPECT_EQ(QueryValue("SELECT count(*) FROM sessions WHERE delegated_to IS NOT NULL"),
            absl::StrCat(kRounds));
  EXPECT_THAT(AuditActions(), ::testing::Contains("session.delegated").Times(kRounds));
}

TEST_F(IdentityManagerTest, DisablingTheUserEndsTheDelegatedSession) {
  TL_ASSERT_OK_AND_ASSIGN(const v1::User owner, Create("owner"));
  TL_ASSERT_OK_AND_ASSIGN(const v1::IssueDelegatedTokenResponse issued,
                          Delegate(owner.user_id(), "rule 1"));
  ClearOutbox();
  TL_ASSERT_OK(manager_->DisableUser(Admin(), owner.user_id()));
  EXPECT_THAT(Invalidations(), ElementsAre(Pair("user", ElementsAre(issued.session_id()))));
  EXPECT_THAT(manager_->ResolveSession(kTenant, owner.user_id(), issued.session_id()),
              StatusIs(absl::StatusCode::kUnauthenticated));
  // Revoked, not only refused while the user is disabled.
  EXPECT_EQ(QueryValue(absl::StrCat("SELECT revoke_time IS NOT NULL FROM sessions WHERE "
                                    "session_id = '",
                                    issued.session_id(), "'")),
            "t");
  EXPECT_THAT(Delegate(owner.user_id(), "rule 1"),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("disabled")));
  EXPECT_EQ(QueryValue("SELECT count(*) FROM sessions"), "1");
}

TEST_F(IdentityManagerTest, DelegationRefusesUnknownUsersAndBadInput) {
  TL_ASSERT_OK_AND_ASSIGN(const v1::User owner, Create("owner"));
  TL_ASSERT_OK_AND_ASSIGN(const v1::User other, Create("other", "rep", "", "", kOtherTenant));
  EXPECT_THAT(Delegate("00000000-0000-7000-8000-00000000abcd", "rule 1"),
              StatusIs(absl::StatusCode::kNotFound));
  // A user of another tenant does not exist in this one.
  EXPECT_THAT(Delegate(other.user_id(), "rule 1"), StatusIs(absl::StatusCode::kNotFound));

  const auto violations = [&](std::string_view tenant, std::string_view user,
                              std::string_view reason) {
    const absl::StatusOr<v1::IssueDelegatedTokenResponse> issued =
        manager_->IssueDelegatedToken(tenant, user, "automation", reason, "req-delegate");
    EXPECT_THAT(issued, StatusIs(absl::StatusCode::kInvalidArgument));
    return status::FieldViolationsOf(issued.status());
  };
  EXPECT_THAT(violations("", "", std::string(201, 'x')),
              ElementsAre(Pair("tenant_id", "is required"), Pair("user_id", "is required"),
                          Pair("reason", "must be at most 200 characters")));
  EXPECT_THAT(violations("Acme!", "owner", "rule 1"),
              ElementsAre(Pair("tenant_id", "must match [a-z0-9][a-z0-9_-]{0,62}"),
                          Pair("user_id", "must be a UUID")));
  EXPECT_THAT(violations(kTenant, owner.user_id(), std::string("rule\0x", 6)),
              ElementsAre(Pair("reason", "must not contain NUL characters")));
  // Characters, not bytes: 200 of 规 (600 bytes) pass, 201 do not.
  std::string long_reason;
  for (int i = 0; i < 201; ++i) long_reason += "规";
  EXPECT_THAT(violations(kTenant, owner.user_id(), long_reason),
              ElementsAre(Pair("reason", "must be at most 200 characters")));
  long_reason.resize(200 * 3);
  TL_EXPECT_OK(Delegate(owner.user_id(), long_reason));
  // The reason is optional; the id is a UUID in either case.
  TL_EXPECT_OK(Delegate(absl::AsciiStrToUpper(owner.user_id()), ""));
  EXPECT_EQ(QueryValue("SELECT count(*) FROM sessions"), "1");
}

TEST_F(IdentityManagerTest, OnlyTheConfiguredServicesMayDelegate) {
  TL_ASSERT_OK_AND_ASSIGN(const v1::User owner, Create("owner"));
  EXPECT_THAT(Delegate(owner.user_id(), "rule 1", "journeys"),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("\"journeys\"")));
  EXPECT_THAT(Delegate(owner.user_id(), "rule 1", ""),
              StatusIs(absl::StatusCode::kPermissionDenied));
  // Refused before the input is looked at.
  EXPECT_THAT(manager_->IssueDelegatedToken("", "", "gateway", "", "req-delegate"),
              StatusIs(absl::StatusCode::kPermissionDenied));
  manager_ = NewManager(PasswordHashCost::Minimum(), {});
  EXPECT_THAT(Delegate(owner.user_id(), "rule 1"), StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_EQ(QueryValue("SELECT count(*) FROM sessions"), "0");
}

TEST_F(IdentityManagerTest, ADelegatedSessionCannotBeRefreshed) {
  TL_ASSERT_OK_AND_ASSIGN(const v1::User owner, Create("owner"));
  TL_ASSERT_OK_AND_ASSIGN(const v1::IssueDelegatedTokenResponse issued,
                          Delegate(owner.user_id(), "rule 1"));
  // No refresh token is issued; none of the shape RefreshToken takes matches the session.
  const std::string stored_hash = QueryValue(absl::StrCat(
      "SELECT refresh_hash FROM sessions WHERE session_id = '", issued.session_id(), "'"));
  EXPECT_THAT(stored_hash, Not(::testing::MatchesRegex("[0-9a-f]{64}")));
  for (const std::string& secret :
       {std::string(43, 'A'), std::string(43, '_'), std::string(43, '0'),
        absl::StrCat(std::string(40, 'a'), "bcd")}) {
    EXPECT_THAT(Refresh(absl::StrCat(issued.session_id(), ".", secret)),
                StatusIs(absl::StatusCode::kUnauthenticated, "invalid refresh token"));
  }
  EXPECT_THAT(Refresh(absl::StrCat(issued.session_id(), ".", stored_hash)),
              StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(Refresh(issued.session_id()), StatusIs(absl::StatusCode::kUnauthenticated));

  // Even a stored hash a token does match (which no code path writes) does not make one: the
  // same change lets a login session be refreshed.
  const std::string token = absl::StrCat(issued.session_id(), ".", std::string(43, 'Q'));
  Exec(absl::StrCat("UPDATE sessions SET refresh_hash = encode(sha256(convert_to('", token,
                    "', 'UTF8')), 'hex') WHERE session_id = '", issued.session_id(), "'"));
  EXPECT_THAT(Refresh(token), StatusIs(absl::StatusCode::kUnauthenticated));
  TL_ASSERT_OK_AND_ASSIGN(const v1::LoginResponse login, Login("owner"));
  const std::string login_token = absl::StrCat(login.session_id(), ".", std::string(43, 'Q'));
  Exec(absl::StrCat("UPDATE sessions SET refresh_hash = encode(sha256(convert_to('", login_token,
                    "', 'UTF8')), 'hex') WHERE session_id = '", login.session_id(), "'"));
  TL_EXPECT_OK(Refresh(login_token));
  // The delegated session itself was not ended by the attempts.
  TL_EXPECT_OK(manager_->ResolveSession(kTenant, owner.user_id(), issued.session_id()));
}

// --- API keys ---

TEST_F(IdentityManagerTest, ApiKeysResolveUntilRevoked) {
  TL_ASSERT_OK_AND_ASSIGN(const v1::User user, Create("sync-bot"));
  ClearOutbox();
  TL_ASSERT_OK_AND_ASSIGN(const v1::CreateApiKeyResponse created,
                          CreateKey(user.user_id(), {v1::PERMISSION_TOUCHPOINTS_WRITE}));
  const v1::ApiKey& key = created.api_key();
  EXPECT_THAT(created.secret(), StartsWith("tlk_acme_"));
  EXPECT_EQ(created.secret().size(), std::string("tlk_acme_").size() + 43);
  EXPECT_EQ(key.secret_prefix(), created.secret().substr(0, 13));
  EXPECT_EQ(key.display_name(), "CRM 同步");
  EXPECT_EQ(key.user_id(), user.user_id());
  EXPECT_THAT(key.permissions(), ElementsAre(v1::PERMISSION_TOUCHPOINTS_WRITE));
  EXPECT_FALSE(key.has_expire_time());
  EXPECT_EQ(
      QueryValue("SELECT count(*) FROM api_keys WHERE secret_hash = '" + created.secret() + "'"),
      "0");

  TL_ASSERT_OK_AND_ASSIGN(const Principal principal, manager_->ResolveApiKey(created.secret()));
  EXPECT_EQ(principal.tenant_id, kTenant);
  EXPECT_EQ(principal.user_id, user.user_id());
  EXPECT_EQ(principal.session_id, key.api_key_id());
  EXPECT_EQ(principal.kind, v1::PRINCIPAL_KIND_API_KEY);
  EXPECT_EQ(principal.role_id, "rep");
  EXPECT_THAT(principal.key_permissions, ElementsAre(v1::PERMISSION_TOUCHPOINTS_WRITE));
  EXPECT_TRUE(principal.is_api_key);
  EXPECT_EQ(principal.expire_time, absl::InfiniteFuture());

  v1::ListApiKeysRequest list;
  list.set_user_id(user.user_id());
  TL_ASSERT_OK_AND_ASSIGN(const v1::ListApiKeysResponse listed,
                          manager_->ListApiKeys(Admin(), list));
  ASSERT_THAT(listed.api_keys(), SizeIs(1));
  EXPECT_EQ(listed.api_keys(0).SerializeAsString(), key.SerializeAsString());

  TL_ASSERT_OK_AND_ASSIGN(const v1::ApiKey revoked,
                          manager_->RevokeApiKey(Admin(), key.api_key_id()));
  EXPECT_EQ(revoked.revoke_time().seconds(), absl::ToUnixSeconds(Now()));
  EXPECT_THAT(manager_->ResolveApiKey(created.secret()),
              StatusIs(absl::StatusCode::kUnauthenticated, "API key revoked"));
  EXPECT_THAT(Invalidations(), ElementsAre(Pair("api_key", ElementsAre(key.api_key_id())),
                                           Pair("api_key", ElementsAre(key.api_key_id()))));
  EXPECT_THAT(AuditActions(), ElementsAre("user.created", "api_key.created", "api_key.revoked"));
  EXPECT_THAT(manager_->RevokeApiKey(Admin(), "00000000-0000-7000-8000-00000000abcd"),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(IdentityManagerTest, ApiKeysExpire) {
  TL_ASSERT_OK_AND_ASSIGN(const v1::User user, Create("sync-bot"));
  TL_ASSERT_OK_AND_ASSIGN(const v1::CreateApiKeyResponse created,
                          CreateKey(user.user_id(), {}, Now() + absl::Hours(1)));
  TL_ASSERT_OK_AND_ASSIGN(const Principal principal, manager_->ResolveApiKey(created.secret()));
  EXPECT_EQ(principal.expire_time, Now() + absl::Hours(1));
  Advance(absl::Hours(1));
  EXPECT_THAT(manager_->ResolveApiKey(created.secret()),
              StatusIs(absl::StatusCode::kUnauthenticated, "API key expired"));
}

TEST_F(IdentityManagerTest, ApiKeySecretsAreCheckedWhole) {
  TL_ASSERT_OK_AND_ASSIGN(const v1::User user, Create("sync-bot"));
  TL_ASSERT_OK_AND_ASSIGN(const v1::CreateApiKeyResponse created, CreateKey(user.user_id(), {}));
  const std::string& secret = created.secret();
  std::string altered = secret;
  altered.back() = altered.back() == 'A' ? 'B' : 'A';
  for (const std::string& bad :
       {altered, secret.substr(0, secret.size() - 1), std::string("tlk_"), std::string(""),
        absl::StrCat("tlk_globex_", secret.substr(secret.size() - 43)),
        absl::StrCat("tlk_", secret.substr(secret.size() - 43)),
        absl::StrCat("tlk_BAD TENANT_", secret.substr(secret.size() - 43))}) {
    EXPECT_THAT(manager_->ResolveApiKey(bad),
                StatusIs(absl::StatusCode::kUnauthenticated, "invalid API key"))
        << bad;
  }
}

TEST_F(IdentityManagerTest, ApiKeysGetAtMostTheRolesPermissions) {
  TL_ASSERT_OK_AND_ASSIGN(const v1::User user, Create("sync-bot"));
  EXPECT_THAT(
      status::FieldViolationsOf(
          CreateKey(user.user_id(), {v1::PERMISSION_ADMINISTER, v1::PERMISSION_CUSTOMERS_WRITE,
                                     v1::PERMISSION_AUDIT_READ})
              .status()),
      ElementsAre(
          Pair("api_key.permissions", "role 'rep' of the user lacks PERMISSION_ADMINISTER"),
          Pair("api_key.permissions", "role 'rep' of the user lacks PERMISSION_AUDIT_READ")));
  EXPECT_THAT(status::FieldViolationsOf(
                  CreateKey(user.user_id(),
                            {v1::PERMISSION_CUSTOMERS_WRITE, v1::PERMISSION_CUSTOMERS_WRITE,
                             v1::PERMISSION_UNSPECIFIED},
                            Now() - absl::Seconds(1))
                      .status()),
              ElementsAre(Pair("api_key.permissions", "duplicate PERMISSION_CUSTOMERS_WRITE"),
                          Pair("api_key.permissions", "unknown permission 0"),
                          Pair("api_key.expire_time", "must be in the future")));
  const std::string unknown = "00000000-0000-7000-8000-00000000abcd";
  EXPECT_THAT(status::FieldViolationsOf(CreateKey(unknown, {}).status()),
              ElementsAre(Pair("api_key.user_id", absl::StrCat("no user '", unknown, "'"))));
  TL_ASSERT_OK(manager_->DisableUser(Admin(), user.user_id()));
  EXPECT_THAT(CreateKey(user.user_id(), {}), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(QueryValue("SELECT count(*) FROM api_keys"), "0");
}

TEST_F(IdentityManagerTest, TenantsAreIsolated) {
  TL_ASSERT_OK_AND_ASSIGN(const v1::User wang, Create("wang"));
  EXPECT_THAT(manager_->GetUser(Admin(kOtherTenant), wang.user_id()),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(manager_->DisableUser(Admin(kOtherTenant), wang.user_id()),
              StatusIs(absl::StatusCode::kNotFound));
  TL_ASSERT_OK_AND_ASSIGN(const v1::ListUsersResponse other,
                          manager_->ListUsers(Admin(kOtherTenant), {}));
  EXPECT_THAT(other.users(), IsEmpty());
  // A manager from another tenant is unknown.
  EXPECT_THAT(
      status::FieldViolationsOf(Create("li", "rep", wang.user_id(), "", kOtherTenant).status()),
      ElementsAre(Pair("user.manager_id", absl::StrCat("no user '", wang.user_id(), "'"))));
}

}  // namespace
}  // namespace touchline::permissions
