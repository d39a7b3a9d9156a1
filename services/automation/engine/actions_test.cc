// ActionRunner acting for the rule's owner, against a FakeDelegation (contacts and
// permissions as the owner sees them) and the in-memory task store: changes of customers
// (planned from the customer as it is, written with its etag and a request id that keys the
// action), assignees (the owner's manager, a team in turn), and the owner's field policies on
// what a task carries.
#include "services/automation/engine/actions.h"

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/auth/testing/trusted_authenticator.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/automation/endpoints/secret_box.h"
#include "services/automation/endpoints/testing/in_memory_endpoint_store.h"
#include "services/automation/engine/testing/fake_delegation.h"
#include "services/automation/engine/triggers.h"
#include "services/automation/rules/run_fields.h"
#include "services/automation/tasks/testing/in_memory_task_store.h"

namespace touchline::automation {
namespace {

namespace cv1 = ::touchline::contacts::v1;
namespace pv1 = ::touchline::permissions::v1;
using ::testing::HasSubstr;
using ::testing::Not;
using Kind = ActionOutcome::Kind;

constexpr char kTenant[] = "acme";
constexpr char kCustomer[] = "0190f0a0-0000-7000-8000-000000000001";
constexpr char kOwner[] = "u-admin";   // the rule's owner
constexpr char kRep[] = "u-rep";       // the customer's owner
constexpr char kManager[] = "u-boss";  // the rep's manager

class ActionRunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tasks_.AddCustomer(kTenant, {.customer_id = kCustomer,
                                 .owner_id = kRep,
                                 .region = "华东",
                                 .level = cv1::CUSTOMER_LEVEL_STANDARD,
                                 .shares = {}});
    cv1::Customer customer;
    customer.set_customer_id(kCustomer);
    customer.set_display_name("王小明");
    customer.set_owner_id(kRep);
    customer.set_level(cv1::CUSTOMER_LEVEL_STANDARD);
    customer.add_tags("展会线索");
    (*customer.mutable_custom_fields())["lead_score"].set_int_value(10);
    (*customer.mutable_custom_fields())["budget"].set_string_value("300万");
    delegation_.PutCustomer(customer);
    values_ = CustomerFieldValues(customer);
    run_.set_run_id("run-1");
    run_.set_rule_id("rule-1");
    run_.set_rule_version(1);
    run_.mutable_trigger()->set_customer_id(kCustomer);
  }

  ActionOutcome Run(const v1::Action& action, int attempts = 0, const std::string& key = "key-1") {
    return runner_.Run({.tenant_id = kTenant,
                        .run = &run_,
                        .owner_id = kOwner,
                        .action = &action,
                        .label = action.action_id(),
                        .key = key,
                        .values = &values_,
                        .attempts = attempts,
                        .now = absl::FromUnixSeconds(1'800'000'000)});
  }

  static v1::Action LeadScore(int points) {
    v1::Action action;
    action.set_action_id("score");
    action.mutable_add_lead_score()->set_points(points);
    action.mutable_add_lead_score()->set_reason("下载白皮书");
    return action;
  }

  static v1::Action Task(const std::string& body) {
    v1::Action action;
    action.set_action_id("task");
    v1::CreateTaskAction& task = *action.mutable_create_task();
    task.mutable_assignee()->set_owner(true);
    task.mutable_due_in()->set_seconds(3600);
    task.set_title_template("回访 {{customer.display_name}}");
    task.set_body_template(body);
    return action;
  }

  int64_t LeadScoreNow() const {
    return delegation_.Customer(kCustomer).custom_fields().at("lead_score").int_value();
  }

  std::string AssigneeOf(const ActionOutcome& outcome) {
    EXPECT_EQ(outcome.kind, Kind::kDone) << outcome.error;
    const std::string id(absl::StripPrefix(absl::string_view(outcome.result), "task "));
    absl::StatusOr<v1::Task> task = tasks_.Get(kTenant, id);
    EXPECT_TRUE(task.ok()) << task.status();
    return task.ok() ? task->assignee_id() : "";
  }

  testing::InMemoryTaskStore tasks_;
  SecretBox box_ = *SecretBox::FromKey(std::string(kSecretKeyBytes, 'k'));
  testing::InMemoryEndpointStore endpoints_{&box_};
  WebhookSender sender_{WebhookSenderOptions()};
  testing::FakeDelegation delegation_;
  ActionRunner runner_{&tasks_, &endpoints_, &sender_, &delegation_};
  FieldValues values_;
  v1::RuleRun run_;
};

TEST_F(ActionRunnerTest, ALeadScoreIsAddedAsTheOwnerWithTheEtagAndAKeyCarryingTheDepth) {
  run_.set_depth(1);
  const ActionOutcome outcome = Run(LeadScore(15));
  ASSERT_EQ(outcome.kind, Kind::kDone) << outcome.error;
  EXPECT_EQ(outcome.result, "lead score +15 (下载白皮书)");
  EXPECT_EQ(LeadScoreNow(), 25);
  ASSERT_EQ(delegation_.applied_request_ids().size(), 1u);
  // The change's event will say a run at depth 1 made it: depth 2.
  EXPECT_EQ(DepthOf(delegation_.applied_request_ids()[0]), 2);
}

TEST_F(ActionRunnerTest, ALostAnswerIsRetriedWithoutAddingTwice) {
  delegation_.LoseNextAnswer(absl::UnavailableError("connection reset"));
  const ActionOutcome first = Run(LeadScore(15));
  ASSERT_EQ(first.kind, Kind::kRetry);
  EXPECT_TRUE(first.attempted);
  EXPECT_EQ(LeadScoreNow(), 25);  // It was applied; the answer was lost.
  // The retry reads 25 and would write 40 under the same request id: contacts refuses it as a
  // reused id, which tells the runner the change was made.
  const ActionOutcome second = Run(LeadScore(15), /*attempts=*/1);
  ASSERT_EQ(second.kind, Kind::kDone) << second.error;
  EXPECT_EQ(second.result, "changed by an earlier attempt");
  EXPECT_EQ(LeadScoreNow(), 25);
  EXPECT_EQ(delegation_.applied_updates(), 1);
}

TEST_F(ActionRunnerTest, AConcurrentChangeIsReadAgainAndAddedTo) {
  // The read passes; the write finds another etag (someone changed the customer meanwhile).
  delegation_.FailNext({absl::OkStatus(), absl::AbortedError("etag")});
  const ActionOutcome outcome = Run(LeadScore(-5));
  ASSERT_EQ(outcome.kind, Kind::kDone) << outcome.error;
  EXPECT_EQ(LeadScoreNow(), 5);
  EXPECT_EQ(delegation_.applied_updates(), 1);
}

TEST_F(ActionRunnerTest, ALeadScoreThatIsNotANumberFailsSayingSo) {
  cv1::Customer customer = delegation_.Customer(kCustomer);
  (*customer.mutable_custom_fields())["lead_score"].set_string_value("高");
  delegation_.PutCustomer(customer);
  const ActionOutcome outcome = Run(LeadScore(5));
  EXPECT_EQ(outcome.kind, Kind::kFailed);
  EXPECT_THAT(outcome.error, HasSubstr("not a whole number"));
  EXPECT_EQ(delegation_.applied_updates(), 0);
}

TEST_F(ActionRunnerTest, TagsAndFieldsAreChangedOnlyWhenTheyDiffer) {
  v1::Action add;
  add.set_action_id("tag");
  add.mutable_update_customer()->set_add_tag("展会线索");
  ActionOutcome outcome = Run(add);
  ASSERT_EQ(outcome.kind, Kind::kDone) << outcome.error;
  EXPECT_THAT(outcome.result, HasSubstr("nothing to change"));
  EXPECT_EQ(delegation_.applied_updates(), 0);

  add.mutable_update_customer()->set_add_tag("高意向");
  outcome = Run(add, 0, "key-2");
  ASSERT_EQ(outcome.kind, Kind::kDone) << outcome.error;
  EXPECT_THAT(delegation_.Customer(kCustomer).tags(), ::testing::ElementsAre("展会线索", "高意向"));

  v1::Action remove;
  remove.set_action_id("untag");
  remove.mutable_update_customer()->set_remove_tag("展会线索");
  ASSERT_EQ(Run(remove, 0, "key-3").kind, Kind::kDone);
  EXPECT_THAT(delegation_.Customer(kCustomer).tags(), ::testing::ElementsAre("高意向"));

  v1::Action level;
  level.set_action_id("vip");
  v1::SetField& set = *level.mutable_update_customer()->mutable_set_field();
  set.set_field("level");
  set.mutable_value()->set_string_value("CUSTOMER_LEVEL_VIP");
  outcome = Run(level, 0, "key-4");
  ASSERT_EQ(outcome.kind, Kind::kDone) << outcome.error;
  EXPECT_EQ(delegation_.Customer(kCustomer).level(), cv1::CUSTOMER_LEVEL_VIP);
  EXPECT_EQ(delegation_.applied_updates(), 3);
}

TEST_F(ActionRunnerTest, AnUnreachableContactsIsRetriedThenDeadLetteredAndARefusalAtOnce) {
  delegation_.FailNext({absl::UnavailableError("contacts down")});
  ActionOutcome outcome = Run(LeadScore(5));
  EXPECT_EQ(outcome.kind, Kind::kRetry);
  EXPECT_GT(outcome.retry_at, absl::FromUnixSeconds(1'800'000'000));
  delegation_.FailNext({absl::UnavailableError("contacts down")});
  outcome = Run(LeadScore(5), /*attempts=*/9);
  EXPECT_EQ(outcome.kind, Kind::kFailed);
  EXPECT_THAT(outcome.error, HasSubstr("after 10 attempts"));
  delegation_.FailNext(
      {absl::OkStatus(), absl::PermissionDeniedError("role rep does not grant CUSTOMERS_WRITE")});
  outcome = Run(LeadScore(5));
  EXPECT_EQ(outcome.kind, Kind::kFailed);
  EXPECT_THAT(outcome.error, HasSubstr("CUSTOMERS_WRITE"));
  EXPECT_EQ(LeadScoreNow(), 10);
}

TEST_F(ActionRunnerTest, ATaskGoesToTheOwnersManagerOrToATeamInTurn) {
  pv1::User rep;
  rep.set_user_id(kRep);
  rep.set_manager_id(kManager);
  delegation_.SetUser(rep);
  v1::Action manager = Task("跟进");
  manager.mutable_create_task()->mutable_assignee()->set_owner_manager(true);
  EXPECT_EQ(AssigneeOf(Run(manager)), kManager);

  rep.clear_manager_id();
  delegation_.SetUser(rep);
  const ActionOutcome nobody = Run(manager, 0, "key-2");
  EXPECT_EQ(nobody.kind, Kind::kFailed);
  EXPECT_THAT(nobody.error, HasSubstr("reports to nobody"));

  delegation_.SetTeam("inside-sales", {"u-a", "u-b", "u-c"});
  v1::Action team = Task("跟进");
  team.mutable_create_task()->mutable_assignee()->set_team_id("inside-sales");
  std::vector<std::string> assignees;
  for (int i = 0; i < 4; ++i) {
    run_.set_run_id(absl::StrCat("run-", i + 10));
    assignees.push_back(AssigneeOf(Run(team, 0, absl::StrCat("team-", i))));
  }
  EXPECT_THAT(assignees, ::testing::ElementsAre("u-a", "u-b", "u-c", "u-a"));
}

TEST_F(ActionRunnerTest, ATaskShowsOnlyWhatTheRulesOwnerMaySee) {
  pv1::EffectiveScope scope = auth::testing::AdminScope(kTenant, kOwner);
  *scope.add_field_rules() =
      auth::testing::FieldRuleOf("customer", "custom_fields", pv1::FIELD_ACCESS_HIDDEN);
  *scope.add_field_rules() = auth::testing::FieldRuleOf(
      "customer", "display_name", pv1::FIELD_ACCESS_MASKED, pv1::MASK_PATTERN_PARTIAL);
  delegation_.SetScope(kOwner, scope);
  const ActionOutcome outcome =
      Run(Task("预算 {{customer.custom_fields.budget}}，负责人 {{customer.owner_id}}"));
  ASSERT_EQ(outcome.kind, Kind::kDone) << outcome.error;
  const std::string id(absl::StripPrefix(absl::string_view(outcome.result), "task "));
  absl::StatusOr<v1::Task> task = tasks_.Get(kTenant, id);
  ASSERT_TRUE(task.ok()) << task.status();
  EXPECT_THAT(task->body(), Not(HasSubstr("300万")));
  EXPECT_EQ(task->body(), "预算 ，负责人 u-rep");
  EXPECT_THAT(task->title(), Not(HasSubstr("王小明")));
  EXPECT_THAT(task->title(), HasSubstr("王"));  // masked, not hidden
  // The assignee is the customer's owner whatever the policies show.
  EXPECT_EQ(task->assignee_id(), kRep);
}

TEST_F(ActionRunnerTest, AnOwnerWhoCannotSeeTheCustomerDoesNothing) {
  pv1::EffectiveScope rep = auth::testing::RepScope("u-someone-else");
  delegation_.SetScope(kOwner, rep);
  const ActionOutcome outcome = Run(Task("跟进"));
  EXPECT_EQ(outcome.kind, Kind::kFailed);
  EXPECT_THAT(outcome.error, HasSubstr("cannot see customer"));
}

}  // namespace
}  // namespace touchline::automation
