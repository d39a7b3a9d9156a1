// The gRPC adapter of the contacts service: requests into the manager's terms (proto ->
// domain, idempotency keys, list queries), its results into responses. It decides nothing: what
// the caller may do and see is the manager's (CustomerManager).
#ifndef TOUCHLINE_SERVICES_CONTACTS_CONTACTS_SERVICE_H_
#define TOUCHLINE_SERVICES_CONTACTS_CONTACTS_SERVICE_H_

#include "common/server/unary_call.h"
#include "services/contacts/customer_manager.h"
#include "touchline/contacts/v1/contacts_service.grpc.pb.h"

namespace touchline::contacts {

class ContactsService final : public touchline::contacts::v1::ContactsService::CallbackService {
 public:
  // No pointer is owned; all must outlive the service.
  ContactsService(CustomerManager* manager, server::UnaryRunner* runner);

  grpc::ServerUnaryReactor* CreateCustomer(grpc::CallbackServerContext* context,
                                           const v1::CreateCustomerRequest* request,
                                           v1::CreateCustomerResponse* response) override;
  grpc::ServerUnaryReactor* GetCustomer(grpc::CallbackServerContext* context,
                                        const v1::GetCustomerRequest* request,
                                        v1::GetCustomerResponse* response) override;
  grpc::ServerUnaryReactor* BatchGetCustomers(grpc::CallbackServerContext* context,
                                              const v1::BatchGetCustomersRequest* request,
                                              v1::BatchGetCustomersResponse* response) override;
  grpc::ServerUnaryReactor* ListCustomers(grpc::CallbackServerContext* context,
                                          const v1::ListCustomersRequest* request,
                                          v1::ListCustomersResponse* response) override;
  grpc::ServerUnaryReactor* UpdateCustomer(grpc::CallbackServerContext* context,
                                           const v1::UpdateCustomerRequest* request,
                                           v1::UpdateCustomerResponse* response) override;
  grpc::ServerUnaryReactor* DeleteCustomer(grpc::CallbackServerContext* context,
                                           const v1::DeleteCustomerRequest* request,
                                           v1::DeleteCustomerResponse* response) override;
  grpc::ServerUnaryReactor* UndeleteCustomer(grpc::CallbackServerContext* context,
                                             const v1::UndeleteCustomerRequest* request,
                                             v1::UndeleteCustomerResponse* response) override;
  grpc::ServerUnaryReactor* FindDuplicateCustomers(
      grpc::CallbackServerContext* context, const v1::FindDuplicateCustomersRequest* request,
      v1::FindDuplicateCustomersResponse* response) override;
  grpc::ServerUnaryReactor* MergeCustomers(grpc::CallbackServerContext* context,
                                           const v1::MergeCustomersRequest* request,
                                           v1::MergeCustomersResponse* response) override;
  grpc::ServerUnaryReactor* UnmergeCustomers(grpc::CallbackServerContext* context,
                                             const v1::UnmergeCustomersRequest* request,
                                             v1::UnmergeCustomersResponse* response) override;

 private:
  CustomerManager* manager_;
  server::UnaryRunner* runner_;
};

}  // namespace touchline::contacts

#endif  // TOUCHLINE_SERVICES_CONTACTS_CONTACTS_SERVICE_H_
