#include "services/contacts/customer_json.h"

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/contacts/customer_testing.h"
#include "tests/testing/status_matchers.h"

namespace touchline::contacts {
namespace {

using ::nlohmann::json;
using ::testing::HasSubstr;
using ::touchline::testing::StatusIs;

// Encodes, prints and re-parses as a jsonb column would, then decodes.
template <typename T, typename Decode>
absl::StatusOr<T> ThroughText(const json& encoded, Decode decode) {
  absl::StatusOr<json> parsed = ParseJson(encoded.dump());
  if (!parsed.ok()) return parsed.status();
  return decode(*parsed);
}

TEST(CustomerJsonTest, ContactPersonsRoundTripWithChineseText) {
  const std::vector<ContactPerson> persons = {testing::SamplePerson(), ContactPerson{}};
  TL_ASSERT_OK_AND_ASSIGN(auto decoded,
                          (ThroughText<std::vector<ContactPerson>>(ContactPersonsToJson(persons),
                                                                   ContactPersonsFromJson)));
  EXPECT_EQ(decoded, persons);
}

TEST(CustomerJsonTest, ChineseTextIsStoredAsUtf8NotEscaped) {
  const std::string text = ContactPersonsToJson({testing::SamplePerson()}).dump();
  EXPECT_THAT(text, HasSubstr("\"family_name\":\"张\""));
  EXPECT_THAT(text, HasSubstr("\"number\":\"+8613800138000\""));
}

TEST(CustomerJsonTest, AddressesRoundTrip) {
  const std::vector<PostalAddress> addresses = testing::SampleCustomer().addresses;
  TL_ASSERT_OK_AND_ASSIGN(auto decoded, (ThroughText<std::vector<PostalAddress>>(
                                            AddressesToJson(addresses), AddressesFromJson)));
  EXPECT_EQ(decoded, addresses);
}

TEST(CustomerJsonTest, EmptyListsRoundTrip) {
  EXPECT_EQ(ContactPersonsToJson({}), json::array());
  EXPECT_EQ(AddressesToJson({}), json::array());
  EXPECT_EQ(CustomFieldsToJson({}), json::object());
  TL_ASSERT_OK_AND_ASSIGN(auto persons, ContactPersonsFromJson(json::array()));
  EXPECT_TRUE(persons.empty());
  TL_ASSERT_OK_AND_ASSIGN(auto addresses, AddressesFromJson(json::array()));
  EXPECT_TRUE(addresses.empty());
  TL_ASSERT_OK_AND_ASSIGN(auto fields, CustomFieldsFromJson(json::object()));
  EXPECT_TRUE(fields.empty());
}

TEST(CustomerJsonTest, CustomFieldsUseOneTypedMemberEach) {
  const std::map<std::string, CustomValue> fields = {
      {"s", std::string("广交会")},
      {"i", std::int64_t{-7}},
      {"d", 1.5},
      {"b", true},
      {"t", absl::FromUnixMicros(1700000000123456)},
  };
  EXPECT_EQ(CustomFieldsToJson(fields), json::parse(R"({
      "s": {"s": "广交会"}, "i": {"i": -7}, "d": {"d": 1.5}, "b": {"b": true},
      "t": {"t": 1700000000123456}})"));
}

TEST(CustomerJsonTest, CustomFieldsRoundTripEveryVariantAndExtreme) {
  const std::map<std::string, CustomValue> fields = {
      {"text", std::string("客户备注 \"quoted\" \\ \n 😀")},
      {"empty_text", std::string()},
      {"int_min", std::numeric_limits<std::int64_t>::min()},
      {"int_max", std::numeric_limits<std::int64_t>::max()},
      {"double_tenth", 0.1},
      {"double_whole", 2.0},
      {"double_tiny", -4.9e-324},
      {"double_huge", 1.7976931348623157e308},
      {"yes", true},
      {"no", false},
      {"before_epoch", absl::FromUnixMicros(-1)},
      {"year_one", absl::FromUnixMicros(-62135596800000000)},
  };
  TL_ASSERT_OK_AND_ASSIGN(auto decoded, (ThroughText<std::map<std::string, CustomValue>>(
                                            CustomFieldsToJson(fields), CustomFieldsFromJson)));
  EXPECT_EQ(decoded, fields);
  // 2.0 must come back a double, not an integer.
  EXPECT_TRUE(std::holds_alternative<double>(decoded.at("double_whole")));
}

TEST(CustomerJsonTest, CustomerRoundTripsEveryField) {
  Customer customer = testing::SampleCustomer();
  customer.state = CustomerState::kMerged;
  customer.merged_into_customer_id = "0190b3a4-0000-7000-8000-000000000002";
  customer.delete_time = absl::FromUnixMicros(1710000000000007);
  TL_ASSERT_OK_AND_ASSIGN(Customer decoded,
                          ThroughText<Customer>(CustomerToJson(customer), CustomerFromJson));
  EXPECT_EQ(decoded, customer);
}

TEST(CustomerJsonTest, CustomerTimesAreUnixMicrosAndAbsentDeleteTimeIsNull) {
  const json encoded = CustomerToJson(testing::SampleCustomer());
  EXPECT_EQ(encoded.at("tenant_id"), "tenant-1");
  EXPECT_EQ(encoded.at("create_time"), 1690000000000001);
  EXPECT_EQ(encoded.at("update_time"), 1700000000999999);
  EXPECT_TRUE(encoded.at("delete_time").is_null());
  EXPECT_EQ(encoded.at("version"), 42);
  EXPECT_EQ(encoded.at("kind"), 1);
  TL_ASSERT_OK_AND_ASSIGN(Customer decoded, CustomerFromJson(encoded));
  EXPECT_FALSE(decoded.delete_time.has_value());
}

TEST(CustomerJsonTest, TimesKeepMicrosecondsAndDropNanoseconds) {
  Customer customer = testing::SampleCustomer();
  customer.update_time = absl::FromUnixMicros(1700000000123456) + absl::Nanoseconds(999);
  TL_ASSERT_OK_AND_ASSIGN(Customer decoded, CustomerFromJson(CustomerToJson(customer)));
  EXPECT_EQ(decoded.update_time, absl::FromUnixMicros(1700000000123456));
  EXPECT_EQ(decoded.update_time, TruncateToMicros(customer.update_time));
}

TEST(TruncateToMicrosTest, TruncatesTowardsThePast) {
  EXPECT_EQ(TruncateToMicros(absl::FromUnixNanos(1999)), absl::FromUnixMicros(1));
  EXPECT_EQ(TruncateToMicros(absl::FromUnixNanos(-1)), absl::FromUnixMicros(-1));
  EXPECT_EQ(TruncateToMicros(absl::FromUnixMicros(5)), absl::FromUnixMicros(5));
  EXPECT_EQ(TruncateToMicros(absl::InfiniteFuture()), absl::InfiniteFuture());
}

TEST(CustomerJsonTest, MissingMembersReadAsDefaults) {
  TL_ASSERT_OK_AND_ASSIGN(auto persons,
                          ContactPersonsFromJson(json::parse(R"([{"person_id": "p"}])")));
  ContactPerson expected;
  expected.person_id = "p";
  EXPECT_EQ(persons, std::vector<ContactPerson>{expected});
}

TEST(CustomerJsonTest, MalformedInputIsDataLoss) {
  const char* const persons_cases[] = {
      R"({})",
      R"([1])",
      R"([{"person_id": 7}])",
      R"([{"phones": {}}])",
      R"([{"phones": [{"number": null}]}])",
      R"([{"phones": [{"kind": "mobile"}]}])",
      R"([{"phones": [{"kind": 1.5}]}])",
      R"([{"phones": [{"kind": 99999999999}]}])",
      R"([{"phones": [{"primary": 1}]}])",
      R"([{"name": []}])",
      R"([{"titles": ["a", 2]}])",
  };
  for (const char* text : persons_cases) {
    EXPECT_THAT(ContactPersonsFromJson(json::parse(text)), StatusIs(absl::StatusCode::kDataLoss))
        << text;
  }
  const char* const custom_cases[] = {
      R"([])",
      R"({"a": 1})",
      R"({"a": {}})",
      R"({"a": {"s": "x", "i": 1}})",
      R"({"a": {"x": 1}})",
      R"({"a": {"s": 1}})",
      R"({"a": {"i": 1.5}})",
      R"({"a": {"i": 9223372036854775808}})",
      R"({"a": {"d": "1.5"}})",
      R"({"a": {"d": null}})",
      R"({"a": {"b": "true"}})",
      R"({"a": {"t": "2024-01-01"}})",
  };
  for (const char* text : custom_cases) {
    EXPECT_THAT(CustomFieldsFromJson(json::parse(text)), StatusIs(absl::StatusCode::kDataLoss))
        << text;
  }
  EXPECT_THAT(AddressesFromJson(json::parse(R"([{"address_lines": "x"}])")),
              StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(CustomerFromJson(json::parse(R"([])")), StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(CustomerFromJson(json::parse(R"({"delete_time": "never"})")),
              StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(CustomerFromJson(json::parse(R"({"version": "1"})")),
              StatusIs(absl::StatusCode::kDataLoss));
}

TEST(CustomerJsonTest, DataLossNamesThePlace) {
  EXPECT_THAT(
      ContactPersonsFromJson(json::parse(R"([{}, {"phones": [{}, {"number": 1}]}])")),
      StatusIs(absl::StatusCode::kDataLoss, HasSubstr("[1].phones[1].number: expected a string")));
  EXPECT_THAT(CustomFieldsFromJson(json::parse(R"({"vip": {"i": "x"}})")),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("[\"vip\"].i")));
}

TEST(ParseJsonTest, RejectsTextThatIsNotJson) {
  EXPECT_THAT(ParseJson("[{\"a\": "), StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(ParseJson(""), StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(ParseJson("\"\xFF\""), StatusIs(absl::StatusCode::kDataLoss));
  TL_ASSERT_OK_AND_ASSIGN(json parsed, ParseJson(R"({"a": "深圳"})"));
  EXPECT_EQ(parsed.at("a"), "深圳");
}

}  // namespace
}  // namespace touchline::contacts
