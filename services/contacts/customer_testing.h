// Test support for the contacts domain tests: sample data and matchers.
#ifndef TOUCHLINE_SERVICES_CONTACTS_CUSTOMER_TESTING_H_
#define TOUCHLINE_SERVICES_CONTACTS_CUSTOMER_TESTING_H_

#include <cstdint>
#include <ostream>
#include <string>
#include <utility>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "services/contacts/customer_validation.h"
#include "services/contacts/model.h"

namespace touchline::contacts {

inline void PrintTo(const FieldViolation& violation, std::ostream* os) {
  *os << "{" << violation.field << ": " << violation.description << "}";
}

namespace testing {

// Matches a FieldViolation on `field` whose description matches `description`.
inline ::testing::Matcher<const FieldViolation&> IsViolation(
    ::testing::Matcher<const std::string&> field,
    ::testing::Matcher<const std::string&> description = ::testing::_) {
  return ::testing::AllOf(
      ::testing::Field("field", &FieldViolation::field, std::move(field)),
      ::testing::Field("description", &FieldViolation::description, std::move(description)));
}

// A contact person with every field set, in normalised form.
inline ContactPerson SamplePerson() {
  ContactPerson person;
  person.person_id = "0190b3a4-7c1d-7e2f-8a3b-4c5d6e7f8a9b";
  person.name = {.family_name = "张",
                 .given_name = "伟",
                 .additional_names = "David",
                 .honorific_prefix = "博士",
                 .honorific_suffix = "Jr.",
                 .formatted_name = "张伟"};
  person.titles = {"采购经理", "Purchasing Manager"};
  person.department = "采购部";
  person.phones = {{.number = "+8613800138000", .kind = ContactPointKind::kMobile, .primary = true},
                   {.number = "+861065529988", .kind = ContactPointKind::kWork, .primary = false}};
  person.emails = {
      {.address = "wei.zhang@tengfei.cn", .kind = ContactPointKind::kWork, .primary = true}};
  person.addresses = {{.kind = ContactPointKind::kWork,
                       .country_code = "CN",
                       .administrative_area = "广东省",
                       .locality = "深圳市",
                       .sublocality = "南山区",
                       .address_lines = {"科技园南区", "腾飞大厦 8 楼"},
                       .postal_code = "518057"}};
  person.messaging_accounts = {{.service = MessagingService::kWeCom, .account_id = "wm_zhangwei"}};
  person.note = "喜欢早上联系。\n【异议】价格偏高";
  return person;
}

// A customer with every field set, in normalised form.
inline Customer SampleCustomer() {
  Customer customer;
  customer.tenant_id = "tenant-1";
  customer.customer_id = "0190b3a4-0000-7000-8000-000000000001";
  customer.kind = CustomerKind::kOrganization;
  customer.display_name = "深圳市腾飞科技有限公司";
  customer.industry = "制造业";
  customer.region = "华南";
  customer.level = CustomerLevel::kKey;
  customer.lifecycle_status = LifecycleStatus::kOpportunity;
  customer.owner_id = "user-7";
  customer.tags = {"展会线索", "华南"};
  customer.custom_fields = {
      {"vip_since", absl::FromUnixMicros(1700000000123456)},
      {"annual_revenue", std::int64_t{120000000}},
      {"credit_score", 0.85},
      {"has_contract", true},
      {"source", std::string("广交会")},
  };
  customer.contact_persons = {SamplePerson()};
  customer.addresses = {{.kind = ContactPointKind::kOther,
                         .country_code = "CN",
                         .administrative_area = "广东省",
                         .locality = "深圳市",
                         .sublocality = "福田区",
                         .address_lines = {"深南大道 1 号"},
                         .postal_code = "518000"}};
  customer.state = CustomerState::kActive;
  customer.create_time = absl::FromUnixMicros(1690000000000001);
  customer.update_time = absl::FromUnixMicros(1700000000999999);
  customer.version = 42;
  return customer;
}

}  // namespace testing
}  // namespace touchline::contacts

#endif  // TOUCHLINE_SERVICES_CONTACTS_CUSTOMER_TESTING_H_
