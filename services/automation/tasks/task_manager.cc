#include "services/automation/tasks/task_manager.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/idempotency/idempotency.h"
#include "common/ids/ids.h"
#include "common/status/errors.h"
#include "common/status/macros.h"
#include "common/validation/field_checker.h"
#include "nlohmann/json.hpp"
#include "services/automation/tasks/task_change.h"

namespace touchline::automation {
namespace {

using nlohmann::json;
namespace pv1 = ::touchline::permissions::v1;

constexpr size_t kMaxTitleChars = 500;
constexpr size_t kMaxBodyChars = 10000;
constexpr size_t kMaxAssigneeChars = 128;
constexpr size_t kMaxNoteChars = 2000;
// ListTasksRequest.assignee_id for the caller.
constexpr char kMe[] = "me";
// The range of a google.protobuf.Timestamp: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z.
constexpr int64_t kMinTimestampSeconds = -62135596800;
constexpr int64_t kMaxTimestampSeconds = 253402300799;

std::string Lower(std::string_view id) {
  return absl::AsciiStrToLower(absl::string_view(id.data(), id.size()));
}

// The user the caller acts as: its id, or its scope's user when the edge named none.
std::string UserOf(const auth::RequestContext& caller, const auth::Scope& scope) {
  return caller.caller_id.empty() ? scope.user_id() : caller.caller_id;
}

void CheckAssignee(std::string& assignee, std::string_view path,
                   validation::FieldChecker& checker) {
  checker.Text(assignee, path, kMaxAssigneeChars,
               {.required = true, .controls = validation::ControlCharacters::kForbidden});
}

// The query a page token is bound to: the filters as the caller's request resolved them.
std::string ListQueryHash(const auth::RequestContext& caller, const std::string& assignee,
                          const std::string& team_of, const v1::ListTasksRequest& request,
                          const std::string& customer_id) {
  return paging::QueryHash(absl::StrJoin({std::string("tasks"), caller.tenant_id, assignee, team_of,
                                          absl::StrCat(static_cast<int>(request.state())),
                                          std::string(request.overdue() ? "o" : ""), customer_id},
                                         "\n"));
}

}  // namespace

TaskWriteContext TaskManager::NewWriteContext(const auth::RequestContext& caller) const {
  return TaskWriteContext{caller, absl::FromUnixMicros(absl::ToUnixMicros(clock_()))};
}

absl::StatusOr<v1::Task> TaskManager::VisibleTask(const auth::RequestContext& caller,
                                                  const std::string& task_id,
                                                  auth::Access access) const {
  TL_ASSIGN_OR_RETURN(const auth::Scope* scope, auth::ScopeOf(caller));
  TL_ASSIGN_OR_RETURN(v1::Task task, store_->Get(caller.tenant_id, task_id));
  TL_ASSIGN_OR_RETURN(const std::optional<auth::CustomerAttributes> customer,
                      store_->FindCustomer(caller.tenant_id, task.customer_id()));
  if (!customer.has_value()) return TaskNotFound(task_id);
  TL_RETURN_IF_ERROR(scope->CheckRow(access, *customer, TaskNotFound(task_id)));
  return task;
}

absl::StatusOr<v1::CreateTaskResponse> TaskManager::CreateTask(
    const auth::RequestContext& caller, const v1::CreateTaskRequest& request) const {
  if (!request.has_task()) return status::InvalidArgument("task", "is required");
  // What the client may set; the rest is the server's.
  v1::Task task;
  task.set_customer_id(Lower(request.task().customer_id()));
  task.set_title(request.task().title());
  task.set_body(request.task().body());
  task.set_assignee_id(request.task().assignee_id());
  if (request.task().has_due_time()) *task.mutable_due_time() = request.task().due_time();
  task.set_priority(request.task().priority());
  status::FieldViolations violations;
  validation::FieldChecker checker(violations);
  checker.Uuid(task.customer_id(), "task.customer_id");
  checker.Text(*task.mutable_title(), "task.title", kMaxTitleChars,
               {.required = true, .controls = validation::ControlCharacters::kForbidden});
  checker.Text(*task.mutable_body(), "task.body", kMaxBodyChars,
               {.trim = false, .controls = validation::ControlCharacters::kTabAndLineBreaks});
  CheckAssignee(*task.mutable_assignee_id(), "task.assignee_id", checker);
  if (checker.Required(task.has_due_time(), "task.due_time") &&
      (task.due_time().seconds() < kMinTimestampSeconds ||
       task.due_time().seconds() > kMaxTimestampSeconds || task.due_time().nanos() < 0 ||
       task.due_time().nanos() > 999999999)) {
    checker.Add("task.due_time", "must be a valid timestamp");
  }
  checker.KnownEnum(task.priority(), v1::TaskPriority_IsValid, "task.priority");
  if (const std::optional<std::string> problem =
          idempotency::RequestIdProblem(request.request_id())) {
    checker.Add("request_id", *problem);
  }
  TL_RETURN_IF_ERROR(violations.ToStatus());
  TL_RETURN_IF_ERROR(auth::RequirePermission(caller, pv1::PERMISSION_CUSTOMERS_WRITE));
  TL_ASSIGN_OR_RETURN(const auth::Scope* scope, auth::ScopeOf(caller));
  const absl::Status customer_not_found =
      absl::NotFoundError(absl::StrCat("customer ", task.customer_id(), " not found"));
  TL_ASSIGN_OR_RETURN(const std::optional<auth::CustomerAttributes> customer,
                      store_->FindCustomer(caller.tenant_id, task.customer_id()));
  if (!customer.has_value()) return customer_not_found;
  TL_RETURN_IF_ERROR(scope->CheckRow(auth::Access::kWrite, *customer, customer_not_found));

  NewTask created{.context = NewWriteContext(caller),
                  .task = {},
                  .request_id = request.request_id(),
                  // Of what the client asked for, before the server fills anything in.
                  .fingerprint = ids::Fingerprint(task)};
  const absl::Time now = created.context.now;
  // Microseconds, as PostgreSQL keeps them.
  *task.mutable_due_time() = ToProtoTime(FromProtoTime(task.due_time()));
  task.set_task_id(ids::NewUuid(now));
  task.set_state(v1::TASK_STATE_OPEN);
  task.mutable_source()->set_created_by(UserOf(caller, *scope));
  *task.mutable_create_time() = ToProtoTime(now);
  *task.mutable_update_time() = ToProtoTime(now);
  created.task = std::move(task);
  TL_ASSIGN_OR_RETURN(v1::Task stored, store_->Create(created));
  v1::CreateTaskResponse response;
  *response.mutable_task() = std::move(stored);
  return response;
}

absl::StatusOr<v1::GetTaskResponse> TaskManager::GetTask(const auth::RequestContext& caller,
                                                         const v1::GetTaskRequest& request) const {
  status::FieldViolations violations;
  validation::FieldChecker(violations).Uuid(request.task_id(), "task_id");
  TL_RETURN_IF_ERROR(violations.ToStatus());
  TL_ASSIGN_OR_RETURN(v1::Task task,
                      VisibleTask(caller, Lower(request.task_id()), auth::Access::kRead));
  v1::GetTaskResponse response;
  *response.mutable_task() = std::move(task);
  return response;
}

absl::StatusOr<v1::ListTasksResponse> TaskManager::ListTasks(
    const auth::RequestContext& caller, const v1::ListTasksRequest& request) const {
  status::FieldViolations violations;
  validation::FieldChecker checker(violations);
  if (request.page_size() < 0 || request.page_size() > kMaxTaskPageSize) {
    checker.Add("page_size", absl::StrCat("must be between 0 and ", kMaxTaskPageSize));
  }
  const int page_size = request.page_size() == 0 ? kDefaultTaskPageSize : request.page_size();
  std::string assignee = request.assignee_id();
  if (!assignee.empty()) CheckAssignee(assignee, "assignee_id", checker);
  checker.KnownEnum(request.state(), v1::TaskState_IsValid, "state");
  const std::string customer_id = Lower(request.customer_id());
  if (!customer_id.empty()) checker.Uuid(customer_id, "customer_id");
  TL_RETURN_IF_ERROR(violations.ToStatus());
  TL_ASSIGN_OR_RETURN(const auth::Scope* scope, auth::ScopeOf(caller));
  const std::string user = UserOf(caller, *scope);

  TaskQuery query;
  query.tenant_id = caller.tenant_id;
  query.scope = scope;
  query.assignee_id = assignee == kMe ? user : assignee;
  if (request.my_team()) {
    std::vector<std::string> team(scope->proto().owner_ids().begin(),
                                  scope->proto().owner_ids().end());
    team.push_back(user);
    query.assignee_in = std::move(team);
  }
  query.state = request.state();
  if (request.overdue()) query.open_due_before = clock_();
  query.customer_id = customer_id;
  query.limit = page_size + 1;
  const std::string hash =
      ListQueryHash(caller, query.assignee_id, request.my_team() ? user : "", request, customer_id);
  if (!request.page_token().empty()) {
    TL_ASSIGN_OR_RETURN(const json cursor, page_tokens_->Decode(request.page_token(), hash));
    if (!cursor.is_object() || !cursor.contains("d") || !cursor["d"].is_number_integer() ||
        !cursor.contains("i") || !cursor["i"].is_string() ||
        !ids::IsUuid(cursor["i"].get<std::string>())) {
      return status::InvalidArgument("page_token", "is not a token this query returned");
    }
    query.after = TaskCursor{absl::FromUnixMicros(cursor["d"].get<int64_t>()),
                             cursor["i"].get<std::string>()};
    // Overdue stays measured against the first page's now, so pages do not overlap or skip.
    if (query.open_due_before.has_value() && cursor.contains("o") &&
        cursor["o"].is_number_integer()) {
      query.open_due_before = absl::FromUnixMicros(cursor["o"].get<int64_t>());
    }
  }
  TL_ASSIGN_OR_RETURN(std::vector<v1::Task> tasks, store_->List(query));
  v1::ListTasksResponse response;
  for (size_t i = 0; i < tasks.size() && i < static_cast<size_t>(page_size); ++i) {
    *response.add_tasks() = tasks[i];
  }
  if (tasks.size() > static_cast<size_t>(page_size)) {
    const v1::Task& last = tasks[page_size - 1];
    json cursor = {{"d", absl::ToUnixMicros(FromProtoTime(last.due_time()))},
                   {"i", last.task_id()}};
    if (query.open_due_before.has_value()) {
      cursor["o"] = absl::ToUnixMicros(*query.open_due_before);
    }
    response.set_next_page_token(page_tokens_->Encode(std::move(cursor), hash));
  }
  return response;
}

absl::StatusOr<v1::Task> TaskManager::Change(const auth::RequestContext& caller,
                                             TaskChange change) const {
  status::FieldViolations violations;
  validation::FieldChecker checker(violations);
  checker.Uuid(change.task_id, "task_id");
  if (change.kind == TaskChange::Kind::kReassign) {
    CheckAssignee(change.assignee_id, "assignee_id", checker);
  } else {
    checker.Text(change.resolution_note, "resolution_note", kMaxNoteChars,
                 {.controls = validation::ControlCharacters::kTabAndLineBreaks});
  }
  TL_RETURN_IF_ERROR(violations.ToStatus());
  TL_RETURN_IF_ERROR(auth::RequirePermission(caller, pv1::PERMISSION_CUSTOMERS_WRITE));
  change.task_id = Lower(change.task_id);
  TL_RETURN_IF_ERROR(VisibleTask(caller, change.task_id, auth::Access::kWrite).status());
  change.context = NewWriteContext(caller);
  return store_->Change(change);
}

absl::StatusOr<v1::CompleteTaskResponse> TaskManager::CompleteTask(
    const auth::RequestContext& caller, const v1::CompleteTaskRequest& request) const {
  v1::CompleteTaskResponse response;
  TL_ASSIGN_OR_RETURN(*response.mutable_task(),
                      Change(caller, {.context = {},
                                      .task_id = request.task_id(),
                                      .kind = TaskChange::Kind::kComplete,
                                      .assignee_id = "",
                                      .resolution_note = request.resolution_note(),
                                      .etag = request.etag()}));
  return response;
}

absl::StatusOr<v1::ReassignTaskResponse> TaskManager::ReassignTask(
    const auth::RequestContext& caller, const v1::ReassignTaskRequest& request) const {
  v1::ReassignTaskResponse response;
  TL_ASSIGN_OR_RETURN(*response.mutable_task(),
                      Change(caller, {.context = {},
                                      .task_id = request.task_id(),
                                      .kind = TaskChange::Kind::kReassign,
                                      .assignee_id = request.assignee_id(),
                                      .resolution_note = "",
                                      .etag = request.etag()}));
  return response;
}

absl::StatusOr<v1::CancelTaskResponse> TaskManager::CancelTask(
    const auth::RequestContext& caller, const v1::CancelTaskRequest& request) const {
  v1::CancelTaskResponse response;
  TL_ASSIGN_OR_RETURN(*response.mutable_task(),
                      Change(caller, {.context = {},
                                      .task_id = request.task_id(),
                                      .kind = TaskChange::Kind::kCancel,
                                      .assignee_id = "",
                                      .resolution_note = request.resolution_note(),
                                      .etag = request.etag()}));
  return response;
}

}  // namespace touchline::automation
