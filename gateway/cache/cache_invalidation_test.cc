// Which customers' 360 views each event changes.
#include "gateway/cache/cache_invalidation.h"

#include "common/events/outbox.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "touchline/events/v1/customer_events.pb.h"
#include "touchline/events/v1/journey_events.pb.h"
#include "touchline/events/v1/permission_events.pb.h"
#include "touchline/events/v1/task_events.pb.h"
#include "touchline/events/v1/touchpoint_events.pb.h"

namespace touchline::gateway {
namespace {

namespace ev1 = ::touchline::events::v1;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

template <typename Payload>
ev1::EventEnvelope Envelope(const Payload& payload, const std::string& aggregate_id) {
  return events::MakeEnvelope(payload, "acme", "x", aggregate_id, "req", "actor");
}

TEST(CustomersChangedByTest, CustomerEventsNameTheirCustomer) {
  ev1::CustomerUpdated updated;
  updated.mutable_customer()->set_customer_id("c1");
  EXPECT_THAT(CustomersChangedBy(Envelope(updated, "c1")), ElementsAre("c1"));
  EXPECT_THAT(CustomersChangedBy(Envelope(ev1::CustomerCreated(), "c2")), ElementsAre("c2"));
  EXPECT_THAT(CustomersChangedBy(Envelope(ev1::CustomerDeleted(), "c3")), ElementsAre("c3"));
  EXPECT_THAT(CustomersChangedBy(Envelope(ev1::CustomerUndeleted(), "c4")), ElementsAre("c4"));
}

TEST(CustomersChangedByTest, MergeAndUnmergeNameBothCustomers) {
  ev1::CustomersMerged merged;
  merged.mutable_survivor()->set_customer_id("s");
  merged.mutable_merged()->set_customer_id("m");
  EXPECT_THAT(CustomersChangedBy(Envelope(merged, "s")), ElementsAre("s", "m"));
  ev1::CustomersUnmerged unmerged;
  unmerged.mutable_survivor()->set_customer_id("s");
  unmerged.mutable_restored()->set_customer_id("r");
  EXPECT_THAT(CustomersChangedBy(Envelope(unmerged, "s")), ElementsAre("s", "r"));
}

TEST(CustomersChangedByTest, TouchpointEventsNameTheTouchpointsCustomer) {
  ev1::TouchpointRecorded recorded;
  recorded.mutable_touchpoint()->set_customer_id("c1");
  EXPECT_THAT(CustomersChangedBy(Envelope(recorded, "t1")), ElementsAre("c1"));
  ev1::TouchpointUpdated updated;
  updated.mutable_touchpoint()->set_customer_id("c2");
  EXPECT_THAT(CustomersChangedBy(Envelope(updated, "t2")), ElementsAre("c2"));
  ev1::TouchpointDeleted deleted;
  deleted.mutable_touchpoint()->set_customer_id("c3");
  EXPECT_THAT(CustomersChangedBy(Envelope(deleted, "t3")), ElementsAre("c3"));
  ev1::TouchpointsReassigned moved;
  moved.set_from_customer_id("from");
  moved.set_to_customer_id("to");
  EXPECT_THAT(CustomersChangedBy(Envelope(moved, "to")), ElementsAre("from", "to"));
}

TEST(CustomersChangedByTest, ShareChangesNameTheCustomerAndOtherPermissionEventsNone) {
  ev1::CustomerSharesChanged shares;
  shares.set_customer_id("c9");
  EXPECT_THAT(CustomersChangedBy(Envelope(shares, "c9")), ElementsAre("c9"));
  EXPECT_THAT(CustomersChangedBy(Envelope(ev1::ScopesInvalidated(), "acme")), IsEmpty());
  EXPECT_THAT(CustomersChangedBy(Envelope(ev1::AuditRecorded(), "a")), IsEmpty());
  EXPECT_THAT(CustomersChangedBy(ev1::EventEnvelope()), IsEmpty());
}

TEST(CustomersChangedByTest, JourneyEventsNameTheirAggregateTheCustomer) {
  ev1::StageEntered entered;
  entered.mutable_visit()->set_stage_id("consideration");
  EXPECT_THAT(CustomersChangedBy(Envelope(entered, "c1")), ElementsAre("c1"));
  EXPECT_THAT(CustomersChangedBy(Envelope(ev1::StageExited(), "c2")), ElementsAre("c2"));
  EXPECT_THAT(CustomersChangedBy(Envelope(ev1::JourneyCompleted(), "c3")), ElementsAre("c3"));
  ev1::StagePathRederived rederived;
  rederived.set_customer_id("c4");
  EXPECT_THAT(CustomersChangedBy(Envelope(rederived, "c4")), ElementsAre("c4"));
}

TEST(CustomersChangedByTest, TaskEventsNameTheTasksCustomerAndBothOfAMove) {
  ev1::TaskCreated created;
  created.mutable_task()->set_customer_id("c1");
  EXPECT_THAT(CustomersChangedBy(Envelope(created, "k1")), ElementsAre("c1"));
  ev1::TaskChanged changed;
  changed.mutable_task()->set_customer_id("c2");
  changed.mutable_changed_fields()->add_paths("state");
  EXPECT_THAT(CustomersChangedBy(Envelope(changed, "k2")), ElementsAre("c2"));
  // Moved with its touchpoint (a merge): the customer it left and the one it joined.
  changed.set_previous_customer_id("c3");
  EXPECT_THAT(CustomersChangedBy(Envelope(changed, "k2")), ElementsAre("c3", "c2"));
}

}  // namespace
}  // namespace touchline::gateway
