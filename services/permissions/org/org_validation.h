// Checks and normalises the input of the organisation model's RPCs before anything is read or
// written: ids, names, ranks, scopes, permissions, regions, member ids, field policies and
// shares. What depends on stored data (does the role exist, is the user a partner user) is
// checked by OrgManager in its transaction.
//
// Every function returns OK or INVALID_ARGUMENT with a google.rpc.BadRequest naming each bad
// field by its request path ("role.rank", "territory.regions[2]") with a lower-case reason.
#ifndef TOUCHLINE_SERVICES_PERMISSIONS_ORG_ORG_VALIDATION_H_
#define TOUCHLINE_SERVICES_PERMISSIONS_ORG_ORG_VALIDATION_H_

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "google/protobuf/field_mask.pb.h"
#include "touchline/permissions/v1/permissions.pb.h"
#include "touchline/permissions/v1/permissions_service.pb.h"

namespace touchline::permissions {

// Longest display name and region, in characters.
inline constexpr size_t kMaxDisplayNameLength = 100;
inline constexpr size_t kMaxRegionLength = 100;
// Most regions of a territory and members of a territory or team.
inline constexpr size_t kMaxRegions = 1000;
inline constexpr size_t kMaxMembers = 10000;

// Whether `id` matches [a-z][a-z0-9_-]{0,62}: role, territory, team and partner ids.
bool IsValidOrgId(std::string_view id);

// The fields an update changes: the paths of `mask`, each one of `updatable`. INVALID_ARGUMENT
// for an empty mask ("update_mask": "is required") or another path ("update_mask.paths[i]").
absl::StatusOr<std::set<std::string>> UpdatedFields(const google::protobuf::FieldMask& mask,
                                                    const std::vector<std::string>& updatable);

// Each function checks the fields named in `fields` (empty: every field, for a create; the
// updated ones for an update; the id is always checked) under the request path `path`, and
// normalises them in place: display names and regions trimmed, user ids lower-cased.

absl::Status CheckRole(v1::Role& role, const std::set<std::string>& fields,
                       std::string_view path = "role");
absl::Status CheckTerritory(v1::Territory& territory, const std::set<std::string>& fields,
                            std::string_view path = "territory");
absl::Status CheckTeam(v1::Team& team, const std::set<std::string>& fields,
                       std::string_view path = "team");
absl::Status CheckPartnerOrganization(v1::PartnerOrganization& partner,
                                      std::string_view path = "partner_organization");
// resource, field_path (auth::ValidateFieldPath), access, and mask only for MASKED.
absl::Status CheckFieldPolicy(const v1::FieldPolicy& policy, std::string_view path = "policy");
// The role, resource and field path naming one policy (DeleteFieldPolicy).
absl::Status CheckFieldPolicyKey(const v1::DeleteFieldPolicyRequest& request);
// customer_id (a UUID, lower-cased), exactly one grantee, and (with `access_required`) access.
absl::Status CheckShare(v1::CustomerShare& share, bool access_required,
                        std::string_view path = "share");
// A customer id: a UUID, lower-cased in place; `field` names it in the violation.
absl::Status CheckCustomerId(std::string& customer_id, const std::string& field);
// user_id and customer_id (UUIDs, lower-cased), field_path of a customer when set, action.
absl::Status CheckAccessRequest(v1::CheckAccessRequest& request, std::string_view path = "");

}  // namespace touchline::permissions

#endif  // TOUCHLINE_SERVICES_PERMISSIONS_ORG_ORG_VALIDATION_H_
