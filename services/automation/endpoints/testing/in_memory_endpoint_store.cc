#include "services/automation/endpoints/testing/in_memory_endpoint_store.h"

#include "absl/strings/ascii.h"
#include "common/idempotency/idempotency.h"

namespace touchline::automation::testing {

using endpoint_rules::EndpointNotFound;

std::vector<events::v1::EventEnvelope> InMemoryEndpointStore::audit_entries() const {
  absl::MutexLock lock(&mu_);
  return audit_entries_;
}

absl::StatusOr<endpoint_rules::StoredSecrets> InMemoryEndpointStore::StoredSecretsOf(
    const std::string& tenant_id, const std::string& endpoint_id) {
  absl::MutexLock lock(&mu_);
  const auto found = rows_.find({tenant_id, absl::AsciiStrToLower(endpoint_id)});
  if (found == rows_.end()) return EndpointNotFound(endpoint_id);
  return found->second.secrets;
}

absl::StatusOr<EndpointWithSecret> InMemoryEndpointStore::Create(const NewEndpoint& endpoint) {
  absl::MutexLock lock(&mu_);
  const std::string& tenant = endpoint.context.caller.tenant_id;
  if (!endpoint.request_id.empty()) {
    const auto stored = keys_.find({tenant, endpoint.request_id});
    if (stored != keys_.end()) {
      switch (idempotency::Decide(stored->second, endpoint_rules::kCreateEndpointMethod,
                                  endpoint.fingerprint)) {
        case idempotency::Decision::kConflict:
          return idempotency::RequestIdReused(endpoint.request_id);
        case idempotency::Decision::kReplay: {
          absl::StatusOr<std::pair<std::string, SealedSecret>> first =
              endpoint_rules::ParseReplayRecord(stored->second.result);
          if (!first.ok()) return first.status();
          const auto row = rows_.find({tenant, first->first});
          if (row == rows_.end()) return EndpointNotFound(first->first);
          absl::StatusOr<std::string> secret =
              box_->Open(first->second, endpoint_rules::SecretContext(tenant, first->first));
          if (!secret.ok()) return secret.status();
          return EndpointWithSecret{.endpoint = row->second.endpoint, .secret = *secret};
        }
        case idempotency::Decision::kNew:
          break;
      }
    }
  }
  const std::string id = absl::AsciiStrToLower(endpoint.endpoint.endpoint_id());
  Row row{.endpoint = endpoint.endpoint, .secrets = {}};
  row.endpoint.set_etag("1");
  row.secrets.current = box_->Seal(endpoint.secret, endpoint_rules::SecretContext(tenant, id));
  if (!endpoint.request_id.empty()) {
    keys_[{tenant, endpoint.request_id}] =
        idempotency::StoredRequest{.method = endpoint_rules::kCreateEndpointMethod,
                                   .fingerprint = endpoint.fingerprint,
                                   .result = endpoint_rules::ReplayRecord(id, row.secrets.current)};
  }
  rows_[{tenant, id}] = row;
  audit_entries_.push_back(endpoint_rules::CreatedAuditEntry(endpoint));
  return EndpointWithSecret{.endpoint = row.endpoint, .secret = endpoint.secret};
}

absl::StatusOr<v1::WebhookEndpoint> InMemoryEndpointStore::Get(const std::string& tenant_id,
                                                               const std::string& endpoint_id) {
  absl::MutexLock lock(&mu_);
  const auto found = rows_.find({tenant_id, absl::AsciiStrToLower(endpoint_id)});
  if (found == rows_.end()) return EndpointNotFound(endpoint_id);
  return found->second.endpoint;
}

absl::StatusOr<std::vector<v1::WebhookEndpoint>> InMemoryEndpointStore::List(
    const EndpointQuery& query) {
  absl::MutexLock lock(&mu_);
  // std::string compares bytes: for UTF-8, code point order, as PostgreSQL's "C" collation.
  std::map<std::pair<std::string, std::string>, const v1::WebhookEndpoint*> ordered;
  for (const auto& [key, row] : rows_) {
    if (key.first != query.tenant_id) continue;
    const std::pair<std::string, std::string> place = {row.endpoint.display_name(), key.second};
    if (query.after.has_value() &&
        place <= std::make_pair(query.after->display_name, query.after->endpoint_id)) {
      continue;
    }
    ordered[place] = &row.endpoint;
  }
  std::vector<v1::WebhookEndpoint> endpoints;
  for (const auto& [place, endpoint] : ordered) {
    if (static_cast<int>(endpoints.size()) >= query.limit) break;
    endpoints.push_back(*endpoint);
  }
  return endpoints;
}

absl::StatusOr<v1::WebhookEndpoint> InMemoryEndpointStore::Update(const EndpointUpdate& update) {
  absl::MutexLock lock(&mu_);
  const auto found = rows_.find(
      {update.context.caller.tenant_id, absl::AsciiStrToLower(update.endpoint.endpoint_id())});
  if (found == rows_.end()) return EndpointNotFound(update.endpoint.endpoint_id());
  absl::StatusOr<v1::WebhookEndpoint> changed =
      endpoint_rules::ApplyUpdate(found->second.endpoint, update);
  if (!changed.ok()) return changed.status();
  found->second.endpoint = *changed;
  audit_entries_.push_back(endpoint_rules::UpdatedAuditEntry(update));
  return changed;
}

absl::StatusOr<v1::WebhookEndpoint> InMemoryEndpointStore::Rotate(const SecretRotation& rotation) {
  absl::MutexLock lock(&mu_);
  const std::string& tenant = rotation.context.caller.tenant_id;
  const std::string id = absl::AsciiStrToLower(rotation.endpoint_id);
  const auto found = rows_.find({tenant, id});
  if (found == rows_.end()) return EndpointNotFound(rotation.endpoint_id);
  v1::WebhookEndpoint endpoint = found->second.endpoint;
  absl::StatusOr<std::string> etag = endpoint_rules::NextEtag(endpoint);
  if (!etag.ok()) return etag.status();
  endpoint.set_etag(*etag);
  *endpoint.mutable_secret_time() = endpoint_rules::ProtoTimeOf(rotation.context.now);
  *endpoint.mutable_update_time() = endpoint_rules::ProtoTimeOf(rotation.context.now);
  found->second.secrets = endpoint_rules::Rotated(
      found->second.secrets, box_->Seal(rotation.secret, endpoint_rules::SecretContext(tenant, id)),
      rotation.context.now, rotation.overlap);
  found->second.endpoint = endpoint;
  audit_entries_.push_back(endpoint_rules::RotatedAuditEntry(rotation));
  return endpoint;
}

absl::StatusOr<SigningEndpoint> InMemoryEndpointStore::SigningSecrets(
    const std::string& tenant_id, const std::string& endpoint_id, absl::Time now) {
  absl::MutexLock lock(&mu_);
  const auto found = rows_.find({tenant_id, absl::AsciiStrToLower(endpoint_id)});
  if (found == rows_.end()) return EndpointNotFound(endpoint_id);
  return endpoint_rules::SigningEndpointOf(*box_, tenant_id, found->second.endpoint,
                                           found->second.secrets, now);
}

}  // namespace touchline::automation::testing
