// The gRPC adapter of the automation service: requests to the managers, nothing else.
#ifndef TOUCHLINE_SERVICES_AUTOMATION_AUTOMATION_SERVICE_H_
#define TOUCHLINE_SERVICES_AUTOMATION_AUTOMATION_SERVICE_H_

#include "common/server/unary_call.h"
#include "services/automation/endpoints/endpoint_manager.h"
#include "services/automation/engine/run_manager.h"
#include "services/automation/rules/rule_manager.h"
#include "services/automation/tasks/task_manager.h"
#include "touchline/automation/v1/automation_service.grpc.pb.h"

namespace touchline::automation {

class AutomationService final : public v1::AutomationService::CallbackService {
 public:
  // What the calls are handed to. No pointer is owned; each must outlive the service.
  struct Parts {
    const RuleManager* rules = nullptr;
    const RunManager* runs = nullptr;
    const TaskManager* tasks = nullptr;
    const EndpointManager* endpoints = nullptr;
    server::UnaryRunner* runner = nullptr;
  };

  explicit AutomationService(Parts parts);

  grpc::ServerUnaryReactor* CreateRule(grpc::CallbackServerContext* context,
                                       const v1::CreateRuleRequest* request,
                                       v1::CreateRuleResponse* response) override;
  grpc::ServerUnaryReactor* GetRule(grpc::CallbackServerContext* context,
                                    const v1::GetRuleRequest* request,
                                    v1::GetRuleResponse* response) override;
  grpc::ServerUnaryReactor* ListRules(grpc::CallbackServerContext* context,
                                      const v1::ListRulesRequest* request,
                                      v1::ListRulesResponse* response) override;
  grpc::ServerUnaryReactor* UpdateRule(grpc::CallbackServerContext* context,
                                       const v1::UpdateRuleRequest* request,
                                       v1::UpdateRuleResponse* response) override;
  grpc::ServerUnaryReactor* PublishRule(grpc::CallbackServerContext* context,
                                        const v1::PublishRuleRequest* request,
                                        v1::PublishRuleResponse* response) override;
  grpc::ServerUnaryReactor* PauseRule(grpc::CallbackServerContext* context,
                                      const v1::PauseRuleRequest* request,
                                      v1::PauseRuleResponse* response) override;
  grpc::ServerUnaryReactor* ResumeRule(grpc::CallbackServerContext* context,
                                       const v1::ResumeRuleRequest* request,
                                       v1::ResumeRuleResponse* response) override;
  grpc::ServerUnaryReactor* ArchiveRule(grpc::CallbackServerContext* context,
                                        const v1::ArchiveRuleRequest* request,
                                        v1::ArchiveRuleResponse* response) override;
  grpc::ServerUnaryReactor* TestRule(grpc::CallbackServerContext* context,
                                     const v1::TestRuleRequest* request,
                                     v1::TestRuleResponse* response) override;

  grpc::ServerUnaryReactor* ListRuleRuns(grpc::CallbackServerContext* context,
                                         const v1::ListRuleRunsRequest* request,
                                         v1::ListRuleRunsResponse* response) override;
  grpc::ServerUnaryReactor* GetRuleRun(grpc::CallbackServerContext* context,
                                       const v1::GetRuleRunRequest* request,
                                       v1::GetRuleRunResponse* response) override;

  grpc::ServerUnaryReactor* ListDeadLetters(grpc::CallbackServerContext* context,
                                            const v1::ListDeadLettersRequest* request,
                                            v1::ListDeadLettersResponse* response) override;
  grpc::ServerUnaryReactor* RedriveDeadLetter(grpc::CallbackServerContext* context,
                                              const v1::RedriveDeadLetterRequest* request,
                                              v1::RedriveDeadLetterResponse* response) override;
  grpc::ServerUnaryReactor* DiscardDeadLetter(grpc::CallbackServerContext* context,
                                              const v1::DiscardDeadLetterRequest* request,
                                              v1::DiscardDeadLetterResponse* response) override;

  grpc::ServerUnaryReactor* CreateTask(grpc::CallbackServerContext* context,
                                       const v1::CreateTaskRequest* request,
                                       v1::CreateTaskResponse* response) override;
  grpc::ServerUnaryReactor* GetTask(grpc::CallbackServerContext* context,
                                    const v1::GetTaskRequest* request,
                                    v1::GetTaskResponse* response) override;
  grpc::ServerUnaryReactor* ListTasks(grpc::CallbackServerContext* context,
                                      const v1::ListTasksRequest* request,
                                      v1::ListTasksResponse* response) override;
  grpc::ServerUnaryReactor* CompleteTask(grpc::CallbackServerContext* context,
                                         const v1::CompleteTaskRequest* request,
                                         v1::CompleteTaskResponse* response) override;
  grpc::ServerUnaryReactor* ReassignTask(grpc::CallbackServerContext* context,
                                         const v1::ReassignTaskRequest* request,
                                         v1::ReassignTaskResponse* response) override;
  grpc::ServerUnaryReactor* CancelTask(grpc::CallbackServerContext* context,
                                       const v1::CancelTaskRequest* request,
                                       v1::CancelTaskResponse* response) override;

  grpc::ServerUnaryReactor* CreateWebhookEndpoint(
      grpc::CallbackServerContext* context, const v1::CreateWebhookEndpointRequest* request,
      v1::CreateWebhookEndpointResponse* response) override;
  grpc::ServerUnaryReactor* GetWebhookEndpoint(grpc::CallbackServerContext* context,
                                               const v1::GetWebhookEndpointRequest* request,
                                               v1::GetWebhookEndpointResponse* response) override;
  grpc::ServerUnaryReactor* ListWebhookEndpoints(
      grpc::CallbackServerContext* context, const v1::ListWebhookEndpointsRequest* request,
      v1::ListWebhookEndpointsResponse* response) override;
  grpc::ServerUnaryReactor* UpdateWebhookEndpoint(
      grpc::CallbackServerContext* context, const v1::UpdateWebhookEndpointRequest* request,
      v1::UpdateWebhookEndpointResponse* response) override;
  grpc::ServerUnaryReactor* RotateWebhookSecret(grpc::CallbackServerContext* context,
                                                const v1::RotateWebhookSecretRequest* request,
                                                v1::RotateWebhookSecretResponse* response) override;

 private:
  Parts parts_;
};

}  // namespace touchline::automation

#endif  // TOUCHLINE_SERVICES_AUTOMATION_AUTOMATION_SERVICE_H_
