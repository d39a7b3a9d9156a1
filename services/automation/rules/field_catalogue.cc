#include "services/automation/rules/field_catalogue.h"

#include <optional>

#include "absl/strings/str_cat.h"
#include "common/validation/field_checker.h"
#include "touchline/contacts/v1/customer.pb.h"
#include "touchline/touchpoints/v1/touchpoint.pb.h"

namespace touchline::automation {
namespace {

namespace cv1 = ::touchline::contacts::v1;
namespace tv1 = ::touchline::touchpoints::v1;

constexpr std::string_view kCustomerCustomFields = "customer.custom_fields.";
constexpr std::string_view kTouchpointCustomAttributes = "touchpoint.custom_attributes.";

// customer.proto: "Keys are 1 to 64 characters of [a-z0-9_] starting with a letter".
constexpr validation::TokenShape kCustomFieldKey{
    .max_length = kMaxCustomKeyChars, .punctuation = "_", .starts_with_letter = true};
// touchpoint.proto: "keys 1 to 64 characters of [A-Za-z0-9_]".
constexpr validation::TokenShape kCustomAttributeKey{
    .max_length = kMaxCustomKeyChars, .upper_case = true, .punctuation = "_"};

// The family `name` belongs to with its key's shape, or null.
struct Family {
  const FieldSpec* spec;
  const validation::TokenShape* shape;
  std::string_view key;
  std::string_view what;  // "custom field" / "custom attribute"
};

std::optional<Family> FamilyOf(std::string_view name) {
  const std::vector<FieldSpec>& catalogue = FieldCatalogue();
  // The two families are the catalogue's last entries.
  const FieldSpec& customer = catalogue[catalogue.size() - 2];
  const FieldSpec& touchpoint = catalogue[catalogue.size() - 1];
  if (name.starts_with(kCustomerCustomFields)) {
    return Family{&customer, &kCustomFieldKey, name.substr(kCustomerCustomFields.size()),
                  "custom field"};
  }
  if (name.starts_with(kTouchpointCustomAttributes)) {
    return Family{&touchpoint, &kCustomAttributeKey,
                  name.substr(kTouchpointCustomAttributes.size()), "custom attribute"};
  }
  return std::nullopt;
}

}  // namespace

const std::vector<FieldSpec>& FieldCatalogue() {
  static const std::vector<FieldSpec>* const catalogue = new std::vector<FieldSpec>{
      {"customer.level", FieldType::kEnumeration, FieldSource::kCustomer,
       cv1::CustomerLevel_descriptor()},
      {"customer.lifecycle_status", FieldType::kEnumeration, FieldSource::kCustomer,
       cv1::LifecycleStatus_descriptor()},
      {"customer.region", FieldType::kText, FieldSource::kCustomer},
      {"customer.owner_id", FieldType::kText, FieldSource::kCustomer},
      {"customer.display_name", FieldType::kText, FieldSource::kCustomer},
      {"customer.tags", FieldType::kTextList, FieldSource::kCustomer},
      {"touchpoint.channel", FieldType::kEnumeration, FieldSource::kTouchpoint,
       tv1::Channel_descriptor()},
      {"touchpoint.direction", FieldType::kEnumeration, FieldSource::kTouchpoint,
       tv1::Direction_descriptor()},
      {"touchpoint.category", FieldType::kEnumeration, FieldSource::kTouchpoint,
       tv1::Category_descriptor()},
      {"touchpoint.outcome", FieldType::kEnumeration, FieldSource::kTouchpoint,
       tv1::Outcome_descriptor()},
      {"touchpoint.sentiment", FieldType::kEnumeration, FieldSource::kTouchpoint,
       tv1::Sentiment_descriptor()},
      {"touchpoint.tags", FieldType::kTextList, FieldSource::kTouchpoint},
      {"touchpoint.summary", FieldType::kText, FieldSource::kTouchpoint},
      {"touchpoint.occur_time", FieldType::kTime, FieldSource::kTouchpoint},
      {"stage.journey_id", FieldType::kText, FieldSource::kStage},
      {"stage.stage_id", FieldType::kText, FieldSource::kStage},
      {"change.field", FieldType::kText, FieldSource::kChange},
      // The families: keep them last (FamilyOf).
      {kCustomerCustomFields, FieldType::kCustom, FieldSource::kCustomer},
      {kTouchpointCustomAttributes, FieldType::kCustom, FieldSource::kTouchpoint},
  };
  return *catalogue;
}

const FieldSpec* FindField(std::string_view name) {
  if (const std::optional<Family> family = FamilyOf(name)) {
    return validation::HasShape(family->key, *family->shape) ? family->spec : nullptr;
  }
  for (const FieldSpec& spec : FieldCatalogue()) {
    if (spec.type != FieldType::kCustom && spec.name == name) return &spec;
  }
  return nullptr;
}

std::string UnknownFieldProblem(std::string_view name) {
  std::string problem = absl::StrCat(std::string(name), " is not a known field");
  if (const std::optional<Family> family = FamilyOf(name)) {
    absl::StrAppend(&problem, ": ", std::string(family->what), " keys are ",
                    validation::DescribeShape(*family->shape));
  }
  return problem;
}

std::string_view TriggerKindName(v1::Trigger::KindCase kind) {
  switch (kind) {
    case v1::Trigger::kTouchpointRecorded:
      return "touchpoint_recorded";
    case v1::Trigger::kCustomerChanged:
      return "customer_changed";
    case v1::Trigger::kStageEntered:
      return "stage_entered";
    case v1::Trigger::kStageExited:
      return "stage_exited";
    case v1::Trigger::kInactivity:
      return "inactivity";
    case v1::Trigger::kSchedule:
      return "schedule";
    case v1::Trigger::KIND_NOT_SET:
      break;
  }
  return "";
}

bool Provides(v1::Trigger::KindCase kind, FieldSource source) {
  switch (source) {
    case FieldSource::kCustomer:
      return true;
    case FieldSource::kTouchpoint:
      return kind == v1::Trigger::kTouchpointRecorded;
    case FieldSource::kStage:
      return kind == v1::Trigger::kStageEntered || kind == v1::Trigger::kStageExited;
    case FieldSource::kChange:
      return kind == v1::Trigger::kCustomerChanged;
  }
  return false;
}

std::string NotProvidedProblem(std::string_view name, const FieldSpec& spec,
                               v1::Trigger::KindCase kind) {
  if (Provides(kind, spec.source)) return "";
  std::string_view triggers;
  switch (spec.source) {
    case FieldSource::kCustomer:
      break;
    case FieldSource::kTouchpoint:
      triggers = "touchpoint_recorded";
      break;
    case FieldSource::kStage:
      triggers = "stage_entered and stage_exited";
      break;
    case FieldSource::kChange:
      triggers = "customer_changed";
      break;
  }
  return absl::StrCat(std::string(name), " is only set for ", std::string(triggers), " triggers");
}

const FieldValue* FindValue(const FieldValues& values, std::string_view field) {
  const auto found = values.find(field);
  if (found == values.end()) return nullptr;
  if (const auto* list = std::get_if<std::vector<std::string>>(&found->second)) {
    return list->empty() ? nullptr : &found->second;
  }
  const auto& scalar = std::get<type::v1::CustomValue>(found->second);
  return scalar.kind_case() == type::v1::CustomValue::KIND_NOT_SET ? nullptr : &found->second;
}

}  // namespace touchline::automation
