// TaskManager's rules against the in-memory store: no PostgreSQL, no Redis.
#include "services/automation/tasks/task_manager.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/auth/scope.h"
#include "common/auth/testing/trusted_authenticator.h"
#include "common/ids/ids.h"
#include "common/paging/page_token.h"
#include "common/status/errors.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/automation/tasks/task_change.h"
#include "services/automation/tasks/testing/callers.h"
#include "services/automation/tasks/testing/in_memory_task_store.h"
#include "tests/testing/status_matchers.h"
#include "touchline/contacts/v1/customer.pb.h"
#include "touchline/events/v1/permission_events.pb.h"

namespace touchline::automation {
namespace {

namespace cv1 = ::touchline::contacts::v1;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::touchline::testing::StatusIs;

constexpr char kTenant[] = "acme";
const absl::Time kNow =
    absl::FromCivil(absl::CivilSecond(2026, 12, 7, 9, 0, 0), absl::UTCTimeZone());

// Customer ids that sort as their numbers.
std::string CustomerId(int n) { return absl::StrFormat("00000000-0000-4000-8000-%012d", n); }

// The field of each violation of `status`, in order.
std::vector<std::string> Fields(const absl::Status& status) {
  std::vector<std::string> fields;
  for (const auto& [field, description] : status::FieldViolationsOf(status)) {
    fields.push_back(field);
  }
  return fields;
}

// `n` copies of `unit`.
std::string Repeat(std::string_view unit, int n) {
  std::string text;
  for (int i = 0; i < n; ++i) text.append(unit);
  return text;
}

class TaskManagerTest : public ::testing::Test {
 protected:
  TaskManagerTest() {
    AddCustomer(1, "u-rep");
    AddCustomer(2, "u-other");
    AddCustomer(3, "u-other", {{.grantee = "team:t-1", .edit = false}});
    AddCustomer(4, "u-other", {{.grantee = "team:t-1", .edit = true}});
  }

  static auth::RequestContext Admin() { return testing::Admin(kTenant); }
  static auth::RequestContext Rep(const std::string& user = "u-rep", bool write = true) {
    return testing::Rep(kTenant, user, write);
  }
  static auth::RequestContext Lead() { return testing::Lead(kTenant); }
  static auth::RequestContext TeamMember() { return testing::TeamMember(kTenant); }

  // Customer `n` in the read model, of `owner` in 华东.
  void AddCustomer(int n, const std::string& owner,
                   std::vector<auth::CustomerAttributes::Share> shares = {}) {
    store_.AddCustomer(kTenant, auth::CustomerAttributes{.customer_id = CustomerId(n),
                                                         .owner_id = owner,
                                                         .region = "华东",
                                                         .level = cv1::CUSTOMER_LEVEL_STANDARD,
                                                         .shares = std::move(shares)});
  }

  static v1::CreateTaskRequest CreateRequest(int customer, const std::string& assignee,
                                             absl::Duration due_in,
                                             const std::string& title = "回访 深圳腾飞") {
    v1::CreateTaskRequest request;
    v1::Task* task = request.mutable_task();
    task->set_customer_id(CustomerId(customer));
    task->set_title(title);
    task->set_body("确认报价单，约下周演示");
    task->set_assignee_id(assignee);
    *task->mutable_due_time() = ToProtoTime(kNow + due_in);
    task->set_priority(v1::TASK_PRIORITY_HIGH);
    return request;
  }

  // Creates a task as the admin; its id.
  std::string Create(int customer, const std::string& assignee, absl::Duration due_in) {
    const auto created = manager_.CreateTask(Admin(), CreateRequest(customer, assignee, due_in));
    EXPECT_TRUE(created.ok()) << created.status();
    return created.ok() ? created->task().task_id() : "";
  }

  absl::StatusOr<v1::Task> Get(const std::string& task_id, const auth::RequestContext& caller) {
    v1::GetTaskRequest request;
    request.set_task_id(task_id);
    TL_ASSIGN_OR_RETURN(v1::GetTaskResponse response, manager_.GetTask(caller, request));
    return response.task();
  }

  absl::StatusOr<v1::Task> Complete(const std::string& task_id, const auth::RequestContext& caller,
                                    const std::string& etag = "") {
    v1::CompleteTaskRequest request;
    request.set_task_id(task_id);
    request.set_resolution_note("已电话确认，客户下单");
    request.set_etag(etag);
    TL_ASSIGN_OR_RETURN(v1::CompleteTaskResponse response, manager_.CompleteTask(caller, request));
    return response.task();
  }

  absl::StatusOr<v1::Task> Reassign(const std::string& task_id, const std::string& assignee,
                                    const auth::RequestContext& caller,
                                    const std::string& etag = "") {
    v1::ReassignTaskRequest request;
    request.set_task_id(task_id);
    request.set_assignee_id(assignee);
    request.set_etag(etag);
    TL_ASSIGN_OR_RETURN(v1::ReassignTaskResponse response, manager_.ReassignTask(caller, request));
    return response.task();
  }

  absl::StatusOr<v1::Task> Cancel(const std::string& task_id, const auth::RequestContext& caller) {
    v1::CancelTaskRequest request;
    request.set_task_id(task_id);
    request.set_resolution_note("客户已流失");
    TL_ASSIGN_OR_RETURN(v1::CancelTaskResponse response, manager_.CancelTask(caller, request));
    return response.task();
  }

  // The ids of every task `request` lists for `caller`, page by page; fails the test on an
  // error.
  std::vector<std::string> ListAll(v1::ListTasksRequest request, const auth::RequestContext& caller,
                                   int* pages = nullptr) {
    std::vector<std::string> ids;
    int count = 0;
    do {
      const auto page = manager_.ListTasks(caller, request);
      EXPECT_TRUE(page.ok()) << page.status();
      if (!page.ok() || ++count > 50) break;
      for (const v1::Task& task : page->tasks()) ids.push_back(task.task_id());
      request.set_page_token(page->next_page_token());
    } while (!request.page_token().empty());
    if (pages != nullptr) *pages = count;
    return ids;
  }

  std::vector<std::string> AuditActions() const {
    std::vector<std::string> actions;
    for (const auto& envelope : store_.audit_entries()) {
      events::v1::AuditRecorded recorded;
      EXPECT_TRUE(envelope.payload().UnpackTo(&recorded));
      actions.push_back(recorded.event().action());
    }
    return actions;
  }

  testing::InMemoryTaskStore store_;
  absl::Time now_ = kNow;
  const paging::PageTokens tokens_{std::string(paging::kTokenKeyBytes, 'k')};
  const TaskManager manager_{&store_, &tokens_, [this] { return now_; }};
};

TEST_F(TaskManagerTest, CreateNamesEveryBadFieldAndWritesNothing) {
  v1::CreateTaskRequest empty;
  EXPECT_THAT(Fields(manager_.CreateTask(Rep(), empty).status()), ElementsAre("task"));
  empty.mutable_task();
  EXPECT_THAT(Fields(manager_.CreateTask(Rep(), empty).status()),
              ElementsAre("task.customer_id", "task.title", "task.assignee_id", "task.due_time"));

  v1::CreateTaskRequest bad = CreateRequest(1, Repeat("u", 129), absl::Hours(1), Repeat("跟", 501));
  bad.mutable_task()->set_customer_id("not-a-uuid");
  bad.mutable_task()->set_body(Repeat("进", 10001));
  bad.mutable_task()->mutable_due_time()->set_nanos(-1);
  bad.mutable_task()->set_priority(static_cast<v1::TaskPriority>(99));
  bad.set_request_id(Repeat("r", 129));
  EXPECT_THAT(Fields(manager_.CreateTask(Rep(), bad).status()),
              ElementsAre("task.customer_id", "task.title", "task.body", "task.assignee_id",
                          "task.due_time", "task.priority", "request_id"));
  // At the limits, in characters (not bytes), everything passes; white space around the title
  // is not counted.
  v1::CreateTaskRequest full = CreateRequest(1, Repeat("u", 128), absl::Hours(1),
                                             absl::StrCat("  ", Repeat("跟", 500), "\u3000"));
  full.mutable_task()->set_body(Repeat("进", 10000));
  full.set_request_id(Repeat("r", 128));
  TL_ASSERT_OK_AND_ASSIGN(const v1::CreateTaskResponse created, manager_.CreateTask(Rep(), full));
  EXPECT_EQ(created.task().title(), Repeat("跟", 500));
  EXPECT_THAT(AuditActions(), ElementsAre("task.created"));
}

TEST_F(TaskManagerTest, CreateFillsInWhatTheServerOwns) {
  v1::CreateTaskRequest request = CreateRequest(1, "u-rep", absl::Hours(48));
  request.mutable_task()->set_task_id("ignored");
  request.mutable_task()->set_state(v1::TASK_STATE_COMPLETED);
  request.mutable_task()->mutable_source()->set_touchpoint_id("ignored");
  TL_ASSERT_OK_AND_ASSIGN(const v1::CreateTaskResponse created,
                          manager_.CreateTask(Rep(), request));
  const v1::Task& task = created.task();
  EXPECT_TRUE(ids::IsUuid(task.task_id()));
  EXPECT_EQ(task.state(), v1::TASK_STATE_OPEN);
  EXPECT_EQ(task.source().created_by(), "u-rep");
  EXPECT_EQ(task.etag(), "1");
  EXPECT_EQ(FromProtoTime(task.create_time()), kNow);
  EXPECT_EQ(FromProtoTime(task.due_time()), kNow + absl::Hours(48));
  EXPECT_EQ(task.priority(), v1::TASK_PRIORITY_HIGH);
  TL_ASSERT_OK_AND_ASSIGN(const v1::Task read, Get(task.task_id(), Rep()));
  EXPECT_EQ(read.DebugString(), task.DebugString());
}

TEST_F(TaskManagerTest, CreateOncePerRequestId) {
  v1::CreateTaskRequest request = CreateRequest(1, "u-rep", absl::Hours(2));
  request.set_request_id("create-1");
  TL_ASSERT_OK_AND_ASSIGN(const auto first, manager_.CreateTask(Rep(), request));
  now_ += absl::Minutes(1);
  TL_ASSERT_OK_AND_ASSIGN(const auto again, manager_.CreateTask(Rep(), request));
  EXPECT_EQ(again.task().task_id(), first.task().task_id());
  EXPECT_EQ(again.task().create_time().seconds(), first.task().create_time().seconds());
  request.mutable_task()->set_title("另一个任务");
  const absl::Status reused = manager_.CreateTask(Rep(), request).status();
  EXPECT_THAT(reused, StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_EQ(status::ErrorReasonOf(reused), "REQUEST_ID_REUSED");
  // Without a request id, the same request makes a second task.
  request.clear_request_id();
  TL_ASSERT_OK_AND_ASSIGN(const auto other, manager_.CreateTask(Rep(), request));
  EXPECT_NE(other.task().task_id(), first.task().task_id());
  EXPECT_THAT(AuditActions(), ElementsAre("task.created", "task.created"));
}

TEST_F(TaskManagerTest, CreateNeedsAWritableCustomer) {
  EXPECT_THAT(
      manager_.CreateTask(Rep("u-rep", /*write=*/false), CreateRequest(1, "u-rep", absl::Hours(1))),
      StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(manager_.CreateTask(Rep(), CreateRequest(2, "u-rep", absl::Hours(1))),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr(CustomerId(2))));
  EXPECT_THAT(manager_.CreateTask(Admin(), CreateRequest(9, "u-rep", absl::Hours(1))),
              StatusIs(absl::StatusCode::kNotFound));  // not in the read model
  // Shared with the team to read only: seen, not written.
  EXPECT_THAT(manager_.CreateTask(TeamMember(), CreateRequest(3, "u-team", absl::Hours(1))),
              StatusIs(absl::StatusCode::kPermissionDenied));
  TL_EXPECT_OK(manager_.CreateTask(TeamMember(), CreateRequest(4, "u-team", absl::Hours(1))));
  EXPECT_THAT(AuditActions(), ElementsAre("task.created"));
}

TEST_F(TaskManagerTest, ATaskShowsExactlyWhenItsCustomerDoes) {
  const std::string mine = Create(1, "u-rep", absl::Hours(1));
  const std::string theirs = Create(2, "u-rep", absl::Hours(2));
  const std::string shared = Create(3, "u-other", absl::Hours(3));
  TL_EXPECT_OK(Get(mine, Rep()));
  // Assigned to the rep, but about a customer it cannot see: as if there were no such task.
  const absl::Status hidden = Get(theirs, Rep()).status();
  const std::string missing_id = "00000000-0000-4000-8000-0000000000ff";
  const absl::Status missing = Get(missing_id, Rep()).status();
  EXPECT_THAT(hidden,
              StatusIs(absl::StatusCode::kNotFound, absl::StrCat("task ", theirs, " not found")));
  EXPECT_THAT(missing, StatusIs(absl::StatusCode::kNotFound,
                                absl::StrCat("task ", missing_id, " not found")));
  TL_EXPECT_OK(Get(shared, TeamMember()));
  TL_EXPECT_OK(Get(absl::AsciiStrToUpper(shared), TeamMember()));
  EXPECT_THAT(Fields(Get("t-1", Rep()).status()), ElementsAre("task_id"));

  v1::ListTasksRequest all;
  EXPECT_THAT(ListAll(all, Rep()), ElementsAre(mine));
  EXPECT_THAT(ListAll(all, TeamMember()), ElementsAre(shared));
  EXPECT_THAT(ListAll(all, Admin()), ElementsAre(mine, theirs, shared));
}

TEST_F(TaskManagerTest, ChangesOnlyOfOpenTasksAndOnlyOfTheVersionRead) {
  const std::string completed = Create(1, "u-rep", absl::Hours(1));
  TL_ASSERT_OK_AND_ASSIGN(const v1::Task done, Complete(completed, Rep(), "1"));
  EXPECT_EQ(done.state(), v1::TASK_STATE_COMPLETED);
  EXPECT_EQ(FromProtoTime(done.complete_time()), kNow);
  EXPECT_EQ(done.resolution_note(), "已电话确认，客户下单");
  EXPECT_EQ(done.etag(), "2");
  EXPECT_THAT(Complete(completed, Rep()),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("it is completed")));
  EXPECT_THAT(Cancel(completed, Rep()), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(Reassign(completed, "u-lead", Rep()),
              StatusIs(absl::StatusCode::kFailedPrecondition));

  const std::string open = Create(1, "u-rep", absl::Hours(2));
  now_ += absl::Minutes(5);
  TL_ASSERT_OK_AND_ASSIGN(const v1::Task moved, Reassign(open, "u-lead", Rep(), "1"));
  EXPECT_EQ(moved.assignee_id(), "u-lead");
  EXPECT_EQ(moved.state(), v1::TASK_STATE_OPEN);
  EXPECT_EQ(moved.etag(), "2");
  EXPECT_EQ(FromProtoTime(moved.update_time()), kNow + absl::Minutes(5));
  const absl::Status stale = Reassign(open, "u-rep", Rep(), "1").status();
  EXPECT_THAT(stale, StatusIs(absl::StatusCode::kAborted));
  EXPECT_EQ(status::ErrorReasonOf(stale), "ETAG_MISMATCH");
  TL_ASSERT_OK_AND_ASSIGN(const v1::Task cancelled, Cancel(open, Rep()));
  EXPECT_EQ(cancelled.state(), v1::TASK_STATE_CANCELLED);
  EXPECT_EQ(cancelled.resolution_note(), "客户已流失");
  EXPECT_FALSE(cancelled.has_complete_time());
  EXPECT_EQ(cancelled.etag(), "3");
  TL_ASSERT_OK_AND_ASSIGN(const v1::Task read, Get(open, Rep()));
  EXPECT_EQ(read.DebugString(), cancelled.DebugString());
  EXPECT_THAT(AuditActions(), ElementsAre("task.created", "task.completed", "task.created",
                                          "task.reassigned", "task.cancelled"));
}

TEST_F(TaskManagerTest, ChangesAreCheckedAndNeedAWritableCustomer) {
  const std::string task = Create(1, "u-rep", absl::Hours(1));
  const std::string shared = Create(3, "u-team", absl::Hours(1));
  const size_t audited = AuditActions().size();
  EXPECT_THAT(Fields(Reassign("nope", "", Rep()).status()), ElementsAre("task_id", "assignee_id"));
  v1::CompleteTaskRequest long_note;
  long_note.set_task_id(task);
  long_note.set_resolution_note(Repeat("注", 2001));
  EXPECT_THAT(Fields(manager_.CompleteTask(Rep(), long_note).status()),
              ElementsAre("resolution_note"));
  v1::CancelTaskRequest long_cancel;
  long_cancel.set_task_id(task);
  long_cancel.set_resolution_note(Repeat("注", 2001));
  EXPECT_THAT(Fields(manager_.CancelTask(Rep(), long_cancel).status()),
              ElementsAre("resolution_note"));
  EXPECT_THAT(Complete(task, Rep("u-rep", /*write=*/false)),
              StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(Complete(task, Rep("u-other")), StatusIs(absl::StatusCode::kNotFound));
  // Assigned to the team member, about a customer shared with its team to read: it sees the
  // task and may not change it.
  TL_EXPECT_OK(Get(shared, TeamMember()));
  EXPECT_THAT(Complete(shared, TeamMember()), StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_EQ(AuditActions().size(), audited);
  TL_ASSERT_OK_AND_ASSIGN(const v1::Task read, Get(task, Rep()));
  EXPECT_EQ(read.state(), v1::TASK_STATE_OPEN);
  EXPECT_EQ(read.etag(), "1");
}

TEST_F(TaskManagerTest, FiltersCombineAndTheSoonestDueComesFirst) {
  AddCustomer(5, "u-rep");
  const std::string late = Create(1, "u-rep", absl::Hours(30));
  const std::string overdue = Create(1, "u-rep", -absl::Hours(3));
  const std::string lead_soon = Create(5, "u-lead", absl::Hours(1));
  const std::string other_overdue = Create(2, "u-other", -absl::Hours(1));
  const std::string done_overdue = Create(5, "u-rep", -absl::Hours(5));
  TL_ASSERT_OK(Complete(done_overdue, Admin()).status());

  v1::ListTasksRequest request;
  EXPECT_THAT(ListAll(request, Admin()),
              ElementsAre(done_overdue, overdue, other_overdue, lead_soon, late));
  request.set_assignee_id("me");
  EXPECT_THAT(ListAll(request, Rep()), ElementsAre(done_overdue, overdue, late));
  EXPECT_THAT(ListAll(request, Lead()), ElementsAre(lead_soon));
  request.set_assignee_id("u-rep");
  EXPECT_THAT(ListAll(request, Lead()), ElementsAre(done_overdue, overdue, late));
  request.clear_assignee_id();
  request.set_my_team(true);
  EXPECT_THAT(ListAll(request, Lead()), ElementsAre(done_overdue, overdue, lead_soon, late));
  // No task is assigned to the admin or to anyone who reports to it.
  EXPECT_THAT(ListAll(request, Admin()), IsEmpty());
  request.set_my_team(false);
  request.set_overdue(true);
  EXPECT_THAT(ListAll(request, Admin()), ElementsAre(overdue, other_overdue));
  EXPECT_THAT(ListAll(request, Rep()), ElementsAre(overdue));
  now_ += absl::Hours(2);  // lead_soon falls due
  EXPECT_THAT(ListAll(request, Admin()), ElementsAre(overdue, other_overdue, lead_soon));
  request.set_overdue(false);
  request.set_state(v1::TASK_STATE_COMPLETED);
  EXPECT_THAT(ListAll(request, Admin()), ElementsAre(done_overdue));
  request.set_state(v1::TASK_STATE_OPEN);
  request.set_customer_id(CustomerId(1));
  EXPECT_THAT(ListAll(request, Admin()), ElementsAre(overdue, late));
  request.set_customer_id(absl::AsciiStrToUpper(CustomerId(5)));
  EXPECT_THAT(ListAll(request, Admin()), ElementsAre(lead_soon));

  v1::ListTasksRequest bad;
  bad.set_page_size(201);
  bad.set_assignee_id(Repeat("u", 129));
  bad.set_state(static_cast<v1::TaskState>(7));
  bad.set_customer_id("c-1");
  EXPECT_THAT(Fields(manager_.ListTasks(Admin(), bad).status()),
              ElementsAre("page_size", "assignee_id", "state", "customer_id"));
  bad = {};
  bad.set_page_size(-1);
  EXPECT_THAT(Fields(manager_.ListTasks(Admin(), bad).status()), ElementsAre("page_size"));
}

TEST_F(TaskManagerTest, PagesFollowTheOrderAndTokensTheirQuery) {
  std::vector<std::string> expected;
  // Seven tasks, two of them due at the same time (then by task id).
  for (int i = 0; i < 7; ++i) {
    expected.push_back(Create(1, "u-rep", absl::Hours(i == 6 ? 5 : i)));
  }
  if (expected[6] < expected[5]) std::swap(expected[5], expected[6]);
  v1::ListTasksRequest request;
  request.set_page_size(3);
  int pages = 0;
  EXPECT_EQ(ListAll(request, Rep(), &pages), expected);
  EXPECT_EQ(pages, 3);
  request.set_page_size(7);
  EXPECT_EQ(ListAll(request, Rep(), &pages), expected);
  EXPECT_EQ(pages, 1);  // exactly full: no token
  request.set_page_size(0);
  TL_ASSERT_OK_AND_ASSIGN(const auto all, manager_.ListTasks(Rep(), request));
  EXPECT_EQ(all.tasks_size(), 7);  // 50 by default

  request.set_page_size(3);
  TL_ASSERT_OK_AND_ASSIGN(const auto first, manager_.ListTasks(Rep(), request));
  ASSERT_FALSE(first.next_page_token().empty());
  v1::ListTasksRequest other = request;
  other.set_page_token(first.next_page_token());
  other.set_state(v1::TASK_STATE_OPEN);
  EXPECT_THAT(Fields(manager_.ListTasks(Rep(), other).status()), ElementsAre("page_token"));
  other = request;
  other.set_page_token(first.next_page_token());
  other.set_assignee_id("me");  // "me" is another user for each caller
  EXPECT_THAT(manager_.ListTasks(Rep(), other).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  other.set_page_token("garbage");
  EXPECT_THAT(Fields(manager_.ListTasks(Rep(), other).status()), ElementsAre("page_token"));
}

TEST_F(TaskManagerTest, OverduePagesKeepTheFirstPagesNow) {
  for (int i = 0; i < 4; ++i) Create(1, "u-rep", absl::Minutes(10 * i - 35));  // -35 ... -5
  Create(1, "u-rep", absl::Minutes(5));
  v1::ListTasksRequest request;
  request.set_overdue(true);
  request.set_page_size(2);
  TL_ASSERT_OK_AND_ASSIGN(const auto first, manager_.ListTasks(Rep(), request));
  EXPECT_EQ(first.tasks_size(), 2);
  now_ += absl::Minutes(10);  // the fifth falls due meanwhile: not on this listing's pages
  request.set_page_token(first.next_page_token());
  TL_ASSERT_OK_AND_ASSIGN(const auto second, manager_.ListTasks(Rep(), request));
  EXPECT_EQ(second.tasks_size(), 2);
  EXPECT_TRUE(second.next_page_token().empty());
  request.clear_page_token();
  request.set_page_size(10);
  TL_ASSERT_OK_AND_ASSIGN(const auto fresh, manager_.ListTasks(Rep(), request));
  EXPECT_EQ(fresh.tasks_size(), 5);
}

TEST(InMemoryTaskStoreTest, ARuleActionOrTouchpointMakesOneTask) {
  testing::InMemoryTaskStore store;
  const auth::RequestContext engine = auth::testing::CallerWithScope(
      auth::testing::AdminScope(kTenant, "automation"), kTenant, "automation");
  const auto made = [&](const v1::TaskSource& source) {
    NewTask task{.context = {engine, kNow}, .task = {}, .request_id = "", .fingerprint = ""};
    task.task.set_task_id(ids::NewUuid());
    task.task.set_customer_id(CustomerId(1));
    task.task.set_title("跟进 VIP 客户");
    task.task.set_assignee_id("u-rep");
    *task.task.mutable_due_time() = ToProtoTime(kNow + absl::Hours(48));
    task.task.set_state(v1::TASK_STATE_OPEN);
    *task.task.mutable_source() = source;
    *task.task.mutable_create_time() = ToProtoTime(kNow);
    *task.task.mutable_update_time() = ToProtoTime(kNow);
    return store.Create(task);
  };
  v1::TaskSource rule;
  rule.mutable_rule()->set_rule_id("r-1");
  rule.mutable_rule()->set_rule_version(2);
  rule.mutable_rule()->set_run_id("run-1");
  rule.mutable_rule()->set_action_id("a-1");
  TL_ASSERT_OK_AND_ASSIGN(const v1::Task first, made(rule));
  TL_ASSERT_OK_AND_ASSIGN(const v1::Task replayed, made(rule));
  EXPECT_EQ(replayed.task_id(), first.task_id());
  rule.mutable_rule()->set_action_id("a-2");
  TL_ASSERT_OK_AND_ASSIGN(const v1::Task second_action, made(rule));
  EXPECT_NE(second_action.task_id(), first.task_id());
  v1::TaskSource touchpoint;
  touchpoint.set_touchpoint_id("tp-1");
  TL_ASSERT_OK_AND_ASSIGN(const v1::Task followed, made(touchpoint));
  TL_ASSERT_OK_AND_ASSIGN(const v1::Task again, made(touchpoint));
  EXPECT_EQ(again.task_id(), followed.task_id());
  EXPECT_EQ(store.audit_entries().size(), 3u);
}

}  // namespace
}  // namespace touchline::automation
