// The customer read model's read-your-writes: a customer contacts created a moment ago, whose
// event has not arrived, can be shared at once; the read model learns it from contacts (here
// an in-memory directory) without ever replacing what the events brought.
#include <memory>
#include <pqxx/pqxx>
#include <string>

#include "common/auth/scope.h"
#include "common/auth/testing/trusted_authenticator.h"
#include "common/customers/testing/fake_customer_directory.h"
#include "common/events/outbox.h"
#include "common/ids/ids.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/permissions/customer_read_model.h"
#include "services/permissions/org/org_manager.h"
#include "services/permissions/org/pg_org_store.h"
#include "services/permissions/testing/permissions_db.h"
#include "tests/testing/status_matchers.h"
#include "touchline/events/v1/customer_events.pb.h"

namespace touchline::permissions {
namespace {

namespace cv1 = ::touchline::contacts::v1;
namespace ev = ::touchline::events::v1;
using ::testing::ElementsAre;

constexpr char kTenant[] = "acme";

class CustomerReadModelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pool_ = testing::MigratedPool(schema_);
    ASSERT_NE(pool_, nullptr);
    TL_ASSERT_OK_AND_ASSIGN(caller_.scope,
                            auth::Scope::Compile(auth::testing::AdminScope(kTenant, "admin-1")));
    caller_.tenant_id = kTenant;
    caller_.caller_id = "admin-1";
    caller_.request_id = "request-1";
    OrgOptions options;
    options.customers = &directory_;
    org_store_ = std::make_unique<PgOrgStore>(pool_.get());
    org_ = std::make_unique<OrgManager>(org_store_.get(), options);
  }

  // A customer only contacts knows so far.
  cv1::Customer CustomerOnlyContactsKnows(const std::string& etag) {
    cv1::Customer c;
    c.set_customer_id(ids::NewUuid());
    c.set_state(cv1::CUSTOMER_STATE_ACTIVE);
    c.set_owner_id("admin-1");
    c.set_etag(etag);
    directory_.Add(c);
    return c;
  }

  absl::StatusOr<v1::CustomerShare> Share(const std::string& customer_id) {
    v1::ShareCustomerRequest request;
    request.mutable_share()->set_customer_id(customer_id);
    request.mutable_share()->set_partner_org_id("dealer-1");
    request.mutable_share()->set_access(v1::SHARE_ACCESS_READ);
    return org_->ShareCustomer(caller_, request);
  }

  // The read model's version of the customer; -1 when it has none.
  int64_t Version(const std::string& customer_id) {
    int64_t version = -1;
    EXPECT_TRUE(pool_
                    ->Query([&](pqxx::nontransaction& txn) {
                      const pqxx::result r = txn.exec_params(
                          "SELECT version FROM customers WHERE customer_id = $1::uuid",
                          customer_id);
                      if (!r.empty()) version = r[0][0].as<int64_t>();
                      return absl::OkStatus();
                    })
                    .ok());
    return version;
  }

  touchline::testing::ScopedSchema schema_{"permissions_read_model_test"};
  std::unique_ptr<pg::Pool> pool_;
  customers::testing::FakeCustomerDirectory directory_;
  auth::RequestContext caller_;
  std::unique_ptr<PgOrgStore> org_store_;
  std::unique_ptr<OrgManager> org_;
};

TEST_F(CustomerReadModelTest, ACustomerJustCreatedInContactsCanBeSharedAtOnce) {
  v1::CreatePartnerOrganizationRequest dealer;
  dealer.mutable_partner_organization()->set_partner_org_id("dealer-1");
  dealer.mutable_partner_organization()->set_display_name("Dealer One");
  TL_ASSERT_OK(org_->CreatePartnerOrganization(caller_, dealer).status());
  const cv1::Customer customer = CustomerOnlyContactsKnows("3");
  TL_ASSERT_OK(Share(customer.customer_id()).status());
  EXPECT_THAT(directory_.asked(), ElementsAre("admin-1 " + customer.customer_id()));
  // One version below contacts' own: the event of version 3 still applies.
  EXPECT_EQ(Version(customer.customer_id()), 2);
  ev::CustomerCreated created;
  *created.mutable_customer() = customer;
  const ev::EventEnvelope envelope =
      events::MakeEnvelope(created, kTenant, "customer", customer.customer_id(), "", "");
  TL_ASSERT_OK(pool_->Transact(
      [&](pqxx::work& txn) { return CustomerReadModel().ApplyEvent(txn, envelope); }));
  EXPECT_EQ(Version(customer.customer_id()), 3);
  // A customer contacts does not give is still unknown.
  const std::string unknown = ids::NewUuid();
  EXPECT_EQ(Share(unknown).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Version(unknown), -1);
}

TEST_F(CustomerReadModelTest, WhatContactsSaysNeverReplacesWhatTheEventsBrought) {
  cv1::Customer customer = CustomerOnlyContactsKnows("4");
  customer.set_etag("5");
  customer.set_state(cv1::CUSTOMER_STATE_DELETED);
  ev::CustomerDeleted deleted;
  *deleted.mutable_customer() = customer;
  const ev::EventEnvelope envelope =
      events::MakeEnvelope(deleted, kTenant, "customer", customer.customer_id(), "", "");
  TL_ASSERT_OK(pool_->Transact(
      [&](pqxx::work& txn) { return CustomerReadModel().ApplyEvent(txn, envelope); }));
  // Known: contacts is not asked, and version 5 stays.
  TL_ASSERT_OK(LearnUnknownCustomer(*pool_, directory_, caller_, customer.customer_id()));
  EXPECT_TRUE(directory_.asked().empty());
  EXPECT_EQ(Version(customer.customer_id()), 5);
}

}  // namespace
}  // namespace touchline::permissions
