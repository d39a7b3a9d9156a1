// How the contacts service turns the caller's scope (auth::Scope, the one enforcement engine)
// into answers: the decisions are the engine's; this is the one place that words them, so
// every read and write path answers alike and an invisible customer is indistinguishable
// from a missing one.
#ifndef TOUCHLINE_SERVICES_CONTACTS_CUSTOMER_ACCESS_H_
#define TOUCHLINE_SERVICES_CONTACTS_CUSTOMER_ACCESS_H_

#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/auth/request_context.h"
#include "common/auth/scope.h"
#include "services/contacts/model.h"
#include "touchline/permissions/v1/permissions.pb.h"

namespace touchline::contacts {

// The shares of one customer, from the permissions read model (common/enforcement).
using Shares = std::vector<auth::CustomerAttributes::Share>;

// What the scope's row decisions need of `customer`.
auth::CustomerAttributes AttributesOf(const Customer& customer, Shares shares);

// NOT_FOUND "customer <id> not found": for a customer that does not exist and, in the very
// same words, for one the caller cannot see.
absl::Status CustomerNotFound(std::string_view customer_id);

// OK when `scope` grants `access` to `customer`; CustomerNotFound when it cannot see it;
// PERMISSION_DENIED (reason CUSTOMER_NOT_WRITABLE) when it sees but may not change it.
absl::Status CheckRowAccess(const auth::Scope& scope, auth::Access access, const Customer& customer,
                            const Shares& shares);

// For a write that leaves `customer` so (a create, an update, a merge): PERMISSION_DENIED
// (reason CUSTOMER_OUT_OF_REACH) naming its owner_id and region, and its level when VIP,
// when the caller could not change it afterwards; nobody creates a customer, or moves one,
// out of their own reach.
absl::Status CheckStaysWritable(const auth::Scope& scope, const Customer& customer,
                                const Shares& shares);

}  // namespace touchline::contacts

#endif  // TOUCHLINE_SERVICES_CONTACTS_CUSTOMER_ACCESS_H_
