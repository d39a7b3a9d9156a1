#include "common/auth/scope_authenticator.h"

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/auth/testing/test_keys.h"
#include "common/auth/testing/test_metadata.h"
#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "touchline/permissions/v1/permissions_service.grpc.pb.h"

namespace touchline::auth {
namespace {

namespace pv1 = ::touchline::permissions::v1;
using ::touchline::auth::testing::NewTestKeyPair;
using ::touchline::auth::testing::TestKeyPair;
using ::touchline::auth::testing::TestMetadata;
using ::touchline::testing::StatusIs;

constexpr char kTenant[] = "acme";

pv1::EffectiveScope UserScope(std::string tenant, std::string user, std::string session) {
  pv1::EffectiveScope scope;
  scope.set_tenant_id(std::move(tenant));
  scope.set_principal_kind(pv1::PRINCIPAL_KIND_USER);
  scope.set_user_id(std::move(user));
  scope.set_session_id(std::move(session));
  scope.set_role_id("rep");
  scope.set_rank(10);
  scope.add_owner_ids(scope.user_id());
  return scope;
}

// Answers from a table keyed by the credential's secret; counts fetches; can hold a fetch
// until the test lets it go.
class FakeScopeSource : public ScopeSource {
 public:
  absl::StatusOr<pv1::EffectiveScope> Fetch(const Credential& credential) override {
    absl::Notification* entered = nullptr;
    absl::Notification* release = nullptr;
    {
      absl::MutexLock lock(&mu_);
      ++fetches_;
      kinds_.push_back(credential.kind);
      entered = entered_;
      release = release_;
      entered_ = nullptr;
      release_ = nullptr;
    }
    if (entered != nullptr) {
      entered->Notify();
      release->WaitForNotification();
    }
    absl::MutexLock lock(&mu_);
    auto answer = answers_.find(credential.secret);
    if (answer == answers_.end()) return absl::UnauthenticatedError("unknown credential");
    return answer->second;
  }

  void Answer(const std::string& secret, absl::StatusOr<pv1::EffectiveScope> answer) {
    absl::MutexLock lock(&mu_);
    answers_.insert_or_assign(secret, std::move(answer));
  }
  // The next fetch notifies `entered` and waits for `release`.
  void HoldNextFetch(absl::Notification* entered, absl::Notification* release) {
    absl::MutexLock lock(&mu_);
    entered_ = entered;
    release_ = release;
  }
  int fetches() const {
    absl::MutexLock lock(&mu_);
    return fetches_;
  }
  std::vector<Credential::Kind> kinds() const {
    absl::MutexLock lock(&mu_);
    return kinds_;
  }

 private:
  mutable absl::Mutex mu_;
  int fetches_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<Credential::Kind> kinds_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, absl::StatusOr<pv1::EffectiveScope>> answers_
      ABSL_GUARDED_BY(mu_);
  absl::Notification* entered_ ABSL_GUARDED_BY(mu_) = nullptr;
  absl::Notification* release_ ABSL_GUARDED_BY(mu_) = nullptr;
};

class ScopeAuthenticatorTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { keys_ = new TestKeyPair(NewTestKeyPair()); }
  static void TearDownTestSuite() { delete keys_; }

  void SetUp() override { Make(ScopeAuthenticatorOptions{}); }

  void Make(ScopeAuthenticatorOptions options) {
    options.clock = [this] {
      absl::MutexLock lock(&clock_mu_);
      return now_;
    };
    auto source = std::make_unique<FakeScopeSource>();
    source_ = source.get();
    absl::StatusOr<TokenVerifier> verifier = TokenVerifier::Create(keys_->public_key_pem);
    ASSERT_TRUE(verifier.ok()) << verifier.status();
    authenticator_ = std::make_unique<ScopeAuthenticator>(*std::move(verifier), std::move(source),
                                                          std::move(options));
  }

  void Advance(absl::Duration by) {
    absl::MutexLock lock(&clock_mu_);
    now_ += by;
  }

  // A token of `user` in `session`, valid for 15 minutes from the test's start, whose scope
  // the fake source knows.
  std::string Login(const std::string& user, const std::string& session,
                    const std::string& tenant = kTenant) {
    absl::StatusOr<TokenSigner> signer = TokenSigner::Create(keys_->private_key_pem);
    EXPECT_TRUE(signer.ok()) << signer.status();
    absl::StatusOr<std::string> token = signer->Sign(TokenClaims{.tenant_id = tenant,
                                                                 .user_id = user,
                                                                 .session_id = session,
                                                                 .issue_time = start_,
                                                                 .expire_time = TokenExpiry()});
    EXPECT_TRUE(token.ok()) << token.status();
    source_->Answer(*token, UserScope(tenant, user, session));
    return *token;
  }

  absl::Time TokenExpiry() const { return start_ + absl::Minutes(15); }

  absl::StatusOr<RequestContext> CallWithToken(const std::string& token) {
    TestMetadata metadata({{"authorization", "Bearer " + token}});
    return authenticator_->Authenticate(metadata.map());
  }

  absl::StatusOr<RequestContext> CallWithApiKey(const std::string& key) {
    TestMetadata metadata({{"x-api-key", key}});
    return authenticator_->Authenticate(metadata.map());
  }

  static TestKeyPair* keys_;
  // Whole seconds, as tokens carry them.
  const absl::Time start_ = absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()));
  absl::Mutex clock_mu_;
  absl::Time now_ ABSL_GUARDED_BY(clock_mu_) = start_;
  FakeScopeSource* source_ = nullptr;
  std::unique_ptr<ScopeAuthenticator> authenticator_;
};

TestKeyPair* ScopeAuthenticatorTest::keys_ = nullptr;

TEST_F(ScopeAuthenticatorTest, AttachesTheScopeAndCachesIt) {
  const std::string token = Login("u-1", "s-1");
  TestMetadata metadata({{"authorization", "Bearer " + token}, {"x-request-id", "req-7"}});
  TL_ASSERT_OK_AND_ASSIGN(RequestContext context, authenticator_->Authenticate(metadata.map()));
  EXPECT_EQ(context.tenant_id, kTenant);
  EXPECT_EQ(context.caller_id, "u-1");
  EXPECT_EQ(context.request_id, "req-7");
  ASSERT_NE(context.scope, nullptr);
  EXPECT_EQ(context.scope->proto().session_id(), "s-1");
  EXPECT_EQ(source_->fetches(), 1);
  EXPECT_THAT(source_->kinds(), ::testing::ElementsAre(Credential::Kind::kBearer));

  TL_ASSERT_OK_AND_ASSIGN(RequestContext again, CallWithToken(token));
  EXPECT_EQ(again.scope, context.scope);  // the same compiled scope, not a copy
  EXPECT_EQ(source_->fetches(), 1);
}

TEST_F(ScopeAuthenticatorTest, SessionsAreCachedSeparately) {
  const std::string first = Login("u-1", "s-1");
  const std::string second = Login("u-2", "s-2");
  TL_ASSERT_OK_AND_ASSIGN(RequestContext one, CallWithToken(first));
  TL_ASSERT_OK_AND_ASSIGN(RequestContext two, CallWithToken(second));
  EXPECT_EQ(one.caller_id, "u-1");
  EXPECT_EQ(two.caller_id, "u-2");
  TL_ASSERT_OK(CallWithToken(first));
  TL_ASSERT_OK(CallWithToken(second));
  EXPECT_EQ(source_->fetches(), 2);
}

TEST_F(ScopeAuthenticatorTest, InvalidatingASessionDropsOnlyItsScope) {
  const std::string first = Login("u-1", "s-1");
  const std::string second = Login("u-2", "s-2");
  TL_ASSERT_OK(CallWithToken(first));
  TL_ASSERT_OK(CallWithToken(second));
  authenticator_->Invalidate(kTenant, {"s-1"});
  TL_ASSERT_OK(CallWithToken(first));
  TL_ASSERT_OK(CallWithToken(second));
  EXPECT_EQ(source_->fetches(), 3);
  // Another tenant's event, or another session's, changes nothing here.
  authenticator_->Invalidate("globex", {});
  authenticator_->Invalidate("globex", {"s-1"});
  authenticator_->Invalidate(kTenant, {"s-9"});
  TL_ASSERT_OK(CallWithToken(first));
  TL_ASSERT_OK(CallWithToken(second));
  EXPECT_EQ(source_->fetches(), 3);
}

TEST_F(ScopeAuthenticatorTest, InvalidatingTheTenantDropsAllItsScopes) {
  const std::string first = Login("u-1", "s-1");
  const std::string second = Login("u-2", "s-2");
  const std::string other = Login("u-3", "s-3", "globex");
  for (const std::string* token : {&first, &second, &other}) TL_ASSERT_OK(CallWithToken(*token));
  authenticator_->Invalidate(kTenant, {});
  for (const std::string* token : {&first, &second, &other}) TL_ASSERT_OK(CallWithToken(*token));
  EXPECT_EQ(source_->fetches(), 5);
}

TEST_F(ScopeAuthenticatorTest, AFetchRacingAnInvalidationIsNotCached) {
  const std::string token = Login("u-1", "s-1");
  absl::Notification entered;
  absl::Notification release;
  source_->HoldNextFetch(&entered, &release);
  absl::StatusOr<RequestContext> raced;
  std::thread call([&] { raced = CallWithToken(token); });
  entered.WaitForNotification();
  // The policy changes while the scope is on its way: what arrives may be stale.
  authenticator_->Invalidate(kTenant, {"s-1"});
  release.Notify();
  call.join();
  TL_ASSERT_OK(raced);
  EXPECT_EQ(source_->fetches(), 1);
  TL_ASSERT_OK(CallWithToken(token));
  EXPECT_EQ(source_->fetches(), 2);
  TL_ASSERT_OK(CallWithToken(token));
  EXPECT_EQ(source_->fetches(), 2);
}

TEST_F(ScopeAuthenticatorTest, ScopesAreFetchedAgainAfterMaxScopeAge) {
  Make(ScopeAuthenticatorOptions{.max_scope_age = absl::Minutes(2)});
  const std::string token = Login("u-1", "s-1");
  TL_ASSERT_OK(CallWithToken(token));
  Advance(absl::Minutes(2) - absl::Seconds(1));
  TL_ASSERT_OK(CallWithToken(token));
  EXPECT_EQ(source_->fetches(), 1);
  Advance(absl::Seconds(1));
  TL_ASSERT_OK(CallWithToken(token));
  EXPECT_EQ(source_->fetches(), 2);
}

TEST_F(ScopeAuthenticatorTest, AScopeExpiresAtItsOwnExpireTime) {
  const std::string token = Login("u-1", "s-1");
  pv1::EffectiveScope scope = UserScope(kTenant, "u-1", "s-1");
  scope.mutable_expire_time()->set_seconds(absl::ToUnixSeconds(start_ + absl::Seconds(30)));
  source_->Answer(token, scope);
  TL_ASSERT_OK(CallWithToken(token));
  Advance(absl::Seconds(29));
  TL_ASSERT_OK(CallWithToken(token));
  EXPECT_EQ(source_->fetches(), 1);
  Advance(absl::Seconds(1));
  TL_ASSERT_OK(CallWithToken(token));
  EXPECT_EQ(source_->fetches(), 2);
}

TEST_F(ScopeAuthenticatorTest, AnExpiredTokenIsRefusedEvenWithItsScopeCached) {
  Make(ScopeAuthenticatorOptions{.max_scope_age = absl::Hours(1)});
  const std::string token = Login("u-1", "s-1");
  TL_ASSERT_OK(CallWithToken(token));
  Advance(absl::Minutes(16));
  EXPECT_THAT(CallWithToken(token), StatusIs(absl::StatusCode::kUnauthenticated, "token expired"));
  EXPECT_EQ(source_->fetches(), 1);
}

TEST_F(ScopeAuthenticatorTest, TheTenantHeaderMustMatchTheToken) {
  const std::string token = Login("u-1", "s-1");
  TestMetadata same({{"authorization", "Bearer " + token}, {"x-touchline-tenant", kTenant}});
  TL_ASSERT_OK(authenticator_->Authenticate(same.map()));
  TestMetadata other({{"authorization", "Bearer " + token}, {"x-touchline-tenant", "globex"}});
  // Both before (cold) and after (cached) the scope is known.
  EXPECT_THAT(authenticator_->Authenticate(other.map()),
              StatusIs(absl::StatusCode::kUnauthenticated,
                       "x-touchline-tenant does not match the tenant of the credential"));
  Make(ScopeAuthenticatorOptions{});
  const std::string fresh = Login("u-1", "s-1");
  TestMetadata cold({{"authorization", "Bearer " + fresh}, {"x-touchline-tenant", "globex"}});
  EXPECT_THAT(authenticator_->Authenticate(cold.map()),
              StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_EQ(source_->fetches(), 0);
}

TEST_F(ScopeAuthenticatorTest, AScopeOfAnotherTenantUserOrSessionIsRefused) {
  const std::string token = Login("u-1", "s-1");
  for (const pv1::EffectiveScope& wrong :
       {UserScope("globex", "u-1", "s-1"), UserScope(kTenant, "u-2", "s-1"),
        UserScope(kTenant, "u-1", "s-2")}) {
    source_->Answer(token, wrong);
    EXPECT_THAT(CallWithToken(token), StatusIs(absl::StatusCode::kUnauthenticated,
                                               "the scope does not belong to the credential"))
        << wrong.ShortDebugString();
  }
  pv1::EffectiveScope api_key_scope = UserScope(kTenant, "u-1", "s-1");
  api_key_scope.set_principal_kind(pv1::PRINCIPAL_KIND_API_KEY);
  source_->Answer(token, api_key_scope);
  EXPECT_THAT(CallWithToken(token), StatusIs(absl::StatusCode::kUnauthenticated));
  // Nothing wrong was cached.
  source_->Answer(token, UserScope(kTenant, "u-1", "s-1"));
  TL_ASSERT_OK(CallWithToken(token));
  EXPECT_EQ(source_->fetches(), 5);
}

TEST_F(ScopeAuthenticatorTest, ExactlyOneCredential) {
  const std::string token = Login("u-1", "s-1");
  TestMetadata none({{"x-touchline-tenant", kTenant}});
  EXPECT_THAT(authenticator_->Authenticate(none.map()),
              StatusIs(absl::StatusCode::kUnauthenticated, "missing credential"));
  TestMetadata both({{"authorization", "Bearer " + token}, {"x-api-key", "tlk_abc"}});
  EXPECT_THAT(authenticator_->Authenticate(both.map()),
              StatusIs(absl::StatusCode::kUnauthenticated, "more than one credential"));
  TestMetadata two_tokens({{"authorization", "Bearer " + token}, {"authorization", "Bearer x"}});
  EXPECT_THAT(authenticator_->Authenticate(two_tokens.map()),
              StatusIs(absl::StatusCode::kUnauthenticated, "more than one credential"));
  TestMetadata empty_bearer({{"authorization", "Bearer "}});
  EXPECT_THAT(authenticator_->Authenticate(empty_bearer.map()),
              StatusIs(absl::StatusCode::kUnauthenticated, "missing credential"));
  TestMetadata basic({{"authorization", "Basic dTpw"}});
  EXPECT_THAT(authenticator_->Authenticate(basic.map()),
              StatusIs(absl::StatusCode::kUnauthenticated));
  TestMetadata bare({{"authorization", token}});
  EXPECT_THAT(authenticator_->Authenticate(bare.map()),
              StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_EQ(source_->fetches(), 0);
}

TEST_F(ScopeAuthenticatorTest, TheBearerSchemeIsCaseInsensitive) {
  const std::string token = Login("u-1", "s-1");
  for (const char* scheme : {"bearer ", "BEARER ", "Bearer   "}) {
    TestMetadata metadata({{"authorization", scheme + token}});
    TL_EXPECT_OK(authenticator_->Authenticate(metadata.map())) << scheme;
  }
}

TEST_F(ScopeAuthenticatorTest, BadTokensAreRefusedWithoutAskingForAScope) {
  EXPECT_THAT(CallWithToken("not.a.token"), StatusIs(absl::StatusCode::kUnauthenticated));
  std::string token = Login("u-1", "s-1");
  const size_t at = token.rfind('.') + 20;
  token[at] = token[at] == 'A' ? 'B' : 'A';
  EXPECT_THAT(CallWithToken(token), StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_EQ(source_->fetches(), 0);
}

TEST_F(ScopeAuthenticatorTest, RefusalsAndOutagesOfTheSourcePassThroughUncached) {
  const std::string token = Login("u-1", "s-1");
  source_->Answer(token, absl::UnauthenticatedError("session revoked"));
  EXPECT_THAT(CallWithToken(token),
              StatusIs(absl::StatusCode::kUnauthenticated, "session revoked"));
  source_->Answer(token, absl::UnavailableError("connection refused"));
  EXPECT_THAT(CallWithToken(token), StatusIs(absl::StatusCode::kUnavailable));
  source_->Answer(token, absl::DeadlineExceededError("slow"));
  EXPECT_THAT(CallWithToken(token), StatusIs(absl::StatusCode::kUnavailable));
  source_->Answer(token, UserScope(kTenant, "u-1", "s-1"));
  TL_ASSERT_OK(CallWithToken(token));
  EXPECT_EQ(source_->fetches(), 4);
}

TEST_F(ScopeAuthenticatorTest, AScopeThatDoesNotCompileIsInternal) {
  const std::string token = Login("u-1", "s-1");
  pv1::EffectiveScope scope = UserScope(kTenant, "u-1", "s-1");
  pv1::FieldRule* rule = scope.add_field_rules();
  rule->set_resource("order");
  rule->set_field_path("x");
  rule->set_access(pv1::FIELD_ACCESS_HIDDEN);
  source_->Answer(token, scope);
  EXPECT_THAT(CallWithToken(token), StatusIs(absl::StatusCode::kInternal));
}

pv1::EffectiveScope ApiKeyScope(std::string key_id) {
  pv1::EffectiveScope scope = UserScope(kTenant, "u-1", std::move(key_id));
  scope.set_principal_kind(pv1::PRINCIPAL_KIND_API_KEY);
  return scope;
}

TEST_F(ScopeAuthenticatorTest, ApiKeysAreCachedByKeyAndInvalidatedByKeyId) {
  source_->Answer("tlk_first", ApiKeyScope("k-1"));
  source_->Answer("tlk_second", ApiKeyScope("k-2"));
  TL_ASSERT_OK_AND_ASSIGN(RequestContext context, CallWithApiKey("tlk_first"));
  EXPECT_EQ(context.tenant_id, kTenant);
  EXPECT_EQ(context.caller_id, "u-1");
  EXPECT_EQ(context.scope->proto().session_id(), "k-1");
  TL_ASSERT_OK(CallWithApiKey("tlk_first"));
  TL_ASSERT_OK(CallWithApiKey("tlk_second"));
  EXPECT_EQ(source_->fetches(), 2);
  EXPECT_THAT(source_->kinds(),
              ::testing::ElementsAre(Credential::Kind::kApiKey, Credential::Kind::kApiKey));
  authenticator_->Invalidate(kTenant, {"k-1"});
  TL_ASSERT_OK(CallWithApiKey("tlk_first"));
  TL_ASSERT_OK(CallWithApiKey("tlk_second"));
  EXPECT_EQ(source_->fetches(), 3);
  authenticator_->Invalidate(kTenant, {});
  TL_ASSERT_OK(CallWithApiKey("tlk_second"));
  EXPECT_EQ(source_->fetches(), 4);
}

TEST_F(ScopeAuthenticatorTest, ApiKeyRefusals) {
  EXPECT_THAT(CallWithApiKey("tlk_unknown"),
              StatusIs(absl::StatusCode::kUnauthenticated, "unknown credential"));
  // A user session's scope for an API key is someone else's.
  source_->Answer("tlk_odd", UserScope(kTenant, "u-1", "s-1"));
  EXPECT_THAT(CallWithApiKey("tlk_odd"), StatusIs(absl::StatusCode::kUnauthenticated));
  source_->Answer("tlk_ok", ApiKeyScope("k-1"));
  TestMetadata other({{"x-api-key", "tlk_ok"}, {"x-touchline-tenant", "globex"}});
  EXPECT_THAT(authenticator_->Authenticate(other.map()),
              StatusIs(absl::StatusCode::kUnauthenticated));
}

TEST_F(ScopeAuthenticatorTest, ACredentialGrpcCannotCarryIsRefusedWithoutAskingForAScope) {
  // The source would forward it as metadata, and gRPC aborts on such a value.
  for (const std::string& key : {std::string("tlk_\xe5\xbc\xa0"), std::string("tlk_\x01"),
                                 std::string("tlk_\xe9"), std::string("tlk_a\x7f")}) {
    source_->Answer(key, ApiKeyScope("k-1"));
    EXPECT_THAT(CallWithApiKey(key), StatusIs(absl::StatusCode::kUnauthenticated,
                                              "malformed credential: must be printable ASCII"));
  }
  EXPECT_THAT(CallWithToken("\xe5\xbc\xa0"),
              StatusIs(absl::StatusCode::kUnauthenticated,
                       "malformed credential: must be printable ASCII"));
  EXPECT_EQ(source_->fetches(), 0);
}

TEST_F(ScopeAuthenticatorTest, TheCacheStaysBounded) {
  Make(ScopeAuthenticatorOptions{.max_entries = 4});
  std::vector<std::string> tokens;
  for (int i = 0; i < 4; ++i) {
    tokens.push_back(Login(absl::StrCat("u-", i), absl::StrCat("s-", i)));
    TL_ASSERT_OK(CallWithToken(tokens.back()));
  }
  EXPECT_EQ(source_->fetches(), 4);
  // A fifth drops the older half (sessions 0 and 1).
  tokens.push_back(Login("u-4", "s-4"));
  TL_ASSERT_OK(CallWithToken(tokens.back()));
  EXPECT_EQ(source_->fetches(), 5);
  TL_ASSERT_OK(CallWithToken(tokens[3]));
  TL_ASSERT_OK(CallWithToken(tokens[2]));
  EXPECT_EQ(source_->fetches(), 5);
  TL_ASSERT_OK(CallWithToken(tokens[0]));
  EXPECT_EQ(source_->fetches(), 6);
}

TEST_F(ScopeAuthenticatorTest, ConcurrentCallsAgree) {
  std::vector<std::string> tokens;
  for (int i = 0; i < 8; ++i) tokens.push_back(Login(absl::StrCat("u-", i), absl::StrCat("s-", i)));
  std::atomic<int> failures = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 400; ++i) {
        const int which = (i + t) % 8;
        absl::StatusOr<RequestContext> context = CallWithToken(tokens[which]);
        if (!context.ok() || context->caller_id != absl::StrCat("u-", which)) ++failures;
        if (i % 50 == 0) authenticator_->Invalidate(kTenant, {absl::StrCat("s-", which)});
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_LT(source_->fetches(), 4 * 400);
}

// ---- MakeGrpcScopeSource against an in-process PermissionsService ----

class FakePermissionsService : public pv1::PermissionsService::Service {
 public:
  grpc::Status GetEffectiveScope(grpc::ServerContext* context, const pv1::GetEffectiveScopeRequest*,
                                 pv1::GetEffectiveScopeResponse* response) override {
    const auto& metadata = context->client_metadata();
    auto authorization = metadata.find("authorization");
    auto api_key = metadata.find("x-api-key");
    if (authorization != metadata.end() &&
        std::string_view(authorization->second.data(), authorization->second.size()) ==
            "Bearer good-token") {
      *response->mutable_scope() = UserScope(kTenant, "u-1", "s-1");
      return grpc::Status::OK;
    }
    if (api_key != metadata.end() &&
        std::string_view(api_key->second.data(), api_key->second.size()) == "tlk_good") {
      *response->mutable_scope() = ApiKeyScope("k-1");
      return grpc::Status::OK;
    }
    if (api_key != metadata.end() &&
        std::string_view(api_key->second.data(), api_key->second.size()) == "tlk_denied") {
      return grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "user disabled");
    }
    if (api_key != metadata.end() &&
        std::string_view(api_key->second.data(), api_key->second.size()) == "tlk_broken") {
      return grpc::Status(grpc::StatusCode::INTERNAL, "database down");
    }
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "session revoked");
  }
};

TEST(GrpcScopeSourceTest, ForwardsTheCredentialAndMapsFailures) {
  FakePermissionsService service;
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  std::unique_ptr<ScopeSource> source = MakeGrpcScopeSource(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));

  TL_ASSERT_OK_AND_ASSIGN(
      pv1::EffectiveScope scope,
      source->Fetch(Credential{.kind = Credential::Kind::kBearer, .secret = "good-token"}));
  EXPECT_EQ(scope.session_id(), "s-1");
  TL_ASSERT_OK_AND_ASSIGN(
      scope, source->Fetch(Credential{.kind = Credential::Kind::kApiKey, .secret = "tlk_good"}));
  EXPECT_EQ(scope.session_id(), "k-1");
  EXPECT_THAT(source->Fetch(Credential{.kind = Credential::Kind::kBearer, .secret = "revoked"}),
              StatusIs(absl::StatusCode::kUnauthenticated, "session revoked"));
  EXPECT_THAT(source->Fetch(Credential{.kind = Credential::Kind::kApiKey, .secret = "tlk_denied"}),
              StatusIs(absl::StatusCode::kUnauthenticated, "user disabled"));
  EXPECT_THAT(source->Fetch(Credential{.kind = Credential::Kind::kApiKey, .secret = "tlk_broken"}),
              StatusIs(absl::StatusCode::kUnavailable));
  server->Shutdown();
}

TEST(GrpcScopeSourceTest, AnUnreachableServiceIsUnavailableAfterTheTimeout) {
  // Nothing listens on this port once the server that held it is gone.
  int port = 0;
  {
    FakePermissionsService service;
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&service);
    std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
    ASSERT_NE(server, nullptr);
    server->Shutdown();
  }
  std::unique_ptr<ScopeSource> source = MakeGrpcScopeSource(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()),
      absl::Milliseconds(300));
  EXPECT_THAT(source->Fetch(Credential{.kind = Credential::Kind::kBearer, .secret = "t"}),
              StatusIs(absl::StatusCode::kUnavailable));
}

}  // namespace
}  // namespace touchline::auth
