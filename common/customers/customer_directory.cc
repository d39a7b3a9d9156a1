#include "common/customers/customer_directory.h"

#include <chrono>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "grpcpp/client_context.h"
#include "touchline/contacts/v1/contacts_service.grpc.pb.h"

namespace touchline::customers {
namespace {

namespace cv1 = ::touchline::contacts::v1;

class GrpcCustomerDirectory final : public CustomerDirectory {
 public:
  GrpcCustomerDirectory(std::shared_ptr<grpc::Channel> channel, absl::Duration timeout)
      : stub_(cv1::ContactsService::NewStub(std::move(channel))), timeout_(timeout) {}

  absl::StatusOr<cv1::Customer> GetCustomer(const auth::RequestContext& caller,
                                            std::string_view customer_id) override {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + absl::ToChronoMicroseconds(timeout_));
    if (!caller.credential.first.empty()) {
      context.AddMetadata(caller.credential.first, caller.credential.second);
    }
    context.AddMetadata(auth::kTenantHeader, caller.tenant_id);
    context.AddMetadata(auth::kRequestIdHeader, caller.request_id);
    cv1::GetCustomerRequest request;
    request.set_customer_id(std::string(customer_id));
    cv1::GetCustomerResponse response;
    const grpc::Status status = stub_->GetCustomer(&context, request, &response);
    if (status.ok()) return std::move(*response.mutable_customer());
    const std::string what = absl::StrCat("contacts GetCustomer ", std::string(customer_id), ": ",
                                          status.error_message());
    if (status.error_code() == grpc::StatusCode::NOT_FOUND) return absl::NotFoundError(what);
    return absl::UnavailableError(what);
  }

 private:
  std::unique_ptr<cv1::ContactsService::Stub> stub_;
  absl::Duration timeout_;
};

}  // namespace

std::unique_ptr<CustomerDirectory> MakeGrpcCustomerDirectory(std::shared_ptr<grpc::Channel> channel,
                                                             absl::Duration timeout) {
  return std::make_unique<GrpcCustomerDirectory>(std::move(channel), timeout);
}

}  // namespace touchline::customers
