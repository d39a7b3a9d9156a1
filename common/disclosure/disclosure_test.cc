#include "common/disclosure/disclosure.h"

#include <memory>
#include <string>

#include "common/auth/scope.h"
#include "common/auth/testing/trusted_authenticator.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "touchline/contacts/v1/customer.pb.h"
#include "touchline/events/v1/permission_events.pb.h"

namespace touchline::disclosure {
namespace {

using ::testing::ElementsAre;
namespace pv1 = ::touchline::permissions::v1;

// A caller whose role masks phones and hides the industry; emails stay readable.
auth::RequestContext Caller() {
  pv1::EffectiveScope scope = auth::testing::AdminScope("acme", "u1");
  *scope.add_field_rules() =
      auth::testing::FieldRuleOf(auth::kCustomerResource, "contact_persons.phones",
                                 pv1::FIELD_ACCESS_MASKED, pv1::MASK_PATTERN_PHONE);
  *scope.add_field_rules() =
      auth::testing::FieldRuleOf(auth::kCustomerResource, "industry", pv1::FIELD_ACCESS_HIDDEN);
  auto compiled = auth::Scope::Compile(scope);
  EXPECT_TRUE(compiled.ok()) << compiled.status();
  return auth::RequestContext{.tenant_id = "acme",
                              .caller_id = "u1",
                              .request_id = "r1",
                              .scope = compiled.ok() ? *compiled : nullptr,
                              .client = "test"};
}

contacts::v1::Customer CustomerWith(const std::string& id, const std::string& phone,
                                    const std::string& email) {
  contacts::v1::Customer customer;
  customer.set_customer_id(id);
  customer.set_display_name("腾飞科技");
  customer.set_industry("制造业");
  contacts::v1::ContactPerson* person = customer.add_contact_persons();
  if (!phone.empty()) person->add_phones()->set_number(phone);
  if (!email.empty()) person->add_emails()->set_address(email);
  return customer;
}

pv1::AuditEvent EventOf(const events::v1::EventEnvelope& envelope) {
  events::v1::AuditRecorded recorded;
  EXPECT_TRUE(envelope.payload().UnpackTo(&recorded));
  return recorded.event();
}

TEST(DisclosureTest, HidesAndMasksAndNamesTheOneResourceShown) {
  const auth::RequestContext caller = Caller();
  Disclosure disclosed(caller, auth::kCustomerResource);
  contacts::v1::Customer customer = CustomerWith("c1", "+8613800138000", "wei@tengfei.cn");
  disclosed.Apply(customer, {"c1"});
  EXPECT_EQ(customer.industry(), "");
  EXPECT_NE(customer.contact_persons(0).phones(0).number(), "+8613800138000");
  EXPECT_EQ(customer.contact_persons(0).emails(0).address(), "wei@tengfei.cn");

  const auto entry = disclosed.Entry();
  ASSERT_TRUE(entry.has_value());
  const pv1::AuditEvent event = EventOf(*entry);
  EXPECT_EQ(event.action(), "customer.read_sensitive");
  EXPECT_EQ(event.resource_type(), "customer");
  EXPECT_EQ(event.resource_id(), "c1");
  EXPECT_EQ(event.actor_id(), "u1");
  EXPECT_EQ(event.detail(), "");
  // The masked phone is not shown in clear: not a sensitive read.
  EXPECT_THAT(event.fields(), ElementsAre("contact_persons.emails"));
}

TEST(DisclosureTest, ListsSeveralResourcesSortedAndCountsThoseBeyondTheLimit) {
  const auth::RequestContext caller = Caller();
  Disclosure disclosed(caller, auth::kCustomerResource,
                       {.max_listed_ids = 2, .detail_prefix = "customers "});
  for (const std::string id : {"c3", "c1", "c2"}) {
    contacts::v1::Customer customer = CustomerWith(id, "", "x@tengfei.cn");
    disclosed.Apply(customer, {id});
  }
  // A pair counts both of its resources, each once.
  contacts::v1::Customer probe = CustomerWith("", "", "y@tengfei.cn");
  disclosed.Apply(probe, {"c1", "c4"});
  const pv1::AuditEvent event = EventOf(*disclosed.Entry());
  EXPECT_EQ(event.resource_id(), "");
  EXPECT_EQ(event.detail(), "customers c1,c2 and 2 more");
  EXPECT_THAT(event.fields(), ElementsAre("contact_persons.emails"));
}

TEST(DisclosureTest, NothingSensitiveShownIsNotReported) {
  const auth::RequestContext caller = Caller();
  Disclosure disclosed(caller, auth::kCustomerResource);
  contacts::v1::Customer customer = CustomerWith("c1", "", "");
  disclosed.Apply(customer, {"c1"});
  EXPECT_EQ(customer.industry(), "");  // Hidden all the same.
  EXPECT_FALSE(disclosed.Entry().has_value());
}

// A message redacted before (a prepared view): its sensitive fields are noted as shown.
TEST(DisclosureTest, NotedReadsAreReportedLikeAppliedOnes) {
  const auth::RequestContext caller = Caller();
  Disclosure one(caller, auth::kTouchpointResource);
  one.Note({}, "t0");  // Nothing sensitive shown: not named.
  one.Note({"content", "attachments"}, "t1");
  const pv1::AuditEvent single = EventOf(*one.Entry());
  EXPECT_EQ(single.resource_id(), "t1");
  EXPECT_THAT(single.fields(), ElementsAre("attachments", "content"));

  Disclosure several(caller, auth::kTouchpointResource, {.max_listed_ids = 1, .detail_prefix = ""});
  several.Note({"content"}, "t2");
  several.Note({"content"}, "t1");
  const pv1::AuditEvent listed = EventOf(*several.Entry());
  EXPECT_EQ(listed.resource_id(), "");
  EXPECT_EQ(listed.detail(), "t1 and 1 more");
  EXPECT_THAT(listed.fields(), ElementsAre("content"));
}

}  // namespace
}  // namespace touchline::disclosure
