// The one enforcement engine: what a principal may see and change, compiled by the
// permissions service (touchline.permissions.v1.EffectiveScope) and applied by every service
// to rows (in SQL, or to one customer's attributes) and to fields (on every output).
//
//   TL_ASSIGN_OR_RETURN(auto scope, auth::Scope::Compile(response.scope()));
//   if (!scope->CanRead(attributes)) return absl::NotFoundError(...);   // no existence leak
//   scope->Redact(auth::kCustomerResource, customer);                    // hidden + masked
#ifndef TOUCHLINE_COMMON_AUTH_SCOPE_H_
#define TOUCHLINE_COMMON_AUTH_SCOPE_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/auth/request_context.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "touchline/permissions/v1/permissions.pb.h"

namespace touchline::auth {

// Resources whose fields policies name, and the proto message each is.
inline constexpr char kCustomerResource[] = "customer";      // touchline.contacts.v1.Customer
inline constexpr char kTouchpointResource[] = "touchpoint";  // touchline.touchpoints.v1.Touchpoint

// VIP customers are visible only to roles of at least this rank (regional manager).
inline constexpr int kVipMinRank = 30;
// touchline.contacts.v1.CustomerLevel CUSTOMER_LEVEL_VIP.
inline constexpr int kVipLevel = 3;

// The descriptor of `resource`'s message, or nullptr for an unknown resource.
const google::protobuf::Descriptor* ResourceDescriptor(std::string_view resource);

// OK when `field_path` (dot-separated proto field names, through nested and repeated
// messages) names a field of `resource` that policies may restrict; INVALID_ARGUMENT saying
// why otherwise (unknown resource, unknown field at which segment, a map or scalar traversed,
// or an identity/state field: ids, state, etag, *_time).
absl::Status ValidateFieldPath(std::string_view resource, std::string_view field_path);

// Applies a mask pattern to one string value (UTF-8, code points; see MaskPattern).
std::string MaskValue(std::string_view value, permissions::v1::MaskPattern pattern);

// What row decisions need of one customer.
struct CustomerAttributes {
  std::string customer_id;
  std::string owner_id;
  std::string region;
  int level = 0;  // touchline.contacts.v1.CustomerLevel
  struct Share {
    std::string grantee;  // "team:<id>" or "partner:<id>"
    bool edit = false;
  };
  std::vector<Share> shares;
};

// The grantee of `share` as scopes and attributes name it: "team:<id>" or "partner:<id>";
// empty when the share names neither.
std::string GranteeOf(const permissions::v1::CustomerShare& share);

// What a caller does with a customer. Every write needs the customer visible through anything
// but a READ share, and the role's permission for that write.
enum class Access {
  kRead,              // See it.
  kWrite,             // Change it: PERMISSION_CUSTOMERS_WRITE.
  kWriteTouchpoints,  // Record, correct or delete its touchpoints: PERMISSION_TOUCHPOINTS_WRITE.
};

// A condition over one customers table, for a WHERE clause. Bind `params` in order as
// $first_param, $first_param+1, ... (text; arrays as PostgreSQL array literals, booleans as
// "true"/"false").
struct SqlCondition {
  std::string sql;
  std::vector<std::string> params;
};

namespace scope_internal {

// The rules of one resource as a tree along their field paths: a node per path segment,
// carrying the rule of the path ending there, if any.
struct RuleNode {
  const google::protobuf::FieldDescriptor* field = nullptr;
  bool has_rule = false;
  permissions::v1::FieldAccess access = permissions::v1::FIELD_ACCESS_EDITABLE;
  permissions::v1::MaskPattern mask = permissions::v1::MASK_PATTERN_UNSPECIFIED;
  std::vector<RuleNode> children;
};

// A sensitive field the rules leave readable, reported by Redact when it has a value.
struct SensitivePath {
  std::string path;
  std::vector<const google::protobuf::FieldDescriptor*> fields;
};

// What Scope::Redact needs of one resource, built once by Scope::Compile.
struct ResourceRules {
  const google::protobuf::Descriptor* descriptor = nullptr;
  std::vector<RuleNode> roots;
  std::vector<SensitivePath> sensitive;
  bool restricted = false;  // some rule is not EDITABLE
};

}  // namespace scope_internal

// Immutable and thread-safe; shared by every request of the same credential.
class Scope {
 public:
  // Validates and indexes `proto` (tenant and user set, known rule resources and paths, mask
  // resolved for MASKED). INVALID_ARGUMENT otherwise.
  static absl::StatusOr<std::shared_ptr<const Scope>> Compile(
      permissions::v1::EffectiveScope proto);

  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;
  ~Scope();

  const permissions::v1::EffectiveScope& proto() const { return proto_; }
  const std::string& tenant_id() const { return proto_.tenant_id(); }
  const std::string& user_id() const { return proto_.user_id(); }
  bool Has(permissions::v1::Permission permission) const;
  // OK when the role grants `permission`; otherwise PERMISSION_DENIED "role <role> does not
  // grant <PERMISSION_NAME>" with ErrorInfo reason MISSING_PERMISSION.
  absl::Status Require(permissions::v1::Permission permission) const;

  // Row decisions, as EffectiveScope documents: kRead = visible (the owner and those the owner
  // reports to always; through a territory, a share or the whole tenant only when the
  // customer is not VIP or the role may see VIP customers); a write = visible through anything
  // but a READ share, and the write's permission held (see Access).
  bool Allows(Access access, const CustomerAttributes& customer) const;
  // The same decision with one reason per rule considered, in plain words.
  std::vector<std::string> Explain(Access access, const CustomerAttributes& customer) const;
  // The decision as a status, for a service to return: OK when `access` is allowed;
  // `invisible` (the service's own "not found" for the customer) when the caller cannot see
  // it; PERMISSION_DENIED with ErrorInfo reason CUSTOMER_NOT_WRITABLE when it can see it but
  // not do `access`.
  absl::Status CheckRow(Access access, const CustomerAttributes& customer,
                        absl::Status invisible) const;

  // The same decision as SQL over `alias` (a customers table with tenant_id, customer_id,
  // owner_id, region and level smallint), the shares read model `shares_table` (tenant_id,
  // customer_id, grantee text, edit boolean) correlated on tenant_id and customer_id. Omits
  // branches the scope cannot use (no owners, no regions...), so "all customers" is "TRUE"
  // with no params. Does not check the tenant: the caller's query already does.
  SqlCondition SqlVisibility(Access access, std::string_view alias, std::string_view shares_table,
                             int first_param) const;

  // The branches of SqlVisibility a row decides by its customer's attributes alone, for tables
  // that keep owner_id, region and level (smallint) but no customer_id (aggregates summed per
  // owner, region and level): a customer is visible by its attributes when `territory` or
  // `owners` holds. Never the shares. Bind `territory.params` from `first_param`, then
  // `owners.params`, as SqlVisibility's.
  struct AttributeVisibility {
    // The territory and tenant branches with the VIP rule, reading region and level only:
    // "TRUE" for scopes that see every customer, "FALSE" when neither is granted.
    SqlCondition territory;
    // The owner branch, reading owner_id only: "FALSE" when the scope lists no owners or sees
    // every customer anyway.
    SqlCondition owners;
    // Whether the scope may also see customers through shares, which only SqlVisibility over
    // the customers themselves decides (those rows cannot be found by their attributes).
    bool through_shares = false;
  };
  AttributeVisibility SqlAttributeVisibility(Access access, std::string_view alias,
                                             int first_param) const;

  // How a field is shown and written: the access of the rule for `field_path` or its nearest
  // ancestor path, EDITABLE when none.
  permissions::v1::FieldAccess FieldAccessOf(std::string_view resource,
                                             std::string_view field_path) const;

  // Applies the field rules of `resource` to `message` (of that resource's type) in place:
  // HIDDEN fields are cleared, MASKED ones have every string inside them masked (kinds and
  // flags kept). Returns the paths of sensitive fields (phones, emails, addresses, messaging
  // accounts, plus any with a rule) that were left readable, for the audit log.
  std::vector<std::string> Redact(std::string_view resource,
                                  google::protobuf::Message& message) const;

  // For a write that sets the fields `paths` (an update mask, or the fields set on a create):
  // PERMISSION_DENIED naming the first rule path that is not EDITABLE and equals, contains or
  // lies inside one of `paths` ("field contact_persons.phones is read-only for role rep").
  absl::Status CheckWritable(std::string_view resource,
                             const std::vector<std::string>& paths) const;

  // Whether any rule of `resource` is not EDITABLE (so callers can skip Redact cheaply).
  bool HasFieldRules(std::string_view resource) const;

  // A fingerprint of exactly what Redact does and reports for both resources: their field
  // rules (path, access, resolved mask) and the sensitive fields audited by default. Scopes
  // whose rules for customers and touchpoints are equal have equal profiles, whatever else
  // differs (role, rows, permissions); any difference in those rules gives another profile.
  // 32 lowercase hex digits (128 bits of a SHA-256 of the rules in a canonical order), the
  // same in every process, so it may name data redacted for this profile in a shared cache.
  const std::string& FieldProfile() const { return field_profile_; }

 private:
  explicit Scope(permissions::v1::EffectiveScope proto);
  // The branches of SqlVisibility over `alias`, their params appended to `condition` (numbered
  // from `first_param`); "" when the scope has none. The owners':
  std::string OwnerSql(std::string_view alias, SqlCondition& condition, int first_param) const;
  // The territory's, the tenant's and (when `shares_table` is not empty) the shares', with the
  // VIP rule. Not for a scope that sees every customer.
  std::string OthersSql(Access access, std::string_view alias, std::string_view shares_table,
                        SqlCondition& condition, int first_param) const;
  // Builds rule trees and sensitive paths of every resource from rules_.
  void IndexFieldRules();
  // FieldProfile() of rules_.
  std::string ComputeFieldProfile() const;

  permissions::v1::EffectiveScope proto_;
  absl::flat_hash_set<int> permissions_;
  absl::flat_hash_set<std::string> owner_ids_;
  absl::flat_hash_set<std::string> regions_;
  absl::flat_hash_set<std::string> grantees_;
  // The three sets as PostgreSQL text[] literals, for SqlVisibility.
  std::string owner_ids_literal_;
  std::string regions_literal_;
  std::string grantees_literal_;
  // resource -> field path -> rule.
  absl::flat_hash_map<std::string, absl::flat_hash_map<std::string, permissions::v1::FieldRule>>
      rules_;
  // resource -> its rules for Redact; every known resource has an entry.
  absl::flat_hash_map<std::string, scope_internal::ResourceRules> resource_rules_;
  std::string field_profile_;
};

// The caller's scope; INTERNAL "no scope" when the authenticator attached none: a wiring
// defect (a production authenticator always attaches one), never the caller's mistake.
absl::StatusOr<const Scope*> ScopeOf(const RequestContext& caller);

// The caller's scope grants `permission`: ScopeOf's error, or Scope::Require's
// PERMISSION_DENIED.
absl::Status RequirePermission(const RequestContext& caller,
                               permissions::v1::Permission permission);

}  // namespace touchline::auth

#endif  // TOUCHLINE_COMMON_AUTH_SCOPE_H_
