// The 360 view served from prepared views in a real Redis (TOUCHLINE_REDIS_ADDR): each answer
// byte for byte what the view read without the cache encodes to, for each field profile its
// own bytes, nothing prepared left after an invalidation, a view read without its journeys or
// its open tasks served but never cached, a task event dropping the view of its customer (and
// no other), the row decision and the audit entries as before.
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/notification.h"
#include "common/audit/audit.h"
#include "common/auth/request_context.h"
#include "common/auth/scope.h"
#include "common/auth/testing/trusted_authenticator.h"
#include "common/events/outbox.h"
#include "common/events/topics.h"
#include "common/ids/ids.h"
#include "common/server/executor.h"
#include "common/server/server.h"
#include "common/server/testing/reflection.h"
#include "common/server/unary_call.h"
#include "gateway/cache/cache_invalidation.h"
#include "gateway/customer360.h"
#include "gateway/edge.h"
#include "gateway/gateway_service.h"
#include "gateway/prepared_view.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "tests/testing/event_stream.h"
#include "tests/testing/pg_test_env.h"
#include "tests/testing/status_matchers.h"
#include "touchline/events/v1/permission_events.pb.h"
#include "touchline/events/v1/task_events.pb.h"
#include "touchline/gateway/v1/gateway_service.grpc.pb.h"

namespace touchline::gateway {
namespace {

namespace av1 = ::touchline::automation::v1;
namespace pv1 = ::touchline::permissions::v1;
namespace cv1 = ::touchline::contacts::v1;
namespace tv1 = ::touchline::touchpoints::v1;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;
using ::touchline::testing::StatusIs;
using Encoding = Customer360Service::Encoding;
using Encoded = Customer360Service::Encoded;

constexpr char kTenant[] = "acme";
constexpr char kCustomerId[] = "4f1c2d3e-0000-4000-8000-00000000c001";

// An open task of the customer, due in a day, titled `title`.
av1::Task Task(const std::string& title) {
  av1::Task task;
  task.set_task_id(ids::NewUuid());
  task.set_customer_id(kCustomerId);
  task.set_title(title);
  task.set_assignee_id("u-rep1");
  task.mutable_due_time()->set_seconds(1767312000);
  task.set_priority(av1::TASK_PRIORITY_URGENT);
  task.set_state(av1::TASK_STATE_OPEN);
  task.mutable_source()->set_created_by("u-rep1");
  task.set_etag("1");
  return task;
}

Customer360Cache::Entry MakeEntry(const std::string& name) {
  Customer360Cache::Entry entry;
  cv1::Customer* c = entry.mutable_customer();
  c->set_customer_id(kCustomerId);
  c->set_display_name(name);
  c->set_owner_id("u-rep1");
  c->set_region("北京");
  c->set_level(cv1::CUSTOMER_LEVEL_KEY);
  cv1::ContactPerson* person = c->add_contact_persons();
  person->add_phones()->set_number("+8613812341234");
  person->add_emails()->set_address("wang.wei@example.com");
  person->set_note("喜欢喝茶");
  pv1::CustomerShare* share = entry.add_shares();
  share->set_customer_id(kCustomerId);
  share->set_partner_org_id("dealer-1");
  share->set_access(pv1::SHARE_ACCESS_READ);
  for (int i = 0; i < kMaxRecentTouchpoints; ++i) {
    tv1::Touchpoint* t = entry.add_touchpoints();
    t->set_touchpoint_id("t" + std::to_string(i));
    t->set_customer_id(kCustomerId);
    t->set_subject("回访 " + std::to_string(i));
    if (i % 2 == 0) t->set_content("客户投诉物流太慢");
  }
  for (const char* stage : {"consideration", "onboarding"}) {
    journeys::v1::CustomerJourney* journey = entry.add_journeys();
    journey->set_journey_id(std::string("4f1c2d3e-0000-4000-8000-0000000") + stage[0] + "0001");
    journey->set_version(1);
    journey->set_journey_display_name(std::string("旅程 ") + stage);
    journey->set_stage_id(stage);
    journey->set_stage_kind(journeys::v1::STAGE_KIND_NORMAL);
    journey->mutable_stage_enter_time()->set_seconds(1767225600);
    journey->mutable_journey_enter_time()->set_seconds(1767139200);
  }
  for (const char* title : {"回访 确认报价单", "寄送合同"}) {
    *entry.add_open_tasks() = Task(title);
  }
  return entry;
}

class FakeLoader : public Customer360Loader {
 public:
  bool HasServiceKey(const std::string& tenant) override { return tenant == kTenant; }
  absl::StatusOr<Customer360Cache::Loaded> Load(const Headers&, const std::string& customer_id,
                                                bool) override {
    ++loads;
    if (customer_id != kCustomerId) {
      return absl::NotFoundError("customer " + customer_id + " not found");
    }
    return Customer360Cache::Loaded{.entry = entry, .storable = storable};
  }
  Headers ServiceKeyHeaders(const std::string& tenant) override {
    return {{"x-api-key", "tlk_" + tenant + "_service"}};
  }

  std::atomic<int> loads = 0;
  Customer360Cache::Entry entry = MakeEntry("北京星河贸易有限公司");
  // False: loads as ServiceLoader's while journeys does not answer.
  bool storable = true;
};

auth::RequestContext Caller(pv1::EffectiveScope scope) {
  scope.set_tenant_id(kTenant);
  absl::StatusOr<std::shared_ptr<const auth::Scope>> compiled =
      auth::Scope::Compile(std::move(scope));
  EXPECT_TRUE(compiled.ok()) << compiled.status();
  return {.tenant_id = kTenant,
          .caller_id = "u-test",
          .request_id = "r-1",
          .scope = compiled.ok() ? *compiled : nullptr,
          .client = "test"};
}

pv1::EffectiveScope Rep(const std::string& user) {
  pv1::EffectiveScope scope;
  scope.set_user_id(user);
  scope.set_role_id("rep");
  scope.set_rank(10);
  scope.add_owner_ids(user);
  return scope;
}

v1::GetCustomer360Request Request(int count = 0) {
  v1::GetCustomer360Request request;
  request.set_customer_id(kCustomerId);
  request.set_touchpoint_count(count);
  return request;
}

class Customer360PreparedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    TL_ASSERT_OK_AND_ASSIGN(redis::RedisOptions options,
                            redis::ParseRedisAddress(touchline::testing::TestRedisAddr()));
    options.pool_size = 8;
    TL_ASSERT_OK_AND_ASSIGN(redis_, redis::Pool::Create(options));
    prefix_ = touchline::testing::UniqueRedisPrefix();
    cache_ = std::make_unique<Customer360Cache>(
        redis_.get(), Customer360CacheOptions{.key_prefix = prefix_, .ttl = absl::Seconds(100)});
    audit::AuditPublisherOptions audit_options;
    audit_options.stream_prefix = prefix_;
    TL_ASSERT_OK_AND_ASSIGN(audit_, audit::AuditPublisher::Create(audit_options, redis_.get()));
    audit_options.stream_prefix = prefix_ + "-reference";
    TL_ASSERT_OK_AND_ASSIGN(reference_audit_,
                            audit::AuditPublisher::Create(audit_options, redis_.get()));
    views_ = std::make_unique<Customer360Service>(&loader_, cache_.get(), audit_.get(), &executor_);
    reference_ = std::make_unique<Customer360Service>(&reference_loader_, nullptr,
                                                      reference_audit_.get(), nullptr);
  }

  void TearDown() override {
    // Lookups in flight end before the service they call back goes.
    cache_.reset();
    executor_.Shutdown();
  }

  absl::StatusOr<Encoded> GetEncoded(const auth::RequestContext& caller,
                                     const v1::GetCustomer360Request& request, Encoding encoding) {
    absl::Notification answered;
    absl::StatusOr<Encoded> result = absl::UnknownError("no answer");
    views_->GetEncodedAsync(caller, {}, request, encoding, [&](absl::StatusOr<Encoded> encoded) {
      result = std::move(encoded);
      answered.Notify();
    });
    answered.WaitForNotification();
    return result;
  }

  // What the same caller gets without the cache, read with the service key: the view as
  // Get answers it, encoded whole.
  std::string Reference(const auth::RequestContext& caller,
                        const v1::GetCustomer360Request& request, Encoding encoding) {
    reference_loader_.entry = loader_.entry;
    absl::StatusOr<Customer360Service::Served> served = reference_->Get(caller, {}, request);
    EXPECT_TRUE(served.ok()) << served.status();
    if (!served.ok()) return "";
    absl::StatusOr<ViewEncoder> encoder = ViewEncoder::ForGeneratedRoute();
    EXPECT_TRUE(encoder.ok()) << encoder.status();
    absl::StatusOr<std::string> bytes = encoder->Encode(served->response, encoding);
    EXPECT_TRUE(bytes.ok()) << bytes.status();
    return bytes.ok() ? *bytes : "";
  }

  std::vector<std::string> HashFields() {
    absl::StatusOr<redis::Reply> reply =
        redis_->Command({"HKEYS", cache_->EntryKey(kTenant, kCustomerId)});
    EXPECT_TRUE(reply.ok()) << reply.status();
    std::vector<std::string> fields;
    if (!reply.ok()) return fields;
    for (size_t i = 0; i < reply->view().size(); ++i) {
      fields.emplace_back(reply->view()[i].str());
    }
    return fields;
  }

  // The hash field of `caller`'s view, stored at the entry's first version.
  std::string Field(const auth::RequestContext& caller, Encoding encoding) {
    return PreparedField(caller.scope->FieldProfile(), encoding) + "@0";
  }

  // The audit events `publisher` sent, without what differs from one read to the next.
  std::vector<pv1::AuditEvent> AuditEvents(audit::AuditPublisher& publisher,
                                           const std::string& prefix) {
    publisher.Stop();
    absl::StatusOr<std::vector<events::v1::EventEnvelope>> envelopes =
        touchline::testing::ReadEnvelopes(*redis_, events::StreamKey(prefix, events::kAuditTopic));
    EXPECT_TRUE(envelopes.ok()) << envelopes.status();
    std::vector<pv1::AuditEvent> audited;
    if (!envelopes.ok()) return audited;
    for (const events::v1::EventEnvelope& envelope : *envelopes) {
      events::v1::AuditRecorded recorded;
      EXPECT_TRUE(envelope.payload().UnpackTo(&recorded));
      pv1::AuditEvent event = recorded.event();
      event.clear_occur_time();
      event.clear_sequence();
      event.clear_hash();
      event.clear_previous_hash();
      audited.push_back(std::move(event));
    }
    return audited;
  }

  std::unique_ptr<redis::Pool> redis_;
  std::string prefix_;
  server::Executor executor_{2, 64};
  FakeLoader loader_;
  FakeLoader reference_loader_;
  std::unique_ptr<audit::AuditPublisher> audit_;
  std::unique_ptr<audit::AuditPublisher> reference_audit_;
  std::unique_ptr<Customer360Cache> cache_;
  std::unique_ptr<Customer360Service> views_;
  std::unique_ptr<Customer360Service> reference_;
};

TEST_F(Customer360PreparedTest, MissThenPrepareThenHitAllAnswerTheBytesOfTheWholeView) {
  const auth::RequestContext rep = Caller(Rep("u-rep1"));
  for (Encoding encoding : {Encoding::kProto, Encoding::kJson}) {
    const std::string expected = Reference(rep, Request(), encoding);
    ASSERT_FALSE(expected.empty());
    TL_ASSERT_OK_AND_ASSIGN(const Encoded first, GetEncoded(rep, Request(), encoding));
    // The first call of each encoding: the entry is loaded (proto) or already cached (JSON),
    // and the view of this encoding not prepared yet.
    EXPECT_EQ(first.outcome,
              encoding == Encoding::kProto ? CacheOutcome::kMiss : CacheOutcome::kHit);
    EXPECT_EQ(first.bytes, expected);
    TL_ASSERT_OK_AND_ASSIGN(const Encoded prepared, GetEncoded(rep, Request(), encoding));
    EXPECT_EQ(prepared.outcome, CacheOutcome::kHit);
    EXPECT_EQ(prepared.bytes, expected);
    TL_ASSERT_OK_AND_ASSIGN(const Encoded hit, GetEncoded(rep, Request(), encoding));
    EXPECT_EQ(hit.outcome, CacheOutcome::kHit);
    EXPECT_EQ(hit.bytes, expected);
    for (int count : {1, 3, kDefaultRecentTouchpoints, kMaxRecentTouchpoints}) {
      TL_ASSERT_OK_AND_ASSIGN(const Encoded some, GetEncoded(rep, Request(count), encoding));
      EXPECT_EQ(some.bytes, Reference(rep, Request(count), encoding)) << count;
    }
  }
  EXPECT_EQ(loader_.loads, 1);
  EXPECT_THAT(HashFields(), UnorderedElementsAre("data", Field(rep, Encoding::kProto),
                                                 Field(rep, Encoding::kJson)));
}

TEST_F(Customer360PreparedTest, AHitIsServedFromTheStoredPreparedView) {
  const auth::RequestContext rep = Caller(Rep("u-rep1"));
  TL_ASSERT_OK(GetEncoded(rep, Request(), Encoding::kProto).status());
  TL_ASSERT_OK(GetEncoded(rep, Request(), Encoding::kProto).status());
  // Replace the stored view behind the cache's back: the next hit shows it, so nothing was
  // redacted or encoded again for it.
  TL_ASSERT_OK_AND_ASSIGN(const ViewEncoder encoder, ViewEncoder::ForGeneratedRoute());
  TL_ASSERT_OK_AND_ASSIGN(
      const std::string planted,
      encoder.Prepare(*rep.scope, MakeEntry("planted 植入"), ViewEncoding::kProto));
  TL_ASSERT_OK(redis_
                   ->Command({"HSET", cache_->EntryKey(kTenant, kCustomerId),
                              Field(rep, Encoding::kProto), planted})
                   .status());
  TL_ASSERT_OK_AND_ASSIGN(const Encoded hit, GetEncoded(rep, Request(), Encoding::kProto));
  v1::GetCustomer360Response response;
  ASSERT_TRUE(response.ParseFromString(hit.bytes));
  EXPECT_EQ(response.customer().display_name(), "planted 植入");
  EXPECT_EQ(response.recent_touchpoints_size(), kDefaultRecentTouchpoints);
}

TEST_F(Customer360PreparedTest, EachFieldProfileGetsItsOwnBytesNeverAnothers) {
  const auth::RequestContext rep = Caller(Rep("u-rep1"));
  const auth::RequestContext partner = Caller(auth::testing::PartnerScope("dealer-1"));
  pv1::EffectiveScope hidden_scope = Rep("u-rep1");
  *hidden_scope.add_field_rules() =
      auth::testing::FieldRuleOf("touchpoint", "content", pv1::FIELD_ACCESS_HIDDEN);
  const auth::RequestContext hidden = Caller(hidden_scope);
  // Rows differ, field rules do not: one profile.
  pv1::EffectiveScope other_partner_scope = auth::testing::PartnerScope("dealer-1");
  other_partner_scope.set_user_id("u-partner-2");
  const auth::RequestContext other_partner = Caller(other_partner_scope);
  EXPECT_EQ(other_partner.scope->FieldProfile(), partner.scope->FieldProfile());
  EXPECT_NE(rep.scope->FieldProfile(), partner.scope->FieldProfile());
  EXPECT_NE(rep.scope->FieldProfile(), hidden.scope->FieldProfile());

  for (Encoding encoding : {Encoding::kProto, Encoding::kJson}) {
    // Twice each, in turns, so that every one is served from a prepared view at least once
    // while the others' are stored.
    for (int round = 0; round < 2; ++round) {
      for (const auth::RequestContext* caller : {&rep, &partner, &hidden, &other_partner}) {
        TL_ASSERT_OK_AND_ASSIGN(const Encoded got, GetEncoded(*caller, Request(), encoding));
        EXPECT_EQ(got.bytes, Reference(*caller, Request(), encoding))
            << caller->scope->user_id() << " round " << round;
      }
    }
  }
  TL_ASSERT_OK_AND_ASSIGN(const Encoded masked, GetEncoded(partner, Request(), Encoding::kProto));
  v1::GetCustomer360Response response;
  ASSERT_TRUE(response.ParseFromString(masked.bytes));
  EXPECT_EQ(response.customer().contact_persons(0).phones(0).number(), "+86138****1234");
  EXPECT_THAT(
      HashFields(),
      UnorderedElementsAre("data", Field(rep, Encoding::kProto), Field(partner, Encoding::kProto),
                           Field(hidden, Encoding::kProto), Field(rep, Encoding::kJson),
                           Field(partner, Encoding::kJson), Field(hidden, Encoding::kJson)));
}

TEST_F(Customer360PreparedTest, AnInvalidationDropsThePreparedViews) {
  const auth::RequestContext rep = Caller(Rep("u-rep1"));
  const auth::RequestContext partner = Caller(auth::testing::PartnerScope("dealer-1"));
  for (const auth::RequestContext* caller : {&rep, &partner, &rep, &partner}) {
    TL_ASSERT_OK(GetEncoded(*caller, Request(), Encoding::kJson).status());
  }
  ASSERT_EQ(HashFields().size(), 3u);
  TL_ASSERT_OK(cache_->Invalidate(kTenant, kCustomerId));
  EXPECT_THAT(HashFields(), ElementsAre("ver"));

  loader_.entry = MakeEntry("改名后的公司");
  for (const auth::RequestContext* caller : {&rep, &partner}) {
    TL_ASSERT_OK_AND_ASSIGN(const Encoded got, GetEncoded(*caller, Request(), Encoding::kJson));
    EXPECT_THAT(got.bytes, ::testing::HasSubstr("改名后的公司"));
    EXPECT_EQ(got.bytes, Reference(*caller, Request(), Encoding::kJson));
  }
  EXPECT_EQ(loader_.loads, 2);
}

TEST_F(Customer360PreparedTest, AViewReadWithoutItsJourneysIsServedButNeverCached) {
  const auth::RequestContext rep = Caller(Rep("u-rep1"));
  loader_.storable = false;
  loader_.entry.clear_journeys();
  for (Encoding encoding : {Encoding::kProto, Encoding::kJson, Encoding::kProto}) {
    TL_ASSERT_OK_AND_ASSIGN(const Encoded got, GetEncoded(rep, Request(), encoding));
    EXPECT_EQ(got.outcome, CacheOutcome::kBypass);
    EXPECT_EQ(got.bytes, Reference(rep, Request(), encoding));
  }
  EXPECT_EQ(loader_.loads, 3);
  EXPECT_THAT(HashFields(), IsEmpty());

  // Journeys answers again: the next view is whole, cached and then served from the cache.
  loader_.storable = true;
  loader_.entry = MakeEntry("北京星河贸易有限公司");
  TL_ASSERT_OK_AND_ASSIGN(const Encoded whole, GetEncoded(rep, Request(), Encoding::kJson));
  EXPECT_EQ(whole.outcome, CacheOutcome::kMiss);
  EXPECT_THAT(whole.bytes, ::testing::HasSubstr("\"stageId\":\"onboarding\""));
  TL_ASSERT_OK_AND_ASSIGN(const Encoded hit, GetEncoded(rep, Request(), Encoding::kJson));
  EXPECT_EQ(hit.outcome, CacheOutcome::kHit);
  EXPECT_EQ(hit.bytes, whole.bytes);
  EXPECT_EQ(loader_.loads, 4);
}

TEST_F(Customer360PreparedTest, AViewReadWithoutItsOpenTasksIsServedButNeverCached) {
  const auth::RequestContext rep = Caller(Rep("u-rep1"));
  // As ServiceLoader loads while automation does not answer: no tasks, not storable.
  loader_.storable = false;
  loader_.entry.clear_open_tasks();
  for (Encoding encoding : {Encoding::kJson, Encoding::kProto, Encoding::kJson}) {
    TL_ASSERT_OK_AND_ASSIGN(const Encoded got, GetEncoded(rep, Request(), encoding));
    EXPECT_EQ(got.outcome, CacheOutcome::kBypass);
    EXPECT_EQ(got.bytes, Reference(rep, Request(), encoding));
  }
  TL_ASSERT_OK_AND_ASSIGN(const Encoded without, GetEncoded(rep, Request(), Encoding::kJson));
  EXPECT_THAT(without.bytes, ::testing::EndsWith("\"openTasks\":[]}"));
  EXPECT_THAT(HashFields(), IsEmpty());

  // Automation answers again: the view holds the tasks, soonest due first, and is cached.
  loader_.storable = true;
  loader_.entry = MakeEntry("北京星河贸易有限公司");
  TL_ASSERT_OK_AND_ASSIGN(const Encoded whole, GetEncoded(rep, Request(), Encoding::kProto));
  EXPECT_EQ(whole.outcome, CacheOutcome::kMiss);
  v1::GetCustomer360Response response;
  ASSERT_TRUE(response.ParseFromString(whole.bytes));
  ASSERT_EQ(response.open_tasks_size(), 2);
  EXPECT_EQ(response.open_tasks(0).title(), "回访 确认报价单");
  EXPECT_EQ(response.open_tasks(1).title(), "寄送合同");
  TL_ASSERT_OK_AND_ASSIGN(const Encoded hit, GetEncoded(rep, Request(), Encoding::kProto));
  EXPECT_EQ(hit.outcome, CacheOutcome::kHit);
  EXPECT_EQ(hit.bytes, whole.bytes);
  EXPECT_EQ(loader_.loads, 5);
}

TEST_F(Customer360PreparedTest, ATaskEventDropsTheViewOfItsCustomerOnly) {
  CacheInvalidation invalidation(redis_.get(), cache_.get(), prefix_);
  // Adds `payload` about task `task_id` to the "tasks" stream as the outbox relay does.
  const auto publish = [&](const google::protobuf::Message& payload, const std::string& task_id) {
    const events::v1::EventEnvelope event =
        events::MakeEnvelope(payload, kTenant, "task", task_id, "req-1", "u-rep1");
    TL_ASSERT_OK(
        redis_
            ->Command({"XADD", events::StreamKey(prefix_, events::kTasksTopic), "*", "event_id",
                       event.event_id(), "type", event.event_type(), "tenant", event.tenant_id(),
                       "aggregate", event.aggregate_id(), "event", event.SerializeAsString()})
            .status());
  };
  const auth::RequestContext rep = Caller(Rep("u-rep1"));
  TL_ASSERT_OK(GetEncoded(rep, Request(), Encoding::kJson).status());
  TL_ASSERT_OK_AND_ASSIGN(const Encoded before, GetEncoded(rep, Request(), Encoding::kJson));
  EXPECT_EQ(before.outcome, CacheOutcome::kHit);
  EXPECT_THAT(before.bytes, ::testing::HasSubstr("回访 确认报价单"));

  // A task of another customer leaves this view cached.
  events::v1::TaskCreated elsewhere;
  *elsewhere.mutable_task() = Task("别人的任务");
  elsewhere.mutable_task()->set_customer_id("4f1c2d3e-0000-4000-8000-00000000c002");
  publish(elsewhere, elsewhere.task().task_id());
  TL_ASSERT_OK_AND_ASSIGN(int applied, invalidation.PollOnce());
  EXPECT_EQ(applied, 1);
  TL_ASSERT_OK_AND_ASSIGN(const Encoded still, GetEncoded(rep, Request(), Encoding::kJson));
  EXPECT_EQ(still.outcome, CacheOutcome::kHit);
  EXPECT_EQ(loader_.loads, 1);

  // The first task completed, a new one created: automation now lists the new one and the
  // second. The completion's event drops the view; the next read loads what automation lists.
  events::v1::TaskChanged completed;
  *completed.mutable_task() = loader_.entry.open_tasks(0);
  completed.mutable_task()->set_state(av1::TASK_STATE_COMPLETED);
  completed.mutable_task()->set_etag("2");
  completed.mutable_changed_fields()->add_paths("state");
  loader_.entry.mutable_open_tasks()->DeleteSubrange(0, 1);
  *loader_.entry.add_open_tasks() = Task("安排现场演示");
  publish(completed, completed.task().task_id());
  TL_ASSERT_OK_AND_ASSIGN(applied, invalidation.PollOnce());
  EXPECT_EQ(applied, 1);
  TL_ASSERT_OK_AND_ASSIGN(const Encoded after, GetEncoded(rep, Request(), Encoding::kJson));
  EXPECT_EQ(after.outcome, CacheOutcome::kMiss);
  EXPECT_EQ(after.bytes, Reference(rep, Request(), Encoding::kJson));
  EXPECT_THAT(after.bytes, ::testing::Not(::testing::HasSubstr("回访 确认报价单")));
  EXPECT_THAT(after.bytes, ::testing::HasSubstr("安排现场演示"));
  EXPECT_EQ(loader_.loads, 2);

  // A task moved away to another customer (a merge) drops the view it left.
  events::v1::TaskChanged moved;
  *moved.mutable_task() = loader_.entry.open_tasks(0);
  moved.mutable_task()->set_customer_id("4f1c2d3e-0000-4000-8000-00000000c003");
  moved.mutable_changed_fields()->add_paths("customer_id");
  moved.set_previous_customer_id(kCustomerId);
  loader_.entry.mutable_open_tasks()->DeleteSubrange(0, 1);
  publish(moved, moved.task().task_id());
  TL_ASSERT_OK_AND_ASSIGN(applied, invalidation.PollOnce());
  EXPECT_EQ(applied, 1);
  TL_ASSERT_OK_AND_ASSIGN(const Encoded left, GetEncoded(rep, Request(), Encoding::kProto));
  EXPECT_EQ(left.outcome, CacheOutcome::kMiss);
  v1::GetCustomer360Response response;
  ASSERT_TRUE(response.ParseFromString(left.bytes));
  ASSERT_EQ(response.open_tasks_size(), 1);
  EXPECT_EQ(response.open_tasks(0).title(), "安排现场演示");
  EXPECT_EQ(loader_.loads, 3);
}

TEST_F(Customer360PreparedTest, AnInvisibleCustomerIsNotFoundOnEveryPath) {
  const auth::RequestContext owner = Caller(Rep("u-rep1"));
  const auth::RequestContext stranger = Caller(Rep("u-rep2"));
  const auth::RequestContext other_dealer = Caller(auth::testing::PartnerScope("dealer-2"));
  ASSERT_EQ(stranger.scope->FieldProfile(), owner.scope->FieldProfile());
  const std::string words = std::string("customer ") + kCustomerId + " not found";
  // A miss, then a prepare from the entry, then a prepared hit (stored by the owner's call).
  for (int i = 0; i < 2; ++i) {
    EXPECT_THAT(GetEncoded(stranger, Request(), Encoding::kProto).status(),
                StatusIs(absl::StatusCode::kNotFound, words));
    EXPECT_THAT(GetEncoded(other_dealer, Request(), Encoding::kJson).status(),
                StatusIs(absl::StatusCode::kNotFound, words));
  }
  TL_ASSERT_OK(GetEncoded(owner, Request(), Encoding::kProto).status());
  EXPECT_THAT(GetEncoded(stranger, Request(), Encoding::kProto).status(),
              StatusIs(absl::StatusCode::kNotFound, words));
  EXPECT_EQ(loader_.loads, 1);
}

TEST_F(Customer360PreparedTest, AuditEntriesAreThoseOfTheViewReadWithoutTheCache) {
  // A rep sees phones and emails in clear, and touchpoint contents under a READ_ONLY rule
  // (audited where they have one): reported on every path as without the cache.
  pv1::EffectiveScope rep_scope = Rep("u-rep1");
  *rep_scope.add_field_rules() =
      auth::testing::FieldRuleOf("touchpoint", "content", pv1::FIELD_ACCESS_READ_ONLY);
  const auth::RequestContext rep = Caller(rep_scope);
  const auth::RequestContext partner = Caller(auth::testing::PartnerScope("dealer-1"));
  // miss, prepare, prepared hit; in both encodings; with several counts.
  for (Encoding encoding : {Encoding::kProto, Encoding::kJson}) {
    for (int count : {0, 0, 0, 1, 2, kMaxRecentTouchpoints}) {
      TL_ASSERT_OK(GetEncoded(rep, Request(count), encoding).status());
      TL_ASSERT_OK(GetEncoded(partner, Request(count), encoding).status());
      TL_ASSERT_OK(reference_->Get(rep, {}, Request(count)).status());
      TL_ASSERT_OK(reference_->Get(partner, {}, Request(count)).status());
    }
  }
  const std::vector<pv1::AuditEvent> audited = AuditEvents(*audit_, prefix_);
  const std::vector<pv1::AuditEvent> expected =
      AuditEvents(*reference_audit_, prefix_ + "-reference");
  ASSERT_EQ(audited.size(), expected.size());
  for (size_t i = 0; i < audited.size(); ++i) {
    EXPECT_EQ(audited[i].SerializeAsString(), expected[i].SerializeAsString())
        << audited[i].DebugString() << " vs " << expected[i].DebugString();
  }
  // Two entries per rep read (customer, touchpoints), none for the partner's masked view.
  ASSERT_EQ(audited.size(), 2u * 12);
  EXPECT_EQ(audited[0].action(), "customer.read_sensitive");
  EXPECT_EQ(audited[0].resource_id(), kCustomerId);
  EXPECT_THAT(audited[0].fields(), ElementsAre("contact_persons.emails", "contact_persons.phones"));
  EXPECT_EQ(audited[1].action(), "touchpoint.read_sensitive");
  EXPECT_THAT(audited[1].fields(), ElementsAre("content"));
  EXPECT_EQ(audited[1].detail(), "t0,t2,t4,t6,t8");  // the default 10, those with a content
  // The ids sorted, as every read_sensitive entry lists them (common/disclosure).
  EXPECT_EQ(audited.back().detail(), "t0,t10,t12,t14,t16,t18,t2,t4,t6,t8");
  for (const pv1::AuditEvent& event : audited) EXPECT_EQ(event.actor_id(), "u-test");
}

TEST_F(Customer360PreparedTest, APartnersMaskedViewIsNotAudited) {
  const auth::RequestContext partner = Caller(auth::testing::PartnerScope("dealer-1"));
  for (int i = 0; i < 3; ++i) {
    TL_ASSERT_OK(GetEncoded(partner, Request(), Encoding::kProto).status());
  }
  EXPECT_THAT(AuditEvents(*audit_, prefix_), IsEmpty());
}

// GetCustomer360 over a real gRPC stack in-process, served by GatewayService's raw handler.
class GatewayServiceTest : public Customer360PreparedTest {
 protected:
  static constexpr char kServiceName[] = "touchline.gateway.v1.GatewayService";

  void SetUp() override {
    Customer360PreparedTest::SetUp();
    authenticator_.SetScope("u-rep1", Rep("u-rep1"));
    authenticator_.SetScope("u-rep2", Rep("u-rep2"));
    authenticator_.SetScope("u-partner", auth::testing::PartnerScope("dealer-1"));
    runner_ = std::make_unique<server::UnaryRunner>(kServiceName, &executor_, &authenticator_,
                                                    /*access_log=*/false);
    edge_ = std::make_unique<EdgeGuard>(&authenticator_, nullptr, RateLimitPolicy{});
    service_ =
        std::make_unique<GatewayService>(runner_.get(), &executor_, edge_.get(), views_.get());
    server::ServerOptions options;
    options.metrics_address = "";
    TL_ASSERT_OK_AND_ASSIGN(server_,
                            server::Server::Start(options, {{kServiceName, service_.get()}}));
    channel_ = grpc::CreateChannel("127.0.0.1:" + std::to_string(server_->port()),
                                   grpc::InsecureChannelCredentials());
    stub_ = v1::GatewayService::NewStub(channel_);
  }

  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown();
    Customer360PreparedTest::TearDown();
  }

  static std::unique_ptr<grpc::ClientContext> Context(const std::string& caller) {
    auto context = std::make_unique<grpc::ClientContext>();
    context->AddMetadata(auth::kTenantHeader, kTenant);
    context->AddMetadata(auth::kCallerHeader, caller);
    return context;
  }

  static std::string InitialMetadata(const grpc::ClientContext& context, const std::string& name) {
    const auto& metadata = context.GetServerInitialMetadata();
    const auto it = metadata.find(name);
    return it == metadata.end() ? "" : std::string(it->second.data(), it->second.size());
  }

  auth::testing::TrustedAuthenticator authenticator_;
  std::unique_ptr<server::UnaryRunner> runner_;
  std::unique_ptr<EdgeGuard> edge_;
  std::unique_ptr<GatewayService> service_;
  std::unique_ptr<server::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::GatewayService::Stub> stub_;
};

TEST_F(GatewayServiceTest, AnswersTheViewWithItsCacheOutcomeAndRequestId) {
  const auth::RequestContext partner = Caller(auth::testing::PartnerScope("dealer-1"));
  reference_loader_.entry = loader_.entry;
  TL_ASSERT_OK_AND_ASSIGN(const Customer360Service::Served expected,
                          reference_->Get(partner, {}, Request(3)));
  for (const char* outcome : {"miss", "hit", "hit"}) {
    auto context = Context("u-partner");
    v1::GetCustomer360Response response;
    const grpc::Status status = stub_->GetCustomer360(context.get(), Request(3), &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(response, expected.response))
        << response.DebugString();
    EXPECT_EQ(response.customer().contact_persons(0).phones(0).number(), "+86138****1234");
    EXPECT_EQ(InitialMetadata(*context, kCacheHeader), outcome);
    EXPECT_FALSE(InitialMetadata(*context, auth::kRequestIdHeader).empty());
  }
  EXPECT_EQ(loader_.loads, 1);
}

TEST_F(GatewayServiceTest, AnInvisibleCustomerIsNotFoundAndABadRequestInvalid) {
  for (int i = 0; i < 2; ++i) {
    auto context = Context("u-rep2");
    v1::GetCustomer360Response response;
    const grpc::Status status = stub_->GetCustomer360(context.get(), Request(), &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
    EXPECT_EQ(status.error_message(), std::string("customer ") + kCustomerId + " not found");
  }
  auto context = Context("u-rep1");
  v1::GetCustomer360Request bad_count = Request(kMaxRecentTouchpoints + 1);
  v1::GetCustomer360Response response;
  EXPECT_EQ(stub_->GetCustomer360(context.get(), bad_count, &response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  // Bytes that are no GetCustomer360Request.
  grpc::GenericStub generic(channel_);
  auto raw_context = Context("u-rep1");
  const std::string garbage("\x0a\xff\xff\xff", 4);  // field 1 longer than the message
  grpc::Slice slice(garbage);
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer reply;
  absl::Notification answered;
  grpc::Status status;
  generic.UnaryCall(raw_context.get(), std::string("/") + kServiceName + "/GetCustomer360",
                    grpc::StubOptions(), &request, &reply, [&](grpc::Status s) {
                      status = std::move(s);
                      answered.Notify();
                    });
  answered.WaitForNotification();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
}

TEST_F(GatewayServiceTest, ReflectionStillDescribesTheService) {
  const absl::StatusOr<std::string> services =
      touchline::server::testing::ListServicesByReflection(channel_);
  ASSERT_TRUE(services.ok()) << services.status();
  EXPECT_THAT(*services, ::testing::HasSubstr(kServiceName));
}

}  // namespace
}  // namespace touchline::gateway
