#include "common/enforcement/shares_read_model.h"

#include <map>
#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "common/ids/ids.h"
#include "touchline/events/v1/permission_events.pb.h"

namespace touchline::pg {
const std::vector<Migration>& shares_migrations();
}  // namespace touchline::pg

namespace touchline::enforcement {
namespace {

using permissions::v1::CustomerShare;
using permissions::v1::SHARE_ACCESS_EDIT;

}  // namespace

const std::vector<pg::Migration>& SharesMigrations() { return pg::shares_migrations(); }

absl::Status ApplyPermissionEvent(pqxx::work& txn, const events::v1::EventEnvelope& event,
                                  const SharesChangedFn& changed_fn) {
  if (!event.payload().Is<events::v1::CustomerSharesChanged>()) return absl::OkStatus();
  events::v1::CustomerSharesChanged changed;
  if (!event.payload().UnpackTo(&changed)) {
    return absl::InvalidArgumentError(
        absl::StrCat("event ", event.event_id(), ": CustomerSharesChanged does not parse"));
  }
  if (!ids::IsUuid(changed.customer_id())) {
    return absl::InvalidArgumentError(absl::StrCat("event ", event.event_id(), ": customer_id '",
                                                   changed.customer_id(), "' is not a UUID"));
  }
  const std::string& tenant = event.tenant_id();
  // The column is uuid: PostgreSQL compares upper- and lower-case spellings as equal.
  const std::string& customer = changed.customer_id();
  // Claims the version first: a redelivered or overtaken event finds a newer one and stops.
  const pqxx::result claimed = txn.exec_params(
      "INSERT INTO customer_share_versions (tenant_id, customer_id, version) VALUES ($1, $2, $3) "
      "ON CONFLICT (tenant_id, customer_id) DO UPDATE SET version = EXCLUDED.version "
      "WHERE customer_share_versions.version < EXCLUDED.version RETURNING 1",
      tenant, customer, changed.version());
  if (claimed.empty()) return absl::OkStatus();
  // grantee -> edit, before and after.
  std::map<std::string, bool> before;
  for (const auto& row :
       txn.exec_params("DELETE FROM customer_shares WHERE tenant_id = $1 AND customer_id = $2 "
                       "RETURNING grantee, edit",
                       tenant, customer)) {
    before[row[0].as<std::string>()] = row[1].as<bool>();
  }
  std::map<std::string, bool> after;
  for (const CustomerShare& share : changed.shares()) {
    const std::string grantee = auth::GranteeOf(share);
    if (grantee.empty()) continue;
    after[grantee] = share.access() == SHARE_ACCESS_EDIT;
    txn.exec_params(
        "INSERT INTO customer_shares (tenant_id, customer_id, grantee, edit) "
        "VALUES ($1, $2, $3, $4) ON CONFLICT (tenant_id, customer_id, grantee) "
        "DO UPDATE SET edit = EXCLUDED.edit",
        tenant, customer, grantee, share.access() == SHARE_ACCESS_EDIT);
  }
  if (changed_fn && before != after) return changed_fn(txn, tenant, customer);
  return absl::OkStatus();
}

std::vector<auth::CustomerAttributes::Share> LoadShares(pqxx::transaction_base& txn,
                                                        const std::string& tenant_id,
                                                        const std::string& customer_id) {
  std::vector<auth::CustomerAttributes::Share> shares;
  if (!ids::IsUuid(customer_id)) return shares;
  const pqxx::result rows = txn.exec_params(
      "SELECT grantee, edit FROM customer_shares WHERE tenant_id = $1 AND customer_id = $2",
      tenant_id, customer_id);
  shares.reserve(rows.size());
  for (const auto& row : rows) {
    shares.push_back({.grantee = row[0].as<std::string>(), .edit = row[1].as<bool>()});
  }
  return shares;
}

}  // namespace touchline::enforcement
