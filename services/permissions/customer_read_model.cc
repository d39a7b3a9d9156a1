#include "services/permissions/customer_read_model.h"

#include <charconv>
#include <cstdint>
#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "common/ids/ids.h"
#include "common/status/macros.h"
#include "touchline/events/v1/customer_events.pb.h"

namespace touchline::permissions {
namespace {

namespace cv1 = ::touchline::contacts::v1;
namespace ev = ::touchline::events::v1;

// Upserts `customer` unless the read model holds a version at least as new; the row's version
// is the customer's plus `version_offset`.
absl::Status Upsert(pqxx::work& txn, const std::string& tenant, const cv1::Customer& customer,
                    int64_t version_offset = 0) {
  if (!ids::IsUuid(customer.customer_id())) {
    return absl::InvalidArgumentError(
        absl::StrCat("customer id '", customer.customer_id(), "' is not a UUID"));
  }
  int64_t version = 0;
  const std::string& etag = customer.etag();
  if (const auto [end, error] = std::from_chars(etag.data(), etag.data() + etag.size(), version);
      error != std::errc() || end != etag.data() + etag.size()) {
    return absl::InvalidArgumentError(absl::StrCat("customer ", customer.customer_id(),
                                                   " has etag '", etag, "', not a version number"));
  }
  txn.exec_params(
      "INSERT INTO customers (tenant_id, customer_id, owner_id, region, level, state, version) "
      "VALUES ($1, $2::uuid, $3, $4, $5, $6, $7) ON CONFLICT (tenant_id, customer_id) DO UPDATE "
      "SET owner_id = EXCLUDED.owner_id, region = EXCLUDED.region, level = EXCLUDED.level, "
      "state = EXCLUDED.state, version = EXCLUDED.version "
      "WHERE customers.version < EXCLUDED.version",
      tenant, customer.customer_id(), customer.owner_id(), customer.region(),
      static_cast<int>(customer.level()), static_cast<int>(customer.state()),
      version + version_offset);
  return absl::OkStatus();
}

}  // namespace

absl::Status ApplyCustomerEvent(pqxx::work& txn, const ev::EventEnvelope& event) {
  const std::string& tenant = event.tenant_id();
  const google::protobuf::Any& payload = event.payload();
  if (ev::CustomerCreated created; payload.UnpackTo(&created)) {
    return Upsert(txn, tenant, created.customer());
  }
  if (ev::CustomerUpdated updated; payload.UnpackTo(&updated)) {
    return Upsert(txn, tenant, updated.customer());
  }
  if (ev::CustomerDeleted deleted; payload.UnpackTo(&deleted)) {
    return Upsert(txn, tenant, deleted.customer());
  }
  if (ev::CustomerUndeleted undeleted; payload.UnpackTo(&undeleted)) {
    return Upsert(txn, tenant, undeleted.customer());
  }
  if (ev::CustomersMerged merged; payload.UnpackTo(&merged)) {
    TL_RETURN_IF_ERROR(Upsert(txn, tenant, merged.survivor()));
    return Upsert(txn, tenant, merged.merged());
  }
  if (ev::CustomersUnmerged unmerged; payload.UnpackTo(&unmerged)) {
    TL_RETURN_IF_ERROR(Upsert(txn, tenant, unmerged.survivor()));
    return Upsert(txn, tenant, unmerged.restored());
  }
  return absl::OkStatus();
}

absl::Status LearnUnknownCustomer(pg::Pool& pool, customers::CustomerDirectory& directory,
                                  const auth::RequestContext& caller,
                                  const std::string& customer_id) {
  bool known = false;
  TL_RETURN_IF_ERROR(pool.Query([&](pqxx::nontransaction& txn) {
    known = FindCustomer(txn, caller.tenant_id, customer_id).has_value();
    return absl::OkStatus();
  }));
  if (known) return absl::OkStatus();
  const absl::StatusOr<cv1::Customer> customer = directory.GetCustomer(caller, customer_id);
  if (!customer.ok()) return absl::OkStatus();
  return pool.Transact(
      [&](pqxx::work& txn) { return Upsert(txn, caller.tenant_id, *customer, -1); });
}

std::optional<KnownCustomer> FindCustomer(pqxx::transaction_base& txn, const std::string& tenant,
                                          const std::string& customer_id) {
  const pqxx::result rows = txn.exec_params(
      "SELECT c.owner_id, c.region, c.level, c.state, s.grantee, s.edit FROM customers c "
      "LEFT JOIN customer_shares s ON s.tenant_id = c.tenant_id AND "
      "s.customer_id = c.customer_id "
      "WHERE c.tenant_id = $1 AND c.customer_id = $2::uuid ORDER BY s.grantee",
      tenant, customer_id);
  if (rows.empty()) return std::nullopt;
  KnownCustomer customer;
  customer.attributes.customer_id = customer_id;
  customer.attributes.owner_id = rows[0][0].as<std::string>();
  customer.attributes.region = rows[0][1].as<std::string>();
  customer.attributes.level = rows[0][2].as<int>();
  customer.state = static_cast<cv1::CustomerState>(rows[0][3].as<int>());
  for (const pqxx::row& row : rows) {
    if (row[4].is_null()) continue;
    customer.attributes.shares.push_back(
        {.grantee = row[4].as<std::string>(), .edit = row[5].as<bool>()});
  }
  return customer;
}

}  // namespace touchline::permissions
