// An Authenticator for unit and in-process service tests: trusts tenant and caller from
// metadata (as MetadataAuthenticator does) and attaches the scope the test chose for the
// caller, an administrator's by default. Never linked into a production binary.
//
//   auto authenticator = std::make_shared<auth::testing::TrustedAuthenticator>();
//   authenticator->SetScope("u-rep", rep_scope);  // calls with x-touchline-caller: u-rep
#ifndef TOUCHLINE_COMMON_AUTH_TESTING_TRUSTED_AUTHENTICATOR_H_
#define TOUCHLINE_COMMON_AUTH_TESTING_TRUSTED_AUTHENTICATOR_H_

#include <map>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/auth/request_context.h"
#include "touchline/permissions/v1/permissions.pb.h"

namespace touchline::auth::testing {

// The session id of the scopes TrustedAuthenticator makes up.
inline constexpr char kTestSessionId[] = "test-session";

// An administrator of `tenant_id`: every customer (VIP included), rank 40, every permission,
// no field rules, principal USER, role "admin", session kTestSessionId.
permissions::v1::EffectiveScope AdminScope(std::string tenant_id, std::string user_id);

// A partner user ("u-partner", role partner, rank 5) of partner organisation `org`: it sees
// the customers shared with "partner:<org>", with phones and emails masked, as the
// permissions service compiles for partner users by default.
permissions::v1::EffectiveScope PartnerScope(const std::string& org);

// A sales rep: principal USER, role "rep", rank 10, sees the customers `owner_id` owns; no
// permissions (tests add those they need).
permissions::v1::EffectiveScope RepScope(const std::string& owner_id);

// A caller of `tenant_id` with id `caller_id`, request id "trace-1", and `scope` compiled
// with that tenant and user (a test's scope that does not compile fails the process: the test
// is wrong).
RequestContext CallerWithScope(permissions::v1::EffectiveScope scope, std::string tenant_id,
                               std::string caller_id);

// A field rule, for the scopes tests build.
permissions::v1::FieldRule FieldRuleOf(
    std::string resource, std::string field_path, permissions::v1::FieldAccess access,
    permissions::v1::MaskPattern mask = permissions::v1::MASK_PATTERN_UNSPECIFIED);

// Thread-safe.
class TrustedAuthenticator : public Authenticator {
 public:
  // As MetadataAuthenticator::Authenticate, plus the caller's scope: the one SetScope gave
  // for the caller id, else AdminScope; its tenant_id and user_id are those of the metadata
  // (user "test-user" when the call names no caller).
  // INVALID_ARGUMENT when the registered scope does not compile.
  absl::StatusOr<RequestContext> Authenticate(
      const std::multimap<grpc::string_ref, grpc::string_ref>& client_metadata) const override;

  // From now on, calls with x-touchline-caller `caller_id` act with `scope` (tenant_id and
  // user_id are overwritten from the metadata of each call).
  void SetScope(std::string caller_id, permissions::v1::EffectiveScope scope);

 private:
  MetadataAuthenticator metadata_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, permissions::v1::EffectiveScope> scopes_ ABSL_GUARDED_BY(mu_);
};

}  // namespace touchline::auth::testing

#endif  // TOUCHLINE_COMMON_AUTH_TESTING_TRUSTED_AUTHENTICATOR_H_
