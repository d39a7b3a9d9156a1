#include "services/contacts/customer_validation.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/ids/ids.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/contacts/customer_testing.h"
#include "common/text/text.h"

namespace touchline::contacts {

using text::CodePointCount;
using text::IsValidUtf8;
using text::TrimSpace;
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::touchline::contacts::testing::IsViolation;

std::string Repeat(std::string_view piece, size_t times) {
  std::string out;
  for (size_t i = 0; i < times; ++i) out.append(piece);
  return out;
}

// A new organisation as a client would send it: loosely formatted, nothing defaulted.
Customer NewCustomer() {
  Customer customer;
  customer.kind = CustomerKind::kOrganization;
  customer.display_name = "深圳市腾飞科技有限公司";
  ContactPerson person;
  person.name.family_name = "张";
  person.name.given_name = "伟";
  person.phones.push_back(
      {.number = "138 0013 8000", .kind = ContactPointKind::kMobile, .primary = true});
  person.emails.push_back(
      {.address = " Wei.Zhang@TengFei.CN ", .kind = ContactPointKind::kWork, .primary = false});
  customer.contact_persons.push_back(person);
  return customer;
}

class CustomerValidatorTest : public ::testing::Test {
 protected:
  std::vector<FieldViolation> Normalize(Customer& customer, bool for_create = true) {
    return validator_.Normalize(customer, for_create);
  }

  // The violations of NewCustomer() after `change`.
  template <typename Change>
  std::vector<FieldViolation> ViolationsAfter(Change change) {
    Customer customer = NewCustomer();
    change(customer);
    return Normalize(customer);
  }

  ContactPerson& Person(Customer& customer) { return customer.contact_persons[0]; }

  CustomerValidator validator_{ValidationOptions{}};
};

TEST_F(CustomerValidatorTest, NormalizesValidCustomer) {
  Customer customer = NewCustomer();
  EXPECT_THAT(Normalize(customer), IsEmpty());
  EXPECT_EQ(customer.level, CustomerLevel::kStandard);
  EXPECT_EQ(customer.lifecycle_status, LifecycleStatus::kLead);
  EXPECT_EQ(Person(customer).phones[0].number, "+8613800138000");
  EXPECT_EQ(Person(customer).emails[0].address, "wei.zhang@tengfei.cn");
  EXPECT_EQ(Person(customer).name.formatted_name, "张伟");
}

TEST_F(CustomerValidatorTest, SampleCustomerIsValidAndUnchanged) {
  Customer customer = testing::SampleCustomer();
  EXPECT_THAT(Normalize(customer, /*for_create=*/false), IsEmpty());
  EXPECT_EQ(customer, testing::SampleCustomer());
}

TEST_F(CustomerValidatorTest, KeepsSetLevelAndLifecycle) {
  Customer customer = NewCustomer();
  customer.level = CustomerLevel::kVip;
  customer.lifecycle_status = LifecycleStatus::kHighIntent;
  ASSERT_THAT(Normalize(customer), IsEmpty());
  EXPECT_EQ(customer.level, CustomerLevel::kVip);
  EXPECT_EQ(customer.lifecycle_status, LifecycleStatus::kHighIntent);
}

TEST_F(CustomerValidatorTest, ReportsEveryViolationAtOnce) {
  EXPECT_THAT(ViolationsAfter([](Customer& c) {
                c.kind = CustomerKind::kUnspecified;
                c.display_name = "";
                c.contact_persons[0].phones[0].number = "12345";
              }),
              ElementsAre(IsViolation("customer.kind"), IsViolation("customer.display_name"),
                          IsViolation("customer.contact_persons[0].phones[0].number")));
}

// Enums.

TEST_F(CustomerValidatorTest, CreateRequiresKind) {
  Customer customer = NewCustomer();
  customer.kind = CustomerKind::kUnspecified;
  EXPECT_THAT(Normalize(customer), ElementsAre(IsViolation("customer.kind", "is required")));
  customer = NewCustomer();
  customer.kind = CustomerKind::kUnspecified;
  EXPECT_THAT(Normalize(customer, /*for_create=*/false), IsEmpty());
}

TEST_F(CustomerValidatorTest, RejectsUnknownEnumValues) {
  EXPECT_THAT(ViolationsAfter([](Customer& c) { c.kind = static_cast<CustomerKind>(3); }),
              ElementsAre(IsViolation("customer.kind", "must be a known value")));
  EXPECT_THAT(ViolationsAfter([](Customer& c) { c.level = static_cast<CustomerLevel>(4); }),
              ElementsAre(IsViolation("customer.level", "must be a known value")));
  EXPECT_THAT(
      ViolationsAfter([](Customer& c) { c.lifecycle_status = static_cast<LifecycleStatus>(-1); }),
      ElementsAre(IsViolation("customer.lifecycle_status", "must be a known value")));
  EXPECT_THAT(ViolationsAfter([](Customer& c) {
                c.contact_persons[0].phones[0].kind = static_cast<ContactPointKind>(6);
              }),
              ElementsAre(IsViolation("customer.contact_persons[0].phones[0].kind")));
}

// Customer texts.

TEST_F(CustomerValidatorTest, TrimsDisplayNameOfUnicodeSpace) {
  Customer customer = NewCustomer();
  customer.display_name = "\u3000 腾飞科技\u00A0\t";
  ASSERT_THAT(Normalize(customer), IsEmpty());
  EXPECT_EQ(customer.display_name, "腾飞科技");
}

TEST_F(CustomerValidatorTest, TrimsSingleLineTexts) {
  Customer customer = NewCustomer();
  customer.industry = " 制造业\u3000";
  customer.region = "\t华南 ";
  customer.owner_id = " user-7 ";
  ContactPerson& person = Person(customer);
  person.name = {.family_name = " 张 ",
                 .given_name = "\u3000伟",
                 .additional_names = " David ",
                 .honorific_prefix = " 博士 ",
                 .honorific_suffix = " Jr. ",
                 .formatted_name = ""};
  person.titles = {" 采购经理 "};
  person.department = " 采购部 ";
  person.messaging_accounts = {{.service = MessagingService::kWeCom, .account_id = " wm_1 "}};
  person.addresses = {{.kind = ContactPointKind::kWork,
                       .country_code = "CN",
                       .administrative_area = " 广东省 ",
                       .locality = " 深圳市 ",
                       .sublocality = " 南山区 ",
                       .address_lines = {" 科技园 "},
                       .postal_code = " 518057 "}};
  ASSERT_THAT(Normalize(customer), IsEmpty());
  EXPECT_EQ(customer.industry, "制造业");
  EXPECT_EQ(customer.region, "华南");
  EXPECT_EQ(customer.owner_id, "user-7");
  EXPECT_EQ(person.name, (PersonName{.family_name = "张",
                                     .given_name = "伟",
                                     .additional_names = "David",
                                     .honorific_prefix = "博士",
                                     .honorific_suffix = "Jr.",
                                     .formatted_name = "张伟 David"}));
  EXPECT_THAT(person.titles, ElementsAre("采购经理"));
  EXPECT_EQ(person.department, "采购部");
  EXPECT_EQ(person.messaging_accounts[0].account_id, "wm_1");
  EXPECT_EQ(person.addresses[0], (PostalAddress{.kind = ContactPointKind::kWork,
                                                .country_code = "CN",
                                                .administrative_area = "广东省",
                                                .locality = "深圳市",
                                                .sublocality = "南山区",
                                                .address_lines = {"科技园"},
                                                .postal_code = "518057"}));
}

TEST_F(CustomerValidatorTest, RequiresDisplayName) {
  EXPECT_THAT(ViolationsAfter([](Customer& c) { c.display_name = "\u3000 "; }),
              ElementsAre(IsViolation("customer.display_name", "is required")));
}

TEST_F(CustomerValidatorTest, AcceptsDisplayNameOf256ChineseCharacters) {
  Customer customer = NewCustomer();
  customer.display_name = Repeat("腾", 256);
  EXPECT_THAT(Normalize(customer), IsEmpty());
  EXPECT_EQ(CodePointCount(customer.display_name), 256u);
}

TEST_F(CustomerValidatorTest, RejectsDisplayNameOf257ChineseCharactersWithoutTruncating) {
  Customer customer = NewCustomer();
  customer.display_name = Repeat("腾", 257);
  EXPECT_THAT(Normalize(customer),
              ElementsAre(IsViolation("customer.display_name", "must be at most 256 characters")));
  EXPECT_EQ(customer.display_name, Repeat("腾", 257));
}

TEST_F(CustomerValidatorTest, RejectsInvalidUtf8NamingTheField) {
  EXPECT_THAT(ViolationsAfter([](Customer& c) { c.display_name = "腾飞\xFF"; }),
              ElementsAre(IsViolation("customer.display_name", "must be valid UTF-8")));
  EXPECT_THAT(ViolationsAfter([](Customer& c) { c.contact_persons[0].note = "\xED\xA0\x80"; }),
              ElementsAre(IsViolation("customer.contact_persons[0].note", "must be valid UTF-8")));
  EXPECT_THAT(
      ViolationsAfter([](Customer& c) { c.contact_persons[0].phones[0].number = "\xC0\xAF"; }),
      ElementsAre(
          IsViolation("customer.contact_persons[0].phones[0].number", "must be valid UTF-8")));
  EXPECT_THAT(ViolationsAfter([](Customer& c) { c.tenant_id = "\x80"; }),
              ElementsAre(IsViolation("customer.tenant_id", "must be valid UTF-8")));
}

TEST_F(CustomerValidatorTest, InvalidUtf8LongerThanTheLimitIsReportedAsUtf8Only) {
  EXPECT_THAT(ViolationsAfter([](Customer& c) { c.industry = Repeat("\xFF", 300); }),
              ElementsAre(IsViolation("customer.industry", "must be valid UTF-8")));
}

TEST_F(CustomerValidatorTest, LimitsShortTextsTo128Characters) {
  EXPECT_THAT(ViolationsAfter([](Customer& c) { c.industry = Repeat("制", 128); }), IsEmpty());
  EXPECT_THAT(ViolationsAfter([](Customer& c) { c.industry = Repeat("制", 129); }),
              ElementsAre(IsViolation("customer.industry", "must be at most 128 characters")));
  EXPECT_THAT(ViolationsAfter([](Customer& c) { c.region = Repeat("华", 129); }),
              ElementsAre(IsViolation("customer.region")));
  EXPECT_THAT(ViolationsAfter([](Customer& c) { c.owner_id = Repeat("u", 129); }),
              ElementsAre(IsViolation("customer.owner_id")));
}

// Tags.

TEST_F(CustomerValidatorTest, TrimsTagsAndRemovesDuplicatesKeepingOrder) {
  Customer customer = NewCustomer();
  customer.tags = {" 展会线索 ", "华南", "展会线索", "\u3000华南", "VIP"};
  ASSERT_THAT(Normalize(customer), IsEmpty());
  EXPECT_THAT(customer.tags, ElementsAre("展会线索", "华南", "VIP"));
}

TEST_F(CustomerValidatorTest, Rejects65DistinctTags) {
  std::vector<std::string> tags;
  for (int i = 0; i < 65; ++i) tags.push_back("标签" + std::to_string(i));
  EXPECT_THAT(ViolationsAfter([&](Customer& c) { c.tags = tags; }),
              ElementsAre(IsViolation("customer.tags", "must have at most 64 entries")));
  tags.pop_back();
  EXPECT_THAT(ViolationsAfter([&](Customer& c) { c.tags = tags; }), IsEmpty());
  tags.push_back(tags.front());  // A duplicate does not count.
  EXPECT_THAT(ViolationsAfter([&](Customer& c) { c.tags = tags; }), IsEmpty());
}

TEST_F(CustomerValidatorTest, RejectsEmptyAndOverlongTags) {
  EXPECT_THAT(ViolationsAfter([](Customer& c) {
                c.tags = {"ok", " "};
              }),
              ElementsAre(IsViolation("customer.tags[1]", "is required")));
  EXPECT_THAT(ViolationsAfter([](Customer& c) { c.tags = {Repeat("标", 64)}; }), IsEmpty());
  EXPECT_THAT(ViolationsAfter([](Customer& c) { c.tags = {Repeat("标", 65)}; }),
              ElementsAre(IsViolation("customer.tags[0]", "must be at most 64 characters")));
}

// Custom fields.

TEST_F(CustomerValidatorTest, RejectsMalformedCustomFieldKeys) {
  for (const std::string key : {"VipSince", "1st_order", "_x", "vip-since", "客户等级"}) {
    EXPECT_THAT(ViolationsAfter([&](Customer& c) { c.custom_fields[key] = true; }),
                ElementsAre(IsViolation(CustomFieldPath(key), HasSubstr("key must be"))))
        << key;
  }
  EXPECT_THAT(ViolationsAfter([](Customer& c) { c.custom_fields[""] = true; }),
              ElementsAre(IsViolation("customer.custom_fields[\"\"]")));
  EXPECT_THAT(ViolationsAfter([](Customer& c) { c.custom_fields["a" + Repeat("b", 64)] = true; }),
              ElementsAre(IsViolation(HasSubstr("custom_fields"))));
  EXPECT_THAT(ViolationsAfter([](Customer& c) {
                c.custom_fields["vip_since_2024"] = true;
                c.custom_fields["a" + Repeat("b", 63)] = true;
              }),
              IsEmpty());
}

TEST_F(CustomerValidatorTest, RejectsMoreThan64CustomFields) {
  EXPECT_THAT(ViolationsAfter([](Customer& c) {
                for (int i = 0; i < 65; ++i) c.custom_fields["f" + std::to_string(i)] = true;
              }),
              ElementsAre(IsViolation("customer.custom_fields", "must have at most 64 entries")));
}

TEST_F(CustomerValidatorTest, LimitsCustomStringValuesTo4096Characters) {
  EXPECT_THAT(ViolationsAfter([](Customer& c) { c.custom_fields["memo"] = Repeat("备", 4096); }),
              IsEmpty());
  EXPECT_THAT(ViolationsAfter([](Customer& c) { c.custom_fields["memo"] = Repeat("备", 4097); }),
              ElementsAre(IsViolation("customer.custom_fields[\"memo\"]",
                                      "must be at most 4096 characters")));
}

TEST_F(CustomerValidatorTest, RejectsNonFiniteDoubles) {
  for (double value : {std::nan(""), std::numeric_limits<double>::infinity(),
                       -std::numeric_limits<double>::infinity()}) {
    EXPECT_THAT(
        ViolationsAfter([&](Customer& c) { c.custom_fields["score"] = value; }),
        ElementsAre(IsViolation("customer.custom_fields[\"score\"]", "must be a finite number")));
  }
}

TEST_F(CustomerValidatorTest, TruncatesTimesToMicroseconds) {
  Customer customer = NewCustomer();
  const absl::Time exact = absl::FromUnixMicros(1700000000123456);
  customer.custom_fields["vip_since"] = exact + absl::Nanoseconds(789);
  customer.create_time = exact + absl::Nanoseconds(1);
  customer.update_time = exact + absl::Nanoseconds(999);
  customer.delete_time = exact + absl::Nanoseconds(500);
  ASSERT_THAT(Normalize(customer), IsEmpty());
  EXPECT_EQ(std::get<absl::Time>(customer.custom_fields["vip_since"]), exact);
  EXPECT_EQ(customer.create_time, exact);
  EXPECT_EQ(customer.update_time, exact);
  EXPECT_EQ(customer.delete_time, exact);
}

TEST_F(CustomerValidatorTest, RejectsCustomTimesOutsideYears1To9999) {
  const absl::Time year_10000 =
      absl::FromCivil(absl::CivilSecond(10000, 1, 1, 0, 0, 0), absl::UTCTimeZone());
  EXPECT_THAT(ViolationsAfter([&](Customer& c) { c.custom_fields["t"] = year_10000; }),
              ElementsAre(IsViolation("customer.custom_fields[\"t\"]")));
  EXPECT_THAT(ViolationsAfter(
                  [&](Customer& c) { c.custom_fields["t"] = year_10000 - absl::Microseconds(1); }),
              IsEmpty());
  EXPECT_THAT(ViolationsAfter([](Customer& c) { c.custom_fields["t"] = absl::InfinitePast(); }),
              ElementsAre(IsViolation("customer.custom_fields[\"t\"]")));
}

TEST_F(CustomerValidatorTest, NamesInvalidUtf8CustomFieldKeysWithEscapes) {
  EXPECT_THAT(
      ViolationsAfter([](Customer& c) { c.custom_fields["a\xFF"] = true; }),
      ElementsAre(IsViolation("customer.custom_fields[\"a\\xFF\"]", "must be valid UTF-8")));
}

TEST(CustomFieldPathTest, EscapesQuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(CustomFieldPath("vip_since"), "customer.custom_fields[\"vip_since\"]");
  EXPECT_EQ(CustomFieldPath("a\"b\\c\n"), "customer.custom_fields[\"a\\\"b\\\\c\\x0A\"]");
  EXPECT_EQ(CustomFieldPath("客户"), "customer.custom_fields[\"客户\"]");
}

// Contact persons.

TEST_F(CustomerValidatorTest, RejectsMoreThan100ContactPersons) {
  EXPECT_THAT(
      ViolationsAfter([](Customer& c) { c.contact_persons.resize(101, c.contact_persons[0]); }),
      ElementsAre(IsViolation("customer.contact_persons", "must have at most 100 entries")));
}

TEST_F(CustomerValidatorTest, RequiresAPersonName) {
  EXPECT_THAT(ViolationsAfter([](Customer& c) {
                c.contact_persons[0].name = {.family_name = " ",
                                             .given_name = "",
                                             .additional_names = "David",
                                             .honorific_prefix = "Dr.",
                                             .honorific_suffix = "",
                                             .formatted_name = "\u3000"};
              }),
              ElementsAre(IsViolation("customer.contact_persons[0].name",
                                      "formatted_name, family_name or given_name is required")));
}

TEST_F(CustomerValidatorTest, ComposesFormattedNames) {
  struct Case {
    PersonName name;
    std::string formatted;
  };
  const Case cases[] = {
      {{.family_name = "张",
        .given_name = "伟",
        .additional_names = "",
        .honorific_prefix = "",
        .honorific_suffix = "",
        .formatted_name = ""},
       "张伟"},
      {{.family_name = "张",
        .given_name = "伟",
        .additional_names = "David",
        .honorific_prefix = "博士",
        .honorific_suffix = "",
        .formatted_name = ""},
       "张伟 David"},
      {{.family_name = "山田",
        .given_name = "たろう",
        .additional_names = "",
        .honorific_prefix = "",
        .honorific_suffix = "",
        .formatted_name = ""},
       "山田たろう"},
      {{.family_name = "김",
        .given_name = "민준",
        .additional_names = "",
        .honorific_prefix = "",
        .honorific_suffix = "",
        .formatted_name = ""},
       "김민준"},
      {{.family_name = "Zhang",
        .given_name = "Wei",
        .additional_names = "",
        .honorific_prefix = "Dr.",
        .honorific_suffix = "Jr.",
        .formatted_name = ""},
       "Wei Zhang"},
      {{.family_name = "Public",
        .given_name = "John",
        .additional_names = "Quinlan",
        .honorific_prefix = "",
        .honorific_suffix = "",
        .formatted_name = ""},
       "John Quinlan Public"},
      {{.family_name = "",
        .given_name = "Cher",
        .additional_names = "",
        .honorific_prefix = "",
        .honorific_suffix = "",
        .formatted_name = ""},
       "Cher"},
      {{.family_name = " 张 ",
        .given_name = "伟",
        .additional_names = "",
        .honorific_prefix = "",
        .honorific_suffix = "",
        .formatted_name = "张老师"},
       "张老师"},
  };
  for (const Case& test : cases) {
    Customer customer = NewCustomer();
    Person(customer).name = test.name;
    ASSERT_THAT(Normalize(customer), IsEmpty()) << test.formatted;
    EXPECT_EQ(Person(customer).name.formatted_name, test.formatted);
  }
}

TEST_F(CustomerValidatorTest, RejectsComposedNameOver256Characters) {
  EXPECT_THAT(ViolationsAfter([](Customer& c) {
                c.contact_persons[0].name.family_name = Repeat("a", 128);
                c.contact_persons[0].name.given_name = Repeat("b", 128);
                c.contact_persons[0].name.additional_names = "c";
              }),
              ElementsAre(IsViolation("customer.contact_persons[0].name.formatted_name",
                                      HasSubstr("composed"))));
}

TEST_F(CustomerValidatorTest, LimitsNameParts) {
  const std::string path = "customer.contact_persons[0].name.";
  EXPECT_THAT(ViolationsAfter(
                  [](Customer& c) { c.contact_persons[0].name.family_name = Repeat("欧", 129); }),
              ElementsAre(IsViolation(path + "family_name", "must be at most 128 characters")));
  EXPECT_THAT(ViolationsAfter(
                  [](Customer& c) { c.contact_persons[0].name.given_name = Repeat("伟", 129); }),
              ElementsAre(IsViolation(path + "given_name")));
  EXPECT_THAT(ViolationsAfter([](Customer& c) {
                c.contact_persons[0].name.additional_names = Repeat("x", 129);
              }),
              ElementsAre(IsViolation(path + "additional_names")));
  EXPECT_THAT(ViolationsAfter([](Customer& c) {
                c.contact_persons[0].name.honorific_prefix = Repeat("博", 65);
              }),
              ElementsAre(IsViolation(path + "honorific_prefix", "must be at most 64 characters")));
  EXPECT_THAT(ViolationsAfter([](Customer& c) {
                c.contact_persons[0].name.honorific_suffix = Repeat("x", 65);
              }),
              ElementsAre(IsViolation(path + "honorific_suffix")));
  EXPECT_THAT(ViolationsAfter([](Customer& c) {
                c.contact_persons[0].name.formatted_name = Repeat("张", 257);
              }),
              ElementsAre(IsViolation(path + "formatted_name", "must be at most 256 characters")));
  EXPECT_THAT(ViolationsAfter([](Customer& c) {
                c.contact_persons[0].name.formatted_name = Repeat("张", 256);
              }),
              IsEmpty());
}

TEST_F(CustomerValidatorTest, LimitsTitlesAndDepartment) {
  const std::string path = "customer.contact_persons[0].";
  EXPECT_THAT(ViolationsAfter([](Customer& c) { c.contact_persons[0].titles.assign(9, "经理"); }),
              ElementsAre(IsViolation(path + "titles", "must have at most 8 entries")));
  EXPECT_THAT(ViolationsAfter([](Customer& c) { c.contact_persons[0].titles.assign(8, "经理"); }),
              IsEmpty());
  EXPECT_THAT(ViolationsAfter([](Customer& c) {
                c.contact_persons[0].titles = {"经理", Repeat("经", 129)};
              }),
              ElementsAre(IsViolation(path + "titles[1]", "must be at most 128 characters")));
  EXPECT_THAT(ViolationsAfter([](Customer& c) { c.contact_persons[0].titles = {""}; }),
              ElementsAre(IsViolation(path + "titles[0]", "is required")));
  EXPECT_THAT(
      ViolationsAfter([](Customer& c) { c.contact_persons[0].department = Repeat("部", 129); }),
      ElementsAre(IsViolation(path + "department")));
}

TEST_F(CustomerValidatorTest, LimitsNoteTo4096CharactersWithoutTrimming) {
  Customer customer = NewCustomer();
  Person(customer).note = "  第一行\n第二行\n";
  ASSERT_THAT(Normalize(customer), IsEmpty());
  EXPECT_EQ(Person(customer).note, "  第一行\n第二行\n");
  EXPECT_THAT(ViolationsAfter([](Customer& c) { c.contact_persons[0].note = Repeat("记", 4097); }),
              ElementsAre(IsViolation("customer.contact_persons[0].note",
                                      "must be at most 4096 characters")));
}

TEST_F(CustomerValidatorTest, PersonIdMustBeEmptyOrAUniqueUuid) {
  const std::string id = ids::NewUuid();
  EXPECT_THAT(ViolationsAfter([&](Customer& c) { c.contact_persons[0].person_id = id; }),
              IsEmpty());
  EXPECT_THAT(ViolationsAfter([](Customer& c) { c.contact_persons[0].person_id = "p-1"; }),
              ElementsAre(IsViolation("customer.contact_persons[0].person_id", "must be a UUID")));
  EXPECT_THAT(ViolationsAfter([&](Customer& c) {
                c.contact_persons[0].person_id = id;
                c.contact_persons.push_back(c.contact_persons[0]);
              }),
              ElementsAre(IsViolation("customer.contact_persons[1].person_id",
                                      "duplicates contact_persons[0].person_id")));
}

// Phones.

TEST_F(CustomerValidatorTest, RewritesPhonesToE164) {
  struct Case {
    std::string input;
    std::string e164;
  };
  const Case cases[] = {
      {"138 0013 8000", "+8613800138000"},
      {"+86 10 6552 9988", "+861065529988"},
      {"010-6552-9988", "+861065529988"},
      {"(010) 6552 9988", "+861065529988"},
      {"\uFF11\uFF13\uFF18\uFF10\uFF10\uFF11\uFF13\uFF18\uFF10\uFF10\uFF10", "+8613800138000"},
      {"+1 650-253-0000", "+16502530000"},
  };
  for (const Case& test : cases) {
    Customer customer = NewCustomer();
    Person(customer).phones[0].number = test.input;
    ASSERT_THAT(Normalize(customer), IsEmpty()) << test.input;
    EXPECT_EQ(Person(customer).phones[0].number, test.e164) << test.input;
  }
}

TEST_F(CustomerValidatorTest, RejectsInvalidPhoneNumbers) {
  for (const std::string number : {"12345", "138 0013 800", "+86 999 9999 9999", "电话"}) {
    EXPECT_THAT(
        ViolationsAfter([&](Customer& c) { c.contact_persons[0].phones[0].number = number; }),
        ElementsAre(IsViolation("customer.contact_persons[0].phones[0].number",
                                "not a valid phone number for region CN")))
        << number;
  }
}

TEST_F(CustomerValidatorTest, NamesTheFailingPhoneByIndex) {
  EXPECT_THAT(ViolationsAfter([](Customer& c) {
                c.contact_persons.push_back(c.contact_persons[0]);
                c.contact_persons[1].phones.push_back(
                    {.number = "12345", .kind = ContactPointKind::kWork, .primary = false});
              }),
              ElementsAre(IsViolation("customer.contact_persons[1].phones[1].number")));
}

TEST_F(CustomerValidatorTest, UsesTheConfiguredDefaultRegion) {
  CustomerValidator us_validator(ValidationOptions{.default_region = "US"});
  Customer customer = NewCustomer();
  Person(customer).phones[0].number = "(650) 253-0000";
  ASSERT_THAT(us_validator.Normalize(customer, true), IsEmpty());
  EXPECT_EQ(Person(customer).phones[0].number, "+16502530000");
  Person(customer).phones[0].number = "12345";
  EXPECT_THAT(us_validator.Normalize(customer, true),
              ElementsAre(IsViolation(HasSubstr("phones[0].number"),
                                      "not a valid phone number for region US")));
}

TEST_F(CustomerValidatorTest, RejectsPhoneExtensions) {
  EXPECT_THAT(ViolationsAfter([](Customer& c) {
                c.contact_persons[0].phones[0].number = "+86 10 6552 9988 ext. 12";
              }),
              ElementsAre(IsViolation("customer.contact_persons[0].phones[0].number",
                                      HasSubstr("extension"))));
}

TEST_F(CustomerValidatorTest, RejectsEmptyOverlongAndTooManyPhones) {
  const std::string path = "customer.contact_persons[0].phones";
  EXPECT_THAT(ViolationsAfter([](Customer& c) { c.contact_persons[0].phones[0].number = " "; }),
              ElementsAre(IsViolation(path + "[0].number", "is required")));
  EXPECT_THAT(ViolationsAfter([](Customer& c) {
                c.contact_persons[0].phones[0].number = "138 0013 8000" + Repeat(" ", 52);
              }),
              IsEmpty());  // Trimmed before it is measured.
  EXPECT_THAT(ViolationsAfter([](Customer& c) {
                c.contact_persons[0].phones[0].number = "138" + Repeat("-", 58) + "00138000";
              }),
              ElementsAre(IsViolation(path + "[0].number", "must be at most 64 characters")));
  EXPECT_THAT(ViolationsAfter([](Customer& c) {
                c.contact_persons[0].phones.resize(17, c.contact_persons[0].phones[0]);
              }),
              ElementsAre(IsViolation(path, "must have at most 16 entries")));
}

// Emails.

TEST_F(CustomerValidatorTest, TrimsAndLowerCasesEmails) {
  Customer customer = NewCustomer();
  Person(customer).emails[0].address = "\u3000Wei.Zhang@TengFei.COM.cn ";
  ASSERT_THAT(Normalize(customer), IsEmpty());
  EXPECT_EQ(Person(customer).emails[0].address, "wei.zhang@tengfei.com.cn");
}

TEST_F(CustomerValidatorTest, RejectsMalformedEmails) {
  for (const std::string& address : std::vector<std::string>{
           "wei.zhang", "wei@@tengfei.cn", "wei@zhang@tengfei.cn", "@tengfei.cn", "wei@localhost",
           "wei zhang@tengfei.cn", "wei@tengfei..cn", "wei@.tengfei.cn", "wei@tengfei.cn.",
           "wei\u3000zhang@tengfei.cn", Repeat("w", 65) + "@tengfei.cn"}) {
    EXPECT_THAT(
        ViolationsAfter([&](Customer& c) { c.contact_persons[0].emails[0].address = address; }),
        ElementsAre(IsViolation("customer.contact_persons[0].emails[0].address",
                                "is not a valid email address")))
        << address;
  }
  EXPECT_THAT(ViolationsAfter([](Customer& c) {
                c.contact_persons[0].emails[0].address = Repeat("w", 64) + "@tengfei.cn";
              }),
              IsEmpty());
}

TEST_F(CustomerValidatorTest, RejectsEmptyOverlongAndTooManyEmails) {
  const std::string path = "customer.contact_persons[0].emails";
  EXPECT_THAT(ViolationsAfter([](Customer& c) { c.contact_persons[0].emails[0].address = ""; }),
              ElementsAre(IsViolation(path + "[0].address", "is required")));
  const std::string domain = Repeat("d", 63) + "." + Repeat("e", 63) + "." + Repeat("f", 63);
  EXPECT_THAT(ViolationsAfter([&](Customer& c) {
                c.contact_persons[0].emails[0].address = Repeat("w", 62) + "@" + domain;
              }),
              IsEmpty());  // 254 bytes.
  EXPECT_THAT(ViolationsAfter([&](Customer& c) {
                c.contact_persons[0].emails[0].address = Repeat("w", 63) + "@" + domain;
              }),
              ElementsAre(IsViolation(path + "[0].address", "must be at most 254 bytes")));
  EXPECT_THAT(ViolationsAfter([](Customer& c) {
                c.contact_persons[0].emails.resize(17, c.contact_persons[0].emails[0]);
              }),
              ElementsAre(IsViolation(path, "must have at most 16 entries")));
}

// Addresses.

TEST_F(CustomerValidatorTest, UpperCasesCountryCodes) {
  Customer customer = NewCustomer();
  customer.addresses.push_back({.kind = ContactPointKind::kWork,
                                .country_code = " cn ",
                                .administrative_area = "",
                                .locality = "深圳市",
                                .sublocality = "",
                                .address_lines = {},
                                .postal_code = ""});
  Person(customer).addresses = customer.addresses;
  ASSERT_THAT(Normalize(customer), IsEmpty());
  EXPECT_EQ(customer.addresses[0].country_code, "CN");
  EXPECT_EQ(Person(customer).addresses[0].country_code, "CN");
}

TEST_F(CustomerValidatorTest, RejectsCountryCodesOtherThanTwoLetters) {
  for (const std::string code : {"CHN", "C", "C1", "中国"}) {
    EXPECT_THAT(ViolationsAfter([&](Customer& c) {
                  c.addresses = {testing::SampleCustomer().addresses[0]};
                  c.addresses[0].country_code = code;
                }),
                ElementsAre(IsViolation("customer.addresses[0].country_code")))
        << code;
  }
}

TEST_F(CustomerValidatorTest, LimitsAddressParts) {
  const std::string path = "customer.contact_persons[0].addresses[0].";
  auto with_address = [](auto change) {
    return [change](Customer& c) {
      c.contact_persons[0].addresses = {testing::SampleCustomer().addresses[0]};
      change(c.contact_persons[0].addresses[0]);
    };
  };
  EXPECT_THAT(ViolationsAfter(with_address([](PostalAddress&) {})), IsEmpty());
  EXPECT_THAT(ViolationsAfter(with_address(
                  [](PostalAddress& a) { a.administrative_area = Repeat("省", 129); })),
              ElementsAre(IsViolation(path + "administrative_area")));
  EXPECT_THAT(
      ViolationsAfter(with_address([](PostalAddress& a) { a.locality = Repeat("市", 129); })),
      ElementsAre(IsViolation(path + "locality")));
  EXPECT_THAT(
      ViolationsAfter(with_address([](PostalAddress& a) { a.sublocality = Repeat("区", 129); })),
      ElementsAre(IsViolation(path + "sublocality")));
  EXPECT_THAT(
      ViolationsAfter(with_address([](PostalAddress& a) { a.address_lines.assign(5, "路"); })),
      ElementsAre(IsViolation(path + "address_lines", "must have at most 4 entries")));
  EXPECT_THAT(
      ViolationsAfter(
          with_address([](PostalAddress& a) { a.address_lines = {Repeat("路", 257)}; })),
      ElementsAre(IsViolation(path + "address_lines[0]", "must be at most 256 characters")));
  EXPECT_THAT(
      ViolationsAfter(with_address([](PostalAddress& a) { a.postal_code = Repeat("5", 33); })),
      ElementsAre(IsViolation(path + "postal_code", "must be at most 32 characters")));
  EXPECT_THAT(ViolationsAfter(with_address(
                  [](PostalAddress& a) { a.kind = static_cast<ContactPointKind>(9); })),
              ElementsAre(IsViolation(path + "kind")));
}

TEST_F(CustomerValidatorTest, RejectsEmptyAddressesAndMoreThanEight) {
  EXPECT_THAT(ViolationsAfter([](Customer& c) { c.addresses.resize(1); }),
              ElementsAre(IsViolation("customer.addresses[0]", HasSubstr("at least one"))));
  EXPECT_THAT(ViolationsAfter([](Customer& c) {
                c.addresses.assign(9, testing::SampleCustomer().addresses[0]);
              }),
              ElementsAre(IsViolation("customer.addresses", "must have at most 8 entries")));
  EXPECT_THAT(ViolationsAfter([](Customer& c) {
                c.contact_persons[0].addresses.assign(9, testing::SampleCustomer().addresses[0]);
              }),
              ElementsAre(IsViolation("customer.contact_persons[0].addresses")));
}

// Messaging accounts.

TEST_F(CustomerValidatorTest, ChecksMessagingAccounts) {
  const std::string path = "customer.contact_persons[0].messaging_accounts";
  auto with_account = [](MessagingService service, std::string id) {
    return [=](Customer& c) {
      c.contact_persons[0].messaging_accounts = {{.service = service, .account_id = id}};
    };
  };
  EXPECT_THAT(ViolationsAfter(with_account(MessagingService::kWeChat, " wxid_1 ")), IsEmpty());
  EXPECT_THAT(ViolationsAfter(with_account(MessagingService::kUnspecified, "wxid_1")),
              ElementsAre(IsViolation(path + "[0].service", "is required")));
  EXPECT_THAT(ViolationsAfter(with_account(static_cast<MessagingService>(99), "wxid_1")),
              ElementsAre(IsViolation(path + "[0].service", "must be a known value")));
  EXPECT_THAT(ViolationsAfter(with_account(MessagingService::kWeCom, "")),
              ElementsAre(IsViolation(path + "[0].account_id", "is required")));
  EXPECT_THAT(ViolationsAfter(with_account(MessagingService::kWeCom, Repeat("w", 129))),
              ElementsAre(IsViolation(path + "[0].account_id", "must be at most 128 characters")));
  EXPECT_THAT(ViolationsAfter([](Customer& c) {
                c.contact_persons[0].messaging_accounts.assign(
                    17, {.service = MessagingService::kQq, .account_id = "10001"});
              }),
              ElementsAre(IsViolation(path, "must have at most 16 entries")));
}

// Person ids and options.

TEST(AssignPersonIdsTest, GivesNewIdsOnlyToPersonsWithout) {
  Customer customer = testing::SampleCustomer();
  const std::string kept = customer.contact_persons[0].person_id;
  customer.contact_persons.push_back({});
  customer.contact_persons.push_back({});
  AssignPersonIds(customer);
  EXPECT_EQ(customer.contact_persons[0].person_id, kept);
  EXPECT_TRUE(ids::IsUuid(customer.contact_persons[1].person_id));
  EXPECT_TRUE(ids::IsUuid(customer.contact_persons[2].person_id));
  EXPECT_NE(customer.contact_persons[1].person_id, customer.contact_persons[2].person_id);
}

TEST(CheckValidationOptionsTest, AcceptsKnownRegionsOnly) {
  EXPECT_TRUE(CheckValidationOptions({.default_region = "CN"}).ok());
  EXPECT_TRUE(CheckValidationOptions({.default_region = "DE"}).ok());
  EXPECT_EQ(CheckValidationOptions({.default_region = "XX"}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CheckValidationOptions({.default_region = "cn"}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CheckValidationOptions({.default_region = ""}).code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace touchline::contacts
