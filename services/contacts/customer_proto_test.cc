#include "services/contacts/customer_proto.h"

#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/contacts/customer_testing.h"
#include "services/contacts/customer_validation.h"

namespace touchline::contacts {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::touchline::contacts::testing::IsViolation;

TEST(CustomerProtoTest, ToProtoCopiesEveryField) {
  const Customer customer = testing::SampleCustomer();
  v1::Customer proto;
  proto.set_etag("stale");  // Overwritten: ToProto clears first.
  ToProto(customer, &proto);

  EXPECT_EQ(proto.customer_id(), customer.customer_id);
  EXPECT_EQ(proto.kind(), v1::CUSTOMER_KIND_ORGANIZATION);
  EXPECT_EQ(proto.display_name(), "深圳市腾飞科技有限公司");
  EXPECT_EQ(proto.industry(), "制造业");
  EXPECT_EQ(proto.region(), "华南");
  EXPECT_EQ(proto.level(), v1::CUSTOMER_LEVEL_KEY);
  EXPECT_EQ(proto.lifecycle_status(), v1::LIFECYCLE_STATUS_OPPORTUNITY);
  EXPECT_EQ(proto.owner_id(), "user-7");
  EXPECT_THAT(proto.tags(), ElementsAre("展会线索", "华南"));
  EXPECT_EQ(proto.custom_fields().at("source").string_value(), "广交会");
  EXPECT_EQ(proto.custom_fields().at("annual_revenue").int_value(), 120000000);
  EXPECT_EQ(proto.custom_fields().at("credit_score").double_value(), 0.85);
  EXPECT_TRUE(proto.custom_fields().at("has_contract").bool_value());
  EXPECT_EQ(proto.custom_fields().at("vip_since").timestamp_value().seconds(), 1700000000);
  EXPECT_EQ(proto.custom_fields().at("vip_since").timestamp_value().nanos(), 123456000);
  ASSERT_EQ(proto.contact_persons_size(), 1);
  const v1::ContactPerson& person = proto.contact_persons(0);
  EXPECT_EQ(person.person_id(), "0190b3a4-7c1d-7e2f-8a3b-4c5d6e7f8a9b");
  EXPECT_EQ(person.name().formatted_name(), "张伟");
  EXPECT_EQ(person.name().honorific_prefix(), "博士");
  EXPECT_THAT(person.titles(), ElementsAre("采购经理", "Purchasing Manager"));
  EXPECT_EQ(person.department(), "采购部");
  ASSERT_EQ(person.phones_size(), 2);
  EXPECT_EQ(person.phones(0).number(), "+8613800138000");
  EXPECT_EQ(person.phones(0).kind(), type::v1::CONTACT_POINT_KIND_MOBILE);
  EXPECT_TRUE(person.phones(0).primary());
  EXPECT_EQ(person.emails(0).address(), "wei.zhang@tengfei.cn");
  EXPECT_EQ(person.addresses(0).sublocality(), "南山区");
  EXPECT_THAT(person.addresses(0).address_lines(), ElementsAre("科技园南区", "腾飞大厦 8 楼"));
  EXPECT_EQ(person.messaging_accounts(0).service(), type::v1::MESSAGING_SERVICE_WECOM);
  EXPECT_EQ(person.messaging_accounts(0).account_id(), "wm_zhangwei");
  EXPECT_EQ(person.note(), customer.contact_persons[0].note);
  ASSERT_EQ(proto.addresses_size(), 1);
  EXPECT_EQ(proto.addresses(0).postal_code(), "518000");
  EXPECT_EQ(proto.state(), v1::CUSTOMER_STATE_ACTIVE);
  EXPECT_EQ(proto.create_time().seconds(), 1690000000);
  EXPECT_EQ(proto.create_time().nanos(), 1000);
  EXPECT_EQ(proto.update_time().nanos(), 999999000);
  EXPECT_FALSE(proto.has_delete_time());
  EXPECT_EQ(proto.etag(), "42");
}

TEST(CustomerProtoTest, ToProtoSetsDeleteTimeAndMergedIntoWhenPresent) {
  Customer customer = testing::SampleCustomer();
  customer.state = CustomerState::kMerged;
  customer.merged_into_customer_id = "survivor";
  customer.delete_time = absl::FromUnixSeconds(1710000000);
  v1::Customer proto;
  ToProto(customer, &proto);
  EXPECT_EQ(proto.state(), v1::CUSTOMER_STATE_MERGED);
  EXPECT_EQ(proto.merged_into_customer_id(), "survivor");
  ASSERT_TRUE(proto.has_delete_time());
  EXPECT_EQ(proto.delete_time().seconds(), 1710000000);
}

TEST(CustomerProtoTest, TimesBeforeTheEpochHaveNonNegativeNanos) {
  Customer customer = testing::SampleCustomer();
  customer.create_time = absl::FromUnixMillis(-1500);
  v1::Customer proto;
  ToProto(customer, &proto);
  EXPECT_EQ(proto.create_time().seconds(), -2);
  EXPECT_EQ(proto.create_time().nanos(), 500000000);
}

TEST(CustomerProtoTest, FromProtoRoundTripsTheInputFields) {
  Customer customer = testing::SampleCustomer();
  v1::Customer proto;
  ToProto(customer, &proto);
  const Customer decoded = FromProto(proto);
  Customer expected = customer;  // Less what FromProto must ignore.
  expected.tenant_id.clear();
  expected.state = CustomerState::kUnspecified;
  expected.create_time = absl::Time();
  expected.update_time = absl::Time();
  expected.version = 0;
  EXPECT_EQ(decoded, expected);
}

TEST(CustomerProtoTest, FromProtoIgnoresOutputOnlyFieldsAndEtag) {
  v1::Customer proto;
  proto.set_display_name("腾飞");
  proto.set_state(v1::CUSTOMER_STATE_DELETED);
  proto.set_merged_into_customer_id("other");
  proto.mutable_create_time()->set_seconds(100);
  proto.mutable_update_time()->set_seconds(200);
  proto.mutable_delete_time()->set_seconds(300);
  proto.set_etag("7");
  const Customer customer = FromProto(proto);
  Customer expected;
  expected.display_name = "腾飞";
  EXPECT_EQ(customer, expected);
}

TEST(CustomerProtoTest, FromProtoKeepsUnknownEnumNumbersForValidation) {
  v1::Customer proto;
  proto.set_kind(static_cast<v1::CustomerKind>(7));
  proto.add_contact_persons()->add_phones()->set_kind(static_cast<type::v1::ContactPointKind>(9));
  const Customer customer = FromProto(proto);
  EXPECT_EQ(static_cast<int>(customer.kind), 7);
  EXPECT_EQ(static_cast<int>(customer.contact_persons[0].phones[0].kind), 9);
}

TEST(CustomerProtoTest, FromProtoLeavesOutCustomValuesWithoutAKind) {
  v1::Customer proto;
  (*proto.mutable_custom_fields())["unset"];
  (*proto.mutable_custom_fields())["ok"].set_bool_value(false);
  EXPECT_EQ(FromProto(proto).custom_fields, (std::map<std::string, CustomValue>{{"ok", false}}));
}

TEST(CustomerProtoTest, FromProtoConvertsEveryCustomValueKind) {
  v1::Customer proto;
  auto& fields = *proto.mutable_custom_fields();
  fields["s"].set_string_value("广交会");
  fields["i"].set_int_value(-7);
  fields["d"].set_double_value(1.5);
  fields["b"].set_bool_value(true);
  fields["t"].mutable_timestamp_value()->set_seconds(-2);
  fields["t"].mutable_timestamp_value()->set_nanos(500000000);
  EXPECT_EQ(FromProto(proto).custom_fields,
            (std::map<std::string, CustomValue>{{"s", std::string("广交会")},
                                                {"i", std::int64_t{-7}},
                                                {"d", 1.5},
                                                {"b", true},
                                                {"t", absl::FromUnixMillis(-1500)}}));
}

TEST(CustomerProtoTest, OutOfRangeTimestampsReachTheValidator) {
  v1::Customer proto;
  proto.set_kind(v1::CUSTOMER_KIND_ORGANIZATION);
  proto.set_display_name("腾飞");
  (*proto.mutable_custom_fields())["last"].mutable_timestamp_value()->set_seconds(253402300799);
  Customer customer = FromProto(proto);
  const CustomerValidator validator(ValidationOptions{});
  EXPECT_THAT(validator.Normalize(customer, /*for_create=*/true), IsEmpty());
  (*proto.mutable_custom_fields())["last"].mutable_timestamp_value()->set_seconds(253402300800);
  customer = FromProto(proto);
  EXPECT_THAT(validator.Normalize(customer, /*for_create=*/true),
              ElementsAre(IsViolation("customer.custom_fields[\"last\"]")));
}

TEST(CustomerMergeProtoTest, ToProtoCopiesTheRecordAndUnmergeTimeOnlyWhenSet) {
  CustomerMerge merge;
  merge.merge_id = "m-1";
  merge.survivor_customer_id = "s";
  merge.merged_customer_id = "m";
  merge.create_time = absl::FromUnixSeconds(1700000000);
  merge.survivor_before = testing::SampleCustomer();
  v1::CustomerMerge proto;
  ToProto(merge, &proto);
  EXPECT_EQ(proto.merge_id(), "m-1");
  EXPECT_EQ(proto.survivor_customer_id(), "s");
  EXPECT_EQ(proto.merged_customer_id(), "m");
  EXPECT_EQ(proto.create_time().seconds(), 1700000000);
  EXPECT_FALSE(proto.has_unmerge_time());

  merge.unmerge_time = absl::FromUnixSeconds(1700000100);
  ToProto(merge, &proto);
  ASSERT_TRUE(proto.has_unmerge_time());
  EXPECT_EQ(proto.unmerge_time().seconds(), 1700000100);
}

}  // namespace
}  // namespace touchline::contacts
