#include "services/contacts/customer_access.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status/errors.h"

namespace touchline::contacts {

auth::CustomerAttributes AttributesOf(const Customer& customer, Shares shares) {
  return auth::CustomerAttributes{.customer_id = customer.customer_id,
                                  .owner_id = customer.owner_id,
                                  .region = customer.region,
                                  .level = static_cast<int>(customer.level),
                                  .shares = std::move(shares)};
}

absl::Status CustomerNotFound(std::string_view customer_id) {
  return absl::NotFoundError(absl::StrCat("customer ", std::string(customer_id), " not found"));
}

absl::Status CheckRowAccess(const auth::Scope& scope, auth::Access access, const Customer& customer,
                            const Shares& shares) {
  return scope.CheckRow(access, AttributesOf(customer, shares),
                        CustomerNotFound(customer.customer_id));
}

absl::Status CheckStaysWritable(const auth::Scope& scope, const Customer& customer,
                                const Shares& shares) {
  const auth::CustomerAttributes attributes = AttributesOf(customer, shares);
  if (scope.Allows(auth::Access::kWrite, attributes)) return absl::OkStatus();
  // Whether the level alone is what puts it out of reach: ask the engine about the same
  // customer one level lower.
  auth::CustomerAttributes below_vip = attributes;
  below_vip.level = static_cast<int>(CustomerLevel::kKey);
  if (customer.level == CustomerLevel::kVip && scope.Allows(auth::Access::kWrite, below_vip)) {
    return status::WithErrorInfo(
        absl::PermissionDeniedError(
            "level VIP would put the customer out of your reach: only higher ranks see VIP "
            "customers"),
        "CUSTOMER_OUT_OF_REACH", {{"level", "CUSTOMER_LEVEL_VIP"}});
  }
  return status::WithErrorInfo(
      absl::PermissionDeniedError(absl::StrCat(
          "owner_id \"", customer.owner_id, "\" and region \"", customer.region,
          "\" would put the customer out of your reach: choose an owner_id or region you may "
          "write")),
      "CUSTOMER_OUT_OF_REACH", {{"owner_id", customer.owner_id}, {"region", customer.region}});
}

}  // namespace touchline::contacts
