#include "services/permissions/customer_read_model.h"

#include <pqxx/pqxx>

#include "common/status/macros.h"

namespace touchline::permissions {
namespace cv1 = ::touchline::contacts::v1;

const customers::ReadModel& CustomerReadModel() {
  static const customers::ReadModel* const kModel = new customers::ReadModel();
  return *kModel;
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
      [&](pqxx::work& txn) { return CustomerReadModel().Learn(txn, caller.tenant_id, *customer); });
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
