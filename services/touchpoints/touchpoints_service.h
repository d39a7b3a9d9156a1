// The gRPC adapter of the touchpoints service: requests to the manager, nothing else.
#ifndef TOUCHLINE_SERVICES_TOUCHPOINTS_TOUCHPOINTS_SERVICE_H_
#define TOUCHLINE_SERVICES_TOUCHPOINTS_TOUCHPOINTS_SERVICE_H_

#include "common/server/unary_call.h"
#include "services/touchpoints/touchpoint_manager.h"
#include "touchline/touchpoints/v1/touchpoints_service.grpc.pb.h"

namespace touchline::touchpoints {

class TouchpointsService final
    : public touchline::touchpoints::v1::TouchpointsService::CallbackService {
 public:
  // Neither pointer is owned; both must outlive the service.
  TouchpointsService(TouchpointManager* manager, server::UnaryRunner* runner);

  grpc::ServerUnaryReactor* RecordTouchpoint(grpc::CallbackServerContext* context,
      const v1::RecordTouchpointRequest* request, v1::RecordTouchpointResponse* response) override;
  grpc::ServerUnaryReactor* BatchRecordTouchpoints(grpc::CallbackServerContext* context,
      const v1::BatchRecordTouchpointsRequest* request, v1::BatchRecordTouchpointsResponse* response) override;
  grpc::ServerUnaryReactor* GetTouchpoint(grpc::CallbackServerContext* context,
      const v1::GetTouchpointRequest* request, v1::GetTouchpointResponse* response) override;
  grpc::ServerUnaryReactor* UpdateTouchpoint(grpc::CallbackServerContext* context,
      const v1::UpdateTouchpointRequest* request, v1::UpdateTouchpointResponse* response) override;
  grpc::ServerUnaryReactor* DeleteTouchpoint(grpc::CallbackServerContext* context,
      const v1::DeleteTouchpointRequest* request, v1::DeleteTouchpointResponse* response) override;
  grpc::ServerUnaryReactor* ListTouchpoints(grpc::CallbackServerContext* context,
      const v1::ListTouchpointsRequest* request, v1::ListTouchpointsResponse* response) override;
  grpc::ServerUnaryReactor* SearchTouchpoints(grpc::CallbackServerContext* context,
      const v1::SearchTouchpointsRequest* request, v1::SearchTouchpointsResponse* response) override;
  grpc::ServerUnaryReactor* GetTouchpointStats(grpc::CallbackServerContext* context,
      const v1::GetTouchpointStatsRequest* request, v1::GetTouchpointStatsResponse* response) override;
  grpc::ServerUnaryReactor* ListTouchpointChanges(grpc::CallbackServerContext* context,
      const v1::ListTouchpointChangesRequest* request, v1::ListTouchpointChangesResponse* response) override;

 private:
  TouchpointManager* manager_;
  server::UnaryRunner* runner_;
};

}  // namespace touchline::touchpoints

#endif  // TOUCHLINE_SERVICES_TOUCHPOINTS_TOUCHPOINTS_SERVICE_H_
