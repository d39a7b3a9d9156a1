#include "services/automation/engine/triggers.h"

#include <string>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/automation/rules/templates.h"
#include "touchline/events/v1/customer_events.pb.h"
#include "touchline/events/v1/journey_events.pb.h"
#include "touchline/events/v1/touchpoint_events.pb.h"

namespace touchline::automation {
namespace {

using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::IsEmpty;
using ::testing::SizeIs;

constexpr char kCustomer[] = "0190f0c2-1111-7000-8000-000000000001";
constexpr char kJourney[] = "0190f0c2-2222-7000-8000-000000000002";

events::v1::EventEnvelope Envelope(const google::protobuf::Message& payload,
                                   std::string request_id = "") {
  events::v1::EventEnvelope event;
  event.set_event_id("0190f0c2-3333-7000-8000-000000000003");
  event.set_tenant_id("acme");
  event.set_aggregate_id(kCustomer);
  event.mutable_occur_time()->set_seconds(1'800'000'000);
  event.set_request_id(std::move(request_id));
  event.mutable_payload()->PackFrom(payload);
  return event;
}

std::string Value(const FieldValues& values, const std::string& name) {
  const FieldValue* value = FindValue(values, name);
  return value == nullptr ? "<absent>" : FormatValue(*value);
}

TEST(TouchpointFactsTest, RecordedTouchpointIsOneFactWithItsFields) {
  events::v1::TouchpointRecorded recorded;
  touchpoints::v1::Touchpoint& touchpoint = *recorded.mutable_touchpoint();
  touchpoint.set_customer_id(kCustomer);
  touchpoint.set_channel(touchpoints::v1::CHANNEL_PHONE);
  touchpoint.set_direction(touchpoints::v1::DIRECTION_INBOUND);
  touchpoint.set_summary("客户投诉物流太慢");
  touchpoint.mutable_occur_time()->set_seconds(1'700'000'000);
  absl::StatusOr<std::vector<TriggerFact>> facts =
      TouchpointFacts(Envelope(recorded, "automation:d2:abc"));
  ASSERT_TRUE(facts.ok()) << facts.status();
  ASSERT_THAT(*facts, SizeIs(1));
  const TriggerFact& fact = (*facts)[0];
  EXPECT_EQ(fact.kind, v1::Trigger::kTouchpointRecorded);
  EXPECT_EQ(fact.customer_id, kCustomer);
  EXPECT_EQ(fact.cause, "0190f0c2-3333-7000-8000-000000000003");
  EXPECT_EQ(fact.occur_time, absl::FromUnixSeconds(1'700'000'000));
  EXPECT_TRUE(fact.inbound);
  EXPECT_EQ(fact.depth, 2);
  EXPECT_EQ(Value(fact.values, "touchpoint.channel"), "CHANNEL_PHONE");
  EXPECT_EQ(Value(fact.values, "touchpoint.summary"), "客户投诉物流太慢");
}

TEST(TouchpointFactsTest, OtherEventsAreNoFactsAndGarbageIsRefused) {
  events::v1::TouchpointDeleted deleted;
  absl::StatusOr<std::vector<TriggerFact>> facts = TouchpointFacts(Envelope(deleted));
  ASSERT_TRUE(facts.ok());
  EXPECT_THAT(*facts, IsEmpty());

  events::v1::EventEnvelope garbage = Envelope(events::v1::TouchpointRecorded());
  garbage.mutable_payload()->set_value("\xff\xff\xff");
  EXPECT_EQ(TouchpointFacts(garbage).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(StageFactsTest, EnteredAndExited) {
  events::v1::StageEntered entered;
  entered.mutable_visit()->set_journey_id(kJourney);
  entered.mutable_visit()->set_stage_id("negotiation");
  absl::StatusOr<std::vector<TriggerFact>> facts = StageFacts(Envelope(entered));
  ASSERT_TRUE(facts.ok());
  ASSERT_THAT(*facts, SizeIs(1));
  EXPECT_EQ((*facts)[0].kind, v1::Trigger::kStageEntered);
  EXPECT_EQ(Value((*facts)[0].values, "stage.stage_id"), "negotiation");

  events::v1::StageExited exited;
  exited.mutable_visit()->set_journey_id(kJourney);
  exited.mutable_visit()->set_stage_id("lead");
  facts = StageFacts(Envelope(exited));
  ASSERT_TRUE(facts.ok());
  ASSERT_THAT(*facts, SizeIs(1));
  EXPECT_EQ((*facts)[0].kind, v1::Trigger::kStageExited);
  EXPECT_EQ((*facts)[0].stage_id, "lead");

  v1::Trigger any_stage;
  any_stage.mutable_stage_exited()->set_journey_id(kJourney);
  EXPECT_TRUE(Matches(any_stage, (*facts)[0]));
  any_stage.mutable_stage_exited()->set_stage_id("negotiation");
  EXPECT_FALSE(Matches(any_stage, (*facts)[0]));
  v1::Trigger entered_trigger;
  entered_trigger.mutable_stage_entered()->set_journey_id(kJourney);
  EXPECT_FALSE(Matches(entered_trigger, (*facts)[0]));
}

customers::CustomerRow Row(int level, std::vector<std::string> tags) {
  customers::CustomerRow row;
  row.tenant_id = "acme";
  row.customer_id = kCustomer;
  row.state = contacts::v1::CUSTOMER_STATE_ACTIVE;
  row.owner_id = "u-17";
  row.region = "华南";
  row.level = level;
  row.tags = std::move(tags);
  return row;
}

TEST(CustomerChangeFactsTest, OneFactPerChangedField) {
  const customers::CustomerRow before = Row(contacts::v1::CUSTOMER_LEVEL_STANDARD, {"展会线索"});
  const customers::CustomerRow after =
      Row(contacts::v1::CUSTOMER_LEVEL_VIP, {"展会线索", "高意向"});
  const events::v1::EventEnvelope cause = Envelope(events::v1::CustomerUpdated());
  const std::vector<TriggerFact> facts = CustomerChangeFacts(&before, after, &cause);
  ASSERT_THAT(facts, ElementsAre(Field(&TriggerFact::changed_field, "level"),
                                 Field(&TriggerFact::changed_field, "tags")));
  EXPECT_EQ(Value(facts[0].before, "customer.level"), "CUSTOMER_LEVEL_STANDARD");
  EXPECT_EQ(Value(facts[0].values, "customer.level"), "CUSTOMER_LEVEL_VIP");
  EXPECT_EQ(Value(facts[0].values, "change.field"), "level");
  EXPECT_EQ(facts[0].cause, "0190f0c2-3333-7000-8000-000000000003:level");

  // Unchanged, first seen, or from a bootstrap page: nothing.
  EXPECT_THAT(CustomerChangeFacts(&after, after, &cause), IsEmpty());
  EXPECT_THAT(CustomerChangeFacts(nullptr, after, &cause), IsEmpty());
  EXPECT_THAT(CustomerChangeFacts(&before, after, nullptr), IsEmpty());
}

TEST(CustomerChangeFactsTest, CustomFieldsNamedByTheChange) {
  events::v1::CustomerUpdated updated;
  updated.mutable_customer()->set_customer_id(kCustomer);
  updated.mutable_customer()->set_display_name("深圳腾飞");
  (*updated.mutable_customer()->mutable_custom_fields())["plan"].set_string_value("旗舰版");
  (*updated.mutable_customer()->mutable_custom_fields())["seats"].set_int_value(40);
  updated.mutable_changed_fields()->add_paths("custom_fields.plan");
  const customers::CustomerRow row = Row(contacts::v1::CUSTOMER_LEVEL_VIP, {});
  const events::v1::EventEnvelope cause = Envelope(updated);
  const std::vector<TriggerFact> facts = CustomerChangeFacts(&row, row, &cause);
  ASSERT_THAT(facts, ElementsAre(Field(&TriggerFact::changed_field, "custom_fields.plan")));
  EXPECT_EQ(Value(facts[0].values, "customer.custom_fields.plan"), "旗舰版");
  EXPECT_EQ(Value(facts[0].values, "customer.display_name"), "深圳腾飞");

  v1::Trigger trigger;
  trigger.mutable_customer_changed()->set_field("custom_fields.plan");
  trigger.mutable_customer_changed()->mutable_to()->set_string_value("旗舰版");
  EXPECT_TRUE(Matches(trigger, facts[0]));
  trigger.mutable_customer_changed()->mutable_to()->set_string_value("基础版");
  EXPECT_FALSE(Matches(trigger, facts[0]));
}

TEST(MatchesTest, CustomerChangedFromAndTo) {
  const customers::CustomerRow before = Row(contacts::v1::CUSTOMER_LEVEL_STANDARD, {});
  const customers::CustomerRow after = Row(contacts::v1::CUSTOMER_LEVEL_VIP, {"高意向"});
  const events::v1::EventEnvelope cause = Envelope(events::v1::CustomerUpdated());
  const std::vector<TriggerFact> facts = CustomerChangeFacts(&before, after, &cause);
  ASSERT_THAT(facts, SizeIs(2));
  const TriggerFact& level = facts[0];
  const TriggerFact& tags = facts[1];

  v1::Trigger trigger;
  v1::CustomerChanged& changed = *trigger.mutable_customer_changed();
  changed.set_field("level");
  EXPECT_TRUE(Matches(trigger, level));
  EXPECT_FALSE(Matches(trigger, tags));
  changed.mutable_to()->set_string_value("CUSTOMER_LEVEL_VIP");
  EXPECT_TRUE(Matches(trigger, level));
  changed.mutable_from()->set_string_value("CUSTOMER_LEVEL_STANDARD");
  EXPECT_TRUE(Matches(trigger, level));
  changed.mutable_from()->set_string_value("CUSTOMER_LEVEL_KEY");
  EXPECT_FALSE(Matches(trigger, level));

  // A tag added is a change "to" a list holding it; removing it would be "from".
  v1::Trigger tag_added;
  tag_added.mutable_customer_changed()->set_field("tags");
  tag_added.mutable_customer_changed()->mutable_to()->set_string_value("高意向");
  EXPECT_TRUE(Matches(tag_added, tags));
  v1::Trigger tag_removed;
  tag_removed.mutable_customer_changed()->set_field("tags");
  tag_removed.mutable_customer_changed()->mutable_from()->set_string_value("高意向");
  EXPECT_FALSE(Matches(tag_removed, tags));

  v1::Trigger touchpoint;
  touchpoint.mutable_touchpoint_recorded();
  EXPECT_FALSE(Matches(touchpoint, level));
}

TEST(DepthTest, RequestIdsCarryTheDepth) {
  const std::string id = EngineRequestId(2, std::string(600, 'k'));
  EXPECT_LE(id.size(), 128u);
  EXPECT_EQ(DepthOf(id), 2);
  EXPECT_NE(EngineRequestId(2, "a"), EngineRequestId(2, "b"));
  EXPECT_EQ(EngineRequestId(1, "a"), EngineRequestId(1, "a"));
  EXPECT_EQ(DepthOf("0190f0c2-3333-7000-8000-000000000003"), 0);
  EXPECT_EQ(DepthOf("automation:dx:abc"), 0);
  EXPECT_EQ(DepthOf(""), 0);
}

}  // namespace
}  // namespace touchline::automation
