#include "services/contacts/customer_merge.h"

#include <string>
#include <vector>

#include "common/status/errors.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/contacts/customer_testing.h"
#include "services/contacts/customer_validation.h"

namespace touchline::contacts {
namespace {

using ::testing::ElementsAre;
using ::testing::SizeIs;

Phone MobilePhone(std::string number) {
  return {.number = std::move(number), .kind = ContactPointKind::kMobile, .primary = false};
}

Email WorkEmail(std::string address) {
  return {.address = std::move(address), .kind = ContactPointKind::kWork, .primary = false};
}

ContactPerson PersonNamed(std::string formatted_name) {
  ContactPerson person;
  person.person_id = "id-" + formatted_name;
  person.name.formatted_name = std::move(formatted_name);
  return person;
}

PostalAddress AddressIn(std::string locality) {
  PostalAddress address;
  address.country_code = "CN";
  address.locality = std::move(locality);
  return address;
}

class FoldIntoTest : public ::testing::Test {
 protected:
  FoldIntoTest() {
    survivor_.customer_id = "survivor";
    survivor_.kind = CustomerKind::kOrganization;
    survivor_.display_name = "深圳市腾飞科技有限公司";
    survivor_.level = CustomerLevel::kStandard;
    survivor_.lifecycle_status = LifecycleStatus::kProspect;
    survivor_.version = 5;
    merged_.customer_id = "merged";
    merged_.kind = CustomerKind::kPerson;
    merged_.display_name = "腾飞科技";
    merged_.level = CustomerLevel::kStandard;
    merged_.lifecycle_status = LifecycleStatus::kCustomer;
    merged_.version = 9;
  }

  Customer survivor_;
  Customer merged_;
};

TEST_F(FoldIntoTest, KeepsSurvivorIdentity) {
  const Customer result = FoldInto(survivor_, merged_);
  EXPECT_EQ(result.customer_id, "survivor");
  EXPECT_EQ(result.kind, CustomerKind::kOrganization);
  EXPECT_EQ(result.display_name, "深圳市腾飞科技有限公司");
  EXPECT_EQ(result.version, 5);
}

TEST_F(FoldIntoTest, ScalarsKeepSurvivorsUnlessEmpty) {
  survivor_.industry = "制造业";
  merged_.industry = "零售";
  merged_.region = "华南";
  merged_.owner_id = "user-2";
  const Customer result = FoldInto(survivor_, merged_);
  EXPECT_EQ(result.industry, "制造业");
  EXPECT_EQ(result.region, "华南");
  EXPECT_EQ(result.owner_id, "user-2");
  survivor_.owner_id = "user-1";
  EXPECT_EQ(FoldInto(survivor_, merged_).owner_id, "user-1");
}

TEST_F(FoldIntoTest, LevelIsTheHigherOfTheTwo) {
  merged_.level = CustomerLevel::kVip;
  EXPECT_EQ(FoldInto(survivor_, merged_).level, CustomerLevel::kVip);
  survivor_.level = CustomerLevel::kKey;
  merged_.level = CustomerLevel::kStandard;
  EXPECT_EQ(FoldInto(survivor_, merged_).level, CustomerLevel::kKey);
}

TEST_F(FoldIntoTest, LifecycleIsSurvivorsUnlessUnspecified) {
  EXPECT_EQ(FoldInto(survivor_, merged_).lifecycle_status, LifecycleStatus::kProspect);
  survivor_.lifecycle_status = LifecycleStatus::kUnspecified;
  EXPECT_EQ(FoldInto(survivor_, merged_).lifecycle_status, LifecycleStatus::kCustomer);
}

TEST_F(FoldIntoTest, TagsAreSurvivorsThenMergedsNewOnesUpTo64) {
  survivor_.tags = {"展会线索", "华南"};
  merged_.tags = {"华南", "VIP", "展会线索", "复购"};
  EXPECT_THAT(FoldInto(survivor_, merged_).tags, ElementsAre("展会线索", "华南", "VIP", "复购"));
  survivor_.tags.clear();
  for (int i = 0; i < 60; ++i) survivor_.tags.push_back("s" + std::to_string(i));
  merged_.tags.clear();
  for (int i = 0; i < 10; ++i) merged_.tags.push_back("m" + std::to_string(i));
  const Customer result = FoldInto(survivor_, merged_);
  ASSERT_THAT(result.tags, SizeIs(kMaxTags));
  EXPECT_EQ(result.tags.back(), "m3");
}

TEST_F(FoldIntoTest, CustomFieldsUniteWithSurvivorWinning) {
  survivor_.custom_fields = {{"source", std::string("广交会")}, {"score", 0.5}};
  merged_.custom_fields = {{"source", std::string("官网")}, {"vip", true}};
  EXPECT_EQ(FoldInto(survivor_, merged_).custom_fields,
            (std::map<std::string, CustomValue>{
                {"source", std::string("广交会")}, {"score", 0.5}, {"vip", true}}));
}

TEST_F(FoldIntoTest, AppendsDifferentPersonsWithTheirIds) {
  survivor_.contact_persons = {PersonNamed("张伟")};
  survivor_.contact_persons[0].phones = {MobilePhone("+8613800138000")};
  merged_.contact_persons = {PersonNamed("李娜")};
  merged_.contact_persons[0].phones = {MobilePhone("+8613900139000")};
  const Customer result = FoldInto(survivor_, merged_);
  ASSERT_THAT(result.contact_persons, SizeIs(2));
  EXPECT_EQ(result.contact_persons[1], merged_.contact_persons[0]);
}

TEST_F(FoldIntoTest, ReportsEachFoldedPersonWithThePersonItWasFoldedInto) {
  survivor_.contact_persons = {PersonNamed("张伟")};
  survivor_.contact_persons[0].phones = {MobilePhone("+8613800138000")};
  ContactPerson same = PersonNamed("Wei Zhang");
  same.phones = {MobilePhone("+8613800138000")};
  ContactPerson other = PersonNamed("李娜");
  other.phones = {MobilePhone("+8613900139000")};
  ContactPerson same_as_other = PersonNamed("Li Na");
  same_as_other.phones = {MobilePhone("+8613900139000")};
  merged_.contact_persons = {same, other, same_as_other};
  std::vector<FoldedPerson> folded;
  const Customer result = FoldInto(survivor_, merged_, &folded);
  ASSERT_THAT(result.contact_persons, SizeIs(2));
  // The one sharing the survivor's phone, and one sharing a phone with a person it brought.
  EXPECT_THAT(folded,
              ElementsAre(FoldedPerson{same.person_id, survivor_.contact_persons[0].person_id},
                          FoldedPerson{same_as_other.person_id, other.person_id}));
  EXPECT_EQ(FoldedPersons(survivor_, merged_), folded);
}

TEST_F(FoldIntoTest, FoldsPersonSharingAPhone) {
  ContactPerson kept = PersonNamed("张伟");
  kept.titles = {"采购经理"};
  kept.phones = {MobilePhone("+8613800138000")};
  kept.emails = {WorkEmail("wei@tengfei.cn")};
  kept.addresses = {AddressIn("深圳市")};
  kept.messaging_accounts = {{.service = MessagingService::kWeCom, .account_id = "wm_1"}};
  survivor_.contact_persons = {kept};

  ContactPerson same = PersonNamed("Wei Zhang");
  same.titles = {"采购经理", "Buyer"};
  same.department = "采购部";
  same.phones = {MobilePhone("+8613800138000"), MobilePhone("+861065529988")};
  same.emails = {WorkEmail("zhangwei@163.com")};
  same.addresses = {AddressIn("深圳市"), AddressIn("北京市")};
  same.messaging_accounts = {{.service = MessagingService::kWeCom, .account_id = "wm_1"},
                             {.service = MessagingService::kWeChat, .account_id = "wx_1"}};
  same.note = "老客户";
  merged_.contact_persons = {same};

  const Customer result = FoldInto(survivor_, merged_);
  ASSERT_THAT(result.contact_persons, SizeIs(1));
  const ContactPerson& person = result.contact_persons[0];
  EXPECT_EQ(person.person_id, kept.person_id);
  EXPECT_EQ(person.name, kept.name);
  EXPECT_THAT(person.titles, ElementsAre("采购经理", "Buyer"));
  EXPECT_EQ(person.department, "采购部");
  EXPECT_THAT(person.phones,
              ElementsAre(MobilePhone("+8613800138000"), MobilePhone("+861065529988")));
  EXPECT_THAT(person.emails,
              ElementsAre(WorkEmail("wei@tengfei.cn"), WorkEmail("zhangwei@163.com")));
  EXPECT_THAT(person.addresses, ElementsAre(AddressIn("深圳市"), AddressIn("北京市")));
  EXPECT_THAT(person.messaging_accounts, SizeIs(2));
  EXPECT_EQ(person.note, "老客户");
}

TEST_F(FoldIntoTest, SamePhoneWithOtherKindIsNotAddedTwice) {
  survivor_.contact_persons = {PersonNamed("张伟")};
  survivor_.contact_persons[0].phones = {MobilePhone("+8613800138000")};
  merged_.contact_persons = {PersonNamed("张伟")};
  merged_.contact_persons[0].phones = {
      {.number = "+8613800138000", .kind = ContactPointKind::kWork, .primary = true}};
  const Customer result = FoldInto(survivor_, merged_);
  ASSERT_THAT(result.contact_persons, SizeIs(1));
  EXPECT_THAT(result.contact_persons[0].phones, ElementsAre(MobilePhone("+8613800138000")));
}

TEST_F(FoldIntoTest, FoldsPersonSharingAnEmail) {
  survivor_.contact_persons = {PersonNamed("张伟")};
  survivor_.contact_persons[0].emails = {WorkEmail("wei@tengfei.cn")};
  merged_.contact_persons = {PersonNamed("Wei")};
  merged_.contact_persons[0].emails = {WorkEmail("wei@tengfei.cn")};
  merged_.contact_persons[0].phones = {MobilePhone("+8613800138000")};
  const Customer result = FoldInto(survivor_, merged_);
  ASSERT_THAT(result.contact_persons, SizeIs(1));
  EXPECT_THAT(result.contact_persons[0].phones, ElementsAre(MobilePhone("+8613800138000")));
}

TEST_F(FoldIntoTest, FoldsSameNameWhenOneHasNoContactPoints) {
  survivor_.contact_persons = {PersonNamed("张伟")};
  survivor_.contact_persons[0].phones = {MobilePhone("+8613800138000")};
  merged_.contact_persons = {PersonNamed("张伟")};
  merged_.contact_persons[0].titles = {"总经理"};
  const Customer result = FoldInto(survivor_, merged_);
  ASSERT_THAT(result.contact_persons, SizeIs(1));
  EXPECT_THAT(result.contact_persons[0].titles, ElementsAre("总经理"));
}

TEST_F(FoldIntoTest, KeepsSameNameApartWhenContactPointsDiffer) {
  survivor_.contact_persons = {PersonNamed("张伟")};
  survivor_.contact_persons[0].phones = {MobilePhone("+8613800138000")};
  merged_.contact_persons = {PersonNamed("张伟")};
  merged_.contact_persons[0].emails = {WorkEmail("zhangwei@163.com")};
  EXPECT_THAT(FoldInto(survivor_, merged_).contact_persons, SizeIs(2));
}

TEST_F(FoldIntoTest, CapsPersonsAndTheirContactPoints) {
  for (int i = 0; i < 99; ++i) survivor_.contact_persons.push_back(PersonNamed(std::to_string(i)));
  merged_.contact_persons = {PersonNamed("a"), PersonNamed("b")};
  EXPECT_THAT(FoldInto(survivor_, merged_).contact_persons, SizeIs(kMaxContactPersons));

  survivor_.contact_persons = {PersonNamed("张伟")};
  merged_.contact_persons = {PersonNamed("张伟")};
  for (int i = 0; i < 20; ++i) {
    merged_.contact_persons[0].phones.push_back(
        MobilePhone("+86138001380" + std::to_string(10 + i)));
  }
  EXPECT_THAT(FoldInto(survivor_, merged_).contact_persons[0].phones, SizeIs(kMaxPhones));
}

TEST_F(FoldIntoTest, UnitesAddressesWithoutExactDuplicatesUpToEight) {
  survivor_.addresses = {AddressIn("深圳市")};
  PostalAddress other_kind = AddressIn("深圳市");
  other_kind.kind = ContactPointKind::kHome;
  merged_.addresses = {AddressIn("深圳市"), other_kind, AddressIn("广州市")};
  EXPECT_THAT(FoldInto(survivor_, merged_).addresses,
              ElementsAre(AddressIn("深圳市"), other_kind, AddressIn("广州市")));
  merged_.addresses.clear();
  for (int i = 0; i < 10; ++i) merged_.addresses.push_back(AddressIn(std::to_string(i)));
  EXPECT_THAT(FoldInto(survivor_, merged_).addresses, SizeIs(kMaxAddresses));
}

TEST(MergeOfTest, StampsBothCustomersAndKeepsThemAsTheyWereInTheRecord) {
  Customer survivor = testing::SampleCustomer();
  Customer merged = testing::SampleCustomer();
  merged.customer_id = "0190b3a4-0000-7000-8000-000000000002";
  merged.version = 7;
  Customer folded = survivor;
  folded.industry = "零售";
  const absl::Time now = absl::FromUnixSeconds(1800000000);
  const MergeOutcome outcome = MergeOf(survivor, merged, folded, "m1", now);
  EXPECT_EQ(outcome.survivor.industry, "零售");
  EXPECT_EQ(outcome.survivor.version, 43);
  EXPECT_EQ(outcome.survivor.update_time, now);
  EXPECT_EQ(outcome.merged.state, CustomerState::kMerged);
  EXPECT_EQ(outcome.merged.merged_into_customer_id, survivor.customer_id);
  EXPECT_EQ(outcome.merged.delete_time, now);
  EXPECT_EQ(outcome.merged.version, 8);
  EXPECT_EQ(outcome.merge.merge_id, "m1");
  EXPECT_EQ(outcome.merge.tenant_id, survivor.tenant_id);
  EXPECT_EQ(outcome.merge.survivor_before, survivor);
  EXPECT_EQ(outcome.merge.merged_before, merged);
  EXPECT_EQ(outcome.merge.survivor_version_after, 43);
  EXPECT_EQ(outcome.merge.merged_version_after, 8);
  EXPECT_EQ(outcome.merge.unmerge_time, std::nullopt);
}

TEST(UnmergeOfTest, RestoresBothAsTheyWereWithNewVersions) {
  Customer survivor = testing::SampleCustomer();
  Customer merged = testing::SampleCustomer();
  merged.customer_id = "0190b3a4-0000-7000-8000-000000000002";
  const absl::Time merge_time = absl::FromUnixSeconds(1800000000);
  const MergeOutcome merge = MergeOf(survivor, merged, survivor, "m1", merge_time);
  EXPECT_TRUE(CheckNotUnmerged(merge.merge).ok());
  const absl::Time now = merge_time + absl::Hours(1);
  const absl::StatusOr<MergeOutcome> undone =
      UnmergeOf(merge.merge, merge.survivor, merge.merged, now);
  ASSERT_TRUE(undone.ok()) << undone.status();
  Customer expected_survivor = survivor;
  expected_survivor.version = merge.survivor.version + 1;  // An etag never comes back.
  expected_survivor.update_time = now;
  EXPECT_EQ(undone->survivor, expected_survivor);
  EXPECT_EQ(undone->merged.state, CustomerState::kActive);
  EXPECT_EQ(undone->merged.version, merge.merged.version + 1);
  EXPECT_EQ(undone->merge.unmerge_time, now);
  const absl::Status again = CheckNotUnmerged(undone->merge);
  EXPECT_EQ(again.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(status::ErrorReasonOf(again), "ALREADY_UNMERGED");
}

TEST(UnmergeOfTest, RefusesWhenACustomerChangedSince) {
  const Customer survivor = testing::SampleCustomer();
  Customer merged = testing::SampleCustomer();
  merged.customer_id = "0190b3a4-0000-7000-8000-000000000002";
  const MergeOutcome merge = MergeOf(survivor, merged, survivor, "m1", absl::Now());
  Customer edited = merge.survivor;
  ++edited.version;
  const absl::StatusOr<MergeOutcome> undone =
      UnmergeOf(merge.merge, edited, merge.merged, absl::Now());
  EXPECT_EQ(undone.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(status::ErrorReasonOf(undone.status()), "CHANGED_SINCE_MERGE");
}

}  // namespace
}  // namespace touchline::contacts
