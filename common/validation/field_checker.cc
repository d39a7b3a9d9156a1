#include "common/validation/field_checker.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <ostream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/ids/ids.h"
#include "common/text/text.h"
#include "unicode/uchar.h"
#include "unicode/utf8.h"

namespace touchline::validation {

std::ostream& operator<<(std::ostream& os, const FieldViolation& violation) {
  return os << violation.field << ": " << violation.description;
}

// Paths are built from std::string_view, which this Abseil's StrCat does not take.
std::string FieldPath(std::string_view parent, std::string_view name) {
  if (parent.empty()) return std::string(name);
  return std::string(parent).append(".").append(name);
}

std::string ItemPath(std::string_view parent, size_t index) {
  return std::string(parent).append("[").append(std::to_string(index)).append("]");
}

std::string EntryPath(std::string_view parent, std::string_view key) {
  std::string path(parent);
  path.append("[\"");
  const int32_t size = static_cast<int32_t>(std::min<size_t>(key.size(), INT32_MAX));
  int32_t pos = 0;
  while (pos < size) {
    const int32_t start = pos;
    UChar32 c;
    U8_NEXT(reinterpret_cast<const uint8_t*>(key.data()), pos, size, c);
    if (c == '"' || c == '\\') {
      path.push_back('\\');
      path.push_back(static_cast<char>(c));
    } else if (c < 0x20 || c == 0x7F) {  // c < 0: an ill-formed sequence, every byte escaped
      for (int32_t i = start; i < pos; ++i) {
        absl::StrAppendFormat(&path, "\\x%02X", static_cast<unsigned char>(key[i]));
      }
    } else {
      path.append(key.substr(start, pos - start));
    }
  }
  path.append("\"]");
  return path;
}

bool HasShape(std::string_view value, const TokenShape& shape) {
  if (value.empty() || value.size() > shape.max_length) return false;
  if (shape.starts_with_letter && !absl::ascii_isalpha(static_cast<unsigned char>(value[0]))) {
    return false;
  }
  for (const char c : value) {
    const unsigned char byte = static_cast<unsigned char>(c);
    const bool allowed = (shape.upper_case && absl::ascii_isupper(byte)) ||
                         (shape.lower_case && absl::ascii_islower(byte)) ||
                         (shape.digits && absl::ascii_isdigit(byte)) ||
                         (c != '\0' && shape.punctuation.find(c) != std::string_view::npos);
    if (!allowed) return false;
  }
  return true;
}

std::string DescribeShape(const TokenShape& shape) {
  std::vector<std::string> classes;
  if (shape.upper_case) classes.push_back("A-Z");
  if (shape.lower_case) classes.push_back("a-z");
  if (shape.digits) classes.push_back("0-9");
  for (const char c : shape.punctuation) classes.push_back(std::string(1, c));
  std::string text = absl::StrCat("1 to ", shape.max_length, " characters of ");
  if (classes.size() == 1) {
    text.append(classes.front());
  } else {
    const std::string last = classes.back();
    classes.pop_back();
    absl::StrAppend(&text, absl::StrJoin(classes, ", "), " and ", last);
  }
  if (shape.starts_with_letter) text.append(", starting with a letter");
  return text;
}

FieldChecker::FieldChecker(status::FieldViolations& violations)
    : FieldChecker(&violations, nullptr, "") {}

FieldChecker::FieldChecker(std::vector<FieldViolation>& violations)
    : FieldChecker(nullptr, &violations, "") {}

FieldChecker::FieldChecker(status::FieldViolations* builder, std::vector<FieldViolation>* list,
                           std::string subject)
    : builder_(builder), list_(list), subject_(std::move(subject)) {}

FieldChecker FieldChecker::ForKeys() const { return FieldChecker(builder_, list_, "key "); }

void FieldChecker::AddExactly(std::string_view path, std::string description) {
  if (builder_ != nullptr) {
    builder_->Add(std::string(path), std::move(description));
  } else {
    list_->push_back({std::string(path), std::move(description)});
  }
}

void FieldChecker::Add(std::string_view path, std::string_view description) {
  AddExactly(path, std::string(subject_).append(description));
}

bool FieldChecker::Required(bool present, std::string_view path) {
  if (!present) Add(path, "is required");
  return present;
}

bool FieldChecker::Encoding(std::string_view value, std::string_view path) {
  const char* problem = text::EncodingProblem(value);
  if (problem == nullptr) return true;
  AddExactly(path, problem);
  return false;
}

bool FieldChecker::Trim(std::string& value, std::string_view path) {
  if (!Encoding(value, path)) return false;
  value = text::TrimSpace(value);
  return true;
}

bool FieldChecker::Text(std::string& value, std::string_view path, size_t max_chars,
                        TextRule rule) {
  if (!(rule.trim ? Trim(value, path) : Encoding(value, path))) return false;
  if (value.empty()) return !rule.required || Required(false, path);
  return MaxChars(value, path, max_chars) && Controls(value, path, rule.controls);
}

bool FieldChecker::MaxChars(std::string_view value, std::string_view path, size_t max_chars) {
  if (text::CodePointCount(value) <= max_chars) return true;
  Add(path, absl::StrCat("must be at most ", max_chars, " characters"));
  return false;
}

bool FieldChecker::MaxBytes(std::string_view value, std::string_view path, size_t max_bytes) {
  if (value.size() <= max_bytes) return true;
  Add(path, absl::StrCat("must be at most ", max_bytes, " bytes"));
  return false;
}

bool FieldChecker::MaxEntries(size_t count, std::string_view path, size_t max_entries) {
  if (count <= max_entries) return true;
  Add(path, absl::StrCat("must have at most ", max_entries, " entries"));
  return false;
}

bool FieldChecker::Controls(std::string_view value, std::string_view path,
                            ControlCharacters allowed) {
  if (allowed == ControlCharacters::kAllowed) return true;
  // In UTF-8 the control characters are single bytes that never occur inside a multi-byte
  // sequence, so a byte scan finds them.
  for (const char c : value) {
    const unsigned char byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte != 0x7F) continue;
    if (allowed == ControlCharacters::kTabAndLineBreaks && (c == '\t' || c == '\n' || c == '\r')) {
      continue;
    }
    Add(path, allowed == ControlCharacters::kForbidden
                  ? "must not contain control characters"
                  : "must not contain control characters other than tab and line breaks");
    return false;
  }
  return true;
}

bool FieldChecker::NoWhiteSpace(std::string_view value, std::string_view path) {
  const int32_t size = static_cast<int32_t>(std::min<size_t>(value.size(), INT32_MAX));
  int32_t pos = 0;
  while (pos < size) {
    UChar32 c;
    U8_NEXT(reinterpret_cast<const uint8_t*>(value.data()), pos, size, c);
    if (c >= 0 && u_isUWhiteSpace(c)) {
      Add(path, "must not contain white space");
      return false;
    }
  }
  return true;
}

bool FieldChecker::Uuid(std::string_view value, std::string_view path) {
  if (!Encoding(value, path) || !Required(!value.empty(), path)) return false;
  if (ids::IsUuid(value)) return true;
  Add(path, "must be a UUID");
  return false;
}

bool FieldChecker::Token(std::string_view value, std::string_view path, const TokenShape& shape) {
  if (HasShape(value, shape)) return true;
  Add(path, absl::StrCat("must be ", DescribeShape(shape)));
  return false;
}

bool FieldChecker::Finite(double value, std::string_view path) {
  if (std::isfinite(value)) return true;
  Add(path, "must be a finite number");
  return false;
}

bool FieldChecker::KnownValue(bool known, std::string_view path) {
  if (!known) Add(path, "must be a known value");
  return known;
}

bool FieldChecker::KnownEnum(int number, bool (*is_valid)(int), std::string_view path) {
  return KnownValue(is_valid(number), path);
}

bool FieldChecker::RequiredEnum(int number, bool (*is_valid)(int), std::string_view path) {
  return KnownEnum(number, is_valid, path) && Required(number != 0, path);
}

DuplicateCheck::DuplicateCheck(std::string list, std::string member)
    : list_(std::move(list)), member_(std::move(member)) {}

bool DuplicateCheck::First(FieldChecker& check, std::string value, size_t index,
                           std::string_view path) {
  const auto [it, inserted] = first_index_.emplace(std::move(value), index);
  if (inserted) return true;
  check.Add(path, absl::StrCat("duplicates ", ItemPath(list_, it->second), member_));
  return false;
}

}  // namespace touchline::validation
