#include "services/contacts/pg_customer_store.h"

#include <algorithm>
#include <cstdint>
#include <pqxx/pqxx>
#include <set>
#include <string>
#include <tuple>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/audit/audit.h"
#include "common/enforcement/shares_read_model.h"
#include "common/events/outbox.h"
#include "common/idempotency/idempotency.h"
#include "common/ids/ids.h"
#include "common/status/errors.h"
#include "common/status/macros.h"
#include "nlohmann/json.hpp"
#include "services/contacts/customer_access.h"
#include "services/contacts/customer_json.h"
#include "services/contacts/customer_merge.h"
#include "services/contacts/customer_proto.h"
#include "services/contacts/customer_update.h"
#include "services/contacts/sql.h"
#include "touchline/events/v1/customer_events.pb.h"

namespace touchline::contacts {
namespace {

namespace ev = ::touchline::events::v1;
using nlohmann::json;

constexpr char kSelectCustomer[] = "select_customer";
constexpr char kSelectCustomerForUpdate[] = "select_customer_for_update";
constexpr char kSelectPairForUpdate[] = "select_pair_for_update";
constexpr char kSelectCustomers[] = "select_customers";
constexpr char kInsertCustomers[] = "insert_customers";
constexpr char kUpdateCustomer[] = "update_customer";
constexpr char kDeleteKeys[] = "delete_keys";
constexpr char kInsertKeys[] = "insert_keys";
constexpr char kInsertMerge[] = "insert_merge";
constexpr char kSelectMerge[] = "select_merge";
constexpr char kSelectMergeForUpdate[] = "select_merge_for_update";
constexpr char kMarkUnmerged[] = "mark_unmerged";
constexpr char kListSnapshots[] = "list_snapshots";

// The smallest UUID: with tenant '', where kListSnapshots starts its first page.
constexpr char kBeforeEveryId[] = "00000000-0000-0000-0000-000000000000";

// ICU's Chinese collation: pinyin order for Han characters, Latin text alongside.
constexpr char kZhCollation[] = "\"zh-Hans-x-icu\"";

std::int64_t Micros(absl::Time t) { return absl::ToUnixMicros(t); }

// Reads a row of TL_CUSTOMER_COLUMNS.
absl::StatusOr<Customer> ParseCustomer(const pqxx::row& row, std::string_view tenant_id) {
  Customer c;
  c.tenant_id = std::string(tenant_id);
  c.customer_id = row[0].as<std::string>();
  c.kind = static_cast<CustomerKind>(row[1].as<int>());
  c.display_name = row[2].as<std::string>();
  c.industry = row[3].as<std::string>();
  c.region = row[4].as<std::string>();
  c.level = static_cast<CustomerLevel>(row[5].as<int>());
  c.lifecycle_status = static_cast<LifecycleStatus>(row[6].as<int>());
  c.owner_id = row[7].as<std::string>();
  TL_ASSIGN_OR_RETURN(json tags, ParseJson(row[8].c_str()));
  for (const json& tag : tags) c.tags.push_back(tag.get<std::string>());
  TL_ASSIGN_OR_RETURN(json custom_fields, ParseJson(row[9].c_str()));
  TL_ASSIGN_OR_RETURN(c.custom_fields, CustomFieldsFromJson(custom_fields));
  TL_ASSIGN_OR_RETURN(json persons, ParseJson(row[10].c_str()));
  TL_ASSIGN_OR_RETURN(c.contact_persons, ContactPersonsFromJson(persons));
  TL_ASSIGN_OR_RETURN(json addresses, ParseJson(row[11].c_str()));
  TL_ASSIGN_OR_RETURN(c.addresses, AddressesFromJson(addresses));
  c.state = static_cast<CustomerState>(row[12].as<int>());
  c.merged_into_customer_id = row[13].as<std::string>();
  c.create_time = absl::FromUnixMicros(row[14].as<std::int64_t>());
  c.update_time = absl::FromUnixMicros(row[15].as<std::int64_t>());
  const auto delete_micros = row[16].as<std::int64_t>();
  if (delete_micros >= 0) c.delete_time = absl::FromUnixMicros(delete_micros);
  c.version = row[17].as<std::int64_t>();
  return c;
}

absl::StatusOr<std::vector<Customer>> ParseCustomers(const pqxx::result& rows,
                                                     std::string_view tenant_id) {
  std::vector<Customer> customers;
  customers.reserve(rows.size());
  for (const pqxx::row& row : rows) {
    TL_ASSIGN_OR_RETURN(Customer c, ParseCustomer(row, tenant_id));
    customers.push_back(std::move(c));
  }
  return customers;
}

// Reads a row of kListSnapshots.
absl::StatusOr<CustomerSnapshot> ParseSnapshot(const pqxx::row& row) {
  CustomerSnapshot s;
  s.tenant_id = row[0].as<std::string>();
  s.customer_id = row[1].as<std::string>();
  s.state = static_cast<CustomerState>(row[2].as<int>());
  s.merged_into_customer_id = row[3].as<std::string>();
  s.owner_id = row[4].as<std::string>();
  s.region = row[5].as<std::string>();
  s.level = static_cast<CustomerLevel>(row[6].as<int>());
  s.version = row[7].as<std::int64_t>();
  TL_ASSIGN_OR_RETURN(json person_ids, ParseJson(row[8].c_str()));
  for (const json& id : person_ids) s.person_ids.push_back(id.get<std::string>());
  s.merge_id = row[9].as<std::string>();
  if (!s.merge_id.empty()) {
    TL_ASSIGN_OR_RETURN(json survivor, ParseJson(row[10].c_str()));
    TL_ASSIGN_OR_RETURN(const Customer survivor_before, CustomerFromJson(survivor));
    TL_ASSIGN_OR_RETURN(json merged, ParseJson(row[11].c_str()));
    TL_ASSIGN_OR_RETURN(const Customer merged_before, CustomerFromJson(merged));
    s.folded_persons = FoldedPersons(survivor_before, merged_before);
  }
  s.lifecycle_status = static_cast<LifecycleStatus>(row[12].as<int>());
  TL_ASSIGN_OR_RETURN(json tags, ParseJson(row[13].c_str()));
  for (const json& tag : tags) s.tags.push_back(tag.get<std::string>());
  return s;
}

// Reads a row of TL_MERGE_COLUMNS.
absl::StatusOr<CustomerMerge> ParseMerge(const pqxx::row& row, std::string_view tenant_id) {
  CustomerMerge m;
  m.tenant_id = std::string(tenant_id);
  m.merge_id = row[0].as<std::string>();
  m.survivor_customer_id = row[1].as<std::string>();
  m.merged_customer_id = row[2].as<std::string>();
  TL_ASSIGN_OR_RETURN(json survivor, ParseJson(row[3].c_str()));
  TL_ASSIGN_OR_RETURN(m.survivor_before, CustomerFromJson(survivor));
  TL_ASSIGN_OR_RETURN(json merged, ParseJson(row[4].c_str()));
  TL_ASSIGN_OR_RETURN(m.merged_before, CustomerFromJson(merged));
  m.survivor_version_after = row[5].as<std::int64_t>();
  m.merged_version_after = row[6].as<std::int64_t>();
  m.create_time = absl::FromUnixMicros(row[7].as<std::int64_t>());
  const auto unmerge_micros = row[8].as<std::int64_t>();
  if (unmerge_micros >= 0) m.unmerge_time = absl::FromUnixMicros(unmerge_micros);
  return m;
}

void UpdateCustomer(pqxx::work& txn, const Customer& c) {
  txn.exec_prepared(
      kUpdateCustomer, c.tenant_id, c.customer_id, static_cast<int>(c.kind), c.display_name,
      c.industry, c.region, static_cast<int>(c.level), static_cast<int>(c.lifecycle_status),
      c.owner_id, json(c.tags).dump(), CustomFieldsToJson(c.custom_fields).dump(),
      ContactPersonsToJson(c.contact_persons).dump(), AddressesToJson(c.addresses).dump(),
      static_cast<int>(c.state), c.merged_into_customer_id, Micros(c.create_time),
      Micros(c.update_time), c.delete_time ? Micros(*c.delete_time) : std::int64_t{-1}, c.version);
}

// Only active customers have dedupe keys: deleted and merged ones are nobody's duplicate.
std::vector<std::pair<DedupeReason, std::string>> ActiveKeys(const Customer& c) {
  if (c.state != CustomerState::kActive) return {};
  return DedupeKeys(c);
}

// Adds the active keys of `c` to `rows`, as kInsertKeys takes them.
void AppendKeyRows(const Customer& c, json& rows) {
  for (const auto& [reason, key] : ActiveKeys(c)) {
    rows.push_back({c.tenant_id, static_cast<int>(reason), key, c.customer_id});
  }
}

void InsertKeys(pqxx::work& txn, const json& rows) {
  if (!rows.empty()) txn.exec_prepared(kInsertKeys, rows.dump());
}

// Rewrites the keys when they changed between `before` and `after`.
void ReplaceKeys(pqxx::work& txn, const Customer& before, const Customer& after) {
  if (ActiveKeys(before) == ActiveKeys(after)) return;
  txn.exec_prepared(kDeleteKeys, after.tenant_id, after.customer_id);
  json rows = json::array();
  AppendKeyRows(after, rows);
  InsertKeys(txn, rows);
}

absl::StatusOr<Customer> SelectCustomer(pqxx::transaction_base& txn, const char* statement,
                                        std::string_view tenant_id, std::string_view customer_id) {
  const pqxx::result rows =
      txn.exec_prepared(statement, std::string(tenant_id), std::string(customer_id));
  if (rows.empty()) return CustomerNotFound(customer_id);
  return ParseCustomer(rows[0], tenant_id);
}

// A customer as a write found it, with its shares.
struct Found {
  Customer customer;
  Shares shares;
};

// The customer read (or locked) by `statement`, if the caller has `access` to it; otherwise
// as CheckRowAccess says.
absl::StatusOr<Found> SelectWithAccess(pqxx::transaction_base& txn, const char* statement,
                                       const WriteContext& context, std::string_view customer_id,
                                       auth::Access access) {
  const std::string& tenant_id = context.caller.tenant_id;
  TL_ASSIGN_OR_RETURN(Customer customer, SelectCustomer(txn, statement, tenant_id, customer_id));
  Shares shares = enforcement::LoadShares(txn, tenant_id, customer.customer_id);
  TL_RETURN_IF_ERROR(CheckRowAccess(*context.caller.scope, access, customer, shares));
  return Found{.customer = std::move(customer), .shares = std::move(shares)};
}

absl::Status MergeNotFound(std::string_view merge_id) {
  return absl::NotFoundError(absl::StrCat("merge ", std::string(merge_id), " not found"));
}

absl::StatusOr<CustomerMerge> SelectMerge(pqxx::transaction_base& txn, const char* statement,
                                          std::string_view tenant_id, std::string_view merge_id) {
  const pqxx::result rows =
      txn.exec_prepared(statement, std::string(tenant_id), std::string(merge_id));
  if (rows.empty()) return MergeNotFound(merge_id);
  return ParseMerge(rows[0], tenant_id);
}

// The condition over sql::kCustomersAlias of the customers `scope` sees, its parameters
// appended to `params` and numbered after those already there; nullopt when it sees them all.
std::optional<std::string> Visibility(const auth::Scope& scope, std::vector<std::string>& params) {
  auth::SqlCondition condition =
      scope.SqlVisibility(auth::Access::kRead, sql::kCustomersAlias, enforcement::kSharesTable,
                          static_cast<int>(params.size()) + 1);
  if (condition.params.empty() && condition.sql == "TRUE") return std::nullopt;
  for (std::string& param : condition.params) params.push_back(std::move(param));
  return std::move(condition.sql);
}

// The claim of a write's idempotency key, recording `result` (the id of what it creates).
idempotency::KeyClaim ClaimOf(const std::string& tenant_id, const IdempotencyKey& key,
                              std::string result) {
  return idempotency::KeyClaim{.key = {.tenant_id = tenant_id,
                                       .request_id = key.request_id,
                                       .method = key.method,
                                       .fingerprint = key.fingerprint},
                               .result = std::move(result)};
}

events::v1::EventEnvelope CustomerEvent(const WriteContext& context, std::string_view customer_id,
                                        const google::protobuf::Message& payload) {
  return events::MakeEnvelope(payload, context.caller.tenant_id, "customer", customer_id,
                              context.caller.request_id, context.caller.caller_id);
}

void Publish(pqxx::work& txn, const WriteContext& context, std::string_view customer_id,
             const google::protobuf::Message& payload) {
  events::AppendToOutbox(txn, kCustomersTopic, CustomerEvent(context, customer_id, payload));
}

events::v1::EventEnvelope AuditEntry(const WriteContext& context, std::string action,
                                     const std::string& customer_id,
                                     std::vector<std::string> fields, std::string detail = "") {
  return audit::MakeAuditEnvelope(context.caller, std::move(action), "customer", customer_id,
                                  std::move(fields), std::move(detail));
}

// Records a change in the audit log, durably with it.
void Audit(pqxx::work& txn, const WriteContext& context, std::string action,
           const std::string& customer_id, std::vector<std::string> fields,
           std::string detail = "") {
  events::AppendToOutbox(
      txn, events::kAuditTopic,
      AuditEntry(context, std::move(action), customer_id, std::move(fields), std::move(detail)));
}

const char* AuditAction(ChangeKind kind) {
  switch (kind) {
    case ChangeKind::kUpdated:
      return "customer.updated";
    case ChangeKind::kDeleted:
      return "customer.deleted";
    case ChangeKind::kUndeleted:
      return "customer.undeleted";
  }
  return "customer.changed";
}

std::string EscapeLike(std::string_view text) {
  std::string out;
  for (const char c : text) {
    if (c == '%' || c == '_' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

std::string SmallintArray(const auto& values) {
  std::string out = "{";
  for (const auto& v : values) {
    if (out.size() > 1) out.push_back(',');
    out += std::to_string(static_cast<int>(v));
  }
  return out + "}";
}

// The persons the merge folds (or folded), as the merge record's customers before it say.
void AddFoldedPersons(const CustomerMerge& merge,
                      google::protobuf::RepeatedPtrField<ev::FoldedPerson>& out) {
  for (const FoldedPerson& f : FoldedPersons(merge.survivor_before, merge.merged_before)) {
    ev::FoldedPerson* folded = out.Add();
    folded->set_person_id(f.person_id);
    folded->set_into_person_id(f.into_person_id);
  }
}

}  // namespace

std::vector<std::pair<std::string, std::string>> PgCustomerStore::PreparedStatements() {
  return {
      {kSelectCustomer, sql::kSelectCustomer},
      {kSelectCustomerForUpdate, sql::kSelectCustomerForUpdate},
      {kSelectPairForUpdate, sql::kSelectPairForUpdate},
      {kSelectCustomers, sql::kSelectCustomers},
      {kInsertCustomers, sql::kInsertCustomers},
      {kUpdateCustomer, sql::kUpdateCustomer},
      {kDeleteKeys, sql::kDeleteKeys},
      {kInsertKeys, sql::kInsertKeys},
      {kInsertMerge, sql::kInsertMerge},
      {kSelectMerge, sql::kSelectMerge},
      {kSelectMergeForUpdate, sql::kSelectMergeForUpdate},
      {kMarkUnmerged, sql::kMarkUnmerged},
      {kListSnapshots, sql::kListSnapshots},
  };
}

PgCustomerStore::PgCustomerStore(pg::Pool* pool, std::function<void()> events_written)
    : pool_(pool), events_written_(std::move(events_written)) {}

absl::StatusOr<std::vector<absl::StatusOr<Customer>>> PgCustomerStore::CreateMany(
    const std::vector<NewCustomer>& customers) {
  std::vector<absl::StatusOr<Customer>> results;
  bool inserted_any = false;
  TL_RETURN_IF_ERROR(pool_->Transact([&](pqxx::work& txn) -> absl::Status {
    results.assign(customers.size(), absl::UnknownError("not written"));
    inserted_any = false;
    // Claim the idempotency keys first: a customer whose key was used before is not inserted.
    std::vector<idempotency::KeyClaim> claims;
    std::vector<size_t> keyed;
    for (size_t i = 0; i < customers.size(); ++i) {
      if (!customers[i].key) continue;
      claims.push_back(ClaimOf(customers[i].context.caller.tenant_id, *customers[i].key,
                               customers[i].customer.customer_id));
      keyed.push_back(i);
    }
    TL_ASSIGN_OR_RETURN(const std::vector<idempotency::Claim> decided,
                        idempotency::ClaimKeys(txn, claims));
    std::vector<std::optional<idempotency::Claim>> earlier(customers.size());
    for (size_t k = 0; k < keyed.size(); ++k) {
      if (decided[k].decision != idempotency::Decision::kNew) earlier[keyed[k]] = decided[k];
    }

    json rows = json::array();
    json key_rows = json::array();
    std::vector<events::v1::EventEnvelope> created_events;
    std::vector<events::v1::EventEnvelope> audit_entries;
    for (size_t i = 0; i < customers.size(); ++i) {
      if (earlier[i]) continue;
      const Customer& c = customers[i].customer;
      rows.push_back({{"tenant_id", c.tenant_id},
                      {"customer_id", c.customer_id},
                      {"kind", static_cast<int>(c.kind)},
                      {"display_name", c.display_name},
                      {"industry", c.industry},
                      {"region", c.region},
                      {"level", static_cast<int>(c.level)},
                      {"lifecycle_status", static_cast<int>(c.lifecycle_status)},
                      {"owner_id", c.owner_id},
                      {"tags", c.tags},
                      {"custom_fields", CustomFieldsToJson(c.custom_fields)},
                      {"contact_persons", ContactPersonsToJson(c.contact_persons)},
                      {"addresses", AddressesToJson(c.addresses)},
                      {"state", static_cast<int>(c.state)},
                      {"create_micros", Micros(c.create_time)},
                      {"update_micros", Micros(c.update_time)},
                      {"version", c.version}});
      AppendKeyRows(c, key_rows);
      ev::CustomerCreated created;
      ToProto(c, created.mutable_customer());
      const WriteContext& context = customers[i].context;
      created_events.push_back(CustomerEvent(context, c.customer_id, created));
      audit_entries.push_back(
          AuditEntry(context, "customer.created", c.customer_id, ChangedFieldPaths(Customer{}, c)));
      results[i] = c;
    }
    if (!rows.empty()) {
      txn.exec_prepared(kInsertCustomers, rows.dump());
      InsertKeys(txn, key_rows);
      events::AppendToOutbox(txn, kCustomersTopic, created_events);
      events::AppendToOutbox(txn, events::kAuditTopic, audit_entries);
      inserted_any = true;
    }
    // Retries: the customer the first request created (possibly earlier in this batch).
    for (size_t i = 0; i < customers.size(); ++i) {
      if (!earlier[i]) continue;
      if (earlier[i]->decision == idempotency::Decision::kConflict) {
        results[i] = idempotency::RequestIdReused(customers[i].key->request_id);
        continue;
      }
      absl::StatusOr<Found> found = SelectWithAccess(txn, kSelectCustomer, customers[i].context,
                                                     earlier[i]->result, auth::Access::kRead);
      results[i] = found.ok() ? absl::StatusOr<Customer>(std::move(found->customer))
                              : absl::StatusOr<Customer>(found.status());
    }
    return absl::OkStatus();
  }));
  if (inserted_any) events_written_();
  return results;
}

absl::StatusOr<std::vector<Customer>> PgCustomerStore::BatchGet(
    std::string_view tenant_id, const auth::Scope& scope,
    const std::vector<std::string>& customer_ids) {
  std::vector<std::string> params{std::string(tenant_id), json(customer_ids).dump()};
  const std::optional<std::string> visible = Visibility(scope, params);
  std::vector<Customer> result;
  TL_RETURN_IF_ERROR(pool_->Query([&](pqxx::nontransaction& txn) -> absl::Status {
    // The prepared statement serves callers who see every customer.
    const pqxx::result rows =
        visible ? txn.exec_params(absl::StrCat(sql::kSelectVisibleCustomersStart, *visible,
                                               sql::kSelectVisibleCustomersEnd),
                                  pqxx::prepare::make_dynamic_params(params))
                : txn.exec_prepared(kSelectCustomers, params[0], params[1]);
    TL_ASSIGN_OR_RETURN(result, ParseCustomers(rows, tenant_id));
    return absl::OkStatus();
  }));
  return result;
}

absl::StatusOr<CustomerPage> PgCustomerStore::List(std::string_view tenant_id,
                                                   const auth::Scope& scope,
                                                   const CustomerQuery& query,
                                                   const std::optional<CustomerCursor>& after) {
  std::vector<std::string> params{std::string(tenant_id)};
  const auto param = [&params](std::string value) {
    params.push_back(std::move(value));
    return absl::StrCat("$", params.size());
  };
  const auto micros = [&param](absl::Time t) {
    return absl::StrCat("(timestamptz 'epoch' + ", param(std::to_string(Micros(t))),
                        "::bigint * interval '1 microsecond')");
  };
  std::string sql = sql::kListCustomersPrefix;
  if (!query.show_deleted) {
    absl::StrAppend(&sql, " AND state = ", static_cast<int>(CustomerState::kActive));
  }
  if (!query.lifecycle_statuses.empty()) {
    absl::StrAppend(&sql, " AND lifecycle_status = ANY(",
                    param(SmallintArray(query.lifecycle_statuses)), "::smallint[])");
  }
  if (!query.levels.empty()) {
    absl::StrAppend(&sql, " AND level = ANY(", param(SmallintArray(query.levels)), "::smallint[])");
  }
  if (!query.region.empty()) absl::StrAppend(&sql, " AND region = ", param(query.region));
  if (!query.owner_id.empty()) absl::StrAppend(&sql, " AND owner_id = ", param(query.owner_id));
  if (!query.tag.empty()) {
    absl::StrAppend(&sql, " AND tags @> ARRAY[", param(query.tag), "::text]");
  }
  if (query.updated_since) {
    absl::StrAppend(&sql, " AND update_time >= ", micros(*query.updated_since));
  }
  if (!query.display_name_prefix.empty()) {
    absl::StrAppend(&sql, " AND display_name LIKE ",
                    param(EscapeLike(query.display_name_prefix) + "%"));
  }
  // Inside the keyset query, so every page is as full as the caller's view allows.
  if (const std::optional<std::string> visible = Visibility(scope, params)) {
    absl::StrAppend(&sql, " AND ", *visible);
  }
  switch (query.order) {
    case CustomerOrder::kUpdateTimeDesc:
    case CustomerOrder::kCreateTimeDesc: {
      const char* column =
          query.order == CustomerOrder::kUpdateTimeDesc ? "update_time" : "create_time";
      if (after) {
        absl::StrAppend(&sql, " AND (", column, ", customer_id) < (", micros(after->time), ", ",
                        param(after->customer_id), "::uuid)");
      }
      absl::StrAppend(&sql, " ORDER BY ", column, " DESC, customer_id DESC");
      break;
    }
    case CustomerOrder::kDisplayName:
      if (after) {
        absl::StrAppend(&sql, " AND (display_name COLLATE ", kZhCollation, ", customer_id) > (",
                        param(after->display_name), "::text COLLATE ", kZhCollation, ", ",
                        param(after->customer_id), "::uuid)");
      }
      absl::StrAppend(&sql, " ORDER BY display_name COLLATE ", kZhCollation, ", customer_id");
      break;
  }
  absl::StrAppend(&sql, " LIMIT ", query.page_size + 1);

  CustomerPage page;
  TL_RETURN_IF_ERROR(pool_->Query([&](pqxx::nontransaction& txn) -> absl::Status {
    const pqxx::result rows = txn.exec_params(sql, pqxx::prepare::make_dynamic_params(params));
    TL_ASSIGN_OR_RETURN(page.customers, ParseCustomers(rows, tenant_id));
    return absl::OkStatus();
  }));
  if (page.customers.size() > static_cast<size_t>(query.page_size)) {
    page.customers.pop_back();
    const Customer& last = page.customers.back();
    page.next = CustomerCursor{
        .time = query.order == CustomerOrder::kCreateTimeDesc ? last.create_time : last.update_time,
        .display_name = last.display_name,
        .customer_id = last.customer_id};
  }
  return page;
}

absl::StatusOr<Customer> PgCustomerStore::Mutate(const WriteContext& context,
                                                 std::string_view customer_id,
                                                 const Mutation& mutate,
                                                 const std::optional<IdempotencyKey>& key) {
  Customer result;
  TL_RETURN_IF_ERROR(pool_->Transact([&](pqxx::work& txn) -> absl::Status {
    if (key) {
      const idempotency::KeyClaim mine =
          ClaimOf(context.caller.tenant_id, *key, std::string(customer_id));
      TL_ASSIGN_OR_RETURN(const idempotency::Claim claim,
                          idempotency::ClaimKey(txn, mine.key, mine.result));
      if (claim.decision == idempotency::Decision::kConflict) {
        return idempotency::RequestIdReused(key->request_id);
      }
      if (claim.decision == idempotency::Decision::kReplay) {
        TL_ASSIGN_OR_RETURN(Found found, SelectWithAccess(txn, kSelectCustomer, context,
                                                          customer_id, auth::Access::kRead));
        result = std::move(found.customer);
        return absl::OkStatus();
      }
    }
    TL_ASSIGN_OR_RETURN(const Found found, SelectWithAccess(txn, kSelectCustomerForUpdate, context,
                                                            customer_id, auth::Access::kWrite));
    const Customer& current = found.customer;
    Customer next = current;
    TL_ASSIGN_OR_RETURN(const Change change, mutate(next));
    TL_RETURN_IF_ERROR(CheckStaysWritable(*context.caller.scope, next, found.shares));
    next.version = current.version + 1;
    next.update_time = context.now;
    UpdateCustomer(txn, next);
    ReplaceKeys(txn, current, next);
    Audit(txn, context, AuditAction(change.kind), next.customer_id,
          ChangedFieldPaths(current, next));
    switch (change.kind) {
      case ChangeKind::kUpdated: {
        ev::CustomerUpdated updated;
        ToProto(next, updated.mutable_customer());
        for (const std::string& field : change.fields) {
          updated.mutable_changed_fields()->add_paths(field);
        }
        Publish(txn, context, next.customer_id, updated);
        break;
      }
      case ChangeKind::kDeleted: {
        ev::CustomerDeleted deleted;
        ToProto(next, deleted.mutable_customer());
        Publish(txn, context, next.customer_id, deleted);
        break;
      }
      case ChangeKind::kUndeleted: {
        ev::CustomerUndeleted undeleted;
        ToProto(next, undeleted.mutable_customer());
        Publish(txn, context, next.customer_id, undeleted);
        break;
      }
    }
    result = std::move(next);
    return absl::OkStatus();
  }));
  events_written_();
  return result;
}

absl::StatusOr<bool> PgCustomerStore::ApplyTouchpointStatus(pqxx::work& txn,
                                                            const TouchpointStatus& status,
                                                            absl::Time now) {
  if (txn.exec_params(sql::kClaimStatusSource, status.tenant_id, status.customer_id,
                      status.touchpoint_id, Micros(status.occurred_at))
          .empty()) {
    return false;  // A touchpoint that occurred later set the status already.
  }
  absl::StatusOr<Customer> current =
      SelectCustomer(txn, kSelectCustomerForUpdate, status.tenant_id, status.customer_id);
  if (absl::IsNotFound(current.status())) return false;
  if (!current.ok()) return current.status();
  if (current->state != CustomerState::kActive || current->lifecycle_status == status.status) {
    return false;
  }
  Customer next = *current;
  next.lifecycle_status = status.status;
  next.version = current->version + 1;
  next.update_time = now;
  UpdateCustomer(txn, next);
  // The recording user's change, made on their behalf by this consumer: events and audit
  // entries need no scope.
  WriteContext context{.caller = {}, .now = now};
  context.caller.tenant_id = status.tenant_id;
  context.caller.caller_id = status.actor_id;
  context.caller.request_id = status.request_id;
  context.caller.client = "touchpoint events";
  Audit(txn, context, AuditAction(ChangeKind::kUpdated), next.customer_id, {"lifecycle_status"},
        absl::StrCat("set by touchpoint ", status.touchpoint_id));
  ev::CustomerUpdated updated;
  ToProto(next, updated.mutable_customer());
  updated.mutable_changed_fields()->add_paths("lifecycle_status");
  Publish(txn, context, next.customer_id, updated);
  return true;
}

absl::StatusOr<MergeOutcome> PgCustomerStore::Merge(const WriteContext& context,
                                                    std::string_view survivor_id,
                                                    std::string_view merged_id, const Fold& fold,
                                                    const std::optional<IdempotencyKey>& key) {
  MergeOutcome outcome;
  bool replayed = false;
  const std::string merge_id = ids::NewUuid(context.now);
  TL_RETURN_IF_ERROR(pool_->Transact([&](pqxx::work& txn) -> absl::Status {
    replayed = false;
    const std::string& tenant_id = context.caller.tenant_id;
    const auth::Scope& scope = *context.caller.scope;
    if (key) {
      const idempotency::KeyClaim mine = ClaimOf(tenant_id, *key, merge_id);
      TL_ASSIGN_OR_RETURN(const idempotency::Claim claim,
                          idempotency::ClaimKey(txn, mine.key, mine.result));
      if (claim.decision == idempotency::Decision::kConflict)
        return idempotency::RequestIdReused(key->request_id);
      if (claim.decision == idempotency::Decision::kReplay) {
        replayed = true;
        TL_ASSIGN_OR_RETURN(outcome.merge, SelectMerge(txn, kSelectMerge, tenant_id, claim.result));
        TL_ASSIGN_OR_RETURN(Found survivor, SelectWithAccess(txn, kSelectCustomer, context,
                                                             outcome.merge.survivor_customer_id,
                                                             auth::Access::kRead));
        TL_ASSIGN_OR_RETURN(
            Found merged, SelectWithAccess(txn, kSelectCustomer, context,
                                           outcome.merge.merged_customer_id, auth::Access::kRead));
        outcome.survivor = std::move(survivor.customer);
        outcome.merged = std::move(merged.customer);
        return absl::OkStatus();
      }
    }
    const pqxx::result rows = txn.exec_prepared(kSelectPairForUpdate, tenant_id,
                                                std::string(survivor_id), std::string(merged_id));
    TL_ASSIGN_OR_RETURN(std::vector<Customer> pair, ParseCustomers(rows, tenant_id));
    const Customer* survivor = nullptr;
    const Customer* merged = nullptr;
    for (const Customer& c : pair) (c.customer_id == survivor_id ? survivor : merged) = &c;
    if (survivor == nullptr) return CustomerNotFound(survivor_id);
    if (merged == nullptr) return CustomerNotFound(merged_id);
    const Shares survivor_shares = enforcement::LoadShares(txn, tenant_id, survivor->customer_id);
    TL_RETURN_IF_ERROR(CheckRowAccess(scope, auth::Access::kWrite, *survivor, survivor_shares));
    TL_RETURN_IF_ERROR(
        CheckRowAccess(scope, auth::Access::kWrite, *merged,
                       enforcement::LoadShares(txn, tenant_id, merged->customer_id)));
    TL_ASSIGN_OR_RETURN(Customer folded, fold(*survivor, *merged));
    TL_RETURN_IF_ERROR(CheckStaysWritable(scope, folded, survivor_shares));
    outcome = MergeOf(*survivor, *merged, std::move(folded), merge_id, context.now);
    UpdateCustomer(txn, outcome.survivor);
    UpdateCustomer(txn, outcome.merged);
    ReplaceKeys(txn, *survivor, outcome.survivor);
    ReplaceKeys(txn, *merged, outcome.merged);
    txn.exec_prepared(kInsertMerge, tenant_id, merge_id, survivor->customer_id, merged->customer_id,
                      CustomerToJson(*survivor).dump(), CustomerToJson(*merged).dump(),
                      outcome.survivor.version, outcome.merged.version, Micros(context.now));
    ev::CustomersMerged event;
    ToProto(outcome.merge, event.mutable_merge());
    ToProto(outcome.survivor, event.mutable_survivor());
    ToProto(outcome.merged, event.mutable_merged());
    AddFoldedPersons(outcome.merge, *event.mutable_folded_persons());
    Publish(txn, context, survivor->customer_id, event);
    Audit(txn, context, "customer.merged", survivor->customer_id,
          ChangedFieldPaths(*survivor, outcome.survivor),
          absl::StrCat("took in customer ", merged->customer_id, " (merge ", merge_id, ")"));
    Audit(txn, context, "customer.merged", merged->customer_id, {},
          absl::StrCat("merged into customer ", survivor->customer_id, " (merge ", merge_id, ")"));
    return absl::OkStatus();
  }));
  if (!replayed) events_written_();
  return outcome;
}

absl::StatusOr<MergeOutcome> PgCustomerStore::Unmerge(const WriteContext& context,
                                                      std::string_view merge_id, const Vet& vet) {
  MergeOutcome outcome;
  TL_RETURN_IF_ERROR(pool_->Transact([&](pqxx::work& txn) -> absl::Status {
    const std::string& tenant_id = context.caller.tenant_id;
    const auth::Scope& scope = *context.caller.scope;
    TL_ASSIGN_OR_RETURN(outcome.merge,
                        SelectMerge(txn, kSelectMergeForUpdate, tenant_id, merge_id));
    CustomerMerge& merge = outcome.merge;
    const pqxx::result rows = txn.exec_prepared(
        kSelectPairForUpdate, tenant_id, merge.survivor_customer_id, merge.merged_customer_id);
    TL_ASSIGN_OR_RETURN(std::vector<Customer> pair, ParseCustomers(rows, tenant_id));
    if (pair.size() != 2) return absl::DataLossError("a merged customer is missing");
    const bool survivor_first = pair[0].customer_id == merge.survivor_customer_id;
    const Customer& survivor_now = survivor_first ? pair[0] : pair[1];
    const Customer& merged_now = survivor_first ? pair[1] : pair[0];
    // A merge of customers the caller cannot both see does not exist for them: nothing else
    // about it may be told first.
    std::vector<Shares> shares;
    for (const Customer* c : {&survivor_now, &merged_now}) {
      shares.push_back(enforcement::LoadShares(txn, tenant_id, c->customer_id));
      if (!scope.Allows(auth::Access::kRead, AttributesOf(*c, shares.back()))) {
        return MergeNotFound(merge_id);
      }
    }
    TL_RETURN_IF_ERROR(CheckNotUnmerged(merge));
    TL_RETURN_IF_ERROR(CheckRowAccess(scope, auth::Access::kWrite, survivor_now, shares[0]));
    TL_RETURN_IF_ERROR(CheckRowAccess(scope, auth::Access::kWrite, merged_now, shares[1]));
    TL_ASSIGN_OR_RETURN(outcome, UnmergeOf(merge, survivor_now, merged_now, context.now));
    TL_RETURN_IF_ERROR(vet(survivor_now, outcome.survivor));
    TL_RETURN_IF_ERROR(vet(merged_now, outcome.merged));
    UpdateCustomer(txn, outcome.survivor);
    UpdateCustomer(txn, outcome.merged);
    ReplaceKeys(txn, survivor_now, outcome.survivor);
    ReplaceKeys(txn, merged_now, outcome.merged);
    txn.exec_prepared(kMarkUnmerged, tenant_id, merge.merge_id, Micros(context.now));
    ev::CustomersUnmerged event;
    ToProto(merge, event.mutable_merge());
    ToProto(outcome.survivor, event.mutable_survivor());
    ToProto(outcome.merged, event.mutable_restored());
    AddFoldedPersons(merge, *event.mutable_folded_persons());
    Publish(txn, context, outcome.survivor.customer_id, event);
    const std::string detail = absl::StrCat("merge ", merge.merge_id, " undone");
    Audit(txn, context, "customer.unmerged", outcome.survivor.customer_id,
          ChangedFieldPaths(survivor_now, outcome.survivor), detail);
    Audit(txn, context, "customer.unmerged", outcome.merged.customer_id,
          ChangedFieldPaths(merged_now, outcome.merged), detail);
    return absl::OkStatus();
  }));
  events_written_();
  return outcome;
}

absl::StatusOr<std::vector<CustomerSnapshot>> PgCustomerStore::ListSnapshots(
    const std::optional<SnapshotPosition>& after, int limit) {
  std::vector<CustomerSnapshot> snapshots;
  TL_RETURN_IF_ERROR(pool_->Query([&](pqxx::nontransaction& txn) -> absl::Status {
    const pqxx::result rows =
        txn.exec_prepared(kListSnapshots, after ? after->tenant_id : std::string(),
                          after ? after->customer_id : std::string(kBeforeEveryId), limit,
                          static_cast<int>(CustomerState::kMerged));
    snapshots.clear();
    snapshots.reserve(rows.size());
    for (const pqxx::row& row : rows) {
      TL_ASSIGN_OR_RETURN(CustomerSnapshot snapshot, ParseSnapshot(row));
      snapshots.push_back(std::move(snapshot));
    }
    return absl::OkStatus();
  }));
  return snapshots;
}

absl::StatusOr<DuplicatePage> PgCustomerStore::FindDuplicates(
    std::string_view tenant_id, const auth::Scope& scope, std::string_view customer_id,
    int page_size, const std::optional<DuplicateCursor>& after) {
  std::vector<std::string> params{std::string(tenant_id),
                                  std::string(customer_id),
                                  std::to_string(after ? after->strength : -1),
                                  after ? after->customer_id : std::string(),
                                  after ? after->duplicate_customer_id : std::string(),
                                  std::to_string(page_size + 1),
                                  std::to_string(kMaxCustomersPerKey)};
  std::string sql = sql::kFindDuplicatesStart;
  // Both customers of a pair must be visible; each side binds its own copy of the parameters.
  for (const char* side : {sql::kDuplicateAVisible, sql::kDuplicateBVisible}) {
    if (const std::optional<std::string> visible = Visibility(scope, params)) {
      absl::StrAppend(&sql, side, *visible, ")");
    }
  }
  sql += sql::kFindDuplicatesEnd;
  DuplicatePage page;
  TL_RETURN_IF_ERROR(pool_->Query([&](pqxx::nontransaction& txn) -> absl::Status {
    const pqxx::result rows = txn.exec_params(sql, pqxx::prepare::make_dynamic_params(params));
    for (const pqxx::row& row : rows) {
      DuplicatePair pair{.customer_id = row[0].as<std::string>(),
                         .duplicate_customer_id = row[1].as<std::string>(),
                         .matches = {}};
      TL_ASSIGN_OR_RETURN(json matches, ParseJson(row[3].c_str()));
      for (const json& m : matches) {
        pair.matches.push_back(DuplicateMatch{.reason = static_cast<DedupeReason>(m[0].get<int>()),
                                              .value = m[1].get<std::string>()});
      }
      page.pairs.push_back(std::move(pair));
    }
    return absl::OkStatus();
  }));
  if (page.pairs.size() > static_cast<size_t>(page_size)) {
    page.pairs.pop_back();
    const DuplicatePair& last = page.pairs.back();
    page.next = DuplicateCursor{.strength = static_cast<int>(last.matches.size()),
                                .customer_id = last.customer_id,
                                .duplicate_customer_id = last.duplicate_customer_id};
  }
  return page;
}

}  // namespace touchline::contacts
