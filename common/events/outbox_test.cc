#include "common/events/outbox.h"

#include <google/protobuf/wrappers.pb.h>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/ids/ids.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace touchline::events {
namespace {

TEST(MakeEnvelopeTest, FillsEveryField) {
  google::protobuf::StringValue payload;
  payload.set_value("客户");
  const absl::Time before = absl::Now();
  const v1::EventEnvelope event =
      MakeEnvelope(payload, "tenant-1", "customer", "cust-9", "req-3", "user-7");
  const absl::Time after = absl::Now();

  EXPECT_TRUE(ids::IsUuid(event.event_id()));
  EXPECT_EQ(event.event_type(), "google.protobuf.StringValue");
  EXPECT_EQ(event.tenant_id(), "tenant-1");
  EXPECT_EQ(event.aggregate_type(), "customer");
  EXPECT_EQ(event.aggregate_id(), "cust-9");
  EXPECT_EQ(event.request_id(), "req-3");
  EXPECT_EQ(event.actor_id(), "user-7");
  const absl::Time occurred = absl::FromUnixSeconds(event.occur_time().seconds()) +
                              absl::Nanoseconds(event.occur_time().nanos());
  EXPECT_GE(occurred, before);
  EXPECT_LE(occurred, after);
  google::protobuf::StringValue unpacked;
  ASSERT_TRUE(event.payload().UnpackTo(&unpacked));
  EXPECT_EQ(unpacked.value(), "客户");
}

TEST(MakeEnvelopeTest, EachEventGetsItsOwnId) {
  google::protobuf::StringValue payload;
  EXPECT_NE(MakeEnvelope(payload, "t", "a", "1", "", "").event_id(),
            MakeEnvelope(payload, "t", "a", "1", "", "").event_id());
}

TEST(StreamKeyTest, TopicIsAHashTagSharedWithTheRelayStateKey) {
  EXPECT_EQ(StreamKey("touchline", "contacts"), "touchline:{contacts}:events");
  EXPECT_EQ(RelayStateKey("touchline", "contacts", "contacts"),
            "touchline:{contacts}:relay:contacts");
  EXPECT_EQ(RelayStateKey("touchline", "audit", "touchpoints"),
            "touchline:{audit}:relay:touchpoints");
}

TEST(OutboxMigrationsTest, StartAtVersionOne) {
  ASSERT_FALSE(OutboxMigrations().empty());
  EXPECT_EQ(OutboxMigrations().front().version, 1);
  EXPECT_THAT(OutboxMigrations().front().sql, ::testing::HasSubstr("CREATE TABLE outbox"));
}

}  // namespace
}  // namespace touchline::events
