#include "common/auth/scope.h"

#include <sodium.h>

#include <algorithm>
#include <iterator>
#include <optional>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/pg/array.h"
#include "common/status/errors.h"
#include "touchline/contacts/v1/customer.pb.h"
#include "touchline/touchpoints/v1/touchpoint.pb.h"
#include "touchline/type/v1/contact_point.pb.h"

namespace touchline::auth {
namespace {

namespace pb = ::google::protobuf;
using permissions::v1::EffectiveScope;
using permissions::v1::FieldAccess;
using permissions::v1::FieldRule;
using permissions::v1::MaskPattern;

using scope_internal::ResourceRules;
using scope_internal::RuleNode;
using scope_internal::SensitivePath;

using FieldChain = std::vector<const pb::FieldDescriptor*>;

// Our Abseil's string_view is its own type, not std::string_view; its hash containers look
// keys up by it.
absl::string_view View(std::string_view text) {
  return absl::string_view(text.data(), text.size());
}

// Fields whose reading the audit log records when they are shown in clear.
const std::vector<std::string>& DefaultSensitivePaths(std::string_view resource) {
  static const auto* const kCustomer = new std::vector<std::string>{
      "contact_persons.phones", "contact_persons.emails", "contact_persons.addresses",
      "contact_persons.messaging_accounts", "addresses"};
  static const auto* const kNone = new std::vector<std::string>();
  return resource == kCustomerResource ? *kCustomer : *kNone;
}

// The fields `path` names, from `root` down; INVALID_ARGUMENT saying which segment is wrong.
absl::StatusOr<FieldChain> ResolvePath(const pb::Descriptor* root, std::string_view path) {
  if (path.empty()) return absl::InvalidArgumentError("field path is empty");
  FieldChain chain;
  const pb::Descriptor* message = root;
  for (absl::string_view segment : absl::StrSplit(View(path), '.')) {
    if (message == nullptr) {
      const pb::FieldDescriptor* last = chain.back();
      return absl::InvalidArgumentError(
          absl::StrCat("field path \"", std::string(path), "\" goes through ",
                       last->is_map() ? "map" : "scalar", " field \"", last->name(), "\""));
    }
    if (segment.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("field path \"", std::string(path), "\" has an empty segment"));
    }
    const pb::FieldDescriptor* field = message->FindFieldByName(std::string(segment));
    if (field == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("field path \"", std::string(path),
                                                     "\": no field \"", std::string(segment),
                                                     "\" in ", message->full_name()));
    }
    chain.push_back(field);
    message = field->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE && !field->is_map()
                  ? field->message_type()
                  : nullptr;
  }
  return chain;
}

// Whether a top-level field identifies the record or tracks its state, which policies must
// not restrict: services and clients need them to address and version what they see.
bool IsIdentityOrStateField(const std::string& name) {
  return absl::EndsWith(name, "_id") || absl::EndsWith(name, "_time") || name == "state" ||
         name == "etag";
}

// What the string leaves under a field are: all phone numbers, all email addresses, other
// text, or none at all.
enum class LeafKind { kNone, kPhone, kEmail, kOther };

LeafKind Combine(LeafKind a, LeafKind b) {
  if (a == LeafKind::kNone) return b;
  if (b == LeafKind::kNone || a == b) return a;
  return LeafKind::kOther;
}

LeafKind LeafKindOfMessage(const pb::Descriptor* message, int depth);

LeafKind LeafKindOfField(const pb::FieldDescriptor* field, int depth) {
  if (field->is_map()) return LeafKindOfField(field->message_type()->map_value(), depth);
  if (field->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE) {
    return LeafKindOfMessage(field->message_type(), depth + 1);
  }
  if (field->type() != pb::FieldDescriptor::TYPE_STRING) return LeafKind::kNone;
  if (field->containing_type() == type::v1::PhoneNumber::descriptor()) return LeafKind::kPhone;
  if (field->containing_type() == type::v1::EmailAddress::descriptor()) return LeafKind::kEmail;
  return LeafKind::kOther;
}

LeafKind LeafKindOfMessage(const pb::Descriptor* message, int depth) {
  // Recursive message types would never end; deep ones are treated as plain text.
  if (depth > 16) return LeafKind::kOther;
  LeafKind kind = LeafKind::kNone;
  for (int i = 0; i < message->field_count(); ++i) {
    kind = Combine(kind, LeafKindOfField(message->field(i), depth));
  }
  return kind;
}

// MASK_PATTERN_UNSPECIFIED resolved for the last field of `chain`: PHONE when every string
// under it is a phone number, EMAIL when every one is an email address, PARTIAL otherwise.
// A field holding phones among other text (a contact person) is PARTIAL, because the PHONE
// pattern keeps every non-digit, and so would show names in clear.
MaskPattern DefaultMask(const FieldChain& chain) {
  switch (LeafKindOfField(chain.back(), 0)) {
    case LeafKind::kPhone:
      return permissions::v1::MASK_PATTERN_PHONE;
    case LeafKind::kEmail:
      return permissions::v1::MASK_PATTERN_EMAIL;
    default:
      return permissions::v1::MASK_PATTERN_PARTIAL;
  }
}

// The length in bytes of the code point starting at text[i]; 1 for a byte that does not
// start a well-formed sequence, so malformed input is masked byte by byte, never skipped.
size_t CodePointLength(std::string_view text, size_t i) {
  const auto lead = static_cast<unsigned char>(text[i]);
  size_t length = 1;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
  }
  if (i + length > text.size()) return 1;
  for (size_t k = 1; k < length; ++k) {
    if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) return 1;
  }
  return length;
}

size_t CountCodePoints(std::string_view text) {
  size_t count = 0;
  for (size_t i = 0; i < text.size(); i += CodePointLength(text, i)) ++count;
  return count;
}

std::string MaskPhone(std::string_view value) {
  size_t digits = 0;
  for (char c : value) digits += (c >= '0' && c <= '9') ? 1 : 0;
  // Digits with index (0-based, among digits) in [first, last) become '*'.
  size_t first = 0;
  size_t last = 0;
  if (digits >= 9) {
    first = digits - 8;
    last = digits - 4;
  } else if (digits >= 5) {
    last = digits - 4;
  } else if (digits >= 2) {
    last = digits - 2;
  }
  std::string masked(value);
  size_t index = 0;
  for (char& c : masked) {
    if (c < '0' || c > '9') continue;
    if (index >= first && index < last) c = '*';
    ++index;
  }
  return masked;
}

std::string MaskPartial(std::string_view value) {
  if (value.empty()) return "";
  const size_t first = CodePointLength(value, 0);
  return absl::StrCat(std::string(value.substr(0, first)),
                      std::string(CountCodePoints(value.substr(first)), '*'));
}

// Masks every string under `message` with `mask`, except below fields with a rule of their
// own (`nodes`), which follow that rule.
void MaskMessage(pb::Message& message, MaskPattern mask, const std::vector<RuleNode>& nodes);

// A field with no rule of its own.
RuleNode Unruled(const pb::FieldDescriptor* field) {
  return RuleNode{.field = field, .has_rule = false, .access = {}, .mask = {}, .children = {}};
}

// Applies `node` (the rule of one field of `message`, or `inherited`, the mask of an
// enclosing MASKED field, when it has none) to that field and the rules below it.
void ApplyNode(pb::Message& message, const RuleNode& node, std::optional<MaskPattern> inherited) {
  const pb::Reflection* reflection = message.GetReflection();
  const pb::FieldDescriptor* field = node.field;
  FieldAccess access = permissions::v1::FIELD_ACCESS_EDITABLE;
  std::optional<MaskPattern> mask = inherited;
  if (node.has_rule) {
    access = node.access;
    mask = access == permissions::v1::FIELD_ACCESS_MASKED ? std::optional(node.mask) : std::nullopt;
  } else if (inherited.has_value()) {
    access = permissions::v1::FIELD_ACCESS_MASKED;
  }
  if (access == permissions::v1::FIELD_ACCESS_HIDDEN) {
    reflection->ClearField(&message, field);
    return;
  }
  if (field->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE) {
    const bool map_value_only = field->is_map() && mask.has_value();
    auto apply = [&](pb::Message& child) {
      if (map_value_only) {
        // Keys stay: they are the tenant's attribute names, and masking them would merge
        // entries.
        ApplyNode(child, Unruled(child.GetDescriptor()->map_value()), mask);
      } else if (mask.has_value()) {
        MaskMessage(child, *mask, node.children);
      } else {
        for (const RuleNode& below : node.children) ApplyNode(child, below, std::nullopt);
      }
    };
    if (field->is_repeated()) {
      for (int i = 0; i < reflection->FieldSize(message, field); ++i) {
        apply(*reflection->MutableRepeatedMessage(&message, field, i));
      }
    } else if (reflection->HasField(message, field)) {
      apply(*reflection->MutableMessage(&message, field));
    }
    return;
  }
  if (!mask.has_value() || field->cpp_type() != pb::FieldDescriptor::CPPTYPE_STRING) return;
  if (field->type() == pb::FieldDescriptor::TYPE_BYTES) {
    // Bytes cannot be masked character by character; a masked field shows none of them.
    reflection->ClearField(&message, field);
    return;
  }
  if (field->is_repeated()) {
    for (int i = 0; i < reflection->FieldSize(message, field); ++i) {
      reflection->SetRepeatedString(
          &message, field, i, MaskValue(reflection->GetRepeatedString(message, field, i), *mask));
    }
  } else if (reflection->HasField(message, field)) {
    reflection->SetString(&message, field, MaskValue(reflection->GetString(message, field), *mask));
  }
}

void MaskMessage(pb::Message& message, MaskPattern mask, const std::vector<RuleNode>& nodes) {
  const pb::Descriptor* descriptor = message.GetDescriptor();
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const pb::FieldDescriptor* field = descriptor->field(i);
    auto own = std::find_if(nodes.begin(), nodes.end(),
                            [field](const RuleNode& node) { return node.field == field; });
    if (own != nodes.end()) {
      ApplyNode(message, *own, mask);
    } else {
      ApplyNode(message, Unruled(field), mask);
    }
  }
}

// Whether the field at chain[index...] has a value somewhere in `message`.
bool HasValueAt(const pb::Message& message, const FieldChain& chain, size_t index) {
  const pb::Reflection* reflection = message.GetReflection();
  const pb::FieldDescriptor* field = chain[index];
  const bool last = index + 1 == chain.size();
  if (field->is_repeated()) {
    const int size = reflection->FieldSize(message, field);
    if (last) return size > 0;
    for (int i = 0; i < size; ++i) {
      if (HasValueAt(reflection->GetRepeatedMessage(message, field, i), chain, index + 1)) {
        return true;
      }
    }
    return false;
  }
  if (!reflection->HasField(message, field)) return false;
  return last || HasValueAt(reflection->GetMessage(message, field), chain, index + 1);
}

// The permission a write needs; UNSPECIFIED for a read.
permissions::v1::Permission PermissionFor(Access access) {
  switch (access) {
    case Access::kWrite:
      return permissions::v1::PERMISSION_CUSTOMERS_WRITE;
    case Access::kWriteTouchpoints:
      return permissions::v1::PERMISSION_TOUCHPOINTS_WRITE;
    case Access::kRead:
      break;
  }
  return permissions::v1::PERMISSION_UNSPECIFIED;
}

const char* Verb(Access access) {
  switch (access) {
    case Access::kWrite:
      return "write";
    case Access::kWriteTouchpoints:
      return "touchpoint write";
    case Access::kRead:
      break;
  }
  return "read";
}

std::string RoleName(const EffectiveScope& scope) {
  return scope.role_id().empty() ? "(none)" : scope.role_id();
}

const char* AccessWord(FieldAccess access) {
  switch (access) {
    case permissions::v1::FIELD_ACCESS_HIDDEN:
      return "hidden";
    case permissions::v1::FIELD_ACCESS_MASKED:
      return "masked";
    case permissions::v1::FIELD_ACCESS_READ_ONLY:
      return "read-only";
    default:
      return "editable";
  }
}

}  // namespace

const pb::Descriptor* ResourceDescriptor(std::string_view resource) {
  if (resource == kCustomerResource) return contacts::v1::Customer::descriptor();
  if (resource == kTouchpointResource) return touchpoints::v1::Touchpoint::descriptor();
  return nullptr;
}

absl::Status ValidateFieldPath(std::string_view resource, std::string_view field_path) {
  const pb::Descriptor* descriptor = ResourceDescriptor(resource);
  if (descriptor == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("unknown resource \"", std::string(resource),
                                                   "\": must be \"customer\" or \"touchpoint\""));
  }
  absl::StatusOr<FieldChain> chain = ResolvePath(descriptor, field_path);
  if (!chain.ok()) return chain.status();
  const std::string& top = chain->front()->name();
  if (IsIdentityOrStateField(top)) {
    return absl::InvalidArgumentError(
        absl::StrCat("field \"", top, "\" identifies the ", std::string(resource),
                     " or tracks its state and cannot be restricted"));
  }
  return absl::OkStatus();
}

std::string MaskValue(std::string_view value, MaskPattern pattern) {
  switch (pattern) {
    case permissions::v1::MASK_PATTERN_PHONE:
      return MaskPhone(value);
    case permissions::v1::MASK_PATTERN_EMAIL: {
      const size_t at = value.rfind('@');
      if (at == std::string_view::npos) return MaskPartial(value);
      const std::string_view local = value.substr(0, at);
      const std::string first(local.empty() ? std::string_view()
                                            : local.substr(0, CodePointLength(local, 0)));
      return absl::StrCat(first, "***", std::string(value.substr(at)));
    }
    case permissions::v1::MASK_PATTERN_FULL:
      return std::string(CountCodePoints(value), '*');
    default:
      return MaskPartial(value);
  }
}

Scope::Scope(EffectiveScope proto) : proto_(std::move(proto)) {
  for (int permission : proto_.permissions()) permissions_.insert(permission);
  for (const std::string& owner : proto_.owner_ids()) {
    if (!owner.empty()) owner_ids_.insert(owner);
  }
  for (const std::string& region : proto_.regions()) {
    if (!region.empty()) regions_.insert(region);
  }
  for (const std::string& grantee : proto_.grantees()) {
    if (!grantee.empty()) grantees_.insert(grantee);
  }
  // The row filter binds these on every request: made once here.
  auto literal = [](const pb::RepeatedPtrField<std::string>& values) {
    std::vector<std::string> elements;
    for (const std::string& value : values) {
      if (!value.empty()) elements.push_back(value);
    }
    return pg::TextArrayLiteral(elements);
  };
  owner_ids_literal_ = literal(proto_.owner_ids());
  regions_literal_ = literal(proto_.regions());
  grantees_literal_ = literal(proto_.grantees());
  for (const FieldRule& rule : proto_.field_rules()) {
    rules_[rule.resource()][rule.field_path()] = rule;
  }
  IndexFieldRules();
  field_profile_ = ComputeFieldProfile();
}

Scope::~Scope() = default;

absl::StatusOr<std::shared_ptr<const Scope>> Scope::Compile(EffectiveScope proto) {
  if (proto.tenant_id().empty()) return status::InvalidArgument("tenant_id", "must not be empty");
  if (proto.user_id().empty()) return status::InvalidArgument("user_id", "must not be empty");
  absl::flat_hash_set<std::pair<std::string, std::string>> seen;
  for (int i = 0; i < proto.field_rules_size(); ++i) {
    FieldRule& rule = *proto.mutable_field_rules(i);
    const std::string field = absl::StrCat("field_rules[", i, "]");
    if (absl::Status valid = ValidateFieldPath(rule.resource(), rule.field_path()); !valid.ok()) {
      return status::InvalidArgument(
          absl::StrCat(field, ResourceDescriptor(rule.resource()) ? ".field_path" : ".resource"),
          std::string(valid.message()));
    }
    if (rule.access() == permissions::v1::FIELD_ACCESS_UNSPECIFIED ||
        !permissions::v1::FieldAccess_IsValid(rule.access())) {
      return status::InvalidArgument(absl::StrCat(field, ".access"), "must be specified");
    }
    if (!seen.insert({rule.resource(), rule.field_path()}).second) {
      return status::InvalidArgument(
          absl::StrCat(field, ".field_path"),
          absl::StrCat("more than one rule for ", rule.resource(), " ", rule.field_path()));
    }
    if (rule.access() == permissions::v1::FIELD_ACCESS_MASKED &&
        rule.mask() == permissions::v1::MASK_PATTERN_UNSPECIFIED) {
      rule.set_mask(
          DefaultMask(*ResolvePath(ResourceDescriptor(rule.resource()), rule.field_path())));
    }
  }
  return std::shared_ptr<const Scope>(new Scope(std::move(proto)));
}

void Scope::IndexFieldRules() {
  for (const char* resource : {kCustomerResource, kTouchpointResource}) {
    ResourceRules& indexed = resource_rules_[resource];
    indexed.descriptor = ResourceDescriptor(resource);
    auto rules = rules_.find(View(resource));
    if (rules != rules_.end()) {
      for (const auto& [path, rule] : rules->second) {
        // Compile validated every path.
        const FieldChain chain = *ResolvePath(indexed.descriptor, path);
        std::vector<RuleNode>* level = &indexed.roots;
        RuleNode* node = nullptr;
        for (const pb::FieldDescriptor* field : chain) {
          auto it = std::find_if(level->begin(), level->end(),
                                 [field](const RuleNode& n) { return n.field == field; });
          if (it == level->end()) {
            level->push_back(Unruled(field));
            it = std::prev(level->end());
          }
          node = &*it;
          level = &node->children;
        }
        node->has_rule = true;
        node->access = rule.access();
        node->mask = rule.mask();
        indexed.restricted |= rule.access() != permissions::v1::FIELD_ACCESS_EDITABLE;
      }
    }
    std::vector<std::string> candidates = DefaultSensitivePaths(resource);
    if (rules != rules_.end()) {
      for (const auto& [path, rule] : rules->second) candidates.push_back(path);
    }
    std::sort(candidates.begin(), candidates.end());
    candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
    for (std::string& path : candidates) {
      const FieldAccess access = FieldAccessOf(resource, path);
      if (access == permissions::v1::FIELD_ACCESS_HIDDEN ||
          access == permissions::v1::FIELD_ACCESS_MASKED) {
        continue;
      }
      FieldChain chain = *ResolvePath(indexed.descriptor, path);
      indexed.sensitive.push_back(
          SensitivePath{.path = std::move(path), .fields = std::move(chain)});
    }
  }
}

std::string Scope::ComputeFieldProfile() const {
  // One line per rule and per default sensitive path, sorted, under a version tag: a change
  // to how rules redact (not to what they say) must bump the tag.
  std::string canonical = "touchline.field-profile.v1\n";
  for (const char* resource : {kCustomerResource, kTouchpointResource}) {
    std::vector<std::string> lines;
    for (const std::string& path : DefaultSensitivePaths(resource)) {
      lines.push_back(absl::StrCat("sensitive\t", path));
    }
    if (auto rules = rules_.find(View(resource)); rules != rules_.end()) {
      for (const auto& [path, rule] : rules->second) {
        lines.push_back(absl::StrCat("rule\t", path, "\t", static_cast<int>(rule.access()), "\t",
                                     static_cast<int>(rule.mask())));
      }
    }
    std::sort(lines.begin(), lines.end());
    absl::StrAppend(&canonical, "resource\t", resource, "\n", absl::StrJoin(lines, "\n"), "\n");
  }
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(canonical.data()),
                     canonical.size());
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(digest), 16));
}

bool Scope::Has(permissions::v1::Permission permission) const {
  return permissions_.contains(permission);
}

absl::Status Scope::Require(permissions::v1::Permission permission) const {
  if (Has(permission)) return absl::OkStatus();
  const std::string name = permissions::v1::Permission_Name(permission);
  return status::WithErrorInfo(absl::PermissionDeniedError(absl::StrCat("role ", proto_.role_id(),
                                                                        " does not grant ", name)),
                               "MISSING_PERMISSION", {{"permission", name}});
}

absl::StatusOr<const Scope*> ScopeOf(const RequestContext& caller) {
  if (caller.scope == nullptr) return absl::InternalError("no scope");
  return caller.scope.get();
}

absl::Status RequirePermission(const RequestContext& caller,
                               permissions::v1::Permission permission) {
  absl::StatusOr<const Scope*> scope = ScopeOf(caller);
  if (!scope.ok()) return scope.status();
  return (*scope)->Require(permission);
}

bool Scope::Allows(Access access, const CustomerAttributes& customer) const {
  if (access != Access::kRead && !Has(PermissionFor(access))) return false;
  // The owner and those the owner reports to, VIP or not.
  if (owner_ids_.contains(customer.owner_id)) return true;
  if (customer.level == kVipLevel && !proto_.vip_visible()) return false;
  if (proto_.all_customers() || regions_.contains(customer.region)) return true;
  for (const CustomerAttributes::Share& share : customer.shares) {
    if ((access == Access::kRead || share.edit) && grantees_.contains(share.grantee)) return true;
  }
  return false;
}

std::vector<std::string> Scope::Explain(Access access, const CustomerAttributes& customer) const {
  std::vector<std::string> reasons;
  bool blocked = false;
  if (access != Access::kRead && !Has(PermissionFor(access))) {
    reasons.push_back(absl::StrCat("role ", RoleName(proto_), " does not have ",
                                   permissions::v1::Permission_Name(PermissionFor(access))));
    blocked = true;
  }
  // Only the owner's reporting line may see a VIP customer the role's rank does not.
  bool owner_only = false;
  if (customer.level == kVipLevel) {
    if (proto_.vip_visible()) {
      reasons.push_back(absl::StrCat("customer is VIP and role ", RoleName(proto_), " has rank ",
                                     proto_.rank(), ", which may see VIP customers"));
    } else {
      reasons.push_back(absl::StrCat("customer is VIP and role ", RoleName(proto_), " has rank ",
                                     proto_.rank(), " < ", kVipMinRank,
                                     ": only its owner and those the owner reports to see it"));
      owner_only = true;
    }
  }
  bool by_owner = false;
  bool by_other = false;
  if (proto_.all_customers()) {
    reasons.push_back("role has data scope TENANT");
    by_other = true;
  }
  if (!owner_ids_.empty()) {
    if (customer.owner_id.empty()) {
      reasons.push_back("customer has no owner");
    } else if (owner_ids_.contains(customer.owner_id)) {
      reasons.push_back(
          absl::StrCat("owner ", customer.owner_id, " is the user or reports to them"));
      by_owner = true;
    } else {
      reasons.push_back(
          absl::StrCat("owner ", customer.owner_id, " is neither the user nor reports to them"));
    }
  }
  if (!regions_.empty()) {
    if (customer.region.empty()) {
      reasons.push_back("customer has no region");
    } else if (regions_.contains(customer.region)) {
      reasons.push_back(absl::StrCat("region ", customer.region, " is in the user's territories"));
      by_other = true;
    } else {
      reasons.push_back(
          absl::StrCat("region ", customer.region, " is not in the user's territories"));
    }
  }
  for (const CustomerAttributes::Share& share : customer.shares) {
    if (!grantees_.contains(share.grantee)) continue;
    const char* level = share.edit ? "edit" : "read";
    if (access != Access::kRead && !share.edit) {
      reasons.push_back(
          absl::StrCat("shared with ", share.grantee, " (read), which does not allow changes"));
    } else {
      reasons.push_back(absl::StrCat("shared with ", share.grantee, " (", level, ")"));
      by_other = true;
    }
  }
  if (!by_owner && !by_other) reasons.push_back("no rule grants access");
  const bool allowed = !blocked && (by_owner || (by_other && !owner_only));
  reasons.push_back(absl::StrCat(Verb(access), allowed ? " allowed" : " denied"));
  return reasons;
}

absl::Status Scope::CheckRow(Access access, const CustomerAttributes& customer,
                             absl::Status invisible) const {
  if (!Allows(Access::kRead, customer)) return invisible;
  if (access == Access::kRead || Allows(access, customer)) return absl::OkStatus();
  const std::string what =
      access == Access::kWriteTouchpoints ? "record or change its touchpoints" : "change it";
  return status::WithErrorInfo(
      absl::PermissionDeniedError(
          absl::StrCat("you may see customer ", customer.customer_id, " but not ", what)),
      "CUSTOMER_NOT_WRITABLE", {{"customer_id", customer.customer_id}});
}

namespace {

// Appends `literal` to `condition`'s params; its placeholder, the params numbered from
// `first_param`.
std::string Bind(SqlCondition& condition, int first_param, const std::string& literal) {
  condition.params.push_back(literal);
  return absl::StrCat("$", first_param + static_cast<int>(condition.params.size()) - 1, "::text[]");
}

}  // namespace

SqlCondition Scope::SqlVisibility(Access access, std::string_view alias,
                                  std::string_view shares_table, int first_param) const {
  if (access != Access::kRead && !Has(PermissionFor(access))) {
    return SqlCondition{.sql = "FALSE", .params = {}};
  }
  if (proto_.all_customers() && proto_.vip_visible()) {
    return SqlCondition{.sql = "TRUE", .params = {}};
  }
  SqlCondition condition;
  std::vector<std::string> branches;
  for (const std::string& branch :
       {OwnerSql(alias, condition, first_param),
        OthersSql(access, alias, shares_table, condition, first_param)}) {
    if (!branch.empty()) branches.push_back(branch);
  }
  if (branches.empty()) return SqlCondition{.sql = "FALSE", .params = {}};
  condition.sql = absl::StrCat("(", absl::StrJoin(branches, " OR "), ")");
  return condition;
}

Scope::AttributeVisibility Scope::SqlAttributeVisibility(Access access, std::string_view alias,
                                                         int first_param) const {
  const SqlCondition none{.sql = "FALSE", .params = {}};
  if (access != Access::kRead && !Has(PermissionFor(access))) {
    return AttributeVisibility{.territory = none, .owners = none};
  }
  if (proto_.all_customers() && proto_.vip_visible()) {
    return AttributeVisibility{.territory = SqlCondition{.sql = "TRUE", .params = {}},
                               .owners = none};
  }
  AttributeVisibility visibility;
  visibility.territory.sql = OthersSql(access, alias, "", visibility.territory, first_param);
  if (visibility.territory.sql.empty()) visibility.territory = none;
  visibility.owners.sql = OwnerSql(
      alias, visibility.owners, first_param + static_cast<int>(visibility.territory.params.size()));
  if (visibility.owners.sql.empty()) visibility.owners = none;
  visibility.through_shares = !proto_.all_customers() && !grantees_.empty();
  return visibility;
}

std::string Scope::OwnerSql(std::string_view alias, SqlCondition& condition,
                            int first_param) const {
  // The owner's reporting line sees its customers, VIP or not.
  if (owner_ids_.empty()) return "";
  return absl::StrCat(std::string(alias), ".owner_id = ANY(",
                      Bind(condition, first_param, owner_ids_literal_), ")");
}

std::string Scope::OthersSql(Access access, std::string_view alias, std::string_view shares_table,
                             SqlCondition& condition, int first_param) const {
  const std::string table(alias);
  // The other paths, which a VIP customer's level closes to ranks below kVipMinRank.
  std::vector<std::string> others;
  if (!proto_.all_customers()) {
    if (!regions_.empty()) {
      others.push_back(absl::StrCat(table, ".region = ANY(",
                                    Bind(condition, first_param, regions_literal_), ")"));
    }
    if (!grantees_.empty() && !shares_table.empty()) {
      others.push_back(absl::StrCat("EXISTS (SELECT 1 FROM ", std::string(shares_table),
                                    " scope_share WHERE ", "scope_share.tenant_id = ", table,
                                    ".tenant_id AND scope_share.customer_id = ", table,
                                    ".customer_id AND scope_share.grantee = ANY(",
                                    Bind(condition, first_param, grantees_literal_), ")",
                                    access != Access::kRead ? " AND scope_share.edit" : "", ")"));
    }
  }
  if (!proto_.all_customers() && others.empty()) return "";
  std::vector<std::string> conjuncts;
  if (!proto_.vip_visible()) {
    conjuncts.push_back(absl::StrCat(table, ".level IS DISTINCT FROM ", kVipLevel));
  }
  if (!others.empty()) conjuncts.push_back(absl::StrCat("(", absl::StrJoin(others, " OR "), ")"));
  // Not empty: all_customers with vip_visible sees everyone, which callers decide first.
  return conjuncts.size() == 1 ? conjuncts.front()
                               : absl::StrCat("(", absl::StrJoin(conjuncts, " AND "), ")");
}

FieldAccess Scope::FieldAccessOf(std::string_view resource, std::string_view field_path) const {
  auto rules = rules_.find(View(resource));
  if (rules == rules_.end()) return permissions::v1::FIELD_ACCESS_EDITABLE;
  std::string_view path = field_path;
  while (!path.empty()) {
    auto rule = rules->second.find(View(path));
    if (rule != rules->second.end()) return rule->second.access();
    const size_t dot = path.rfind('.');
    path = dot == std::string_view::npos ? std::string_view() : path.substr(0, dot);
  }
  return permissions::v1::FIELD_ACCESS_EDITABLE;
}

std::vector<std::string> Scope::Redact(std::string_view resource, pb::Message& message) const {
  auto indexed = resource_rules_.find(View(resource));
  if (indexed == resource_rules_.end() || message.GetDescriptor() != indexed->second.descriptor) {
    // A caller bug; showing nothing is the only answer that cannot leak.
    message.Clear();
    return {};
  }
  for (const RuleNode& node : indexed->second.roots) ApplyNode(message, node, std::nullopt);
  std::vector<std::string> read;
  for (const SensitivePath& sensitive : indexed->second.sensitive) {
    if (HasValueAt(message, sensitive.fields, 0)) read.push_back(sensitive.path);
  }
  return read;
}

absl::Status Scope::CheckWritable(std::string_view resource,
                                  const std::vector<std::string>& paths) const {
  for (const std::string& path : paths) {
    for (const FieldRule& rule : proto_.field_rules()) {
      if (rule.resource() != resource || rule.access() == permissions::v1::FIELD_ACCESS_EDITABLE) {
        continue;
      }
      const std::string& restricted = rule.field_path();
      const bool overlaps =
          restricted == path ||
          (absl::StartsWith(restricted, path) && restricted[path.size()] == '.') ||
          (absl::StartsWith(path, restricted) && path[restricted.size()] == '.');
      if (!overlaps) continue;
      return status::WithErrorInfo(absl::PermissionDeniedError(absl::StrCat(
                                       "field ", restricted, " is ", AccessWord(rule.access()),
                                       " for role ", RoleName(proto_))),
                                   "FIELD_NOT_WRITABLE",
                                   {{"resource", std::string(resource)}, {"field", restricted}});
    }
  }
  return absl::OkStatus();
}

bool Scope::HasFieldRules(std::string_view resource) const {
  auto indexed = resource_rules_.find(View(resource));
  return indexed != resource_rules_.end() && indexed->second.restricted;
}

std::string GranteeOf(const permissions::v1::CustomerShare& share) {
  switch (share.grantee_case()) {
    case permissions::v1::CustomerShare::kTeamId:
      return absl::StrCat("team:", share.team_id());
    case permissions::v1::CustomerShare::kPartnerOrgId:
      return absl::StrCat("partner:", share.partner_org_id());
    case permissions::v1::CustomerShare::GRANTEE_NOT_SET:
      break;
  }
  return "";
}

}  // namespace touchline::auth
