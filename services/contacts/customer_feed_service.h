// The gRPC adapter of CustomerFeedService (customer_feed.proto): the internal feed that other
// services build their read models of customers from. It translates only; who may read the
// feed and how it pages are the manager's (CustomerManager::ListSnapshots), and the service
// credential is checked by the runner's authenticator (auth::ServiceAuthenticator).
#ifndef TOUCHLINE_SERVICES_CONTACTS_CUSTOMER_FEED_SERVICE_H_
#define TOUCHLINE_SERVICES_CONTACTS_CUSTOMER_FEED_SERVICE_H_

#include "common/server/unary_call.h"
#include "services/contacts/customer_manager.h"
#include "touchline/contacts/v1/customer_feed.grpc.pb.h"

namespace touchline::contacts {

class CustomerFeedService final
    : public touchline::contacts::v1::CustomerFeedService::CallbackService {
 public:
  // No pointer is owned; both must outlive the service.
  CustomerFeedService(CustomerManager* manager, server::UnaryRunner* runner);

  grpc::ServerUnaryReactor* ListCustomerSnapshots(
      grpc::CallbackServerContext* context, const v1::ListCustomerSnapshotsRequest* request,
      v1::ListCustomerSnapshotsResponse* response) override;

 private:
  CustomerManager* manager_;
  server::UnaryRunner* runner_;
};

}  // namespace touchline::contacts

#endif  // TOUCHLINE_SERVICES_CONTACTS_CUSTOMER_FEED_SERVICE_H_
