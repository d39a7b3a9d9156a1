#include "services/permissions/identity/identity_internal.h"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/auth/scope.h"
#include "common/events/outbox.h"
#include "common/events/topics.h"
#include "common/status/macros.h"
#include "common/validation/field_checker.h"
#include "google/protobuf/util/time_util.h"
#include "touchline/events/v1/permission_events.pb.h"

namespace touchline::permissions::identity_internal {

using ::google::protobuf::util::TimeUtil;

Actor ActorOf(const auth::RequestContext& caller, absl::Time now) {
  return Actor{.tenant_id = caller.tenant_id,
               .actor_id = caller.caller_id,
               .request_id = caller.request_id,
               .client = caller.client,
               .now = now};
}

Actor UnknownActor(std::string_view tenant_id, std::string_view request_id, std::string_view client,
                   absl::Time now) {
  return Actor{.tenant_id = std::string(tenant_id),
               .actor_id = "",
               .request_id = std::string(request_id),
               .client = std::string(client),
               .now = now};
}

absl::Time TruncateToMicros(absl::Time t) { return absl::FromUnixMicros(absl::ToUnixMicros(t)); }

google::protobuf::Timestamp ToProtoTime(absl::Time t) {
  return TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(t));
}

std::string Sha256Hex(std::string_view text) {
  std::array<unsigned char, crypto_hash_sha256_BYTES> digest;
  crypto_hash_sha256(digest.data(), reinterpret_cast<const unsigned char*>(text.data()),
                     text.size());
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
}

bool SameHash(std::string_view a, std::string_view b) {
  return a.size() == b.size() && sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string NewSecret() {
  std::array<unsigned char, kSecretBytes> bytes;
  randombytes_buf(bytes.data(), bytes.size());
  char encoded[sodium_base64_ENCODED_LEN(kSecretBytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
  sodium_bin2base64(encoded, sizeof(encoded), bytes.data(), bytes.size(),
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  return std::string(encoded, kSecretChars);
}

bool IsBase64UrlSecret(std::string_view text) {
  return text.size() == kSecretChars && std::all_of(text.begin(), text.end(), [](char c) {
           return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
         });
}

absl::Status Audit(IdentityTransaction& txn, const Actor& actor, std::string action,
                   std::string resource_type, std::string resource_id,
                   std::vector<std::string> fields, std::string detail) {
  v1::AuditEvent event;
  *event.mutable_occur_time() = ToProtoTime(actor.now);
  event.set_action(std::move(action));
  event.set_actor_id(actor.actor_id);
  event.set_client(actor.client);
  event.set_resource_type(std::move(resource_type));
  event.set_resource_id(std::move(resource_id));
  for (std::string& field : fields) event.add_fields(std::move(field));
  event.set_detail(std::move(detail));
  event.set_request_id(actor.request_id);
  return txn.AppendAudit(actor.tenant_id, std::move(event));
}

absl::Status InvalidateScopes(IdentityTransaction& txn, const Actor& actor,
                              std::string_view aggregate_type, std::string_view aggregate_id,
                              std::vector<std::string> session_ids, Invalidations& invalidations) {
  events::v1::ScopesInvalidated payload;
  for (const std::string& id : session_ids) payload.add_session_ids(id);
  TL_RETURN_IF_ERROR(
      txn.Publish(events::kPermissionsTopic,
                  events::MakeEnvelope(payload, actor.tenant_id, aggregate_type, aggregate_id,
                                       actor.request_id, actor.actor_id)));
  invalidations.push_back(std::move(session_ids));
  return absl::OkStatus();
}

absl::Status InvalidateUserScopes(IdentityTransaction& txn, const Actor& actor,
                                  const std::string& user_id,
                                  std::vector<std::string> credential_ids,
                                  Invalidations& invalidations) {
  if (credential_ids.empty()) return absl::OkStatus();
  return InvalidateScopes(txn, actor, "user", user_id, std::move(credential_ids), invalidations);
}

v1::User ToProto(const UserRecord& u, absl::Time now) {
  v1::User user;
  user.set_user_id(u.user_id);
  user.set_username(u.username);
  user.set_display_name(u.display_name);
  user.set_email(u.email);
  user.set_role_id(u.role_id);
  user.set_manager_id(u.manager_id);
  user.set_partner_org_id(u.partner_org_id);
  user.set_state(u.state);
  user.set_totp_enabled(u.totp_enabled);
  *user.mutable_create_time() = ToProtoTime(u.create_time);
  *user.mutable_update_time() = ToProtoTime(u.update_time);
  if (u.locked_until && *u.locked_until > now) {
    *user.mutable_locked_until() = ToProtoTime(*u.locked_until);
  }
  return user;
}

void CheckText(std::string_view value, size_t max, std::string field,
               status::FieldViolations& violations) {
  std::string text(value);
  validation::FieldChecker(violations).Text(text, field, max, {.required = true, .trim = false});
}

absl::Status UserNotFound(std::string_view user_id) {
  return absl::NotFoundError(absl::StrCat("no user '", std::string(user_id), "'"));
}

absl::Status UserDisabled(std::string_view user_id) {
  return absl::FailedPreconditionError(
      absl::StrCat("user '", std::string(user_id), "' is disabled"));
}

}  // namespace touchline::permissions::identity_internal
