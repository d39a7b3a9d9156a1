// A rule's condition (rule.proto's Condition: OR of AND groups of comparisons): its check
// against the field catalogue and the rule's trigger, and its evaluation against the values of
// one run. Pure logic: no I/O, nothing throws.
#ifndef TOUCHLINE_SERVICES_AUTOMATION_RULES_CONDITIONS_H_
#define TOUCHLINE_SERVICES_AUTOMATION_RULES_CONDITIONS_H_

#include <cstddef>
#include <string_view>
#include <vector>

#include "common/status/errors.h"
#include "services/automation/rules/field_catalogue.h"
#include "touchline/automation/v1/automation_service.pb.h"
#include "touchline/automation/v1/rule.pb.h"
#include "touchline/type/v1/custom_value.pb.h"

namespace touchline::automation {

// Limits (see rule.proto).
inline constexpr size_t kMaxConditionGroups = 10;
inline constexpr size_t kMaxComparisonsPerGroup = 20;
inline constexpr size_t kMaxInValues = 100;
// CustomValue.string_value: "At most 4,096 characters".
inline constexpr size_t kMaxValueChars = 4096;

// Checks `condition` of a rule whose trigger is `trigger`, adding one violation per problem
// to `violations` with paths under `path` ("rule.condition" ->
// "rule.condition.any_of[0].all_of[2].values[0]"), in field order:
// - any_of: at most 10 groups; each group's all_of 1 to 20 comparisons;
// - field: required, valid UTF-8, a field of the catalogue (UnknownFieldProblem), set by the
//   trigger (NotProvidedProblem);
// - operator: known and not OPERATOR_UNSPECIFIED; one that applies to the field's type
//   (ordering: times and custom fields; CONTAINS: text, lists and custom fields; not CONTAINS
//   on an enumeration); CHANGED_FROM / CHANGED_TO only in a customer_changed trigger and only
//   on customer fields;
// - values: none for EXISTS and NOT_EXISTS, 1 to 100 for IN and NOT_IN, exactly one for the
//   others (reported at ".values");
// - each value (".values[k]") of the field's type: text for text, lists and enumerations, a
//   name of the field's enumeration other than its UNSPECIFIED one, a valid timestamp for
//   times; for custom fields any set kind, a finite double, a number or a timestamp for the
//   ordering operators and text for CONTAINS; text valid UTF-8 of at most 4,096 characters,
//   not empty for CONTAINS.
// Values are checked only when the field and operator passed.
void CheckCondition(const v1::Condition& condition, const v1::Trigger& trigger,
                    std::string_view path, status::FieldViolations& violations);

// Checks that `value` is a value of the field `spec` as a comparison's EQUALS would need it
// (the value rules above), adding a violation at `path`; for the values of a trigger or an
// action that name a field (CustomerChanged.from/to, SetField.value).
bool CheckFieldValue(const FieldSpec& spec, const type::v1::CustomValue& value,
                     std::string_view path, status::FieldViolations& violations);

// Whether a comparison of `condition` names a customer.* field (a schedule trigger needs one).
bool NamesCustomerField(const v1::Condition& condition);

// A condition evaluated.
struct Evaluation {
  // Whether it holds: any group all of whose comparisons hold; an empty condition holds.
  bool holds = true;
  // Every comparison, in order, with its path ("condition.any_of[0].all_of[1]"), its field,
  // the value seen and whether it held. All are evaluated (none skipped once the outcome is
  // known) so a run shows every value the rule looked at. The value seen is the value after
  // the change, `before` for CHANGED_FROM; a list is shown as its items joined by ", "; unset
  // when the field is absent.
  std::vector<v1::ComparisonResult> comparisons;
};

// Evaluates `condition` (checked with CheckCondition) against the values of one run: `now`,
// and for a customer_changed trigger `before`, the customer's values before the change (empty
// otherwise). Semantics:
// - EQUALS: the same value (text and enumeration names exactly, case and all; numbers
//   numerically, an int_value equal to a double_value of the same number; times as instants;
//   values of different kinds are never equal); on a list, holding an item equal to the value.
//   IN: EQUALS one of the values. NOT_EQUALS / NOT_IN: the negation.
// - CONTAINS: text containing the value, case-insensitively (Unicode full case folding) over
//   whole characters ("投诉" in "客户投诉", "VIP" in "a vip"); a list holding an item equal to
//   the value case-insensitively. Non-text values contain nothing.
// - GREATER_THAN .. LESS_OR_EQUAL: numbers numerically (int and double mixed), times as times;
//   other kinds, or a number against a time, never hold.
// - EXISTS / NOT_EXISTS: whether the field has a value (see FieldValues: an empty list has none).
// - CHANGED_FROM v: `before` EQUALS v and `now` does not; CHANGED_TO v: `now` EQUALS v and
//   `before` does not. So both need the value to have changed, and on a list they mean v was
//   removed / added. A side without the field does not EQUALS anything.
// - A field absent from `now`: NOT_EXISTS, NOT_EQUALS and NOT_IN hold (it is not equal to the
//   value), every other operator does not (it neither equals, contains nor orders against
//   anything); we chose this so "region is not 华北" selects customers without a region too.
// - A comparison the check would refuse (OPERATOR_UNSPECIFIED, a missing value) does not hold.
Evaluation Evaluate(const v1::Condition& condition, const FieldValues& now,
                    const FieldValues& before);

// A customer_changed trigger's `from` and `to` as the condition the change must satisfy: one
// group of CHANGED_FROM `from` and CHANGED_TO `to` on customer.<field>, of those that are set;
// no group (any change holds) when neither is.
v1::Condition ChangeCondition(const v1::CustomerChanged& changed);

}  // namespace touchline::automation

#endif  // TOUCHLINE_SERVICES_AUTOMATION_RULES_CONDITIONS_H_
