// The permissions service through a real gRPC stack in process, on real PostgreSQL (a fresh
// schema per test), authenticated the way production is: signed access tokens and API keys
// resolved by the in-process scope source.
#include <grpcpp/grpcpp.h>

#include <map>
#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/auth/request_context.h"
#include "common/auth/scope_authenticator.h"
#include "common/auth/service_credential.h"
#include "common/auth/testing/test_keys.h"
#include "common/events/outbox.h"
#include "common/ids/ids.h"
#include "common/pg/pool.h"
#include "common/server/executor.h"
#include "common/server/server.h"
#include "common/server/unary_call.h"
#include "common/status/grpc_status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/permissions/access_check.h"
#include "services/permissions/audit/audit_log.h"
#include "services/permissions/bootstrap.h"
#include "services/permissions/customer_read_model.h"
#include "services/permissions/delegation_service.h"
#include "services/permissions/identity/identity_manager.h"
#include "services/permissions/identity/pg_identity_store.h"
#include "services/permissions/org/org_manager.h"
#include "services/permissions/org/pg_org_store.h"
#include "services/permissions/permissions_service.h"
#include "services/permissions/scope_compiler.h"
#include "services/permissions/scope_source.h"
#include "services/permissions/testing/permissions_db.h"
#include "touchline/contacts/v1/customer.pb.h"
#include "touchline/events/v1/customer_events.pb.h"
#include "touchline/events/v1/permission_events.pb.h"

namespace touchline::permissions {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;
using ::testing::SizeIs;
namespace cv1 = ::touchline::contacts::v1;
namespace ev = ::touchline::events::v1;

constexpr char kTenant[] = "acme";
constexpr char kOtherTenant[] = "globex";
constexpr char kPassword[] = "correct horse battery";
constexpr char kServiceName[] = "touchline.permissions.v1.PermissionsService";
constexpr char kDelegationName[] = "touchline.permissions.v1.DelegationService";
// The secret the services share (--edge_secret_file), and another one.
constexpr char kServiceSecret[] = "0123456789abcdef0123456789abcdef-services";
constexpr char kOtherSecret[] = "fedcba9876543210fedcba9876543210-outsider";

// How a test call authenticates.
struct Who {
  std::string token;    // "authorization: Bearer <token>" when set
  std::string api_key;  // "x-api-key" when set
  std::string tenant;   // "x-touchline-tenant" when set
};

std::vector<std::pair<std::string, std::string>> Violations(const grpc::Status& status) {
  return status::FieldViolationsOf(status);
}

class PermissionsServiceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    keys_ = new auth::testing::TestKeyPair(auth::testing::NewTestKeyPair());
  }

  void SetUp() override {
    pool_ = testing::MigratedPool(schema_, 8);
    ASSERT_NE(pool_, nullptr);

    auto signer = auth::TokenSigner::Create(keys_->private_key_pem);
    ASSERT_TRUE(signer.ok()) << signer.status();
    auto verifier = auth::TokenVerifier::Create(keys_->public_key_pem);
    ASSERT_TRUE(verifier.ok()) << verifier.status();
    IdentityOptions identity_options;
    identity_options.hash_cost = PasswordHashCost::Minimum();
    identity_options.login_throttle.address_account_failures = 3;
    auto page_tokens = paging::PageTokens::Load(*pool_);
    ASSERT_TRUE(page_tokens.ok()) << page_tokens.status();
    identity_store_ = std::make_unique<PgIdentityStore>(pool_.get());
    identity_ = std::make_unique<IdentityManager>(identity_store_.get(), *std::move(signer),
                                                  *page_tokens, identity_options);
    compiler_ = std::make_unique<ScopeCompiler>(pool_.get());
    authenticator_ = std::make_unique<auth::ScopeAuthenticator>(
        *verifier,
        std::make_unique<InProcessScopeSource>(*verifier, identity_.get(), compiler_.get()));
    const InvalidateScopesFn invalidate = [this](const std::string& tenant,
                                                 const std::vector<std::string>& sessions) {
      authenticator_->Invalidate(tenant, sessions);
    };
    OrgOptions org_options;
    org_options.invalidate_scopes = invalidate;
    org_store_ = std::make_unique<PgOrgStore>(pool_.get());
    org_ = std::make_unique<OrgManager>(org_store_.get(), org_options);
    access_ = std::make_unique<AccessChecker>(pool_.get(), compiler_.get());
    audit_ = std::make_unique<AuditLog>(pool_.get(), *page_tokens);
    runner_ = std::make_unique<server::UnaryRunner>(kServiceName, &executor_, authenticator_.get(),
                                                    false);
    login_runner_ =
        std::make_unique<server::UnaryRunner>(kServiceName, &executor_, &tenant_only_, false);
    service_ = std::make_unique<PermissionsService>(
        PermissionsServiceDeps{.org = org_.get(),
                               .identity = identity_.get(),
                               .access = access_.get(),
                               .audit = audit_.get(),
                               .runner = runner_.get(),
                               .login_runner = login_runner_.get(),
                               .invalidate_scopes = invalidate});
    auto service_signer = auth::ServiceSigner::Create(kServiceSecret);
    ASSERT_TRUE(service_signer.ok()) << service_signer.status();
    service_authenticator_ = std::make_unique<auth::ServiceAuthenticator>(*service_signer);
    delegation_runner_ = std::make_unique<server::UnaryRunner>(kDelegationName, &executor_,
                                                               service_authenticator_.get(), false);
    delegation_ = std::make_unique<DelegationService>(identity_.get(), delegation_runner_.get());
    auto server = server::Server::Start(
        {.listen_address = "127.0.0.1:0", .metrics_address = ""},
        {{kServiceName, service_.get()}, {kDelegationName, delegation_.get()}});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    const std::shared_ptr<grpc::Channel> channel = grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", server_->port()), grpc::InsecureChannelCredentials());
    stub_ = v1::PermissionsService::NewStub(channel);
    delegation_stub_ = v1::DelegationService::NewStub(channel);

    for (const char* tenant : {kTenant, kOtherTenant}) {
      const auto bootstrapped =
          Bootstrap(pool_.get(), org_.get(), identity_.get(), tenant, "admin", kPassword);
      ASSERT_TRUE(bootstrapped.ok()) << bootstrapped.status();
    }
    admin_ = LoginAs(kTenant, "admin");
    other_admin_ = LoginAs(kOtherTenant, "admin");
    admin_id_ = UserIdOf(admin_);

    v1::CreatePartnerOrganizationRequest dealer;
    dealer.mutable_partner_organization()->set_partner_org_id("dealer-1");
    dealer.mutable_partner_organization()->set_display_name("上海经销商");
    v1::CreatePartnerOrganizationResponse created_dealer;
    ASSERT_TRUE(Call(&Stub::CreatePartnerOrganization, admin_, dealer, &created_dealer).ok());
    dealer.mutable_partner_organization()->set_partner_org_id("dealer-2");
    ASSERT_TRUE(Call(&Stub::CreatePartnerOrganization, admin_, dealer, &created_dealer).ok());

    manager_id_ = CreateUser("manager", "regional_manager", "");
    lead_id_ = CreateUser("lead", "team_lead", manager_id_);
    rep1_id_ = CreateUser("rep1", "rep", lead_id_);
    rep2_id_ = CreateUser("rep2", "rep", lead_id_);
    partner_id_ = CreateUser("partner", "partner", "", "dealer-1");
    manager_ = LoginAs(kTenant, "manager");
    rep1_ = LoginAs(kTenant, "rep1");
    rep2_ = LoginAs(kTenant, "rep2");
    partner_ = LoginAs(kTenant, "partner");

    v1::CreateTerritoryRequest north;
    north.mutable_territory()->set_territory_id("north");
    north.mutable_territory()->set_display_name("华北");
    north.mutable_territory()->add_regions("北京");
    north.mutable_territory()->add_regions("天津");
    north.mutable_territory()->add_member_user_ids(manager_id_);
    v1::CreateTerritoryResponse territory;
    ASSERT_TRUE(Call(&Stub::CreateTerritory, admin_, north, &territory).ok());
    v1::CreateTeamRequest east;
    east.mutable_team()->set_team_id("east");
    east.mutable_team()->set_display_name("华东");
    east.mutable_team()->add_member_user_ids(lead_id_);
    east.mutable_team()->add_member_user_ids(rep1_id_);
    v1::CreateTeamResponse team;
    ASSERT_TRUE(Call(&Stub::CreateTeam, admin_, east, &team).ok());

    rep1_customer_ = AddCustomer(kTenant, rep1_id_, "上海", cv1::CUSTOMER_LEVEL_STANDARD);
    rep2_customer_ = AddCustomer(kTenant, rep2_id_, "上海", cv1::CUSTOMER_LEVEL_KEY);
    vip_customer_ = AddCustomer(kTenant, rep1_id_, "上海", cv1::CUSTOMER_LEVEL_VIP);
    north_customer_ = AddCustomer(kTenant, admin_id_, "北京", cv1::CUSTOMER_LEVEL_STANDARD);
    other_tenant_customer_ =
        AddCustomer(kOtherTenant, "someone", "北京", cv1::CUSTOMER_LEVEL_STANDARD);
  }

  void TearDown() override {
    if (server_) server_->Shutdown();
  }

  using Stub = v1::PermissionsService::Stub;
  template <typename Request, typename Response>
  using Method = grpc::Status (Stub::*)(grpc::ClientContext*, const Request&, Response*);

  template <typename Request, typename Response>
  grpc::Status Call(Method<Request, Response> method, const Who& who, const Request& request,
                    Response* response) {
    grpc::ClientContext context;
    if (!who.token.empty()) context.AddMetadata(auth::kAuthorizationHeader, "Bearer " + who.token);
    if (!who.api_key.empty()) context.AddMetadata(auth::kApiKeyHeader, who.api_key);
    if (!who.tenant.empty()) context.AddMetadata(auth::kTenantHeader, who.tenant);
    return (stub_.get()->*method)(&context, request, response);
  }

  template <typename Request, typename Response>
  grpc::Status Call(Method<Request, Response> method, const Who& who, const Request& request) {
    Response response;
    return Call(method, who, request, &response);
  }

  Who LoginAs(const std::string& tenant, const std::string& username) {
    v1::LoginRequest request;
    request.set_username(username);
    request.set_password(kPassword);
    v1::LoginResponse response;
    const grpc::Status status = Call(&Stub::Login, Who{"", "", tenant}, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    user_ids_[response.access_token()] = response.user().user_id();
    sessions_[response.access_token()] = response.session_id();
    return Who{response.access_token(), "", ""};
  }

  std::string UserIdOf(const Who& who) { return user_ids_[who.token]; }

  std::string CreateUser(const std::string& username, const std::string& role,
                         const std::string& manager, const std::string& partner = "") {
    v1::CreateUserRequest request;
    request.mutable_user()->set_username(username);
    request.mutable_user()->set_display_name(username);
    request.mutable_user()->set_role_id(role);
    request.mutable_user()->set_manager_id(manager);
    request.mutable_user()->set_partner_org_id(partner);
    request.set_password(kPassword);
    v1::CreateUserResponse response;
    const grpc::Status status = Call(&Stub::CreateUser, admin_, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.user().user_id();
  }

  std::string AddCustomer(const std::string& tenant, const std::string& owner,
                          const std::string& region, cv1::CustomerLevel level) {
    ev::CustomerCreated created;
    cv1::Customer& customer = *created.mutable_customer();
    customer.set_customer_id(ids::NewUuid());
    customer.set_display_name("深圳市腾飞科技有限公司");
    customer.set_owner_id(owner);
    customer.set_region(region);
    customer.set_level(level);
    customer.set_state(cv1::CUSTOMER_STATE_ACTIVE);
    customer.set_etag("1");
    ApplyCustomer(created, tenant, customer.customer_id());
    return customer.customer_id();
  }

  void ApplyCustomer(const google::protobuf::Message& payload, const std::string& tenant,
                     const std::string& customer_id) {
    const ev::EventEnvelope envelope =
        events::MakeEnvelope(payload, tenant, "customer", customer_id, "", "");
    const absl::Status applied = pool_->Transact(
        [&](pqxx::work& txn) { return CustomerReadModel().ApplyEvent(txn, envelope); });
    ASSERT_TRUE(applied.ok()) << applied;
  }

  // The events in the outbox, oldest first, as (event type, aggregate id).
  std::vector<std::pair<std::string, std::string>> Outbox() {
    std::vector<std::pair<std::string, std::string>> events;
    const absl::Status read = pool_->Query([&](pqxx::nontransaction& txn) {
      for (const pqxx::row& row :
           txn.exec("SELECT event_type, aggregate_id FROM outbox ORDER BY id")) {
        events.emplace_back(row[0].as<std::string>(), row[1].as<std::string>());
      }
      return absl::OkStatus();
    });
    EXPECT_TRUE(read.ok()) << read;
    return events;
  }

  // The payloads of the outbox's CustomerSharesChanged events, oldest first.
  std::vector<ev::CustomerSharesChanged> SharesChanged() {
    std::vector<ev::CustomerSharesChanged> changes;
    const absl::Status read = pool_->Query([&](pqxx::nontransaction& txn) {
      for (const pqxx::row& row : txn.exec("SELECT envelope FROM outbox ORDER BY id")) {
        ev::EventEnvelope envelope;
        const pqxx::binarystring bytes(row[0]);
        EXPECT_TRUE(envelope.ParseFromString(bytes.str()));
        ev::CustomerSharesChanged changed;
        if (envelope.payload().UnpackTo(&changed)) changes.push_back(changed);
      }
      return absl::OkStatus();
    });
    EXPECT_TRUE(read.ok()) << read;
    return changes;
  }

  // The tenant's audit entries, newest first, as (action, resource id).
  std::vector<std::pair<std::string, std::string>> AuditTrail(const std::string& prefix = "") {
    v1::ListAuditEventsRequest request;
    request.set_page_size(1000);
    request.set_action_prefix(prefix);
    v1::ListAuditEventsResponse response;
    const grpc::Status status = Call(&Stub::ListAuditEvents, admin_, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    std::vector<std::pair<std::string, std::string>> trail;
    for (const v1::AuditEvent& event : response.events()) {
      trail.emplace_back(event.action(), event.resource_id());
    }
    return trail;
  }

  // IssueDelegatedToken as `service` signs it with `secret` (no credential when `service` is
  // empty).
  grpc::Status Delegate(const std::string& service, const std::string& tenant,
                        const std::string& user_id, v1::IssueDelegatedTokenResponse* response,
                        const std::string& secret = kServiceSecret) {
    grpc::ClientContext context;
    if (!service.empty()) {
      const auto signer = auth::ServiceSigner::Create(secret);
      EXPECT_TRUE(signer.ok()) << signer.status();
      for (const auto& [key, value] : signer->Sign(service, absl::Now())) {
        context.AddMetadata(key, value);
      }
    }
    v1::IssueDelegatedTokenRequest request;
    request.set_tenant_id(tenant);
    request.set_user_id(user_id);
    request.set_reason("rule 0190c3f2");
    return delegation_stub_->IssueDelegatedToken(&context, request, response);
  }

  v1::EffectiveScope ScopeOf(const Who& who) {
    v1::GetEffectiveScopeResponse response;
    const grpc::Status status =
        Call(&Stub::GetEffectiveScope, who, v1::GetEffectiveScopeRequest(), &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.scope();
  }

  v1::ExplainAccessResponse Explain(const Who& who, const std::string& user,
                                    const std::string& customer, v1::AccessAction action,
                                    const std::string& field_path = "") {
    v1::ExplainAccessRequest request;
    request.mutable_check()->set_user_id(user);
    request.mutable_check()->set_customer_id(customer);
    request.mutable_check()->set_action(action);
    request.mutable_check()->set_field_path(field_path);
    v1::ExplainAccessResponse response;
    const grpc::Status status = Call(&Stub::ExplainAccess, who, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  static v1::ShareCustomerRequest ShareWithTeam(const std::string& customer,
                                                const std::string& team, v1::ShareAccess access) {
    v1::ShareCustomerRequest request;
    request.mutable_share()->set_customer_id(customer);
    request.mutable_share()->set_team_id(team);
    request.mutable_share()->set_access(access);
    return request;
  }

  static v1::ShareCustomerRequest ShareWithPartner(const std::string& customer,
                                                   const std::string& partner,
                                                   v1::ShareAccess access) {
    v1::ShareCustomerRequest request;
    request.mutable_share()->set_customer_id(customer);
    request.mutable_share()->set_partner_org_id(partner);
    request.mutable_share()->set_access(access);
    return request;
  }

  inline static auth::testing::TestKeyPair* keys_ = nullptr;
  touchline::testing::ScopedSchema schema_{"permissions"};
  std::unique_ptr<pg::Pool> pool_;
  std::unique_ptr<PgIdentityStore> identity_store_;
  std::unique_ptr<IdentityManager> identity_;
  std::unique_ptr<ScopeCompiler> compiler_;
  std::unique_ptr<auth::ScopeAuthenticator> authenticator_;
  std::unique_ptr<PgOrgStore> org_store_;
  std::unique_ptr<OrgManager> org_;
  std::unique_ptr<AccessChecker> access_;
  std::unique_ptr<AuditLog> audit_;
  server::Executor executor_{4, 100};
  const auth::MetadataAuthenticator tenant_only_;
  std::unique_ptr<server::UnaryRunner> runner_;
  std::unique_ptr<server::UnaryRunner> login_runner_;
  std::unique_ptr<PermissionsService> service_;
  std::unique_ptr<auth::ServiceAuthenticator> service_authenticator_;
  std::unique_ptr<server::UnaryRunner> delegation_runner_;
  std::unique_ptr<DelegationService> delegation_;
  std::unique_ptr<server::Server> server_;
  std::unique_ptr<Stub> stub_;
  std::unique_ptr<v1::DelegationService::Stub> delegation_stub_;

  std::map<std::string, std::string> user_ids_;
  std::map<std::string, std::string> sessions_;
  Who admin_, other_admin_, manager_, rep1_, rep2_, partner_;
  std::string admin_id_, manager_id_, lead_id_, rep1_id_, rep2_id_, partner_id_;
  std::string rep1_customer_, rep2_customer_, vip_customer_, north_customer_,
      other_tenant_customer_;
};

// --- Authentication -----------------------------------------------------------------------

TEST_F(PermissionsServiceTest, CallsWithoutAValidCredentialAreUnauthenticated) {
  v1::ListRolesRequest request;
  EXPECT_EQ(Call(&Stub::ListRoles, Who{}, request).error_code(), grpc::UNAUTHENTICATED);
  EXPECT_EQ(Call(&Stub::ListRoles, Who{"not.a.token", "", ""}, request).error_code(),
            grpc::UNAUTHENTICATED);
  EXPECT_EQ(Call(&Stub::ListRoles, Who{"", "tlk_acme_nope", ""}, request).error_code(),
            grpc::UNAUTHENTICATED);
}

TEST_F(PermissionsServiceTest, LoginNeedsTheTenantAndTheRightPassword) {
  v1::LoginRequest request;
  request.set_username("rep1");
  request.set_password(kPassword);
  EXPECT_EQ(Call(&Stub::Login, Who{}, request).error_code(), grpc::UNAUTHENTICATED);
  EXPECT_EQ(Call(&Stub::Login, Who{"", "", kOtherTenant}, request).error_code(),
            grpc::UNAUTHENTICATED);
  request.set_password("wrong password!");
  const grpc::Status wrong = Call(&Stub::Login, Who{"", "", kTenant}, request);
  EXPECT_EQ(wrong.error_code(), grpc::UNAUTHENTICATED);
  EXPECT_EQ(wrong.error_message(), "invalid credentials");
  EXPECT_THAT(AuditTrail("login.failed"), SizeIs(1));
}

TEST_F(PermissionsServiceTest, RefreshTokenGivesAWorkingAccessToken) {
  v1::LoginRequest login;
  login.set_username("rep2");
  login.set_password(kPassword);
  v1::LoginResponse tokens;
  ASSERT_TRUE(Call(&Stub::Login, Who{"", "", kTenant}, login, &tokens).ok());
  v1::RefreshTokenRequest request;
  request.set_refresh_token(tokens.refresh_token());
  v1::RefreshTokenResponse refreshed;
  const grpc::Status status = Call(&Stub::RefreshToken, Who{"", "", kTenant}, request, &refreshed);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(refreshed.tokens().session_id(), tokens.session_id());
  const v1::EffectiveScope scope = ScopeOf(Who{refreshed.tokens().access_token(), "", ""});
  EXPECT_EQ(scope.user_id(), rep2_id_);
  EXPECT_EQ(scope.session_id(), tokens.session_id());
}

TEST_F(PermissionsServiceTest, ATokenOfOneTenantCannotActInAnother) {
  v1::ListRolesRequest request;
  const grpc::Status status = Call(&Stub::ListRoles, Who{admin_.token, "", kOtherTenant}, request);
  EXPECT_EQ(status.error_code(), grpc::UNAUTHENTICATED);

  // Each tenant's administrator sees and changes only its own tenant.
  v1::CreateRoleRequest create;
  create.mutable_role()->set_role_id("globex_only");
  create.mutable_role()->set_display_name("Globex");
  create.mutable_role()->set_rank(10);
  create.mutable_role()->set_data_scope(v1::DATA_SCOPE_OWNED);
  ASSERT_TRUE(Call(&Stub::CreateRole, other_admin_, create).ok());
  v1::ListRolesResponse roles;
  ASSERT_TRUE(Call(&Stub::ListRoles, admin_, request, &roles).ok());
  std::vector<std::string> ids;
  for (const v1::Role& role : roles.roles()) ids.push_back(role.role_id());
  EXPECT_THAT(ids, ElementsAre("admin", "partner", "regional_manager", "rep", "team_lead"));

  // Another tenant's customer and user do not exist here.
  EXPECT_EQ(Call(&Stub::ShareCustomer, admin_,
                 ShareWithTeam(other_tenant_customer_, "east", v1::SHARE_ACCESS_READ))
                .error_code(),
            grpc::NOT_FOUND);
  v1::CheckAccessRequest check;
  check.set_user_id(UserIdOf(other_admin_));
  check.set_customer_id(other_tenant_customer_);
  check.set_action(v1::ACCESS_ACTION_READ);
  EXPECT_EQ(Call(&Stub::CheckAccess, admin_, check).error_code(), grpc::NOT_FOUND);
  const v1::ExplainAccessResponse explained =
      Explain(admin_, rep1_id_, other_tenant_customer_, v1::ACCESS_ACTION_READ);
  EXPECT_FALSE(explained.decision().allowed());
  EXPECT_THAT(explained.reasons(),
              ElementsAre(absl::StrCat("customer ", other_tenant_customer_, " not found")));
  v1::GetUserRequest get;
  get.set_user_id(rep1_id_);
  EXPECT_EQ(Call(&Stub::GetUser, other_admin_, get).error_code(), grpc::NOT_FOUND);
}

// --- Roles --------------------------------------------------------------------------------

TEST_F(PermissionsServiceTest, CreateRoleIsAuditedAndPublished) {
  const size_t events_before = Outbox().size();
  v1::CreateRoleRequest request;
  request.mutable_role()->set_role_id("analyst");
  request.mutable_role()->set_display_name(" 分析师 ");
  request.mutable_role()->set_rank(25);
  request.mutable_role()->set_data_scope(v1::DATA_SCOPE_TERRITORY);
  request.mutable_role()->add_permissions(v1::PERMISSION_AUDIT_READ);
  v1::CreateRoleResponse response;
  const grpc::Status status = Call(&Stub::CreateRole, admin_, request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.role().role_id(), "analyst");
  EXPECT_EQ(response.role().display_name(), "分析师");
  EXPECT_EQ(response.role().rank(), 25);
  EXPECT_EQ(response.role().data_scope(), v1::DATA_SCOPE_TERRITORY);
  EXPECT_THAT(response.role().permissions(), ElementsAre(v1::PERMISSION_AUDIT_READ));
  EXPECT_GT(response.role().create_time().seconds(), 0);
  EXPECT_EQ(response.role().create_time().seconds(), response.role().update_time().seconds());

  const auto events = Outbox();
  ASSERT_EQ(events.size(), events_before + 1);
  EXPECT_THAT(events.back(), Pair("touchline.events.v1.ScopesInvalidated", "analyst"));
  EXPECT_THAT(AuditTrail("role."), ::testing::Contains(Pair("role.created", "analyst")));
}

TEST_F(PermissionsServiceTest, CreateRoleRejectsBadInputAndWritesNothing) {
  const size_t events_before = Outbox().size();
  const size_t audit_before = AuditTrail().size();
  v1::CreateRoleRequest request;
  request.mutable_role()->set_role_id("analyst");
  request.mutable_role()->set_display_name("分析师");
  request.mutable_role()->set_rank(101);
  request.mutable_role()->add_permissions(static_cast<v1::Permission>(42));
  const grpc::Status status = Call(&Stub::CreateRole, admin_, request);
  EXPECT_EQ(status.error_code(), grpc::INVALID_ARGUMENT);
  EXPECT_THAT(Violations(status),
              ElementsAre(Pair("role.rank", "must be between 0 and 100"),
                          Pair("role.data_scope", "is required"),
                          Pair("role.permissions[0]", "unknown permission 42")));

  request.mutable_role()->set_role_id("rep");
  request.mutable_role()->set_rank(10);
  request.mutable_role()->set_data_scope(v1::DATA_SCOPE_OWNED);
  request.mutable_role()->clear_permissions();
  const grpc::Status taken = Call(&Stub::CreateRole, admin_, request);
  EXPECT_EQ(taken.error_code(), grpc::ALREADY_EXISTS);
  EXPECT_EQ(taken.error_message(), "role 'rep' already exists");

  EXPECT_EQ(Outbox().size(), events_before);
  EXPECT_EQ(AuditTrail().size(), audit_before);
}

TEST_F(PermissionsServiceTest, ARepCannotAdministerTheOrganisation) {
  v1::CreateRoleRequest role;
  role.mutable_role()->set_role_id("boss");
  role.mutable_role()->set_display_name("Boss");
  role.mutable_role()->set_rank(100);
  role.mutable_role()->set_data_scope(v1::DATA_SCOPE_TENANT);
  const grpc::Status denied = Call(&Stub::CreateRole, rep1_, role);
  EXPECT_EQ(denied.error_code(), grpc::PERMISSION_DENIED);
  EXPECT_EQ(denied.error_message(), "role rep does not grant PERMISSION_ADMINISTER");

  v1::SetFieldPolicyRequest policy;
  policy.mutable_policy()->set_role_id("rep");
  policy.mutable_policy()->set_resource("customer");
  policy.mutable_policy()->set_field_path("display_name");
  policy.mutable_policy()->set_access(v1::FIELD_ACCESS_EDITABLE);
  EXPECT_EQ(Call(&Stub::SetFieldPolicy, rep1_, policy).error_code(), grpc::PERMISSION_DENIED);
  v1::CreateUserRequest user;
  user.mutable_user()->set_username("mallory");
  user.mutable_user()->set_display_name("Mallory");
  user.mutable_user()->set_role_id("admin");
  user.set_password(kPassword);
  EXPECT_EQ(Call(&Stub::CreateUser, rep1_, user).error_code(), grpc::PERMISSION_DENIED);
  v1::ListAuditEventsRequest audit;
  EXPECT_EQ(Call(&Stub::ListAuditEvents, rep1_, audit).error_code(), grpc::PERMISSION_DENIED);
  EXPECT_EQ(Call(&Stub::VerifyAuditChain, manager_, v1::VerifyAuditChainRequest()).error_code(),
            grpc::PERMISSION_DENIED);
  // Partner users may not even read the organisation.
  EXPECT_EQ(Call(&Stub::ListTeams, partner_, v1::ListTeamsRequest()).error_code(),
            grpc::PERMISSION_DENIED);
  v1::ListTeamsResponse teams;
  ASSERT_TRUE(Call(&Stub::ListTeams, rep1_, v1::ListTeamsRequest(), &teams).ok());
  ASSERT_THAT(teams.teams(), SizeIs(1));
  EXPECT_EQ(teams.teams(0).team_id(), "east");
}

TEST_F(PermissionsServiceTest, UpdateRoleChangesOnlyTheMaskedFields) {
  v1::UpdateRoleRequest request;
  request.mutable_role()->set_role_id("team_lead");
  request.mutable_role()->set_rank(35);
  request.mutable_role()->set_display_name("ignored");
  request.mutable_update_mask()->add_paths("rank");
  v1::UpdateRoleResponse response;
  ASSERT_TRUE(Call(&Stub::UpdateRole, admin_, request, &response).ok());
  EXPECT_EQ(response.role().rank(), 35);
  EXPECT_EQ(response.role().display_name(), "销售主管");
  EXPECT_EQ(response.role().data_scope(), v1::DATA_SCOPE_OWNED);
  EXPECT_THAT(AuditTrail("role.updated"), ElementsAre(Pair("role.updated", "team_lead")));

  request.mutable_role()->set_role_id("intern");
  EXPECT_EQ(Call(&Stub::UpdateRole, admin_, request).error_code(), grpc::NOT_FOUND);
  request.mutable_role()->set_role_id("rep");
  request.mutable_update_mask()->add_paths("role_id");
  const grpc::Status bad_mask = Call(&Stub::UpdateRole, admin_, request);
  EXPECT_THAT(Violations(bad_mask),
              ElementsAre(Pair("update_mask.paths[1]",
                               "cannot update 'role_id'; updatable: display_name, rank, "
                               "data_scope, permissions")));
}

TEST_F(PermissionsServiceTest, UpdateRoleKeepsPartnerAndEmployeeRolesApart) {
  v1::UpdateRoleRequest request;
  request.mutable_role()->set_role_id("rep");
  request.mutable_role()->set_data_scope(v1::DATA_SCOPE_SHARED);
  request.mutable_update_mask()->add_paths("data_scope");
  const grpc::Status status = Call(&Stub::UpdateRole, admin_, request);
  EXPECT_EQ(status.error_code(), grpc::FAILED_PRECONDITION);
  EXPECT_EQ(status.error_message(),
            "role 'rep' is held by 2 employee(s), who need a role of another data scope");
  request.mutable_role()->set_role_id("partner");
  request.mutable_role()->set_data_scope(v1::DATA_SCOPE_OWNED);
  EXPECT_EQ(Call(&Stub::UpdateRole, admin_, request).error_code(), grpc::FAILED_PRECONDITION);
  // Between two employee scopes is fine, and the rep's scope follows at once.
  request.mutable_role()->set_role_id("rep");
  request.mutable_role()->set_data_scope(v1::DATA_SCOPE_TENANT);
  ASSERT_TRUE(Call(&Stub::UpdateRole, admin_, request).ok());
  EXPECT_TRUE(ScopeOf(rep2_).all_customers());
}

// --- Territories, teams, partners -----------------------------------------------------------

TEST_F(PermissionsServiceTest, TerritoriesNeedRegionsAndKnownEmployees) {
  v1::CreateTerritoryRequest request;
  request.mutable_territory()->set_territory_id("south");
  request.mutable_territory()->set_display_name("华南");
  const std::string stranger = ids::NewUuid();
  request.mutable_territory()->add_member_user_ids(rep2_id_);
  request.mutable_territory()->add_member_user_ids(stranger);
  request.mutable_territory()->add_member_user_ids(partner_id_);
  const grpc::Status no_regions = Call(&Stub::CreateTerritory, admin_, request);
  EXPECT_THAT(Violations(no_regions),
              ElementsAre(Pair("territory.regions", "must have at least one region")));
  request.mutable_territory()->add_regions("广州");
  const grpc::Status members = Call(&Stub::CreateTerritory, admin_, request);
  EXPECT_EQ(members.error_code(), grpc::INVALID_ARGUMENT);
  EXPECT_THAT(
      Violations(members),
      ElementsAre(
          Pair("territory.member_user_ids[1]", absl::StrCat("no user '", stranger, "'")),
          Pair("territory.member_user_ids[2]",
               absl::StrCat("user '", partner_id_, "' is a partner user; members are employees"))));
  request.mutable_territory()->mutable_member_user_ids()->DeleteSubrange(1, 2);
  v1::CreateTerritoryResponse created;
  ASSERT_TRUE(Call(&Stub::CreateTerritory, admin_, request, &created).ok());
  EXPECT_THAT(created.territory().regions(), ElementsAre("广州"));
  EXPECT_THAT(created.territory().member_user_ids(), ElementsAre(rep2_id_));
  EXPECT_EQ(Call(&Stub::CreateTerritory, admin_, request).error_code(), grpc::ALREADY_EXISTS);

  v1::ListTerritoriesResponse list;
  ASSERT_TRUE(Call(&Stub::ListTerritories, manager_, v1::ListTerritoriesRequest(), &list).ok());
  ASSERT_THAT(list.territories(), SizeIs(2));
  EXPECT_EQ(list.territories(0).territory_id(), "north");
  EXPECT_THAT(list.territories(0).regions(), ElementsAre("北京", "天津"));
  EXPECT_EQ(list.territories(1).territory_id(), "south");
}

TEST_F(PermissionsServiceTest, AFailedUpdateLeavesTheTerritoryAsItWas) {
  v1::UpdateTerritoryRequest request;
  request.mutable_territory()->set_territory_id("north");
  request.mutable_territory()->add_regions("河北");
  request.mutable_territory()->add_member_user_ids(ids::NewUuid());
  request.mutable_update_mask()->add_paths("regions");
  request.mutable_update_mask()->add_paths("member_user_ids");
  EXPECT_EQ(Call(&Stub::UpdateTerritory, admin_, request).error_code(), grpc::INVALID_ARGUMENT);
  v1::ListTerritoriesResponse list;
  ASSERT_TRUE(Call(&Stub::ListTerritories, admin_, v1::ListTerritoriesRequest(), &list).ok());
  EXPECT_THAT(list.territories(0).regions(), ElementsAre("北京", "天津"));
  EXPECT_THAT(list.territories(0).member_user_ids(), ElementsAre(manager_id_));
  EXPECT_THAT(ScopeOf(manager_).regions(), ElementsAre("北京", "天津"));

  // The same update with a real member: the manager's regions change at once.
  request.mutable_territory()->set_member_user_ids(0, manager_id_);
  v1::UpdateTerritoryResponse updated;
  ASSERT_TRUE(Call(&Stub::UpdateTerritory, admin_, request, &updated).ok());
  EXPECT_THAT(updated.territory().regions(), ElementsAre("河北"));
  EXPECT_EQ(updated.territory().display_name(), "华北");
  EXPECT_THAT(ScopeOf(manager_).regions(), ElementsAre("河北"));
  EXPECT_EQ(Call(&Stub::UpdateTerritory, admin_,
                 [] {
                   v1::UpdateTerritoryRequest r;
                   r.mutable_territory()->set_territory_id("west");
                   r.mutable_territory()->set_display_name("西部");
                   r.mutable_update_mask()->add_paths("display_name");
                   return r;
                 }())
                .error_code(),
            grpc::NOT_FOUND);
}

TEST_F(PermissionsServiceTest, TeamsHoldEmployeesAndGiveTheirSharesToMembers) {
  v1::UpdateTeamRequest request;
  request.mutable_team()->set_team_id("east");
  request.mutable_team()->add_member_user_ids(rep2_id_);
  request.mutable_team()->add_member_user_ids(partner_id_);
  request.mutable_update_mask()->add_paths("member_user_ids");
  const grpc::Status partner_member = Call(&Stub::UpdateTeam, admin_, request);
  EXPECT_THAT(Violations(partner_member),
              ElementsAre(Pair("team.member_user_ids[1]",
                               absl::StrCat("user '", partner_id_,
                                            "' is a partner user; members are employees"))));
  EXPECT_THAT(ScopeOf(rep2_).grantees(), IsEmpty());
  request.mutable_team()->mutable_member_user_ids()->RemoveLast();
  v1::UpdateTeamResponse updated;
  ASSERT_TRUE(Call(&Stub::UpdateTeam, admin_, request, &updated).ok());
  EXPECT_THAT(updated.team().member_user_ids(), ElementsAre(rep2_id_));
  EXPECT_THAT(ScopeOf(rep2_).grantees(), ElementsAre("team:east"));
  EXPECT_THAT(ScopeOf(rep1_).grantees(), IsEmpty());
}

TEST_F(PermissionsServiceTest, PartnerOrganizations) {
  v1::CreatePartnerOrganizationRequest request;
  request.mutable_partner_organization()->set_partner_org_id("dealer-1");
  request.mutable_partner_organization()->set_display_name("again");
  EXPECT_EQ(Call(&Stub::CreatePartnerOrganization, admin_, request).error_code(),
            grpc::ALREADY_EXISTS);
  request.mutable_partner_organization()->set_partner_org_id("Dealer 3");
  EXPECT_THAT(
      Violations(Call(&Stub::CreatePartnerOrganization, admin_, request)),
      ElementsAre(Pair("partner_organization.partner_org_id", "must match [a-z][a-z0-9_-]{0,62}")));
  v1::ListPartnerOrganizationsResponse list;
  ASSERT_TRUE(
      Call(&Stub::ListPartnerOrganizations, rep1_, v1::ListPartnerOrganizationsRequest(), &list)
          .ok());
  ASSERT_THAT(list.partner_organizations(), SizeIs(2));
  EXPECT_EQ(list.partner_organizations(0).partner_org_id(), "dealer-1");
  EXPECT_EQ(list.partner_organizations(0).display_name(), "上海经销商");
}

// --- Field policies -------------------------------------------------------------------------

TEST_F(PermissionsServiceTest, FieldPoliciesChangeScopesAtOnce) {
  // The partner defaults: every contact point masked.
  const v1::EffectiveScope before = ScopeOf(partner_);
  ASSERT_THAT(before.field_rules(), SizeIs(5));
  EXPECT_EQ(before.field_rules(4).field_path(), "contact_persons.phones");
  EXPECT_EQ(before.field_rules(4).mask(), v1::MASK_PATTERN_PHONE);

  v1::SetFieldPolicyRequest request;
  request.mutable_policy()->set_role_id("partner");
  request.mutable_policy()->set_resource("customer");
  request.mutable_policy()->set_field_path("contact_persons.phones");
  request.mutable_policy()->set_access(v1::FIELD_ACCESS_EDITABLE);
  v1::SetFieldPolicyResponse set;
  ASSERT_TRUE(Call(&Stub::SetFieldPolicy, admin_, request, &set).ok());
  EXPECT_EQ(set.policy().access(), v1::FIELD_ACCESS_EDITABLE);
  const v1::EffectiveScope after = ScopeOf(partner_);
  ASSERT_THAT(after.field_rules(), SizeIs(4));
  EXPECT_EQ(after.field_rules(3).field_path(), "contact_persons.messaging_accounts");

  v1::ListFieldPoliciesRequest list_request;
  list_request.set_role_id("partner");
  v1::ListFieldPoliciesResponse list;
  ASSERT_TRUE(Call(&Stub::ListFieldPolicies, admin_, list_request, &list).ok());
  ASSERT_THAT(list.policies(), SizeIs(1));
  EXPECT_EQ(list.policies(0).field_path(), "contact_persons.phones");
  EXPECT_THAT(AuditTrail("field_policy."), ElementsAre(Pair("field_policy.set", "partner")));

  v1::DeleteFieldPolicyRequest remove;
  remove.set_role_id("partner");
  remove.set_resource("customer");
  remove.set_field_path("contact_persons.phones");
  ASSERT_TRUE(Call(&Stub::DeleteFieldPolicy, admin_, remove).ok());
  EXPECT_THAT(ScopeOf(partner_).field_rules(), SizeIs(5));
  const grpc::Status again = Call(&Stub::DeleteFieldPolicy, admin_, remove);
  EXPECT_EQ(again.error_code(), grpc::NOT_FOUND);
  EXPECT_EQ(again.error_message(),
            "role 'partner' has no policy for customer contact_persons.phones");
}

TEST_F(PermissionsServiceTest, FieldPoliciesNameRealFieldsOfKnownRoles) {
  v1::SetFieldPolicyRequest request;
  request.mutable_policy()->set_role_id("rep");
  request.mutable_policy()->set_resource("customer");
  request.mutable_policy()->set_field_path("contact_persons.pager");
  request.mutable_policy()->set_access(v1::FIELD_ACCESS_HIDDEN);
  EXPECT_THAT(Violations(Call(&Stub::SetFieldPolicy, admin_, request)),
              ElementsAre(Pair("policy.field_path",
                               "field path \"contact_persons.pager\": no field \"pager\" in "
                               "touchline.contacts.v1.ContactPerson")));
  request.mutable_policy()->set_field_path("contact_persons.phones");
  request.mutable_policy()->set_role_id("intern");
  EXPECT_THAT(Violations(Call(&Stub::SetFieldPolicy, admin_, request)),
              ElementsAre(Pair("policy.role_id", "no role 'intern'")));
  v1::ListFieldPoliciesResponse list;
  ASSERT_TRUE(Call(&Stub::ListFieldPolicies, admin_, v1::ListFieldPoliciesRequest(), &list).ok());
  EXPECT_THAT(list.policies(), IsEmpty());
}

// --- Shares ---------------------------------------------------------------------------------

TEST_F(PermissionsServiceTest, ShareCustomerPublishesTheCompleteSetWithRisingVersions) {
  v1::ShareCustomerResponse shared;
  ASSERT_TRUE(Call(&Stub::ShareCustomer, rep1_,
                   ShareWithTeam(rep1_customer_, "east", v1::SHARE_ACCESS_READ), &shared)
                  .ok());
  EXPECT_EQ(shared.share().team_id(), "east");
  EXPECT_EQ(shared.share().access(), v1::SHARE_ACCESS_READ);
  EXPECT_EQ(shared.share().granted_by(), rep1_id_);
  ASSERT_TRUE(Call(&Stub::ShareCustomer, rep1_,
                   ShareWithPartner(rep1_customer_, "dealer-1", v1::SHARE_ACCESS_EDIT), &shared)
                  .ok());
  // Sharing again changes the access.
  ASSERT_TRUE(Call(&Stub::ShareCustomer, rep1_,
                   ShareWithTeam(rep1_customer_, "east", v1::SHARE_ACCESS_EDIT), &shared)
                  .ok());
  EXPECT_EQ(shared.share().access(), v1::SHARE_ACCESS_EDIT);
  v1::UnshareCustomerRequest unshare;
  unshare.mutable_share()->set_customer_id(rep1_customer_);
  unshare.mutable_share()->set_partner_org_id("dealer-1");
  ASSERT_TRUE(Call(&Stub::UnshareCustomer, rep1_, unshare).ok());
  const grpc::Status gone = Call(&Stub::UnshareCustomer, rep1_, unshare);
  EXPECT_EQ(gone.error_code(), grpc::NOT_FOUND);
  EXPECT_EQ(gone.error_message(),
            absl::StrCat("customer ", rep1_customer_, " is not shared with partner:dealer-1"));

  const std::vector<ev::CustomerSharesChanged> changes = SharesChanged();
  ASSERT_THAT(changes, SizeIs(4));
  std::vector<std::vector<std::string>> sets;
  for (size_t i = 0; i < changes.size(); ++i) {
    EXPECT_EQ(changes[i].customer_id(), rep1_customer_);
    EXPECT_EQ(changes[i].version(), static_cast<int64_t>(i + 1));
    std::vector<std::string> set;
    for (const v1::CustomerShare& share : changes[i].shares()) {
      set.push_back(absl::StrCat(share.team_id(), share.partner_org_id(), ":",
                                 v1::ShareAccess_Name(share.access())));
    }
    sets.push_back(set);
  }
  EXPECT_THAT(sets, ElementsAre(ElementsAre("east:SHARE_ACCESS_READ"),
                                ElementsAre("dealer-1:SHARE_ACCESS_EDIT", "east:SHARE_ACCESS_READ"),
                                ElementsAre("dealer-1:SHARE_ACCESS_EDIT", "east:SHARE_ACCESS_EDIT"),
                                ElementsAre("east:SHARE_ACCESS_EDIT")));
  EXPECT_THAT(AuditTrail("customer."), ElementsAre(Pair("customer.unshared", rep1_customer_),
                                                   Pair("customer.shared", rep1_customer_),
                                                   Pair("customer.shared", rep1_customer_),
                                                   Pair("customer.shared", rep1_customer_)));
}

TEST_F(PermissionsServiceTest, ShareCustomerNeedsWriteAccessAndLeaksNoExistence) {
  // rep2's customer is invisible to rep1: the same NOT_FOUND as a customer that does not exist.
  const grpc::Status invisible = Call(&Stub::ShareCustomer, rep1_,
                                      ShareWithTeam(rep2_customer_, "east", v1::SHARE_ACCESS_READ));
  EXPECT_EQ(invisible.error_code(), grpc::NOT_FOUND);
  EXPECT_EQ(invisible.error_message(), absl::StrCat("customer '", rep2_customer_, "' not found"));
  const std::string unknown = ids::NewUuid();
  const grpc::Status missing =
      Call(&Stub::ShareCustomer, rep1_, ShareWithTeam(unknown, "east", v1::SHARE_ACCESS_READ));
  EXPECT_EQ(missing.error_code(), grpc::NOT_FOUND);
  EXPECT_EQ(missing.error_message(), absl::StrCat("customer '", unknown, "' not found"));
  // The VIP customer rep1 owns is invisible to rep2: not the owner's line, and below rank 30.
  EXPECT_EQ(
      Call(&Stub::ShareCustomer, rep2_, ShareWithTeam(vip_customer_, "east", v1::SHARE_ACCESS_READ))
          .error_code(),
      grpc::NOT_FOUND);
  // Partners may not write customers at all.
  const grpc::Status partner = Call(&Stub::ShareCustomer, partner_,
                                    ShareWithTeam(rep1_customer_, "east", v1::SHARE_ACCESS_READ));
  EXPECT_EQ(partner.error_code(), grpc::PERMISSION_DENIED);
  EXPECT_EQ(partner.error_message(), "role partner does not grant PERMISSION_CUSTOMERS_WRITE");
  // A read share lets rep2 see rep1's customer but not share it on.
  ASSERT_TRUE(Call(&Stub::ShareCustomer, admin_,
                   ShareWithTeam(rep1_customer_, "east", v1::SHARE_ACCESS_READ))
                  .ok());
  v1::UpdateTeamRequest join;
  join.mutable_team()->set_team_id("east");
  join.mutable_team()->add_member_user_ids(rep2_id_);
  join.mutable_update_mask()->add_paths("member_user_ids");
  ASSERT_TRUE(Call(&Stub::UpdateTeam, admin_, join).ok());
  const grpc::Status read_only =
      Call(&Stub::ShareCustomer, rep2_,
           ShareWithPartner(rep1_customer_, "dealer-1", v1::SHARE_ACCESS_READ));
  EXPECT_EQ(read_only.error_code(), grpc::PERMISSION_DENIED);
  EXPECT_EQ(read_only.error_message(),
            absl::StrCat("no write access to customer ", rep1_customer_));
  // Unknown grantees and bad ids.
  EXPECT_THAT(Violations(Call(&Stub::ShareCustomer, rep1_,
                              ShareWithTeam(rep1_customer_, "west", v1::SHARE_ACCESS_READ))),
              ElementsAre(Pair("share.team_id", "no team 'west'")));
  EXPECT_THAT(Violations(Call(&Stub::ShareCustomer, rep1_,
                              ShareWithPartner(rep1_customer_, "dealer-9", v1::SHARE_ACCESS_READ))),
              ElementsAre(Pair("share.partner_org_id", "no partner organization 'dealer-9'")));
  EXPECT_THAT(Violations(Call(&Stub::ShareCustomer, rep1_,
                              ShareWithTeam("c-1", "east", v1::SHARE_ACCESS_UNSPECIFIED))),
              ElementsAre(Pair("share.customer_id", "must be a UUID"),
                          Pair("share.access", "is required")));
  // Only the admin's share was written.
  EXPECT_THAT(SharesChanged(), SizeIs(1));
}

TEST_F(PermissionsServiceTest, ListCustomerSharesShowsPartnersOnlyTheirOwn) {
  ASSERT_TRUE(Call(&Stub::ShareCustomer, admin_,
                   ShareWithPartner(rep1_customer_, "dealer-1", v1::SHARE_ACCESS_READ))
                  .ok());
  ASSERT_TRUE(Call(&Stub::ShareCustomer, admin_,
                   ShareWithPartner(rep1_customer_, "dealer-2", v1::SHARE_ACCESS_READ))
                  .ok());
  ASSERT_TRUE(Call(&Stub::ShareCustomer, admin_,
                   ShareWithTeam(rep1_customer_, "east", v1::SHARE_ACCESS_EDIT))
                  .ok());
  v1::ListCustomerSharesRequest request;
  request.set_customer_id(rep1_customer_);
  v1::ListCustomerSharesResponse all;
  ASSERT_TRUE(Call(&Stub::ListCustomerShares, rep1_, request, &all).ok());
  ASSERT_THAT(all.shares(), SizeIs(3));
  EXPECT_EQ(all.shares(0).partner_org_id(), "dealer-1");
  EXPECT_EQ(all.shares(1).partner_org_id(), "dealer-2");
  EXPECT_EQ(all.shares(2).team_id(), "east");
  v1::ListCustomerSharesResponse own;
  ASSERT_TRUE(Call(&Stub::ListCustomerShares, partner_, request, &own).ok());
  ASSERT_THAT(own.shares(), SizeIs(1));
  EXPECT_EQ(own.shares(0).partner_org_id(), "dealer-1");
  request.set_customer_id(rep2_customer_);
  EXPECT_EQ(Call(&Stub::ListCustomerShares, partner_, request).error_code(), grpc::NOT_FOUND);
  EXPECT_EQ(Call(&Stub::ListCustomerShares, rep1_, request).error_code(), grpc::NOT_FOUND);
}

TEST_F(PermissionsServiceTest, TheReadModelFollowsCustomerEventsAndIgnoresStaleOnes) {
  // rep2's customer moves to rep1 (version 2); a stale version 1 event changes nothing.
  ev::CustomerUpdated moved;
  cv1::Customer& customer = *moved.mutable_customer();
  customer.set_customer_id(rep2_customer_);
  customer.set_owner_id(rep1_id_);
  customer.set_region("上海");
  customer.set_level(cv1::CUSTOMER_LEVEL_KEY);
  customer.set_state(cv1::CUSTOMER_STATE_ACTIVE);
  customer.set_etag("2");
  ApplyCustomer(moved, kTenant, rep2_customer_);
  customer.set_owner_id(rep2_id_);
  customer.set_etag("1");
  ApplyCustomer(moved, kTenant, rep2_customer_);
  v1::CheckAccessRequest check;
  check.set_user_id(rep1_id_);
  check.set_customer_id(rep2_customer_);
  check.set_action(v1::ACCESS_ACTION_WRITE);
  v1::CheckAccessResponse decision;
  ASSERT_TRUE(Call(&Stub::CheckAccess, rep1_, check, &decision).ok());
  EXPECT_TRUE(decision.allowed());

  // A merged customer cannot be shared.
  ev::CustomersMerged merged;
  *merged.mutable_survivor() = customer;
  merged.mutable_survivor()->set_customer_id(rep1_customer_);
  merged.mutable_survivor()->set_etag("5");
  *merged.mutable_merged() = customer;
  merged.mutable_merged()->set_owner_id(rep1_id_);
  merged.mutable_merged()->set_state(cv1::CUSTOMER_STATE_MERGED);
  merged.mutable_merged()->set_etag("3");
  ApplyCustomer(merged, kTenant, rep1_customer_);
  EXPECT_EQ(Call(&Stub::ShareCustomer, rep1_,
                 ShareWithTeam(rep2_customer_, "east", v1::SHARE_ACCESS_READ))
                .error_code(),
            grpc::FAILED_PRECONDITION);
}

// --- Delegated tokens (DelegationService) ------------------------------------------------------

TEST_F(PermissionsServiceTest, AutomationGetsATokenThatCarriesTheUsersScope) {
  v1::IssueDelegatedTokenResponse issued;
  const grpc::Status status = Delegate("automation", kTenant, rep1_id_, &issued);
  ASSERT_TRUE(status.ok()) << status.error_message();
  const v1::EffectiveScope scope = ScopeOf(Who{issued.access_token(), "", ""});
  EXPECT_EQ(scope.tenant_id(), kTenant);
  EXPECT_EQ(scope.user_id(), rep1_id_);
  EXPECT_EQ(scope.role_id(), "rep");
  EXPECT_EQ(scope.principal_kind(), v1::PRINCIPAL_KIND_USER);
  EXPECT_EQ(scope.session_id(), issued.session_id());
  EXPECT_NE(issued.session_id(), sessions_[rep1_.token]);
  // The user's own scope, as their login has it.
  EXPECT_THAT(scope.owner_ids(), ElementsAre(rep1_id_));
  EXPECT_THAT(scope.grantees(), ElementsAre("team:east"));
  EXPECT_THAT(AuditTrail("session.delegated"),
              ElementsAre(Pair("session.delegated", issued.session_id())));

  v1::IssueDelegatedTokenResponse again;
  ASSERT_TRUE(Delegate("automation", kTenant, rep1_id_, &again).ok());
  EXPECT_EQ(again.session_id(), issued.session_id());
  EXPECT_THAT(AuditTrail("session.delegated"), SizeIs(1));
}

TEST_F(PermissionsServiceTest, DelegationNeedsTheSignedCredentialOfAnAllowedService) {
  v1::IssueDelegatedTokenResponse issued;
  EXPECT_EQ(Delegate("", kTenant, rep1_id_, &issued).error_code(), grpc::UNAUTHENTICATED);
  EXPECT_EQ(Delegate("automation", kTenant, rep1_id_, &issued, kOtherSecret).error_code(),
            grpc::UNAUTHENTICATED);
  // A user's token is no service credential.
  {
    grpc::ClientContext context;
    context.AddMetadata(auth::kAuthorizationHeader, "Bearer " + admin_.token);
    v1::IssueDelegatedTokenRequest request;
    request.set_tenant_id(kTenant);
    request.set_user_id(rep1_id_);
    EXPECT_EQ(delegation_stub_->IssueDelegatedToken(&context, request, &issued).error_code(),
              grpc::UNAUTHENTICATED);
  }
  const grpc::Status journeys = Delegate("journeys", kTenant, rep1_id_, &issued);
  EXPECT_EQ(journeys.error_code(), grpc::PERMISSION_DENIED);
  EXPECT_THAT(journeys.error_message(), ::testing::HasSubstr("journeys"));
  EXPECT_THAT(AuditTrail("session.delegated"), IsEmpty());

  const grpc::Status bad = Delegate("automation", "Acme!", "rep1", &issued);
  EXPECT_EQ(bad.error_code(), grpc::INVALID_ARGUMENT);
  EXPECT_THAT(Violations(bad), ElementsAre(Pair("tenant_id", "must match [a-z0-9][a-z0-9_-]{0,62}"),
                                           Pair("user_id", "must be a UUID")));
  EXPECT_EQ(Delegate("automation", kTenant, ids::NewUuid(), &issued).error_code(), grpc::NOT_FOUND);
  // Another tenant's user is unknown here.
  EXPECT_EQ(Delegate("automation", kOtherTenant, rep1_id_, &issued).error_code(), grpc::NOT_FOUND);
}

TEST_F(PermissionsServiceTest, DisablingAUserEndsTheirDelegatedTokens) {
  v1::IssueDelegatedTokenResponse issued;
  ASSERT_TRUE(Delegate("automation", kTenant, rep2_id_, &issued).ok());
  const Who automation{issued.access_token(), "", ""};
  ASSERT_EQ(ScopeOf(automation).user_id(), rep2_id_);  // cached now

  v1::DisableUserRequest disable;
  disable.set_user_id(rep2_id_);
  ASSERT_TRUE(Call(&Stub::DisableUser, admin_, disable).ok());
  EXPECT_EQ(Call(&Stub::GetEffectiveScope, automation, v1::GetEffectiveScopeRequest()).error_code(),
            grpc::UNAUTHENTICATED);
  EXPECT_EQ(Delegate("automation", kTenant, rep2_id_, &issued).error_code(),
            grpc::FAILED_PRECONDITION);
}

// --- Scopes -----------------------------------------------------------------------------------

TEST_F(PermissionsServiceTest, GetEffectiveScopeOfTokensAndApiKeys) {
  const v1::EffectiveScope rep = ScopeOf(rep1_);
  EXPECT_EQ(rep.tenant_id(), kTenant);
  EXPECT_EQ(rep.user_id(), rep1_id_);
  EXPECT_EQ(rep.principal_kind(), v1::PRINCIPAL_KIND_USER);
  EXPECT_EQ(rep.session_id(), sessions_[rep1_.token]);
  EXPECT_THAT(rep.owner_ids(), ElementsAre(rep1_id_));
  EXPECT_THAT(rep.grantees(), ElementsAre("team:east"));
  EXPECT_EQ(ScopeOf(partner_).principal_kind(), v1::PRINCIPAL_KIND_PARTNER_USER);
  EXPECT_THAT(ScopeOf(partner_).grantees(), ElementsAre("partner:dealer-1"));

  v1::CreateApiKeyRequest request;
  request.mutable_api_key()->set_display_name("CRM sync");
  request.mutable_api_key()->set_user_id(rep1_id_);
  request.mutable_api_key()->add_permissions(v1::PERMISSION_TOUCHPOINTS_WRITE);
  v1::CreateApiKeyResponse key;
  ASSERT_TRUE(Call(&Stub::CreateApiKey, admin_, request, &key).ok());
  const v1::EffectiveScope by_key = ScopeOf(Who{"", key.secret(), ""});
  EXPECT_EQ(by_key.principal_kind(), v1::PRINCIPAL_KIND_API_KEY);
  EXPECT_EQ(by_key.user_id(), rep1_id_);
  EXPECT_EQ(by_key.session_id(), key.api_key().api_key_id());
  EXPECT_THAT(by_key.permissions(), ElementsAre(v1::PERMISSION_TOUCHPOINTS_WRITE));

  v1::RevokeApiKeyRequest revoke;
  revoke.set_api_key_id(key.api_key().api_key_id());
  ASSERT_TRUE(Call(&Stub::RevokeApiKey, admin_, revoke).ok());
  EXPECT_EQ(
      Call(&Stub::GetEffectiveScope, Who{"", key.secret(), ""}, v1::GetEffectiveScopeRequest())
          .error_code(),
      grpc::UNAUTHENTICATED);
}

TEST_F(PermissionsServiceTest, DisablingAUserOrRevokingASessionStopsItsTokenAtOnce) {
  ASSERT_EQ(ScopeOf(rep2_).user_id(), rep2_id_);  // cached now
  v1::DisableUserRequest disable;
  disable.set_user_id(rep2_id_);
  v1::DisableUserResponse disabled;
  ASSERT_TRUE(Call(&Stub::DisableUser, admin_, disable, &disabled).ok());
  EXPECT_EQ(disabled.user().state(), v1::USER_STATE_DISABLED);
  EXPECT_EQ(Call(&Stub::GetEffectiveScope, rep2_, v1::GetEffectiveScopeRequest()).error_code(),
            grpc::UNAUTHENTICATED);

  ASSERT_EQ(ScopeOf(rep1_).user_id(), rep1_id_);
  v1::RevokeSessionRequest revoke;
  revoke.set_session_id(sessions_[rep1_.token]);
  ASSERT_TRUE(Call(&Stub::RevokeSession, rep1_, revoke).ok());
  EXPECT_EQ(Call(&Stub::GetEffectiveScope, rep1_, v1::GetEffectiveScopeRequest()).error_code(),
            grpc::UNAUTHENTICATED);
  // Another user's session needs PERMISSION_ADMINISTER.
  revoke.set_session_id(sessions_[manager_.token]);
  EXPECT_EQ(Call(&Stub::RevokeSession, partner_, revoke).error_code(), grpc::NOT_FOUND);
  EXPECT_EQ(ScopeOf(manager_).user_id(), manager_id_);
}

TEST_F(PermissionsServiceTest, ReportingLinesRejectCyclesAndWidenManagersAtOnce) {
  v1::UpdateUserRequest request;
  request.mutable_user()->set_user_id(manager_id_);
  request.mutable_user()->set_manager_id(rep1_id_);
  request.mutable_update_mask()->add_paths("manager_id");
  const grpc::Status cycle = Call(&Stub::UpdateUser, admin_, request);
  EXPECT_EQ(cycle.error_code(), grpc::INVALID_ARGUMENT);
  ASSERT_THAT(Violations(cycle), SizeIs(1));
  EXPECT_EQ(Violations(cycle)[0].first, "user.manager_id");

  EXPECT_THAT(ScopeOf(rep1_).owner_ids(), ElementsAre(rep1_id_));
  request.mutable_user()->set_user_id(rep2_id_);
  request.mutable_user()->set_manager_id(rep1_id_);
  ASSERT_TRUE(Call(&Stub::UpdateUser, admin_, request).ok());
  EXPECT_THAT(ScopeOf(rep1_).owner_ids(), ElementsAre(rep1_id_, rep2_id_));
}

// --- CheckAccess and ExplainAccess ------------------------------------------------------------

TEST_F(PermissionsServiceTest, CheckAccessDecidesRowsAndFields) {
  const auto check = [&](const Who& who, const std::string& user, const std::string& customer,
                         v1::AccessAction action, const std::string& field = "") {
    v1::CheckAccessRequest request;
    request.set_user_id(user);
    request.set_customer_id(customer);
    request.set_action(action);
    request.set_field_path(field);
    v1::CheckAccessResponse response;
    const grpc::Status status = Call(&Stub::CheckAccess, who, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return std::pair{response.allowed(), response.field_access()};
  };
  using v1::ACCESS_ACTION_READ;
  using v1::ACCESS_ACTION_WRITE;
  EXPECT_EQ(check(rep1_, rep1_id_, rep1_customer_, ACCESS_ACTION_WRITE),
            std::pair(true, v1::FIELD_ACCESS_UNSPECIFIED));
  EXPECT_EQ(check(rep1_, rep1_id_, rep2_customer_, ACCESS_ACTION_READ),
            std::pair(false, v1::FIELD_ACCESS_UNSPECIFIED));
  EXPECT_EQ(check(admin_, manager_id_, north_customer_, ACCESS_ACTION_READ).first, true);
  EXPECT_EQ(check(admin_, manager_id_, vip_customer_, ACCESS_ACTION_WRITE).first, true);
  // VIP: the owner's reporting line sees it whatever the rank; others below rank 30 do not.
  EXPECT_EQ(check(admin_, lead_id_, vip_customer_, ACCESS_ACTION_READ).first, true);
  EXPECT_EQ(check(admin_, rep2_id_, vip_customer_, ACCESS_ACTION_READ).first, false);
  EXPECT_EQ(check(admin_, lead_id_, rep2_customer_, ACCESS_ACTION_WRITE).first, true);

  ASSERT_TRUE(Call(&Stub::ShareCustomer, admin_,
                   ShareWithPartner(rep1_customer_, "dealer-1", v1::SHARE_ACCESS_READ))
                  .ok());
  EXPECT_EQ(
      check(partner_, partner_id_, rep1_customer_, ACCESS_ACTION_READ, "contact_persons.phones"),
      std::pair(true, v1::FIELD_ACCESS_MASKED));
  EXPECT_EQ(check(partner_, partner_id_, rep1_customer_, ACCESS_ACTION_READ, "display_name"),
            std::pair(true, v1::FIELD_ACCESS_EDITABLE));
  EXPECT_EQ(check(partner_, partner_id_, rep1_customer_, ACCESS_ACTION_WRITE, "display_name"),
            std::pair(false, v1::FIELD_ACCESS_UNSPECIFIED));

  v1::SetFieldPolicyRequest hide;
  hide.mutable_policy()->set_role_id("rep");
  hide.mutable_policy()->set_resource("customer");
  hide.mutable_policy()->set_field_path("contact_persons");
  hide.mutable_policy()->set_access(v1::FIELD_ACCESS_HIDDEN);
  ASSERT_TRUE(Call(&Stub::SetFieldPolicy, admin_, hide).ok());
  EXPECT_EQ(check(rep1_, rep1_id_, rep1_customer_, ACCESS_ACTION_READ, "contact_persons.emails"),
            std::pair(false, v1::FIELD_ACCESS_UNSPECIFIED));
  EXPECT_EQ(check(rep1_, rep1_id_, rep1_customer_, ACCESS_ACTION_READ, "display_name"),
            std::pair(true, v1::FIELD_ACCESS_EDITABLE));

  v1::DisableUserRequest disable;
  disable.set_user_id(rep2_id_);
  ASSERT_TRUE(Call(&Stub::DisableUser, admin_, disable).ok());
  EXPECT_EQ(check(admin_, rep2_id_, rep2_customer_, ACCESS_ACTION_READ).first, false);
  EXPECT_THAT(Explain(admin_, rep2_id_, rep2_customer_, ACCESS_ACTION_READ).reasons(),
              ElementsAre(absl::StrCat("user ", rep2_id_, " is disabled")));
}

TEST_F(PermissionsServiceTest, ExplainAccessGivesTheReasons) {
  const v1::ExplainAccessResponse vip =
      Explain(admin_, rep1_id_, vip_customer_, v1::ACCESS_ACTION_READ);
  EXPECT_TRUE(vip.decision().allowed());
  EXPECT_THAT(vip.reasons(),
              ElementsAre("customer is VIP and role rep has rank 10 < 30: only its owner and "
                          "those the owner reports to see it",
                          absl::StrCat("owner ", rep1_id_, " is the user or reports to them"),
                          "read allowed"));
  const v1::ExplainAccessResponse vip_of_another =
      Explain(admin_, rep2_id_, vip_customer_, v1::ACCESS_ACTION_READ);
  EXPECT_FALSE(vip_of_another.decision().allowed());
  EXPECT_THAT(
      vip_of_another.reasons(),
      ElementsAre("customer is VIP and role rep has rank 10 < 30: only its owner and "
                  "those the owner reports to see it",
                  absl::StrCat("owner ", rep1_id_, " is neither the user nor reports to them"),
                  "no rule grants access", "read denied"));
  const v1::ExplainAccessResponse north =
      Explain(admin_, manager_id_, north_customer_, v1::ACCESS_ACTION_WRITE);
  EXPECT_TRUE(north.decision().allowed());
  EXPECT_THAT(
      north.reasons(),
      ElementsAre(absl::StrCat("owner ", admin_id_, " is neither the user nor reports to them"),
                  "region 北京 is in the user's territories", "write allowed"));
  const v1::ExplainAccessResponse field = Explain(admin_, partner_id_, rep1_customer_,
                                                  v1::ACCESS_ACTION_READ, "contact_persons.emails");
  EXPECT_FALSE(field.decision().allowed());
  EXPECT_THAT(
      field.reasons(),
      ElementsAre("no rule grants access", "read denied",
                  "field contact_persons.emails is masked for role partner", "field read denied"));
  // About oneself, an invisible customer reads exactly like a missing one.
  const std::string missing = ids::NewUuid();
  EXPECT_THAT(Explain(rep1_, rep1_id_, rep2_customer_, v1::ACCESS_ACTION_READ).reasons(),
              ElementsAre(absl::StrCat("customer ", rep2_customer_, " not found or not visible")));
  EXPECT_THAT(Explain(rep1_, rep1_id_, missing, v1::ACCESS_ACTION_READ).reasons(),
              ElementsAre(absl::StrCat("customer ", missing, " not found or not visible")));
  EXPECT_THAT(Explain(admin_, rep1_id_, missing, v1::ACCESS_ACTION_READ).reasons(),
              ElementsAre(absl::StrCat("customer ", missing, " not found")));
}

TEST_F(PermissionsServiceTest, CheckAccessAboutOthersNeedsAdministerAndValidInput) {
  v1::CheckAccessRequest request;
  request.set_user_id(rep2_id_);
  request.set_customer_id(rep1_customer_);
  request.set_action(v1::ACCESS_ACTION_READ);
  const grpc::Status denied = Call(&Stub::CheckAccess, rep1_, request);
  EXPECT_EQ(denied.error_code(), grpc::PERMISSION_DENIED);
  request.set_user_id(ids::NewUuid());
  EXPECT_EQ(Call(&Stub::CheckAccess, admin_, request).error_code(), grpc::NOT_FOUND);
  v1::ExplainAccessRequest explain;
  explain.mutable_check()->set_user_id(rep1_id_);
  explain.mutable_check()->set_customer_id("nope");
  explain.mutable_check()->set_field_path("contact_persons.fax");
  EXPECT_THAT(Violations(Call(&Stub::ExplainAccess, admin_, explain)),
              ElementsAre(Pair("check.customer_id", "must be a UUID"),
                          Pair("check.field_path",
                               "field path \"contact_persons.fax\": no field \"fax\" in "
                               "touchline.contacts.v1.ContactPerson"),
                          Pair("check.action", "is required")));
}

// --- Audit ------------------------------------------------------------------------------------

TEST_F(PermissionsServiceTest, EveryChangeIsInAnIntactAuditChain) {
  const auto trail = AuditTrail();
  // Newest first: the setup's last changes.
  ASSERT_THAT(trail, ::testing::Not(IsEmpty()));
  EXPECT_THAT(trail[0], Pair("team.created", "east"));
  EXPECT_THAT(trail[1], Pair("territory.created", "north"));
  EXPECT_THAT(AuditTrail("role.created"), SizeIs(5));
  v1::VerifyAuditChainResponse verified;
  ASSERT_TRUE(Call(&Stub::VerifyAuditChain, admin_, v1::VerifyAuditChainRequest(), &verified).ok());
  EXPECT_TRUE(verified.intact()) << verified.detail();
  EXPECT_EQ(verified.entries_checked(), static_cast<int64_t>(trail.size()));
}

}  // namespace
}  // namespace touchline::permissions
