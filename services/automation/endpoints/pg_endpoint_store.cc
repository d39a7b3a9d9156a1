#include "services/automation/endpoints/pg_endpoint_store.h"

#include <cstdint>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/audit/audit.h"
#include "common/events/outbox.h"
#include "common/events/topics.h"
#include "common/idempotency/idempotency.h"
#include "common/status/errors.h"
#include "common/status/macros.h"
#include "google/protobuf/util/time_util.h"
#include "services/automation/endpoints/sql.h"

namespace touchline::automation {

namespace {

namespace sql = endpoints_sql;
using endpoint_rules::EndpointNotFound;
using endpoint_rules::ProtoDurationOf;
using endpoint_rules::ProtoTimeOf;
using endpoint_rules::StoredSecrets;

int64_t Millis(const google::protobuf::Duration& d) {
  return absl::ToInt64Milliseconds(endpoint_rules::DurationOf(d));
}

google::protobuf::Timestamp TimeOfMicros(const pqxx::field& micros) {
  return ProtoTimeOf(absl::FromUnixMicros(micros.as<int64_t>()));
}

// A row of sql::kEndpointColumns, as the endpoint it is (without secrets).
v1::WebhookEndpoint EndpointFromRow(const pqxx::row& row) {
  v1::WebhookEndpoint endpoint;
  endpoint.set_endpoint_id(row[0].as<std::string>());
  endpoint.set_display_name(row[1].as<std::string>());
  endpoint.set_url(row[2].as<std::string>());
  endpoint.set_max_attempts(row[3].as<int>());
  endpoint.set_rate_limit_per_second(row[4].as<int>());
  *endpoint.mutable_timeout() = ProtoDurationOf(absl::Milliseconds(row[5].as<int64_t>()));
  *endpoint.mutable_secret_time() = TimeOfMicros(row[6]);
  *endpoint.mutable_create_time() = TimeOfMicros(row[7]);
  *endpoint.mutable_update_time() = TimeOfMicros(row[8]);
  endpoint.set_etag(std::to_string(row[9].as<int64_t>()));
  return endpoint;
}

// The sealed secrets of a row of sql::kEndpointColumns.
StoredSecrets SecretsFromRow(const pqxx::row& row) {
  StoredSecrets stored;
  stored.current = SealedSecret{.key_id = row[10].as<std::string>(),
                                .box = absl::HexStringToBytes(row[11].as<std::string>())};
  if (!row[12].is_null()) {
    stored.previous = SealedSecret{.key_id = row[12].as<std::string>(),
                                   .box = absl::HexStringToBytes(row[13].as<std::string>())};
    stored.previous_until = absl::FromUnixMicros(row[14].as<int64_t>());
  }
  return stored;
}

}  // namespace

absl::StatusOr<EndpointWithSecret> PgEndpointStore::Create(const NewEndpoint& endpoint) {
  const std::string& tenant_id = endpoint.context.caller.tenant_id;
  const v1::WebhookEndpoint& e = endpoint.endpoint;
  const std::string context = endpoint_rules::SecretContext(tenant_id, e.endpoint_id());
  const SealedSecret sealed = box_->Seal(endpoint.secret, context);
  EndpointWithSecret result;
  bool written = false;
  TL_RETURN_IF_ERROR(pool_->Transact([&](pqxx::work& txn) -> absl::Status {
    written = false;
    if (!endpoint.request_id.empty()) {
      TL_ASSIGN_OR_RETURN(
          const idempotency::Claim claim,
          idempotency::ClaimKey(txn, endpoint_rules::CreateKey(endpoint),
                                endpoint_rules::ReplayRecord(e.endpoint_id(), sealed)));
      if (claim.decision == idempotency::Decision::kConflict) {
        return idempotency::RequestIdReused(endpoint.request_id);
      }
      if (claim.decision == idempotency::Decision::kReplay) {
        TL_ASSIGN_OR_RETURN(const auto first, endpoint_rules::ParseReplayRecord(claim.result));
        const pqxx::result rows = txn.exec_params(sql::kSelectEndpoint, tenant_id, first.first);
        if (rows.empty()) return EndpointNotFound(first.first);
        result.endpoint = EndpointFromRow(rows[0]);
        TL_ASSIGN_OR_RETURN(result.secret, box_->Open(first.second, endpoint_rules::SecretContext(
                                                                        tenant_id, first.first)));
        return absl::OkStatus();
      }
    }
    txn.exec_params(sql::kInsertEndpoint, tenant_id, e.endpoint_id(), e.display_name(), e.url(),
                    e.max_attempts(), e.rate_limit_per_second(), Millis(e.timeout()), sealed.key_id,
                    absl::BytesToHexString(sealed.box), absl::ToUnixMicros(endpoint.context.now));
    events::AppendToOutbox(txn, events::kAuditTopic, endpoint_rules::CreatedAuditEntry(endpoint));
    result.endpoint = e;
    result.endpoint.set_etag("1");
    result.secret = endpoint.secret;
    written = true;
    return absl::OkStatus();
  }));
  if (written && events_written_) events_written_();
  return result;
}

absl::StatusOr<v1::WebhookEndpoint> PgEndpointStore::Get(const std::string& tenant_id,
                                                         const std::string& endpoint_id) {
  std::optional<v1::WebhookEndpoint> endpoint;
  TL_RETURN_IF_ERROR(pool_->Query([&](pqxx::nontransaction& txn) {
    endpoint.reset();
    const pqxx::result rows = txn.exec_params(sql::kSelectEndpoint, tenant_id, endpoint_id);
    if (!rows.empty()) endpoint = EndpointFromRow(rows[0]);
    return absl::OkStatus();
  }));
  if (!endpoint.has_value()) return EndpointNotFound(endpoint_id);
  return *std::move(endpoint);
}

absl::StatusOr<std::vector<v1::WebhookEndpoint>> PgEndpointStore::List(const EndpointQuery& query) {
  std::vector<v1::WebhookEndpoint> endpoints;
  TL_RETURN_IF_ERROR(pool_->Query([&](pqxx::nontransaction& txn) {
    endpoints.clear();
    const pqxx::result rows =
        query.after.has_value()
            ? txn.exec_params(sql::kListAfter, query.tenant_id, query.limit,
                              query.after->display_name, query.after->endpoint_id)
            : txn.exec_params(sql::kListFirst, query.tenant_id, query.limit);
    for (const pqxx::row& row : rows) endpoints.push_back(EndpointFromRow(row));
    return absl::OkStatus();
  }));
  return endpoints;
}

absl::StatusOr<v1::WebhookEndpoint> PgEndpointStore::Update(const EndpointUpdate& update) {
  const std::string& tenant_id = update.context.caller.tenant_id;
  const std::string& endpoint_id = update.endpoint.endpoint_id();
  v1::WebhookEndpoint result;
  bool written = false;
  TL_RETURN_IF_ERROR(pool_->Transact([&](pqxx::work& txn) -> absl::Status {
    written = false;
    const pqxx::result rows = txn.exec_params(sql::kLockEndpoint, tenant_id, endpoint_id);
    if (rows.empty()) return EndpointNotFound(endpoint_id);
    TL_ASSIGN_OR_RETURN(result, endpoint_rules::ApplyUpdate(EndpointFromRow(rows[0]), update));
    txn.exec_params(sql::kUpdateEndpoint, tenant_id, endpoint_id, result.display_name(),
                    result.url(), result.max_attempts(), result.rate_limit_per_second(),
                    Millis(result.timeout()), absl::ToUnixMicros(update.context.now),
                    std::stoll(result.etag()));
    events::AppendToOutbox(txn, events::kAuditTopic, endpoint_rules::UpdatedAuditEntry(update));
    written = true;
    return absl::OkStatus();
  }));
  if (written && events_written_) events_written_();
  return result;
}

absl::StatusOr<v1::WebhookEndpoint> PgEndpointStore::Rotate(const SecretRotation& rotation) {
  const std::string& tenant_id = rotation.context.caller.tenant_id;
  const SealedSecret sealed =
      box_->Seal(rotation.secret, endpoint_rules::SecretContext(tenant_id, rotation.endpoint_id));
  v1::WebhookEndpoint result;
  bool written = false;
  TL_RETURN_IF_ERROR(pool_->Transact([&](pqxx::work& txn) -> absl::Status {
    written = false;
    const pqxx::result rows = txn.exec_params(sql::kLockEndpoint, tenant_id, rotation.endpoint_id);
    if (rows.empty()) return EndpointNotFound(rotation.endpoint_id);
    result = EndpointFromRow(rows[0]);
    const StoredSecrets next = endpoint_rules::Rotated(SecretsFromRow(rows[0]), sealed,
                                                       rotation.context.now, rotation.overlap);
    TL_ASSIGN_OR_RETURN(*result.mutable_etag(), endpoint_rules::NextEtag(result));
    *result.mutable_secret_time() = ProtoTimeOf(rotation.context.now);
    *result.mutable_update_time() = ProtoTimeOf(rotation.context.now);
    txn.exec_params(sql::kRotateSecret, tenant_id, rotation.endpoint_id, next.current.key_id,
                    absl::BytesToHexString(next.current.box),
                    absl::ToUnixMicros(rotation.context.now), next.previous->key_id,
                    absl::BytesToHexString(next.previous->box),
                    absl::ToUnixMicros(next.previous_until), std::stoll(result.etag()));
    events::AppendToOutbox(txn, events::kAuditTopic, endpoint_rules::RotatedAuditEntry(rotation));
    written = true;
    return absl::OkStatus();
  }));
  if (written && events_written_) events_written_();
  return result;
}

absl::StatusOr<SigningEndpoint> PgEndpointStore::SigningSecrets(const std::string& tenant_id,
                                                                const std::string& endpoint_id,
                                                                absl::Time now) {
  std::optional<std::pair<v1::WebhookEndpoint, StoredSecrets>> found;
  TL_RETURN_IF_ERROR(pool_->Query([&](pqxx::nontransaction& txn) {
    found.reset();
    const pqxx::result rows = txn.exec_params(sql::kSelectEndpoint, tenant_id, endpoint_id);
    if (!rows.empty()) found.emplace(EndpointFromRow(rows[0]), SecretsFromRow(rows[0]));
    return absl::OkStatus();
  }));
  if (!found.has_value()) return EndpointNotFound(endpoint_id);
  return endpoint_rules::SigningEndpointOf(*box_, tenant_id, found->first, found->second, now);
}

}  // namespace touchline::automation
