#include "common/customers/read_model.h"

#include <charconv>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "common/ids/ids.h"
#include "common/pg/array.h"
#include "common/status/macros.h"
#include "touchline/events/v1/customer_events.pb.h"

namespace touchline::pg {
const std::vector<Migration>& customer_read_model_migrations();
}  // namespace touchline::pg

namespace touchline::customers {
namespace {

namespace cv1 = ::touchline::contacts::v1;
namespace ev = ::touchline::events::v1;

// The columns of a row, in CustomerRow's order after the key.
constexpr char kColumns[] =
    "state, coalesce(merged_into::text, ''), coalesce(merge_id::text, ''), person_ids::text[], "
    "owner_id, region, level, version, folded_persons, lifecycle_status, tags";

// Upserts $1 tenant, $2 id, $3 state, $4 merged_into ('' none), $5 merge_id ('' none), $6
// person ids, $7 owner, $8 region, $9 level, $10 version, $11 folded persons, unless the row
// $12 lifecycle status, $13 tags, unless the row holds version $10 or a newer one. Returns a
// row when it wrote.
constexpr char kUpsert[] =
    "INSERT INTO customers (tenant_id, customer_id, state, merged_into, merge_id, person_ids, "
    "owner_id, region, level, version, folded_persons, lifecycle_status, tags) VALUES ($1, "
    "$2::uuid, $3, nullif($4, '')::uuid, nullif($5, '')::uuid, $6::uuid[], $7, $8, $9, $10, "
    "$11::text[], $12, $13::text[]) "
    "ON CONFLICT (tenant_id, customer_id) DO UPDATE SET state = EXCLUDED.state, "
    "merged_into = EXCLUDED.merged_into, merge_id = EXCLUDED.merge_id, "
    "person_ids = EXCLUDED.person_ids, owner_id = EXCLUDED.owner_id, region = EXCLUDED.region, "
    "level = EXCLUDED.level, version = EXCLUDED.version, "
    "folded_persons = EXCLUDED.folded_persons, lifecycle_status = EXCLUDED.lifecycle_status, "
    "tags = EXCLUDED.tags "
    "WHERE customers.version < EXCLUDED.version RETURNING 1";

absl::Status CheckId(const char* what, const std::string& id) {
  if (ids::IsUuid(id)) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(what, " '", id, "' is not a UUID"));
}

absl::Status CheckRow(const CustomerRow& row) {
  TL_RETURN_IF_ERROR(CheckId("customer id", row.customer_id));
  if (!row.merged_into.empty()) TL_RETURN_IF_ERROR(CheckId("merged_into", row.merged_into));
  if (!row.merge_id.empty()) TL_RETURN_IF_ERROR(CheckId("merge id", row.merge_id));
  for (const std::string& person : row.person_ids) TL_RETURN_IF_ERROR(CheckId("person id", person));
  return absl::OkStatus();
}

std::vector<std::string> FoldedLiterals(const CustomerRow& row) {
  std::vector<std::string> pairs;
  for (const auto& [person, into] : row.folded_persons)
    pairs.push_back(absl::StrCat(person, ":", into));
  return pairs;
}

CustomerRow FromResult(const std::string& tenant, const std::string& customer_id,
                       const pqxx::row& r) {
  CustomerRow row;
  row.tenant_id = tenant;
  row.customer_id = customer_id;
  row.state = static_cast<cv1::CustomerState>(r[0].as<int>());
  row.merged_into = r[1].as<std::string>();
  row.merge_id = r[2].as<std::string>();
  row.person_ids = pg::ParseTextArray(r[3]);
  row.owner_id = r[4].as<std::string>();
  row.region = r[5].as<std::string>();
  row.level = r[6].as<int>();
  row.version = r[7].as<int64_t>();
  for (const std::string& pair : pg::ParseTextArray(r[8])) {
    const size_t colon = pair.find(':');
    if (colon == std::string::npos) continue;
    row.folded_persons.emplace_back(pair.substr(0, colon), pair.substr(colon + 1));
  }
  row.lifecycle_status = static_cast<cv1::LifecycleStatus>(r[9].as<int>());
  row.tags = pg::ParseTextArray(r[10]);
  return row;
}

std::optional<CustomerRow> Find(pqxx::transaction_base& txn, const std::string& tenant,
                                const std::string& customer_id, bool lock) {
  const pqxx::result rows = txn.exec_params(
      absl::StrCat("SELECT ", kColumns,
                   " FROM customers WHERE tenant_id = $1 AND customer_id = $2::uuid",
                   lock ? " FOR UPDATE" : ""),
      tenant, customer_id);
  if (rows.empty()) return std::nullopt;
  return FromResult(tenant, customer_id, rows[0]);
}

}  // namespace

const std::vector<pg::Migration>& ReadModelMigrations() {
  return pg::customer_read_model_migrations();
}

bool CustomerRow::VisibilityDiffers(const CustomerRow& other) const {
  return owner_id != other.owner_id || region != other.region || level != other.level ||
         state != other.state || merged_into != other.merged_into;
}

absl::StatusOr<CustomerRow> RowOf(const std::string& tenant, const cv1::Customer& customer,
                                  int64_t version_offset) {
  int64_t version = 0;
  const std::string& etag = customer.etag();
  if (const auto [end, error] = std::from_chars(etag.data(), etag.data() + etag.size(), version);
      error != std::errc() || end != etag.data() + etag.size()) {
    return absl::InvalidArgumentError(absl::StrCat("customer ", customer.customer_id(),
                                                   " has etag '", etag, "', not a version number"));
  }
  CustomerRow row;
  row.tenant_id = tenant;
  row.customer_id = customer.customer_id();
  row.state = customer.state();
  row.merged_into = customer.merged_into_customer_id();
  for (const cv1::ContactPerson& person : customer.contact_persons()) {
    row.person_ids.push_back(person.person_id());
  }
  row.owner_id = customer.owner_id();
  row.region = customer.region();
  row.level = customer.level();
  row.version = version + version_offset;
  row.lifecycle_status = customer.lifecycle_status();
  row.tags.assign(customer.tags().begin(), customer.tags().end());
  TL_RETURN_IF_ERROR(CheckRow(row));
  return row;
}

absl::StatusOr<CustomerRow> RowOf(const cv1::CustomerSnapshot& snapshot) {
  CustomerRow row;
  row.tenant_id = snapshot.tenant_id();
  row.customer_id = snapshot.customer_id();
  row.state = snapshot.state();
  row.merged_into = snapshot.merged_into_customer_id();
  row.merge_id = snapshot.merge_id();
  row.person_ids.assign(snapshot.person_ids().begin(), snapshot.person_ids().end());
  row.owner_id = snapshot.owner_id();
  row.region = snapshot.region();
  row.level = snapshot.level();
  row.version = snapshot.version();
  for (const cv1::CustomerSnapshot::FoldedPerson& folded : snapshot.folded_persons()) {
    row.folded_persons.emplace_back(folded.person_id(), folded.into_person_id());
  }
  row.lifecycle_status = snapshot.lifecycle_status();
  row.tags.assign(snapshot.tags().begin(), snapshot.tags().end());
  if (row.tenant_id.empty()) return absl::InvalidArgumentError("a snapshot without a tenant");
  TL_RETURN_IF_ERROR(CheckRow(row));
  return row;
}

std::optional<CustomerRow> FindCustomer(pqxx::transaction_base& txn, const std::string& tenant,
                                        const std::string& customer_id) {
  return Find(txn, tenant, customer_id, /*lock=*/false);
}

absl::StatusOr<bool> ReadModel::Apply(pqxx::work& txn, const CustomerRow& row,
                                      const ev::EventEnvelope* cause) const {
  // Locked, so that `before` is what this transaction replaces.
  const std::optional<CustomerRow> before =
      Find(txn, row.tenant_id, row.customer_id, /*lock=*/true);
  if (before.has_value() && before->version >= row.version) return false;
  const pqxx::result written = txn.exec_params(
      kUpsert, row.tenant_id, row.customer_id, static_cast<int>(row.state), row.merged_into,
      row.merge_id, pg::TextArrayLiteral(row.person_ids), row.owner_id, row.region, row.level,
      row.version, pg::TextArrayLiteral(FoldedLiterals(row)),
      static_cast<int>(row.lifecycle_status), pg::TextArrayLiteral(row.tags));
  if (written.empty()) return false;  // A newer row came in between (inserted concurrently).
  if (changed_) TL_RETURN_IF_ERROR(changed_(txn, before ? &*before : nullptr, row, cause));
  return true;
}

absl::Status ReadModel::ApplyEvent(pqxx::work& txn, const ev::EventEnvelope& event) const {
  const std::string& tenant = event.tenant_id();
  const google::protobuf::Any& payload = event.payload();
  // The customers the event carries, in the order they are applied.
  std::vector<CustomerRow> rows;
  const auto add = [&](const cv1::Customer& customer) -> absl::Status {
    TL_ASSIGN_OR_RETURN(CustomerRow row, RowOf(tenant, customer));
    rows.push_back(std::move(row));
    return absl::OkStatus();
  };
  const auto unpack = [&](google::protobuf::Message& message) -> absl::Status {
    if (payload.UnpackTo(&message)) return absl::OkStatus();
    return absl::InvalidArgumentError(
        absl::StrCat("event ", event.event_id(), ": ", message.GetTypeName(), " does not parse"));
  };
  if (payload.Is<ev::CustomerCreated>()) {
    ev::CustomerCreated created;
    TL_RETURN_IF_ERROR(unpack(created));
    TL_RETURN_IF_ERROR(add(created.customer()));
  } else if (payload.Is<ev::CustomerUpdated>()) {
    ev::CustomerUpdated updated;
    TL_RETURN_IF_ERROR(unpack(updated));
    TL_RETURN_IF_ERROR(add(updated.customer()));
  } else if (payload.Is<ev::CustomerDeleted>()) {
    ev::CustomerDeleted deleted;
    TL_RETURN_IF_ERROR(unpack(deleted));
    TL_RETURN_IF_ERROR(add(deleted.customer()));
  } else if (payload.Is<ev::CustomerUndeleted>()) {
    ev::CustomerUndeleted undeleted;
    TL_RETURN_IF_ERROR(unpack(undeleted));
    TL_RETURN_IF_ERROR(add(undeleted.customer()));
  } else if (payload.Is<ev::CustomersMerged>()) {
    ev::CustomersMerged merged;
    TL_RETURN_IF_ERROR(unpack(merged));
    TL_RETURN_IF_ERROR(add(merged.survivor()));
    TL_RETURN_IF_ERROR(add(merged.merged()));
    rows.back().merge_id = merged.merge().merge_id();
    for (const ev::FoldedPerson& f : merged.folded_persons()) {
      rows.back().folded_persons.emplace_back(f.person_id(), f.into_person_id());
    }
    TL_RETURN_IF_ERROR(CheckRow(rows.back()));
  } else if (payload.Is<ev::CustomersUnmerged>()) {
    ev::CustomersUnmerged unmerged;
    TL_RETURN_IF_ERROR(unpack(unmerged));
    TL_RETURN_IF_ERROR(add(unmerged.survivor()));
    TL_RETURN_IF_ERROR(add(unmerged.restored()));
  }
  for (const CustomerRow& row : rows) TL_RETURN_IF_ERROR(Apply(txn, row, &event).status());
  return absl::OkStatus();
}

absl::Status ReadModel::Learn(pqxx::work& txn, const std::string& tenant,
                              const cv1::Customer& customer) const {
  TL_ASSIGN_OR_RETURN(const CustomerRow row, RowOf(tenant, customer, /*version_offset=*/-1));
  return Apply(txn, row).status();
}

}  // namespace touchline::customers
