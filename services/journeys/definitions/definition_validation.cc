#include "services/journeys/definitions/definition_validation.h"

#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/validation/field_checker.h"
#include "google/protobuf/repeated_field.h"
#include "touchline/contacts/v1/customer.pb.h"
#include "touchline/touchpoints/v1/touchpoint.pb.h"

namespace touchline::journeys {
namespace {

using ::google::protobuf::RepeatedField;
using ::google::protobuf::RepeatedPtrField;
using validation::ControlCharacters;
using validation::FieldChecker;
using validation::FieldPath;
using validation::ItemPath;

namespace cv1 = ::touchline::contacts::v1;
namespace tv1 = ::touchline::touchpoints::v1;

constexpr validation::TextRule kRequiredSingleLine{.required = true,
                                                   .controls = ControlCharacters::kForbidden};
constexpr validation::TextRule kSingleLine{.controls = ControlCharacters::kForbidden};
constexpr validation::TextRule kMultiLine{.controls = ControlCharacters::kTabAndLineBreaks};
// Matched exactly against what a touchpoint carries: not trimmed.
constexpr validation::TextRule kRequiredExact{.required = true, .trim = false};

constexpr validation::TokenShape kStageId{.max_length = kMaxStageIdChars, .punctuation = "_-"};

bool IsTerminal(v1::StageKind kind) {
  return kind == v1::STAGE_KIND_GOAL || kind == v1::STAGE_KIND_EXIT;
}

// Each value of a repeated enum field known and not UNSPECIFIED.
void RequiredEnums(FieldChecker& check, const RepeatedField<int>& values, bool (*is_valid)(int),
                   const std::string& path) {
  for (int i = 0; i < values.size(); ++i) {
    check.RequiredEnum(values.Get(i), is_valid, ItemPath(path, static_cast<size_t>(i)));
  }
}

// Each item a single-line text of 1 to kMaxTagChars characters (regions, tags).
void Labels(FieldChecker& check, RepeatedPtrField<std::string>& values, const std::string& path) {
  for (int i = 0; i < values.size(); ++i) {
    check.Text(*values.Mutable(i), ItemPath(path, static_cast<size_t>(i)), kMaxTagChars,
               kRequiredSingleLine);
  }
}

// The kinds of the stages by their (well-formed, first) ids.
using StageKinds = std::map<std::string, v1::StageKind, std::less<>>;

StageKinds CheckStages(FieldChecker& check, RepeatedPtrField<v1::Stage>& stages,
                       const std::string& path) {
  StageKinds kinds;
  if (stages.empty()) {
    check.Required(false, path);
    return kinds;
  }
  if (stages.size() < kMinStages) {
    check.Add(path, absl::StrCat("must have at least ", kMinStages, " entries"));
  }
  check.MaxEntries(static_cast<size_t>(stages.size()), path, kMaxStages);
  validation::DuplicateCheck unique_ids("stages", ".stage_id");
  bool has_goal = false;
  for (int i = 0; i < stages.size(); ++i) {
    v1::Stage& stage = *stages.Mutable(i);
    const std::string stage_path = ItemPath(path, static_cast<size_t>(i));
    const std::string id_path = FieldPath(stage_path, "stage_id");
    const bool id_ok = check.Token(stage.stage_id(), id_path, kStageId) &&
                       unique_ids.First(check, stage.stage_id(), static_cast<size_t>(i), id_path);
    check.Text(*stage.mutable_display_name(), FieldPath(stage_path, "display_name"),
               kMaxStageNameChars, kRequiredSingleLine);
    const std::string kind_path = FieldPath(stage_path, "kind");
    const bool kind_ok = check.RequiredEnum(stage.kind(), v1::StageKind_IsValid, kind_path);
    if (kind_ok) {
      if (i == 0 && stage.kind() != v1::STAGE_KIND_ENTRY) {
        check.Add(kind_path, "must be STAGE_KIND_ENTRY: the first stage is the entry");
      } else if (i > 0 && stage.kind() == v1::STAGE_KIND_ENTRY) {
        check.Add(kind_path, "must not be STAGE_KIND_ENTRY: only the first stage is the entry");
      }
      has_goal = has_goal || stage.kind() == v1::STAGE_KIND_GOAL;
    }
    const std::string days_path = FieldPath(stage_path, "stalled_after_days");
    if (stage.stalled_after_days() < 0 || stage.stalled_after_days() > kMaxStalledAfterDays) {
      check.Add(days_path, absl::StrCat("must be between 0 and ", kMaxStalledAfterDays));
    } else if (kind_ok && IsTerminal(stage.kind()) && stage.stalled_after_days() != 0) {
      check.Add(days_path, "must be 0 on a goal or exit stage");
    }
    // A stage with a bad kind is still one rules may name: its kind is reported once, above.
    if (id_ok) kinds.emplace(stage.stage_id(), kind_ok ? stage.kind() : v1::STAGE_KIND_UNSPECIFIED);
  }
  if (!has_goal) check.Add(path, "must have a stage of kind STAGE_KIND_GOAL");
  return kinds;
}

void CheckEntryRule(FieldChecker& check, v1::EntryRule& rule, const std::string& path) {
  Labels(check, *rule.mutable_regions(), FieldPath(path, "regions"));
  RequiredEnums(check, rule.levels(), cv1::CustomerLevel_IsValid, FieldPath(path, "levels"));
  RequiredEnums(check, rule.lifecycle_statuses(), cv1::LifecycleStatus_IsValid,
                FieldPath(path, "lifecycle_statuses"));
  Labels(check, *rule.mutable_tags(), FieldPath(path, "tags"));
}

void CheckTouchpointCondition(FieldChecker& check, v1::TouchpointCondition& condition,
                              const std::string& path) {
  if (condition.channels().empty() && condition.directions().empty() &&
      condition.categories().empty() && condition.outcomes().empty() &&
      condition.sentiments().empty() && condition.tags().empty() &&
      condition.custom_attributes().empty()) {
    check.Add(path, "must have at least one condition");
    return;
  }
  RequiredEnums(check, condition.channels(), tv1::Channel_IsValid, FieldPath(path, "channels"));
  RequiredEnums(check, condition.directions(), tv1::Direction_IsValid,
                FieldPath(path, "directions"));
  RequiredEnums(check, condition.categories(), tv1::Category_IsValid,
                FieldPath(path, "categories"));
  RequiredEnums(check, condition.outcomes(), tv1::Outcome_IsValid, FieldPath(path, "outcomes"));
  RequiredEnums(check, condition.sentiments(), tv1::Sentiment_IsValid,
                FieldPath(path, "sentiments"));
  Labels(check, *condition.mutable_tags(), FieldPath(path, "tags"));
  // In key order, so violations come out in the same order on every run.
  std::vector<std::pair<std::string, std::string>> attributes(condition.custom_attributes().begin(),
                                                              condition.custom_attributes().end());
  std::sort(attributes.begin(), attributes.end());
  const std::string attributes_path = FieldPath(path, "custom_attributes");
  FieldChecker keys = check.ForKeys();
  for (auto& [key, value] : attributes) {
    const std::string entry_path = validation::EntryPath(attributes_path, key);
    if (!keys.Text(key, entry_path, kMaxTagChars, kRequiredExact)) continue;
    check.Text(value, entry_path, kMaxAttributeValueChars, kRequiredExact);
  }
}

void CheckCustomerCondition(FieldChecker& check, v1::CustomerCondition& condition,
                            const std::string& path) {
  if (condition.lifecycle_statuses().empty() && condition.levels().empty() &&
      condition.tag_added().empty()) {
    check.Add(path, "must have at least one condition");
    return;
  }
  RequiredEnums(check, condition.lifecycle_statuses(), cv1::LifecycleStatus_IsValid,
                FieldPath(path, "lifecycle_statuses"));
  RequiredEnums(check, condition.levels(), cv1::CustomerLevel_IsValid, FieldPath(path, "levels"));
  check.Text(*condition.mutable_tag_added(), FieldPath(path, "tag_added"), kMaxTagChars,
             kSingleLine);
}

void CheckMappingRule(FieldChecker& check, v1::MappingRule& rule, const StageKinds& stages,
                      const std::string& path) {
  const std::string to_path = FieldPath(path, "to_stage_id");
  if (check.Required(!rule.to_stage_id().empty(), to_path) &&
      !stages.contains(rule.to_stage_id())) {
    check.Add(to_path, "names no stage of the journey");
  }
  const std::string from_path = FieldPath(path, "from_stage_ids");
  for (int i = 0; i < rule.from_stage_ids_size(); ++i) {
    const std::string item_path = ItemPath(from_path, static_cast<size_t>(i));
    const auto stage = stages.find(rule.from_stage_ids(i));
    if (stage == stages.end()) {
      check.Add(item_path, "names no stage of the journey");
    } else if (IsTerminal(stage->second)) {
      check.Add(item_path, "names a goal or exit stage, which no rule moves a customer out of");
    }
  }
  switch (rule.trigger_case()) {
    case v1::MappingRule::kTouchpoint:
      CheckTouchpointCondition(check, *rule.mutable_touchpoint(), FieldPath(path, "touchpoint"));
      break;
    case v1::MappingRule::kCustomer:
      CheckCustomerCondition(check, *rule.mutable_customer(), FieldPath(path, "customer"));
      break;
    case v1::MappingRule::TRIGGER_NOT_SET:
      check.Add(path, "must have a trigger: touchpoint or customer");
      break;
  }
}

}  // namespace

void NormalizeAndValidate(v1::Journey& journey, std::string_view prefix,
                          status::FieldViolations& violations) {
  FieldChecker check(violations);
  check.Text(*journey.mutable_display_name(), FieldPath(prefix, "display_name"),
             kMaxJourneyNameChars, kRequiredSingleLine);
  check.Text(*journey.mutable_description(), FieldPath(prefix, "description"), kMaxDescriptionChars,
             kMultiLine);
  const StageKinds stages =
      CheckStages(check, *journey.mutable_stages(), FieldPath(prefix, "stages"));
  CheckEntryRule(check, *journey.mutable_entry_rule(), FieldPath(prefix, "entry_rule"));
  const std::string rules_path = FieldPath(prefix, "mapping_rules");
  check.MaxEntries(static_cast<size_t>(journey.mapping_rules_size()), rules_path, kMaxMappingRules);
  for (int i = 0; i < journey.mapping_rules_size(); ++i) {
    CheckMappingRule(check, *journey.mutable_mapping_rules(i), stages,
                     ItemPath(rules_path, static_cast<size_t>(i)));
  }
}

}  // namespace touchline::journeys
