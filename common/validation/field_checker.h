// One vocabulary for checking request fields. Every validator reports the same problem in the
// same words ("must be at most 200 characters", "must be a UUID") and counts lengths the same
// way, in code points, never bytes (投诉 is 2 characters), so a client sees one set of
// messages whichever service it calls.
//
// A FieldChecker adds google.rpc.BadRequest field violations: the request path of the field
// ("customer.tags[2]", built with FieldPath/ItemPath/EntryPath) and a lower-case description.
// Each check returns whether the value passed, so a caller goes on to its own rules (syntax,
// references) only for values that are well formed, and reports one problem per field.
#ifndef TOUCHLINE_COMMON_VALIDATION_FIELD_CHECKER_H_
#define TOUCHLINE_COMMON_VALIDATION_FIELD_CHECKER_H_

#include <cstddef>
#include <iosfwd>
#include <map>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "common/status/errors.h"

namespace touchline::validation {

// One bad request field, as google.rpc.BadRequest.FieldViolation carries it.
struct FieldViolation {
  std::string field;
  std::string description;
  bool operator==(const FieldViolation&) const = default;
};

// "field: description", for logs and test failures.
std::ostream& operator<<(std::ostream& os, const FieldViolation& violation);

// `parent.name`, or `name` when `parent` is empty (a request's top-level field).
std::string FieldPath(std::string_view parent, std::string_view name);
// `parent[index]`: one element of a repeated field.
std::string ItemPath(std::string_view parent, size_t index);
// `parent["key"]`: one entry of a map field. '"' and '\' are escaped with a backslash, control
// characters and the bytes of ill-formed UTF-8 as \xNN, so the path is valid UTF-8 whatever
// the key.
std::string EntryPath(std::string_view parent, std::string_view key);

// Which control characters (U+0001..U+001F, U+007F) a text may hold. NUL never passes: the
// encoding check refuses it (PostgreSQL cannot store it).
enum class ControlCharacters { kAllowed, kTabAndLineBreaks, kForbidden };

// How Text checks a string besides its length.
struct TextRule {
  // Empty (after trimming) is a violation: "is required".
  bool required = false;
  // Unicode white space (U+3000 too) is removed from both ends first; false keeps the value
  // exactly as sent (transcripts, free-form values), white space counting towards the limit.
  bool trim = true;
  ControlCharacters controls = ControlCharacters::kAllowed;
};

// An ASCII token such as an id or a key: 1 to max_length characters of the chosen classes.
struct TokenShape {
  size_t max_length = 64;
  bool upper_case = false;            // A-Z
  bool lower_case = true;             // a-z
  bool digits = true;                 // 0-9
  std::string_view punctuation = "";  // each character allowed as well, e.g. "_" or "_-"
  bool starts_with_letter = false;
};

// Whether `value` has `shape`.
bool HasShape(std::string_view value, const TokenShape& shape);

// The shape in words: "1 to 64 characters of a-z, 0-9 and _, starting with a letter".
std::string DescribeShape(const TokenShape& shape);

// Adds violations to a list that outlives it. Copies share the list. Not thread-safe.
class FieldChecker {
 public:
  // Adds to the builder of the INVALID_ARGUMENT status (the usual case).
  explicit FieldChecker(status::FieldViolations& violations);
  // Adds to a plain list, for validators that hand the list on themselves.
  explicit FieldChecker(std::vector<FieldViolation>& violations);

  // A checker for the keys of a map: it adds to the same list, and its descriptions start
  // with "key " ("key must be at most 64 characters"), because a key's problem is reported at
  // the entry's path (EntryPath), where the value's problems are reported too. Encoding
  // problems are worded without "key ": they are about the entry's bytes either way.
  FieldChecker ForKeys() const;

  // Adds a violation of `path` with a description no check below covers.
  void Add(std::string_view path, std::string_view description);

  // "is required" unless `present`.
  bool Required(bool present, std::string_view path);

  // Valid UTF-8 without NUL (text::EncodingProblem): "must be valid UTF-8", "must not contain
  // NUL characters". Every other check of a string starts here.
  bool Encoding(std::string_view value, std::string_view path);

  // Encoding, then (when it passed) `value` trimmed of Unicode white space at both ends.
  bool Trim(std::string& value, std::string_view path);

  // The whole check of a text field, stopping at the first problem: Encoding; trimming
  // (rule.trim); "is required" (rule.required, empty); MaxChars; Controls (rule.controls).
  bool Text(std::string& value, std::string_view path, size_t max_chars, TextRule rule = {});

  // "must be at most N characters", counting code points. Precondition: valid UTF-8.
  bool MaxChars(std::string_view value, std::string_view path, size_t max_chars);

  // "must be at most N bytes", for limits a standard sets in octets (an email address).
  bool MaxBytes(std::string_view value, std::string_view path, size_t max_bytes);

  // "must have at most N entries": the size of a repeated or map field.
  bool MaxEntries(size_t count, std::string_view path, size_t max_entries);

  // "must not contain control characters" or, with kTabAndLineBreaks, "must not contain
  // control characters other than tab and line breaks".
  bool Controls(std::string_view value, std::string_view path, ControlCharacters allowed);

  // "must not contain white space" (Unicode White_Space, U+3000 too): tokens such as user ids.
  // Precondition: valid UTF-8.
  bool NoWhiteSpace(std::string_view value, std::string_view path);

  // A UUID in canonical form (8-4-4-4-12 hex digits, either case): Encoding, then "is required"
  // when empty, then "must be a UUID".
  bool Uuid(std::string_view value, std::string_view path);

  // "must be " + DescribeShape(shape) unless HasShape; the empty value included.
  bool Token(std::string_view value, std::string_view path, const TokenShape& shape);

  // "must be a finite number" for NaN and the infinities.
  bool Finite(double value, std::string_view path);

  // "must be a known value" unless `is_valid(number)`: a protobuf enum (pass X_IsValid), which
  // keeps numbers a newer client sends that this build does not know.
  bool KnownEnum(int number, bool (*is_valid)(int), std::string_view path);
  // The same for an enum numbered 0..last without gaps (a domain model's enum class).
  template <typename Enum>
  bool KnownEnum(Enum value, Enum last, std::string_view path) {
    using Number = std::underlying_type_t<Enum>;
    const Number number = static_cast<Number>(value);
    return KnownValue(number >= 0 && number <= static_cast<Number>(last), path);
  }

  // KnownEnum, then "is required" for 0 (X_UNSPECIFIED).
  bool RequiredEnum(int number, bool (*is_valid)(int), std::string_view path);

 private:
  FieldChecker(status::FieldViolations* builder, std::vector<FieldViolation>* list,
               std::string subject);
  bool KnownValue(bool known, std::string_view path);
  // Adds without the subject.
  void AddExactly(std::string_view path, std::string description);

  status::FieldViolations* builder_;
  std::vector<FieldViolation>* list_;
  std::string subject_;  // "" or "key "
};

// Finds repeats within one repeated field: the first occurrence of a value passes, each later
// one is reported as "duplicates tags[1]", naming the first by its place in the message.
class DuplicateCheck {
 public:
  // `list` is the repeated field as it reads within its message ("tags", "participants");
  // `member` what must be unique within an element (".user_id"), empty for the element itself.
  explicit DuplicateCheck(std::string list, std::string member = "");

  // Whether `value`, of the element at `index`, is its first occurrence; otherwise adds the
  // violation at `path` and returns false. Compare case-insensitive values (UUIDs) lower-cased.
  bool First(FieldChecker& check, std::string value, size_t index, std::string_view path);

 private:
  std::string list_;
  std::string member_;
  std::map<std::string, size_t> first_index_;
};

}  // namespace touchline::validation

#endif  // TOUCHLINE_COMMON_VALIDATION_FIELD_CHECKER_H_
