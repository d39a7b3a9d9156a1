#include "services/automation/rules/templates.h"

#include <charconv>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "common/text/text.h"
#include "common/validation/field_checker.h"
#include "nlohmann/json.hpp"

namespace touchline::automation {
namespace {

using type::v1::CustomValue;

constexpr std::string_view kOpen = "{{";
constexpr std::string_view kClose = "}}";

// `text` without the spaces and tabs around it.
std::string_view TrimSpacesAndTabs(std::string_view text) {
  const size_t first = text.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(" \t") - first + 1);
}

std::string FormatDouble(double value) {
  char buffer[64];
  const std::to_chars_result result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  if (result.ec != std::errc()) return absl::StrCat(value);
  return std::string(buffer, result.ptr);
}

std::string FormatScalar(const CustomValue& value) {
  switch (value.kind_case()) {
    case CustomValue::kStringValue:
      return value.string_value();
    case CustomValue::kIntValue:
      return absl::StrCat(value.int_value());
    case CustomValue::kDoubleValue:
      return FormatDouble(value.double_value());
    case CustomValue::kBoolValue:
      return value.bool_value() ? "true" : "false";
    case CustomValue::kTimestampValue: {
      const absl::Time time = absl::FromUnixSeconds(value.timestamp_value().seconds()) +
                              absl::Nanoseconds(value.timestamp_value().nanos());
      // RFC 3339 with "Z" (absl::RFC3339_full writes "+00:00" for UTC).
      return absl::FormatTime("%Y-%m-%d%ET%H:%M:%E*SZ", time, absl::UTCTimeZone());
    }
    case CustomValue::KIND_NOT_SET:
      break;
  }
  return "";
}

// The inside of a JSON string holding `value` (nlohmann's escaping, which keeps characters
// beyond ASCII as UTF-8; the replace handler makes ill-formed UTF-8 U+FFFD instead of throwing).
std::string JsonStringContent(const std::string& value) {
  const std::string quoted =
      nlohmann::json(value).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return quoted.substr(1, quoted.size() - 2);
}

}  // namespace

ParsedTemplate ParseTemplate(std::string_view text) {
  ParsedTemplate parsed;
  size_t scanned = 0;     // bytes counted into `characters`
  size_t characters = 0;  // code points before `scanned`
  const auto position_of = [&](size_t offset) {
    characters += text::CodePointCount(text.substr(scanned, offset - scanned));
    scanned = offset;
    return characters + 1;
  };
  size_t from = 0;
  while (true) {
    const size_t open = text.find(kOpen, from);
    if (open == std::string_view::npos) break;
    const size_t close = text.find(kClose, open + kOpen.size());
    if (close == std::string_view::npos) {
      parsed.unterminated_at = position_of(open);
      break;
    }
    const std::string_view inside = text.substr(open + kOpen.size(), close - open - kOpen.size());
    parsed.placeholders.push_back(Placeholder{
        .field = std::string(TrimSpacesAndTabs(inside)),
        .offset = open,
        .length = close + kClose.size() - open,
        .position = position_of(open),
    });
    from = close + kClose.size();
  }
  return parsed;
}

void CheckTemplate(std::string_view text, const v1::Trigger& trigger, std::string_view path,
                   status::FieldViolations& violations) {
  validation::FieldChecker check(violations);
  if (!check.Encoding(text, path)) return;
  const ParsedTemplate parsed = ParseTemplate(text);
  for (const Placeholder& placeholder : parsed.placeholders) {
    const std::string at = absl::StrCat("placeholder at character ", placeholder.position);
    if (placeholder.field.empty()) {
      check.Add(path, absl::StrCat(at, " names no field"));
      continue;
    }
    const FieldSpec* spec = FindField(placeholder.field);
    if (spec == nullptr) {
      check.Add(path, absl::StrCat(at, ": ", UnknownFieldProblem(placeholder.field)));
      continue;
    }
    if (const std::string problem =
            NotProvidedProblem(placeholder.field, *spec, trigger.kind_case());
        !problem.empty()) {
      check.Add(path, absl::StrCat(at, ": ", problem));
    }
  }
  if (parsed.unterminated_at.has_value()) {
    check.Add(path, absl::StrCat("\"{{\" at character ", *parsed.unterminated_at,
                                 " is not closed with \"}}\""));
  }
}

std::string FormatValue(const FieldValue& value) {
  if (const auto* list = std::get_if<std::vector<std::string>>(&value)) {
    return absl::StrJoin(*list, ", ");
  }
  return FormatScalar(std::get<CustomValue>(value));
}

std::string Render(std::string_view text, const FieldValues& values, Escaping escaping) {
  std::string rendered;
  rendered.reserve(text.size());
  size_t copied = 0;
  for (const Placeholder& placeholder : ParseTemplate(text).placeholders) {
    rendered.append(text.substr(copied, placeholder.offset - copied));
    copied = placeholder.offset + placeholder.length;
    const FieldValue* value = FindValue(values, placeholder.field);
    if (value == nullptr) continue;
    const std::string formatted = FormatValue(*value);
    rendered.append(escaping == Escaping::kJsonString ? JsonStringContent(formatted) : formatted);
  }
  rendered.append(text.substr(copied));
  return rendered;
}

}  // namespace touchline::automation
