#include "services/permissions/audit/pg_audit_store.h"

#include <google/protobuf/timestamp.pb.h>
#include <google/protobuf/util/time_util.h>

#include <array>
#include <pqxx/nontransaction>
#include <pqxx/pqxx>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/pg/array.h"
#include "common/status/macros.h"
#include "nlohmann/json.hpp"
#include "services/permissions/audit/sql.h"

namespace touchline::permissions {
namespace {

using ::google::protobuf::Timestamp;
using ::google::protobuf::util::TimeUtil;
using ::nlohmann::json;
using namespace audit_sql;  // NOLINT(build/namespaces): the statements of this store.

// An entry as stored, from the columns of TL_ENTRY_COLUMNS (sql.h).
v1::AuditEvent EntryOf(const pqxx::row& row) {
  v1::AuditEvent event;
  event.set_sequence(row[0].as<int64_t>());
  *event.mutable_occur_time() = TimeUtil::MicrosecondsToTimestamp(row[1].as<int64_t>());
  event.set_action(row[2].as<std::string>());
  event.set_actor_id(row[3].as<std::string>());
  event.set_client(row[4].as<std::string>());
  event.set_resource_type(row[5].as<std::string>());
  event.set_resource_id(row[6].as<std::string>());
  for (const json& field : json::parse(row[7].c_str())) {
    event.add_fields(field.get<std::string>());
  }
  event.set_detail(row[8].as<std::string>());
  event.set_request_id(row[9].as<std::string>());
  event.set_previous_hash(row[10].as<std::string>());
  event.set_hash(row[11].as<std::string>());
  return event;
}

std::vector<v1::AuditEvent> EntriesOf(const pqxx::result& rows) {
  std::vector<v1::AuditEvent> entries;
  entries.reserve(rows.size());
  for (const pqxx::row& row : rows) entries.push_back(EntryOf(row));
  return entries;
}

// The statement of ListEntries for `filter` and its parameters.
std::pair<std::string, std::vector<std::string>> ListStatement(const std::string& tenant,
                                                               const AuditEntryFilter& filter) {
  std::vector<std::string> params = {tenant};
  const auto param = [&params](std::string value) {
    params.push_back(std::move(value));
    return params.size();
  };
  // The instant `micros` (since the Unix epoch), its parts bound as parameters.
  const auto time = [&](int64_t micros) {
    const Timestamp at = TimeUtil::MicrosecondsToTimestamp(micros);
    const size_t seconds = param(std::to_string(at.seconds()));
    const size_t sub = param(std::to_string(at.nanos() / 1000));
    return absl::StrCat(kListTimeSeconds, seconds, kListTimeMicros, sub, kListTimeEnd);
  };
  std::string sql = kListEntries;
  if (!filter.actor_id.empty()) absl::StrAppend(&sql, kListActorId, param(filter.actor_id));
  if (!filter.resource_type.empty()) {
    absl::StrAppend(&sql, kListResourceType, param(filter.resource_type));
  }
  if (!filter.resource_id.empty()) {
    absl::StrAppend(&sql, kListResourceId, param(filter.resource_id));
  }
  if (!filter.action_prefix.empty()) {
    absl::StrAppend(&sql, kListActionPrefix, param(filter.action_prefix), kListCloseCall);
  }
  if (filter.start_micros) absl::StrAppend(&sql, kListStartsAt, time(*filter.start_micros));
  if (filter.end_micros) absl::StrAppend(&sql, kListEndsBefore, time(*filter.end_micros));
  if (filter.before_sequence) {
    absl::StrAppend(&sql, kListBeforeSequence, param(std::to_string(*filter.before_sequence)));
  }
  absl::StrAppend(&sql, kListOrder, param(std::to_string(filter.limit)));
  return {std::move(sql), std::move(params)};
}

}  // namespace

absl::StatusOr<std::vector<v1::AuditEvent>> PgAuditRows::ListEntries(
    const std::string& tenant, const AuditEntryFilter& filter) {
  return statements_.Run([&] {
    const auto [sql, params] = ListStatement(tenant, filter);
    return EntriesOf(txn_.exec_params(sql, pqxx::prepare::make_dynamic_params(params)));
  });
}

absl::StatusOr<std::vector<v1::AuditEvent>> PgAuditRows::EntriesAfter(const std::string& tenant,
                                                                      int64_t after, int limit) {
  return statements_.Run(
      [&] { return EntriesOf(txn_.exec_params(kEntriesAfter, tenant, after, limit)); });
}

absl::StatusOr<std::optional<AuditChainHead>> PgAuditRows::Head(const std::string& tenant) {
  return statements_.Run([&]() -> std::optional<AuditChainHead> {
    const pqxx::result head = txn_.exec_params(kReadHead, tenant);
    if (head.empty()) return std::nullopt;
    return AuditChainHead{head[0][0].as<int64_t>(), head[0][1].as<std::string>()};
  });
}

absl::StatusOr<std::map<std::string, AuditChainHead>> PgAuditRows::LockHeads(
    const std::vector<std::string>& tenants) {
  TL_RETURN_IF_ERROR(RequireWork());
  return statements_.Run([&] {
    std::map<std::string, AuditChainHead> heads;
    const auto lock = [&](const std::vector<std::string>& which) {
      for (const pqxx::row& row : work_->exec_params(kLockHeads, pg::TextArrayLiteral(which))) {
        heads[row[0].as<std::string>()] = {row[1].as<int64_t>(), row[2].as<std::string>()};
      }
    };
    lock(tenants);
    if (heads.size() < tenants.size()) {
      // A tenant's first entry: its head is created (and, inserted by this transaction, held).
      std::vector<std::string> missing;
      for (const std::string& tenant : tenants) {
        if (!heads.contains(tenant)) missing.push_back(tenant);
      }
      work_->exec_params(kCreateHeads, pg::TextArrayLiteral(missing),
                         std::string(kAuditGenesisHash));
      lock(missing);
    }
    return heads;
  });
}

absl::Status PgAuditRows::Write(const std::vector<TenantAuditEvent>& entries,
                                const std::map<std::string, AuditChainHead>& heads) {
  TL_RETURN_IF_ERROR(RequireWork());
  // One array per column of kAppend.
  std::array<std::vector<std::string>, 14> columns;
  for (const auto& [tenant_id, event] : entries) {
    const std::vector<std::string> row = {tenant_id,
                                          std::to_string(event.sequence()),
                                          std::to_string(event.occur_time().seconds()),
                                          std::to_string(event.occur_time().nanos() / 1000),
                                          event.action(),
                                          event.actor_id(),
                                          event.client(),
                                          event.resource_type(),
                                          event.resource_id(),
                                          pg::TextArrayLiteral(std::vector<std::string>(
                                              event.fields().begin(), event.fields().end())),
                                          event.detail(),
                                          event.request_id(),
                                          event.previous_hash(),
                                          event.hash()};
    for (size_t column = 0; column < columns.size(); ++column) {
      columns[column].push_back(row[column]);
    }
  }
  std::vector<std::string> head_tenants, head_sequences, head_hashes;
  for (const auto& [tenant, head] : heads) {
    head_tenants.push_back(tenant);
    head_sequences.push_back(std::to_string(head.last_sequence));
    head_hashes.push_back(head.last_hash);
  }
  std::vector<std::string> params;
  for (const std::vector<std::string>& column : columns) {
    params.push_back(pg::TextArrayLiteral(column));
  }
  for (const std::vector<std::string>* column : {&head_tenants, &head_sequences, &head_hashes}) {
    params.push_back(pg::TextArrayLiteral(*column));
  }
  return statements_.Exec(
      [&] { work_->exec_params(kAppend, pqxx::prepare::make_dynamic_params(params)); });
}

absl::Status PgAuditStore::Transact(const std::function<absl::Status(AuditTransaction&)>& work) {
  return pool_->Transact([&](pqxx::work& txn) {
    PgAuditRows rows(txn);
    return rows.Finish(work(rows));
  });
}

absl::Status PgAuditStore::Read(const std::function<absl::Status(AuditReader&)>& read) {
  return pool_->Query([&](pqxx::nontransaction& txn) {
    PgAuditRows rows(static_cast<pqxx::transaction_base&>(txn));
    return rows.Finish(read(rows));
  });
}

absl::Status PgAuditStore::ReadSnapshot(const std::function<absl::Status(AuditReader&)>& read) {
  return pool_->Transact([&](pqxx::work& txn) {
    txn.exec(kSnapshotReadOnly);
    PgAuditRows rows(static_cast<pqxx::transaction_base&>(txn));
    return rows.Finish(read(rows));
  });
}

}  // namespace touchline::permissions
