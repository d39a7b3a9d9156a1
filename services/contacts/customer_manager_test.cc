// CustomerManager against the in-memory store (no PostgreSQL): its rules, permission checks,
// field disclosure and batching. What the store itself does on PostgreSQL is in
// pg_customer_store_pgtest; the service end to end in contacts_*_pgtest.
#include "services/contacts/customer_manager.h"

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/synchronization/notification.h"
#include "common/audit/audit.h"
#include "common/auth/scope.h"
#include "common/auth/testing/trusted_authenticator.h"
#include "common/redis/pool.h"
#include "common/status/errors.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/contacts/testing/in_memory_customer_store.h"
#include "tests/testing/status_matchers.h"

namespace touchline::contacts {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;
using ::touchline::testing::StatusIs;
namespace pv1 = ::touchline::permissions::v1;

constexpr char kTenant[] = "acme";
constexpr char kPoison[] = "毒药";

// Forwards to the in-memory store, except that CreateMany holds its first batch until
// released and refuses, as a whole, any batch holding a customer named kPoison.
class RefusingStore final : public CustomerStore {
 public:
  explicit RefusingStore(CustomerStore* store) : store_(store) {}

  absl::Notification first_batch_started;
  absl::Notification release_first_batch;
  std::vector<size_t> batch_sizes;

  absl::StatusOr<std::vector<absl::StatusOr<Customer>>> CreateMany(
      const std::vector<NewCustomer>& customers) override {
    if (!first_batch_started.HasBeenNotified()) {
      first_batch_started.Notify();
      release_first_batch.WaitForNotification();
    }
    batch_sizes.push_back(customers.size());
    for (const NewCustomer& c : customers) {
      if (c.customer.display_name == kPoison) return absl::InternalError("refused");
    }
    return store_->CreateMany(customers);
  }
  absl::StatusOr<std::vector<Customer>> BatchGet(std::string_view tenant_id,
                                                 const auth::Scope& scope,
                                                 const std::vector<std::string>& ids) override {
    return store_->BatchGet(tenant_id, scope, ids);
  }
  absl::StatusOr<CustomerPage> List(std::string_view tenant_id, const auth::Scope& scope,
                                    const CustomerQuery& query,
                                    const std::optional<CustomerCursor>& after) override {
    return store_->List(tenant_id, scope, query, after);
  }
  absl::StatusOr<Customer> Mutate(const WriteContext& context, std::string_view id,
                                  const Mutation& mutate,
                                  const std::optional<IdempotencyKey>& key) override {
    return store_->Mutate(context, id, mutate, key);
  }
  absl::StatusOr<MergeOutcome> Merge(const WriteContext& context, std::string_view survivor_id,
                                     std::string_view merged_id, const Fold& fold,
                                     const std::optional<IdempotencyKey>& key) override {
    return store_->Merge(context, survivor_id, merged_id, fold, key);
  }
  absl::StatusOr<MergeOutcome> Unmerge(const WriteContext& context, std::string_view merge_id,
                                       const Vet& vet) override {
    return store_->Unmerge(context, merge_id, vet);
  }
  absl::StatusOr<DuplicatePage> FindDuplicates(
      std::string_view tenant_id, const auth::Scope& scope, std::string_view customer_id,
      int page_size, const std::optional<DuplicateCursor>& after) override {
    return store_->FindDuplicates(tenant_id, scope, customer_id, page_size, after);
  }
  absl::StatusOr<std::vector<CustomerSnapshot>> ListSnapshots(
      const std::optional<SnapshotPosition>& after, int limit) override {
    return store_->ListSnapshots(after, limit);
  }

 private:
  CustomerStore* store_;
};

// Collects the result of one asynchronous call.
struct Outcome {
  absl::Notification done;
  absl::StatusOr<v1::Customer> result = absl::UnknownError("not done");
  CustomerManager::CustomerCallback Callback() {
    return [this](absl::StatusOr<v1::Customer> r) {
      result = std::move(r);
      done.Notify();
    };
  }
};

// An organisation; with a phone, one contact person with it, and owned by the rep (whose
// policies keep them from writing phones: an administrator creates it for them).
Customer Organization(const std::string& name, const std::string& phone = "") {
  Customer c;
  c.kind = CustomerKind::kOrganization;
  c.display_name = name;
  if (!phone.empty()) c.owner_id = "rep-li";
  if (!phone.empty()) {
    ContactPerson person;
    person.name.formatted_name = "张伟";
    person.phones.push_back({.number = phone, .kind = ContactPointKind::kMobile, .primary = true});
    c.contact_persons.push_back(person);
  }
  return c;
}

auth::RequestContext CallerWith(pv1::EffectiveScope scope) {
  auto compiled = auth::Scope::Compile(std::move(scope));
  EXPECT_TRUE(compiled.ok()) << compiled.status();
  return auth::RequestContext{.tenant_id = kTenant,
                              .caller_id = compiled.ok() ? (*compiled)->user_id() : "",
                              .request_id = "r1",
                              .scope = compiled.ok() ? *compiled : nullptr,
                              .client = "test"};
}

// A rep who sees only their own customers and may not see phones.
pv1::EffectiveScope RepScope() {
  pv1::EffectiveScope scope = auth::testing::AdminScope(kTenant, "rep-li");
  scope.set_role_id("rep");
  scope.set_rank(10);
  scope.set_all_customers(false);
  scope.set_vip_visible(false);
  scope.add_owner_ids("rep-li");
  *scope.add_field_rules() = auth::testing::FieldRuleOf(
      auth::kCustomerResource, "contact_persons.phones", pv1::FIELD_ACCESS_HIDDEN);
  return scope;
}

class CustomerManagerTest : public ::testing::Test {
 protected:
  CustomerManagerTest() {
    // Never started and never reachable: Publish only queues, which is what is counted.
    auto redis = redis::Pool::Create({.host = "127.0.0.1", .port = 1, .pool_size = 1});
    EXPECT_TRUE(redis.ok()) << redis.status();
    redis_ = *std::move(redis);
    auto audit = audit::AuditPublisher::Create({}, redis_.get());
    EXPECT_TRUE(audit.ok()) << audit.status();
    audit_ = *std::move(audit);
  }

  std::unique_ptr<CustomerManager> Manager(CustomerStore* store, BatchOptions batching = {}) {
    return std::make_unique<CustomerManager>(
        store, audit_.get(), CustomerValidator({}),
        paging::PageTokens(std::string(paging::kTokenKeyBytes, 'k')),
        [this] { return now_ += absl::Seconds(1); }, batching);
  }

  v1::Customer MustCreate(CustomerManager& manager, const auth::RequestContext& caller,
                          Customer customer, const std::optional<IdempotencyKey>& key = {}) {
    Outcome outcome;
    manager.Create(caller, std::move(customer), key, outcome.Callback());
    outcome.done.WaitForNotification();
    EXPECT_TRUE(outcome.result.ok()) << outcome.result.status();
    return outcome.result.value_or(v1::Customer());
  }

  absl::StatusOr<v1::Customer> Get(CustomerManager& manager, const auth::RequestContext& caller,
                                   const std::string& id) {
    Outcome outcome;
    manager.Get(caller, id, outcome.Callback());
    outcome.done.WaitForNotification();
    return outcome.result;
  }

  absl::Time now_ = absl::FromUnixSeconds(1800000000);
  std::unique_ptr<redis::Pool> redis_;
  std::unique_ptr<audit::AuditPublisher> audit_;
  testing::InMemoryCustomerStore store_;
  const auth::RequestContext admin_ = CallerWith(auth::testing::AdminScope(kTenant, "admin-1"));
  const auth::RequestContext rep_ = CallerWith(RepScope());
};

TEST_F(CustomerManagerTest, ACreateTheDatabaseRefusesFailsAloneNotItsWholeBatch) {
  RefusingStore store(&store_);
  Outcome first, poison, innocent;
  {
    const auto manager =
        Manager(&store, {.read_threads = 1, .write_threads = 1, .max_batch = 128, .max_queue = 16});
    manager->Create(admin_, Organization("第一家"), std::nullopt, first.Callback());
    store.first_batch_started.WaitForNotification();
    // Both queue behind the held batch, so the writer takes them together.
    manager->Create(admin_, Organization(kPoison), std::nullopt, poison.Callback());
    manager->Create(admin_, Organization("无辜的"), std::nullopt, innocent.Callback());
    store.release_first_batch.Notify();
    first.done.WaitForNotification();
    poison.done.WaitForNotification();
    innocent.done.WaitForNotification();
  }
  TL_EXPECT_OK(first.result);
  EXPECT_THAT(poison.result, StatusIs(absl::StatusCode::kInternal));
  TL_ASSERT_OK(innocent.result);
  EXPECT_EQ(innocent.result->display_name(), "无辜的");
  // The held batch, the shared batch that was refused, then each of its two alone.
  EXPECT_EQ(store.batch_sizes, (std::vector<size_t>{1, 2, 1, 1}));
}

TEST_F(CustomerManagerTest, ANewCustomerIsItsEmployeesAndOthersCannotSeeIt) {
  const auto manager = Manager(&store_);
  const v1::Customer mine = MustCreate(*manager, rep_, Organization("腾飞科技"));
  EXPECT_EQ(mine.owner_id(), "rep-li");
  EXPECT_EQ(mine.etag(), "1");
  const v1::Customer theirs = MustCreate(*manager, admin_, Organization("华为"));
  EXPECT_EQ(theirs.owner_id(), "admin-1");
  TL_EXPECT_OK(Get(*manager, rep_, mine.customer_id()));
  // Not the rep's: not found, in the words of a customer that does not exist.
  EXPECT_THAT(
      Get(*manager, rep_, theirs.customer_id()),
      StatusIs(absl::StatusCode::kNotFound, "customer " + theirs.customer_id() + " not found"));
  EXPECT_THAT(manager->BatchGet(rep_, {mine.customer_id(), theirs.customer_id()}).status(),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(CustomerManagerTest, ReadsAreDisclosedThroughFieldPoliciesAndAuditedOncePerResponse) {
  const auto manager = Manager(&store_);
  const v1::Customer created =
      MustCreate(*manager, admin_, Organization("腾飞科技", "+8613800138000"));
  // What a write returns to its writer is no read to audit.
  EXPECT_EQ(created.contact_persons(0).phones(0).number(), "+8613800138000");
  EXPECT_EQ(audit_->queued(), 0u);

  TL_ASSERT_OK_AND_ASSIGN(const v1::Customer as_admin,
                          Get(*manager, admin_, created.customer_id()));
  EXPECT_EQ(as_admin.contact_persons(0).phones(0).number(), "+8613800138000");
  EXPECT_EQ(audit_->queued(), 1u);  // The phone, shown in clear.
  TL_ASSERT_OK_AND_ASSIGN(const v1::Customer as_rep, Get(*manager, rep_, created.customer_id()));
  EXPECT_THAT(as_rep.contact_persons(0).phones(), IsEmpty());
  EXPECT_EQ(audit_->queued(), 1u);  // Nothing sensitive shown.

  MustCreate(*manager, admin_, Organization("华为", "+8613900139000"));
  TL_ASSERT_OK_AND_ASSIGN(const ListResult listed, manager->List(admin_, CustomerQuery{}, ""));
  ASSERT_EQ(listed.customers.size(), 2u);
  TL_ASSERT_OK_AND_ASSIGN(const ListResult for_rep, manager->List(rep_, CustomerQuery{}, ""));
  ASSERT_EQ(for_rep.customers.size(), 2u);
  EXPECT_THAT(for_rep.customers[0].contact_persons(0).phones(), IsEmpty());
  EXPECT_EQ(listed.customers.size(), 2u);
  EXPECT_EQ(audit_->queued(), 2u);  // One entry for the whole page.
}

TEST_F(CustomerManagerTest, AnUpdateWithAKeyIsAppliedOnceAndItsKeyOnlyWhenApplied) {
  const auto manager = Manager(&store_);
  const v1::Customer created = MustCreate(*manager, rep_, Organization("腾飞科技"));
  Customer patch;
  patch.customer_id = created.customer_id();
  patch.industry = "制造业";
  const IdempotencyKey key{.request_id = "r1", .method = "UpdateCustomer", .fingerprint = "f1"};
  // Refused (stale etag): the key stays unused.
  EXPECT_THAT(manager->Update(rep_, patch, "9", {"industry"}, key).status(),
              StatusIs(absl::StatusCode::kAborted));
  TL_ASSERT_OK_AND_ASSIGN(const v1::Customer updated,
                          manager->Update(rep_, patch, created.etag(), {"industry"}, key));
  EXPECT_EQ(updated.etag(), "2");
  TL_ASSERT_OK_AND_ASSIGN(const v1::Customer replayed,
                          manager->Update(rep_, patch, created.etag(), {"industry"}, key));
  EXPECT_EQ(replayed.etag(), "2");
  IdempotencyKey other = key;
  other.fingerprint = "f2";
  EXPECT_THAT(manager->Update(rep_, patch, "2", {"industry"}, other).status(),
              StatusIs(absl::StatusCode::kAlreadyExists));
}

TEST_F(CustomerManagerTest, UpdatesCheckTheEtagThePermissionAndTheFieldPolicies) {
  const auto manager = Manager(&store_);
  const v1::Customer created = MustCreate(*manager, rep_, Organization("腾飞科技"));
  Customer patch;
  patch.customer_id = created.customer_id();
  patch.industry = "制造业";
  TL_ASSERT_OK_AND_ASSIGN(const v1::Customer updated,
                          manager->Update(rep_, patch, created.etag(), {"industry"}));
  EXPECT_EQ(updated.industry(), "制造业");
  EXPECT_EQ(updated.etag(), "2");
  EXPECT_THAT(manager->Update(rep_, patch, created.etag(), {"industry"}).status(),
              StatusIs(absl::StatusCode::kAborted));
  EXPECT_THAT(manager->Update(rep_, patch, "", {"contact_persons.phones"}).status(),
              StatusIs(absl::StatusCode::kPermissionDenied));
  pv1::EffectiveScope viewer = RepScope();
  viewer.clear_permissions();  // Sees, may not write.
  EXPECT_THAT(manager->Update(CallerWith(viewer), patch, "", {"industry"}).status(),
              StatusIs(absl::StatusCode::kPermissionDenied));
  TL_ASSERT_OK_AND_ASSIGN(const v1::Customer deleted,
                          manager->Delete(rep_, created.customer_id(), ""));
  EXPECT_EQ(deleted.state(), v1::CUSTOMER_STATE_DELETED);
  EXPECT_THAT(manager->Update(rep_, patch, "", {"industry"}).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_F(CustomerManagerTest, ARetryReplaysItsCreateAndAReusedRequestIdIsRefused) {
  const auto manager = Manager(&store_);
  const IdempotencyKey key{.request_id = "req-1", .method = "CreateCustomer", .fingerprint = "f1"};
  const v1::Customer first = MustCreate(*manager, rep_, Organization("腾飞科技"), key);
  const v1::Customer again = MustCreate(*manager, rep_, Organization("腾飞科技"), key);
  EXPECT_EQ(again.customer_id(), first.customer_id());
  Outcome other;
  manager->Create(
      rep_, Organization("华为"),
      IdempotencyKey{.request_id = "req-1", .method = "CreateCustomer", .fingerprint = "f2"},
      other.Callback());
  other.done.WaitForNotification();
  EXPECT_THAT(other.result, StatusIs(absl::StatusCode::kAlreadyExists));
}

TEST_F(CustomerManagerTest, ListPagesThroughWhatTheCallerSees) {
  const auto manager = Manager(&store_);
  for (const char* name : {"甲", "乙", "丙"}) MustCreate(*manager, rep_, Organization(name));
  MustCreate(*manager, admin_, Organization("丁"));
  CustomerQuery query;
  query.order = CustomerOrder::kCreateTimeDesc;
  query.page_size = 2;
  TL_ASSERT_OK_AND_ASSIGN(const ListResult first, manager->List(rep_, query, ""));
  ASSERT_EQ(first.customers.size(), 2u);
  EXPECT_EQ(first.customers[0].display_name(), "丙");
  EXPECT_EQ(first.customers[1].display_name(), "乙");
  ASSERT_FALSE(first.next_page_token.empty());
  TL_ASSERT_OK_AND_ASSIGN(const ListResult second,
                          manager->List(rep_, query, first.next_page_token));
  ASSERT_EQ(second.customers.size(), 1u);
  EXPECT_EQ(second.customers[0].display_name(), "甲");
  EXPECT_EQ(second.next_page_token, "");
  // A token is for the query that returned it.
  query.region = "华南";
  EXPECT_THAT(manager->List(rep_, query, first.next_page_token).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(CustomerManagerTest, DuplicatesShowTheMatchedValueAsTheFieldIsShown) {
  const auto manager = Manager(&store_);
  const v1::Customer a = MustCreate(*manager, admin_, Organization("腾飞科技", "+8613800138000"));
  const v1::Customer b = MustCreate(*manager, admin_, Organization("飞腾贸易", "+8613800138000"));
  TL_ASSERT_OK_AND_ASSIGN(const DuplicatesResult for_admin,
                          manager->FindDuplicates(admin_, "", 0, ""));
  ASSERT_EQ(for_admin.pairs.size(), 1u);
  EXPECT_EQ(for_admin.pairs[0].customer_id, std::min(a.customer_id(), b.customer_id()));
  ASSERT_EQ(for_admin.pairs[0].matches.size(), 1u);
  EXPECT_EQ(for_admin.pairs[0].matches[0].value, "+8613800138000");
  EXPECT_EQ(audit_->queued(), 1u);
  // The rep may not see phones: the pair is there, the number is not.
  TL_ASSERT_OK_AND_ASSIGN(const DuplicatesResult for_rep, manager->FindDuplicates(rep_, "", 0, ""));
  ASSERT_EQ(for_rep.pairs.size(), 1u);
  EXPECT_EQ(for_rep.pairs[0].matches[0].value, "");
  EXPECT_EQ(audit_->queued(), 1u);
}

TEST_F(CustomerManagerTest, AMergeIsUndoneExactly) {
  const auto manager = Manager(&store_);
  const v1::Customer survivor = MustCreate(*manager, rep_, Organization("腾飞科技"));
  Customer with_industry = Organization("腾飞科技有限公司");
  with_industry.industry = "制造业";
  with_industry.tags = {"展会线索"};
  const v1::Customer merged = MustCreate(*manager, rep_, with_industry);
  TL_ASSERT_OK_AND_ASSIGN(const MergeResult merge,
                          manager->Merge(rep_, survivor.customer_id(), merged.customer_id(),
                                         survivor.etag(), merged.etag(), std::nullopt));
  EXPECT_EQ(merge.survivor.industry(), "制造业");
  EXPECT_THAT(merge.survivor.tags(), ElementsAre("展会线索"));
  EXPECT_EQ(merge.merged.state(), v1::CUSTOMER_STATE_MERGED);
  EXPECT_EQ(store_.Find(kTenant, survivor.customer_id())->industry, "制造业");

  TL_ASSERT_OK_AND_ASSIGN(const MergeResult undone, manager->Unmerge(rep_, merge.merge.merge_id));
  EXPECT_EQ(undone.survivor.industry(), "");
  EXPECT_EQ(undone.merged.state(), v1::CUSTOMER_STATE_ACTIVE);
  EXPECT_THAT(manager->Unmerge(rep_, merge.merge.merge_id).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(store_.Find(kTenant, survivor.customer_id())->tags, IsEmpty());
}

// A call CustomerFeedService let through: a service, with no tenant and no scope.
const auth::RequestContext kFeedReader{.tenant_id = "",
                                       .caller_id = "service:touchpoints",
                                       .request_id = "r2",
                                       .scope = nullptr,
                                       .client = "test"};

// The (tenant, customer) of each snapshot, in order.
std::vector<std::pair<std::string, std::string>> Keys(const std::vector<CustomerSnapshot>& page) {
  std::vector<std::pair<std::string, std::string>> keys;
  for (const CustomerSnapshot& s : page) keys.emplace_back(s.tenant_id, s.customer_id);
  return keys;
}

TEST_F(CustomerManagerTest, TheFeedPagesThroughEveryTenantInKeyOrder) {
  const auto manager = Manager(&store_);
  auth::RequestContext other_tenant = CallerWith(auth::testing::AdminScope("globex", "admin-2"));
  other_tenant.tenant_id = "globex";
  std::vector<std::pair<std::string, std::string>> expected;
  for (const char* name : {"甲", "乙", "丙"}) {
    expected.emplace_back(kTenant, MustCreate(*manager, admin_, Organization(name)).customer_id());
  }
  const v1::Customer with_person =
      MustCreate(*manager, other_tenant, Organization("环球贸易", "+8613800138000"));
  expected.emplace_back("globex", with_person.customer_id());
  expected.emplace_back("globex",
                        MustCreate(*manager, other_tenant, Organization("丁")).customer_id());
  std::sort(expected.begin(), expected.end());

  std::vector<CustomerSnapshot> seen;
  std::string token;
  std::vector<size_t> page_sizes;
  do {
    TL_ASSERT_OK_AND_ASSIGN(const SnapshotPage page, manager->ListSnapshots(kFeedReader, 2, token));
    page_sizes.push_back(page.snapshots.size());
    seen.insert(seen.end(), page.snapshots.begin(), page.snapshots.end());
    token = page.next_page_token;
  } while (!token.empty() && page_sizes.size() < 10);
  EXPECT_EQ(page_sizes, (std::vector<size_t>{2, 2, 1}));
  EXPECT_EQ(Keys(seen), expected);
  const auto person = std::find_if(seen.begin(), seen.end(), [&](const CustomerSnapshot& s) {
    return s.customer_id == with_person.customer_id();
  });
  ASSERT_NE(person, seen.end());
  EXPECT_THAT(person->person_ids, ElementsAre(with_person.contact_persons(0).person_id()));
  EXPECT_EQ(person->owner_id, "rep-li");
  EXPECT_EQ(person->state, CustomerState::kActive);
  EXPECT_EQ(person->version, 1);

  // 0 is the default page (500): everything at once, and no token.
  TL_ASSERT_OK_AND_ASSIGN(const SnapshotPage all, manager->ListSnapshots(kFeedReader, 0, ""));
  EXPECT_EQ(Keys(all.snapshots), expected);
  EXPECT_EQ(all.next_page_token, "");
  // A token names a place, not a moment: used later, it resumes after the same customer, and
  // a customer created since (its id sorts last in its tenant) comes with the rest.
  TL_ASSERT_OK_AND_ASSIGN(const SnapshotPage first, manager->ListSnapshots(kFeedReader, 3, ""));
  EXPECT_EQ(Keys(first.snapshots), std::vector(expected.begin(), expected.begin() + 3));
  const v1::Customer later = MustCreate(*manager, admin_, Organization("戊"));
  TL_ASSERT_OK_AND_ASSIGN(const SnapshotPage rest,
                          manager->ListSnapshots(kFeedReader, 1000, first.next_page_token));
  EXPECT_THAT(Keys(rest.snapshots),
              ElementsAre(Pair(kTenant, later.customer_id()), expected[3], expected[4]));
}

TEST_F(CustomerManagerTest, TheFeedShowsAMergedCustomersMergeAndFoldedPersons) {
  const auto manager = Manager(&store_);
  const v1::Customer survivor =
      MustCreate(*manager, admin_, Organization("腾飞", "+8613800138000"));
  const v1::Customer merged =
      MustCreate(*manager, admin_, Organization("腾飞科技", "+8613800138000"));
  TL_ASSERT_OK_AND_ASSIGN(const MergeResult merge,
                          manager->Merge(admin_, survivor.customer_id(), merged.customer_id(),
                                         survivor.etag(), merged.etag(), std::nullopt));
  TL_ASSERT_OK_AND_ASSIGN(const SnapshotPage page, manager->ListSnapshots(kFeedReader, 0, ""));
  const auto of = [&](const std::string& id) {
    return *std::find_if(page.snapshots.begin(), page.snapshots.end(),
                         [&](const CustomerSnapshot& s) { return s.customer_id == id; });
  };
  ASSERT_EQ(page.snapshots.size(), 2u);
  const CustomerSnapshot gone = of(merged.customer_id());
  EXPECT_EQ(gone.state, CustomerState::kMerged);
  EXPECT_EQ(gone.merged_into_customer_id, survivor.customer_id());
  EXPECT_EQ(gone.merge_id, merge.merge.merge_id);
  EXPECT_THAT(gone.folded_persons,
              ElementsAre(FoldedPerson{.person_id = merged.contact_persons(0).person_id(),
                                       .into_person_id = survivor.contact_persons(0).person_id()}));
  EXPECT_EQ(of(survivor.customer_id()).merge_id, "");

  TL_ASSERT_OK(manager->Unmerge(admin_, merge.merge.merge_id).status());
  TL_ASSERT_OK_AND_ASSIGN(const SnapshotPage after, manager->ListSnapshots(kFeedReader, 0, ""));
  for (const CustomerSnapshot& s : after.snapshots) {
    EXPECT_EQ(s.state, CustomerState::kActive);
    EXPECT_EQ(s.merge_id, "");
    EXPECT_EQ(s.merged_into_customer_id, "");
    EXPECT_THAT(s.folded_persons, IsEmpty());
  }
}

TEST_F(CustomerManagerTest, TheFeedRefusesBadPageSizesAndTokens) {
  const auto manager = Manager(&store_);
  MustCreate(*manager, admin_, Organization("甲"));
  for (const int page_size : {-1, 1001}) {
    const absl::Status refused = manager->ListSnapshots(kFeedReader, page_size, "").status();
    EXPECT_THAT(refused, StatusIs(absl::StatusCode::kInvalidArgument)) << page_size;
    EXPECT_THAT(status::FieldViolationsOf(refused), ElementsAre(Pair("page_size", ::testing::_)));
  }
  TL_EXPECT_OK(manager->ListSnapshots(kFeedReader, 1, "").status());
  TL_EXPECT_OK(manager->ListSnapshots(kFeedReader, 1000, "").status());
  const std::string id = "0190b3a4-0000-7000-8000-000000000001";
  TL_EXPECT_OK(
      manager->ListSnapshots(kFeedReader, 1, absl::WebSafeBase64Escape("acme/" + id)).status());
  for (const std::string& token :
       {std::string("not a token!"), absl::WebSafeBase64Escape("acme"),
        absl::WebSafeBase64Escape("acme/not-a-uuid"), absl::WebSafeBase64Escape("ACME/" + id),
        absl::WebSafeBase64Escape("/" + id)}) {
    const absl::Status refused = manager->ListSnapshots(kFeedReader, 1, token).status();
    EXPECT_THAT(refused, StatusIs(absl::StatusCode::kInvalidArgument)) << token;
    EXPECT_THAT(status::FieldViolationsOf(refused), ElementsAre(Pair("page_token", ::testing::_)));
  }
}

TEST_F(CustomerManagerTest, OnlyAServiceReadsTheFeed) {
  const auto manager = Manager(&store_);
  EXPECT_THAT(manager->ListSnapshots(admin_, 0, "").status(),
              StatusIs(absl::StatusCode::kPermissionDenied));
  auth::RequestContext named_like_one = kFeedReader;
  named_like_one.caller_id = "touchpoints";
  EXPECT_THAT(manager->ListSnapshots(named_like_one, 0, "").status(),
              StatusIs(absl::StatusCode::kPermissionDenied));
  TL_EXPECT_OK(manager->ListSnapshots(kFeedReader, 0, "").status());
}

TEST_F(CustomerManagerTest, ACallWithoutAScopeIsAWiringBug) {
  const auto manager = Manager(&store_);
  auth::RequestContext unscoped = admin_;
  unscoped.scope = nullptr;
  EXPECT_EQ(manager->List(unscoped, CustomerQuery{}, "").status(), absl::InternalError("no scope"));
  EXPECT_THAT(Get(*manager, unscoped, "0190b3a4-0000-7000-8000-000000000001"),
              StatusIs(absl::StatusCode::kInternal));
}

}  // namespace
}  // namespace touchline::contacts
