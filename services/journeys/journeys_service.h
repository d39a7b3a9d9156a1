// The gRPC adapter of the journeys service: requests to the managers, nothing else.
#ifndef TOUCHLINE_SERVICES_JOURNEYS_JOURNEYS_SERVICE_H_
#define TOUCHLINE_SERVICES_JOURNEYS_JOURNEYS_SERVICE_H_

#include "common/server/unary_call.h"
#include "services/journeys/analytics/analytics_manager.h"
#include "services/journeys/definitions/definition_manager.h"
#include "services/journeys/state/journey_state_manager.h"
#include "touchline/journeys/v1/journeys_service.grpc.pb.h"

namespace touchline::journeys {

class JourneysService final : public v1::JourneysService::CallbackService {
 public:
  // What the calls are handed to. No pointer is owned; each must outlive the service.
  struct Parts {
    DefinitionManager* definitions = nullptr;
    JourneyStateManager* state = nullptr;
    AnalyticsManager* analytics = nullptr;
    server::UnaryRunner* runner = nullptr;
  };

  explicit JourneysService(Parts parts);

  grpc::ServerUnaryReactor* CreateJourney(grpc::CallbackServerContext* context,
                                          const v1::CreateJourneyRequest* request,
                                          v1::CreateJourneyResponse* response) override;
  grpc::ServerUnaryReactor* GetJourney(grpc::CallbackServerContext* context,
                                       const v1::GetJourneyRequest* request,
                                       v1::GetJourneyResponse* response) override;
  grpc::ServerUnaryReactor* ListJourneys(grpc::CallbackServerContext* context,
                                         const v1::ListJourneysRequest* request,
                                         v1::ListJourneysResponse* response) override;
  grpc::ServerUnaryReactor* UpdateJourney(grpc::CallbackServerContext* context,
                                          const v1::UpdateJourneyRequest* request,
                                          v1::UpdateJourneyResponse* response) override;
  grpc::ServerUnaryReactor* PublishJourney(grpc::CallbackServerContext* context,
                                           const v1::PublishJourneyRequest* request,
                                           v1::PublishJourneyResponse* response) override;
  grpc::ServerUnaryReactor* ArchiveJourney(grpc::CallbackServerContext* context,
                                           const v1::ArchiveJourneyRequest* request,
                                           v1::ArchiveJourneyResponse* response) override;
  grpc::ServerUnaryReactor* GetCustomerJourneys(grpc::CallbackServerContext* context,
                                                const v1::GetCustomerJourneysRequest* request,
                                                v1::GetCustomerJourneysResponse* response) override;
  grpc::ServerUnaryReactor* ListStageHistory(grpc::CallbackServerContext* context,
                                             const v1::ListStageHistoryRequest* request,
                                             v1::ListStageHistoryResponse* response) override;
  grpc::ServerUnaryReactor* MoveCustomer(grpc::CallbackServerContext* context,
                                         const v1::MoveCustomerRequest* request,
                                         v1::MoveCustomerResponse* response) override;
  grpc::ServerUnaryReactor* ListCustomersInStage(
      grpc::CallbackServerContext* context, const v1::ListCustomersInStageRequest* request,
      v1::ListCustomersInStageResponse* response) override;
  grpc::ServerUnaryReactor* GetStageAnalytics(grpc::CallbackServerContext* context,
                                              const v1::GetStageAnalyticsRequest* request,
                                              v1::GetStageAnalyticsResponse* response) override;

 private:
  Parts parts_;
};

}  // namespace touchline::journeys

#endif  // TOUCHLINE_SERVICES_JOURNEYS_JOURNEYS_SERVICE_H_
