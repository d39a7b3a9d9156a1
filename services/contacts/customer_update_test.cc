#include "services/contacts/customer_update.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/contacts/customer_testing.h"

namespace touchline::contacts {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::SizeIs;
using ::touchline::contacts::testing::IsViolation;

// A patch in which every field differs from SampleCustomer().
Customer Patch() {
  Customer patch;
  patch.tenant_id = "other-tenant";
  patch.customer_id = "other-id";
  patch.kind = CustomerKind::kPerson;
  patch.display_name = "腾飞科技";
  patch.industry = "零售";
  patch.region = "华北";
  patch.level = CustomerLevel::kVip;
  patch.lifecycle_status = LifecycleStatus::kCustomer;
  patch.owner_id = "user-9";
  patch.tags = {"复购"};
  patch.custom_fields = {{"source", std::string("官网")}, {"new_field", std::int64_t{1}}};
  ContactPerson person;
  person.name.formatted_name = "李娜";
  patch.contact_persons = {person};
  PostalAddress address;
  address.locality = "北京市";
  patch.addresses = {address};
  patch.state = CustomerState::kDeleted;
  patch.create_time = absl::FromUnixSeconds(1);
  patch.version = 99;
  return patch;
}

std::vector<FieldViolation> Apply(const std::vector<std::string>& paths, Customer& target) {
  return ApplyUpdateMask(Patch(), paths, target);
}

TEST(ApplyUpdateMaskTest, RejectsAnEmptyMask) {
  Customer target = testing::SampleCustomer();
  EXPECT_THAT(Apply({}, target),
              ElementsAre(IsViolation("update_mask", "must name at least one field")));
  EXPECT_EQ(target, testing::SampleCustomer());
}

TEST(ApplyUpdateMaskTest, RejectsFieldsThatCannotBeUpdated) {
  for (const std::string path : {"kind", "customer_id", "state", "merged_into_customer_id",
                                 "create_time", "update_time", "delete_time", "etag"}) {
    Customer target = testing::SampleCustomer();
    EXPECT_THAT(Apply({"display_name", path}, target),
                ElementsAre(IsViolation("update_mask", "field '" + path + "' cannot be updated")));
    EXPECT_EQ(target, testing::SampleCustomer()) << "changed despite " << path;
  }
}

TEST(ApplyUpdateMaskTest, RejectsUnknownAndPartialPaths) {
  Customer target = testing::SampleCustomer();
  EXPECT_THAT(Apply({"nickname", "contact_persons.name", "tenant_id", "custom_fields."}, target),
              ElementsAre(IsViolation("update_mask", "unknown field 'nickname'"),
                          IsViolation("update_mask",
                                      "field 'contact_persons.name' cannot be updated on its own; "
                                      "update 'contact_persons' as a whole"),
                          IsViolation("update_mask", "unknown field 'tenant_id'"),
                          IsViolation("update_mask", "'custom_fields.' names no key")));
  EXPECT_EQ(target, testing::SampleCustomer());
}

TEST(ApplyUpdateMaskTest, CopiesOnlyTheNamedFields) {
  Customer target = testing::SampleCustomer();
  ASSERT_THAT(Apply({"display_name", "level"}, target), IsEmpty());
  Customer expected = testing::SampleCustomer();
  expected.display_name = "腾飞科技";
  expected.level = CustomerLevel::kVip;
  EXPECT_EQ(target, expected);
}

TEST(ApplyUpdateMaskTest, EachUpdatablePathCopiesItsField) {
  struct Case {
    std::string path;
    bool (*copied)(const Customer&);
  };
  const Customer patch = Patch();
  const Case cases[] = {
      {"display_name", [](const Customer& c) { return c.display_name == Patch().display_name; }},
      {"industry", [](const Customer& c) { return c.industry == Patch().industry; }},
      {"region", [](const Customer& c) { return c.region == Patch().region; }},
      {"level", [](const Customer& c) { return c.level == Patch().level; }},
      {"lifecycle_status",
       [](const Customer& c) { return c.lifecycle_status == Patch().lifecycle_status; }},
      {"owner_id", [](const Customer& c) { return c.owner_id == Patch().owner_id; }},
      {"tags", [](const Customer& c) { return c.tags == Patch().tags; }},
      {"custom_fields", [](const Customer& c) { return c.custom_fields == Patch().custom_fields; }},
      {"contact_persons",
       [](const Customer& c) { return c.contact_persons == Patch().contact_persons; }},
      {"addresses", [](const Customer& c) { return c.addresses == Patch().addresses; }},
  };
  for (const Case& test : cases) {
    Customer target = testing::SampleCustomer();
    ASSERT_FALSE(test.copied(target)) << test.path;
    ASSERT_THAT(ApplyUpdateMask(patch, {test.path}, target), IsEmpty()) << test.path;
    EXPECT_TRUE(test.copied(target)) << test.path;
  }
}

TEST(ApplyUpdateMaskTest, StarUpdatesEveryUpdatableFieldAndNothingElse) {
  Customer target = testing::SampleCustomer();
  ASSERT_THAT(Apply({"*"}, target), IsEmpty());
  Customer expected = Patch();
  const Customer sample = testing::SampleCustomer();
  expected.tenant_id = sample.tenant_id;
  expected.customer_id = sample.customer_id;
  expected.kind = sample.kind;
  expected.state = sample.state;
  expected.merged_into_customer_id = sample.merged_into_customer_id;
  expected.create_time = sample.create_time;
  expected.update_time = sample.update_time;
  expected.delete_time = sample.delete_time;
  expected.version = sample.version;
  EXPECT_EQ(target, expected);
}

TEST(ApplyUpdateMaskTest, CustomFieldsPathReplacesThemAll) {
  Customer target = testing::SampleCustomer();
  ASSERT_THAT(Apply({"custom_fields"}, target), IsEmpty());
  EXPECT_EQ(target.custom_fields, Patch().custom_fields);
}

TEST(ApplyUpdateMaskTest, CustomFieldKeyPathSetsOneAndLeavesTheRest) {
  Customer target = testing::SampleCustomer();
  ASSERT_THAT(Apply({"custom_fields.source", "custom_fields.new_field"}, target), IsEmpty());
  auto expected = testing::SampleCustomer().custom_fields;
  expected["source"] = std::string("官网");
  expected["new_field"] = std::int64_t{1};
  EXPECT_EQ(target.custom_fields, expected);
}

TEST(ApplyUpdateMaskTest, CustomFieldKeyPathRemovesAKeyThePatchLacks) {
  Customer target = testing::SampleCustomer();
  ASSERT_THAT(Apply({"custom_fields.vip_since", "custom_fields.absent_everywhere"}, target),
              IsEmpty());
  auto expected = testing::SampleCustomer().custom_fields;
  expected.erase("vip_since");
  EXPECT_EQ(target.custom_fields, expected);
}

TEST(ApplyUpdateMaskTest, ContactPersonsKeepIdsAddNewOnesAndDropUnsent) {
  Customer target = testing::SampleCustomer();
  ContactPerson second;
  second.person_id = "0190b3a4-7c1d-7e2f-8a3b-000000000002";
  second.name.formatted_name = "李娜";
  target.contact_persons.push_back(second);

  Customer patch;
  ContactPerson changed = target.contact_persons[0];
  changed.department = "销售部";
  ContactPerson added;
  added.name.formatted_name = "王芳";
  patch.contact_persons = {added, changed};

  ASSERT_THAT(ApplyUpdateMask(patch, {"contact_persons"}, target), IsEmpty());
  ASSERT_THAT(target.contact_persons, SizeIs(2));
  EXPECT_EQ(target.contact_persons[0].person_id, "");
  EXPECT_EQ(target.contact_persons[1].person_id, testing::SamplePerson().person_id);
  EXPECT_EQ(target.contact_persons[1].department, "销售部");
}

TEST(ApplyUpdateMaskTest, RejectsPersonIdsTheTargetLacks) {
  Customer target = testing::SampleCustomer();
  Customer patch;
  patch.contact_persons = {testing::SamplePerson(), testing::SamplePerson()};
  patch.contact_persons[1].person_id = "0190b3a4-7c1d-7e2f-8a3b-00000000dead";
  for (const std::string path : {"contact_persons", "*"}) {
    EXPECT_THAT(ApplyUpdateMask(patch, {path}, target),
                ElementsAre(IsViolation("customer.contact_persons[1].person_id", "no such person")))
        << path;
    EXPECT_EQ(target, testing::SampleCustomer());
  }
}

TEST(ApplyUpdateMaskTest, PersonIdsAreNotCheckedWhenPersonsAreNotUpdated) {
  Customer target = testing::SampleCustomer();
  Customer patch = Patch();
  patch.contact_persons[0].person_id = "0190b3a4-7c1d-7e2f-8a3b-00000000dead";
  EXPECT_THAT(ApplyUpdateMask(patch, {"region"}, target), IsEmpty());
}

TEST(WrittenFieldPathsTest, ExpandsTheStarAndKeepsOtherPaths) {
  EXPECT_THAT(WrittenFieldPaths({"region", "custom_fields.source"}),
              ElementsAre("region", "custom_fields.source"));
  EXPECT_THAT(WrittenFieldPaths({"*"}),
              ElementsAre("display_name", "industry", "region", "level", "lifecycle_status",
                          "owner_id", "tags", "custom_fields", "contact_persons", "addresses"));
}

TEST(ChangedFieldPathsTest, AgainstADefaultCustomerNamesEverySetFieldButIdentityAndState) {
  EXPECT_THAT(
      ChangedFieldPaths(Customer{}, testing::SampleCustomer()),
      ElementsAre("kind", "display_name", "industry", "region", "level", "lifecycle_status",
                  "owner_id", "tags", "custom_fields", "contact_persons.name",
                  "contact_persons.titles", "contact_persons.department", "contact_persons.phones",
                  "contact_persons.emails", "contact_persons.addresses",
                  "contact_persons.messaging_accounts", "contact_persons.note", "addresses"));
  Customer minimal;
  minimal.customer_id = "0190b3a4-0000-7000-8000-000000000001";
  minimal.display_name = "王小明";
  minimal.state = CustomerState::kActive;
  minimal.version = 3;
  EXPECT_THAT(ChangedFieldPaths(Customer{}, minimal), ElementsAre("display_name"));
}

TEST(ChangedFieldPathsTest, ComparesContactPersonsPersonByPerson) {
  const Customer before = testing::SampleCustomer();
  EXPECT_THAT(ChangedFieldPaths(before, before), IsEmpty());

  Customer after = before;
  after.contact_persons[0].phones[1].number = "+861065529999";
  after.contact_persons[0].person_id = "0190b3a4-7c1d-7e2f-8a3b-00000000beef";
  after.update_time = absl::FromUnixSeconds(5);
  EXPECT_THAT(ChangedFieldPaths(before, after), ElementsAre("contact_persons.phones"));

  // A second person with a name and an email only: just those fields are written.
  ContactPerson added;
  added.name.formatted_name = "李娜";
  added.emails = {
      {.address = "li.na@example.com", .kind = ContactPointKind::kWork, .primary = false}};
  after = before;
  after.contact_persons.push_back(added);
  after.region = "华北";
  EXPECT_THAT(ChangedFieldPaths(before, after),
              ElementsAre("region", "contact_persons.name", "contact_persons.emails"));
  // Removing a person writes every field it had.
  EXPECT_THAT(ChangedFieldPaths(after, before),
              ElementsAre("region", "contact_persons.name", "contact_persons.emails"));
}

}  // namespace
}  // namespace touchline::contacts
