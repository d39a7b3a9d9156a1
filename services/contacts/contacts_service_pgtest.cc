// The contacts service through a real gRPC stack, on real PostgreSQL (a fresh schema per
// test) and Redis (a fresh key prefix per test).
#include <atomic>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "common/ids/ids.h"
#include "common/status/grpc_status.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "services/contacts/contacts_service_fixture.h"
#include "services/contacts/touchpoint_status.h"
#include "touchline/events/v1/customer_events.pb.h"
#include "touchline/events/v1/touchpoint_events.pb.h"

namespace touchline::contacts {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;
using ::testing::SizeIs;
using ::testing::UnorderedElementsAre;

class ContactsServiceTest : public ContactsServiceFixture {
 protected:
  static void SetTenant(grpc::ClientContext& context, const std::string& tenant) {
    Authorize(context, AdminOf(tenant));
  }

  static v1::Customer Acme() {
    v1::Customer c;
    c.set_kind(v1::CUSTOMER_KIND_ORGANIZATION);
    c.set_display_name("深圳市腾飞科技有限公司");
    c.set_industry("制造业");
    c.set_region("华南");
    c.set_level(v1::CUSTOMER_LEVEL_KEY);
    c.set_owner_id("rep-7");
    c.add_tags("展会线索");
    c.add_tags("投诉");
    (*c.mutable_custom_fields())["employees"].set_int_value(1200);
    (*c.mutable_custom_fields())["source"].set_string_value("广交会");
    v1::ContactPerson* p = c.add_contact_persons();
    p->mutable_name()->set_family_name("张");
    p->mutable_name()->set_given_name("伟");
    p->add_titles("采购经理");
    auto* phone = p->add_phones();
    phone->set_number("138 0013 8000");
    phone->set_kind(touchline::type::v1::CONTACT_POINT_KIND_MOBILE);
    p->add_emails()->set_address("Zhang.Wei@Tengfei.CN");
    auto* wecom = p->add_messaging_accounts();
    wecom->set_service(touchline::type::v1::MESSAGING_SERVICE_WECOM);
    wecom->set_account_id("wm_zhangwei");
    return c;
  }
};

TEST_F(ContactsServiceTest, CreateNormalisesAndGetReturnsTheSameCustomer) {
  const v1::Customer created = MustCreate(Acme());
  EXPECT_EQ(created.customer_id().size(), 36u);
  EXPECT_EQ(created.state(), v1::CUSTOMER_STATE_ACTIVE);
  EXPECT_EQ(created.lifecycle_status(), v1::LIFECYCLE_STATUS_LEAD);
  EXPECT_EQ(created.etag(), "1");
  ASSERT_THAT(created.contact_persons(), SizeIs(1));
  const v1::ContactPerson& person = created.contact_persons(0);
  EXPECT_EQ(person.phones(0).number(), "+8613800138000");
  EXPECT_EQ(person.emails(0).address(), "zhang.wei@tengfei.cn");
  EXPECT_EQ(person.name().formatted_name(), "张伟");
  EXPECT_EQ(person.person_id().size(), 36u);

  v1::Customer fetched;
  ASSERT_TRUE(Get(created.customer_id(), &fetched).ok());
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(created, fetched))
      << created.DebugString() << "\nvs\n"
      << fetched.DebugString();
  EXPECT_EQ(fetched.display_name(), "深圳市腾飞科技有限公司");
  EXPECT_EQ(fetched.custom_fields().at("source").string_value(), "广交会");
}

TEST_F(ContactsServiceTest, MissingTenantIsUnauthenticated) {
  grpc::ClientContext context;
  v1::GetCustomerRequest request;
  request.set_customer_id("018bcfe5-6800-7000-8000-000000000000");
  v1::GetCustomerResponse response;
  EXPECT_EQ(stub_->GetCustomer(&context, request, &response).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(ContactsServiceTest, BadPhoneIsInvalidArgumentNamingTheFieldAndWritesNothing) {
  v1::Customer customer = Acme();
  customer.mutable_contact_persons(0)->mutable_phones(0)->set_number("12345");
  const grpc::Status status = Create(customer, nullptr);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  const auto violations = status::FieldViolationsOf(status);
  ASSERT_THAT(violations, SizeIs(1));
  EXPECT_EQ(violations[0].first, "customer.contact_persons[0].phones[0].number");
  EXPECT_EQ(CountRows("customers"), 0);
  EXPECT_EQ(CountRows("outbox"), 0);
}

TEST_F(ContactsServiceTest, OversizedInputIsRejectedNotTruncated) {
  v1::Customer long_name = Acme();
  std::string name;
  for (int i = 0; i < 257; ++i) name += "客";
  long_name.set_display_name(name);
  grpc::Status status = Create(long_name, nullptr);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status::FieldViolationsOf(status),
              ElementsAre(Pair("customer.display_name", ::testing::_)));

  v1::Customer many_tags = Acme();
  for (int i = 0; i < 5000; ++i) many_tags.add_tags("标签" + std::to_string(i));
  EXPECT_EQ(Create(many_tags, nullptr).error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  v1::Customer huge_field = Acme();
  (*huge_field.mutable_custom_fields())["notes"].set_string_value(std::string(100000, 'x'));
  EXPECT_EQ(Create(huge_field, nullptr).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(CountRows("customers"), 0);

  name.pop_back();
  name.pop_back();
  name.pop_back();  // 256 characters: accepted whole.
  long_name.set_display_name(name);
  v1::Customer created;
  ASSERT_TRUE(Create(long_name, &created).ok());
  EXPECT_EQ(created.display_name(), name);
}

TEST_F(ContactsServiceTest, InvalidUtf8IsRejectedAndWritesNothing) {
  v1::Customer customer = Acme();
  customer.set_display_name(std::string("Acme \xff\xfe Ltd"));
  const grpc::Status status = Create(customer, nullptr);
  // protobuf refuses to parse a proto3 string that is not UTF-8, before any code of ours runs;
  // gRPC 1.51's callback server then answers UNIMPLEMENTED with no message, its reply to any
  // request that does not parse. If gRPC ever answers better, this test says so.
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNIMPLEMENTED) << status.error_message();
  EXPECT_EQ(CountRows("customers"), 0);
}

TEST_F(ContactsServiceTest, NulCharacterIsInvalidArgumentNamingTheFieldAndWritesNothing) {
  const std::string nul("a\0b", 3);
  v1::Customer customer = Acme();
  customer.set_display_name(nul);
  customer.set_region(nul);
  customer.add_tags(nul);
  (*customer.mutable_custom_fields())["source"].set_string_value(nul);
  customer.mutable_contact_persons(0)->mutable_name()->set_given_name(nul);
  grpc::Status status = Create(customer, nullptr);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  EXPECT_THAT(
      status::FieldViolationsOf(status),
      UnorderedElementsAre(Pair("customer.display_name", "must not contain NUL characters"),
                           Pair("customer.region", ::testing::_),
                           Pair("customer.tags[2]", ::testing::_),
                           Pair("customer.custom_fields[\"source\"]", ::testing::_),
                           Pair("customer.contact_persons[0].name.given_name", ::testing::_)));

  status = Create(Acme(), nullptr, AdminOf(kTenant), nul);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  EXPECT_THAT(status::FieldViolationsOf(status), ElementsAre(Pair("request_id", ::testing::_)));
  EXPECT_EQ(CountRows("customers"), 0);

  const v1::Customer created = MustCreate(Acme());
  v1::UpdateCustomerRequest update;
  *update.mutable_customer() = created;
  update.mutable_customer()->set_display_name(nul);
  update.mutable_update_mask()->add_paths("display_name");
  v1::UpdateCustomerResponse updated;
  status = Call(&v1::ContactsService::Stub::UpdateCustomer, update, &updated, AdminOf(kTenant));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  EXPECT_THAT(status::FieldViolationsOf(status),
              ElementsAre(Pair("customer.display_name", ::testing::_)));

  for (const char* field : {"region", "owner_id", "tag", "display_name_prefix"}) {
    v1::ListCustomersRequest list;
    const auto* descriptor = list.GetDescriptor()->FindFieldByName(field);
    list.GetReflection()->SetString(&list, descriptor, nul);
    v1::ListCustomersResponse response;
    status = List(list, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << field;
    EXPECT_THAT(status::FieldViolationsOf(status), ElementsAre(Pair(field, ::testing::_)));
  }
}

TEST_F(ContactsServiceTest, StaleEtagIsAborted) {
  const v1::Customer created = MustCreate(Acme());
  v1::Customer patch;
  patch.set_customer_id(created.customer_id());
  patch.set_etag(created.etag());
  patch.set_industry("零售");
  v1::Customer updated;
  ASSERT_TRUE(Update(patch, {"industry"}, &updated).ok());
  EXPECT_EQ(updated.industry(), "零售");
  EXPECT_NE(updated.etag(), created.etag());

  patch.set_industry("物流");  // Still carries the first etag.
  EXPECT_EQ(Update(patch, {"industry"}, nullptr).error_code(), grpc::StatusCode::ABORTED);
  v1::Customer fetched;
  ASSERT_TRUE(Get(created.customer_id(), &fetched).ok());
  EXPECT_EQ(fetched.industry(), "零售");
}

TEST_F(ContactsServiceTest, AnUpdateRetriedWithItsRequestIdChangesTheCustomerOnce) {
  const v1::Customer created = MustCreate(Acme());
  v1::Customer patch;
  patch.set_customer_id(created.customer_id());
  patch.set_etag(created.etag());
  patch.set_industry("零售");
  v1::Customer first, again;
  ASSERT_TRUE(Update(patch, {"industry"}, &first, AdminOf(kTenant), "upd-1").ok());
  // The retry carries the etag the first call made stale: it is answered, not applied again.
  ASSERT_TRUE(Update(patch, {"industry"}, &again, AdminOf(kTenant), "upd-1").ok());
  EXPECT_EQ(again.etag(), first.etag());
  EXPECT_EQ(again.industry(), "零售");

  // The same id with another request (here a value computed again from the new etag) is
  // refused and changes nothing.
  patch.set_etag(first.etag());
  patch.set_industry("物流");
  const grpc::Status reused = Update(patch, {"industry"}, nullptr, AdminOf(kTenant), "upd-1");
  EXPECT_EQ(reused.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  v1::Customer fetched;
  ASSERT_TRUE(Get(created.customer_id(), &fetched).ok());
  EXPECT_EQ(fetched.industry(), "零售");
  EXPECT_EQ(fetched.etag(), first.etag());

  // A refused update (stale etag) does not use up its request id.
  patch.set_etag(created.etag());
  EXPECT_EQ(Update(patch, {"industry"}, nullptr, AdminOf(kTenant), "upd-2").error_code(),
            grpc::StatusCode::ABORTED);
  patch.set_etag(first.etag());
  v1::Customer later;
  ASSERT_TRUE(Update(patch, {"industry"}, &later, AdminOf(kTenant), "upd-2").ok());
  EXPECT_EQ(later.industry(), "物流");
}

TEST_F(ContactsServiceTest, UpdateChangesOnlyMaskedFieldsAndRejectsUnknownPaths) {
  const v1::Customer created = MustCreate(Acme());
  v1::Customer patch;
  patch.set_customer_id(created.customer_id());
  patch.set_region("华北");
  patch.set_industry("ignored because not in the mask");
  v1::Customer updated;
  ASSERT_TRUE(Update(patch, {"region"}, &updated).ok());
  EXPECT_EQ(updated.region(), "华北");
  EXPECT_EQ(updated.industry(), "制造业");
  EXPECT_EQ(updated.contact_persons(0).person_id(), created.contact_persons(0).person_id());

  const grpc::Status status = Update(patch, {"kind"}, nullptr);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status::FieldViolationsOf(status), ElementsAre(Pair("update_mask", ::testing::_)));
}

TEST_F(ContactsServiceTest, SameRequestIdReturnsTheFirstCustomer) {
  v1::Customer first, second;
  ASSERT_TRUE(Create(Acme(), &first, AdminOf("tenant-a"), "req-1").ok());
  ASSERT_TRUE(Create(Acme(), &second, AdminOf("tenant-a"), "req-1").ok());
  EXPECT_EQ(first.customer_id(), second.customer_id());
  EXPECT_EQ(CountRows("customers"), 1);

  v1::Customer other = Acme();
  other.set_display_name("另一家公司");
  const grpc::Status reused = Create(other, nullptr, AdminOf("tenant-a"), "req-1");
  EXPECT_EQ(reused.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(CountRows("customers"), 1);
}

TEST_F(ContactsServiceTest, ARequestIdIsAtMost128CharactersNotBytes) {
  std::string id;
  for (int i = 0; i < 128; ++i) id += "键";  // 384 bytes.
  v1::Customer first, again;
  ASSERT_TRUE(Create(Acme(), &first, AdminOf(kTenant), id).ok());
  ASSERT_TRUE(Create(Acme(), &again, AdminOf(kTenant), id).ok());
  EXPECT_EQ(again.customer_id(), first.customer_id());
  const grpc::Status status = Create(Acme(), nullptr, AdminOf(kTenant), id + "键");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status::FieldViolationsOf(status),
              ElementsAre(Pair("request_id", "must be at most 128 characters")));
}

TEST_F(ContactsServiceTest, SameRequestIdFromSixteenThreadsCreatesOneCustomer) {
  std::vector<std::thread> threads;
  std::vector<std::string> ids(16);
  std::atomic<int> failures{0};
  for (int i = 0; i < 16; ++i) {
    threads.emplace_back([&, i] {
      v1::Customer created;
      if (Create(Acme(), &created, AdminOf("tenant-a"), "req-concurrent").ok()) {
        ids[i] = created.customer_id();
      } else {
        ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), 1u);
  EXPECT_EQ(CountRows("customers"), 1);
  EXPECT_EQ(CountRows("outbox WHERE topic = 'customers'"), 1);
  EXPECT_EQ(CountRows("outbox WHERE topic = 'audit'"), 1);
}

TEST_F(ContactsServiceTest, TenantsNeverSeeEachOther) {
  const v1::Customer created = MustCreate(Acme());
  EXPECT_EQ(Get(created.customer_id(), nullptr, AdminOf("tenant-b")).error_code(),
            grpc::StatusCode::NOT_FOUND);
  v1::ListCustomersResponse listed;
  ASSERT_TRUE(List({}, &listed, AdminOf("tenant-b")).ok());
  EXPECT_THAT(listed.customers(), SizeIs(0));
  // The same request id in another tenant is another request.
  v1::Customer in_b;
  ASSERT_TRUE(Create(Acme(), &in_b, AdminOf("tenant-b"), "req-1").ok());
  ASSERT_TRUE(Create(Acme(), nullptr, AdminOf("tenant-a"), "req-1").ok());
  EXPECT_EQ(Get(in_b.customer_id(), nullptr, AdminOf("tenant-a")).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(ContactsServiceTest, BatchGetKeepsRequestOrderAndIsAllOrNothing) {
  v1::Customer a = Acme();
  a.set_display_name("甲");
  v1::Customer b = Acme();
  b.set_display_name("乙");
  const std::string id_a = MustCreate(a).customer_id();
  const std::string id_b = MustCreate(b).customer_id();
  {
    grpc::ClientContext context;
    SetTenant(context, "tenant-a");
    v1::BatchGetCustomersRequest request;
    request.add_customer_ids(id_b);
    request.add_customer_ids(id_a);
    v1::BatchGetCustomersResponse response;
    ASSERT_TRUE(stub_->BatchGetCustomers(&context, request, &response).ok());
    ASSERT_THAT(response.customers(), SizeIs(2));
    EXPECT_EQ(response.customers(0).display_name(), "乙");
    EXPECT_EQ(response.customers(1).display_name(), "甲");
  }
  grpc::ClientContext context;
  SetTenant(context, "tenant-a");
  v1::BatchGetCustomersRequest request;
  request.add_customer_ids(id_a);
  request.add_customer_ids("018bcfe5-6800-7000-8000-000000000000");
  v1::BatchGetCustomersResponse response;
  EXPECT_EQ(stub_->BatchGetCustomers(&context, request, &response).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(ContactsServiceTest, ListFiltersPagesAndSortsByPinyin) {
  const std::vector<std::string> names = {"张三贸易", "李四物流", "王五科技", "阿里巴巴",
                                          "赵六餐饮"};
  for (size_t i = 0; i < names.size(); ++i) {
    v1::Customer c = Acme();
    c.set_display_name(names[i]);
    c.clear_contact_persons();
    c.set_region(i % 2 == 0 ? "华北" : "华南");
    c.set_level(i == 0 ? v1::CUSTOMER_LEVEL_VIP : v1::CUSTOMER_LEVEL_STANDARD);
    c.clear_tags();
    if (i < 3) c.add_tags("投诉");
    MustCreate(c);
  }
  v1::ListCustomersRequest request;
  request.set_order(v1::CUSTOMER_ORDER_DISPLAY_NAME);
  request.set_page_size(2);
  std::vector<std::string> seen;
  for (int page = 0; page < 10; ++page) {
    v1::ListCustomersResponse response;
    ASSERT_TRUE(List(request, &response).ok());
    for (const auto& c : response.customers()) seen.push_back(c.display_name());
    if (response.next_page_token().empty()) break;
    request.set_page_token(response.next_page_token());
  }
  // a(阿) l(李) w(王) zhang(张) zhao(赵): pinyin order, not code point order.
  EXPECT_THAT(seen, ElementsAre("阿里巴巴", "李四物流", "王五科技", "张三贸易", "赵六餐饮"));

  v1::ListCustomersRequest filtered;
  filtered.set_region("华北");
  filtered.set_tag("投诉");
  v1::ListCustomersResponse response;
  ASSERT_TRUE(List(filtered, &response).ok());
  std::vector<std::string> names_found;
  for (const auto& c : response.customers()) names_found.push_back(c.display_name());
  EXPECT_THAT(names_found, UnorderedElementsAre("张三贸易", "王五科技"));

  v1::ListCustomersRequest vip;
  vip.add_levels(v1::CUSTOMER_LEVEL_VIP);
  ASSERT_TRUE(List(vip, &response).ok());
  ASSERT_THAT(response.customers(), SizeIs(1));
  EXPECT_EQ(response.customers(0).display_name(), "张三贸易");

  v1::ListCustomersRequest prefix;
  prefix.set_display_name_prefix("李四");
  ASSERT_TRUE(List(prefix, &response).ok());
  ASSERT_THAT(response.customers(), SizeIs(1));
  EXPECT_EQ(response.customers(0).display_name(), "李四物流");

  v1::ListCustomersRequest percent;
  percent.set_display_name_prefix("%");
  ASSERT_TRUE(List(percent, &response).ok());
  EXPECT_THAT(response.customers(), SizeIs(0));
}

TEST_F(ContactsServiceTest, PageTokenOfAnotherQueryIsInvalidArgument) {
  for (int i = 0; i < 3; ++i) MustCreate(Acme());
  v1::ListCustomersRequest request;
  request.set_page_size(1);
  v1::ListCustomersResponse response;
  ASSERT_TRUE(List(request, &response).ok());
  ASSERT_FALSE(response.next_page_token().empty());
  v1::ListCustomersRequest other;
  other.set_region("华北");
  other.set_page_token(response.next_page_token());
  EXPECT_EQ(List(other, &response).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  other.set_page_token("not-a-token");
  EXPECT_EQ(List(other, &response).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(ContactsServiceTest, EditedPageTokenIsInvalidArgumentWhateverTheEdit) {
  for (int i = 0; i < 3; ++i) MustCreate(Acme());
  v1::ListCustomersRequest request;
  request.set_page_size(1);
  v1::ListCustomersResponse response;
  ASSERT_TRUE(List(request, &response).ok());
  std::string bytes;
  ASSERT_TRUE(absl::WebSafeBase64Unescape(response.next_page_token(), &bytes));
  for (size_t i = 0; i < bytes.size(); ++i) {
    for (const char flip : {'\x01', '\x20'}) {
      std::string edited = bytes;
      edited[i] = static_cast<char>(edited[i] ^ flip);
      request.set_page_token(absl::WebSafeBase64Escape(edited));
      const grpc::Status status = List(request, &response);
      EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
          << "byte " << i << ": " << status.error_message();
      EXPECT_THAT(status::FieldViolationsOf(status), ElementsAre(Pair("page_token", ::testing::_)));
    }
  }
}

TEST_F(ContactsServiceTest, TimesOutsideTheTimestampRangeAreInvalidArgumentNamingTheField) {
  v1::ListCustomersRequest request;
  request.mutable_updated_since()->set_seconds(int64_t{1} << 62);
  v1::ListCustomersResponse response;
  grpc::Status status = List(request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  EXPECT_THAT(status::FieldViolationsOf(status), ElementsAre(Pair("updated_since", ::testing::_)));
  request.mutable_updated_since()->set_seconds(1700000000);
  request.mutable_updated_since()->set_nanos(-1);
  status = List(request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  EXPECT_THAT(status::FieldViolationsOf(status), ElementsAre(Pair("updated_since", ::testing::_)));

  v1::Customer customer = Acme();
  auto* since = (*customer.mutable_custom_fields())["since"].mutable_timestamp_value();
  since->set_seconds(1700000000);
  since->set_nanos(-1);
  status = Create(customer, nullptr);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  EXPECT_THAT(status::FieldViolationsOf(status),
              ElementsAre(Pair("customer.custom_fields[\"since\"]",
                               "nanos must be between 0 and 999999999")));
  EXPECT_EQ(CountRows("customers"), 0);
}

TEST_F(ContactsServiceTest, DeleteHidesAndUndeleteRestores) {
  const v1::Customer created = MustCreate(Acme());
  {
    grpc::ClientContext context;
    SetTenant(context, "tenant-a");
    v1::DeleteCustomerRequest request;
    request.set_customer_id(created.customer_id());
    v1::DeleteCustomerResponse response;
    ASSERT_TRUE(stub_->DeleteCustomer(&context, request, &response).ok());
    EXPECT_EQ(response.customer().state(), v1::CUSTOMER_STATE_DELETED);
    EXPECT_TRUE(response.customer().has_delete_time());
  }
  v1::ListCustomersResponse listed;
  ASSERT_TRUE(List({}, &listed).ok());
  EXPECT_THAT(listed.customers(), SizeIs(0));
  v1::ListCustomersRequest with_deleted;
  with_deleted.set_show_deleted(true);
  ASSERT_TRUE(List(with_deleted, &listed).ok());
  EXPECT_THAT(listed.customers(), SizeIs(1));
  {
    grpc::ClientContext context;
    SetTenant(context, "tenant-a");
    v1::DeleteCustomerRequest request;
    request.set_customer_id(created.customer_id());
    v1::DeleteCustomerResponse response;
    EXPECT_EQ(stub_->DeleteCustomer(&context, request, &response).error_code(),
              grpc::StatusCode::FAILED_PRECONDITION);
  }
  grpc::ClientContext context;
  SetTenant(context, "tenant-a");
  v1::UndeleteCustomerRequest request;
  request.set_customer_id(created.customer_id());
  v1::UndeleteCustomerResponse response;
  ASSERT_TRUE(stub_->UndeleteCustomer(&context, request, &response).ok());
  EXPECT_EQ(response.customer().state(), v1::CUSTOMER_STATE_ACTIVE);
  EXPECT_FALSE(response.customer().has_delete_time());
}

TEST_F(ContactsServiceTest, FindsDuplicatesByPhoneEmailAndName) {
  v1::Customer a = Acme();  // 深圳市腾飞科技有限公司, +8613800138000, zhang.wei@tengfei.cn
  v1::Customer b;
  b.set_kind(v1::CUSTOMER_KIND_ORGANIZATION);
  b.set_display_name("深圳市腾飞科技");
  auto* person = b.add_contact_persons();
  person->mutable_name()->set_formatted_name("Wei Zhang");
  person->add_phones()->set_number("+86 138-0013-8000");
  person->add_emails()->set_address("ZHANG.WEI@tengfei.cn");
  v1::Customer unrelated = Acme();
  unrelated.set_display_name("Acme Co., Ltd.");
  unrelated.clear_contact_persons();
  v1::Customer acme_again = unrelated;
  acme_again.set_display_name("ACME Limited");
  const std::string id_a = MustCreate(a).customer_id();
  const std::string id_b = MustCreate(b).customer_id();
  const std::string id_c = MustCreate(unrelated).customer_id();
  const std::string id_d = MustCreate(acme_again).customer_id();

  grpc::ClientContext context;
  SetTenant(context, "tenant-a");
  v1::FindDuplicateCustomersRequest request;
  v1::FindDuplicateCustomersResponse response;
  ASSERT_TRUE(stub_->FindDuplicateCustomers(&context, request, &response).ok());
  ASSERT_THAT(response.candidates(), SizeIs(2));
  // Strongest evidence first: phone + email + name.
  EXPECT_EQ(response.candidates(0).customer_id(), id_a);
  EXPECT_EQ(response.candidates(0).duplicate_customer_id(), id_b);
  std::set<int> reasons;
  for (const auto& m : response.candidates(0).matches()) reasons.insert(m.reason());
  EXPECT_EQ(reasons,
            (std::set<int>{v1::DUPLICATE_REASON_SAME_PHONE, v1::DUPLICATE_REASON_SAME_EMAIL,
                           v1::DUPLICATE_REASON_SAME_NAME}));
  EXPECT_EQ(response.candidates(1).customer_id(), id_c);
  EXPECT_EQ(response.candidates(1).duplicate_customer_id(), id_d);
  ASSERT_THAT(response.candidates(1).matches(), SizeIs(1));
  EXPECT_EQ(response.candidates(1).matches(0).reason(), v1::DUPLICATE_REASON_SAME_NAME);

  // Paging one pair at a time yields the same pairs.
  v1::FindDuplicateCustomersRequest paged;
  paged.set_page_size(1);
  std::vector<std::string> firsts;
  for (int i = 0; i < 5; ++i) {
    grpc::ClientContext page_context;
    SetTenant(page_context, "tenant-a");
    v1::FindDuplicateCustomersResponse page;
    ASSERT_TRUE(stub_->FindDuplicateCustomers(&page_context, paged, &page).ok());
    for (const auto& c : page.candidates()) firsts.push_back(c.customer_id());
    if (page.next_page_token().empty()) break;
    paged.set_page_token(page.next_page_token());
  }
  EXPECT_THAT(firsts, ElementsAre(id_a, id_c));
}

TEST_F(ContactsServiceTest, MergeThenUnmergeRestoresBothCustomersExactly) {
  v1::Customer survivor_in = Acme();
  v1::Customer merged_in = Acme();
  merged_in.set_display_name("腾飞科技（深圳）");
  merged_in.set_industry("");
  merged_in.clear_tags();
  merged_in.add_tags("老客户");
  merged_in.mutable_contact_persons(0)->mutable_phones(0)->set_number("13900139000");
  const v1::Customer survivor = MustCreate(survivor_in);
  const v1::Customer merged = MustCreate(merged_in);

  grpc::ClientContext context;
  SetTenant(context, "tenant-a");
  v1::MergeCustomersRequest request;
  request.set_survivor_customer_id(survivor.customer_id());
  request.set_merged_customer_id(merged.customer_id());
  request.set_survivor_etag(survivor.etag());
  request.set_request_id("merge-1");
  v1::MergeCustomersResponse response;
  ASSERT_TRUE(stub_->MergeCustomers(&context, request, &response).ok());
  EXPECT_THAT(response.survivor().tags(), ElementsAre("展会线索", "投诉", "老客户"));
  v1::Customer merged_after;
  ASSERT_TRUE(Get(merged.customer_id(), &merged_after).ok());
  EXPECT_EQ(merged_after.state(), v1::CUSTOMER_STATE_MERGED);
  EXPECT_EQ(merged_after.merged_into_customer_id(), survivor.customer_id());

  {  // A retry of the merge returns the same merge.
    grpc::ClientContext retry_context;
    SetTenant(retry_context, "tenant-a");
    v1::MergeCustomersResponse retry;
    ASSERT_TRUE(stub_->MergeCustomers(&retry_context, request, &retry).ok());
    EXPECT_EQ(retry.merge().merge_id(), response.merge().merge_id());
  }

  grpc::ClientContext unmerge_context;
  SetTenant(unmerge_context, "tenant-a");
  v1::UnmergeCustomersRequest unmerge;
  unmerge.set_merge_id(response.merge().merge_id());
  v1::UnmergeCustomersResponse restored;
  ASSERT_TRUE(stub_->UnmergeCustomers(&unmerge_context, unmerge, &restored).ok());
  EXPECT_TRUE(restored.merge().has_unmerge_time());

  // Exactly as before, but for the version (etag) and update_time, which every write moves.
  const auto same_but_version = [](v1::Customer before, v1::Customer after) {
    before.clear_etag();
    before.clear_update_time();
    after.clear_etag();
    after.clear_update_time();
    return google::protobuf::util::MessageDifferencer::Equals(before, after);
  };
  v1::Customer survivor_now, merged_now;
  ASSERT_TRUE(Get(survivor.customer_id(), &survivor_now).ok());
  ASSERT_TRUE(Get(merged.customer_id(), &merged_now).ok());
  EXPECT_TRUE(same_but_version(survivor, survivor_now)) << survivor_now.DebugString();
  EXPECT_TRUE(same_but_version(merged, merged_now)) << merged_now.DebugString();

  grpc::ClientContext again_context;
  SetTenant(again_context, "tenant-a");
  EXPECT_EQ(stub_->UnmergeCustomers(&again_context, unmerge, &restored).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(ContactsServiceTest, UnmergeRefusesWhenTheSurvivorChangedSince) {
  const v1::Customer survivor = MustCreate(Acme());
  v1::Customer other = Acme();
  other.set_display_name("另一家");
  const v1::Customer merged = MustCreate(other);
  grpc::ClientContext context;
  SetTenant(context, "tenant-a");
  v1::MergeCustomersRequest request;
  request.set_survivor_customer_id(survivor.customer_id());
  request.set_merged_customer_id(merged.customer_id());
  v1::MergeCustomersResponse response;
  ASSERT_TRUE(stub_->MergeCustomers(&context, request, &response).ok());
  v1::Customer patch;
  patch.set_customer_id(survivor.customer_id());
  patch.set_industry("零售");
  ASSERT_TRUE(Update(patch, {"industry"}, nullptr).ok());

  grpc::ClientContext unmerge_context;
  SetTenant(unmerge_context, "tenant-a");
  v1::UnmergeCustomersRequest unmerge;
  unmerge.set_merge_id(response.merge().merge_id());
  v1::UnmergeCustomersResponse restored;
  EXPECT_EQ(stub_->UnmergeCustomers(&unmerge_context, unmerge, &restored).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

// --- Lifecycle status from touchpoints -------------------------------------------------------

class TouchpointStatusTest : public ContactsServiceTest {
 protected:
  // A TouchpointRecorded of touchpoint `touchpoint_id` of `customer_id`, recorded by
  // `recorder`, that occurred at `occurred_at` and left the customer in `status`.
  static events::v1::EventEnvelope Recorded(const std::string& customer_id,
                                            const std::string& touchpoint_id,
                                            absl::Time occurred_at, v1::LifecycleStatus status,
                                            const std::string& recorder) {
    events::v1::TouchpointRecorded recorded;
    touchpoints::v1::Touchpoint& t = *recorded.mutable_touchpoint();
    t.set_touchpoint_id(touchpoint_id);
    t.set_customer_id(customer_id);
    t.mutable_occur_time()->set_seconds(absl::ToUnixSeconds(occurred_at));
    t.set_customer_status_after(status);
    t.set_recorded_by(recorder);
    return events::MakeEnvelope(recorded, kTenant, "touchpoint", touchpoint_id, "req-tp",
                                recorder);
  }

  // Adds `event` to the touchpoints stream, as the touchpoints service's relay does, and lets
  // contacts' consumer take what is there. Returns how many events it applied.
  int Deliver(const events::v1::EventEnvelope& event) {
    const auto added =
        redis_->Command({"XADD", events::StreamKey(prefix_, events::kTouchpointsTopic), "*",
                         "event_id", event.event_id(), "event", event.SerializeAsString()});
    EXPECT_TRUE(added.ok()) << added.status();
    const absl::StatusOr<int> applied = consumer_->PollOnce();
    EXPECT_TRUE(applied.ok()) << applied.status();
    return applied.ok() ? *applied : -1;
  }

  v1::Customer Read(const std::string& id) {
    v1::Customer customer;
    EXPECT_TRUE(Get(id, &customer).ok());
    return customer;
  }

  void SetUp() override {
    ContactsServiceTest::SetUp();
    if (HasFatalFailure()) return;
    sync_ = std::make_unique<TouchpointStatusSync>(store_.get(), [] { return absl::Now(); });
    events::ConsumerOptions options;
    options.stream_prefix = prefix_;
    options.topic = events::kTouchpointsTopic;
    options.group = "contacts";
    options.consumer = "test";
    consumer_ = std::make_unique<events::StreamConsumer>(
        options, redis_.get(), pool_.get(),
        [this](pqxx::work& txn, const events::v1::EventEnvelope& event) {
          return sync_->Apply(txn, event);
        });
  }

  std::unique_ptr<TouchpointStatusSync> sync_;
  std::unique_ptr<events::StreamConsumer> consumer_;
};

TEST_F(TouchpointStatusTest, TheNewestTouchpointSetsTheStatusOnceAsItsRecordersChange) {
  const v1::Customer customer = MustCreate(Acme());
  ASSERT_EQ(customer.lifecycle_status(), v1::LIFECYCLE_STATUS_LEAD);
  const absl::Time t0 = absl::FromUnixSeconds(1767225600);  // 2026-01-01T00:00:00Z

  const events::v1::EventEnvelope opportunity =
      Recorded(customer.customer_id(), ids::NewUuid(t0), t0 + absl::Hours(2),
               v1::LIFECYCLE_STATUS_OPPORTUNITY, "rep-7");
  EXPECT_EQ(Deliver(opportunity), 1);
  v1::Customer now = Read(customer.customer_id());
  EXPECT_EQ(now.lifecycle_status(), v1::LIFECYCLE_STATUS_OPPORTUNITY);
  EXPECT_EQ(now.etag(), "2");
  const std::vector<permissions::v1::AuditEvent> audit = OutboxAudit();
  ASSERT_FALSE(audit.empty());
  EXPECT_EQ(audit.back().action(), "customer.updated");
  EXPECT_EQ(audit.back().actor_id(), "rep-7");
  EXPECT_THAT(audit.back().fields(), ElementsAre("lifecycle_status"));
  EXPECT_EQ(CountRows("outbox WHERE topic = 'customers'"), 2);  // created, updated

  // Delivered again: the inbox skips it.
  EXPECT_EQ(Deliver(opportunity), 0);
  EXPECT_EQ(Read(customer.customer_id()).etag(), "2");

  // An older touchpoint arriving later never moves the status back; one without a status
  // changes nothing.
  EXPECT_EQ(Deliver(Recorded(customer.customer_id(), ids::NewUuid(t0), t0 + absl::Hours(1),
                             v1::LIFECYCLE_STATUS_CHURNED, "rep-8")),
            1);
  EXPECT_EQ(Deliver(Recorded(customer.customer_id(), ids::NewUuid(t0), t0 + absl::Hours(5),
                             v1::LIFECYCLE_STATUS_UNSPECIFIED, "rep-8")),
            1);
  now = Read(customer.customer_id());
  EXPECT_EQ(now.lifecycle_status(), v1::LIFECYCLE_STATUS_OPPORTUNITY);
  EXPECT_EQ(now.etag(), "2");

  // A newer one does, as its recorder's change.
  EXPECT_EQ(Deliver(Recorded(customer.customer_id(), ids::NewUuid(t0), t0 + absl::Hours(3),
                             v1::LIFECYCLE_STATUS_CUSTOMER, "rep-9")),
            1);
  now = Read(customer.customer_id());
  EXPECT_EQ(now.lifecycle_status(), v1::LIFECYCLE_STATUS_CUSTOMER);
  EXPECT_EQ(now.etag(), "3");
  EXPECT_EQ(OutboxAudit().back().actor_id(), "rep-9");

  // A touchpoint of a customer contacts does not have is passed over.
  EXPECT_EQ(Deliver(Recorded(ids::NewUuid(), ids::NewUuid(t0), t0,
                             v1::LIFECYCLE_STATUS_CUSTOMER, "rep-9")),
            1);
}

TEST_F(TouchpointStatusTest, ACorrectedTouchpointCountsAsRecordedAgainAndOthersAreIgnored) {
  const v1::Customer customer = MustCreate(Acme());
  const absl::Time t0 = absl::FromUnixSeconds(1767225600);
  const std::string late = ids::NewUuid(t0);
  EXPECT_EQ(Deliver(Recorded(customer.customer_id(), ids::NewUuid(t0), t0 + absl::Hours(2),
                             v1::LIFECYCLE_STATUS_PROSPECT, "rep-7")),
            1);
  const events::v1::EventEnvelope early = Recorded(
      customer.customer_id(), late, t0 + absl::Hours(1), v1::LIFECYCLE_STATUS_HIGH_INTENT, "rep-8");
  EXPECT_EQ(Deliver(early), 1);
  EXPECT_EQ(Read(customer.customer_id()).lifecycle_status(), v1::LIFECYCLE_STATUS_PROSPECT);

  // Its occur_time corrected to after the other: now it is the newest, the corrector's change.
  events::v1::TouchpointRecorded recorded;
  ASSERT_TRUE(early.payload().UnpackTo(&recorded));
  events::v1::TouchpointUpdated updated;
  *updated.mutable_touchpoint() = recorded.touchpoint();
  updated.mutable_touchpoint()->mutable_occur_time()->set_seconds(
      absl::ToUnixSeconds(t0 + absl::Hours(4)));
  updated.mutable_changed_fields()->add_paths("occur_time");
  EXPECT_EQ(Deliver(events::MakeEnvelope(updated, kTenant, "touchpoint", late, "req-fix",
                                         "lead-1")),
            1);
  EXPECT_EQ(Read(customer.customer_id()).lifecycle_status(), v1::LIFECYCLE_STATUS_HIGH_INTENT);
  EXPECT_EQ(OutboxAudit().back().actor_id(), "lead-1");

  // A correction of other fields, and a deletion, leave the status alone.
  updated.mutable_touchpoint()->set_customer_status_after(v1::LIFECYCLE_STATUS_CHURNED);
  updated.mutable_touchpoint()->mutable_occur_time()->set_seconds(
      absl::ToUnixSeconds(t0 + absl::Hours(6)));
  updated.mutable_changed_fields()->set_paths(0, "subject");
  EXPECT_EQ(Deliver(events::MakeEnvelope(updated, kTenant, "touchpoint", late, "req-fix",
                                         "lead-1")),
            1);
  events::v1::TouchpointDeleted deleted;
  *deleted.mutable_touchpoint() = updated.touchpoint();
  EXPECT_EQ(Deliver(events::MakeEnvelope(deleted, kTenant, "touchpoint", late, "req-del",
                                         "lead-1")),
            1);
  const v1::Customer now = Read(customer.customer_id());
  EXPECT_EQ(now.lifecycle_status(), v1::LIFECYCLE_STATUS_HIGH_INTENT);
  EXPECT_EQ(now.etag(), "3");
}

TEST_F(ContactsServiceTest, MergeAndUnmergeEventsListTheFoldedPersons) {
  v1::Customer merged_in = Acme();
  merged_in.set_display_name("腾飞科技（深圳）");
  const v1::Customer survivor = MustCreate(Acme());
  const v1::Customer merged = MustCreate(merged_in);
  v1::MergeCustomersRequest request;
  request.set_survivor_customer_id(survivor.customer_id());
  request.set_merged_customer_id(merged.customer_id());
  v1::MergeCustomersResponse response;
  ASSERT_TRUE(Merge(request, &response).ok());
  v1::UnmergeCustomersResponse restored;
  ASSERT_TRUE(Unmerge(response.merge().merge_id(), &restored).ok());
  ASSERT_TRUE(relay_->PublishPending().ok());

  // The same people (same phones): each of the merged customer's persons was folded into the
  // survivor's, and both events say so.
  std::vector<std::pair<std::string, std::string>> expected;
  for (int i = 0; i < merged.contact_persons_size(); ++i) {
    expected.emplace_back(merged.contact_persons(i).person_id(),
                          survivor.contact_persons(i).person_id());
  }
  ASSERT_FALSE(expected.empty());
  const auto pairs = [](const auto& folded) {
    std::vector<std::pair<std::string, std::string>> out;
    for (const events::v1::FoldedPerson& f : folded) {
      out.emplace_back(f.person_id(), f.into_person_id());
    }
    return out;
  };
  auto envelopes = testing::ReadEnvelopes(*redis_, events::StreamKey(prefix_, kCustomersTopic));
  ASSERT_TRUE(envelopes.ok()) << envelopes.status();
  int seen = 0;
  for (const events::v1::EventEnvelope& envelope : *envelopes) {
    events::v1::CustomersMerged merged_event;
    events::v1::CustomersUnmerged unmerged_event;
    if (envelope.payload().Is<events::v1::CustomersMerged>() &&
        envelope.payload().UnpackTo(&merged_event)) {
      EXPECT_EQ(pairs(merged_event.folded_persons()), expected);
      ++seen;
    } else if (envelope.payload().Is<events::v1::CustomersUnmerged>() &&
               envelope.payload().UnpackTo(&unmerged_event)) {
      EXPECT_EQ(pairs(unmerged_event.folded_persons()), expected);
      ++seen;
    }
  }
  EXPECT_EQ(seen, 2);
}

TEST_F(ContactsServiceTest, EveryChangeReachesTheCustomersStream) {
  const v1::Customer created = MustCreate(Acme());
  v1::Customer patch;
  patch.set_customer_id(created.customer_id());
  patch.set_region("华北");
  ASSERT_TRUE(Update(patch, {"region"}, nullptr).ok());
  auto published = relay_->PublishPending();
  ASSERT_TRUE(published.ok()) << published.status();
  EXPECT_EQ(*published, 4);  // Two customer events, and the audit entry of each change.

  auto envelopes = testing::ReadEnvelopes(*redis_, events::StreamKey(prefix_, kCustomersTopic));
  ASSERT_TRUE(envelopes.ok()) << envelopes.status();
  std::vector<std::string> types;
  for (const events::v1::EventEnvelope& envelope : *envelopes) {
    EXPECT_EQ(envelope.tenant_id(), "tenant-a");
    EXPECT_EQ(envelope.aggregate_id(), created.customer_id());
    types.push_back(envelope.event_type());
    if (envelope.payload().Is<events::v1::CustomerUpdated>()) {
      events::v1::CustomerUpdated updated;
      ASSERT_TRUE(envelope.payload().UnpackTo(&updated));
      EXPECT_EQ(updated.customer().region(), "华北");
      EXPECT_THAT(updated.changed_fields().paths(), ElementsAre("region"));
    }
  }
  EXPECT_THAT(types, ElementsAre("touchline.events.v1.CustomerCreated",
                                 "touchline.events.v1.CustomerUpdated"));
  EXPECT_EQ(CountRows("outbox"), 0);
}

}  // namespace
}  // namespace touchline::contacts
