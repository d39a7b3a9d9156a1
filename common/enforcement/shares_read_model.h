// A service's local copy of customer shares, kept from the permissions service's events, so
// that visibility is decided in the service's own SQL (auth::Scope::SqlVisibility).
#ifndef TOUCHLINE_COMMON_ENFORCEMENT_SHARES_READ_MODEL_H_
#define TOUCHLINE_COMMON_ENFORCEMENT_SHARES_READ_MODEL_H_

#include <functional>
#include <pqxx/transaction>
#include <pqxx/transaction_base>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/auth/scope.h"
#include "common/events/topics.h"
#include "common/pg/migrator.h"
#include "touchline/events/v1/event.pb.h"

namespace touchline::enforcement {

// The tables customer_shares(tenant_id, customer_id uuid, grantee, edit) and
// customer_share_versions. Apply them to each enforcing service's schema:
//   pg::ApplyMigrations(dsn, schema, "shares", SharesMigrations());
const std::vector<pg::Migration>& SharesMigrations();

// The shares table, for auth::Scope::SqlVisibility (unqualified: the service's search_path holds
// it).
inline constexpr char kSharesTable[] = "customer_shares";

using ::touchline::events::kPermissionsTopic;

// Called in the transaction that changed a customer's shares (a grantee added or removed, or
// its access changed), after the rows are replaced: for a service whose data depends on who
// sees the customer (touchpoints re-sends the customer's touchpoints through its change feed).
// A non-OK status fails the event's transaction (the consumer retries it).
using SharesChangedFn = std::function<absl::Status(pqxx::work& txn, const std::string& tenant_id,
                                                   const std::string& customer_id)>;

// Applies one event of the "permissions" topic (for a StreamConsumer's events::ApplyFn): a
// CustomerSharesChanged replaces the customer's rows with its complete set unless a version at
// least as new was applied before (redeliveries and reordering change nothing), and calls
// `changed` (if set) when the set differs from the one it replaced; other events are ignored.
// INVALID_ARGUMENT for a payload that does not parse or a customer id that is not a UUID.
absl::Status ApplyPermissionEvent(pqxx::work& txn, const events::v1::EventEnvelope& event,
                                  const SharesChangedFn& changed = nullptr);

// The shares of one customer, for auth::Scope::Allows on that customer.
std::vector<auth::CustomerAttributes::Share> LoadShares(pqxx::transaction_base& txn,
                                                        const std::string& tenant_id,
                                                        const std::string& customer_id);

}  // namespace touchline::enforcement

#endif  // TOUCHLINE_COMMON_ENFORCEMENT_SHARES_READ_MODEL_H_
