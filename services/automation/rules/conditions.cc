#include "services/automation/rules/conditions.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status/time_fields.h"
#include "common/validation/field_checker.h"
#include "unicode/unistr.h"

namespace touchline::automation {
namespace {

using type::v1::CustomValue;
using validation::FieldChecker;
using validation::FieldPath;
using validation::ItemPath;

bool IsOrdering(v1::Operator op) {
  return op == v1::OPERATOR_GREATER_THAN || op == v1::OPERATOR_GREATER_OR_EQUAL ||
         op == v1::OPERATOR_LESS_THAN || op == v1::OPERATOR_LESS_OR_EQUAL;
}

bool IsChange(v1::Operator op) {
  return op == v1::OPERATOR_CHANGED_FROM || op == v1::OPERATOR_CHANGED_TO;
}

const char* TypeInWords(FieldType type) {
  switch (type) {
    case FieldType::kText:
      return "text";
    case FieldType::kEnumeration:
      return "an enumeration";
    case FieldType::kTextList:
      return "a list of text";
    case FieldType::kTime:
      return "a time";
    case FieldType::kCustom:
      return "a custom field";
  }
  return "";
}

// Why `op` does not apply to `field` (of `spec`) in a rule of a `kind` trigger; "" when it does.
std::string OperatorProblem(v1::Operator op, const FieldSpec& spec, std::string_view field,
                            v1::Trigger::KindCase kind) {
  const bool ordered = spec.type == FieldType::kTime || spec.type == FieldType::kCustom;
  const bool searchable = spec.type == FieldType::kText || spec.type == FieldType::kTextList ||
                          spec.type == FieldType::kCustom;
  if ((IsOrdering(op) && !ordered) || (op == v1::OPERATOR_CONTAINS && !searchable)) {
    return absl::StrCat(v1::Operator_Name(op), " does not apply to ", std::string(field),
                        ", which is ", TypeInWords(spec.type));
  }
  if (IsChange(op) && kind != v1::Trigger::kCustomerChanged) {
    return absl::StrCat(v1::Operator_Name(op), " only applies in customer_changed triggers");
  }
  if (IsChange(op) && spec.source != FieldSource::kCustomer) {
    return absl::StrCat(v1::Operator_Name(op), " only applies to customer fields");
  }
  return "";
}

// Why `count` values do not fit `op`; "" when they do.
std::string CountProblem(v1::Operator op, size_t count) {
  switch (op) {
    case v1::OPERATOR_EXISTS:
    case v1::OPERATOR_NOT_EXISTS:
      if (count == 0) return "";
      return absl::StrCat("must be empty for ", v1::Operator_Name(op));
    case v1::OPERATOR_IN:
    case v1::OPERATOR_NOT_IN:
      if (count >= 1 && count <= kMaxInValues) return "";
      return absl::StrCat("must have 1 to ", kMaxInValues, " values for ", v1::Operator_Name(op));
    default:
      if (count == 1) return "";
      return absl::StrCat("must have exactly one value for ", v1::Operator_Name(op));
  }
}

// A string_value, valid UTF-8 of at most kMaxValueChars characters (not empty if `required`).
bool CheckText(FieldChecker& check, const CustomValue& value, const std::string& path,
               bool required) {
  if (value.kind_case() != CustomValue::kStringValue) {
    check.Add(path, "must be text (string_value)");
    return false;
  }
  const std::string& text = value.string_value();
  return check.Encoding(text, path) && (!required || check.Required(!text.empty(), path)) &&
         check.MaxChars(text, path, kMaxValueChars);
}

bool CheckEnumerationName(FieldChecker& check, const FieldSpec& spec, const CustomValue& value,
                          const std::string& path) {
  if (!CheckText(check, value, path, /*required=*/false)) return false;
  const google::protobuf::EnumValueDescriptor* found =
      spec.enumeration->FindValueByName(value.string_value());
  if (found == nullptr) {
    check.Add(path, absl::StrCat("must name a value of ", spec.enumeration->full_name()));
    return false;
  }
  if (found->number() == 0) {
    check.Add(path, absl::StrCat("must not be ", found->name(),
                                 ": OPERATOR_NOT_EXISTS selects a field without a value"));
    return false;
  }
  return true;
}

// A value of a custom field, which may be of any kind: the operator decides which fit.
bool CheckCustomValue(FieldChecker& check, status::FieldViolations& violations, v1::Operator op,
                      const CustomValue& value, const std::string& path) {
  const bool contains = op == v1::OPERATOR_CONTAINS;
  if (contains) return CheckText(check, value, path, /*required=*/true);
  const bool is_number_or_time = value.kind_case() == CustomValue::kIntValue ||
                                 value.kind_case() == CustomValue::kDoubleValue ||
                                 value.kind_case() == CustomValue::kTimestampValue;
  if (IsOrdering(op) && !is_number_or_time) {
    check.Add(path, absl::StrCat("must be a number or a time (int_value, double_value or "
                                 "timestamp_value) for ",
                                 v1::Operator_Name(op)));
    return false;
  }
  switch (value.kind_case()) {
    case CustomValue::KIND_NOT_SET:
      return check.Required(false, path);
    case CustomValue::kStringValue:
      return CheckText(check, value, path, /*required=*/false);
    case CustomValue::kDoubleValue:
      return check.Finite(value.double_value(), path);
    case CustomValue::kTimestampValue:
      return status::CheckTimestamp(value.timestamp_value(), path, violations);
    case CustomValue::kIntValue:
    case CustomValue::kBoolValue:
      return true;
  }
  return true;
}

// One value compared with a field of `spec` by `op` (which applies to it).
bool CheckValue(FieldChecker& check, status::FieldViolations& violations, const FieldSpec& spec,
                v1::Operator op, const CustomValue& value, const std::string& path) {
  switch (spec.type) {
    case FieldType::kText:
    case FieldType::kTextList:
      return CheckText(check, value, path, /*required=*/op == v1::OPERATOR_CONTAINS);
    case FieldType::kEnumeration:
      return CheckEnumerationName(check, spec, value, path);
    case FieldType::kTime:
      if (value.kind_case() != CustomValue::kTimestampValue) {
        check.Add(path, "must be a time (timestamp_value)");
        return false;
      }
      return status::CheckTimestamp(value.timestamp_value(), path, violations);
    case FieldType::kCustom:
      return CheckCustomValue(check, violations, op, value, path);
  }
  return true;
}

// The field of a comparison: its spec when it names a field the trigger sets, else null (and
// the problem reported).
const FieldSpec* CheckComparedField(FieldChecker& check, const std::string& field,
                                    v1::Trigger::KindCase kind, const std::string& path) {
  if (!check.Encoding(field, path) || !check.Required(!field.empty(), path)) return nullptr;
  const FieldSpec* spec = FindField(field);
  if (spec == nullptr) {
    check.Add(path, UnknownFieldProblem(field));
    return nullptr;
  }
  if (const std::string problem = NotProvidedProblem(field, *spec, kind); !problem.empty()) {
    check.Add(path, problem);
    return nullptr;
  }
  return spec;
}

void CheckComparison(FieldChecker& check, status::FieldViolations& violations,
                     const v1::Comparison& comparison, v1::Trigger::KindCase kind,
                     const std::string& path) {
  const FieldSpec* spec =
      CheckComparedField(check, comparison.field(), kind, FieldPath(path, "field"));
  const std::string operator_path = FieldPath(path, "operator");
  if (!check.RequiredEnum(comparison.operator_(), v1::Operator_IsValid, operator_path)) return;
  const v1::Operator op = comparison.operator_();
  bool fits = spec != nullptr;
  if (fits) {
    if (const std::string problem = OperatorProblem(op, *spec, comparison.field(), kind);
        !problem.empty()) {
      check.Add(operator_path, problem);
      fits = false;
    }
  }
  const std::string values_path = FieldPath(path, "values");
  if (const std::string problem = CountProblem(op, static_cast<size_t>(comparison.values_size()));
      !problem.empty()) {
    check.Add(values_path, problem);
    return;
  }
  if (!fits) return;
  for (int k = 0; k < comparison.values_size(); ++k) {
    CheckValue(check, violations, *spec, op, comparison.values(k),
               ItemPath(values_path, static_cast<size_t>(k)));
  }
}

// -1, 0 or 1 as `a` is below, at or above `b`, when both are numbers (int and double mixed:
// long double holds every int64 and every double exactly) or both times; nullopt otherwise.
std::optional<int> Order(const CustomValue& a, const CustomValue& b) {
  const auto sign = [](auto x, auto y) { return x < y ? -1 : (y < x ? 1 : 0); };
  if (a.kind_case() == CustomValue::kTimestampValue &&
      b.kind_case() == CustomValue::kTimestampValue) {
    const auto key = [](const google::protobuf::Timestamp& t) {
      return std::pair(t.seconds(), t.nanos());
    };
    return sign(key(a.timestamp_value()), key(b.timestamp_value()));
  }
  if (a.kind_case() == CustomValue::kIntValue && b.kind_case() == CustomValue::kIntValue) {
    return sign(a.int_value(), b.int_value());
  }
  const auto number = [](const CustomValue& v) -> std::optional<long double> {
    if (v.kind_case() == CustomValue::kIntValue) return static_cast<long double>(v.int_value());
    if (v.kind_case() == CustomValue::kDoubleValue && !std::isnan(v.double_value())) {
      return static_cast<long double>(v.double_value());
    }
    return std::nullopt;
  };
  const std::optional<long double> x = number(a);
  const std::optional<long double> y = number(b);
  if (!x.has_value() || !y.has_value()) return std::nullopt;
  return sign(*x, *y);
}

bool Equal(const CustomValue& a, const CustomValue& b) {
  if (a.kind_case() == CustomValue::kStringValue && b.kind_case() == CustomValue::kStringValue) {
    return a.string_value() == b.string_value();
  }
  if (a.kind_case() == CustomValue::kBoolValue && b.kind_case() == CustomValue::kBoolValue) {
    return a.bool_value() == b.bool_value();
  }
  const std::optional<int> order = Order(a, b);
  return order.has_value() && *order == 0;
}

// `text` with Unicode full case folding, in UTF-16 (ill-formed UTF-8 becomes U+FFFD).
icu::UnicodeString Folded(std::string_view text) {
  icu::UnicodeString folded = icu::UnicodeString::fromUTF8(
      icu::StringPiece(text.data(), static_cast<int32_t>(text.size())));
  folded.foldCase();
  return folded;
}

// EQUALS: a scalar equal to `value`, or a list holding it.
bool HoldsEqual(const FieldValue* seen, const CustomValue& value) {
  if (seen == nullptr) return false;
  if (const auto* list = std::get_if<std::vector<std::string>>(seen)) {
    if (value.kind_case() != CustomValue::kStringValue) return false;
    return std::find(list->begin(), list->end(), value.string_value()) != list->end();
  }
  return Equal(std::get<CustomValue>(*seen), value);
}

// CONTAINS: text holding `value` case-insensitively, or a list holding an item equal to it
// case-insensitively. A needle of whole code points cannot match half of a surrogate pair.
bool Contains(const FieldValue* seen, const CustomValue& value) {
  if (seen == nullptr || value.kind_case() != CustomValue::kStringValue) return false;
  const icu::UnicodeString needle = Folded(value.string_value());
  if (const auto* list = std::get_if<std::vector<std::string>>(seen)) {
    return std::any_of(list->begin(), list->end(),
                       [&](const std::string& item) { return Folded(item) == needle; });
  }
  const CustomValue& scalar = std::get<CustomValue>(*seen);
  return scalar.kind_case() == CustomValue::kStringValue &&
         Folded(scalar.string_value()).indexOf(needle) >= 0;
}

bool OrderHolds(v1::Operator op, const FieldValue* seen, const CustomValue& value) {
  if (seen == nullptr || !std::holds_alternative<CustomValue>(*seen)) return false;
  const std::optional<int> order = Order(std::get<CustomValue>(*seen), value);
  if (!order.has_value()) return false;
  switch (op) {
    case v1::OPERATOR_GREATER_THAN:
      return *order > 0;
    case v1::OPERATOR_GREATER_OR_EQUAL:
      return *order >= 0;
    case v1::OPERATOR_LESS_THAN:
      return *order < 0;
    case v1::OPERATOR_LESS_OR_EQUAL:
      return *order <= 0;
    default:
      return false;
  }
}

bool Holds(const v1::Comparison& comparison, const FieldValue* now, const FieldValue* before) {
  const auto& values = comparison.values();
  const auto equals_any = [&](const FieldValue* seen) {
    return std::any_of(values.begin(), values.end(),
                       [&](const CustomValue& value) { return HoldsEqual(seen, value); });
  };
  const v1::Operator op = comparison.operator_();
  if (op == v1::OPERATOR_EXISTS) return now != nullptr;
  if (op == v1::OPERATOR_NOT_EXISTS) return now == nullptr;
  if (values.empty()) return false;
  const CustomValue& value = values.Get(0);
  switch (op) {
    case v1::OPERATOR_EQUALS:
      return HoldsEqual(now, value);
    case v1::OPERATOR_NOT_EQUALS:
      return !HoldsEqual(now, value);
    case v1::OPERATOR_IN:
      return equals_any(now);
    case v1::OPERATOR_NOT_IN:
      return !equals_any(now);
    case v1::OPERATOR_CONTAINS:
      return Contains(now, value);
    case v1::OPERATOR_CHANGED_FROM:
      return HoldsEqual(before, value) && !HoldsEqual(now, value);
    case v1::OPERATOR_CHANGED_TO:
      return HoldsEqual(now, value) && !HoldsEqual(before, value);
    default:
      return OrderHolds(op, now, value);
  }
}

// The value seen, as a ComparisonResult shows it: left unset when there is none.
void Show(const FieldValue* seen, v1::ComparisonResult& result) {
  if (seen == nullptr) return;
  if (const auto* list = std::get_if<std::vector<std::string>>(seen)) {
    result.mutable_value()->set_string_value(absl::StrJoin(*list, ", "));
  } else {
    *result.mutable_value() = std::get<CustomValue>(*seen);
  }
}

}  // namespace

void CheckCondition(const v1::Condition& condition, const v1::Trigger& trigger,
                    std::string_view path, status::FieldViolations& violations) {
  FieldChecker check(violations);
  const std::string groups_path = FieldPath(path, "any_of");
  check.MaxEntries(static_cast<size_t>(condition.any_of_size()), groups_path, kMaxConditionGroups);
  for (int i = 0; i < condition.any_of_size(); ++i) {
    const v1::ConditionGroup& group = condition.any_of(i);
    const std::string comparisons_path =
        FieldPath(ItemPath(groups_path, static_cast<size_t>(i)), "all_of");
    if (group.all_of().empty()) check.Add(comparisons_path, "must have at least one comparison");
    check.MaxEntries(static_cast<size_t>(group.all_of_size()), comparisons_path,
                     kMaxComparisonsPerGroup);
    for (int j = 0; j < group.all_of_size(); ++j) {
      CheckComparison(check, violations, group.all_of(j), trigger.kind_case(),
                      ItemPath(comparisons_path, static_cast<size_t>(j)));
    }
  }
}

bool CheckFieldValue(const FieldSpec& spec, const type::v1::CustomValue& value,
                     std::string_view path, status::FieldViolations& violations) {
  FieldChecker check(violations);
  return CheckValue(check, violations, spec, v1::OPERATOR_EQUALS, value, std::string(path));
}

bool NamesCustomerField(const v1::Condition& condition) {
  for (const v1::ConditionGroup& group : condition.any_of()) {
    for (const v1::Comparison& comparison : group.all_of()) {
      const FieldSpec* spec = FindField(comparison.field());
      if (spec != nullptr && spec->source == FieldSource::kCustomer) return true;
    }
  }
  return false;
}

Evaluation Evaluate(const v1::Condition& condition, const FieldValues& now,
                    const FieldValues& before) {
  Evaluation evaluation;
  evaluation.holds = condition.any_of().empty();
  for (int i = 0; i < condition.any_of_size(); ++i) {
    const v1::ConditionGroup& group = condition.any_of(i);
    // An empty group is refused by the check; evaluated, it does not hold.
    bool group_holds = !group.all_of().empty();
    for (int j = 0; j < group.all_of_size(); ++j) {
      const v1::Comparison& comparison = group.all_of(j);
      const FieldValue* current = FindValue(now, comparison.field());
      const FieldValue* previous = FindValue(before, comparison.field());
      v1::ComparisonResult& result = evaluation.comparisons.emplace_back();
      result.set_path(absl::StrCat("condition.any_of[", i, "].all_of[", j, "]"));
      result.set_field(comparison.field());
      Show(comparison.operator_() == v1::OPERATOR_CHANGED_FROM ? previous : current, result);
      result.set_holds(Holds(comparison, current, previous));
      group_holds = group_holds && result.holds();
    }
    evaluation.holds = evaluation.holds || group_holds;
  }
  return evaluation;
}

v1::Condition ChangeCondition(const v1::CustomerChanged& changed) {
  v1::Condition condition;
  if (!changed.has_from() && !changed.has_to()) return condition;
  v1::ConditionGroup& group = *condition.add_any_of();
  const std::string field = absl::StrCat("customer.", changed.field());
  const auto add = [&](v1::Operator op, const CustomValue& value) {
    v1::Comparison& comparison = *group.add_all_of();
    comparison.set_field(field);
    comparison.set_operator_(op);
    *comparison.add_values() = value;
  };
  if (changed.has_from()) add(v1::OPERATOR_CHANGED_FROM, changed.from());
  if (changed.has_to()) add(v1::OPERATOR_CHANGED_TO, changed.to());
  return condition;
}

}  // namespace touchline::automation
