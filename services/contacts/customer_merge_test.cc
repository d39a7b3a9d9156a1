#include "services/contacts/customer_merge.h"

#include <string>
#include <vector>

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

}  // namespace
}  // namespace touchline::contacts
