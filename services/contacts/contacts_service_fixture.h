// The fixture of the contacts service's in-process tests: the service on
// testing::InProcessService (real gRPC, PostgreSQL and Redis; callers trusted, an
// administrator unless a test gives a caller a scope; the relay not running, tests publish
// with relay_->PublishPending()), with the service's store and manager, and typed calls.
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
#include "common/auth/testing/trusted_authenticator.h"
#include "common/enforcement/shares_read_model.h"
#include "common/events/consumer.h"
#include "common/events/outbox.h"
#include "common/events/outbox_relay.h"
#include "common/paging/page_token.h"
#include "common/pg/pool.h"
#include "common/redis/pool.h"
#include "gtest/gtest.h"
#include "services/contacts/contacts_service.h"
#include "services/contacts/customer_manager.h"
#include "services/contacts/migrations.h"
#include "services/contacts/pg_customer_store.h"
#include "tests/testing/event_stream.h"
#include "tests/testing/in_process_service.h"
#include "touchline/contacts/v1/contacts_service.grpc.pb.h"
#include "touchline/events/v1/event.pb.h"
#include "touchline/events/v1/permission_events.pb.h"
#include "touchline/permissions/v1/permissions.pb.h"

namespace touchline::contacts {

using testing::Authorize;
using testing::Caller;

inline constexpr char kTenant[] = "tenant-a";

// The administrator "user-1" of `tenant`.
inline Caller AdminOf(const std::string& tenant) { return Caller{tenant, "user-1"}; }

class ContactsServiceFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    env_.SetUp();
    if (HasFatalFailure()) return;
    store_ = std::make_unique<PgCustomerStore>(pool_.get(), [] {});
    auto page_tokens = paging::PageTokens::Load(*pool_);
    ASSERT_TRUE(page_tokens.ok()) << page_tokens.status();
    manager_ =
        std::make_unique<CustomerManager>(store_.get(), env_.audit().get(), CustomerValidator({}),
                                          *std::move(page_tokens), [] { return absl::Now(); });
    service_ = std::make_unique<ContactsService>(manager_.get(), env_.runner());
    env_.Serve(service_.get());
    if (HasFatalFailure()) return;
    stub_ = v1::ContactsService::NewStub(env_.channel());
  }

  void TearDown() override { env_.Shutdown(); }

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
                      v1::Customer* out, const Caller& caller = AdminOf(kTenant),
                      const std::string& request_id = "") {
    v1::UpdateCustomerRequest request;
    *request.mutable_customer() = customer;
    for (const auto& p : paths) request.mutable_update_mask()->add_paths(p);
    request.set_request_id(request_id);
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
    env_.audit()->Stop();
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
  int CountRows(const std::string& from) { return env_.CountRows(from); }

  static testing::InProcessService::Options EnvOptions() {
    testing::InProcessService::Options options;
    options.name = "contacts";
    options.grpc_service = v1::ContactsService::service_full_name();
    options.migrations = &pg::contacts_migrations();
    options.request_ids = true;
    options.prepared = PgCustomerStore::PreparedStatements();
    return options;
  }

  testing::InProcessService env_{EnvOptions()};
  // The environment's parts under the names the tests use.
  const std::string& prefix_ = env_.prefix();
  const std::unique_ptr<pg::Pool>& pool_ = env_.pool();
  const std::unique_ptr<redis::Pool>& redis_ = env_.redis();
  const std::unique_ptr<events::OutboxRelay>& relay_ = env_.relay();
  auth::testing::TrustedAuthenticator& authenticator_ = env_.authenticator();
  std::unique_ptr<PgCustomerStore> store_;
  std::unique_ptr<CustomerManager> manager_;
  std::unique_ptr<ContactsService> service_;
  std::unique_ptr<v1::ContactsService::Stub> stub_;
  int64_t share_version_ = 0;
};

}  // namespace touchline::contacts

#endif  // TOUCHLINE_SERVICES_CONTACTS_CONTACTS_SERVICE_FIXTURE_H_
