// IdentityManager on the in-memory store (hermetic): who may call what, all-or-nothing units
// of work, idempotent user creation, login throttling, refresh token rotation, delegated
// sessions, API key rules, and the retention of ended sessions. identity_manager_pgtest.cc covers
// the same rules on PostgreSQL.
#include "services/permissions/identity/identity_manager.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/auth/testing/test_keys.h"
#include "common/status/errors.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/permissions/identity/testing/callers.h"
#include "services/permissions/identity/testing/in_memory_identity_store.h"
#include "tests/testing/status_matchers.h"
#include "touchline/events/v1/permission_events.pb.h"

namespace touchline::permissions {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::SizeIs;
using ::touchline::testing::StatusIs;

constexpr char kTenant[] = "acme";
constexpr char kAdminId[] = "00000000-0000-7000-8000-000000000001";
constexpr char kPassword[] = "correct horse battery";

const auth::testing::TestKeyPair& TestKeys() {
  static const auth::testing::TestKeyPair* const keys =
      new auth::testing::TestKeyPair(auth::testing::NewTestKeyPair());
  return *keys;
}

class IdentityManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_.AddRole(
        kTenant, "rep",
        {.data_scope = v1::DATA_SCOPE_OWNED,
         .permissions = {v1::PERMISSION_CUSTOMERS_WRITE, v1::PERMISSION_TOUCHPOINTS_WRITE}});
    store_.AddRole(
        kTenant, "partner",
        {.data_scope = v1::DATA_SCOPE_SHARED, .permissions = {v1::PERMISSION_TOUCHPOINTS_WRITE}});
    store_.AddPartnerOrg(kTenant, "channel-one");
    auto signer = auth::TokenSigner::Create(TestKeys().private_key_pem);
    ASSERT_TRUE(signer.ok()) << signer.status();
    IdentityOptions options;
    options.hash_cost = PasswordHashCost::Minimum();
    options.session_retention = absl::Hours(24);
    options.session_purge_batch = 2;
    options.login_throttle.address_account_failures = 2;
    options.clock = [this] { return now_; };
    options.on_scopes_invalidated = [this](const std::string&,
                                           const std::vector<std::string>& sessions) {
      invalidated_.push_back(sessions);
    };
    manager_ = std::make_unique<IdentityManager>(
        &store_, *std::move(signer), paging::PageTokens(std::string(32, 'k')), std::move(options));
  }

  absl::StatusOr<v1::User> Create(const std::string& username, const std::string& manager_id = "",
                                  const std::string& request_id = "") {
    v1::CreateUserRequest request;
    request.mutable_user()->set_username(username);
    request.mutable_user()->set_display_name(username);
    request.mutable_user()->set_role_id("rep");
    request.mutable_user()->set_manager_id(manager_id);
    request.set_password(kPassword);
    request.set_request_id(request_id);
    return manager_->CreateUser(Admin(), request);
  }
  absl::StatusOr<v1::LoginResponse> Login(const std::string& username,
                                          const std::string& password = kPassword) {
    v1::LoginRequest request;
    request.set_username(username);
    request.set_password(password);
    return manager_->Login(kTenant, "test", "10.0.0.7", "req-login", request);
  }
  absl::StatusOr<v1::LoginResponse> Refresh(const std::string& token) {
    v1::RefreshTokenRequest request;
    request.set_refresh_token(token);
    return manager_->Refresh(kTenant, "test", "req-refresh", request);
  }
  static auth::RequestContext Admin() { return testing::AdminCaller(kTenant, kAdminId); }
  static auth::RequestContext As(const std::string& user_id) {
    return testing::UserCaller(kTenant, user_id);
  }
  // How many sessions PurgeEndedSessions deleted; -1 when it failed.
  int64_t Purge() {
    const absl::StatusOr<int64_t> purged = manager_->PurgeEndedSessions();
    EXPECT_TRUE(purged.ok()) << purged.status();
    return purged.value_or(-1);
  }
  std::vector<std::string> AuditActions() const {
    std::vector<std::string> actions;
    for (const auto& entry : store_.Snapshot().audit) actions.push_back(entry.event.action());
    return actions;
  }

  testing::InMemoryIdentityStore store_;
  absl::Time now_ = absl::FromUnixSeconds(1'800'000'000);
  std::vector<std::vector<std::string>> invalidated_;
  std::unique_ptr<IdentityManager> manager_;
};

TEST_F(IdentityManagerTest, UserAdministrationNeedsAdminister) {
  TL_ASSERT_OK_AND_ASSIGN(const v1::User wang, Create("wang"));
  v1::CreateUserRequest create;
  create.mutable_user()->set_username("li");
  create.mutable_user()->set_display_name("li");
  create.mutable_user()->set_role_id("rep");
  create.set_password(kPassword);
  EXPECT_THAT(manager_->CreateUser(As(wang.user_id()), create),
              StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(manager_->ListUsers(As(wang.user_id()), {}),
              StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(manager_->DisableUser(As(wang.user_id()), wang.user_id()),
              StatusIs(absl::StatusCode::kPermissionDenied));
  // A user reads themselves, not others.
  TL_EXPECT_OK(manager_->GetUser(As(wang.user_id()), wang.user_id()));
  EXPECT_THAT(manager_->GetUser(As(wang.user_id()), kAdminId),
              StatusIs(absl::StatusCode::kPermissionDenied));
  // Without a scope nothing is authorised.
  auth::RequestContext no_scope = Admin();
  no_scope.scope = nullptr;
  EXPECT_THAT(manager_->ListUsers(no_scope, {}), StatusIs(absl::StatusCode::kInternal));
  EXPECT_THAT(store_.Snapshot().users, SizeIs(1));
}

TEST_F(IdentityManagerTest, CreateUserIsIdempotentByRequestId) {
  TL_ASSERT_OK_AND_ASSIGN(const v1::User first, Create("wang", "", "create-wang"));
  TL_ASSERT_OK_AND_ASSIGN(const v1::User again, Create("wang", "", "create-wang"));
  EXPECT_EQ(again.user_id(), first.user_id());
  EXPECT_THAT(Create("li", "", "create-wang"), StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_THAT(Create("WANG"), StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_THAT(AuditActions(), ElementsAre("user.created"));
}

TEST_F(IdentityManagerTest, AFailedChangeLeavesNothingBehind) {
  TL_ASSERT_OK_AND_ASSIGN(const v1::User boss, Create("boss"));
  TL_ASSERT_OK_AND_ASSIGN(const v1::User wang, Create("wang", boss.user_id()));
  const testing::InMemoryIdentityStore::Data before = store_.Snapshot();
  // boss -> wang would close the cycle wang -> boss -> wang.
  v1::UpdateUserRequest request;
  request.mutable_user()->set_user_id(boss.user_id());
  request.mutable_user()->set_manager_id(wang.user_id());
  request.mutable_user()->set_display_name("new name");
  request.mutable_update_mask()->add_paths("manager_id");
  request.mutable_update_mask()->add_paths("display_name");
  EXPECT_THAT(manager_->UpdateUser(Admin(), request),
              StatusIs(absl::StatusCode::kInvalidArgument, ::testing::HasSubstr("cycle")));
  const testing::InMemoryIdentityStore::Data after = store_.Snapshot();
  EXPECT_EQ(after.users.at({kTenant, boss.user_id()}).display_name, "boss");
  EXPECT_EQ(after.audit.size(), before.audit.size());
  EXPECT_EQ(after.published.size(), before.published.size());
}

TEST_F(IdentityManagerTest, RefreshRotatesAndAReplayedTokenEndsTheSession) {
  TL_ASSERT_OK_AND_ASSIGN(const v1::User wang, Create("wang"));
  TL_ASSERT_OK_AND_ASSIGN(const v1::LoginResponse login, Login("wang"));
  TL_ASSERT_OK_AND_ASSIGN(const Principal principal,
                          manager_->ResolveSession(kTenant, wang.user_id(), login.session_id()));
  EXPECT_EQ(principal.kind, v1::PRINCIPAL_KIND_USER);
  TL_ASSERT_OK_AND_ASSIGN(const v1::LoginResponse rotated, Refresh(login.refresh_token()));
  EXPECT_NE(rotated.refresh_token(), login.refresh_token());
  invalidated_.clear();
  // The replaced token again: the session ends, and its scopes with it.
  EXPECT_THAT(Refresh(login.refresh_token()), StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(invalidated_, ElementsAre(ElementsAre(login.session_id())));
  EXPECT_THAT(Refresh(rotated.refresh_token()), StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(manager_->ResolveSession(kTenant, wang.user_id(), login.session_id()),
              StatusIs(absl::StatusCode::kUnauthenticated, "session revoked"));
}

TEST_F(IdentityManagerTest, DelegatedSessionsAreReusedRevokedAndPurgedLikeOthers) {
  TL_ASSERT_OK_AND_ASSIGN(const v1::User wang, Create("wang"));
  const auto delegate = [&](const std::string& service) {
    return manager_->IssueDelegatedToken(kTenant, wang.user_id(), service, "rule 1", "req-d");
  };
  EXPECT_THAT(delegate("journeys"), StatusIs(absl::StatusCode::kPermissionDenied));
  TL_ASSERT_OK_AND_ASSIGN(const v1::IssueDelegatedTokenResponse first, delegate("automation"));
  now_ += absl::Hours(11);
  TL_ASSERT_OK_AND_ASSIGN(const v1::IssueDelegatedTokenResponse reused, delegate("automation"));
  EXPECT_EQ(reused.session_id(), first.session_id());
  EXPECT_EQ(store_.Snapshot().sessions.size(), 1u);
  // 12 h after it was made, less than an access token is left: a new session.
  now_ += absl::Minutes(46);
  TL_ASSERT_OK_AND_ASSIGN(const v1::IssueDelegatedTokenResponse renewed, delegate("automation"));
  EXPECT_NE(renewed.session_id(), first.session_id());
  EXPECT_THAT(AuditActions(),
              ElementsAre("user.created", "session.delegated", "session.delegated"));
  EXPECT_THAT(Refresh(renewed.session_id() + "." + std::string(43, 'A')),
              StatusIs(absl::StatusCode::kUnauthenticated));

  // A revoked one is not reused.
  TL_ASSERT_OK(manager_->RevokeSession(As(wang.user_id()), renewed.session_id()));
  TL_ASSERT_OK_AND_ASSIGN(const v1::IssueDelegatedTokenResponse third, delegate("automation"));
  EXPECT_NE(third.session_id(), renewed.session_id());

  invalidated_.clear();
  TL_ASSERT_OK(manager_->DisableUser(Admin(), wang.user_id()));
  // The first session still lasts 14 minutes: it ends too.
  EXPECT_THAT(invalidated_,
              ElementsAre(::testing::UnorderedElementsAre(first.session_id(), third.session_id())));
  EXPECT_THAT(manager_->ResolveSession(kTenant, wang.user_id(), third.session_id()),
              StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(delegate("automation"), StatusIs(absl::StatusCode::kFailedPrecondition));

  // Retention takes them as it takes login sessions.
  now_ += absl::Hours(24 + 12);
  EXPECT_EQ(Purge(), 2);
  EXPECT_EQ(Purge(), 1);
  EXPECT_THAT(store_.Snapshot().sessions, IsEmpty());
}

TEST_F(IdentityManagerTest, WrongPasswordsAreThrottledAndAudited) {
  TL_ASSERT_OK(Create("wang"));
  EXPECT_THAT(Login("wang", "wrong password!"), StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(Login("wang", "wrong password!"), StatusIs(absl::StatusCode::kUnauthenticated));
  // The second failure reached the threshold: the next attempt waits, even with the right
  // password.
  EXPECT_THAT(Login("wang"), StatusIs(absl::StatusCode::kResourceExhausted));
  now_ += absl::Seconds(2);
  TL_EXPECT_OK(Login("wang"));
  EXPECT_THAT(AuditActions(),
              ElementsAre("user.created", "login.failed", "login.failed", "login.succeeded"));
}

TEST_F(IdentityManagerTest, OnlyAnAdministratorEndsOthersSessions) {
  TL_ASSERT_OK_AND_ASSIGN(const v1::User wang, Create("wang"));
  TL_ASSERT_OK_AND_ASSIGN(const v1::User li, Create("li"));
  TL_ASSERT_OK_AND_ASSIGN(const v1::LoginResponse wang_login, Login("wang"));
  TL_ASSERT_OK_AND_ASSIGN(const v1::LoginResponse li_login, Login("li"));
  EXPECT_THAT(manager_->RevokeSession(As(wang.user_id()), li_login.session_id()),
              StatusIs(absl::StatusCode::kNotFound));
  TL_EXPECT_OK(manager_->RevokeSession(As(wang.user_id()), wang_login.session_id()));
  TL_EXPECT_OK(manager_->RevokeSession(Admin(), li_login.session_id()));
  EXPECT_THAT(manager_->ResolveSession(kTenant, li.user_id(), li_login.session_id()),
              StatusIs(absl::StatusCode::kUnauthenticated, "session revoked"));
}

TEST_F(IdentityManagerTest, ApiKeysStayWithinTheRoleAndTheirOwner) {
  TL_ASSERT_OK_AND_ASSIGN(const v1::User bot, Create("sync-bot"));
  v1::CreateApiKeyRequest request;
  request.mutable_api_key()->set_display_name("sync");
  request.mutable_api_key()->set_user_id(bot.user_id());
  request.mutable_api_key()->add_permissions(v1::PERMISSION_ADMINISTER);
  EXPECT_THAT(manager_->CreateApiKey(Admin(), request),
              StatusIs(absl::StatusCode::kInvalidArgument));
  request.mutable_api_key()->clear_permissions();
  request.mutable_api_key()->add_permissions(v1::PERMISSION_CUSTOMERS_WRITE);
  EXPECT_THAT(manager_->CreateApiKey(As(bot.user_id()), request),
              StatusIs(absl::StatusCode::kPermissionDenied));
  TL_ASSERT_OK_AND_ASSIGN(const v1::CreateApiKeyResponse created,
                          manager_->CreateApiKey(Admin(), request));
  TL_ASSERT_OK_AND_ASSIGN(const Principal principal, manager_->ResolveApiKey(created.secret()));
  EXPECT_EQ(principal.user_id, bot.user_id());

  v1::ListApiKeysRequest own;
  own.set_user_id(bot.user_id());
  TL_ASSERT_OK_AND_ASSIGN(const v1::ListApiKeysResponse listed,
                          manager_->ListApiKeys(As(bot.user_id()), own));
  EXPECT_THAT(listed.api_keys(), SizeIs(1));
  EXPECT_THAT(manager_->ListApiKeys(As(bot.user_id()), {}),
              StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(manager_->RevokeApiKey(As(bot.user_id()), created.api_key().api_key_id()),
              StatusIs(absl::StatusCode::kPermissionDenied));
  TL_ASSERT_OK(manager_->DisableUser(Admin(), bot.user_id()));
  EXPECT_THAT(manager_->ResolveApiKey(created.secret()),
              StatusIs(absl::StatusCode::kUnauthenticated, "API key revoked"));
}

TEST_F(IdentityManagerTest, PurgeDeletesSessionsEndedLongerAgoThanTheRetention) {
  TL_ASSERT_OK(Create("wang"));
  TL_ASSERT_OK_AND_ASSIGN(const v1::LoginResponse expiring, Login("wang"));
  TL_ASSERT_OK_AND_ASSIGN(const v1::LoginResponse revoked, Login("wang"));
  TL_ASSERT_OK(manager_->RevokeSession(Admin(), revoked.session_id()));
  // Both ended (one expired after the 12 h session_ttl, one revoked) but not 24 h ago yet.
  now_ += absl::Hours(13);
  TL_ASSERT_OK_AND_ASSIGN(const v1::LoginResponse live, Login("wang"));
  EXPECT_EQ(Purge(), 0);
  now_ += absl::Hours(24);
  TL_ASSERT_OK_AND_ASSIGN(const v1::LoginResponse newest, Login("wang"));
  // `live` expired 11 h ago: kept; the two that ended over 24 h ago go.
  EXPECT_EQ(Purge(), 2);
  std::vector<std::string> left;
  for (const auto& [key, session] : store_.Snapshot().sessions) left.push_back(key.second);
  EXPECT_THAT(left, ::testing::UnorderedElementsAre(live.session_id(), newest.session_id()));
  EXPECT_EQ(Purge(), 0);
}

TEST_F(IdentityManagerTest, PurgeDeletesAtMostOneBatch) {
  TL_ASSERT_OK(Create("wang"));
  for (int i = 0; i < 3; ++i) TL_ASSERT_OK(Login("wang"));
  now_ += absl::Hours(12 + 24 + 1);
  EXPECT_EQ(Purge(), 2);
  EXPECT_EQ(Purge(), 1);
  EXPECT_THAT(store_.Snapshot().sessions, IsEmpty());
}

TEST_F(IdentityManagerTest, PurgeAllRunsBatchesUntilOneComesBackShortOrItIsStopped) {
  TL_ASSERT_OK(Create("wang"));
  for (int i = 0; i < 5; ++i) TL_ASSERT_OK(Login("wang"));
  now_ += absl::Hours(12 + 24 + 1);
  int asked = 0;
  // Stopped after the first batch of 2.
  EXPECT_EQ(manager_->PurgeAllEndedSessions([&] { return ++asked == 1; }).value_or(-1), 2);
  // Batches of 2 and 1: the short one ends the run.
  EXPECT_EQ(manager_->PurgeAllEndedSessions([] { return false; }).value_or(-1), 3);
  EXPECT_THAT(store_.Snapshot().sessions, IsEmpty());
}

}  // namespace
}  // namespace touchline::permissions
