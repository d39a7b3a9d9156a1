#include "services/permissions/org/org_validation.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/auth/scope.h"
#include "common/ids/ids.h"
#include "common/status/errors.h"
#include "common/validation/field_checker.h"

namespace touchline::permissions {
namespace {

constexpr char kIdSyntax[] = "must match [a-z][a-z0-9_-]{0,62}";

using validation::FieldPath;
using validation::ItemPath;

bool Wants(const std::set<std::string>& fields, const std::string& name) {
  return fields.empty() || fields.contains(name);
}

// Collects the violations of one request.
class Checker {
 public:
  void Add(std::string field, std::string description) {
    violations_.Add(std::move(field), std::move(description));
  }

  void Id(std::string_view id, const std::string& path) {
    if (id.empty()) {
      Add(path, "is required");
    } else if (!IsValidOrgId(id)) {
      Add(path, kIdSyntax);
    }
  }

  // Trims `value` and checks it is 1 to `max_length` characters of UTF-8 without NUL.
  void Text(std::string& value, const std::string& path, size_t max_length) {
    fields_.Text(value, path, max_length, {.required = true});
  }

  // User ids: UUIDs, lower-cased, each at most once.
  void UserIds(google::protobuf::RepeatedPtrField<std::string>& ids, const std::string& path) {
    if (!fields_.MaxEntries(static_cast<size_t>(ids.size()), path, kMaxMembers)) return;
    absl::flat_hash_set<std::string> seen;
    for (int i = 0; i < ids.size(); ++i) {
      std::string& id = *ids.Mutable(i);
      if (!ids::IsUuid(id)) {
        Add(ItemPath(path, i), absl::StrCat("no user '", id, "'"));
        continue;
      }
      absl::AsciiStrToLower(&id);
      if (!seen.insert(id).second)
        Add(ItemPath(path, i), absl::StrCat("duplicate user '", id, "'"));
    }
  }

  bool MaxEntries(size_t count, const std::string& path, size_t max_entries) {
    return fields_.MaxEntries(count, path, max_entries);
  }

  // Lower-cased when it is one.
  void Uuid(std::string& id, const std::string& path) {
    if (fields_.Uuid(id, path)) absl::AsciiStrToLower(&id);
  }

  absl::Status Done() const { return violations_.ToStatus(); }

 private:
  status::FieldViolations violations_;
  validation::FieldChecker fields_{violations_};
};

}  // namespace

bool IsValidOrgId(std::string_view id) {
  if (id.empty() || id.size() > 63 || !absl::ascii_islower(id[0])) return false;
  for (const char c : id) {
    if (!absl::ascii_islower(c) && !absl::ascii_isdigit(c) && c != '_' && c != '-') return false;
  }
  return true;
}

absl::StatusOr<std::set<std::string>> UpdatedFields(const google::protobuf::FieldMask& mask,
                                                    const std::vector<std::string>& updatable) {
  if (mask.paths().empty()) return status::InvalidArgument("update_mask", "is required");
  Checker check;
  std::set<std::string> fields;
  for (int i = 0; i < mask.paths_size(); ++i) {
    const std::string& path = mask.paths(i);
    if (std::find(updatable.begin(), updatable.end(), path) == updatable.end()) {
      check.Add(
          ItemPath("update_mask.paths", i),
          absl::StrCat("cannot update '", path, "'; updatable: ", absl::StrJoin(updatable, ", ")));
    } else {
      fields.insert(path);
    }
  }
  if (absl::Status status = check.Done(); !status.ok()) return status;
  return fields;
}

absl::Status CheckRole(v1::Role& role, const std::set<std::string>& fields, std::string_view path) {
  Checker check;
  check.Id(role.role_id(), FieldPath(path, "role_id"));
  if (Wants(fields, "display_name")) {
    check.Text(*role.mutable_display_name(), FieldPath(path, "display_name"),
               kMaxDisplayNameLength);
  }
  if (Wants(fields, "rank") && (role.rank() < 0 || role.rank() > 100)) {
    check.Add(FieldPath(path, "rank"), "must be between 0 and 100");
  }
  if (Wants(fields, "data_scope")) {
    if (role.data_scope() == v1::DATA_SCOPE_UNSPECIFIED) {
      check.Add(FieldPath(path, "data_scope"), "is required");
    } else if (!v1::DataScope_IsValid(role.data_scope())) {
      check.Add(FieldPath(path, "data_scope"),
                absl::StrCat("unknown data scope ", role.data_scope()));
    }
  }
  if (Wants(fields, "permissions")) {
    absl::flat_hash_set<int> seen;
    for (int i = 0; i < role.permissions_size(); ++i) {
      const int permission = role.permissions(i);
      if (permission == v1::PERMISSION_UNSPECIFIED || !v1::Permission_IsValid(permission)) {
        check.Add(ItemPath(FieldPath(path, "permissions"), i),
                  absl::StrCat("unknown permission ", permission));
      } else if (!seen.insert(permission).second) {
        check.Add(ItemPath(FieldPath(path, "permissions"), i),
                  absl::StrCat("duplicate permission ", v1::Permission_Name(role.permissions(i))));
      }
    }
  }
  return check.Done();
}

absl::Status CheckTerritory(v1::Territory& territory, const std::set<std::string>& fields,
                            std::string_view path) {
  Checker check;
  check.Id(territory.territory_id(), FieldPath(path, "territory_id"));
  if (Wants(fields, "display_name")) {
    check.Text(*territory.mutable_display_name(), FieldPath(path, "display_name"),
               kMaxDisplayNameLength);
  }
  if (Wants(fields, "regions")) {
    const std::string regions = FieldPath(path, "regions");
    if (territory.regions().empty()) {
      check.Add(regions, "must have at least one region");
    } else if (check.MaxEntries(static_cast<size_t>(territory.regions_size()), regions,
                                kMaxRegions)) {
      absl::flat_hash_set<std::string> seen;
      for (int i = 0; i < territory.regions_size(); ++i) {
        std::string& region = *territory.mutable_regions(i);
        check.Text(region, ItemPath(regions, i), kMaxRegionLength);
        if (!region.empty() && !seen.insert(region).second) {
          check.Add(ItemPath(regions, i), absl::StrCat("duplicate region '", region, "'"));
        }
      }
    }
  }
  if (Wants(fields, "member_user_ids")) {
    check.UserIds(*territory.mutable_member_user_ids(), FieldPath(path, "member_user_ids"));
  }
  return check.Done();
}

absl::Status CheckTeam(v1::Team& team, const std::set<std::string>& fields, std::string_view path) {
  Checker check;
  check.Id(team.team_id(), FieldPath(path, "team_id"));
  if (Wants(fields, "display_name")) {
    check.Text(*team.mutable_display_name(), FieldPath(path, "display_name"),
               kMaxDisplayNameLength);
  }
  if (Wants(fields, "member_user_ids")) {
    check.UserIds(*team.mutable_member_user_ids(), FieldPath(path, "member_user_ids"));
  }
  return check.Done();
}

absl::Status CheckPartnerOrganization(v1::PartnerOrganization& partner, std::string_view path) {
  Checker check;
  check.Id(partner.partner_org_id(), FieldPath(path, "partner_org_id"));
  check.Text(*partner.mutable_display_name(), FieldPath(path, "display_name"),
             kMaxDisplayNameLength);
  return check.Done();
}

namespace {

// The resource and field path of a policy; `path` prefixes the request paths.
void CheckPolicyTarget(Checker& check, std::string_view resource, std::string_view field_path,
                       std::string_view path) {
  if (resource.empty()) {
    check.Add(FieldPath(path, "resource"), "is required");
  } else if (auth::ResourceDescriptor(resource) == nullptr) {
    check.Add(FieldPath(path, "resource"),
              absl::StrCat("must be ", auth::kCustomerResource, " or ", auth::kTouchpointResource));
  } else if (field_path.empty()) {
    check.Add(FieldPath(path, "field_path"), "is required");
  } else if (absl::Status valid = auth::ValidateFieldPath(resource, field_path); !valid.ok()) {
    check.Add(FieldPath(path, "field_path"), std::string(valid.message()));
  }
}

}  // namespace

absl::Status CheckFieldPolicy(const v1::FieldPolicy& policy, std::string_view path) {
  Checker check;
  check.Id(policy.role_id(), FieldPath(path, "role_id"));
  CheckPolicyTarget(check, policy.resource(), policy.field_path(), path);
  if (policy.access() == v1::FIELD_ACCESS_UNSPECIFIED) {
    check.Add(FieldPath(path, "access"), "is required");
  } else if (!v1::FieldAccess_IsValid(policy.access())) {
    check.Add(FieldPath(path, "access"), absl::StrCat("unknown access ", policy.access()));
  }
  if (!v1::MaskPattern_IsValid(policy.mask())) {
    check.Add(FieldPath(path, "mask"), absl::StrCat("unknown mask pattern ", policy.mask()));
  } else if (policy.mask() != v1::MASK_PATTERN_UNSPECIFIED &&
             policy.access() != v1::FIELD_ACCESS_MASKED) {
    check.Add(FieldPath(path, "mask"), "must be unset unless access is FIELD_ACCESS_MASKED");
  }
  return check.Done();
}

absl::Status CheckFieldPolicyKey(const v1::DeleteFieldPolicyRequest& request) {
  Checker check;
  check.Id(request.role_id(), "role_id");
  CheckPolicyTarget(check, request.resource(), request.field_path(), "");
  return check.Done();
}

absl::Status CheckShare(v1::CustomerShare& share, bool access_required, std::string_view path) {
  Checker check;
  check.Uuid(*share.mutable_customer_id(), FieldPath(path, "customer_id"));
  switch (share.grantee_case()) {
    case v1::CustomerShare::kTeamId:
      check.Id(share.team_id(), FieldPath(path, "team_id"));
      break;
    case v1::CustomerShare::kPartnerOrgId:
      check.Id(share.partner_org_id(), FieldPath(path, "partner_org_id"));
      break;
    case v1::CustomerShare::GRANTEE_NOT_SET:
      check.Add(FieldPath(path, "grantee"), "a team_id or a partner_org_id is required");
      break;
  }
  if (access_required) {
    if (share.access() == v1::SHARE_ACCESS_UNSPECIFIED) {
      check.Add(FieldPath(path, "access"), "is required");
    } else if (!v1::ShareAccess_IsValid(share.access())) {
      check.Add(FieldPath(path, "access"), absl::StrCat("unknown access ", share.access()));
    }
  }
  return check.Done();
}

absl::Status CheckCustomerId(std::string& customer_id, const std::string& field) {
  Checker check;
  check.Uuid(customer_id, field);
  return check.Done();
}

absl::Status CheckAccessRequest(v1::CheckAccessRequest& request, std::string_view path) {
  Checker check;
  check.Uuid(*request.mutable_user_id(), FieldPath(path, "user_id"));
  check.Uuid(*request.mutable_customer_id(), FieldPath(path, "customer_id"));
  if (!request.field_path().empty()) {
    if (absl::Status valid = auth::ValidateFieldPath(auth::kCustomerResource, request.field_path());
        !valid.ok()) {
      check.Add(FieldPath(path, "field_path"), std::string(valid.message()));
    }
  }
  if (request.action() == v1::ACCESS_ACTION_UNSPECIFIED) {
    check.Add(FieldPath(path, "action"), "is required");
  } else if (!v1::AccessAction_IsValid(request.action())) {
    check.Add(FieldPath(path, "action"), absl::StrCat("unknown action ", request.action()));
  }
  return check.Done();
}

}  // namespace touchline::permissions
