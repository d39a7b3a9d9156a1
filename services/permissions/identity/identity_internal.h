// What the parts of IdentityManager (users.cc, sessions.cc, api_keys.cc) share: who performs a
// change, its audit entry and ScopesInvalidated events, the proto forms of the records, text
// checks and secrets. Internal to identity/.
#ifndef TOUCHLINE_SERVICES_PERMISSIONS_IDENTITY_IDENTITY_INTERNAL_H_
#define TOUCHLINE_SERVICES_PERMISSIONS_IDENTITY_IDENTITY_INTERNAL_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/auth/request_context.h"
#include "common/status/errors.h"
#include "google/protobuf/timestamp.pb.h"
#include "services/permissions/identity/identity_store.h"
#include "touchline/permissions/v1/permissions.pb.h"

namespace touchline::permissions::identity_internal {

inline constexpr size_t kMaxDisplayNameLength = 100;

// Secrets: 32 random bytes, base64url without padding.
inline constexpr size_t kSecretBytes = 32;
inline constexpr size_t kSecretChars = 43;

// The session id lists of the ScopesInvalidated events of one unit of work, for
// IdentityOptions::on_scopes_invalidated once it has committed.
using Invalidations = std::vector<std::vector<std::string>>;

// Who performs a change, and when: what its audit entry and event record.
struct Actor {
  std::string tenant_id;
  std::string actor_id;
  std::string request_id;
  std::string client;
  absl::Time now;
};

Actor ActorOf(const auth::RequestContext& caller, absl::Time now);
// Before the caller is known (login, refresh): no actor_id until the change names one.
Actor UnknownActor(std::string_view tenant_id, std::string_view request_id, std::string_view client,
                   absl::Time now);

absl::Time TruncateToMicros(absl::Time t);
google::protobuf::Timestamp ToProtoTime(absl::Time t);

// Hex SHA-256 of `text`.
std::string Sha256Hex(std::string_view text);
// Compares two hashes in constant time.
bool SameHash(std::string_view a, std::string_view b);
// kSecretBytes random bytes (libsodium), base64url without padding: kSecretChars characters.
std::string NewSecret();
bool IsBase64UrlSecret(std::string_view text);

// Appends the audit entry of a change to `txn`.
absl::Status Audit(IdentityTransaction& txn, const Actor& actor, std::string action,
                   std::string resource_type, std::string resource_id,
                   std::vector<std::string> fields = {}, std::string detail = "");

// Publishes ScopesInvalidated{session_ids} through `txn`; empty `session_ids` means every
// scope of the tenant. Adds the list to `invalidations`.
absl::Status InvalidateScopes(IdentityTransaction& txn, const Actor& actor,
                              std::string_view aggregate_type, std::string_view aggregate_id,
                              std::vector<std::string> session_ids, Invalidations& invalidations);

// For a change that affects only `user_id`'s own scopes: invalidates those of its usable
// sessions and API keys. With none, no cached scope can be stale, and an empty list would
// mean the whole tenant, so nothing is published.
absl::Status InvalidateUserScopes(IdentityTransaction& txn, const Actor& actor,
                                  const std::string& user_id,
                                  std::vector<std::string> credential_ids,
                                  Invalidations& invalidations);

// `locked_until` is shown only while it is after `now`.
v1::User ToProto(const UserRecord& u, absl::Time now);

// 1 to `max` code points of valid UTF-8 without NUL (validation::FieldChecker::Text, as sent:
// callers trim first where trimming applies).
void CheckText(std::string_view value, size_t max, std::string field,
               status::FieldViolations& violations);

absl::Status UserNotFound(std::string_view user_id);
absl::Status UserDisabled(std::string_view user_id);

}  // namespace touchline::permissions::identity_internal

#endif  // TOUCHLINE_SERVICES_PERMISSIONS_IDENTITY_IDENTITY_INTERNAL_H_
