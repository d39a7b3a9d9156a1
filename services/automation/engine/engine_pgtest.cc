// The engine on PostgreSQL as the host migrates it, with the real task and endpoint stores and
// a real HTTP receiver on loopback: events in, runs, tasks and signed webhooks out, each once.
#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "common/auth/testing/trusted_authenticator.h"
#include "common/paging/page_token.h"
#include "common/ratelimit/rate_limiter.h"
#include "common/redis/pool.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/automation/endpoints/endpoint_manager.h"
#include "services/automation/endpoints/pg_endpoint_store.h"
#include "services/automation/endpoints/secret_box.h"
#include "services/automation/engine/engine.h"
#include "services/automation/engine/engine.pb.h"
#include "services/automation/engine/run_manager.h"
#include "services/automation/engine/testing/fake_delegation.h"
#include "services/automation/rules/pg_rule_store.h"
#include "services/automation/rules/rule_manager.h"
#include "services/automation/tasks/pg_task_store.h"
#include "services/automation/tasks/task_change.h"
#include "services/automation/tasks/testing/callers.h"
#include "services/automation/tasks/testing/pg_schema.h"
#include "services/automation/webhooks/testing/receiver.h"
#include "tests/testing/pg_test_env.h"
#include "tests/testing/process.h"
#include "tests/testing/status_matchers.h"
#include "touchline/events/v1/touchpoint_events.pb.h"

namespace touchline::automation {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;

constexpr char kTenant[] = "acme";
constexpr char kCustomer[] = "0190f0c2-1111-7000-8000-00000000c001";
const absl::Time kStart =
    absl::FromCivil(absl::CivilSecond(2026, 12, 7, 9, 0, 0), absl::UTCTimeZone());

type::v1::CustomValue Text(std::string text) {
  type::v1::CustomValue value;
  value.set_string_value(std::move(text));
  return value;
}

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    TL_ASSERT_OK_AND_ASSIGN(pool_, testing::MigratedPool(dsn_, schema_.name()));
    TL_ASSERT_OK_AND_ASSIGN(tokens_, paging::PageTokens::Load(*pool_));
    ASSERT_TRUE(receiver_.running());
    rules_ = std::make_unique<PgRuleStore>(pool_.get(), [] {});
    rule_manager_ = std::make_unique<RuleManager>(
        rules_.get(), &*tokens_, [this] { return now_; },
        [](const auth::RequestContext&, const std::string&) -> absl::StatusOr<FieldValues> {
          return absl::NotFoundError("no customers here");
        });
    tasks_ = std::make_unique<PgTaskStore>(pool_.get(), [] {});
    endpoints_ = std::make_unique<PgEndpointStore>(pool_.get(), &box_, [] {});
    WebhookSenderOptions sender_options;
    sender_options.allow_private_addresses = true;
    sender_ = std::make_unique<WebhookSender>(sender_options);
    actions_ =
        std::make_unique<ActionRunner>(tasks_.get(), endpoints_.get(), sender_.get(), &delegation_);
    EngineOptions options;
    options.rules_max_age = absl::ZeroDuration();
    engine_ = std::make_unique<Engine>(
        EngineParts{pool_.get(), rules_.get(), actions_.get(), [this] { return now_; }}, options);
    model_ = std::make_unique<customers::ReadModel>(
        [this](pqxx::work& txn, const customers::CustomerRow* before,
               const customers::CustomerRow& after, const events::v1::EventEnvelope* cause) {
          return engine_->OnCustomerChanged(txn, before, after, cause);
        });
    PutCustomer(contacts::v1::CUSTOMER_LEVEL_VIP, {"展会线索"});
  }

  // The customer as the read model keeps it, at the next version, changed by event `cause`.
  void PutCustomer(int level, std::vector<std::string> tags,
                   contacts::v1::LifecycleStatus status = contacts::v1::LIFECYCLE_STATUS_LEAD) {
    customers::CustomerRow row;
    row.tenant_id = kTenant;
    row.customer_id = kCustomer;
    row.state = contacts::v1::CUSTOMER_STATE_ACTIVE;
    row.owner_id = "u-17";
    row.region = "华南";
    row.level = level;
    row.tags = std::move(tags);
    row.lifecycle_status = status;
    row.version = ++customer_version_;
    events::v1::EventEnvelope cause;
    cause.set_event_id(absl::StrCat("customer-event-", customer_version_));
    cause.set_tenant_id(kTenant);
    cause.set_aggregate_id(kCustomer);
    *cause.mutable_occur_time() = ToProtoTime(now_);
    ASSERT_TRUE(
        pool_->Transact([&](pqxx::work& txn) { return model_->Apply(txn, row, &cause).status(); })
            .ok());
  }

  // A TouchpointRecorded event of the customer, `id` its event id.
  events::v1::EventEnvelope Touchpoint(
      const std::string& id, const std::string& summary,
      touchpoints::v1::Direction direction = touchpoints::v1::DIRECTION_OUTBOUND,
      std::string request_id = "") {
    events::v1::TouchpointRecorded recorded;
    touchpoints::v1::Touchpoint& t = *recorded.mutable_touchpoint();
    t.set_touchpoint_id(id);
    t.set_customer_id(kCustomer);
    t.set_channel(touchpoints::v1::CHANNEL_PHONE);
    t.set_direction(direction);
    t.set_summary(summary);
    *t.mutable_occur_time() = ToProtoTime(now_);
    events::v1::EventEnvelope event;
    event.set_event_id(id);
    event.set_tenant_id(kTenant);
    event.set_aggregate_id(kCustomer);
    event.set_request_id(std::move(request_id));
    *event.mutable_occur_time() = ToProtoTime(now_);
    event.mutable_payload()->PackFrom(recorded);
    return event;
  }

  void Apply(const events::v1::EventEnvelope& event) {
    const events::v1::EventEnvelope* events[] = {&event};
    ASSERT_TRUE(
        pool_->Transact([&](pqxx::work& txn) { return engine_->ApplyTouchpoints(txn, events); })
            .ok());
  }

  // Runs due jobs until none is left.
  void Drain() {
    for (int i = 0; i < 50; ++i) {
      absl::StatusOr<int> ran = engine_->RunDueJobs();
      ASSERT_TRUE(ran.ok()) << ran.status();
      if (*ran == 0) return;
    }
    ADD_FAILURE() << "jobs keep coming";
  }

  // Creates and publishes `rule`; returns it as published.
  v1::Rule Publish(v1::Rule rule) {
    v1::CreateRuleRequest create;
    *create.mutable_rule() = std::move(rule);
    absl::StatusOr<v1::CreateRuleResponse> created =
        rule_manager_->CreateRule(testing::Admin(kTenant), create);
    EXPECT_TRUE(created.ok()) << created.status();
    if (!created.ok()) return {};
    v1::PublishRuleRequest publish;
    publish.set_rule_id(created->rule().rule_id());
    absl::StatusOr<v1::PublishRuleResponse> published =
        rule_manager_->PublishRule(testing::Admin(kTenant), publish);
    EXPECT_TRUE(published.ok()) << published.status();
    return published.ok() ? published->rule() : v1::Rule();
  }

  // A webhook endpoint at the receiver's `path`; the receiver verifies with its secret.
  std::string Endpoint(const std::string& path = "/hook", int max_attempts = 3,
                       int per_second = 1000) {
    EndpointManager manager(
        endpoints_.get(), &*tokens_, [this] { return now_; },
        /*allow_private_addresses=*/true);
    v1::CreateWebhookEndpointRequest request;
    request.mutable_endpoint()->set_display_name(absl::StrCat("ERP ", path));
    request.mutable_endpoint()->set_url(receiver_.Url(path));
    request.mutable_endpoint()->set_max_attempts(max_attempts);
    request.mutable_endpoint()->set_rate_limit_per_second(per_second);
    absl::StatusOr<v1::CreateWebhookEndpointResponse> created =
        manager.CreateWebhookEndpoint(testing::Admin(kTenant), request);
    EXPECT_TRUE(created.ok()) << created.status();
    if (!created.ok()) return "";
    receiver_.SetSecrets({created->secret()});
    return created->endpoint().endpoint_id();
  }

  static v1::Rule TouchpointRule(const std::string& contains) {
    v1::Rule rule;
    rule.set_display_name(absl::StrCat("电话提到", contains));
    rule.mutable_trigger()->mutable_touchpoint_recorded();
    v1::Comparison& comparison = *rule.mutable_condition()->add_any_of()->add_all_of();
    comparison.set_field("touchpoint.summary");
    comparison.set_operator_(v1::OPERATOR_CONTAINS);
    *comparison.add_values() = Text(contains);
    return rule;
  }

  static void AddTask(v1::Rule& rule, const std::string& id, const std::string& title,
                      const std::string& body = "客户说：{{touchpoint.summary}}") {
    v1::Action& action = *rule.add_actions();
    action.set_action_id(id);
    action.mutable_create_task()->mutable_assignee()->set_owner(true);
    action.mutable_create_task()->mutable_due_in()->set_seconds(48 * 3600);
    action.mutable_create_task()->set_title_template(title);
    action.mutable_create_task()->set_body_template(body);
  }

  static void AddWebhook(v1::Rule& rule, const std::string& id, const std::string& endpoint) {
    v1::Action& action = *rule.add_actions();
    action.set_action_id(id);
    action.mutable_webhook()->set_endpoint_id(endpoint);
  }

  std::vector<v1::RuleRun> Runs(const std::string& rule_id) {
    Engine::RunQuery query;
    query.tenant_id = kTenant;
    query.rule_id = rule_id;
    absl::StatusOr<std::vector<v1::RuleRun>> runs = engine_->ListRuns(query);
    EXPECT_TRUE(runs.ok()) << runs.status();
    return runs.ok() ? *runs : std::vector<v1::RuleRun>();
  }

  std::vector<v1::Task> Tasks() {
    const auth::RequestContext admin = testing::Admin(kTenant);
    TaskQuery query;
    query.tenant_id = kTenant;
    query.scope = admin.scope.get();
    query.customer_id = kCustomer;
    absl::StatusOr<std::vector<v1::Task>> tasks = tasks_->List(query);
    EXPECT_TRUE(tasks.ok()) << tasks.status();
    return tasks.ok() ? *tasks : std::vector<v1::Task>();
  }

  int Count(const std::string& sql) { return testing::Count(*pool_, sql); }

  absl::Time now_ = kStart;
  const std::string dsn_ = touchline::testing::TestPgDsn();
  touchline::testing::ScopedSchema schema_{"automation_engine"};
  SecretBox box_ = *SecretBox::FromKey(std::string(kSecretKeyBytes, 'k'));
  // Verifies signatures at the engine's clock; now_ only changes between Drain calls.
  testing::WebhookReceiver receiver_{[this] { return now_; }};
  std::unique_ptr<pg::Pool> pool_;
  std::optional<paging::PageTokens> tokens_;
  std::unique_ptr<PgRuleStore> rules_;
  std::unique_ptr<RuleManager> rule_manager_;
  std::unique_ptr<PgTaskStore> tasks_;
  std::unique_ptr<PgEndpointStore> endpoints_;
  std::unique_ptr<WebhookSender> sender_;
  testing::FakeDelegation delegation_;
  std::unique_ptr<ActionRunner> actions_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<customers::ReadModel> model_;
  int64_t customer_version_ = 0;
};

TEST_F(EngineTest, RecordedTouchpointMakesOneTaskAndOneWebhookWhateverIsReplayed) {
  v1::Rule rule = TouchpointRule("投诉");
  AddTask(rule, "follow_up", "跟进投诉：{{touchpoint.summary}}");
  AddWebhook(rule, "notify", Endpoint());
  const v1::Rule published = Publish(rule);

  const events::v1::EventEnvelope event =
      Touchpoint("0190f0c2-aaaa-7000-8000-000000000001", "客户投诉物流太慢");
  Apply(event);
  Drain();
  // The same event again (a redelivery) and the jobs again: nothing more.
  Apply(event);
  Drain();

  const std::vector<v1::Task> tasks = Tasks();
  ASSERT_THAT(tasks, SizeIs(1));
  EXPECT_EQ(tasks[0].title(), "跟进投诉：客户投诉物流太慢");
  EXPECT_EQ(tasks[0].assignee_id(), "u-17");
  EXPECT_EQ(tasks[0].source().rule().rule_id(), published.rule_id());
  EXPECT_EQ(tasks[0].due_time().seconds(), absl::ToUnixSeconds(kStart + absl::Hours(48)));

  const std::vector<testing::WebhookReceiver::Received> received = receiver_.received();
  ASSERT_THAT(received, SizeIs(1));
  EXPECT_TRUE(received[0].verified.ok()) << received[0].verified;
  EXPECT_THAT(received[0].body, HasSubstr("客户投诉物流太慢"));
  EXPECT_THAT(received[0].body, HasSubstr(published.rule_id()));

  const std::vector<v1::RuleRun> runs = Runs(published.rule_id());
  ASSERT_THAT(runs, SizeIs(1));
  EXPECT_EQ(runs[0].state(), v1::RUN_STATE_SUCCEEDED);
  EXPECT_TRUE(runs[0].matched());
  ASSERT_THAT(runs[0].comparisons(), SizeIs(1));
  EXPECT_TRUE(runs[0].comparisons(0).holds());
  ASSERT_THAT(runs[0].actions(), SizeIs(2));
  EXPECT_EQ(runs[0].actions(0).result(), absl::StrCat("task ", tasks[0].task_id()));
  EXPECT_EQ(runs[0].actions(1).state(), v1::ACTION_STATE_SUCCEEDED);
  EXPECT_EQ(runs[0].actions(1).result(), "HTTP 204");
}

TEST_F(EngineTest, ConditionThatDoesNotHoldIsARunWithNoAction) {
  v1::Rule rule = TouchpointRule("投诉");
  AddTask(rule, "follow_up", "跟进");
  const v1::Rule published = Publish(rule);
  Apply(Touchpoint("0190f0c2-aaaa-7000-8000-000000000002", "询问报价"));
  Drain();
  EXPECT_THAT(Tasks(), SizeIs(0));
  const std::vector<v1::RuleRun> runs = Runs(published.rule_id());
  ASSERT_THAT(runs, SizeIs(1));
  EXPECT_FALSE(runs[0].matched());
  EXPECT_EQ(runs[0].state(), v1::RUN_STATE_SUCCEEDED);
  EXPECT_EQ(runs[0].actions(0).state(), v1::ACTION_STATE_SKIPPED);
  EXPECT_EQ(runs[0].comparisons(0).value().string_value(), "询问报价");
}

TEST_F(EngineTest, WebhookRetriedAfter5xxWithTheSameIdThenSucceeds) {
  v1::Rule rule = TouchpointRule("投诉");
  AddWebhook(rule, "notify", Endpoint("/hook", 5));
  const v1::Rule published = Publish(rule);
  receiver_.FailFirst(2);
  Apply(Touchpoint("0190f0c2-aaaa-7000-8000-000000000003", "投诉"));
  for (int i = 0; i < 4; ++i) {
    Drain();
    now_ += absl::Hours(1);  // past any backoff
  }
  const std::vector<testing::WebhookReceiver::Received> received = receiver_.received();
  ASSERT_THAT(received, SizeIs(3));
  EXPECT_EQ(receiver_.distinct_ids().size(), 1u);
  for (const auto& r : received) EXPECT_TRUE(r.verified.ok()) << r.verified;
  const std::vector<v1::RuleRun> runs = Runs(published.rule_id());
  ASSERT_THAT(runs, SizeIs(1));
  EXPECT_EQ(runs[0].state(), v1::RUN_STATE_SUCCEEDED);
  EXPECT_EQ(runs[0].actions(0).attempts(), 3);
}

TEST_F(EngineTest, AnEndpointsRateLimitHoldsAcrossReplicasThroughRedis) {
  // Two replicas, each with its own action runner and engine, taking one job at a time in
  // turn, and one Redis between them (at the test's clock).
  TL_ASSERT_OK_AND_ASSIGN(redis::RedisOptions redis_options,
                          redis::ParseRedisAddress(touchline::testing::TestRedisAddr()));
  TL_ASSERT_OK_AND_ASSIGN(std::unique_ptr<redis::Pool> redis, redis::Pool::Create(redis_options));
  const ratelimit::RateLimiter::Options limits{
      .key_prefix = touchline::testing::UniqueRedisPrefix(), .clock = [this] { return now_; }};
  std::vector<std::unique_ptr<ratelimit::RateLimiter>> limiters;
  std::vector<std::unique_ptr<ActionRunner>> runners;
  std::vector<std::unique_ptr<Engine>> replicas;
  for (const char* name : {"replica-a", "replica-b"}) {
    limiters.push_back(std::make_unique<ratelimit::RateLimiter>(redis.get(), limits));
    runners.push_back(std::make_unique<ActionRunner>(tasks_.get(), endpoints_.get(), sender_.get(),
                                                     &delegation_, limiters.back().get()));
    EngineOptions options;
    options.worker_id = name;
    options.rules_max_age = absl::ZeroDuration();
    options.claim_batch = 1;
    replicas.push_back(std::make_unique<Engine>(
        EngineParts{pool_.get(), rules_.get(), runners.back().get(), [this] { return now_; }},
        options));
  }
  const auto work = [&] {
    for (int turn = 0; turn < 10; ++turn) {
      for (const std::unique_ptr<Engine>& replica : replicas) {
        ASSERT_TRUE(replica->RunDueJobs().ok());
      }
    }
  };
  v1::Rule rule = TouchpointRule("投诉");
  AddWebhook(rule, "notify", Endpoint("/hook", 3, /*per_second=*/2));
  const v1::Rule published = Publish(rule);
  for (int i = 0; i < 6; ++i) {
    Apply(Touchpoint(absl::StrCat("0190f0c2-aaaa-7000-8000-0000000001", i, "0"), "投诉"));
  }

  // Two a second between them (each replica alone would send two), a burst of two.
  work();
  EXPECT_EQ(receiver_.received().size(), 2u);
  now_ += absl::Seconds(1);
  work();
  EXPECT_EQ(receiver_.received().size(), 4u);
  now_ += absl::Seconds(1);
  work();
  EXPECT_EQ(receiver_.received().size(), 6u);
  EXPECT_EQ(receiver_.distinct_ids().size(), 6u);
  // Waiting for the limit is not an attempt.
  const std::vector<v1::RuleRun> runs = Runs(published.rule_id());
  ASSERT_THAT(runs, SizeIs(6));
  for (const v1::RuleRun& run : runs) {
    EXPECT_EQ(run.state(), v1::RUN_STATE_SUCCEEDED);
    EXPECT_EQ(run.actions(0).attempts(), 1);
  }
}

TEST_F(EngineTest, RefusedWebhookIsADeadLetterThatCanBeDiscardedAndTheRunGoesOn) {
  v1::Rule rule = TouchpointRule("投诉");
  AddWebhook(rule, "notify", Endpoint("/refuse"));
  AddTask(rule, "follow_up", "跟进");
  const v1::Rule published = Publish(rule);
  Apply(Touchpoint("0190f0c2-aaaa-7000-8000-000000000004", "投诉"));
  Drain();
  std::vector<v1::RuleRun> runs = Runs(published.rule_id());
  ASSERT_THAT(runs, SizeIs(1));
  EXPECT_EQ(runs[0].state(), v1::RUN_STATE_FAILED);
  EXPECT_EQ(runs[0].actions(0).state(), v1::ACTION_STATE_DEAD_LETTERED);
  EXPECT_THAT(runs[0].actions(0).last_error(), HasSubstr("400"));
  EXPECT_THAT(Tasks(), SizeIs(0));

  absl::StatusOr<std::vector<Job>> dead = engine_->jobs().ListDead(kTenant, 10);
  ASSERT_TRUE(dead.ok());
  ASSERT_THAT(*dead, SizeIs(1));
  absl::StatusOr<v1::DeadLetter> letter = engine_->DeadLetterOf((*dead)[0]);
  ASSERT_TRUE(letter.ok()) << letter.status();
  EXPECT_EQ(letter->action_id(), "notify");
  EXPECT_EQ(letter->run_id(), runs[0].run_id());
  EXPECT_EQ(letter->attempts(), 1);

  absl::StatusOr<v1::RuleRun> discarded = engine_->Discard(kTenant, letter->dead_letter_id());
  ASSERT_TRUE(discarded.ok()) << discarded.status();
  EXPECT_EQ(discarded->actions(0).state(), v1::ACTION_STATE_SKIPPED);
  Drain();
  EXPECT_THAT(Tasks(), SizeIs(1));
  runs = Runs(published.rule_id());
  EXPECT_EQ(runs[0].state(), v1::RUN_STATE_SUCCEEDED);
}

TEST_F(EngineTest, InactivityFiresOnceAfterTheQuietPeriodAndIsReArmedByATouchpoint) {
  v1::Rule rule;
  rule.set_display_name("30 天未联系");
  rule.mutable_trigger()->mutable_inactivity()->mutable_after()->set_seconds(30 * 86400);
  AddTask(rule, "remind", "{{customer.region}} 客户 30 天未联系", "");
  const v1::Rule published = Publish(rule);

  Apply(Touchpoint("0190f0c2-aaaa-7000-8000-000000000005", "拜访"));
  now_ += absl::Hours(24 * 30) - absl::Seconds(1);
  absl::StatusOr<int> fired = engine_->FireInactivity();
  ASSERT_TRUE(fired.ok()) << fired.status();
  EXPECT_EQ(*fired, 0);
  now_ += absl::Seconds(2);
  fired = engine_->FireInactivity();
  ASSERT_TRUE(fired.ok());
  EXPECT_EQ(*fired, 1);
  EXPECT_EQ(*engine_->FireInactivity(), 0);
  Drain();
  std::vector<v1::Task> tasks = Tasks();
  ASSERT_THAT(tasks, SizeIs(1));
  EXPECT_EQ(tasks[0].title(), "华南 客户 30 天未联系");

  // A touchpoint re-arms it: 30 days from then, not before.
  now_ += absl::Hours(24);
  Apply(Touchpoint("0190f0c2-aaaa-7000-8000-000000000006", "回访"));
  now_ += absl::Hours(24 * 29);
  EXPECT_EQ(*engine_->FireInactivity(), 0);
  now_ += absl::Hours(24);
  EXPECT_EQ(*engine_->FireInactivity(), 1);
  Drain();
  EXPECT_THAT(Tasks(), SizeIs(2));
  EXPECT_THAT(Runs(published.rule_id()), SizeIs(2));
}

TEST_F(EngineTest, RunsAtTheDepthLimitAreSkipped) {
  v1::Rule rule = TouchpointRule("投诉");
  AddTask(rule, "follow_up", "跟进");
  const v1::Rule published = Publish(rule);
  Apply(Touchpoint("0190f0c2-aaaa-7000-8000-000000000007", "投诉",
                   touchpoints::v1::DIRECTION_OUTBOUND, EngineRequestId(3, "x")));
  Apply(Touchpoint("0190f0c2-aaaa-7000-8000-000000000008", "投诉",
                   touchpoints::v1::DIRECTION_OUTBOUND, EngineRequestId(2, "y")));
  Drain();
  const std::vector<v1::RuleRun> runs = Runs(published.rule_id());
  ASSERT_THAT(runs, SizeIs(2));
  int skipped = 0;
  for (const v1::RuleRun& run : runs) {
    if (run.depth() == 3) {
      EXPECT_EQ(run.state(), v1::RUN_STATE_SKIPPED);
      ++skipped;
    } else {
      EXPECT_EQ(run.depth(), 2);
      EXPECT_EQ(run.state(), v1::RUN_STATE_SUCCEEDED);
    }
  }
  EXPECT_EQ(skipped, 1);
  EXPECT_THAT(Tasks(), SizeIs(1));
}

TEST_F(EngineTest, OncePerCustomerSkipsTheSecondMatch) {
  v1::Rule rule = TouchpointRule("投诉");
  rule.mutable_reenrollment()->set_once_per_customer(true);
  AddTask(rule, "follow_up", "跟进");
  const v1::Rule published = Publish(rule);
  Apply(Touchpoint("0190f0c2-aaaa-7000-8000-000000000009", "投诉"));
  Drain();
  now_ += absl::Hours(1);
  Apply(Touchpoint("0190f0c2-aaaa-7000-8000-00000000000a", "又投诉"));
  Drain();
  const std::vector<v1::RuleRun> runs = Runs(published.rule_id());
  ASSERT_THAT(runs, SizeIs(2));
  EXPECT_EQ(runs[0].state(), v1::RUN_STATE_SKIPPED);  // the newest first
  EXPECT_EQ(runs[1].state(), v1::RUN_STATE_SUCCEEDED);
  EXPECT_THAT(Tasks(), SizeIs(1));
}

TEST_F(EngineTest, CustomerChangeStartsTheRulesOfThatField) {
  v1::Rule rule;
  rule.set_display_name("升级为 VIP");
  rule.mutable_trigger()->mutable_customer_changed()->set_field("tags");
  *rule.mutable_trigger()->mutable_customer_changed()->mutable_to() = Text("高意向");
  AddTask(rule, "brochure", "给 {{customer.owner_id}} 的高意向客户寄资料", "");
  const v1::Rule published = Publish(rule);
  PutCustomer(contacts::v1::CUSTOMER_LEVEL_VIP, {"展会线索", "高意向"});
  Drain();
  // Another change that does not add the tag: nothing.
  PutCustomer(contacts::v1::CUSTOMER_LEVEL_KEY, {"展会线索", "高意向"});
  Drain();
  const std::vector<v1::Task> tasks = Tasks();
  ASSERT_THAT(tasks, SizeIs(1));
  EXPECT_EQ(tasks[0].title(), "给 u-17 的高意向客户寄资料");
  EXPECT_THAT(Runs(published.rule_id()), SizeIs(1));
}

TEST_F(EngineTest, DelayedRunChecksTheCustomerAsItIsThen) {
  v1::Rule rule = TouchpointRule("投诉");
  rule.mutable_trigger()->mutable_delay()->set_seconds(3600);
  v1::Comparison& vip = *rule.mutable_condition()->mutable_any_of(0)->add_all_of();
  vip.set_field("customer.level");
  vip.set_operator_(v1::OPERATOR_EQUALS);
  *vip.add_values() = Text("CUSTOMER_LEVEL_VIP");
  AddTask(rule, "follow_up", "跟进");
  const v1::Rule published = Publish(rule);
  Apply(Touchpoint("0190f0c2-aaaa-7000-8000-00000000000b", "投诉"));
  Drain();
  EXPECT_THAT(Runs(published.rule_id()), SizeIs(0));  // still waiting
  PutCustomer(contacts::v1::CUSTOMER_LEVEL_STANDARD, {});
  now_ += absl::Minutes(61);
  Drain();
  const std::vector<v1::RuleRun> runs = Runs(published.rule_id());
  ASSERT_THAT(runs, SizeIs(1));
  EXPECT_FALSE(runs[0].matched());
  EXPECT_THAT(Tasks(), SizeIs(0));
}

TEST_F(EngineTest, SequenceStepsWaitAndStopWhenTheCustomerReplies) {
  v1::Rule rule = TouchpointRule("白皮书");
  v1::Action& start = *rule.add_actions();
  start.set_action_id("nurture");
  start.mutable_start_sequence()->set_exit_on_reply(true);
  for (const char* id : {"day0", "day3", "day7"}) {
    v1::SequenceStep& step = *start.mutable_start_sequence()->add_steps();
    step.mutable_wait()->set_seconds(std::string(id) == "day0" ? 0 : 3 * 86400);
    step.mutable_action()->set_action_id(id);
    step.mutable_action()->mutable_create_task()->mutable_assignee()->set_owner(true);
    step.mutable_action()->mutable_create_task()->mutable_due_in()->set_seconds(86400);
    step.mutable_action()->mutable_create_task()->set_title_template(absl::StrCat("培育 ", id));
  }
  const v1::Rule published = Publish(rule);
  Apply(Touchpoint("0190f0c2-aaaa-7000-8000-00000000000c", "下载白皮书"));
  Drain();
  ASSERT_THAT(Tasks(), SizeIs(1));
  EXPECT_EQ(Tasks()[0].source().rule().action_id(), "nurture/day0");
  now_ += absl::Hours(72) + absl::Seconds(1);
  Drain();
  EXPECT_THAT(Tasks(), SizeIs(2));
  now_ += absl::Hours(1);
  Apply(Touchpoint("0190f0c2-aaaa-7000-8000-00000000000d", "客户回复了邮件",
                   touchpoints::v1::DIRECTION_INBOUND));
  now_ += absl::Hours(72);
  Drain();
  EXPECT_THAT(Tasks(), SizeIs(2));
  const std::vector<v1::RuleRun> runs = Runs(published.rule_id());
  ASSERT_THAT(runs, SizeIs(2));  // the newest: the reply, which does not mention 白皮书
  EXPECT_FALSE(runs[0].matched());
  const v1::RuleRun& nurture = runs[1];
  ASSERT_THAT(nurture.actions(), SizeIs(4));
  EXPECT_EQ(nurture.actions(2).state(), v1::ACTION_STATE_SUCCEEDED);
  EXPECT_EQ(nurture.actions(3).action_id(), "nurture/day7");
  EXPECT_EQ(nurture.actions(3).state(), v1::ACTION_STATE_SKIPPED);
  EXPECT_THAT(nurture.actions(3).result(), HasSubstr("replied"));
  EXPECT_EQ(nurture.state(), v1::RUN_STATE_SUCCEEDED);
}

TEST_F(EngineTest, AWorkerThatDiesMidRunLosesItsClaimAndTheActionHappensOnce) {
  v1::Rule rule = TouchpointRule("投诉");
  AddTask(rule, "follow_up", "跟进");
  AddWebhook(rule, "notify", Endpoint());
  const v1::Rule published = Publish(rule);
  Apply(Touchpoint("0190f0c2-aaaa-7000-8000-00000000000e", "投诉"));
  // Another replica claims the run and dies before finishing it.
  absl::StatusOr<std::vector<Job>> stolen =
      engine_->jobs().Claim("dead-replica", 10, absl::Minutes(2));
  ASSERT_TRUE(stolen.ok());
  ASSERT_THAT(*stolen, SizeIs(1));
  Drain();
  EXPECT_THAT(Runs(published.rule_id()), SizeIs(0));
  now_ += absl::Minutes(3);
  Drain();
  EXPECT_THAT(Tasks(), SizeIs(1));
  EXPECT_EQ(receiver_.distinct_ids().size(), 1u);
  // Its late write is refused; nothing more happens.
  EXPECT_FALSE(engine_->jobs().Complete((*stolen)[0]).ok());
  Drain();
  EXPECT_THAT(Tasks(), SizeIs(1));
  EXPECT_THAT(receiver_.received(), SizeIs(1));
}

TEST_F(EngineTest, TheWorkerThatRecordsARunGoesOnWithItsActionsInTheSamePass) {
  v1::Rule rule = TouchpointRule("投诉");
  AddTask(rule, "follow_up", "跟进");
  AddWebhook(rule, "notify", Endpoint());
  const v1::Rule published = Publish(rule);
  Apply(Touchpoint("0190f0c2-aaaa-7000-8000-000000000010", "投诉"));
  // One claim: the run, then the task and the webhook, each enqueued claimed by this worker.
  absl::StatusOr<int> ran = engine_->RunDueJobs();
  ASSERT_TRUE(ran.ok()) << ran.status();
  EXPECT_EQ(*ran, 3);
  EXPECT_THAT(Tasks(), SizeIs(1));
  EXPECT_THAT(receiver_.received(), SizeIs(1));
  const std::vector<v1::RuleRun> runs = Runs(published.rule_id());
  ASSERT_THAT(runs, SizeIs(1));
  EXPECT_EQ(runs[0].state(), v1::RUN_STATE_SUCCEEDED);
  EXPECT_EQ(Count("SELECT count(*)::int FROM jobs WHERE kind = 'action' AND state = 'done' "
                  "AND attempts = 1"),
            2);
  EXPECT_EQ(*engine_->RunDueJobs(), 0);
}

TEST_F(EngineTest, AWorkerKilledBeforeItsContinuedActionLeavesItToTheLeaseAndItHappensOnce) {
  v1::Rule rule = TouchpointRule("投诉");
  AddTask(rule, "follow_up", "跟进");
  AddWebhook(rule, "notify", Endpoint());
  const v1::Rule published = Publish(rule);
  Apply(Touchpoint("0190f0c2-aaaa-7000-8000-000000000011", "投诉"));
  // A replica that dies right after recording the run, its first action claimed for itself.
  EngineOptions options;
  options.rules_max_age = absl::ZeroDuration();
  options.worker_id = "dying-replica";
  options.before_continuing = [](const Job&) { return false; };
  {
    Engine dying(EngineParts{pool_.get(), rules_.get(), actions_.get(), [this] { return now_; }},
                 options);
    absl::StatusOr<int> ran = dying.RunDueJobs();
    ASSERT_TRUE(ran.ok()) << ran.status();
    EXPECT_EQ(*ran, 1);
  }
  std::vector<v1::RuleRun> runs = Runs(published.rule_id());
  ASSERT_THAT(runs, SizeIs(1));
  EXPECT_EQ(runs[0].actions(0).state(), v1::ACTION_STATE_PENDING);
  EXPECT_EQ(Count("SELECT count(*)::int FROM jobs WHERE kind = 'action' AND state = 'claimed' "
                  "AND claimed_by = 'dying-replica'"),
            1);
  // Its lease holds the action back from the others.
  Drain();
  EXPECT_THAT(Tasks(), SizeIs(0));
  EXPECT_THAT(receiver_.received(), SizeIs(0));
  // Past the lease another worker claims it: the task and the webhook, once each.
  now_ += options.lease + absl::Seconds(1);
  Drain();
  EXPECT_THAT(Tasks(), SizeIs(1));
  EXPECT_THAT(receiver_.received(), SizeIs(1));
  runs = Runs(published.rule_id());
  ASSERT_THAT(runs, SizeIs(1));
  EXPECT_EQ(runs[0].state(), v1::RUN_STATE_SUCCEEDED);
  EXPECT_EQ(runs[0].actions(0).state(), v1::ACTION_STATE_SUCCEEDED);
  EXPECT_EQ(Count("SELECT count(*)::int FROM jobs WHERE kind = 'action' AND state = 'done' "
                  "AND attempts = 2"),
            1);
  Drain();
  EXPECT_THAT(Tasks(), SizeIs(1));
  EXPECT_THAT(receiver_.received(), SizeIs(1));
}

TEST_F(EngineTest, TheRunsOfABatchCommitTogetherAndARunThatFailsIsUndoneAlone) {
  v1::Rule rule = TouchpointRule("投诉");
  AddTask(rule, "follow_up", "跟进：{{touchpoint.summary}}");
  const v1::Rule published = Publish(rule);
  // A run job whose customer id PostgreSQL refuses: its statements fail.
  internal::PendingRun broken;
  broken.set_rule_id(published.rule_id());
  broken.set_rule_version(published.version());
  broken.set_cause("broken-cause");
  broken.mutable_trigger()->set_event_id("broken-cause");
  broken.mutable_trigger()->set_customer_id("not-a-uuid");
  *broken.mutable_trigger()->mutable_occur_time() = ToProtoTime(now_);
  *broken.mutable_due_time() = ToProtoTime(now_);
  ASSERT_TRUE(engine_->jobs()
                  .Enqueue({.tenant_id = kTenant,
                            .key = "run/broken",
                            .kind = "run",
                            .payload = broken.SerializeAsString(),
                            .due_time = now_})
                  .ok());
  Apply(Touchpoint("0190f0c2-aaaa-7000-8000-000000000012", "投诉一"));
  Apply(Touchpoint("0190f0c2-aaaa-7000-8000-000000000013", "投诉二"));
  // One claim of the three: the two good runs and their tasks; the broken one undone alone.
  absl::StatusOr<int> ran = engine_->RunDueJobs();
  ASSERT_TRUE(ran.ok()) << ran.status();
  EXPECT_EQ(*ran, 5);
  EXPECT_THAT(Tasks(), SizeIs(2));
  const std::vector<v1::RuleRun> runs = Runs(published.rule_id());
  ASSERT_THAT(runs, SizeIs(2));
  for (const v1::RuleRun& run : runs) EXPECT_EQ(run.state(), v1::RUN_STATE_SUCCEEDED);
  EXPECT_EQ(Count("SELECT count(*)::int FROM jobs WHERE kind = 'run' AND state = 'done'"), 2);
  // Still claimed: it returns when the lease runs out, and fails again.
  EXPECT_EQ(Count("SELECT count(*)::int FROM jobs WHERE key = 'run/broken' AND state = 'claimed'"),
            1);
  EXPECT_EQ(*engine_->RunDueJobs(), 0);
  now_ += absl::Minutes(2);
  EXPECT_EQ(*engine_->RunDueJobs(), 1);
  EXPECT_EQ(Count("SELECT count(*)::int FROM jobs WHERE key = 'run/broken' AND attempts = 2"), 1);
  EXPECT_THAT(Tasks(), SizeIs(2));
}

TEST_F(EngineTest, TimersThatFellDueWhileDownRunOnceOrAreSkippedByPolicy) {
  v1::Rule run_once = TouchpointRule("投诉");
  run_once.set_display_name("一小时后回访");
  run_once.mutable_trigger()->mutable_delay()->set_seconds(3600);
  AddTask(run_once, "follow_up", "回访：{{touchpoint.summary}}");
  v1::Rule skip = run_once;
  skip.set_display_name("一小时后回访（错过不补）");
  skip.set_misfire_policy(v1::MISFIRE_POLICY_SKIP);
  const v1::Rule once_rule = Publish(run_once);
  const v1::Rule skip_rule = Publish(skip);
  Apply(Touchpoint("0190f0c2-aaaa-7000-8000-000000000101", "投诉一"));
  Apply(Touchpoint("0190f0c2-aaaa-7000-8000-000000000102", "投诉二"));
  // Down for a day: both delays fell due long ago when the workers come back.
  now_ += absl::Hours(24);
  Drain();
  std::vector<v1::RuleRun> once = Runs(once_rule.rule_id());
  ASSERT_THAT(once, SizeIs(2));
  int ran = 0;
  for (const v1::RuleRun& run : once) ran += run.state() == v1::RUN_STATE_SUCCEEDED ? 1 : 0;
  EXPECT_EQ(ran, 1) << "one run per customer however many fell due";
  for (const v1::RuleRun& run : Runs(skip_rule.rule_id())) {
    EXPECT_EQ(run.state(), v1::RUN_STATE_SKIPPED);
  }
  EXPECT_THAT(Tasks(), SizeIs(1));

  // On time, the same rule runs as usual.
  Apply(Touchpoint("0190f0c2-aaaa-7000-8000-000000000103", "投诉三"));
  now_ += absl::Minutes(61);
  Drain();
  EXPECT_THAT(Tasks(), SizeIs(3));
}

TEST_F(EngineTest, APausedRuleStartsNothingAndItsTimersFollowTheMisfirePolicyOnResume) {
  v1::Rule rule = TouchpointRule("投诉");
  rule.mutable_trigger()->mutable_delay()->set_seconds(600);
  rule.set_misfire_policy(v1::MISFIRE_POLICY_SKIP);
  AddTask(rule, "follow_up", "跟进");
  const v1::Rule published = Publish(rule);
  Apply(Touchpoint("0190f0c2-aaaa-7000-8000-000000000111", "投诉"));
  v1::PauseRuleRequest pause;
  pause.set_rule_id(published.rule_id());
  ASSERT_TRUE(rule_manager_->PauseRule(testing::Admin(kTenant), pause).ok());
  // While paused: a new event starts nothing; the delayed run falls due and waits.
  Apply(Touchpoint("0190f0c2-aaaa-7000-8000-000000000112", "投诉"));
  now_ += absl::Minutes(11);
  Drain();
  EXPECT_THAT(Runs(published.rule_id()), SizeIs(0));
  now_ += absl::Minutes(1);
  v1::ResumeRuleRequest resume;
  resume.set_rule_id(published.rule_id());
  ASSERT_TRUE(rule_manager_->ResumeRule(testing::Admin(kTenant), resume).ok());
  now_ += absl::Seconds(11);  // the waiting run is tried again every 10 s
  Drain();
  const std::vector<v1::RuleRun> runs = Runs(published.rule_id());
  ASSERT_THAT(runs, SizeIs(1));
  EXPECT_EQ(runs[0].state(), v1::RUN_STATE_SKIPPED);
  EXPECT_THAT(Tasks(), SizeIs(0));
}

TEST_F(EngineTest, ScheduleFiresOncePerCronTimeForTheCustomersItSelects) {
  v1::Rule rule;
  rule.set_display_name("每天早上九点提醒 VIP");
  rule.mutable_trigger()->mutable_schedule()->set_cron("0 9 * * *");  // Asia/Shanghai
  v1::Comparison& vip = *rule.mutable_condition()->add_any_of()->add_all_of();
  vip.set_field("customer.level");
  vip.set_operator_(v1::OPERATOR_EQUALS);
  *vip.add_values() = Text("CUSTOMER_LEVEL_VIP");
  AddTask(rule, "call", "致电 VIP（{{customer.region}}）", "");
  const v1::Rule published = Publish(rule);
  // Published at 17:00 in Shanghai: the first time is 09:00 there the next day, 01:00 UTC.
  EXPECT_EQ(*engine_->FireSchedules(), 0);
  now_ = kStart + absl::Hours(16) - absl::Seconds(1);
  EXPECT_EQ(*engine_->FireSchedules(), 0);
  now_ += absl::Seconds(2);
  EXPECT_EQ(*engine_->FireSchedules(), 1);
  EXPECT_EQ(*engine_->FireSchedules(), 0);
  Drain();
  ASSERT_THAT(Tasks(), SizeIs(1));
  EXPECT_EQ(Tasks()[0].title(), "致电 VIP（华南）");
  // Three days later: the missed times fire once, for the latest.
  now_ += absl::Hours(72);
  EXPECT_EQ(*engine_->FireSchedules(), 1);
  Drain();
  EXPECT_THAT(Tasks(), SizeIs(2));
  // A customer the condition does not select gets nothing.
  PutCustomer(contacts::v1::CUSTOMER_LEVEL_STANDARD, {});
  now_ += absl::Hours(24);
  EXPECT_EQ(*engine_->FireSchedules(), 0);
  EXPECT_THAT(Runs(published.rule_id()), SizeIs(2));
}

TEST_F(EngineTest, RunManagerPagesRunsAndDeadLettersForAdministratorsOnly) {
  v1::Rule rule = TouchpointRule("投诉");
  AddWebhook(rule, "notify", Endpoint("/refuse"));
  const v1::Rule published = Publish(rule);
  for (const char* id :
       {"0190f0c2-aaaa-7000-8000-0000000000f1", "0190f0c2-aaaa-7000-8000-0000000000f2",
        "0190f0c2-aaaa-7000-8000-0000000000f3"}) {
    Apply(Touchpoint(id, "投诉"));
    now_ += absl::Seconds(1);
  }
  Drain();
  RunManager manager(engine_.get(), &*tokens_);
  v1::ListRuleRunsRequest list;
  list.set_rule_id(published.rule_id());
  list.set_page_size(2);
  absl::StatusOr<v1::ListRuleRunsResponse> page =
      manager.ListRuleRuns(testing::Admin(kTenant), list);
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_THAT(page->runs(), SizeIs(2));
  ASSERT_FALSE(page->next_page_token().empty());
  const std::string newest = page->runs(0).run_id();
  list.set_page_token(page->next_page_token());
  absl::StatusOr<v1::ListRuleRunsResponse> rest =
      manager.ListRuleRuns(testing::Admin(kTenant), list);
  ASSERT_TRUE(rest.ok()) << rest.status();
  ASSERT_THAT(rest->runs(), SizeIs(1));
  EXPECT_TRUE(rest->next_page_token().empty());
  EXPECT_NE(rest->runs(0).run_id(), newest);
  // A token is for its query only.
  list.set_state(v1::RUN_STATE_FAILED);
  EXPECT_EQ(manager.ListRuleRuns(testing::Admin(kTenant), list).status().code(),
            absl::StatusCode::kInvalidArgument);

  v1::ListDeadLettersRequest dead;
  dead.set_rule_id(published.rule_id());
  dead.set_page_size(2);
  absl::StatusOr<v1::ListDeadLettersResponse> letters =
      manager.ListDeadLetters(testing::Admin(kTenant), dead);
  ASSERT_TRUE(letters.ok()) << letters.status();
  ASSERT_THAT(letters->dead_letters(), SizeIs(2));
  dead.set_page_token(letters->next_page_token());
  letters = manager.ListDeadLetters(testing::Admin(kTenant), dead);
  ASSERT_TRUE(letters.ok()) << letters.status();
  ASSERT_THAT(letters->dead_letters(), SizeIs(1));

  v1::RedriveDeadLetterRequest redrive;
  redrive.set_dead_letter_id(letters->dead_letters(0).dead_letter_id());
  absl::StatusOr<v1::RedriveDeadLetterResponse> redriven =
      manager.RedriveDeadLetter(testing::Admin(kTenant), redrive);
  ASSERT_TRUE(redriven.ok()) << redriven.status();
  EXPECT_EQ(redriven->run().state(), v1::RUN_STATE_RUNNING);
  EXPECT_EQ(redriven->run().actions(0).state(), v1::ACTION_STATE_PENDING);
  EXPECT_EQ(manager.RedriveDeadLetter(testing::Admin(kTenant), redrive).status().code(),
            absl::StatusCode::kFailedPrecondition);
  Drain();  // refused again: dead again
  EXPECT_EQ(engine_->GetRun(kTenant, redriven->run().run_id())->state(), v1::RUN_STATE_FAILED);

  EXPECT_EQ(manager.ListRuleRuns(testing::Rep(kTenant), list).status().code(),
            absl::StatusCode::kPermissionDenied);
  v1::GetRuleRunRequest get;
  get.set_run_id("not-a-uuid");
  EXPECT_EQ(manager.GetRuleRun(testing::Admin(kTenant), get).status().code(),
            absl::StatusCode::kInvalidArgument);
  get.set_run_id("0190f0c2-aaaa-7000-8000-0000000000ff");
  EXPECT_EQ(manager.GetRuleRun(testing::Admin(kTenant), get).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(EngineTest, ARunShowsItsValuesThroughTheReadersFieldPolicies) {
  v1::Rule rule = TouchpointRule("投诉");
  AddTask(rule, "call_back", "回电", "");
  const v1::Rule published = Publish(rule);
  Apply(Touchpoint("0190f0c2-bbbb-7000-8000-0000000000a1", "投诉：物流太慢"));
  Drain();
  RunManager manager(engine_.get(), &*tokens_);
  v1::ListRuleRunsRequest list;
  list.set_rule_id(published.rule_id());
  absl::StatusOr<v1::ListRuleRunsResponse> whole =
      manager.ListRuleRuns(testing::Admin(kTenant), list);
  ASSERT_TRUE(whole.ok()) << whole.status();
  ASSERT_THAT(whole->runs(), SizeIs(1));
  ASSERT_THAT(whole->runs(0).comparisons(), SizeIs(1));
  EXPECT_EQ(whole->runs(0).comparisons(0).value().string_value(), "投诉：物流太慢");
  EXPECT_EQ(whole->runs(0).trigger().fields().at("touchpoint.summary").string_value(),
            "投诉：物流太慢");

  permissions::v1::EffectiveScope scope = auth::testing::AdminScope(kTenant, "u-auditor");
  *scope.add_field_rules() =
      auth::testing::FieldRuleOf("touchpoint", "summary", permissions::v1::FIELD_ACCESS_HIDDEN);
  const auth::RequestContext reader = auth::testing::CallerWithScope(scope, kTenant, "u-auditor");
  absl::StatusOr<v1::ListRuleRunsResponse> shown = manager.ListRuleRuns(reader, list);
  ASSERT_TRUE(shown.ok()) << shown.status();
  ASSERT_THAT(shown->runs(), SizeIs(1));
  EXPECT_TRUE(shown->runs(0).comparisons(0).holds());
  EXPECT_FALSE(shown->runs(0).comparisons(0).has_value());
  EXPECT_FALSE(shown->runs(0).trigger().fields().contains("touchpoint.summary"));
  EXPECT_TRUE(shown->runs(0).trigger().fields().contains("touchpoint.channel"));
  v1::GetRuleRunRequest get;
  get.set_run_id(shown->runs(0).run_id());
  absl::StatusOr<v1::GetRuleRunResponse> one = manager.GetRuleRun(reader, get);
  ASSERT_TRUE(one.ok()) << one.status();
  EXPECT_FALSE(one->run().trigger().fields().contains("touchpoint.summary"));
}

TEST_F(EngineTest, AnIdleEngineLooksWithOneWorkerAtATimeAndWorkFoundWakesTheOthers) {
  // Each claim reads the clock twice (the batch's time, the queue's): counting the readings
  // counts the claims.
  std::atomic<int> readings{0};
  EngineOptions options;
  options.rules_max_age = absl::ZeroDuration();
  options.workers = 8;
  options.idle_wait = absl::Milliseconds(50);
  Engine engine(EngineParts{pool_.get(), rules_.get(), actions_.get(),
                            [&] {
                              readings.fetch_add(1);
                              return now_;
                            }},
                options);
  engine.Start();
  absl::SleepFor(absl::Seconds(1));
  const int idle = readings.load();
  // About 20 claims in the second (one each 50 ms); 8 workers each waiting on their own would
  // make about 160.
  EXPECT_GE(idle, 2);
  EXPECT_LE(idle, 2 * 50) << "claims of an idle engine: " << idle / 2;
  // A run comes; whichever worker looks next finds it, and its task follows.
  v1::Rule rule = TouchpointRule("投诉");
  AddTask(rule, "follow_up", "跟进");
  Publish(rule);
  Apply(Touchpoint("0190f0c2-aaaa-7000-8000-000000000031", "投诉"));
  EXPECT_TRUE(
      ::touchline::testing::Eventually([&] { return !Tasks().empty(); }, std::chrono::seconds(10)));
  engine.Stop();
  EXPECT_THAT(Tasks(), SizeIs(1));
}

}  // namespace
}  // namespace touchline::automation
