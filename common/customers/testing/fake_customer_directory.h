// An in-memory CustomerDirectory for tests: the customers contacts would return, and a record
// of who asked for which.
#ifndef TOUCHLINE_COMMON_CUSTOMERS_TESTING_FAKE_CUSTOMER_DIRECTORY_H_
#define TOUCHLINE_COMMON_CUSTOMERS_TESTING_FAKE_CUSTOMER_DIRECTORY_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "common/customers/customer_directory.h"

namespace touchline::customers::testing {

class FakeCustomerDirectory final : public CustomerDirectory {
 public:
  // NOT_FOUND for a customer not added.
  absl::StatusOr<contacts::v1::Customer> GetCustomer(const auth::RequestContext& caller,
                                                     std::string_view customer_id) override {
    absl::MutexLock lock(&mu_);
    asked_.push_back(caller.caller_id + " " + std::string(customer_id));
    const auto it = customers_.find(std::string(customer_id));
    if (it == customers_.end()) return absl::NotFoundError("no such customer");
    return it->second;
  }

  void Add(const contacts::v1::Customer& customer) {
    absl::MutexLock lock(&mu_);
    customers_[customer.customer_id()] = customer;
  }

  // "<caller_id> <customer_id>" of every lookup, in order.
  std::vector<std::string> asked() {
    absl::MutexLock lock(&mu_);
    return asked_;
  }

 private:
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, contacts::v1::Customer> customers_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> asked_ ABSL_GUARDED_BY(mu_);
};

}  // namespace touchline::customers::testing

#endif  // TOUCHLINE_COMMON_CUSTOMERS_TESTING_FAKE_CUSTOMER_DIRECTORY_H_
