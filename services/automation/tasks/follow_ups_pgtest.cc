// Follow-ups on real PostgreSQL: touchpoint events applied as the "touchpoints" consumer applies
// them (ApplyFollowUps, FollowUpConsumer) to the schema as the host migrates it, and what they
// leave in `tasks`, `task_merge_moves` and the outbox (audit entries, task events).
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/events/outbox.h"
#include "common/ids/ids.h"
#include "common/pg/pool.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/automation/tasks/follow_ups.h"
#include "services/automation/tasks/pg_task_store.h"
#include "services/automation/tasks/task_change.h"
#include "services/automation/tasks/testing/pg_schema.h"
#include "services/automation/tasks/testing/task_events.h"
#include "tests/testing/pg_test_env.h"
#include "tests/testing/status_matchers.h"
#include "touchline/events/v1/permission_events.pb.h"
#include "touchline/events/v1/touchpoint_events.pb.h"

namespace touchline::automation {
namespace {

namespace ev = ::touchline::events::v1;
namespace tv1 = ::touchline::touchpoints::v1;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kTenant[] = "acme";
const absl::Time kNow =
    absl::FromCivil(absl::CivilSecond(2026, 12, 7, 9, 0, 0), absl::UTCTimeZone());

class FollowUpsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    TL_ASSERT_OK_AND_ASSIGN(pool_, testing::MigratedPool(dsn_, schema_.name()));
    store_ = std::make_unique<PgTaskStore>(pool_.get(), nullptr);
  }

  // A touchpoint of customer `customer` with the next action `description`, due in two days,
  // owned by u-owner.
  static tv1::Touchpoint Touchpoint(const std::string& id, const std::string& customer,
                                    const std::string& description = "寄送报价单并约演示") {
    tv1::Touchpoint t;
    t.set_touchpoint_id(id);
    t.set_customer_id(customer);
    t.set_subject("深圳腾飞 电话回访");
    t.set_recorded_by("u-recorder");
    *t.mutable_occur_time() = ToProtoTime(kNow - absl::Hours(1));
    t.mutable_next_action()->set_description(description);
    t.mutable_next_action()->set_owner_id("u-owner");
    *t.mutable_next_action()->mutable_due_time() = ToProtoTime(kNow + absl::Hours(48));
    return t;
  }

  static ev::EventEnvelope Envelope(const google::protobuf::Message& payload,
                                    const std::string& aggregate_id) {
    return events::MakeEnvelope(payload, kTenant, "touchpoint", aggregate_id, "req-1", "u-actor");
  }
  static ev::EventEnvelope Recorded(const tv1::Touchpoint& t) {
    ev::TouchpointRecorded recorded;
    *recorded.mutable_touchpoint() = t;
    return Envelope(recorded, t.touchpoint_id());
  }
  static ev::EventEnvelope Updated(const tv1::Touchpoint& t, std::vector<std::string> paths) {
    ev::TouchpointUpdated updated;
    *updated.mutable_touchpoint() = t;
    for (std::string& path : paths) updated.mutable_changed_fields()->add_paths(std::move(path));
    return Envelope(updated, t.touchpoint_id());
  }
  static ev::EventEnvelope Deleted(const tv1::Touchpoint& t) {
    ev::TouchpointDeleted deleted;
    *deleted.mutable_touchpoint() = t;
    deleted.mutable_touchpoint()->set_state(tv1::TOUCHPOINT_STATE_DELETED);
    return Envelope(deleted, t.touchpoint_id());
  }
  static ev::EventEnvelope Reassigned(const std::string& from, const std::string& to,
                                      const std::string& merge_id) {
    ev::TouchpointsReassigned moved;
    moved.set_from_customer_id(from);
    moved.set_to_customer_id(to);
    moved.set_merge_id(merge_id);
    moved.set_count(1);
    return Envelope(moved, to);
  }

  // Applies `events` in one transaction, as the consumer does, at now_.
  absl::Status Apply(const std::vector<ev::EventEnvelope>& events) {
    std::vector<const ev::EventEnvelope*> batch;
    for (const ev::EventEnvelope& event : events) batch.push_back(&event);
    const events::BatchApplyFn apply = FollowUpConsumer([this] { return now_; });
    return pool_->Transact([&](pqxx::work& txn) { return apply(txn, batch); });
  }

  // The task of touchpoint `id`, read as the task store reads it; nullopt when there is none.
  std::optional<v1::Task> TaskOf(const std::string& id) {
    std::string task_id;
    TL_EXPECT_OK(pool_->Query([&](pqxx::nontransaction& txn) {
      const pqxx::result rows = txn.exec_params(
          "SELECT task_id::text FROM tasks WHERE tenant_id = $1 AND touchpoint_id = $2", kTenant,
          id);
      if (!rows.empty()) task_id = rows[0][0].as<std::string>();
      return absl::OkStatus();
    }));
    if (task_id.empty()) return std::nullopt;
    absl::StatusOr<v1::Task> task = store_->Get(kTenant, task_id);
    EXPECT_TRUE(task.ok()) << task.status();
    if (!task.ok()) return std::nullopt;
    return *std::move(task);
  }

  int Count(const std::string& sql) { return testing::Count(*pool_, sql); }
  std::vector<std::string> TaskEvents() { return testing::DescribeOutboxTaskEvents(*pool_); }

  // The audit entries in the outbox, in order: "<action> <fields...>" of each, with its actor.
  std::vector<std::string> AuditActions() {
    std::vector<std::string> actions;
    TL_EXPECT_OK(pool_->Query([&](pqxx::nontransaction& txn) {
      actions.clear();
      for (const pqxx::row& row : txn.exec("SELECT encode(envelope, 'hex') FROM outbox "
                                           "WHERE topic = 'audit' ORDER BY id")) {
        ev::EventEnvelope envelope;
        ev::AuditRecorded recorded;
        if (!envelope.ParseFromString(absl::HexStringToBytes(row[0].as<std::string>())) ||
            !envelope.payload().UnpackTo(&recorded)) {
          return absl::InternalError("an audit entry does not parse");
        }
        std::string entry = absl::StrCat(recorded.event().action(), " by ", envelope.actor_id());
        for (const std::string& field : recorded.event().fields()) {
          absl::StrAppend(&entry, " ", field);
        }
        actions.push_back(std::move(entry));
      }
      return absl::OkStatus();
    }));
    return actions;
  }

  const std::string dsn_ = touchline::testing::TestPgDsn();
  touchline::testing::ScopedSchema schema_{"automation_follow_ups"};
  std::unique_ptr<pg::Pool> pool_;
  std::unique_ptr<PgTaskStore> store_;
  absl::Time now_ = kNow;
  const std::string customer_ = ids::NewUuid();
  const std::string survivor_ = ids::NewUuid();
};

TEST_F(FollowUpsTest, ARecordedNextActionBecomesOneOpenTaskReplayedOrNot) {
  const tv1::Touchpoint t = Touchpoint("tp-1", customer_);
  const ev::EventEnvelope recorded = Recorded(t);
  TL_ASSERT_OK(Apply({recorded}));
  const std::optional<v1::Task> task = TaskOf("tp-1");
  ASSERT_TRUE(task.has_value());
  EXPECT_EQ(task->state(), v1::TASK_STATE_OPEN);
  EXPECT_EQ(task->customer_id(), customer_);
  EXPECT_EQ(task->title(), "寄送报价单并约演示");
  EXPECT_EQ(task->body(), "Next action agreed in touchpoint tp-1: 深圳腾飞 电话回访");
  EXPECT_EQ(task->assignee_id(), "u-owner");
  EXPECT_EQ(FromProtoTime(task->due_time()), kNow + absl::Hours(48));
  EXPECT_EQ(FromProtoTime(task->create_time()), kNow);
  EXPECT_EQ(task->etag(), "1");

  now_ += absl::Minutes(5);
  TL_ASSERT_OK(Apply({recorded}));
  TL_ASSERT_OK(Apply({Recorded(t), Recorded(t)}));
  EXPECT_EQ(Count("SELECT count(*) FROM tasks"), 1);
  EXPECT_EQ(TaskOf("tp-1")->DebugString(), task->DebugString());
  EXPECT_THAT(AuditActions(), ElementsAre("task.created by u-actor customer_id title body "
                                          "assignee_id due_time"));
  EXPECT_THAT(TaskEvents(), ElementsAre(absl::StrCat("created ", customer_, " v1 by u-actor")));
}

TEST_F(FollowUpsTest, ACorrectedDueTimeAndOwnerChangeTheSameTask) {
  tv1::Touchpoint t = Touchpoint("tp-1", customer_);
  TL_ASSERT_OK(Apply({Recorded(t)}));
  const std::string task_id = TaskOf("tp-1")->task_id();
  now_ += absl::Hours(1);
  *t.mutable_next_action()->mutable_due_time() = ToProtoTime(kNow + absl::Hours(72));
  t.mutable_next_action()->set_owner_id("u-new-owner");
  TL_ASSERT_OK(Apply({Updated(t, {"next_action.due_time", "next_action.owner_id"})}));
  const v1::Task task = *TaskOf("tp-1");
  EXPECT_EQ(task.task_id(), task_id);
  EXPECT_EQ(task.assignee_id(), "u-new-owner");
  EXPECT_EQ(FromProtoTime(task.due_time()), kNow + absl::Hours(72));
  EXPECT_EQ(FromProtoTime(task.update_time()), now_);
  EXPECT_EQ(FromProtoTime(task.create_time()), kNow);
  EXPECT_EQ(task.etag(), "2");
  EXPECT_EQ(Count("SELECT count(*) FROM tasks"), 1);
  EXPECT_EQ(AuditActions().back(), "task.updated by u-actor assignee_id due_time");

  // A correction of another field leaves the task as it is.
  t.set_summary("补充：客户要求英文版");
  TL_ASSERT_OK(Apply({Updated(t, {"summary"})}));
  EXPECT_EQ(TaskOf("tp-1")->etag(), "2");
}

TEST_F(FollowUpsTest, ARemovedNextActionCancelsAndSettingItAgainReopensTheSameTask) {
  tv1::Touchpoint t = Touchpoint("tp-1", customer_);
  TL_ASSERT_OK(Apply({Recorded(t)}));
  const std::string task_id = TaskOf("tp-1")->task_id();
  t.clear_next_action();
  now_ += absl::Hours(1);
  TL_ASSERT_OK(Apply({Updated(t, {"next_action"})}));
  v1::Task task = *TaskOf("tp-1");
  EXPECT_EQ(task.state(), v1::TASK_STATE_CANCELLED);
  EXPECT_EQ(task.resolution_note(), kNextActionRemovedNote);
  EXPECT_EQ(task.etag(), "2");
  EXPECT_EQ(Count("SELECT follow_up_cancel FROM tasks"), 1);

  t.mutable_next_action()->set_description("改为下周三现场拜访");
  now_ += absl::Hours(1);
  TL_ASSERT_OK(Apply({Updated(t, {"next_action"})}));
  task = *TaskOf("tp-1");
  EXPECT_EQ(task.task_id(), task_id);
  EXPECT_EQ(task.state(), v1::TASK_STATE_OPEN);
  EXPECT_EQ(task.resolution_note(), "");
  EXPECT_EQ(task.title(), "改为下周三现场拜访");
  // No owner or due time now: the recorder, by the end of the day after the touchpoint.
  EXPECT_EQ(task.assignee_id(), "u-recorder");
  EXPECT_EQ(FromProtoTime(task.due_time()),
            absl::FromCivil(absl::CivilSecond(2026, 12, 8, 23, 59, 59), absl::UTCTimeZone()));
  EXPECT_EQ(task.etag(), "3");
  EXPECT_EQ(Count("SELECT count(*) FROM tasks WHERE follow_up_cancel IS NULL"), 1);
  const std::vector<std::string> audit = AuditActions();
  ASSERT_EQ(audit.size(), 3u);
  EXPECT_EQ(audit[1], "task.cancelled by u-actor state resolution_note");
  EXPECT_EQ(audit[2], "task.reopened by u-actor state resolution_note title assignee_id due_time");
  EXPECT_THAT(
      TaskEvents(),
      ElementsAre(absl::StrCat("created ", customer_, " v1 by u-actor"),
                  absl::StrCat("changed ", customer_, " v2 state resolution_note by u-actor"),
                  absl::StrCat("changed ", customer_,
                               " v3 state resolution_note title assignee_id due_time by "
                               "u-actor")));
}

TEST_F(FollowUpsTest, ATaskCompletedByHandStaysCompleted) {
  tv1::Touchpoint t = Touchpoint("tp-1", customer_);
  TL_ASSERT_OK(Apply({Recorded(t)}));
  const v1::Task created = *TaskOf("tp-1");
  TaskChange complete{.context = {.caller = {.tenant_id = kTenant,
                                             .caller_id = "u-owner",
                                             .request_id = "r-complete",
                                             .scope = nullptr,
                                             .client = ""},
                                  .now = kNow + absl::Hours(2)},
                      .task_id = created.task_id(),
                      .kind = TaskChange::Kind::kComplete,
                      .assignee_id = "",
                      .resolution_note = "已寄出",
                      .etag = ""};
  TL_ASSERT_OK(store_->Change(complete).status());
  const v1::Task completed = *TaskOf("tp-1");

  t.mutable_next_action()->set_description("再次确认");
  TL_ASSERT_OK(Apply({Updated(t, {"next_action.description"})}));
  t.clear_next_action();
  TL_ASSERT_OK(Apply({Updated(t, {"next_action"})}));
  TL_ASSERT_OK(Apply({Deleted(t)}));
  EXPECT_EQ(TaskOf("tp-1")->DebugString(), completed.DebugString());
  EXPECT_EQ(completed.state(), v1::TASK_STATE_COMPLETED);
  EXPECT_EQ(AuditActions().size(), 2u);
  EXPECT_THAT(TaskEvents(),
              ElementsAre(absl::StrCat("created ", customer_, " v1 by u-actor"),
                          absl::StrCat("changed ", customer_,
                                       " v2 state complete_time resolution_note by u-owner")));
}

TEST_F(FollowUpsTest, ADeletedTouchpointCancelsItsTaskForGood) {
  tv1::Touchpoint t = Touchpoint("tp-1", customer_);
  TL_ASSERT_OK(Apply({Recorded(t), Deleted(t)}));
  v1::Task task = *TaskOf("tp-1");
  EXPECT_EQ(task.state(), v1::TASK_STATE_CANCELLED);
  EXPECT_EQ(task.resolution_note(), kTouchpointDeletedNote);
  EXPECT_EQ(task.etag(), "2");
  EXPECT_EQ(Count("SELECT follow_up_cancel FROM tasks"), 2);
  // Were a next action to arrive for it, the task stays cancelled.
  TL_ASSERT_OK(Apply({Updated(t, {"next_action"})}));
  EXPECT_EQ(TaskOf("tp-1")->state(), v1::TASK_STATE_CANCELLED);
  EXPECT_THAT(AuditActions().back(), HasSubstr("task.cancelled"));
}

TEST_F(FollowUpsTest, ANextActionAddedLaterMakesTheTask) {
  tv1::Touchpoint t = Touchpoint("tp-1", customer_);
  t.clear_next_action();
  TL_ASSERT_OK(Apply({Recorded(t)}));
  EXPECT_FALSE(TaskOf("tp-1").has_value());
  t.mutable_next_action()->set_description("发送合同草稿");
  TL_ASSERT_OK(Apply({Updated(t, {"next_action"})}));
  ASSERT_TRUE(TaskOf("tp-1").has_value());
  EXPECT_EQ(TaskOf("tp-1")->title(), "发送合同草稿");
  EXPECT_EQ(TaskOf("tp-1")->etag(), "1");
}

TEST_F(FollowUpsTest, AMergeMovesARulesTaskOfTheMergedCustomerAndItsUndoMovesItBack) {
  NewTask rule_task{.context = {.caller = {.tenant_id = kTenant,
                                           .caller_id = "service:automation",
                                           .request_id = "r-rule",
                                           .scope = nullptr,
                                           .client = ""},
                                .now = kNow},
                    .task = {},
                    .request_id = "",
                    .fingerprint = ""};
  v1::Task& task = rule_task.task;
  task.set_task_id(ids::NewUuid());
  task.set_customer_id(customer_);
  task.set_title("跟进 VIP 客户（48 小时内）");
  task.set_assignee_id("u-rep");
  *task.mutable_due_time() = ToProtoTime(kNow + absl::Hours(48));
  task.set_state(v1::TASK_STATE_OPEN);
  task.mutable_source()->mutable_rule()->set_rule_id(ids::NewUuid());
  task.mutable_source()->mutable_rule()->set_rule_version(1);
  task.mutable_source()->mutable_rule()->set_run_id(ids::NewUuid());
  task.mutable_source()->mutable_rule()->set_action_id("follow_up");
  *task.mutable_create_time() = ToProtoTime(kNow);
  *task.mutable_update_time() = ToProtoTime(kNow);
  TL_ASSERT_OK_AND_ASSIGN(const v1::Task created, store_->Create(rule_task));

  TL_ASSERT_OK(Apply({Reassigned(customer_, survivor_, "m-rule")}));
  TL_ASSERT_OK_AND_ASSIGN(v1::Task moved, store_->Get(kTenant, created.task_id()));
  EXPECT_EQ(moved.customer_id(), survivor_);
  EXPECT_EQ(moved.etag(), "2");
  EXPECT_TRUE(moved.source().has_rule());
  TL_ASSERT_OK(Apply({Reassigned(survivor_, customer_, "m-rule")}));
  TL_ASSERT_OK_AND_ASSIGN(moved, store_->Get(kTenant, created.task_id()));
  EXPECT_EQ(moved.customer_id(), customer_);
  EXPECT_EQ(moved.etag(), "3");
}

TEST_F(FollowUpsTest, AMergeMovesTheTasksAndItsUndoMovesExactlyThoseBack) {
  const std::string other = ids::NewUuid();
  TL_ASSERT_OK(Apply({Recorded(Touchpoint("tp-merged", customer_)),
                      Recorded(Touchpoint("tp-survivor", survivor_)),
                      Recorded(Touchpoint("tp-other", other))}));
  TL_ASSERT_OK(store_
                   ->Change(TaskChange{.context = {.caller = {.tenant_id = kTenant,
                                                              .caller_id = "u-owner",
                                                              .request_id = "r-1",
                                                              .scope = nullptr,
                                                              .client = ""},
                                                   .now = kNow},
                                       .task_id = TaskOf("tp-merged")->task_id(),
                                       .kind = TaskChange::Kind::kComplete,
                                       .assignee_id = "",
                                       .resolution_note = "",
                                       .etag = ""})
                   .status());
  now_ += absl::Hours(1);
  TL_ASSERT_OK(Apply({Reassigned(customer_, survivor_, "m-1")}));
  const v1::Task moved = *TaskOf("tp-merged");
  EXPECT_EQ(moved.customer_id(), survivor_);
  EXPECT_EQ(moved.state(), v1::TASK_STATE_COMPLETED);
  EXPECT_EQ(moved.etag(), "3");
  EXPECT_EQ(FromProtoTime(moved.update_time()), now_);
  EXPECT_EQ(TaskOf("tp-survivor")->etag(), "1");
  EXPECT_EQ(TaskOf("tp-other")->customer_id(), other);
  EXPECT_EQ(AuditActions().back(), "task.updated by u-actor customer_id");
  // The move names the customer the task left, whose views lose it.
  EXPECT_EQ(TaskEvents().back(),
            absl::StrCat("changed ", survivor_, " v3 customer_id from ", customer_, " by u-actor"));
  // A touchpoint recorded for the survivor after the merge.
  TL_ASSERT_OK(Apply({Recorded(Touchpoint("tp-after", survivor_))}));

  TL_ASSERT_OK(Apply({Reassigned(survivor_, customer_, "m-1")}));
  EXPECT_EQ(TaskOf("tp-merged")->customer_id(), customer_);
  EXPECT_EQ(TaskOf("tp-merged")->etag(), "4");
  EXPECT_EQ(TaskEvents().back(),
            absl::StrCat("changed ", customer_, " v4 customer_id from ", survivor_, " by u-actor"));
  EXPECT_EQ(TaskOf("tp-survivor")->customer_id(), survivor_);
  EXPECT_EQ(TaskOf("tp-after")->customer_id(), survivor_);
  EXPECT_EQ(Count("SELECT count(*) FROM task_merge_moves"), 0);
  // Merged again (a new merge): everything of the customer's moves.
  TL_ASSERT_OK(Apply({Reassigned(customer_, survivor_, "m-2")}));
  EXPECT_EQ(TaskOf("tp-merged")->customer_id(), survivor_);
  EXPECT_EQ(Count("SELECT count(*) FROM task_merge_moves"), 1);
}

TEST_F(FollowUpsTest, ACorrectedCustomerMovesTheTask) {
  tv1::Touchpoint t = Touchpoint("tp-1", customer_);
  TL_ASSERT_OK(Apply({Recorded(t)}));
  t.set_customer_id(survivor_);
  TL_ASSERT_OK(Apply({Updated(t, {"customer_id"})}));
  EXPECT_EQ(TaskOf("tp-1")->customer_id(), survivor_);
  EXPECT_EQ(TaskOf("tp-1")->etag(), "2");
  EXPECT_EQ(TaskEvents().back(),
            absl::StrCat("changed ", survivor_, " v2 customer_id from ", customer_, " by u-actor"));
}

TEST_F(FollowUpsTest, ChineseDescriptionsAreCutAtACodePoint) {
  std::string description;
  for (int i = 0; i < 120; ++i) description += "联系采购部的王经理😀";  // 10 code points each
  TL_ASSERT_OK(Apply({Recorded(Touchpoint("tp-1", customer_, description))}));
  const v1::Task task = *TaskOf("tp-1");
  EXPECT_EQ(Count("SELECT char_length(title) FROM tasks"), 500);
  EXPECT_EQ(task.title(), description.substr(0, task.title().size()));
  EXPECT_EQ(task.title().substr(task.title().size() - 4), "😀");
  // 1,000 code points of Chinese, no emoji: the first 500 characters, 1,500 bytes.
  const std::string chinese = [] {
    std::string s;
    for (int i = 0; i < 500; ++i) s += "回访";
    return s;
  }();
  TL_ASSERT_OK(Apply({Recorded(Touchpoint("tp-2", customer_, chinese))}));
  EXPECT_EQ(TaskOf("tp-2")->title(), chinese.substr(0, 1500));
}

TEST_F(FollowUpsTest, APayloadThatDoesNotParseFailsTheBatchAndWritesNothing) {
  ev::EventEnvelope broken = Recorded(Touchpoint("tp-2", customer_));
  broken.mutable_payload()->set_value("\xff\xff not a touchpoint");
  EXPECT_THAT(Apply({Recorded(Touchpoint("tp-1", customer_)), broken}),
              touchline::testing::StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(Count("SELECT count(*) FROM tasks"), 0);
  EXPECT_EQ(Count("SELECT count(*) FROM outbox"), 0);
}

}  // namespace
}  // namespace touchline::automation
