// The fixture of the contacts service's in-process tests: the service through a real gRPC
// stack, on real PostgreSQL (a fresh schema per test, with the outbox and the shares read
// model) and Redis (a fresh key prefix per test), callers authenticated by
// auth::testing::TrustedAuthenticator (an administrator unless a test gives a caller a
// scope). The outbox relay is not running: tests publish with relay_->PublishPending().
#ifndef TOUCHLINE_SERVICES_CONTACTS_CONTACTS_SERVICE_FIXTURE_H_
#define TOUCHLINE_SERVICES_CONTACTS_CONTACTS_SERVICE_FIXTURE_H_

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/clock.h"
#include "common/audit/audit.h"
#include "common/auth/request_context.h"
#include "common/auth/testing/trusted_authenticator.h"
#include "common/enforcement/shares_read_model.h"
#include "common/events/consumer.h"
#include "common/events/outbox.h"
#include "common/events/outbox_relay.h"
#include "common/idempotency/idempotency.h"
#include "common/paging/page_token.h"
#include "common/pg/migrator.h"
#include "common/pg/pool.h"
#include "common/redis/pool.h"
#include "common/server/executor.h"
#include "common/server/server.h"
#include "common/server/unary_call.h"
#include "gtest/gtest.h"
#include "services/contacts/contacts_service.h"
#include "services/contacts/customer_manager.h"
#include "services/contacts/migrations.h"
#include "services/contacts/pg_customer_store.h"
#include "tests/testing/event_stream.h"
#include "tests/testing/pg_test_env.h"
#include "touchline/contacts/v1/contacts_service.grpc.pb.h"
#include "touchline/events/v1/event.pb.h"
#include "touchline/events/v1/permission_events.pb.h"
#include "touchline/permissions/v1/permissions.pb.h"

namespace touchline::contacts {

// Who calls: the x-touchline-tenant and x-touchline-caller of a call. The caller acts with
// the scope the test gave authenticator_ for its id, an administrator's otherwise.
struct Caller {
  std::string tenant;
  std::string id;
};

inline constexpr char kTenant[] = "tenant-a";

// The administrator "user-1" of `tenant`.
inline Caller AdminOf(const std::string& tenant) { return Caller{tenant, "user-1"}; }

class ContactsServiceFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string dsn = testing::TestPgDsn();
    for (const auto& [name, migrations] :
         {std::pair{"outbox", &events::OutboxMigrations()},
          std::pair{"inbox", &events::InboxMigrations()},
          std::pair{"shares", &enforcement::SharesMigrations()},
          std::pair{"page_tokens", &paging::PageTokenMigrations()},
          std::pair{"idempotency", &idempotency::IdempotencyMigrations()},
          std::pair{"contacts", &pg::contacts_migrations()}}) {
      const absl::Status migrated = pg::ApplyMigrations(dsn, schema_.name(), name, *migrations);
      ASSERT_TRUE(migrated.ok()) << migrated;
    }
    auto pool = pg::Pool::Create({.dsn = dsn,
                                  .search_path = schema_.name(),
                                  .size = 20,
                                  .prepared = PgCustomerStore::PreparedStatements(),
                                  .settings = {}});
    ASSERT_TRUE(pool.ok()) << pool.status();
    pool_ = *std::move(pool);
    auto redis_options = redis::ParseRedisAddress(testing::TestRedisAddr());
    ASSERT_TRUE(redis_options.ok()) << redis_options.status();
    auto redis = redis::Pool::Create(*redis_options);
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_ = *std::move(redis);
    events::RelayOptions relay_options;
    relay_options.dsn = dsn;
    relay_options.schema = schema_.name();
    relay_options.stream_prefix = prefix_;
    relay_ = std::make_unique<events::OutboxRelay>(relay_options, redis_.get());
    audit::AuditPublisherOptions audit_options;
    audit_options.stream_prefix = prefix_;
    auto audit = audit::AuditPublisher::Create(audit_options, redis_.get());
    ASSERT_TRUE(audit.ok()) << audit.status();
    audit_ = *std::move(audit);
    audit_->Start();
    store_ = std::make_unique<PgCustomerStore>(pool_.get(), [] {});
    auto page_tokens = paging::PageTokens::Load(*pool_);
    ASSERT_TRUE(page_tokens.ok()) << page_tokens.status();
    manager_ =
        std::make_unique<CustomerManager>(store_.get(), audit_.get(), CustomerValidator({}),
                                          *std::move(page_tokens), [] { return absl::Now(); });
    runner_ = std::make_unique<server::UnaryRunner>("touchline.contacts.v1.ContactsService",
                                                    &executor_, &authenticator_, false);
    service_ = std::make_unique<ContactsService>(manager_.get(), runner_.get());
    auto server =
        server::Server::Start({.listen_address = "127.0.0.1:0", .metrics_address = ""},
                              {{"touchline.contacts.v1.ContactsService", service_.get()}});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    stub_ = v1::ContactsService::NewStub(grpc::CreateChannel(
        "127.0.0.1:" + std::to_string(server_->port()), grpc::InsecureChannelCredentials()));
  }

  void TearDown() override {
    if (server_) server_->Shutdown();
    if (audit_) audit_->Stop();
  }

  static void Authorize(grpc::ClientContext& context, const Caller& caller) {
    context.AddMetadata(auth::kTenantHeader, caller.tenant);
    context.AddMetadata(auth::kCallerHeader, caller.id);
  }

  // --- Calls ----------------------------------------------------------------------------------

  template <typename Request, typename Response>
  using Method = grpc::Status (v1::ContactsService::Stub::*)(grpc::ClientContext*, const Request&,
                                                             Response*);

  // Calls `method` as `caller`.
  template <typename Request, typename Response>
  grpc::Status Call(Method<Request, Response> method, const Request& request, Response* response,
                    const Caller& caller) {
    grpc::ClientContext context;
    Authorize(context, caller);
    return (stub_.get()->*method)(&context, request, response);
  }

  // Calls `method` as `caller`; the customer of its response goes to `out` (if not null).
  template <typename Request, typename Response>
  grpc::Status CallForCustomer(Method<Request, Response> method, const Request& request,
                               v1::Customer* out, const Caller& caller) {
    Response response;
    grpc::Status status = Call(method, request, &response, caller);
    if (out != nullptr) *out = response.customer();
    return status;
  }

  grpc::Status Create(const v1::Customer& customer, v1::Customer* out,
                      const Caller& caller = AdminOf(kTenant), const std::string& request_id = "") {
    v1::CreateCustomerRequest request;
    *request.mutable_customer() = customer;
    request.set_request_id(request_id);
    return CallForCustomer(&v1::ContactsService::Stub::CreateCustomer, request, out, caller);
  }

  v1::Customer MustCreate(const v1::Customer& customer, const Caller& caller = AdminOf(kTenant)) {
    v1::Customer created;
    const grpc::Status status = Create(customer, &created, caller);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return created;
  }

  grpc::Status Get(const std::string& id, v1::Customer* out,
                   const Caller& caller = AdminOf(kTenant)) {
    v1::GetCustomerRequest request;
    request.set_customer_id(id);
    return CallForCustomer(&v1::ContactsService::Stub::GetCustomer, request, out, caller);
  }

  grpc::Status BatchGet(const std::vector<std::string>& ids, v1::BatchGetCustomersResponse* out,
                        const Caller& caller = AdminOf(kTenant)) {
    v1::BatchGetCustomersRequest request;
    for (const std::string& id : ids) request.add_customer_ids(id);
    return Call(&v1::ContactsService::Stub::BatchGetCustomers, request, out, caller);
  }

  grpc::Status List(const v1::ListCustomersRequest& request, v1::ListCustomersResponse* out,
                    const Caller& caller = AdminOf(kTenant)) {
    return Call(&v1::ContactsService::Stub::ListCustomers, request, out, caller);
  }

  grpc::Status Update(const v1::Customer& customer, const std::vector<std::string>& paths,
                      v1::Customer* out, const Caller& caller = AdminOf(kTenant)) {
    v1::UpdateCustomerRequest request;
    *request.mutable_customer() = customer;
    for (const auto& p : paths) request.mutable_update_mask()->add_paths(p);
    return CallForCustomer(&v1::ContactsService::Stub::UpdateCustomer, request, out, caller);
  }

  grpc::Status Delete(const std::string& id, v1::Customer* out,
                      const Caller& caller = AdminOf(kTenant)) {
    v1::DeleteCustomerRequest request;
    request.set_customer_id(id);
    return CallForCustomer(&v1::ContactsService::Stub::DeleteCustomer, request, out, caller);
  }

  grpc::Status Undelete(const std::string& id, v1::Customer* out,
                        const Caller& caller = AdminOf(kTenant)) {
    v1::UndeleteCustomerRequest request;
    request.set_customer_id(id);
    return CallForCustomer(&v1::ContactsService::Stub::UndeleteCustomer, request, out, caller);
  }

  grpc::Status FindDuplicates(const v1::FindDuplicateCustomersRequest& request,
                              v1::FindDuplicateCustomersResponse* out,
                              const Caller& caller = AdminOf(kTenant)) {
    return Call(&v1::ContactsService::Stub::FindDuplicateCustomers, request, out, caller);
  }

  grpc::Status Merge(const v1::MergeCustomersRequest& request, v1::MergeCustomersResponse* out,
                     const Caller& caller = AdminOf(kTenant)) {
    return Call(&v1::ContactsService::Stub::MergeCustomers, request, out, caller);
  }

  grpc::Status Unmerge(const std::string& merge_id, v1::UnmergeCustomersResponse* out,
                       const Caller& caller = AdminOf(kTenant)) {
    v1::UnmergeCustomersRequest request;
    request.set_merge_id(merge_id);
    return Call(&v1::ContactsService::Stub::UnmergeCustomers, request, out, caller);
  }

  // --- Shares and audit -----------------------------------------------------------------------

  // Replaces the shares of `customer_id`, as the permissions service's event would.
  void Share(const std::string& tenant, const std::string& customer_id,
             const std::vector<permissions::v1::CustomerShare>& shares) {
    events::v1::CustomerSharesChanged changed;
    changed.set_customer_id(customer_id);
    for (const permissions::v1::CustomerShare& share : shares) *changed.add_shares() = share;
    changed.set_version(++share_version_);
    const events::v1::EventEnvelope envelope =
        events::MakeEnvelope(changed, tenant, "customer_shares", customer_id, "", "");
    const absl::Status applied = pool_->Transact(
        [&](pqxx::work& txn) { return enforcement::ApplyPermissionEvent(txn, envelope); });
    ASSERT_TRUE(applied.ok()) << applied;
  }

  static permissions::v1::CustomerShare TeamShare(const std::string& customer_id,
                                                  const std::string& team_id, bool edit) {
    permissions::v1::CustomerShare share;
    share.set_customer_id(customer_id);
    share.set_team_id(team_id);
    share.set_access(edit ? permissions::v1::SHARE_ACCESS_EDIT
                          : permissions::v1::SHARE_ACCESS_READ);
    return share;
  }

  static permissions::v1::CustomerShare PartnerShare(const std::string& customer_id,
                                                     const std::string& partner_org_id, bool edit) {
    permissions::v1::CustomerShare share;
    share.set_customer_id(customer_id);
    share.set_partner_org_id(partner_org_id);
    share.set_access(edit ? permissions::v1::SHARE_ACCESS_EDIT
                          : permissions::v1::SHARE_ACCESS_READ);
    return share;
  }

  // The audit entries of changes waiting in the outbox, oldest first.
  std::vector<permissions::v1::AuditEvent> OutboxAudit() {
    std::vector<permissions::v1::AuditEvent> entries;
    const absl::Status read = pool_->Query([&](pqxx::nontransaction& txn) {
      for (const pqxx::row& row :
           txn.exec("SELECT envelope FROM outbox WHERE topic = 'audit' ORDER BY id")) {
        const pqxx::binarystring bytes(row[0]);
        events::v1::EventEnvelope envelope;
        EXPECT_TRUE(envelope.ParseFromString(bytes.str()));
        entries.push_back(AuditEventOf(envelope));
      }
      return absl::OkStatus();
    });
    EXPECT_TRUE(read.ok()) << read;
    return entries;
  }

  // The audit entries of reads the publisher sent, oldest first (flushes it first).
  std::vector<permissions::v1::AuditEvent> PublishedAudit() {
    audit_->Stop();
    auto envelopes =
        testing::ReadEnvelopes(*redis_, events::StreamKey(prefix_, events::kAuditTopic));
    EXPECT_TRUE(envelopes.ok()) << envelopes.status();
    std::vector<permissions::v1::AuditEvent> entries;
    if (!envelopes.ok()) return entries;
    for (const events::v1::EventEnvelope& envelope : *envelopes) {
      entries.push_back(AuditEventOf(envelope));
    }
    return entries;
  }

  static permissions::v1::AuditEvent AuditEventOf(const events::v1::EventEnvelope& envelope) {
    events::v1::AuditRecorded recorded;
    EXPECT_TRUE(envelope.payload().UnpackTo(&recorded)) << envelope.event_type();
    return recorded.event();
  }

  // count(*) of `from` (a table, optionally with a WHERE clause).
  int CountRows(const std::string& from) {
    int count = -1;
    EXPECT_TRUE(pool_
                    ->Query([&](pqxx::nontransaction& txn) {
                      count = txn.exec("SELECT count(*) FROM " + from)[0][0].as<int>();
                      return absl::OkStatus();
                    })
                    .ok());
    return count;
  }

  testing::ScopedSchema schema_{"contacts_test"};
  std::string prefix_ = testing::UniqueRedisPrefix();
  std::unique_ptr<pg::Pool> pool_;
  std::unique_ptr<redis::Pool> redis_;
  std::unique_ptr<events::OutboxRelay> relay_;
  std::unique_ptr<audit::AuditPublisher> audit_;
  std::unique_ptr<PgCustomerStore> store_;
  std::unique_ptr<CustomerManager> manager_;
  server::Executor executor_{32, 1024};
  auth::testing::TrustedAuthenticator authenticator_;
  std::unique_ptr<server::UnaryRunner> runner_;
  std::unique_ptr<ContactsService> service_;
  std::unique_ptr<server::Server> server_;
  std::unique_ptr<v1::ContactsService::Stub> stub_;
  int64_t share_version_ = 0;
};

}  // namespace touchline::contacts

#endif  // TOUCHLINE_SERVICES_CONTACTS_CONTACTS_SERVICE_FIXTURE_H_
