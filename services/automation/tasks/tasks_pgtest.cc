// Tasks against real PostgreSQL: the schema as the host migrates it (the automation
// migrations, the customer and shares read models, idempotency keys, the outbox), PgTaskStore
// on its own (unique sources, keyset order) and TaskManager on it (visibility, permissions,
// state changes, etags, filters, paging, idempotent create), each write with its audit entry
// and its event on the "tasks" topic.
#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/auth/scope.h"
#include "common/auth/testing/trusted_authenticator.h"
#include "common/customers/read_model.h"
#include "common/ids/ids.h"
#include "common/paging/page_token.h"
#include "common/pg/pool.h"
#include "common/status/errors.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/automation/tasks/pg_task_store.h"
#include "services/automation/tasks/task_change.h"
#include "services/automation/tasks/task_manager.h"
#include "services/automation/tasks/testing/callers.h"
#include "services/automation/tasks/testing/pg_schema.h"
#include "services/automation/tasks/testing/task_events.h"
#include "tests/testing/pg_test_env.h"
#include "tests/testing/status_matchers.h"
#include "touchline/events/v1/permission_events.pb.h"
#include "touchline/events/v1/task_events.pb.h"

namespace touchline::automation {
namespace {

namespace cv1 = ::touchline::contacts::v1;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::touchline::testing::StatusIs;

constexpr char kTenant[] = "acme";
const absl::Time kNow =
    absl::FromCivil(absl::CivilSecond(2026, 12, 7, 9, 0, 0), absl::UTCTimeZone());

class TasksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    TL_ASSERT_OK_AND_ASSIGN(pool_, testing::MigratedPool(dsn_, schema_.name()));
    TL_ASSERT_OK_AND_ASSIGN(tokens_, paging::PageTokens::Load(*pool_));
    store_ = std::make_unique<PgTaskStore>(pool_.get(), [this] { ++wakes_; });
    manager_ = std::make_unique<TaskManager>(store_.get(), &*tokens_, [this] { return now_; });
    mine_ = AddCustomer("u-rep");
    theirs_ = AddCustomer("u-other");
    shared_ = AddCustomer("u-other", /*edit=*/false);
  }

  // A new customer of `owner` in the read model; shared with team t-1 when `edit` is set
  // (to edit when true). Its id.
  std::string AddCustomer(const std::string& owner, std::optional<bool> edit = std::nullopt) {
    const std::string id = ids::NewUuid();
    customers::CustomerRow row;
    row.tenant_id = kTenant;
    row.customer_id = id;
    row.state = cv1::CUSTOMER_STATE_ACTIVE;
    row.owner_id = owner;
    row.region = "华东";
    row.level = cv1::CUSTOMER_LEVEL_STANDARD;
    row.version = 1;
    EXPECT_THAT(pool_->Transact([&](pqxx::work& txn) -> absl::Status {
      TL_ASSIGN_OR_RETURN(const bool kept, customers::ReadModel().Apply(txn, row));
      if (!kept) return absl::InternalError("the read model did not keep the customer");
      if (edit.has_value()) {
        txn.exec_params(
            "INSERT INTO customer_shares (tenant_id, customer_id, grantee, edit) "
            "VALUES ($1, $2::uuid, 'team:t-1', $3)",
            kTenant, id, *edit);
      }
      return absl::OkStatus();
    }),
                touchline::testing::IsOk());
    return id;
  }

  static auth::RequestContext Admin() { return testing::Admin(kTenant); }
  static auth::RequestContext Rep(const std::string& user = "u-rep", bool write = true) {
    return testing::Rep(kTenant, user, write);
  }
  static auth::RequestContext Lead() { return testing::Lead(kTenant); }
  static auth::RequestContext TeamMember() { return testing::TeamMember(kTenant); }

  static v1::CreateTaskRequest CreateRequest(const std::string& customer,
                                             const std::string& assignee, absl::Duration due_in,
                                             const std::string& title = "回访 深圳腾飞") {
    v1::CreateTaskRequest request;
    v1::Task* task = request.mutable_task();
    task->set_customer_id(customer);
    task->set_title(title);
    task->set_body("确认报价单\n约下周演示");
    task->set_assignee_id(assignee);
    *task->mutable_due_time() = ToProtoTime(kNow + due_in);
    task->set_priority(v1::TASK_PRIORITY_URGENT);
    return request;
  }

  std::string Create(const std::string& customer, const std::string& assignee,
                     absl::Duration due_in, const std::string& title = "回访 深圳腾飞") {
    const auto created =
        manager_->CreateTask(Admin(), CreateRequest(customer, assignee, due_in, title));
    EXPECT_TRUE(created.ok()) << created.status();
    return created.ok() ? created->task().task_id() : "";
  }

  // A task the engine makes: from `source`, about `customer`.
  NewTask EngineTask(const v1::TaskSource& source, const std::string& customer) {
    NewTask task{.context = {Admin(), now_}, .task = {}, .request_id = "", .fingerprint = ""};
    task.task.set_task_id(ids::NewUuid());
    task.task.set_customer_id(customer);
    task.task.set_title("跟进 VIP 客户（48 小时内）");
    task.task.set_assignee_id("u-rep");
    *task.task.mutable_due_time() = ToProtoTime(now_ + absl::Hours(48));
    task.task.set_state(v1::TASK_STATE_OPEN);
    *task.task.mutable_source() = source;
    *task.task.mutable_create_time() = ToProtoTime(now_);
    *task.task.mutable_update_time() = ToProtoTime(now_);
    return task;
  }

  std::vector<std::string> ListAll(v1::ListTasksRequest request, const auth::RequestContext& caller,
                                   int* pages = nullptr) {
    std::vector<std::string> ids;
    int count = 0;
    do {
      const auto page = manager_->ListTasks(caller, request);
      EXPECT_TRUE(page.ok()) << page.status();
      if (!page.ok() || ++count > 50) break;
      for (const v1::Task& task : page->tasks()) ids.push_back(task.task_id());
      request.set_page_token(page->next_page_token());
    } while (!request.page_token().empty());
    if (pages != nullptr) *pages = count;
    return ids;
  }

  int Count(const std::string& sql) { return testing::Count(*pool_, sql); }
  int AuditEntries() { return Count("SELECT count(*) FROM outbox WHERE topic = 'audit'"); }
  std::vector<std::string> TaskEvents() { return testing::DescribeOutboxTaskEvents(*pool_); }

  const std::string dsn_ = touchline::testing::TestPgDsn();
  touchline::testing::ScopedSchema schema_{"automation_tasks"};
  std::unique_ptr<pg::Pool> pool_;
  std::optional<paging::PageTokens> tokens_;
  std::unique_ptr<PgTaskStore> store_;
  std::unique_ptr<TaskManager> manager_;
  absl::Time now_ = kNow;
  int wakes_ = 0;
  std::string mine_, theirs_, shared_;
};

TEST_F(TasksTest, CreateStoresWhatGetReturnsOncePerRequestId) {
  v1::CreateTaskRequest request = CreateRequest(mine_, "u-rep", absl::Hours(48));
  request.mutable_task()->set_title("  回访 深圳腾飞科技有限公司\u3000");
  *request.mutable_task()->mutable_due_time() =
      ToProtoTime(kNow + absl::Hours(48) + absl::Nanoseconds(1500));
  request.set_request_id("create-1");
  TL_ASSERT_OK_AND_ASSIGN(const v1::CreateTaskResponse created,
                          manager_->CreateTask(Rep(), request));
  const v1::Task& task = created.task();
  EXPECT_EQ(task.title(), "回访 深圳腾飞科技有限公司");
  EXPECT_EQ(task.source().created_by(), "u-rep");
  EXPECT_EQ(task.state(), v1::TASK_STATE_OPEN);
  EXPECT_EQ(task.etag(), "1");
  TL_ASSERT_OK_AND_ASSIGN(const v1::Task stored, store_->Get(kTenant, task.task_id()));
  EXPECT_EQ(stored.DebugString(), task.DebugString());
  EXPECT_EQ(stored.body(), "确认报价单\n约下周演示");
  EXPECT_EQ(FromProtoTime(stored.due_time()), kNow + absl::Hours(48) + absl::Microseconds(1));
  EXPECT_EQ(wakes_, 1);

  now_ += absl::Minutes(1);
  TL_ASSERT_OK_AND_ASSIGN(const auto again, manager_->CreateTask(Rep(), request));
  EXPECT_EQ(again.task().DebugString(), task.DebugString());
  request.mutable_task()->set_title("另一个任务");
  const absl::Status reused = manager_->CreateTask(Rep(), request).status();
  EXPECT_THAT(reused, StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_EQ(status::ErrorReasonOf(reused), "REQUEST_ID_REUSED");
  EXPECT_EQ(Count("SELECT count(*) FROM tasks"), 1);
  EXPECT_EQ(AuditEntries(), 1);
  // One TaskCreated, in the create's transaction, carrying the task as stored; the replay and
  // the refused reuse publish nothing.
  EXPECT_THAT(TaskEvents(), ElementsAre(absl::StrCat("created ", mine_, " v1 by u-rep")));
  const std::vector<events::v1::EventEnvelope> published = testing::OutboxTaskEvents(*pool_);
  ASSERT_EQ(published.size(), 1u);
  events::v1::TaskCreated event;
  ASSERT_TRUE(published[0].payload().UnpackTo(&event));
  EXPECT_EQ(event.task().DebugString(), stored.DebugString());
  EXPECT_EQ(published[0].tenant_id(), kTenant);

  EXPECT_THAT(manager_->CreateTask(Rep(), CreateRequest(theirs_, "u-rep", absl::Hours(1))),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(manager_->CreateTask(TeamMember(), CreateRequest(shared_, "u-team", absl::Hours(1))),
              StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(manager_->CreateTask(Admin(), CreateRequest(ids::NewUuid(), "u-rep", absl::Hours(1))),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_EQ(Count("SELECT count(*) FROM tasks"), 1);
}

TEST_F(TasksTest, ARuleActionOrATouchpointMakesOneTask) {
  v1::TaskSource rule;
  rule.mutable_rule()->set_rule_id(ids::NewUuid());
  rule.mutable_rule()->set_rule_version(3);
  rule.mutable_rule()->set_run_id(ids::NewUuid());
  rule.mutable_rule()->set_action_id("follow-up");
  TL_ASSERT_OK_AND_ASSIGN(const v1::Task first, store_->Create(EngineTask(rule, mine_)));
  EXPECT_EQ(first.source().rule().rule_version(), 3);
  // The event replayed: a new id, the same action of the same run.
  TL_ASSERT_OK_AND_ASSIGN(const v1::Task replayed, store_->Create(EngineTask(rule, mine_)));
  EXPECT_EQ(replayed.DebugString(), first.DebugString());
  rule.mutable_rule()->set_rule_version(4);
  TL_ASSERT_OK_AND_ASSIGN(const v1::Task next_version, store_->Create(EngineTask(rule, mine_)));
  EXPECT_NE(next_version.task_id(), first.task_id());

  v1::TaskSource touchpoint;
  touchpoint.set_touchpoint_id(ids::NewUuid());
  TL_ASSERT_OK_AND_ASSIGN(const v1::Task followed, store_->Create(EngineTask(touchpoint, mine_)));
  TL_ASSERT_OK_AND_ASSIGN(const v1::Task again, store_->Create(EngineTask(touchpoint, mine_)));
  EXPECT_EQ(again.task_id(), followed.task_id());
  EXPECT_EQ(again.source().touchpoint_id(), touchpoint.touchpoint_id());
  EXPECT_EQ(Count("SELECT count(*) FROM tasks"), 3);
  EXPECT_EQ(AuditEntries(), 3);
  EXPECT_EQ(TaskEvents().size(), 3u);
  // The unique keys themselves hold, whatever inserts: a second row for the touchpoint fails.
  const absl::Status duplicate = pool_->Transact([&](pqxx::work& txn) {
    txn.exec_params(
        "INSERT INTO tasks (tenant_id, task_id, customer_id, title, assignee_id, due_time, state, "
        "source_kind, touchpoint_id, create_time, update_time) VALUES ($1, $2::uuid, $3::uuid, "
        "'t', 'u', now(), 1, 2, $4, now(), now())",
        kTenant, ids::NewUuid(), mine_, touchpoint.touchpoint_id());
    return absl::OkStatus();
  });
  EXPECT_FALSE(duplicate.ok());
  // A request id given with a repeated source is not kept: its retry finds the same task.
  NewTask keyed = EngineTask(touchpoint, mine_);
  keyed.request_id = "engine-1";
  keyed.fingerprint = "f";
  TL_ASSERT_OK_AND_ASSIGN(const v1::Task keyed_task, store_->Create(keyed));
  EXPECT_EQ(keyed_task.task_id(), followed.task_id());
  EXPECT_EQ(Count("SELECT count(*) FROM idempotency_keys"), 0);
}

TEST_F(TasksTest, VisibilityChangesAndEtags) {
  const std::string mine = Create(mine_, "u-rep", absl::Hours(1));
  const std::string theirs = Create(theirs_, "u-rep", absl::Hours(2));
  const std::string shared = Create(shared_, "u-team", absl::Hours(3));
  v1::GetTaskRequest get;
  get.set_task_id(theirs);
  EXPECT_THAT(manager_->GetTask(Rep(), get),
              StatusIs(absl::StatusCode::kNotFound, absl::StrCat("task ", theirs, " not found")));
  get.set_task_id(shared);
  TL_EXPECT_OK(manager_->GetTask(TeamMember(), get));
  EXPECT_THAT(ListAll({}, Rep()), ElementsAre(mine));
  EXPECT_THAT(ListAll({}, TeamMember()), ElementsAre(shared));
  EXPECT_THAT(ListAll({}, Admin()), ElementsAre(mine, theirs, shared));

  v1::CompleteTaskRequest complete;
  complete.set_task_id(shared);
  EXPECT_THAT(manager_->CompleteTask(TeamMember(), complete),
              StatusIs(absl::StatusCode::kPermissionDenied));
  complete.set_task_id(theirs);
  EXPECT_THAT(manager_->CompleteTask(Rep(), complete), StatusIs(absl::StatusCode::kNotFound));

  now_ += absl::Minutes(30);
  v1::ReassignTaskRequest reassign;
  reassign.set_task_id(mine);
  reassign.set_assignee_id("u-lead");
  reassign.set_etag("1");
  TL_ASSERT_OK_AND_ASSIGN(const auto moved, manager_->ReassignTask(Rep(), reassign));
  EXPECT_EQ(moved.task().assignee_id(), "u-lead");
  EXPECT_EQ(moved.task().etag(), "2");
  EXPECT_THAT(manager_->ReassignTask(Rep(), reassign), StatusIs(absl::StatusCode::kAborted));
  complete.set_task_id(mine);
  complete.set_resolution_note("客户已下单：合同编号 HT-2026-118");
  complete.set_etag("2");
  TL_ASSERT_OK_AND_ASSIGN(const auto done, manager_->CompleteTask(Rep(), complete));
  EXPECT_EQ(done.task().state(), v1::TASK_STATE_COMPLETED);
  EXPECT_EQ(done.task().etag(), "3");
  TL_ASSERT_OK_AND_ASSIGN(const v1::Task stored, store_->Get(kTenant, mine));
  EXPECT_EQ(stored.DebugString(), done.task().DebugString());
  EXPECT_EQ(FromProtoTime(stored.complete_time()), kNow + absl::Minutes(30));
  v1::CancelTaskRequest cancel;
  cancel.set_task_id(mine);
  EXPECT_THAT(manager_->CancelTask(Rep(), cancel),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("completed")));
  cancel.set_task_id(theirs);
  TL_ASSERT_OK_AND_ASSIGN(const auto cancelled, manager_->CancelTask(Admin(), cancel));
  EXPECT_EQ(cancelled.task().state(), v1::TASK_STATE_CANCELLED);
  EXPECT_FALSE(cancelled.task().has_complete_time());
  EXPECT_EQ(AuditEntries(), 6);  // three created, reassigned, completed, cancelled
  EXPECT_THAT(
      TaskEvents(),
      ElementsAre(
          absl::StrCat("created ", mine_, " v1 by u-admin"),
          absl::StrCat("created ", theirs_, " v1 by u-admin"),
          absl::StrCat("created ", shared_, " v1 by u-admin"),
          absl::StrCat("changed ", mine_, " v2 assignee_id by u-rep"),
          absl::StrCat("changed ", mine_, " v3 state complete_time resolution_note by u-rep"),
          absl::StrCat("changed ", theirs_, " v2 state resolution_note by u-admin")));
  // A TaskChanged carries the task as the change left it; a failed change publishes nothing.
  events::v1::TaskChanged last;
  ASSERT_TRUE(testing::OutboxTaskEvents(*pool_).back().payload().UnpackTo(&last));
  EXPECT_EQ(last.task().DebugString(), cancelled.task().DebugString());
  EXPECT_EQ(last.previous_customer_id(), "");
  EXPECT_THAT(store_->Get(kTenant, ids::NewUuid()), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(TasksTest, FiltersAndKeysetPagesOverManyPages) {
  // 23 tasks with Chinese titles, due on 8 distinct times (ties ordered by task id), across
  // assignees and customers.
  const std::string team_customer = AddCustomer("u-rep");
  std::vector<std::pair<absl::Duration, std::string>> due;
  for (int i = 0; i < 23; ++i) {
    const absl::Duration in = absl::Hours(i % 8) - absl::Hours(3);
    const std::string assignee = i % 3 == 0 ? "u-lead" : (i % 3 == 1 ? "u-rep" : "u-other");
    const std::string customer = i % 5 == 0 ? team_customer : mine_;
    due.emplace_back(in, Create(customer, assignee, in, absl::StrCat("第", i, "号任务：跟进报价")));
  }
  std::sort(due.begin(), due.end());
  std::vector<std::string> expected;
  for (const auto& [in, id] : due) expected.push_back(id);

  v1::ListTasksRequest request;
  request.set_page_size(4);
  int pages = 0;
  EXPECT_THAT(ListAll(request, Rep(), &pages), ElementsAreArray(expected));
  EXPECT_EQ(pages, 6);

  // Every filter, compared with the same filter applied to the whole list.
  const auto select = [&](auto keep) {
    std::vector<std::string> kept;
    for (const std::string& id : expected) {
      const auto task = store_->Get(kTenant, id);
      if (task.ok() && keep(*task)) kept.push_back(id);
    }
    return kept;
  };
  request.set_page_size(3);
  request.set_assignee_id("me");
  EXPECT_THAT(
      ListAll(request, Rep()),
      ElementsAreArray(select([](const v1::Task& t) { return t.assignee_id() == "u-rep"; })));
  request.clear_assignee_id();
  request.set_my_team(true);
  EXPECT_THAT(ListAll(request, Lead()), ElementsAreArray(select([](const v1::Task& t) {
                return t.assignee_id() == "u-rep" || t.assignee_id() == "u-lead";
              })));
  request.set_my_team(false);
  request.set_customer_id(team_customer);
  EXPECT_THAT(ListAll(request, Rep()), ElementsAreArray(select([&](const v1::Task& t) {
                return t.customer_id() == team_customer;
              })));
  request.clear_customer_id();
  request.set_overdue(true);
  const std::vector<std::string> overdue =
      select([](const v1::Task& t) { return FromProtoTime(t.due_time()) < kNow; });
  EXPECT_EQ(overdue.size(), 9u);
  EXPECT_THAT(ListAll(request, Rep()), ElementsAreArray(overdue));
  // Completing one takes it off the overdue list and puts it on the completed one.
  v1::CompleteTaskRequest complete;
  complete.set_task_id(overdue[4]);
  TL_ASSERT_OK(manager_->CompleteTask(Rep(), complete).status());
  std::vector<std::string> still_overdue = overdue;
  still_overdue.erase(still_overdue.begin() + 4);
  EXPECT_THAT(ListAll(request, Rep()), ElementsAreArray(still_overdue));
  request.set_overdue(false);
  request.set_state(v1::TASK_STATE_COMPLETED);
  EXPECT_THAT(ListAll(request, Rep()), ElementsAre(overdue[4]));
  // Nothing of it shows to a rep who sees none of these customers.
  request.clear_state();
  EXPECT_TRUE(ListAll(request, Rep("u-stranger")).empty());

  request.set_page_token("garbage");
  EXPECT_THAT(manager_->ListTasks(Rep(), request), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(TasksTest, TeamTurnsCountPerTeamAndTenantFromZero) {
  std::vector<int64_t> turns;
  for (const char* team : {"inside-sales", "inside-sales", "service", "inside-sales"}) {
    TL_ASSERT_OK_AND_ASSIGN(const int64_t turn, store_->NextTeamTurn(kTenant, team));
    turns.push_back(turn);
  }
  EXPECT_THAT(turns, ElementsAre(0, 1, 0, 2));
  TL_ASSERT_OK_AND_ASSIGN(const int64_t other, store_->NextTeamTurn("globex", "inside-sales"));
  EXPECT_EQ(other, 0);
}

}  // namespace
}  // namespace touchline::automation
