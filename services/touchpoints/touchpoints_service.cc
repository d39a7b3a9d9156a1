#include "services/touchpoints/touchpoints_service.h"

#include <utility>

#include "common/status/macros.h"

namespace touchline::touchpoints {

using auth::RequestContext;
using Done = server::UnaryRunner::Done;

TouchpointsService::TouchpointsService(TouchpointManager* manager, server::UnaryRunner* runner)
    : manager_(manager), runner_(runner) {}

grpc::ServerUnaryReactor* TouchpointsService::RecordTouchpoint(
    grpc::CallbackServerContext* context, const v1::RecordTouchpointRequest* request,
    v1::RecordTouchpointResponse* response) {
  return runner_->RunAsync(
      context, "RecordTouchpoint", [=, this](const RequestContext& caller, Done done) {
        manager_->Record(caller, *request, [response, done](absl::StatusOr<Recorded> recorded) {
          if (recorded.ok()) {
            *response->mutable_touchpoint() = std::move(recorded->touchpoint);
            response->set_replayed(recorded->replayed);
          }
          done(recorded.status());
        });
      });
}

grpc::ServerUnaryReactor* TouchpointsService::BatchRecordTouchpoints(
    grpc::CallbackServerContext* context, const v1::BatchRecordTouchpointsRequest* request,
    v1::BatchRecordTouchpointsResponse* response) {
  return runner_->Run(context, "BatchRecordTouchpoints", [=, this](const RequestContext& caller) {
    TL_ASSIGN_OR_RETURN(*response, manager_->BatchRecord(caller, *request));
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* TouchpointsService::GetTouchpoint(
    grpc::CallbackServerContext* context, const v1::GetTouchpointRequest* request,
    v1::GetTouchpointResponse* response) {
  return runner_->Run(context, "GetTouchpoint", [=, this](const RequestContext& caller) {
    TL_ASSIGN_OR_RETURN(*response->mutable_touchpoint(),
                        manager_->Get(caller, request->touchpoint_id()));
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* TouchpointsService::UpdateTouchpoint(
    grpc::CallbackServerContext* context, const v1::UpdateTouchpointRequest* request,
    v1::UpdateTouchpointResponse* response) {
  return runner_->Run(context, "UpdateTouchpoint", [=, this](const RequestContext& caller) {
    TL_ASSIGN_OR_RETURN(*response->mutable_touchpoint(), manager_->Update(caller, *request));
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* TouchpointsService::DeleteTouchpoint(
    grpc::CallbackServerContext* context, const v1::DeleteTouchpointRequest* request,
    v1::DeleteTouchpointResponse* response) {
  return runner_->Run(context, "DeleteTouchpoint", [=, this](const RequestContext& caller) {
    TL_ASSIGN_OR_RETURN(*response->mutable_touchpoint(), manager_->Delete(caller, *request));
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* TouchpointsService::ListTouchpoints(
    grpc::CallbackServerContext* context, const v1::ListTouchpointsRequest* request,
    v1::ListTouchpointsResponse* response) {
  return runner_->Run(context, "ListTouchpoints", [=, this](const RequestContext& caller) {
    TL_ASSIGN_OR_RETURN(*response, manager_->List(caller, *request));
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* TouchpointsService::SearchTouchpoints(
    grpc::CallbackServerContext* context, const v1::SearchTouchpointsRequest* request,
    v1::SearchTouchpointsResponse* response) {
  return runner_->Run(context, "SearchTouchpoints", [=, this](const RequestContext& caller) {
    TL_ASSIGN_OR_RETURN(*response, manager_->Search(caller, *request));
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* TouchpointsService::GetTouchpointStats(
    grpc::CallbackServerContext* context, const v1::GetTouchpointStatsRequest* request,
    v1::GetTouchpointStatsResponse* response) {
  return runner_->Run(context, "GetTouchpointStats", [=, this](const RequestContext& caller) {
    TL_ASSIGN_OR_RETURN(*response, manager_->Stats(caller, *request));
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* TouchpointsService::ListTouchpointChanges(
    grpc::CallbackServerContext* context, const v1::ListTouchpointChangesRequest* request,
    v1::ListTouchpointChangesResponse* response) {
  return runner_->Run(context, "ListTouchpointChanges", [=, this](const RequestContext& caller) {
    TL_ASSIGN_OR_RETURN(*response, manager_->Changes(caller, *request));
    return absl::OkStatus();
  });
}

}  // namespace touchline::touchpoints
