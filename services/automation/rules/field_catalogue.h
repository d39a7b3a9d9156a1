// The fields a rule's condition and templates may name (rule.proto's Comparison.field), with
// their types and the triggers that set them, and the values of one run by field name. Pure
// logic: the rule manager checks rules against it, the engine reads values by these names.
#ifndef TOUCHLINE_SERVICES_AUTOMATION_RULES_FIELD_CATALOGUE_H_
#define TOUCHLINE_SERVICES_AUTOMATION_RULES_FIELD_CATALOGUE_H_

#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "google/protobuf/descriptor.h"
#include "touchline/automation/v1/rule.pb.h"
#include "touchline/type/v1/custom_value.pb.h"

namespace touchline::automation {

// A custom field or attribute key: 1 to 64 characters (see the key shapes below).
inline constexpr size_t kMaxCustomKeyChars = 64;

// How a field's values look and compare.
enum class FieldType {
  kText,         // string_value
  kEnumeration,  // string_value naming a value of FieldSpec::enumeration ("CUSTOMER_LEVEL_VIP")
  kTextList,     // a list of text (tags)
  kTime,         // timestamp_value
  kCustom,       // a custom field or attribute: a scalar of any CustomValue kind
};

// Which part of a run a field comes from, which decides the triggers that set it.
enum class FieldSource {
  kCustomer,    // customer.*: every trigger
  kTouchpoint,  // touchpoint.*: touchpoint_recorded
  kStage,       // stage.*: stage_entered and stage_exited
  kChange,      // change.*: customer_changed
};

// One field of the catalogue. The custom fields are two families, named by their prefix.
struct FieldSpec {
  // "customer.level"; for a family, its prefix ("customer.custom_fields.").
  std::string_view name;
  FieldType type;
  FieldSource source;
  // The enumeration of a kEnumeration field (from the generated descriptors), else null.
  const google::protobuf::EnumDescriptor* enumeration = nullptr;
};

// Every field: the fixed ones in rule.proto's order, then the two custom field families
// ("customer.custom_fields." keys as customer.proto has them, [a-z0-9_] starting with a
// letter; "touchpoint.custom_attributes." keys as touchpoint.proto has them, [A-Za-z0-9_]).
const std::vector<FieldSpec>& FieldCatalogue();

// The spec of `name`, or null when it names no field. A name of a custom family is a field
// when its key has the family's shape.
const FieldSpec* FindField(std::string_view name);

// Why `name` names no field, as a violation description: "customer.levle is not a known field",
// or for a custom family "customer.custom_fields.Plan is not a known field: custom field keys
// are 1 to 64 characters of a-z, 0-9 and _, starting with a letter". Valid UTF-8 expected.
std::string UnknownFieldProblem(std::string_view name);

// The trigger kind as rule.proto names its oneof member ("touchpoint_recorded"); "" when unset.
std::string_view TriggerKindName(v1::Trigger::KindCase kind);

// Whether a run started by a `kind` trigger sets fields from `source`.
bool Provides(v1::Trigger::KindCase kind, FieldSource source);

// Why a run of a `kind` trigger never sets the field `name` of `spec`: "touchpoint.channel is
// only set for touchpoint_recorded triggers"; "" when it may set it.
std::string NotProvidedProblem(std::string_view name, const FieldSpec& spec,
                               v1::Trigger::KindCase kind);

// A value a condition compares or a template fills in: a scalar (enumerations by value name),
// or a list of text (tags).
using FieldValue = std::variant<type::v1::CustomValue, std::vector<std::string>>;

// The values of one run by field name ("customer.level" -> "CUSTOMER_LEVEL_VIP",
// "customer.tags" -> {"展会线索"}). A field without a value is absent; an empty list and a
// CustomValue with no kind set count as absent too.
using FieldValues = std::map<std::string, FieldValue, std::less<>>;

// The value of `field`, or null when it is absent (see FieldValues).
const FieldValue* FindValue(const FieldValues& values, std::string_view field);

}  // namespace touchline::automation

#endif  // TOUCHLINE_SERVICES_AUTOMATION_RULES_FIELD_CATALOGUE_H_
