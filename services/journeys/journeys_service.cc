#include "services/journeys/journeys_service.h"

#include "common/status/macros.h"

namespace touchline::journeys {

using auth::RequestContext;

JourneysService::JourneysService(Parts parts) : parts_(parts) {}

grpc::ServerUnaryReactor* JourneysService::CreateJourney(grpc::CallbackServerContext* context,
                                                         const v1::CreateJourneyRequest* request,
                                                         v1::CreateJourneyResponse* response) {
  return parts_.runner->Run(context, "CreateJourney", [=, this](const RequestContext& caller) {
    TL_ASSIGN_OR_RETURN(*response->mutable_journey(), parts_.definitions->Create(caller, *request));
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* JourneysService::GetJourney(grpc::CallbackServerContext* context,
                                                      const v1::GetJourneyRequest* request,
                                                      v1::GetJourneyResponse* response) {
  return parts_.runner->Run(context, "GetJourney", [=, this](const RequestContext& caller) {
    TL_ASSIGN_OR_RETURN(*response->mutable_journey(), parts_.definitions->Get(caller, *request));
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* JourneysService::ListJourneys(grpc::CallbackServerContext* context,
                                                        const v1::ListJourneysRequest* request,
                                                        v1::ListJourneysResponse* response) {
  return parts_.runner->Run(context, "ListJourneys", [=, this](const RequestContext& caller) {
    TL_ASSIGN_OR_RETURN(*response, parts_.definitions->List(caller, *request));
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* JourneysService::UpdateJourney(grpc::CallbackServerContext* context,
                                                         const v1::UpdateJourneyRequest* request,
                                                         v1::UpdateJourneyResponse* response) {
  return parts_.runner->Run(context, "UpdateJourney", [=, this](const RequestContext& caller) {
    TL_ASSIGN_OR_RETURN(*response->mutable_journey(), parts_.definitions->Update(caller, *request));
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* JourneysService::PublishJourney(grpc::CallbackServerContext* context,
                                                          const v1::PublishJourneyRequest* request,
                                                          v1::PublishJourneyResponse* response) {
  return parts_.runner->Run(context, "PublishJourney", [=, this](const RequestContext& caller) {
    TL_ASSIGN_OR_RETURN(*response->mutable_journey(),
                        parts_.definitions->Publish(caller, *request));
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* JourneysService::ArchiveJourney(grpc::CallbackServerContext* context,
                                                          const v1::ArchiveJourneyRequest* request,
                                                          v1::ArchiveJourneyResponse* response) {
  return parts_.runner->Run(context, "ArchiveJourney", [=, this](const RequestContext& caller) {
    TL_ASSIGN_OR_RETURN(*response->mutable_journey(),
                        parts_.definitions->Archive(caller, *request));
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* JourneysService::GetCustomerJourneys(
    grpc::CallbackServerContext* context, const v1::GetCustomerJourneysRequest* request,
    v1::GetCustomerJourneysResponse* response) {
  return parts_.runner->Run(
      context, "GetCustomerJourneys", [=, this](const RequestContext& caller) {
        TL_ASSIGN_OR_RETURN(*response, parts_.state->GetCustomerJourneys(caller, *request));
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* JourneysService::ListStageHistory(
    grpc::CallbackServerContext* context, const v1::ListStageHistoryRequest* request,
    v1::ListStageHistoryResponse* response) {
  return parts_.runner->Run(context, "ListStageHistory", [=, this](const RequestContext& caller) {
    TL_ASSIGN_OR_RETURN(*response, parts_.state->ListStageHistory(caller, *request));
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* JourneysService::MoveCustomer(grpc::CallbackServerContext* context,
                                                        const v1::MoveCustomerRequest* request,
                                                        v1::MoveCustomerResponse* response) {
  return parts_.runner->Run(context, "MoveCustomer", [=, this](const RequestContext& caller) {
    TL_ASSIGN_OR_RETURN(*response, parts_.state->MoveCustomer(caller, *request));
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* JourneysService::ListCustomersInStage(
    grpc::CallbackServerContext* context, const v1::ListCustomersInStageRequest* request,
    v1::ListCustomersInStageResponse* response) {
  return parts_.runner->Run(
      context, "ListCustomersInStage", [=, this](const RequestContext& caller) {
        TL_ASSIGN_OR_RETURN(*response, parts_.state->ListCustomersInStage(caller, *request));
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* JourneysService::GetStageAnalytics(
    grpc::CallbackServerContext* context, const v1::GetStageAnalyticsRequest* request,
    v1::GetStageAnalyticsResponse* response) {
  return parts_.runner->Run(context, "GetStageAnalytics", [=, this](const RequestContext& caller) {
    TL_ASSIGN_OR_RETURN(*response, parts_.analytics->GetStageAnalytics(caller, *request));
    return absl::OkStatus();
  });
}

}  // namespace touchline::journeys
