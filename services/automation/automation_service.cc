#include "services/automation/automation_service.h"

#include <string_view>

#include "common/status/macros.h"

namespace touchline::automation {
namespace {

using auth::RequestContext;

// A manager's method for one RPC: the manager answers with the whole response.
template <typename Manager, typename Request, typename Response>
using ManagerMethod = absl::StatusOr<Response> (Manager::*)(const RequestContext&,
                                                            const Request&) const;

// Runs `method` of `manager` for the call, its answer the call's response.
template <typename Manager, typename Request, typename Response>
grpc::ServerUnaryReactor* Answer(server::UnaryRunner* runner, grpc::CallbackServerContext* context,
                                 std::string_view name, const Manager* manager,
                                 ManagerMethod<Manager, Request, Response> method,
                                 const Request* request, Response* response) {
  return runner->Run(context, name, [=](const RequestContext& caller) {
    TL_ASSIGN_OR_RETURN(*response, (manager->*method)(caller, *request));
    return absl::OkStatus();
  });
}

}  // namespace

AutomationService::AutomationService(Parts parts) : parts_(parts) {}

grpc::ServerUnaryReactor* AutomationService::CreateRule(grpc::CallbackServerContext* context,
                                                        const v1::CreateRuleRequest* request,
                                                        v1::CreateRuleResponse* response) {
  return Answer(parts_.runner, context, "CreateRule", parts_.rules, &RuleManager::CreateRule,
                request, response);
}

grpc::ServerUnaryReactor* AutomationService::GetRule(grpc::CallbackServerContext* context,
                                                     const v1::GetRuleRequest* request,
                                                     v1::GetRuleResponse* response) {
  return Answer(parts_.runner, context, "GetRule", parts_.rules, &RuleManager::GetRule, request,
                response);
}

grpc::ServerUnaryReactor* AutomationService::ListRules(grpc::CallbackServerContext* context,
                                                       const v1::ListRulesRequest* request,
                                                       v1::ListRulesResponse* response) {
  return Answer(parts_.runner, context, "ListRules", parts_.rules, &RuleManager::ListRules, request,
                response);
}

grpc::ServerUnaryReactor* AutomationService::UpdateRule(grpc::CallbackServerContext* context,
                                                        const v1::UpdateRuleRequest* request,
                                                        v1::UpdateRuleResponse* response) {
  return Answer(parts_.runner, context, "UpdateRule", parts_.rules, &RuleManager::UpdateRule,
                request, response);
}

grpc::ServerUnaryReactor* AutomationService::PublishRule(grpc::CallbackServerContext* context,
                                                         const v1::PublishRuleRequest* request,
                                                         v1::PublishRuleResponse* response) {
  return Answer(parts_.runner, context, "PublishRule", parts_.rules, &RuleManager::PublishRule,
                request, response);
}

grpc::ServerUnaryReactor* AutomationService::PauseRule(grpc::CallbackServerContext* context,
                                                       const v1::PauseRuleRequest* request,
                                                       v1::PauseRuleResponse* response) {
  return Answer(parts_.runner, context, "PauseRule", parts_.rules, &RuleManager::PauseRule, request,
                response);
}

grpc::ServerUnaryReactor* AutomationService::ResumeRule(grpc::CallbackServerContext* context,
                                                        const v1::ResumeRuleRequest* request,
                                                        v1::ResumeRuleResponse* response) {
  return Answer(parts_.runner, context, "ResumeRule", parts_.rules, &RuleManager::ResumeRule,
                request, response);
}

grpc::ServerUnaryReactor* AutomationService::ArchiveRule(grpc::CallbackServerContext* context,
                                                         const v1::ArchiveRuleRequest* request,
                                                         v1::ArchiveRuleResponse* response) {
  return Answer(parts_.runner, context, "ArchiveRule", parts_.rules, &RuleManager::ArchiveRule,
                request, response);
}

grpc::ServerUnaryReactor* AutomationService::TestRule(grpc::CallbackServerContext* context,
                                                      const v1::TestRuleRequest* request,
                                                      v1::TestRuleResponse* response) {
  return Answer(parts_.runner, context, "TestRule", parts_.rules, &RuleManager::TestRule, request,
                response);
}

grpc::ServerUnaryReactor* AutomationService::ListRuleRuns(grpc::CallbackServerContext* context,
                                                          const v1::ListRuleRunsRequest* request,
                                                          v1::ListRuleRunsResponse* response) {
  return Answer(parts_.runner, context, "ListRuleRuns", parts_.runs, &RunManager::ListRuleRuns,
                request, response);
}

grpc::ServerUnaryReactor* AutomationService::GetRuleRun(grpc::CallbackServerContext* context,
                                                        const v1::GetRuleRunRequest* request,
                                                        v1::GetRuleRunResponse* response) {
  return Answer(parts_.runner, context, "GetRuleRun", parts_.runs, &RunManager::GetRuleRun, request,
                response);
}

grpc::ServerUnaryReactor* AutomationService::ListDeadLetters(
    grpc::CallbackServerContext* context, const v1::ListDeadLettersRequest* request,
    v1::ListDeadLettersResponse* response) {
  return Answer(parts_.runner, context, "ListDeadLetters", parts_.runs,
                &RunManager::ListDeadLetters, request, response);
}

grpc::ServerUnaryReactor* AutomationService::RedriveDeadLetter(
    grpc::CallbackServerContext* context, const v1::RedriveDeadLetterRequest* request,
    v1::RedriveDeadLetterResponse* response) {
  return Answer(parts_.runner, context, "RedriveDeadLetter", parts_.runs,
                &RunManager::RedriveDeadLetter, request, response);
}

grpc::ServerUnaryReactor* AutomationService::DiscardDeadLetter(
    grpc::CallbackServerContext* context, const v1::DiscardDeadLetterRequest* request,
    v1::DiscardDeadLetterResponse* response) {
  return Answer(parts_.runner, context, "DiscardDeadLetter", parts_.runs,
                &RunManager::DiscardDeadLetter, request, response);
}

grpc::ServerUnaryReactor* AutomationService::CreateTask(grpc::CallbackServerContext* context,
                                                        const v1::CreateTaskRequest* request,
                                                        v1::CreateTaskResponse* response) {
  return Answer(parts_.runner, context, "CreateTask", parts_.tasks, &TaskManager::CreateTask,
                request, response);
}

grpc::ServerUnaryReactor* AutomationService::GetTask(grpc::CallbackServerContext* context,
                                                     const v1::GetTaskRequest* request,
                                                     v1::GetTaskResponse* response) {
  return Answer(parts_.runner, context, "GetTask", parts_.tasks, &TaskManager::GetTask, request,
                response);
}

grpc::ServerUnaryReactor* AutomationService::ListTasks(grpc::CallbackServerContext* context,
                                                       const v1::ListTasksRequest* request,
                                                       v1::ListTasksResponse* response) {
  return Answer(parts_.runner, context, "ListTasks", parts_.tasks, &TaskManager::ListTasks, request,
                response);
}

grpc::ServerUnaryReactor* AutomationService::CompleteTask(grpc::CallbackServerContext* context,
                                                          const v1::CompleteTaskRequest* request,
                                                          v1::CompleteTaskResponse* response) {
  return Answer(parts_.runner, context, "CompleteTask", parts_.tasks, &TaskManager::CompleteTask,
                request, response);
}

grpc::ServerUnaryReactor* AutomationService::ReassignTask(grpc::CallbackServerContext* context,
                                                          const v1::ReassignTaskRequest* request,
                                                          v1::ReassignTaskResponse* response) {
  return Answer(parts_.runner, context, "ReassignTask", parts_.tasks, &TaskManager::ReassignTask,
                request, response);
}

grpc::ServerUnaryReactor* AutomationService::CancelTask(grpc::CallbackServerContext* context,
                                                        const v1::CancelTaskRequest* request,
                                                        v1::CancelTaskResponse* response) {
  return Answer(parts_.runner, context, "CancelTask", parts_.tasks, &TaskManager::CancelTask,
                request, response);
}

grpc::ServerUnaryReactor* AutomationService::CreateWebhookEndpoint(
    grpc::CallbackServerContext* context, const v1::CreateWebhookEndpointRequest* request,
    v1::CreateWebhookEndpointResponse* response) {
  return Answer(parts_.runner, context, "CreateWebhookEndpoint", parts_.endpoints,
                &EndpointManager::CreateWebhookEndpoint, request, response);
}

grpc::ServerUnaryReactor* AutomationService::GetWebhookEndpoint(
    grpc::CallbackServerContext* context, const v1::GetWebhookEndpointRequest* request,
    v1::GetWebhookEndpointResponse* response) {
  return Answer(parts_.runner, context, "GetWebhookEndpoint", parts_.endpoints,
                &EndpointManager::GetWebhookEndpoint, request, response);
}

grpc::ServerUnaryReactor* AutomationService::ListWebhookEndpoints(
    grpc::CallbackServerContext* context, const v1::ListWebhookEndpointsRequest* request,
    v1::ListWebhookEndpointsResponse* response) {
  return Answer(parts_.runner, context, "ListWebhookEndpoints", parts_.endpoints,
                &EndpointManager::ListWebhookEndpoints, request, response);
}

grpc::ServerUnaryReactor* AutomationService::UpdateWebhookEndpoint(
    grpc::CallbackServerContext* context, const v1::UpdateWebhookEndpointRequest* request,
    v1::UpdateWebhookEndpointResponse* response) {
  return Answer(parts_.runner, context, "UpdateWebhookEndpoint", parts_.endpoints,
                &EndpointManager::UpdateWebhookEndpoint, request, response);
}

grpc::ServerUnaryReactor* AutomationService::RotateWebhookSecret(
    grpc::CallbackServerContext* context, const v1::RotateWebhookSecretRequest* request,
    v1::RotateWebhookSecretResponse* response) {
  return Answer(parts_.runner, context, "RotateWebhookSecret", parts_.endpoints,
                &EndpointManager::RotateWebhookSecret, request, response);
}

}  // namespace touchline::automation
