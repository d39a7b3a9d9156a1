#include "services/permissions/identity/testing/in_memory_identity_store.h"

#include <algorithm>
#include <optional>
#include <tuple>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/ids/ids.h"
#include "common/status/macros.h"

namespace touchline::permissions::testing {
namespace {

using Key = std::pair<std::string, std::string>;

// UUIDs compare as PostgreSQL's uuid type does: case-insensitively.
Key IdKey(std::string_view tenant_id, std::string_view id) {
  return {std::string(tenant_id), absl::AsciiStrToLower(std::string(id))};
}

}  // namespace

// The rows of one unit of work (or of a read, which refuses writes).
class InMemoryIdentityStore::Rows final : public IdentityTransaction {
 public:
  Rows(InMemoryIdentityStore::Data& data, bool writable) : data_(data), writable_(writable) {}

  absl::StatusOr<std::optional<UserRecord>> FindUser(std::string_view tenant_id,
                                                     std::string_view user_id,
                                                     RowLock /*lock*/) override {
    if (!ids::IsUuid(user_id)) return std::nullopt;
    return Find(data_.users, IdKey(tenant_id, user_id));
  }
  absl::StatusOr<std::optional<UserRecord>> FindUserByUsername(std::string_view tenant_id,
                                                               std::string_view username) override {
    const std::string key = absl::AsciiStrToLower(std::string(username));
    for (const auto& [id, user] : data_.users) {
      if (id.first == tenant_id && user.username_key == key) return user;
    }
    return std::nullopt;
  }
  absl::StatusOr<std::vector<UserRecord>> ListUsers(std::string_view tenant_id,
                                                    const UserFilter& filter,
                                                    std::string_view after_username_key,
                                                    int limit) override {
    std::vector<UserRecord> users;
    for (const auto& [id, u] : data_.users) {
      if (id.first != tenant_id || u.username_key <= after_username_key) continue;
      if (!filter.partner_org_id.empty() && u.partner_org_id != filter.partner_org_id) continue;
      if (!filter.username.empty() && u.username != filter.username) continue;
      if (!filter.email.empty() &&
          absl::AsciiStrToLower(u.email) != absl::AsciiStrToLower(filter.email)) {
        continue;
      }
      users.push_back(u);
    }
    std::sort(users.begin(), users.end(), [](const UserRecord& a, const UserRecord& b) {
      return a.username_key < b.username_key;
    });
    if (users.size() > static_cast<size_t>(limit)) users.resize(static_cast<size_t>(limit));
    return users;
  }
  absl::StatusOr<std::vector<std::string>> ManagerChain(std::string_view tenant_id,
                                                        std::string_view user_id) override {
    std::vector<std::string> chain;
    if (!ids::IsUuid(user_id)) return chain;
    std::set<std::string> seen = {absl::AsciiStrToLower(std::string(user_id))};
    std::string current = *seen.begin();
    while (true) {
      const auto user = data_.users.find({std::string(tenant_id), current});
      if (user == data_.users.end() || user->second.manager_id.empty() ||
          !seen.insert(user->second.manager_id).second) {
        return chain;
      }
      current = user->second.manager_id;
      chain.push_back(current);
    }
  }
  absl::StatusOr<std::optional<RoleFacts>> FindRole(std::string_view tenant_id,
                                                    std::string_view role_id) override {
    return Find(data_.roles, Key(tenant_id, role_id));
  }
  absl::StatusOr<bool> PartnerOrgExists(std::string_view tenant_id,
                                        std::string_view partner_org_id) override {
    return data_.partner_orgs.contains(Key(tenant_id, partner_org_id));
  }
  absl::StatusOr<std::optional<SessionRecord>> FindSession(std::string_view tenant_id,
                                                           std::string_view session_id,
                                                           RowLock /*lock*/) override {
    if (!ids::IsUuid(session_id)) return std::nullopt;
    return Find(data_.sessions, IdKey(tenant_id, session_id));
  }
  absl::StatusOr<std::optional<SessionRecord>> FindDelegatedSession(
      std::string_view tenant_id, std::string_view user_id, std::string_view service,
      absl::Time expire_after) override {
    std::optional<SessionRecord> latest;
    if (!ids::IsUuid(user_id)) return latest;
    const std::string user = absl::AsciiStrToLower(std::string(user_id));
    for (const auto& [id, s] : data_.sessions) {
      if (id.first == tenant_id && s.user_id == user && !s.delegated_to.empty() &&
          s.delegated_to == service && !s.revoke_time && s.expire_time > expire_after &&
          (!latest || s.expire_time > latest->expire_time)) {
        latest = s;
      }
    }
    return latest;
  }
  absl::StatusOr<std::optional<ApiKeyRecord>> FindApiKey(std::string_view tenant_id,
                                                         std::string_view api_key_id,
                                                         RowLock /*lock*/) override {
    if (!ids::IsUuid(api_key_id)) return std::nullopt;
    return Find(data_.api_keys, IdKey(tenant_id, api_key_id));
  }
  absl::StatusOr<std::optional<ApiKeyRecord>> FindApiKeyBySecretHash(
      std::string_view tenant_id, std::string_view secret_hash) override {
    for (const auto& [id, key] : data_.api_keys) {
      if (id.first == tenant_id && key.secret_hash == secret_hash) return key;
    }
    return std::nullopt;
  }
  absl::StatusOr<std::vector<ApiKeyRecord>> ListApiKeys(std::string_view tenant_id,
                                                        std::string_view user_id) override {
    std::vector<ApiKeyRecord> keys;
    if (!user_id.empty() && !ids::IsUuid(user_id)) return keys;
    const std::string user = absl::AsciiStrToLower(std::string(user_id));
    for (const auto& [id, key] : data_.api_keys) {
      if (id.first == tenant_id && (user.empty() || key.user_id == user)) keys.push_back(key);
    }
    std::sort(keys.begin(), keys.end(), [](const ApiKeyRecord& a, const ApiKeyRecord& b) {
      return std::tie(a.create_time, a.api_key_id) > std::tie(b.create_time, b.api_key_id);
    });
    return keys;
  }
  absl::StatusOr<std::vector<std::string>> LiveCredentialIds(std::string_view tenant_id,
                                                             std::string_view user_id,
                                                             absl::Time now) override {
    std::vector<std::string> ids = LiveSessions(tenant_id, user_id, now);
    for (std::string& id : LiveKeys(tenant_id, user_id, now)) ids.push_back(std::move(id));
    return ids;
  }
  absl::StatusOr<std::vector<StoredThrottleCounter>> ThrottleCounters(
      std::string_view tenant_id, const std::vector<std::string>& keys) override {
    std::vector<StoredThrottleCounter> counters;
    for (const std::string& key : keys) {
      if (auto it = data_.throttle.find(Key(tenant_id, key)); it != data_.throttle.end()) {
        counters.push_back(it->second);
      }
    }
    return counters;
  }

  absl::Status InsertUser(const UserRecord& user) override {
    TL_RETURN_IF_ERROR(RequireWritable());
    UserRecord row = user;
    row.username_key = absl::AsciiStrToLower(user.username);
    for (const auto& [id, other] : data_.users) {
      if (id.first == user.tenant_id && other.username_key == row.username_key) {
        return absl::AlreadyExistsError("users_username_key");
      }
    }
    return Insert(data_.users, IdKey(user.tenant_id, user.user_id), std::move(row));
  }
  absl::Status SaveUser(const UserRecord& user) override {
    TL_RETURN_IF_ERROR(RequireWritable());
    auto it = data_.users.find(IdKey(user.tenant_id, user.user_id));
    if (it == data_.users.end()) return absl::OkStatus();  // UPDATE of no row.
    UserRecord row = user;
    row.username_key = absl::AsciiStrToLower(user.username);
    it->second = std::move(row);
    return absl::OkStatus();
  }
  absl::Status LockReportingLines(std::string_view /*tenant_id*/) override {
    return RequireWritable();  // Units of work run one at a time already.
  }
  absl::Status InsertSession(const SessionRecord& session) override {
    TL_RETURN_IF_ERROR(RequireWritable());
    return Insert(data_.sessions, IdKey(session.tenant_id, session.session_id), session);
  }
  absl::Status SaveRefreshHashes(const SessionRecord& session) override {
    TL_RETURN_IF_ERROR(RequireWritable());
    auto it = data_.sessions.find(IdKey(session.tenant_id, session.session_id));
    if (it != data_.sessions.end()) {
      it->second.refresh_hash = session.refresh_hash;
      it->second.previous_refresh_hash = session.previous_refresh_hash;
    }
    return absl::OkStatus();
  }
  absl::Status RevokeSession(std::string_view tenant_id, std::string_view session_id,
                             absl::Time now) override {
    TL_RETURN_IF_ERROR(RequireWritable());
    auto it = data_.sessions.find(IdKey(tenant_id, session_id));
    if (it != data_.sessions.end() && !it->second.revoke_time) it->second.revoke_time = now;
    return absl::OkStatus();
  }
  absl::StatusOr<std::vector<std::string>> RevokeUserSessions(std::string_view tenant_id,
                                                              std::string_view user_id,
                                                              absl::Time now) override {
    TL_RETURN_IF_ERROR(RequireWritable());
    std::vector<std::string> ids = LiveSessions(tenant_id, user_id, now);
    for (const std::string& id : ids) data_.sessions[IdKey(tenant_id, id)].revoke_time = now;
    return ids;
  }
  absl::Status InsertApiKey(const ApiKeyRecord& key) override {
    TL_RETURN_IF_ERROR(RequireWritable());
    return Insert(data_.api_keys, IdKey(key.tenant_id, key.api_key_id), key);
  }
  absl::Status RevokeApiKey(std::string_view tenant_id, std::string_view api_key_id,
                            absl::Time now) override {
    TL_RETURN_IF_ERROR(RequireWritable());
    auto it = data_.api_keys.find(IdKey(tenant_id, api_key_id));
    if (it != data_.api_keys.end() && !it->second.revoke_time) it->second.revoke_time = now;
    return absl::OkStatus();
  }
  absl::StatusOr<std::vector<std::string>> RevokeUserApiKeys(std::string_view tenant_id,
                                                             std::string_view user_id,
                                                             absl::Time now) override {
    TL_RETURN_IF_ERROR(RequireWritable());
    std::vector<std::string> ids = LiveKeys(tenant_id, user_id, now);
    for (const std::string& id : ids) data_.api_keys[IdKey(tenant_id, id)].revoke_time = now;
    return ids;
  }
  absl::StatusOr<idempotency::Claim> ClaimRequestId(const idempotency::Key& key,
                                                    std::string_view result) override {
    TL_RETURN_IF_ERROR(RequireWritable());
    const Key id(key.tenant_id, key.request_id);
    const std::optional<idempotency::StoredRequest> stored = Find(data_.request_ids, id);
    switch (idempotency::Decide(stored, key.method, key.fingerprint)) {
      case idempotency::Decision::kNew:
        data_.request_ids[id] = {
            .method = key.method, .fingerprint = key.fingerprint, .result = std::string(result)};
        return idempotency::Claim{.decision = idempotency::Decision::kNew,
                                  .result = std::string(result)};
      case idempotency::Decision::kReplay:
        return idempotency::Claim{.decision = idempotency::Decision::kReplay,
                                  .result = stored->result};
      case idempotency::Decision::kConflict:
        break;
    }
    return idempotency::Claim{.decision = idempotency::Decision::kConflict, .result = ""};
  }
  absl::StatusOr<StoredThrottleCounter> LockThrottleCounter(std::string_view tenant_id,
                                                            std::string_view key) override {
    TL_RETURN_IF_ERROR(RequireWritable());
    auto [it, inserted] = data_.throttle.try_emplace(Key(tenant_id, key));
    if (inserted) it->second.key = std::string(key);
    StoredThrottleCounter counter = it->second;
    counter.last_success_time.reset();  // Not what the lock reads.
    return counter;
  }
  absl::Status SaveThrottleCounter(std::string_view tenant_id,
                                   const StoredThrottleCounter& counter) override {
    TL_RETURN_IF_ERROR(RequireWritable());
    auto it = data_.throttle.find(Key(tenant_id, counter.key));
    if (it != data_.throttle.end()) {
      it->second.failures = counter.failures;
      it->second.last_failure_time = counter.last_failure_time;
      it->second.blocked_until = counter.blocked_until;
    }
    return absl::OkStatus();
  }
  absl::Status RecordThrottleSuccess(std::string_view tenant_id, std::string_view key,
                                     absl::Time now) override {
    TL_RETURN_IF_ERROR(RequireWritable());
    StoredThrottleCounter& counter = data_.throttle[Key(tenant_id, key)];
    counter.key = std::string(key);
    counter.failures = 0;
    counter.blocked_until.reset();
    counter.last_success_time = now;
    return absl::OkStatus();
  }
  absl::Status DeleteForgottenThrottleCounters(std::string_view tenant_id, absl::Time before,
                                               int limit) override {
    TL_RETURN_IF_ERROR(RequireWritable());
    const auto old = [&](const std::optional<absl::Time>& t) { return !t || *t < before; };
    for (auto it = data_.throttle.begin(); it != data_.throttle.end() && limit > 0;) {
      if (it->first.first == tenant_id && old(it->second.last_failure_time) &&
          old(it->second.last_success_time)) {
        it = data_.throttle.erase(it);
        --limit;
      } else {
        ++it;
      }
    }
    return absl::OkStatus();
  }
  absl::Status AppendAudit(const std::string& tenant_id, v1::AuditEvent event) override {
    TL_RETURN_IF_ERROR(RequireWritable());
    data_.audit.push_back({tenant_id, std::move(event)});
    return absl::OkStatus();
  }
  absl::Status Publish(std::string_view topic, const events::v1::EventEnvelope& envelope) override {
    TL_RETURN_IF_ERROR(RequireWritable());
    data_.published.push_back({std::string(topic), envelope});
    return absl::OkStatus();
  }

 private:
  template <typename Row>
  static std::optional<Row> Find(const std::map<Key, Row>& rows, const Key& key) {
    const auto it = rows.find(key);
    if (it == rows.end()) return std::nullopt;
    return it->second;
  }
  template <typename Row>
  static absl::Status Insert(std::map<Key, Row>& rows, const Key& key, Row row) {
    if (!rows.emplace(key, std::move(row)).second) {
      return absl::AlreadyExistsError(absl::StrCat("duplicate key ", key.second));
    }
    return absl::OkStatus();
  }
  absl::Status RequireWritable() const {
    if (!writable_) return absl::FailedPreconditionError("a write outside a transaction");
    return absl::OkStatus();
  }
  std::vector<std::string> LiveSessions(std::string_view tenant_id, std::string_view user_id,
                                        absl::Time now) const {
    std::vector<std::string> ids;
    const std::string user = absl::AsciiStrToLower(std::string(user_id));
    for (const auto& [id, s] : data_.sessions) {
      if (id.first == tenant_id && s.user_id == user && !s.revoke_time && s.expire_time > now) {
        ids.push_back(s.session_id);
      }
    }
    return ids;
  }
  std::vector<std::string> LiveKeys(std::string_view tenant_id, std::string_view user_id,
                                    absl::Time now) const {
    std::vector<std::string> ids;
    const std::string user = absl::AsciiStrToLower(std::string(user_id));
    for (const auto& [id, k] : data_.api_keys) {
      if (id.first == tenant_id && k.user_id == user && !k.revoke_time &&
          (!k.expire_time || *k.expire_time > now)) {
        ids.push_back(k.api_key_id);
      }
    }
    return ids;
  }

  InMemoryIdentityStore::Data& data_;
  const bool writable_;
};

absl::Status InMemoryIdentityStore::Transact(
    const std::function<absl::Status(IdentityTransaction&)>& work) {
  return units_.Transact(work);
}

absl::Status InMemoryIdentityStore::Read(const std::function<absl::Status(IdentityReader&)>& read) {
  return units_.Read(read);
}

absl::StatusOr<int64_t> InMemoryIdentityStore::PurgeSessions(absl::Time before, int limit) {
  int64_t deleted = 0;
  units_.Change([&](Data& data) {
    for (auto it = data.sessions.begin(); it != data.sessions.end() && deleted < limit;) {
      const SessionRecord& s = it->second;
      const absl::Time ended =
          s.revoke_time ? std::min(s.expire_time, *s.revoke_time) : s.expire_time;
      if (ended < before) {
        it = data.sessions.erase(it);
        ++deleted;
      } else {
        ++it;
      }
    }
  });
  return deleted;
}

void InMemoryIdentityStore::AddRole(const std::string& tenant_id, const std::string& role_id,
                                    RoleFacts role) {
  units_.Change([&](Data& data) { data.roles[{tenant_id, role_id}] = std::move(role); });
}

void InMemoryIdentityStore::AddPartnerOrg(const std::string& tenant_id,
                                          const std::string& partner_org_id) {
  units_.Change([&](Data& data) { data.partner_orgs.insert({tenant_id, partner_org_id}); });
}

InMemoryIdentityStore::Data InMemoryIdentityStore::Snapshot() const { return units_.Snapshot(); }

}  // namespace touchline::permissions::testing
