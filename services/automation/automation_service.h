// The gRPC adapter of the automation service: requests to the managers, nothing else. The
// task and webhook endpoint RPCs are served; the rule, run and dead-letter RPCs answer
// UNIMPLEMENTED (the generated base) until their managers are wired.
#ifndef TOUCHLINE_SERVICES_AUTOMATION_AUTOMATION_SERVICE_H_
#define TOUCHLINE_SERVICES_AUTOMATION_AUTOMATION_SERVICE_H_

#include "common/server/unary_call.h"
#include "services/automation/endpoints/endpoint_manager.h"
#include "services/automation/tasks/task_manager.h"
#include "touchline/automation/v1/automation_service.grpc.pb.h"

namespace touchline::automation {

class AutomationService final : public v1::AutomationService::CallbackService {
 public:
  // What the calls are handed to. No pointer is owned; each must outlive the service.
  struct Parts {
    const TaskManager* tasks = nullptr;
    const EndpointManager* endpoints = nullptr;
    server::UnaryRunner* runner = nullptr;
  };

  explicit AutomationService(Parts parts);

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
