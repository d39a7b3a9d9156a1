// The follow-up decisions without a database: what a touchpoint's next action makes of its
// task (FollowUpOf) and what each touchpoint event does to the task as it stands
// (DecideFollowUp, DecideMove).
#include "services/automation/tasks/follow_ups.h"

#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/text/text.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/automation/tasks/task_change.h"
#include "tests/testing/status_matchers.h"

namespace touchline::automation {
namespace {

namespace tv1 = ::touchline::touchpoints::v1;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using ::touchline::testing::StatusIs;
using Kind = TouchpointChange::Kind;

constexpr char kCustomer[] = "0190a1b2-0000-7000-8000-000000000001";
constexpr char kSurvivor[] = "0190a1b2-0000-7000-8000-000000000002";
const absl::Time kOccur =
    absl::FromCivil(absl::CivilSecond(2026, 12, 7, 9, 30, 0), absl::UTCTimeZone());
const absl::Time kNow = kOccur + absl::Hours(3);

absl::Time Utc(int y, int m, int d, int hh, int mm, int ss) {
  return absl::FromCivil(absl::CivilSecond(y, m, d, hh, mm, ss), absl::UTCTimeZone());
}

tv1::Touchpoint Touchpoint(const std::string& description = "寄送报价单并约演示") {
  tv1::Touchpoint t;
  t.set_touchpoint_id("tp-1");
  t.set_customer_id(kCustomer);
  t.set_subject("深圳腾飞 电话回访");
  t.set_summary("客户关心交付周期");
  t.set_recorded_by("u-recorder");
  *t.mutable_occur_time() = ToProtoTime(kOccur);
  t.mutable_next_action()->set_description(description);
  t.mutable_next_action()->set_owner_id("u-owner");
  *t.mutable_next_action()->mutable_due_time() = ToProtoTime(kOccur + absl::Hours(48));
  return t;
}

TouchpointChange Change(Kind kind, const tv1::Touchpoint& t, bool next_action = false,
                        bool customer = false) {
  return TouchpointChange{.kind = kind,
                          .touchpoint = t,
                          .next_action_changed = next_action,
                          .customer_changed = customer,
                          .actor = "u-actor"};
}

// The task recording Touchpoint() makes, stored as version `etag` in `state`.
FollowUpTask Stored(v1::TaskState state = v1::TASK_STATE_OPEN,
                    FollowUpCancel cancel = FollowUpCancel::kNone, const std::string& etag = "3") {
  auto write = DecideFollowUp(std::nullopt, Change(Kind::kRecorded, Touchpoint()), kOccur, "t-1");
  EXPECT_TRUE(write.ok()) << write.status();
  FollowUpTask task = write->after;
  task.task.set_state(state);
  task.task.set_etag(etag);
  task.cancel = cancel;
  return task;
}

TEST(FollowUpOfTest, TakesTheNextActionOwnerDueTimeAndTheTouchpointsCustomer) {
  const std::optional<FollowUp> f = FollowUpOf(Touchpoint(), "u-actor");
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->title, "寄送报价单并约演示");
  EXPECT_EQ(f->assignee_id, "u-owner");
  EXPECT_EQ(f->due_time, kOccur + absl::Hours(48));
  EXPECT_EQ(f->customer_id, kCustomer);
  EXPECT_EQ(f->body,
            "Next action agreed in touchpoint tp-1: 深圳腾飞 电话回访\n\n客户关心交付周期");
}

TEST(FollowUpOfTest, AssignsTheRecorderThenTheActorWhenTheNextActionHasNoOwner) {
  tv1::Touchpoint t = Touchpoint();
  t.mutable_next_action()->clear_owner_id();
  EXPECT_EQ(FollowUpOf(t, "u-actor")->assignee_id, "u-recorder");
  t.clear_recorded_by();
  EXPECT_EQ(FollowUpOf(t, "u-actor")->assignee_id, "u-actor");
  EXPECT_FALSE(FollowUpOf(t, "").has_value());
}

TEST(FollowUpOfTest, DefaultsTheDueTimeToTheEndOfTheNextDayUtc) {
  tv1::Touchpoint t = Touchpoint();
  t.mutable_next_action()->clear_due_time();
  EXPECT_EQ(FollowUpOf(t, "")->due_time, Utc(2026, 12, 8, 23, 59, 59));
  // 23:30 UTC is already the next day in Shanghai; the default counts in UTC.
  *t.mutable_occur_time() = ToProtoTime(Utc(2026, 12, 31, 23, 30, 0));
  EXPECT_EQ(FollowUpOf(t, "")->due_time, Utc(2027, 1, 1, 23, 59, 59));
}

TEST(FollowUpOfTest, NoFollowUpWithoutADescription) {
  tv1::Touchpoint t = Touchpoint();
  t.clear_next_action();
  EXPECT_FALSE(FollowUpOf(t, "u-actor").has_value());
  // Owner and due time without a description, or only white space (an ideographic space).
  t = Touchpoint(" \u3000\n");
  EXPECT_FALSE(FollowUpOf(t, "u-actor").has_value());
}

TEST(FollowUpOfTest, CutsTheTitleToFiveHundredWholeCodePoints) {
  // 499 ASCII letters, then characters of 3 and 4 bytes: the cut falls after the 500th code
  // point, never inside one.
  std::string description(499, 'a');
  description += "跟";
  description += "\U0001F600进";
  const std::optional<FollowUp> f = FollowUpOf(Touchpoint(description), "");
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->title, std::string(499, 'a') + "跟");
  std::string chinese;
  for (int i = 0; i < 300; ++i) chinese += "回访\U0001F600";
  const std::string title = FollowUpOf(Touchpoint(chinese), "")->title;
  EXPECT_TRUE(text::IsValidUtf8(title));
  EXPECT_EQ(text::CodePointCount(title), kMaxTaskTitleChars);
  EXPECT_THAT(chinese, StartsWith(title));
  // Trimmed before it is cut.
  EXPECT_EQ(FollowUpOf(Touchpoint("  约下周演示 \n"), "")->title, "约下周演示");
}

TEST(DecideFollowUpTest, RecordedMakesAnOpenTaskOfTheTouchpoint) {
  TL_ASSERT_OK_AND_ASSIGN(
      const FollowUpWrite write,
      DecideFollowUp(std::nullopt, Change(Kind::kRecorded, Touchpoint()), kNow, "t-1"));
  EXPECT_EQ(write.kind, FollowUpWrite::Kind::kInsert);
  const v1::Task& task = write.after.task;
  EXPECT_EQ(task.task_id(), "t-1");
  EXPECT_EQ(task.state(), v1::TASK_STATE_OPEN);
  EXPECT_EQ(task.source().touchpoint_id(), "tp-1");
  EXPECT_EQ(task.customer_id(), kCustomer);
  EXPECT_EQ(task.title(), "寄送报价单并约演示");
  EXPECT_EQ(task.assignee_id(), "u-owner");
  EXPECT_EQ(FromProtoTime(task.due_time()), kOccur + absl::Hours(48));
  EXPECT_EQ(FromProtoTime(task.create_time()), kNow);
  EXPECT_EQ(task.etag(), "1");
  EXPECT_EQ(write.action, "task.created");
}

TEST(DecideFollowUpTest, RecordedWithoutANextActionOrWithATaskWritesNothing) {
  tv1::Touchpoint t = Touchpoint();
  t.clear_next_action();
  EXPECT_EQ(DecideFollowUp(std::nullopt, Change(Kind::kRecorded, t), kNow, "t-1")->kind,
            FollowUpWrite::Kind::kNone);
  EXPECT_EQ(DecideFollowUp(Stored(), Change(Kind::kRecorded, Touchpoint()), kNow, "t-2")->kind,
            FollowUpWrite::Kind::kNone);
}

TEST(DecideFollowUpTest, ACorrectedNextActionChangesTheOpenTask) {
  tv1::Touchpoint t = Touchpoint("改为现场拜访");
  t.mutable_next_action()->set_owner_id("u-new");
  *t.mutable_next_action()->mutable_due_time() = ToProtoTime(kOccur + absl::Hours(72));
  TL_ASSERT_OK_AND_ASSIGN(const FollowUpWrite write,
                          DecideFollowUp(Stored(), Change(Kind::kUpdated, t, true), kNow, "t-2"));
  EXPECT_EQ(write.kind, FollowUpWrite::Kind::kUpdate);
  EXPECT_EQ(write.action, "task.updated");
  EXPECT_THAT(write.fields, ElementsAre("title", "assignee_id", "due_time"));
  const v1::Task& task = write.after.task;
  EXPECT_EQ(task.task_id(), "t-1");
  EXPECT_EQ(task.title(), "改为现场拜访");
  EXPECT_EQ(task.assignee_id(), "u-new");
  EXPECT_EQ(FromProtoTime(task.due_time()), kOccur + absl::Hours(72));
  EXPECT_EQ(task.etag(), "4");
  EXPECT_EQ(FromProtoTime(task.update_time()), kNow);
  EXPECT_EQ(FromProtoTime(task.create_time()), kOccur);
}

TEST(DecideFollowUpTest, AnUpdateThatLeavesTheNextActionAloneKeepsAReassignmentByHand) {
  FollowUpTask stored = Stored();
  stored.task.set_assignee_id("u-taken-over");
  tv1::Touchpoint t = Touchpoint();
  t.set_summary("更正的摘要");
  EXPECT_EQ(DecideFollowUp(stored, Change(Kind::kUpdated, t), kNow, "t-2")->kind,
            FollowUpWrite::Kind::kNone);
  // The same next action named in the mask: nothing differs but the assignee, which follows.
  TL_ASSERT_OK_AND_ASSIGN(
      const FollowUpWrite write,
      DecideFollowUp(stored, Change(Kind::kUpdated, Touchpoint(), true), kNow, "t-2"));
  EXPECT_THAT(write.fields, ElementsAre("assignee_id"));
  EXPECT_EQ(DecideFollowUp(Stored(), Change(Kind::kUpdated, Touchpoint(), true), kNow, "t-2")->kind,
            FollowUpWrite::Kind::kNone);
}

TEST(DecideFollowUpTest, ARemovedNextActionCancelsAndSettingItAgainReopens) {
  tv1::Touchpoint removed = Touchpoint();
  removed.clear_next_action();
  TL_ASSERT_OK_AND_ASSIGN(
      const FollowUpWrite cancel,
      DecideFollowUp(Stored(), Change(Kind::kUpdated, removed, true), kNow, "t-2"));
  EXPECT_EQ(cancel.action, "task.cancelled");
  EXPECT_EQ(cancel.after.task.state(), v1::TASK_STATE_CANCELLED);
  EXPECT_EQ(cancel.after.task.resolution_note(), kNextActionRemovedNote);
  EXPECT_EQ(cancel.after.cancel, FollowUpCancel::kNextActionRemoved);

  tv1::Touchpoint again = Touchpoint("重新约时间");
  TL_ASSERT_OK_AND_ASSIGN(const FollowUpWrite reopen,
                          DecideFollowUp(cancel.after, Change(Kind::kUpdated, again, true),
                                         kNow + absl::Hours(1), "t-3"));
  EXPECT_EQ(reopen.action, "task.reopened");
  EXPECT_THAT(reopen.fields, ElementsAre("state", "resolution_note", "title"));
  EXPECT_EQ(reopen.after.task.task_id(), "t-1");
  EXPECT_EQ(reopen.after.task.state(), v1::TASK_STATE_OPEN);
  EXPECT_EQ(reopen.after.task.resolution_note(), "");
  EXPECT_EQ(reopen.after.task.title(), "重新约时间");
  EXPECT_EQ(reopen.after.cancel, FollowUpCancel::kNone);
  EXPECT_EQ(reopen.after.task.etag(), "5");
}

TEST(DecideFollowUpTest, ANextActionAddedLaterMakesTheTask) {
  TL_ASSERT_OK_AND_ASSIGN(
      const FollowUpWrite write,
      DecideFollowUp(std::nullopt, Change(Kind::kUpdated, Touchpoint(), true), kNow, "t-9"));
  EXPECT_EQ(write.kind, FollowUpWrite::Kind::kInsert);
  EXPECT_EQ(write.after.task.task_id(), "t-9");
  // Not when the correction did not name the next action.
  EXPECT_EQ(DecideFollowUp(std::nullopt, Change(Kind::kUpdated, Touchpoint()), kNow, "t-9")->kind,
            FollowUpWrite::Kind::kNone);
}

TEST(DecideFollowUpTest, TasksAPersonClosedAreLeftAlone) {
  tv1::Touchpoint t = Touchpoint("改为现场拜访");
  tv1::Touchpoint removed = Touchpoint();
  removed.clear_next_action();
  for (const FollowUpTask& closed :
       {Stored(v1::TASK_STATE_COMPLETED), Stored(v1::TASK_STATE_CANCELLED),
        Stored(v1::TASK_STATE_CANCELLED, FollowUpCancel::kTouchpointDeleted)}) {
    SCOPED_TRACE(closed.task.ShortDebugString());
    for (const TouchpointChange& change :
         {Change(Kind::kUpdated, t, true), Change(Kind::kUpdated, removed, true),
          Change(Kind::kDeleted, t), Change(Kind::kRecorded, t)}) {
      EXPECT_EQ(DecideFollowUp(closed, change, kNow, "t-2")->kind, FollowUpWrite::Kind::kNone);
    }
  }
}

TEST(DecideFollowUpTest, DeletedCancelsTheOpenTaskForGood) {
  TL_ASSERT_OK_AND_ASSIGN(
      const FollowUpWrite write,
      DecideFollowUp(Stored(), Change(Kind::kDeleted, Touchpoint()), kNow, "t-2"));
  EXPECT_EQ(write.action, "task.cancelled");
  EXPECT_THAT(write.fields, ElementsAre("state", "resolution_note"));
  EXPECT_EQ(write.after.task.resolution_note(), kTouchpointDeletedNote);
  EXPECT_EQ(write.after.cancel, FollowUpCancel::kTouchpointDeleted);
  EXPECT_EQ(DecideFollowUp(std::nullopt, Change(Kind::kDeleted, Touchpoint()), kNow, "t-2")->kind,
            FollowUpWrite::Kind::kNone);
  // Cancelled by its removed next action: now for good.
  TL_ASSERT_OK_AND_ASSIGN(
      const FollowUpWrite for_good,
      DecideFollowUp(Stored(v1::TASK_STATE_CANCELLED, FollowUpCancel::kNextActionRemoved),
                     Change(Kind::kDeleted, Touchpoint()), kNow, "t-2"));
  EXPECT_EQ(for_good.action, "task.updated");
  EXPECT_THAT(for_good.fields, ElementsAre("resolution_note"));
  EXPECT_EQ(for_good.after.cancel, FollowUpCancel::kTouchpointDeleted);
  EXPECT_EQ(for_good.after.task.state(), v1::TASK_STATE_CANCELLED);
  EXPECT_EQ(
      DecideFollowUp(for_good.after, Change(Kind::kUpdated, Touchpoint(), true), kNow, "t-3")->kind,
      FollowUpWrite::Kind::kNone);
}

TEST(DecideFollowUpTest, ACorrectedCustomerMovesTheTaskInAnyState) {
  tv1::Touchpoint t = Touchpoint();
  t.set_customer_id(kSurvivor);
  TL_ASSERT_OK_AND_ASSIGN(const FollowUpWrite write,
                          DecideFollowUp(Stored(v1::TASK_STATE_COMPLETED),
                                         Change(Kind::kUpdated, t, false, true), kNow, "t-2"));
  EXPECT_THAT(write.fields, ElementsAre("customer_id"));
  EXPECT_EQ(write.after.task.customer_id(), kSurvivor);
  EXPECT_EQ(write.after.task.state(), v1::TASK_STATE_COMPLETED);
}

TEST(DecideMoveTest, MovesToTheOtherCustomerOnce) {
  TL_ASSERT_OK_AND_ASSIGN(const FollowUpWrite write,
                          DecideMove(Stored(v1::TASK_STATE_COMPLETED), kSurvivor, "m-1",
                                     /*undo=*/false, kNow));
  EXPECT_EQ(write.kind, FollowUpWrite::Kind::kUpdate);
  EXPECT_EQ(write.after.task.customer_id(), kSurvivor);
  EXPECT_EQ(write.after.task.etag(), "4");
  EXPECT_THAT(write.detail, HasSubstr("merge m-1"));
  EXPECT_EQ(DecideMove(write.after, kSurvivor, "m-1", false, kNow)->kind,
            FollowUpWrite::Kind::kNone);
}

TEST(DecideFollowUpTest, AStoredTaskWithoutAVersionIsAnInternalError) {
  EXPECT_THAT(DecideFollowUp(Stored(v1::TASK_STATE_OPEN, FollowUpCancel::kNone, "x"),
                             Change(Kind::kDeleted, Touchpoint()), kNow, "t-2"),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("no version number")));
  EXPECT_THAT(DecideMove(Stored(v1::TASK_STATE_OPEN, FollowUpCancel::kNone, ""), kSurvivor, "m-1",
                         false, kNow),
              StatusIs(absl::StatusCode::kInternal));
}

}  // namespace
}  // namespace touchline::automation
