// Where a service looks up a customer its read model of contacts' customers does not know
// yet: the owner, the contacts service, asked on the caller's behalf. A customer created a
// moment ago can then take a touchpoint or a share before contacts' event reaches the read
// model (read-your-writes across services).
#ifndef TOUCHLINE_COMMON_CUSTOMERS_CUSTOMER_DIRECTORY_H_
#define TOUCHLINE_COMMON_CUSTOMERS_CUSTOMER_DIRECTORY_H_

#include <memory>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/auth/request_context.h"
#include "grpcpp/channel.h"
#include "touchline/contacts/v1/customer.pb.h"

namespace touchline::customers {

class CustomerDirectory {
 public:
  virtual ~CustomerDirectory() = default;

  // The customer `customer_id` of caller.tenant_id as its owner shows it to `caller`:
  // NOT_FOUND when it does not exist or the caller does not see it, UNAVAILABLE when the
  // owner cannot be asked. Thread-safe.
  virtual absl::StatusOr<contacts::v1::Customer> GetCustomer(const auth::RequestContext& caller,
                                                             std::string_view customer_id) = 0;
};

// Asks ContactsService.GetCustomer over `channel` with the caller's own credential and request
// id (so contacts applies the caller's visibility and the logs correlate), within `timeout`.
// Any refusal other than NOT_FOUND is reported as UNAVAILABLE.
std::unique_ptr<CustomerDirectory> MakeGrpcCustomerDirectory(
    std::shared_ptr<grpc::Channel> channel, absl::Duration timeout = absl::Seconds(2));

}  // namespace touchline::customers

#endif  // TOUCHLINE_COMMON_CUSTOMERS_CUSTOMER_DIRECTORY_H_
