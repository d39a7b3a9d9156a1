// Read-your-writes across services: a customer contacts created a moment ago, whose event has
// not reached the read model yet, takes a touchpoint at once: the manager asks the customer's
// owner (a CustomerDirectory; here an in-memory one) and stores what it learnt without ever
// replacing what the events brought.
#include <string>
#include <vector>

#include "common/customers/testing/fake_customer_directory.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/touchpoints/touchpoints_service_fixture.h"
#include "touchline/permissions/v1/permissions.pb.h"

namespace touchline::touchpoints {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

namespace pv1 = ::touchline::permissions::v1;
using FakeCustomerDirectory = customers::testing::FakeCustomerDirectory;

class CustomerLookupTest : public TouchpointsServiceTest {
 protected:
  CustomerLookupTest() { customer_directory_ = &directory_; }

  void TearDown() override {
    TouchpointsServiceTest::TearDown();
    // The manager holds the directory, which goes first.
    service_.reset();
    manager_.reset();
  }

  // A customer only contacts knows so far, at version `etag`, with one contact person.
  cv1::Customer CustomerOnlyContactsKnows(const std::string& etag = "3") {
    cv1::Customer c;
    c.set_customer_id(ids::NewUuid());
    c.set_kind(cv1::CUSTOMER_KIND_ORGANIZATION);
    c.set_display_name("杭州新建客户有限公司");
    c.set_state(cv1::CUSTOMER_STATE_ACTIVE);
    c.set_owner_id("rep-7");
    c.set_etag(etag);
    c.add_contact_persons()->set_person_id(ids::NewUuid());
    directory_.Add(c);
    return c;
  }

  // (version, region) of the customer in the read model; (-1, "") when it has none.
  std::pair<int64_t, std::string> ReadModelRow(const std::string& customer_id) {
    std::pair<int64_t, std::string> row{-1, ""};
    EXPECT_TRUE(pool_
                    ->Query([&](pqxx::nontransaction& txn) {
                      const pqxx::result r = txn.exec_params(
                          "SELECT version, region FROM customers WHERE customer_id = $1::uuid",
                          customer_id);
                      if (!r.empty()) row = {r[0][0].as<int64_t>(), r[0][1].c_str()};
                      return absl::OkStatus();
                    })
                    .ok());
    return row;
  }

  FakeCustomerDirectory directory_;
};

TEST_F(CustomerLookupTest, ACustomerJustCreatedInContactsTakesATouchpointAtOnce) {
  const cv1::Customer customer = CustomerOnlyContactsKnows("3");
  v1::Touchpoint t = Basic(customer.customer_id(), NowMicros() - absl::Minutes(1));
  t.add_contact_person_ids(customer.contact_persons(0).person_id());
  v1::RecordTouchpointResponse response;
  const grpc::Status status = Record(t, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.touchpoint().customer_id(), customer.customer_id());
  EXPECT_THAT(directory_.asked(), ElementsAre(std::string(kCaller) + " " + customer.customer_id()));
  // Learnt one version below contacts' own, so that its event still applies...
  EXPECT_THAT(ReadModelRow(customer.customer_id()), Pair(2, ""));
  cv1::Customer later = customer;
  later.set_region("华东");
  ev::CustomerCreated created;
  *created.mutable_customer() = later;
  ApplyCustomerEvent(created, kTenant, later.customer_id());
  EXPECT_THAT(ReadModelRow(customer.customer_id()), Pair(3, "华东"));
  // ... and a known customer is not looked up again.
  ASSERT_TRUE(Record(Basic(customer.customer_id(), NowMicros()), nullptr).ok());
  EXPECT_THAT(directory_.asked(), ElementsAre(std::string(kCaller) + " " + customer.customer_id()));
}

TEST_F(CustomerLookupTest, ABatchAsksOncePerCustomerAndStillRefusesWhatContactsDoesNotKnow) {
  const cv1::Customer fresh = CustomerOnlyContactsKnows();
  const std::string unknown = ids::NewUuid();
  v1::BatchRecordTouchpointsRequest request;
  for (const std::string& id : {fresh.customer_id(), unknown, fresh.customer_id()}) {
    *request.add_requests()->mutable_touchpoint() = Basic(id, NowMicros() - absl::Minutes(1));
  }
  v1::BatchRecordTouchpointsResponse response;
  ASSERT_TRUE(BatchRecord(request, &response).ok());
  EXPECT_EQ(response.recorded_count(), 2);
  ASSERT_TRUE(response.results(1).has_error());
  EXPECT_EQ(response.results(1).error().code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(ViolationsOf(response.results(1).error()),
              ElementsAre(Pair("requests[1].touchpoint.customer_id",
                               ::testing::StartsWith("names no customer"))));
  EXPECT_THAT(directory_.asked(),
              ::testing::UnorderedElementsAre(std::string(kCaller) + " " + fresh.customer_id(),
                                            std::string(kCaller) + " " + unknown));
  EXPECT_EQ(ReadModelRow(unknown).first, -1);
}

// What contacts told one caller may leave out what decides who else sees the customer (here
// its region, which a territory sees it by); the customer's event brings it later. The
// touchpoint recorded in between reaches the territory's change feed then, on from the cursor
// the territory already holds.
TEST_F(CustomerLookupTest, ATouchpointOfALearntCustomerReachesWhoSeesItOnceItsEventArrives) {
  pv1::EffectiveScope territory;
  territory.set_principal_kind(pv1::PRINCIPAL_KIND_USER);
  territory.set_session_id("s-terr");
  territory.set_role_id("team_lead");
  territory.set_rank(20);
  territory.add_owner_ids("terr-1");
  territory.add_regions("华东");
  authenticator_.SetScope("terr-1", territory);
  const SeededCustomer neighbour = SeedCustomerOf("rep-9", "华东", cv1::CUSTOMER_LEVEL_STANDARD);
  const cv1::Customer customer = CustomerOnlyContactsKnows("3");
  const auto record = [&](const std::string& customer_id) {
    caller_ = kCaller;
    v1::RecordTouchpointResponse response;
    const grpc::Status status =
        Record(Basic(customer_id, NowMicros() - absl::Minutes(1)), &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    caller_ = "terr-1";
    return response.touchpoint().touchpoint_id();
  };
  const std::string learnt = record(customer.customer_id());
  ASSERT_THAT(directory_.asked(), ElementsAre(std::string(kCaller) + " " + customer.customer_id()));
  std::string cursor;
  std::string marker = record(neighbour.id);
  EXPECT_THAT(IdsOf(ReadChangesThrough(cursor, marker)), ElementsAre(marker));

  cv1::Customer complete = customer;
  complete.set_region("华东");
  ev::CustomerCreated created;
  *created.mutable_customer() = complete;
  ApplyCustomerEvent(created, kTenant, complete.customer_id());
  marker = record(neighbour.id);
  EXPECT_THAT(IdsOf(ReadChangesThrough(cursor, marker)), ElementsAre(learnt, marker));
}

TEST_F(CustomerLookupTest, WhatContactsSaysNeverReplacesWhatTheEventsBrought) {
  // The events brought version 5 (deleted) first; contacts answers with an older version 4.
  cv1::Customer customer = CustomerOnlyContactsKnows("4");
  cv1::Customer deleted = customer;
  deleted.set_state(cv1::CUSTOMER_STATE_DELETED);
  deleted.set_etag("5");
  ev::CustomerDeleted event;
  *event.mutable_customer() = deleted;
  ApplyCustomerEvent(event, kTenant, customer.customer_id());
  const absl::Status learnt = store_->LearnCustomer(kTenant, customer);
  ASSERT_TRUE(learnt.ok()) << learnt;
  EXPECT_EQ(ReadModelRow(customer.customer_id()).first, 5);
  // So the deleted customer stays refused as deleted, and contacts is not even asked.
  const grpc::Status status = Record(Basic(customer.customer_id(), NowMicros()), nullptr);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status::FieldViolationsOf(status),
              ElementsAre(Pair("touchpoint.customer_id", "names a deleted customer")));
  EXPECT_TRUE(directory_.asked().empty());
}

}  // namespace
}  // namespace touchline::touchpoints
