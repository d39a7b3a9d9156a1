// The templates of a rule's actions (CreateTaskAction.title_template and body_template,
// WebhookAction.payload_template): text with {{ field }} placeholders naming fields of the
// catalogue. Their check against the rule's trigger, and filling them in. Pure logic.
#ifndef TOUCHLINE_SERVICES_AUTOMATION_RULES_TEMPLATES_H_
#define TOUCHLINE_SERVICES_AUTOMATION_RULES_TEMPLATES_H_

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status/errors.h"
#include "services/automation/rules/field_catalogue.h"
#include "touchline/automation/v1/rule.pb.h"

namespace touchline::automation {

// One "{{ field }}" of a template.
struct Placeholder {
  // The text between the braces without the spaces and tabs around it ("customer.region").
  std::string field;
  // Where it starts ("{{") and its length through "}}", in bytes of the template.
  size_t offset = 0;
  size_t length = 0;
  // Where it starts in characters (code points), from 1, for messages.
  size_t position = 0;
};

// A template split at its placeholders. A "{{" opens a placeholder that the next "}}" closes;
// a "}}" outside one is plain text.
struct ParsedTemplate {
  std::vector<Placeholder> placeholders;
  // The character position (from 1) of a "{{" without a closing "}}"; what follows it is
  // plain text.
  std::optional<size_t> unterminated_at;
};

// Splits `text` (valid UTF-8 expected: positions count its code points).
ParsedTemplate ParseTemplate(std::string_view text);

// Checks the template `text` of a rule whose trigger is `trigger`, adding violations at `path`
// ("rule.actions[0].create_task.title_template"), each naming the placeholder's position:
// "must be valid UTF-8"; "placeholder at character 7 names no field" ("{{ }}");
// "placeholder at character 7: customer.levle is not a known field";
// "placeholder at character 7: touchpoint.summary is only set for touchpoint_recorded
// triggers"; "\"{{\" at character 12 is not closed with \"}}\"". Lengths once filled in are the
// caller's to check.
void CheckTemplate(std::string_view text, const v1::Trigger& trigger, std::string_view path,
                   status::FieldViolations& violations);

// How Render writes each value.
enum class Escaping {
  // As it is (task titles and bodies).
  kNone,
  // Escaped for the inside of a JSON string ('"', '\', control characters; other characters,
  // Chinese included, stay UTF-8; ill-formed UTF-8 becomes U+FFFD): webhook payloads, whose
  // templates put placeholders between quotes ("{\"name\": \"{{customer.display_name}}\"}").
  kJsonString,
};

// A value as a template shows it: text and enumeration names as they are; int_value in
// decimal; double_value in the shortest form that reads back the same ("0.1", "1e+21");
// true/false; times in RFC 3339 in UTC ("2026-12-07T08:30:00Z", fractions only when set);
// lists joined by ", ".
std::string FormatValue(const FieldValue& value);

// `text` with each placeholder replaced by FormatValue of its field's value in `values`
// (escaped by `escaping`), or nothing when the field has no value; an unterminated "{{" and
// what follows it are kept as they are.
std::string Render(std::string_view text, const FieldValues& values,
                   Escaping escaping = Escaping::kNone);

}  // namespace touchline::automation

#endif  // TOUCHLINE_SERVICES_AUTOMATION_RULES_TEMPLATES_H_
