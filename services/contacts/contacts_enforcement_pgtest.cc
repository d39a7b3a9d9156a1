// Who sees and changes which customers, and which of their fields, through every read and
// write path of the contacts service: each caller acts with a scope set per test (as the
// permissions service would compile it), shares come in as the permissions service's events.
#include <algorithm>
#include <string>
#include <vector>

#include "common/auth/scope.h"
#include "common/ids/ids.h"
#include "common/status/errors.h"
#include "common/status/grpc_status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/contacts/contacts_service_fixture.h"
#include "touchline/events/v1/customer_events.pb.h"

namespace touchline::contacts {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;
using ::testing::UnorderedElementsAre;
namespace pv1 = ::touchline::permissions::v1;

// The reporting line: rep-li and rep-zhou report to lead-zhao, who reports to manager-chen.
const Caller kRep{kTenant, "rep-li"};
const Caller kManager{kTenant, "manager-chen"};
const Caller kNorth{kTenant, "north-rep"};
const Caller kNorthManager{kTenant, "north-manager"};
const Caller kPartner{kTenant, "partner-amy"};
const Caller kAdmin = AdminOf(kTenant);

pv1::EffectiveScope Employee(const std::string& role, int rank,
                             const std::vector<std::string>& owner_ids,
                             const std::vector<std::string>& regions,
                             const std::vector<std::string>& grantees,
                             const std::vector<pv1::Permission>& permissions) {
  pv1::EffectiveScope scope;
  scope.set_principal_kind(pv1::PRINCIPAL_KIND_USER);
  scope.set_session_id("session-" + role);
  scope.set_role_id(role);
  scope.set_rank(rank);
  for (const pv1::Permission permission : permissions) scope.add_permissions(permission);
  for (const std::string& owner : owner_ids) scope.add_owner_ids(owner);
  for (const std::string& region : regions) scope.add_regions(region);
  for (const std::string& grantee : grantees) scope.add_grantees(grantee);
  scope.set_vip_visible(rank >= auth::kVipMinRank);
  return scope;
}

void AddRule(pv1::EffectiveScope& scope, const std::string& path, pv1::FieldAccess access,
             pv1::MaskPattern mask = pv1::MASK_PATTERN_UNSPECIFIED) {
  *scope.add_field_rules() = auth::testing::FieldRuleOf(auth::kCustomerResource, path, access, mask);
}

std::vector<std::string> IdsOf(const google::protobuf::RepeatedPtrField<v1::Customer>& customers) {
  std::vector<std::string> ids;
  for (const v1::Customer& c : customers) ids.push_back(c.customer_id());
  return ids;
}

// A duplicate pair as FindDuplicates orders it: "<older id>+<younger id>" (UUIDv7 ids sort by
// creation time).
std::string PairOf(const std::string& a, const std::string& b) {
  return std::min(a, b) + "+" + std::max(a, b);
}

std::string ReasonOf(const grpc::Status& status) {
  return status::ErrorReasonOf(status::FromGrpcStatus(status));
}

class ContactsEnforcementTest : public ContactsServiceFixture {
 protected:
  void SetUp() override {
    ContactsServiceFixture::SetUp();
    if (HasFatalFailure()) return;
    pv1::EffectiveScope rep =
        Employee("rep", 10, {"rep-li"}, {}, {"team:east"}, {pv1::PERMISSION_CUSTOMERS_WRITE});
    AddRule(rep, "contact_persons.note", pv1::FIELD_ACCESS_HIDDEN);
    AddRule(rep, "level", pv1::FIELD_ACCESS_READ_ONLY);
    authenticator_.SetScope(kRep.id, rep);
    authenticator_.SetScope(
        kManager.id,
        Employee("regional_manager", 30, {"manager-chen", "lead-zhao", "rep-li", "rep-zhou"}, {},
                 {}, {pv1::PERMISSION_CUSTOMERS_WRITE, pv1::PERMISSION_CUSTOMERS_MERGE}));
    authenticator_.SetScope(
        kNorth.id, Employee("territory_rep", 10, {"north-rep"}, {"北京", "天津", "河北"}, {},
                            {pv1::PERMISSION_CUSTOMERS_WRITE}));
    authenticator_.SetScope(kNorthManager.id, Employee("regional_manager", 30, {"north-manager"},
                                                       {"北京", "天津", "河北"}, {}, {}));
    pv1::EffectiveScope partner =
        Employee("partner", 5, {}, {}, {"partner:acme-channel"}, {pv1::PERMISSION_CUSTOMERS_WRITE});
    partner.set_principal_kind(pv1::PRINCIPAL_KIND_PARTNER_USER);
    AddRule(partner, "contact_persons.phones", pv1::FIELD_ACCESS_MASKED, pv1::MASK_PATTERN_PHONE);
    AddRule(partner, "contact_persons.emails", pv1::FIELD_ACCESS_MASKED, pv1::MASK_PATTERN_EMAIL);
    authenticator_.SetScope(kPartner.id, partner);

    // Display names in pinyin order: a, bei, chun, da, e, fu.
    c1_ = Seed("阿尔法科技", "rep-li", "上海", v1::CUSTOMER_LEVEL_STANDARD, "13700001111",
               "zhao@example.com", "只在周一联系");
    c2_ = Seed("北方重工", "rep-wang", "北京", v1::CUSTOMER_LEVEL_STANDARD, "13700001111", "", "");
    c3_ = Seed("春风物流", "rep-zhou", "广州", v1::CUSTOMER_LEVEL_STANDARD, "", "zhao@example.com",
               "");
    c4_ = Seed("大华集团", "rep-zhou", "天津", v1::CUSTOMER_LEVEL_VIP, "", "", "");
    c5_ = Seed("鄂尔多斯煤业", "rep-wang", "河北", v1::CUSTOMER_LEVEL_STANDARD, "13812341234",
               "wang.wei@example.com", "");
    c6_ = Seed("福星贸易", "lead-zhao", "上海", v1::CUSTOMER_LEVEL_KEY, "13812341234",
               "li.na@example.com", "");
    Share(kTenant, c3_, {TeamShare(c3_, "east", /*edit=*/false)});
    Share(kTenant, c5_,
          {TeamShare(c5_, "east", /*edit=*/true), PartnerShare(c5_, "acme-channel", false)});
    Share(kTenant, c6_, {PartnerShare(c6_, "acme-channel", /*edit=*/true)});
  }

  std::string Seed(const std::string& name, const std::string& owner, const std::string& region,
                   v1::CustomerLevel level, const std::string& phone, const std::string& email,
                   const std::string& note) {
    v1::Customer c;
    c.set_kind(v1::CUSTOMER_KIND_ORGANIZATION);
    c.set_display_name(name);
    c.set_owner_id(owner);
    c.set_region(region);
    c.set_level(level);
    v1::ContactPerson* person = c.add_contact_persons();
    person->mutable_name()->set_formatted_name("王伟");
    if (!phone.empty()) person->add_phones()->set_number(phone);
    if (!email.empty()) person->add_emails()->set_address(email);
    person->set_note(note);
    return MustCreate(c, kAdmin).customer_id();
  }

  // Every customer `caller` lists, one per page, in display name order; fails the test if a
  // page is not full while more follow.
  std::vector<std::string> ListAll(const Caller& caller) {
    std::vector<std::string> ids;
    v1::ListCustomersRequest request;
    request.set_order(v1::CUSTOMER_ORDER_DISPLAY_NAME);
    request.set_page_size(1);
    for (int page = 0; page < 20; ++page) {
      v1::ListCustomersResponse response;
      const grpc::Status status = List(request, &response, caller);
      EXPECT_TRUE(status.ok()) << status.error_message();
      if (!status.ok()) break;
      const std::vector<std::string> page_ids = IdsOf(response.customers());
      ids.insert(ids.end(), page_ids.begin(), page_ids.end());
      if (response.next_page_token().empty()) break;
      EXPECT_THAT(page_ids, SizeIs(1)) << "a page short of page_size while more follow";
      request.set_page_token(response.next_page_token());
    }
    return ids;
  }

  // The pairs `caller` finds, as PairOf gives them.
  std::vector<std::string> Duplicates(const Caller& caller,
                                      v1::FindDuplicateCustomersResponse* out = nullptr) {
    v1::FindDuplicateCustomersResponse response;
    const grpc::Status status = FindDuplicates({}, &response, caller);
    EXPECT_TRUE(status.ok()) << status.error_message();
    std::vector<std::string> pairs;
    for (const v1::DuplicateCandidate& c : response.candidates()) {
      pairs.push_back(c.customer_id() + "+" + c.duplicate_customer_id());
    }
    if (out != nullptr) *out = response;
    return pairs;
  }

  // What asking for a customer that does not exist answers, with `id` in its place: the
  // answer for a customer the caller may not see must be exactly this.
  void ExpectAnsweredAsMissing(const grpc::Status& status, const std::string& id,
                               const grpc::Status& missing, const std::string& missing_id) {
    EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << status.error_message();
    std::string expected = missing.error_message();
    const size_t at = expected.find(missing_id);
    ASSERT_NE(at, std::string::npos) << expected;
    expected.replace(at, missing_id.size(), id);
    EXPECT_EQ(status.error_message(), expected);
    EXPECT_EQ(status.error_details(), missing.error_details());
  }

  v1::Customer Patch(const std::string& id) {
    v1::Customer patch;
    patch.set_customer_id(id);
    return patch;
  }

  std::string c1_, c2_, c3_, c4_, c5_, c6_;
};

TEST_F(ContactsEnforcementTest, RepSeesWhatTheyOwnAndWhatIsSharedWithTheirTeamOnly) {
  for (const std::string& id : {c1_, c3_, c5_}) {
    v1::Customer got;
    EXPECT_TRUE(Get(id, &got, kRep).ok()) << id;
    EXPECT_EQ(got.customer_id(), id);
  }
  const std::string missing = ids::NewUuid();
  const grpc::Status missing_status = Get(missing, nullptr, kRep);
  EXPECT_EQ(missing_status.error_message(), "customer " + missing + " not found");
  for (const std::string& id : {c2_, c4_, c6_}) {
    ExpectAnsweredAsMissing(Get(id, nullptr, kRep), id, missing_status, missing);
  }

  v1::BatchGetCustomersResponse batch;
  ASSERT_TRUE(BatchGet({c5_, c1_, c3_}, &batch, kRep).ok());
  EXPECT_THAT(IdsOf(batch.customers()), ElementsAre(c5_, c1_, c3_));
  const grpc::Status batch_missing = BatchGet({c1_, missing}, &batch, kRep);
  ExpectAnsweredAsMissing(BatchGet({c1_, c2_}, &batch, kRep), c2_, batch_missing, missing);

  EXPECT_THAT(ListAll(kRep), ElementsAre(c1_, c3_, c5_));
  EXPECT_THAT(ListAll(kAdmin), ElementsAre(c1_, c2_, c3_, c4_, c5_, c6_));
  // Filters combine with visibility.
  v1::ListCustomersRequest by_owner;
  by_owner.set_owner_id("rep-wang");
  v1::ListCustomersResponse listed;
  ASSERT_TRUE(List(by_owner, &listed, kRep).ok());
  EXPECT_THAT(IdsOf(listed.customers()), ElementsAre(c5_));

  // Both customers of a pair must be visible.
  EXPECT_THAT(Duplicates(kAdmin),
              UnorderedElementsAre(PairOf(c1_, c2_), PairOf(c1_, c3_), PairOf(c5_, c6_)));
  EXPECT_THAT(Duplicates(kRep), ElementsAre(PairOf(c1_, c3_)));
  v1::FindDuplicateCustomersRequest of_c5;
  of_c5.set_customer_id(c5_);
  v1::FindDuplicateCustomersResponse none;
  ASSERT_TRUE(FindDuplicates(of_c5, &none, kRep).ok());
  EXPECT_THAT(none.candidates(), IsEmpty());
}

TEST_F(ContactsEnforcementTest, ManagerSeesWhatTheirReportsOwnAtAnyDepthVipIncluded) {
  EXPECT_THAT(ListAll(kManager), ElementsAre(c1_, c3_, c4_, c6_));
  v1::Customer vip;
  ASSERT_TRUE(Get(c4_, &vip, kManager).ok());
  EXPECT_EQ(vip.level(), v1::CUSTOMER_LEVEL_VIP);
  EXPECT_EQ(Get(c5_, nullptr, kManager).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(Duplicates(kManager), ElementsAre(PairOf(c1_, c3_)));
}

TEST_F(ContactsEnforcementTest, TerritorySeesItsRegionsAndVipOnlyFromManagerRank) {
  // 天津 is in the territory, but 大华集团 is VIP and a rep ranks below 30.
  EXPECT_THAT(ListAll(kNorth), ElementsAre(c2_, c5_));
  EXPECT_EQ(Get(c4_, nullptr, kNorth).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(ListAll(kNorthManager), ElementsAre(c2_, c4_, c5_));
  v1::ListCustomersRequest vip_only;
  vip_only.add_levels(v1::CUSTOMER_LEVEL_VIP);
  v1::ListCustomersResponse listed;
  ASSERT_TRUE(List(vip_only, &listed, kNorth).ok());
  EXPECT_THAT(listed.customers(), IsEmpty());
  EXPECT_THAT(Duplicates(kNorth), IsEmpty());
}

TEST_F(ContactsEnforcementTest, PartnerSeesOnlySharedCustomersWithPhonesAndEmailsMasked) {
  EXPECT_THAT(ListAll(kPartner), ElementsAre(c5_, c6_));
  EXPECT_EQ(Get(c1_, nullptr, kPartner).error_code(), grpc::StatusCode::NOT_FOUND);

  const auto expect_masked = [](const v1::Customer& c) {
    ASSERT_THAT(c.contact_persons(), SizeIs(1));
    const v1::ContactPerson& person = c.contact_persons(0);
    ASSERT_THAT(person.phones(), SizeIs(1));
    // Stored in E.164: +86 then 138****1234.
    EXPECT_EQ(person.phones(0).number(), "+86138****1234");
    EXPECT_EQ(person.name().formatted_name(), "王伟");
  };
  v1::Customer got;
  ASSERT_TRUE(Get(c5_, &got, kPartner).ok());
  expect_masked(got);
  EXPECT_EQ(got.contact_persons(0).emails(0).address(), "w***@example.com");
  v1::Customer clear;
  ASSERT_TRUE(Get(c5_, &clear, kAdmin).ok());
  EXPECT_EQ(clear.contact_persons(0).phones(0).number(), "+8613812341234");
  EXPECT_EQ(clear.contact_persons(0).emails(0).address(), "wang.wei@example.com");

  v1::BatchGetCustomersResponse batch;
  ASSERT_TRUE(BatchGet({c6_, c5_}, &batch, kPartner).ok());
  ASSERT_THAT(batch.customers(), SizeIs(2));
  expect_masked(batch.customers(0));
  EXPECT_EQ(batch.customers(0).contact_persons(0).emails(0).address(), "l***@example.com");
  expect_masked(batch.customers(1));
  v1::ListCustomersResponse listed;
  ASSERT_TRUE(List({}, &listed, kPartner).ok());
  for (const v1::Customer& c : listed.customers()) expect_masked(c);

  v1::FindDuplicateCustomersResponse pairs;
  EXPECT_THAT(Duplicates(kPartner, &pairs), ElementsAre(PairOf(c5_, c6_)));
  ASSERT_THAT(pairs.candidates(0).matches(), SizeIs(1));
  EXPECT_EQ(pairs.candidates(0).matches(0).value(), "+86138****1234");

  // An EDIT share lets the partner change what its field policies allow; the answer is masked.
  v1::Customer patch = Patch(c6_);
  patch.set_industry("零售");
  v1::Customer updated;
  ASSERT_TRUE(Update(patch, {"industry"}, &updated, kPartner).ok());
  EXPECT_EQ(updated.industry(), "零售");
  expect_masked(updated);
  const grpc::Status phones = Update(Patch(c6_), {"contact_persons"}, nullptr, kPartner);
  EXPECT_EQ(phones.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(phones.error_message(), HasSubstr("contact_persons.phones"));
  // A READ share does not.
  v1::Customer read_only = Patch(c5_);
  read_only.set_industry("零售");
  const grpc::Status refused = Update(read_only, {"industry"}, nullptr, kPartner);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ReasonOf(refused), "CUSTOMER_NOT_WRITABLE");

  // A partner's new customer is shared with nobody yet, so it would be out of their reach.
  v1::Customer mine;
  mine.set_kind(v1::CUSTOMER_KIND_PERSON);
  mine.set_display_name("新客户");
  const grpc::Status created = Create(mine, nullptr, kPartner);
  EXPECT_EQ(created.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ReasonOf(created), "CUSTOMER_OUT_OF_REACH");
  EXPECT_THAT(created.error_message(), HasSubstr("owner_id"));
}

TEST_F(ContactsEnforcementTest, HiddenFieldNeverLeavesTheServiceYetIsKept) {
  const auto expect_no_note = [](const v1::Customer& c, const std::string& where) {
    ASSERT_THAT(c.contact_persons(), SizeIs(1)) << where;
    EXPECT_EQ(c.contact_persons(0).note(), "") << where;
    EXPECT_EQ(c.contact_persons(0).name().formatted_name(), "王伟") << where;
  };
  v1::Customer got;
  ASSERT_TRUE(Get(c1_, &got, kRep).ok());
  expect_no_note(got, "get");
  v1::BatchGetCustomersResponse batch;
  ASSERT_TRUE(BatchGet({c1_}, &batch, kRep).ok());
  expect_no_note(batch.customers(0), "batch get");
  v1::ListCustomersResponse listed;
  ASSERT_TRUE(List({}, &listed, kRep).ok());
  ASSERT_THAT(listed.customers(), SizeIs(3));
  for (const v1::Customer& c : listed.customers()) expect_no_note(c, "list");

  v1::Customer patch = Patch(c1_);
  patch.set_industry("制造业");
  v1::Customer updated;
  ASSERT_TRUE(Update(patch, {"industry"}, &updated, kRep).ok());
  expect_no_note(updated, "update");
  v1::Customer deleted, restored;
  ASSERT_TRUE(Delete(c1_, &deleted, kRep).ok());
  expect_no_note(deleted, "delete");
  ASSERT_TRUE(Undelete(c1_, &restored, kRep).ok());
  expect_no_note(restored, "undelete");

  // A hidden contact point is not told by a duplicate match either.
  pv1::EffectiveScope no_emails = Employee("support", 40, {}, {}, {}, {});
  no_emails.set_all_customers(true);
  AddRule(no_emails, "contact_persons.emails", pv1::FIELD_ACCESS_HIDDEN);
  authenticator_.SetScope("support", no_emails);
  const Caller support{kTenant, "support"};
  v1::FindDuplicateCustomersResponse pairs;
  ASSERT_THAT(Duplicates(support, &pairs), Contains(PairOf(c1_, c3_)));
  for (const v1::DuplicateCandidate& pair : pairs.candidates()) {
    for (const v1::DuplicateMatch& match : pair.matches()) {
      EXPECT_EQ(match.value().empty(), match.reason() == v1::DUPLICATE_REASON_SAME_EMAIL)
          << match.ShortDebugString();
    }
  }
  ASSERT_TRUE(Get(c5_, &got, support).ok());
  EXPECT_THAT(got.contact_persons(0).emails(), IsEmpty());
  EXPECT_THAT(got.contact_persons(0).phones(), SizeIs(1));

  // The note is still stored, shown to whom it is not hidden, and in the internal events.
  v1::Customer clear;
  ASSERT_TRUE(Get(c1_, &clear, kAdmin).ok());
  EXPECT_EQ(clear.contact_persons(0).note(), "只在周一联系");
  int updates = 0;
  const absl::Status read = pool_->Query([&](pqxx::nontransaction& txn) {
    for (const pqxx::row& row :
         txn.exec("SELECT envelope FROM outbox WHERE topic = 'customers' AND "
                  "event_type = 'touchline.events.v1.CustomerUpdated'")) {
      events::v1::EventEnvelope envelope;
      EXPECT_TRUE(envelope.ParseFromString(pqxx::binarystring(row[0]).str()));
      events::v1::CustomerUpdated event;
      EXPECT_TRUE(envelope.payload().UnpackTo(&event));
      EXPECT_EQ(event.customer().contact_persons(0).note(), "只在周一联系");
      ++updates;
    }
    return absl::OkStatus();
  });
  ASSERT_TRUE(read.ok()) << read;
  EXPECT_EQ(updates, 1);
}

TEST_F(ContactsEnforcementTest, WritingAReadOnlyFieldIsPermissionDeniedNamingIt) {
  v1::Customer patch = Patch(c1_);
  patch.set_level(v1::CUSTOMER_LEVEL_KEY);
  for (const std::string path : {"level", "*"}) {
    const grpc::Status status = Update(patch, {path}, nullptr, kRep);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << path;
    EXPECT_EQ(status.error_message(), "field level is read-only for role rep") << path;
    EXPECT_EQ(ReasonOf(status), "FIELD_NOT_WRITABLE") << path;
  }
  v1::Customer c1;
  ASSERT_TRUE(Get(c1_, &c1, kAdmin).ok());
  EXPECT_EQ(c1.level(), v1::CUSTOMER_LEVEL_STANDARD);
  EXPECT_EQ(c1.etag(), "1");

  v1::Customer with_level;
  with_level.set_kind(v1::CUSTOMER_KIND_PERSON);
  with_level.set_display_name("李娜");
  with_level.set_level(v1::CUSTOMER_LEVEL_KEY);
  const grpc::Status create = Create(with_level, nullptr, kRep);
  EXPECT_EQ(create.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(create.error_message(), "field level is read-only for role rep");
  // Writing a hidden field is refused alike.
  v1::Customer with_note = with_level;
  with_note.clear_level();
  with_note.add_contact_persons()->set_note("备注");
  EXPECT_EQ(Create(with_note, nullptr, kRep).error_message(),
            "field contact_persons.note is hidden for role rep");
}

TEST_F(ContactsEnforcementTest, AnInvisibleCustomerIsNotFoundExactlyAsAMissingOne) {
  const std::string missing = ids::NewUuid();
  v1::Customer patch = Patch(missing);
  patch.set_industry("零售");
  const grpc::Status update_missing = Update(patch, {"industry"}, nullptr, kRep);
  patch.set_customer_id(c2_);
  ExpectAnsweredAsMissing(Update(patch, {"industry"}, nullptr, kRep), c2_, update_missing, missing);
  ExpectAnsweredAsMissing(Delete(c2_, nullptr, kRep), c2_, Delete(missing, nullptr, kRep), missing);
  ExpectAnsweredAsMissing(Undelete(c4_, nullptr, kNorth), c4_, Undelete(missing, nullptr, kNorth),
                          missing);

  v1::MergeCustomersRequest merge;
  merge.set_survivor_customer_id(c1_);
  merge.set_merged_customer_id(missing);
  v1::MergeCustomersResponse merged;
  const grpc::Status merge_missing = Merge(merge, &merged, kManager);
  merge.set_merged_customer_id(c2_);
  ExpectAnsweredAsMissing(Merge(merge, &merged, kManager), c2_, merge_missing, missing);

  v1::Customer c2;
  ASSERT_TRUE(Get(c2_, &c2, kAdmin).ok());
  EXPECT_EQ(c2.etag(), "1");
  EXPECT_EQ(c2.state(), v1::CUSTOMER_STATE_ACTIVE);
}

TEST_F(ContactsEnforcementTest, AReadShareCannotWriteButAnEditShareCan) {
  v1::Customer patch = Patch(c3_);
  patch.set_industry("物流");
  const grpc::Status refused = Update(patch, {"industry"}, nullptr, kRep);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(refused.error_message(), "you may see customer " + c3_ + " but not change it");
  EXPECT_EQ(Delete(c3_, nullptr, kRep).error_code(), grpc::StatusCode::PERMISSION_DENIED);

  patch.set_customer_id(c5_);
  v1::Customer updated;
  ASSERT_TRUE(Update(patch, {"industry"}, &updated, kRep).ok());
  EXPECT_EQ(updated.industry(), "物流");
  EXPECT_EQ(updated.etag(), "2");
}

// Every write path of the service: a READ share refuses each with PERMISSION_DENIED (the
// customer is visible), and leaves the customer as it was.
TEST_F(ContactsEnforcementTest, AReadShareRefusesEveryWritePath) {
  pv1::EffectiveScope merger =
      Employee("partner_merger", 5, {}, {}, {"partner:acme-channel"},
               {pv1::PERMISSION_CUSTOMERS_WRITE, pv1::PERMISSION_CUSTOMERS_MERGE});
  merger.set_principal_kind(pv1::PRINCIPAL_KIND_PARTNER_USER);
  authenticator_.SetScope("partner-bob", merger);
  const Caller bob{kTenant, "partner-bob"};
  const auto expect_not_writable = [&](const grpc::Status& status, const std::string& what) {
    EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << what;
    EXPECT_EQ(status.error_message(), "you may see customer " + c5_ + " but not change it") << what;
    EXPECT_EQ(ReasonOf(status), "CUSTOMER_NOT_WRITABLE") << what;
  };
  // c5 is shared with acme-channel for reading, c6 for editing.
  ASSERT_TRUE(Get(c5_, nullptr, bob).ok());
  v1::Customer patch = Patch(c5_);
  patch.set_industry("物流");
  expect_not_writable(Update(patch, {"industry"}, nullptr, bob), "update");
  expect_not_writable(Delete(c5_, nullptr, bob), "delete");
  v1::MergeCustomersRequest merge;
  merge.set_survivor_customer_id(c6_);
  merge.set_merged_customer_id(c5_);
  expect_not_writable(Merge(merge, nullptr, bob), "merge into an editable customer");
  merge.set_survivor_customer_id(c5_);
  merge.set_merged_customer_id(c6_);
  expect_not_writable(Merge(merge, nullptr, bob), "merge an editable customer into it");
  ASSERT_TRUE(Delete(c5_, nullptr, kAdmin).ok());
  expect_not_writable(Undelete(c5_, nullptr, bob), "undelete");
  v1::Customer c5;
  ASSERT_TRUE(Get(c5_, &c5, kAdmin).ok());
  EXPECT_EQ(c5.state(), v1::CUSTOMER_STATE_DELETED);
  EXPECT_EQ(c5.industry(), "");
  EXPECT_EQ(c5.etag(), "2");
  // Through the EDIT share every write goes through.
  patch.set_customer_id(c6_);
  ASSERT_TRUE(Update(patch, {"industry"}, nullptr, bob).ok());
  ASSERT_TRUE(Delete(c6_, nullptr, bob).ok());
  ASSERT_TRUE(Undelete(c6_, nullptr, bob).ok());
}

// The owner and those the owner reports to keep a customer marked VIP; a territory below
// rank 30 does not see it.
TEST_F(ContactsEnforcementTest, MarkingACustomerVipKeepsItsOwnersLineInReach) {
  v1::Customer patch = Patch(c1_);
  patch.set_level(v1::CUSTOMER_LEVEL_VIP);
  ASSERT_TRUE(Update(patch, {"level"}, nullptr, kManager).ok());
  v1::Customer vip;
  ASSERT_TRUE(Get(c1_, &vip, kRep).ok());
  EXPECT_EQ(vip.level(), v1::CUSTOMER_LEVEL_VIP);
  EXPECT_THAT(ListAll(kRep), Contains(c1_));
  patch.set_industry("物流");
  ASSERT_TRUE(Update(patch, {"industry"}, &vip, kRep).ok());
  EXPECT_EQ(vip.industry(), "物流");
  // A territory member of rank 10 sees 天津's customers, but not the VIP 大华集团 owned by
  // someone else; once it is theirs, they do.
  EXPECT_EQ(Get(c4_, nullptr, kNorth).error_code(), grpc::StatusCode::NOT_FOUND);
  patch = Patch(c4_);
  patch.set_owner_id("north-rep");
  ASSERT_TRUE(Update(patch, {"owner_id"}, nullptr, kAdmin).ok());
  EXPECT_TRUE(Get(c4_, nullptr, kNorth).ok());
}

TEST_F(ContactsEnforcementTest, NobodyCreatesOrMovesACustomerOutOfTheirReach) {
  v1::Customer mine;
  mine.set_kind(v1::CUSTOMER_KIND_PERSON);
  mine.set_display_name("王小明");
  v1::Customer created;
  ASSERT_TRUE(Create(mine, &created, kRep).ok());
  EXPECT_EQ(created.owner_id(), "rep-li");
  EXPECT_TRUE(Get(created.customer_id(), nullptr, kRep).ok());

  v1::Customer theirs = mine;
  theirs.set_owner_id("rep-wang");
  theirs.set_region("华东");
  const grpc::Status refused = Create(theirs, nullptr, kRep);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(refused.error_message(),
            "owner_id \"rep-wang\" and region \"华东\" would put the customer out of your reach: "
            "choose an owner_id or region you may write");
  EXPECT_EQ(ReasonOf(refused), "CUSTOMER_OUT_OF_REACH");

  // A territory rep may create for anyone within the territory's regions, but not a VIP.
  v1::Customer in_territory = theirs;
  in_territory.set_region("北京");
  ASSERT_TRUE(Create(in_territory, &created, kNorth).ok());
  EXPECT_EQ(created.owner_id(), "rep-wang");
  in_territory.set_level(v1::CUSTOMER_LEVEL_VIP);
  const grpc::Status vip = Create(in_territory, nullptr, kNorth);
  EXPECT_EQ(vip.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(vip.error_message(), HasSubstr("level VIP"));

  // Handing one's customer to someone out of reach is refused and changes nothing.
  v1::Customer patch = Patch(c1_);
  patch.set_owner_id("rep-wang");
  EXPECT_EQ(ReasonOf(Update(patch, {"owner_id"}, nullptr, kRep)), "CUSTOMER_OUT_OF_REACH");
  v1::Customer c1;
  ASSERT_TRUE(Get(c1_, &c1, kRep).ok());
  EXPECT_EQ(c1.owner_id(), "rep-li");
  // Within the manager's reach it is fine.
  patch.set_owner_id("rep-zhou");
  ASSERT_TRUE(Update(patch, {"owner_id"}, &c1, kManager).ok());
  EXPECT_EQ(c1.owner_id(), "rep-zhou");

  // A role without PERMISSION_CUSTOMERS_WRITE creates nothing.
  const grpc::Status read_only = Create(mine, nullptr, kNorthManager);
  EXPECT_EQ(read_only.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ReasonOf(read_only), "MISSING_PERMISSION");
}

TEST_F(ContactsEnforcementTest, MergeNeedsTheMergePermissionAndWriteAccessToBoth) {
  v1::MergeCustomersRequest request;
  request.set_survivor_customer_id(c1_);
  request.set_merged_customer_id(c3_);
  v1::MergeCustomersResponse response;
  const grpc::Status rep = Merge(request, &response, kRep);
  EXPECT_EQ(rep.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(rep.error_message(), "role rep does not grant PERMISSION_CUSTOMERS_MERGE");

  ASSERT_TRUE(Merge(request, &response, kManager).ok());
  EXPECT_EQ(response.survivor().customer_id(), c1_);
  v1::Customer merged;
  ASSERT_TRUE(Get(c3_, &merged, kManager).ok());
  EXPECT_EQ(merged.state(), v1::CUSTOMER_STATE_MERGED);

  // The merge is not the rep's to undo, and does not exist for someone who sees neither.
  v1::UnmergeCustomersResponse restored;
  EXPECT_EQ(Unmerge(response.merge().merge_id(), &restored, kRep).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  pv1::EffectiveScope outsider =
      Employee("outsider", 40, {"nobody"}, {}, {},
               {pv1::PERMISSION_CUSTOMERS_WRITE, pv1::PERMISSION_CUSTOMERS_MERGE});
  authenticator_.SetScope("outsider", outsider);
  const grpc::Status unseen =
      Unmerge(response.merge().merge_id(), &restored, Caller{kTenant, "outsider"});
  EXPECT_EQ(unseen.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(unseen.error_message(), "merge " + response.merge().merge_id() + " not found");
  ASSERT_TRUE(Unmerge(response.merge().merge_id(), &restored, kManager).ok());
  EXPECT_EQ(restored.restored().state(), v1::CUSTOMER_STATE_ACTIVE);
  // Nor does it, once undone, tell the outsider that it was.
  EXPECT_EQ(
      Unmerge(response.merge().merge_id(), &restored, Caller{kTenant, "outsider"}).error_message(),
      unseen.error_message());
  EXPECT_EQ(Unmerge(response.merge().merge_id(), &restored, kManager).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(ContactsEnforcementTest, TenantsNeverSeeEachOther) {
  // A share granted in another tenant to a team of the same name grants nothing here.
  Share("tenant-b", c2_, {TeamShare(c2_, "east", /*edit=*/true)});
  EXPECT_EQ(Get(c2_, nullptr, kRep).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(ListAll(kRep), ElementsAre(c1_, c3_, c5_));

  const Caller other_admin = AdminOf("tenant-b");
  EXPECT_EQ(Get(c1_, nullptr, other_admin).error_code(), grpc::StatusCode::NOT_FOUND);
  v1::BatchGetCustomersResponse batch;
  EXPECT_EQ(BatchGet({c1_}, &batch, other_admin).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(ListAll(other_admin), IsEmpty());
  EXPECT_THAT(Duplicates(other_admin), IsEmpty());
  v1::Customer patch = Patch(c1_);
  patch.set_industry("零售");
  EXPECT_EQ(Update(patch, {"industry"}, nullptr, other_admin).error_code(),
            grpc::StatusCode::NOT_FOUND);
  // The same caller id in another tenant acts with that tenant's scope only.
  const Caller rep_elsewhere{"tenant-b", kRep.id};
  EXPECT_THAT(ListAll(rep_elsewhere), IsEmpty());
}

TEST_F(ContactsEnforcementTest, ChangesAreAuditedDurablyAndSensitiveReadsReported) {
  std::vector<pv1::AuditEvent> changes = OutboxAudit();
  ASSERT_THAT(changes, SizeIs(6));
  EXPECT_EQ(changes[0].action(), "customer.created");
  EXPECT_EQ(changes[0].resource_type(), "customer");
  EXPECT_EQ(changes[0].resource_id(), c1_);
  EXPECT_EQ(changes[0].actor_id(), kAdmin.id);
  EXPECT_THAT(changes[0].fields(),
              ElementsAre("kind", "display_name", "region", "level", "lifecycle_status", "owner_id",
                          "contact_persons.name", "contact_persons.phones",
                          "contact_persons.emails", "contact_persons.note"));

  v1::Customer patch = Patch(c5_);
  patch.set_industry("能源");
  patch.set_region("河北");  // Unchanged: not a change.
  ASSERT_TRUE(Update(patch, {"industry", "region"}, nullptr, kRep).ok());
  ASSERT_TRUE(Delete(c1_, nullptr, kRep).ok());
  // A refused write leaves no entry.
  EXPECT_FALSE(Update(Patch(c2_), {"industry"}, nullptr, kRep).ok());
  changes = OutboxAudit();
  ASSERT_THAT(changes, SizeIs(8));
  EXPECT_EQ(changes[6].action(), "customer.updated");
  EXPECT_EQ(changes[6].resource_id(), c5_);
  EXPECT_EQ(changes[6].actor_id(), kRep.id);
  EXPECT_THAT(changes[6].fields(), ElementsAre("industry"));
  EXPECT_EQ(changes[7].action(), "customer.deleted");
  EXPECT_EQ(changes[7].resource_id(), c1_);

  // Reads: one entry per response, naming the sensitive fields shown: contact points, and for
  // the rep the level, which a rule of their role restricts.
  ASSERT_TRUE(Get(c3_, nullptr, kRep).ok());
  v1::ListCustomersResponse listed;
  ASSERT_TRUE(List({}, &listed, kRep).ok());
  ASSERT_TRUE(Get(c4_, nullptr, kManager).ok());  // No phone, email or address: not reported.
  const std::vector<pv1::AuditEvent> reads = PublishedAudit();
  ASSERT_THAT(reads, SizeIs(2));
  EXPECT_EQ(reads[0].action(), "customer.read_sensitive");
  EXPECT_EQ(reads[0].resource_id(), c3_);
  EXPECT_EQ(reads[0].actor_id(), kRep.id);
  EXPECT_THAT(reads[0].fields(), ElementsAre("contact_persons.emails", "level"));
  EXPECT_EQ(reads[1].resource_id(), "");
  EXPECT_THAT(reads[1].fields(),
              ElementsAre("contact_persons.emails", "contact_persons.phones", "level"));
  EXPECT_EQ(reads[1].detail(), "customers " + std::min(c3_, c5_) + "," + std::max(c3_, c5_));
  EXPECT_THAT(reads[1].detail(), Not(HasSubstr(c1_)));  // Deleted: not listed.
}

TEST_F(ContactsEnforcementTest, ACallWithoutAScopeIsAWiringBug) {
  const auth::RequestContext unscoped{.tenant_id = kTenant,
                                      .caller_id = "user-1",
                                      .request_id = "r",
                                      .scope = nullptr,
                                      .client = ""};
  const absl::StatusOr<std::vector<v1::Customer>> batch = manager_->BatchGet(unscoped, {c1_});
  EXPECT_EQ(batch.status(), absl::InternalError("no scope"));
  const absl::StatusOr<ListResult> list = manager_->List(unscoped, CustomerQuery{}, "");
  EXPECT_EQ(list.status(), absl::InternalError("no scope"));
  Customer patch;
  patch.customer_id = c1_;
  patch.industry = "零售";
  EXPECT_EQ(manager_->Update(unscoped, patch, "", {"industry"}).status(),
            absl::InternalError("no scope"));
  EXPECT_THAT(OutboxAudit(), SizeIs(6));
}

}  // namespace
}  // namespace touchline::contacts
