#include "services/touchpoints/touchpoint_validation.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/ids/ids.h"
#include "common/status/time_fields.h"
#include "common/text/text.h"
#include "google/protobuf/duration.pb.h"
#include "google/protobuf/repeated_ptr_field.h"
#include "google/protobuf/timestamp.pb.h"
#include "touchline/contacts/v1/customer.pb.h"
#include "touchline/type/v1/custom_value.pb.h"

namespace touchline::touchpoints {
namespace {

using ::google::protobuf::Duration;
using ::google::protobuf::RepeatedPtrField;
using ::google::protobuf::Timestamp;
using text::CodePointCount;
using text::IsValidUtf8;
using text::TrimSpace;

// Limits the proto states that the header has no constant for.
constexpr size_t kMaxRoleChars = 64;
constexpr size_t kMaxNextActionChars = 1000;
constexpr size_t kMaxMetricKeyChars = kMaxTagChars;  // "keys as tags"
constexpr size_t kMaxCustomKeyChars = 64;
constexpr size_t kMaxMediaTypeNameChars = 127;  // RFC 6838 restricted-name, each side

// Field paths are built from std::string_view, which this Abseil's StrCat does not take.
std::string Field(std::string_view parent, std::string_view name) {
  if (parent.empty()) return std::string(name);
  return std::string(parent).append(".").append(name);
}

std::string Item(std::string_view parent, size_t index) {
  return std::string(parent).append("[").append(std::to_string(index)).append("]");
}

// `parent["key"]`, escaped as contacts escapes custom field keys: `"` and `\` get a
// backslash; control characters and bytes of ill-formed UTF-8 become \xNN.
std::string Key(std::string_view parent, std::string_view key) {
  std::string escaped;
  size_t pos = 0;
  while (pos < key.size()) {
    const unsigned char lead = static_cast<unsigned char>(key[pos]);
    size_t length = lead < 0x80 ? 1 : lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
    length = std::min(length, key.size() - pos);
    const std::string_view sequence = key.substr(pos, length);
    if (lead == '"' || lead == '\\') {
      escaped.push_back('\\');
      escaped.push_back(static_cast<char>(lead));
    } else if (lead < 0x20 || lead == 0x7F || (lead >= 0x80 && !IsValidUtf8(sequence))) {
      // One byte at a time: the next byte may start a well-formed sequence.
      absl::StrAppendFormat(&escaped, "\\x%02X", lead);
      length = 1;
    } else {
      escaped.append(sequence.data(), sequence.size());
    }
    pos += length;
  }
  return absl::StrCat(std::string(parent), "[\"", escaped, "\"]");
}

// Which control characters (U+0000..U+001F, U+007F) a text may hold. In UTF-8 they are
// single bytes that never occur inside a multi-byte sequence, so a byte scan finds them.
enum class Controls { kNone, kTabAndLineBreaks, kAny };
enum class Presence { kOptional, kRequired };
enum class Trim { kYes, kNo };

bool HasForbiddenControl(std::string_view value, Controls allowed) {
  if (allowed == Controls::kAny) return false;
  for (char c : value) {
    const unsigned char byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte != 0x7F) continue;
    if (allowed == Controls::kTabAndLineBreaks && (c == '\t' || c == '\n' || c == '\r')) continue;
    return true;
  }
  return false;
}

// Whether valid UTF-8 `value` holds a Unicode White_Space character anywhere (U+3000 too).
// TrimSpace is the one white-space classifier common/text offers, so each code point is
// asked whether it trims away.
bool HasWhiteSpace(std::string_view value) {
  size_t pos = 0;
  while (pos < value.size()) {
    size_t end = pos + 1;
    while (end < value.size() && (static_cast<unsigned char>(value[end]) & 0xC0) == 0x80) ++end;
    if (TrimSpace(value.substr(pos, end - pos)).empty()) return true;
    pos = end;
  }
  return false;
}

bool IsHexDigits(std::string_view value) {
  return std::all_of(value.begin(), value.end(),
                     [](char c) { return absl::ascii_isxdigit(static_cast<unsigned char>(c)); });
}

// RFC 3986 scheme ":" followed by something.
bool HasUriScheme(std::string_view uri) {
  const size_t colon = uri.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == uri.size()) return false;
  if (!absl::ascii_isalpha(static_cast<unsigned char>(uri[0]))) return false;
  for (size_t i = 1; i < colon; ++i) {
    const unsigned char c = static_cast<unsigned char>(uri[i]);
    if (!absl::ascii_isalnum(c) && c != '+' && c != '-' && c != '.') return false;
  }
  return true;
}

// RFC 6838 restricted-name: 1 to 127 of [a-z0-9!#$&^_.+-] starting with a letter or digit
// (lower case: media types are lower-cased before they are checked).
bool IsMediaTypeName(std::string_view name) {
  if (name.empty() || name.size() > kMaxMediaTypeNameChars) return false;
  if (!absl::ascii_isalnum(static_cast<unsigned char>(name[0]))) return false;
  for (char c : name) {
    const unsigned char byte = static_cast<unsigned char>(c);
    if (absl::ascii_isdigit(byte) || (byte >= 'a' && byte <= 'z')) continue;
    if (std::string_view("!#$&^_.+-").find(c) == std::string_view::npos) return false;
  }
  return true;
}

bool IsMediaType(std::string_view value) {
  const size_t slash = value.find('/');
  if (slash == std::string_view::npos) return false;
  return IsMediaTypeName(value.substr(0, slash)) && IsMediaTypeName(value.substr(slash + 1));
}

bool IsCustomAttributeKey(std::string_view key) {
  if (key.empty() || key.size() > kMaxCustomKeyChars) return false;
  return std::all_of(key.begin(), key.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

// Map entries in key order, so violations come out in the same order on every run (protobuf
// maps iterate in an unspecified order).
template <typename Map>
std::vector<typename Map::value_type*> SortedEntries(Map& map) {
  std::vector<typename Map::value_type*> entries;
  entries.reserve(map.size());
  for (auto& entry : map) entries.push_back(&entry);
  std::sort(entries.begin(), entries.end(),
            [](const auto* a, const auto* b) { return a->first < b->first; });
  return entries;
}

// The checks every field is built from; each names the path it looked at.
class Checker {
 public:
  Checker(const ValidationOptions& options, absl::Time now, status::FieldViolations& violations)
      : options_(options), now_(now), violations_(violations) {}

  void Add(std::string field, std::string description) {
    violations_.Add(std::move(field), std::move(description));
  }

  // Every other check of a string starts here: lengths and syntax mean nothing for bytes
  // that are not text, and a NUL cannot be stored (custom strings allow other controls).
  bool Utf8(std::string_view value, const std::string& path) {
    const char* problem = text::EncodingProblem(value);
    if (problem == nullptr) return true;
    Add(path, problem);
    return false;
  }

  // Trims `value` (unless told not to), then checks presence, length in code points and
  // control characters, stopping at the first problem. Returns whether it passed, so
  // callers only go on to check the syntax of text that is well formed.
  bool Text(std::string& value, const std::string& path, size_t max_chars, Controls controls,
            Presence presence = Presence::kOptional, Trim trim = Trim::kYes,
            const char* empty_description = "is required") {
    if (!Utf8(value, path)) return false;
    if (trim == Trim::kYes) value = TrimSpace(value);
    if (value.empty()) {
      if (presence == Presence::kRequired) {
        Add(path, empty_description);
        return false;
      }
      return true;
    }
    if (CodePointCount(value) > max_chars) {
      Add(path, absl::StrCat("must be at most ", max_chars, " characters"));
      return false;
    }
    if (HasForbiddenControl(value, controls)) {
      Add(path, controls == Controls::kNone
                    ? "must not contain control characters"
                    : "must not contain control characters other than tab and line breaks");
      return false;
    }
    return true;
  }

  // An opaque id (a user id): one token of at most kMaxIdChars.
  bool OpaqueId(std::string& value, const std::string& path, Presence presence) {
    if (!Text(value, path, kMaxIdChars, Controls::kNone, presence)) return false;
    if (HasWhiteSpace(value)) {
      Add(path, "must not contain white space");
      return false;
    }
    return true;
  }

  // A UUID (customer ids, contact person ids).
  bool Uuid(std::string& value, const std::string& path) {
    if (!Utf8(value, path)) return false;
    value = TrimSpace(value);
    if (value.empty()) {
      Add(path, "is required");
      return false;
    }
    if (!ids::IsUuid(value)) {
      Add(path, "must be a UUID");
      return false;
    }
    return true;
  }

  void MaxEntries(size_t count, const std::string& path, size_t max_entries) {
    if (count > max_entries) {
      Add(path, absl::StrCat("must have at most ", max_entries, " entries"));
    }
  }

  // A list of free texts (needs, concerns, interests): items are trimmed, items empty after
  // trimming are dropped, and what is left is counted and checked. Violations name the
  // item's index in the list as the client sent it.
  void TextList(RepeatedPtrField<std::string>& items, const std::string& path) {
    RepeatedPtrField<std::string> kept;
    std::vector<size_t> sent_index;
    for (int i = 0; i < items.size(); ++i) {
      std::string& item = *items.Mutable(i);
      if (IsValidUtf8(item)) {
        item = TrimSpace(item);
        if (item.empty()) continue;
      }
      kept.Add(std::move(item));
      sent_index.push_back(static_cast<size_t>(i));
    }
    items.Swap(&kept);
    MaxEntries(static_cast<size_t>(items.size()), path, kMaxListItems);
    for (int i = 0; i < items.size(); ++i) {
      Text(*items.Mutable(i), Item(path, sent_index[static_cast<size_t>(i)]), kMaxListItemChars,
           Controls::kTabAndLineBreaks);
    }
  }

  // Checks an enum holds a value its proto defines.
  bool KnownEnum(int number, bool (*is_valid)(int), const std::string& path) {
    if (is_valid(number)) return true;
    Add(path, "must be a known value");
    return false;
  }

  // A known value other than 0 (UNSPECIFIED).
  void RequiredEnum(int number, bool (*is_valid)(int), const std::string& path) {
    if (KnownEnum(number, is_valid, path) && number == 0) Add(path, "is required");
  }

  // Converts a well-formed Timestamp to `*time`; otherwise adds a violation.
  bool Time(const Timestamp& timestamp, const std::string& path, absl::Time* time) {
    if (!status::CheckTimestamp(timestamp, path, violations_)) return false;
    *time = absl::FromUnixSeconds(timestamp.seconds()) + absl::Nanoseconds(timestamp.nanos());
    return true;
  }

  // Whether `time` is at most the allowed clock skew ahead of the server; adds a violation
  // when it is further ahead.
  bool NotInFuture(absl::Time time, const std::string& path) {
    if (time <= now_ + options_.max_clock_skew) return true;
    if (options_.max_clock_skew > absl::ZeroDuration()) {
      Add(path, absl::StrCat("must not be more than ",
                             absl::FormatDuration(options_.max_clock_skew), " in the future"));
    } else {
      Add(path, "must not be in the future");
    }
    return false;
  }

  void DurationValue(const Duration& duration, const std::string& path) {
    if (!status::CheckDuration(duration, path, violations_)) return;
    const absl::Duration value =
        absl::Seconds(duration.seconds()) + absl::Nanoseconds(duration.nanos());
    if (value < absl::ZeroDuration()) {
      Add(path, "must not be negative");
    } else if (value > kMaxDuration) {
      Add(path, absl::StrCat("must be at most ", absl::FormatDuration(kMaxDuration)));
    }
  }

  // Custom attribute values, as contacts checks custom field values.
  void CustomValue(type::v1::CustomValue& value, const std::string& path) {
    switch (value.kind_case()) {
      case type::v1::CustomValue::kStringValue:
        // As contacts: not trimmed, and no rule on control characters.
        Text(*value.mutable_string_value(), path, kMaxCustomStringChars, Controls::kAny,
             Presence::kOptional, Trim::kNo);
        break;
      case type::v1::CustomValue::kDoubleValue:
        if (!std::isfinite(value.double_value())) Add(path, "must be a finite number");
        break;
      case type::v1::CustomValue::kTimestampValue: {
        absl::Time unused;
        Time(value.timestamp_value(), path, &unused);
        break;
      }
      case type::v1::CustomValue::kIntValue:
      case type::v1::CustomValue::kBoolValue:
        break;
      case type::v1::CustomValue::KIND_NOT_SET:
        Add(path, "must have a value");
        break;
    }
  }

 private:
  const ValidationOptions& options_;
  const absl::Time now_;
  status::FieldViolations& violations_;
};

void CheckContactPersonIds(Checker& check, v1::Touchpoint& touchpoint, std::string_view prefix) {
  const std::string path = Field(prefix, "contact_person_ids");
  auto& ids = *touchpoint.mutable_contact_person_ids();
  check.MaxEntries(static_cast<size_t>(ids.size()), path, kMaxListItems);
  std::map<std::string, size_t> first_index;  // UUIDs compare case-insensitively
  for (int i = 0; i < ids.size(); ++i) {
    const std::string item_path = Item(path, static_cast<size_t>(i));
    if (!check.Uuid(*ids.Mutable(i), item_path)) continue;
    const auto [it, inserted] =
        first_index.emplace(absl::AsciiStrToLower(ids.Get(i)), static_cast<size_t>(i));
    if (!inserted) {
      check.Add(item_path, absl::StrCat("duplicates contact_person_ids[", it->second, "]"));
    }
  }
}

void CheckParticipants(Checker& check, v1::Touchpoint& touchpoint, std::string_view prefix) {
  const std::string path = Field(prefix, "participants");
  auto& participants = *touchpoint.mutable_participants();
  check.MaxEntries(static_cast<size_t>(participants.size()), path, kMaxListItems);
  std::map<std::string, size_t> first_index;
  for (int i = 0; i < participants.size(); ++i) {
    v1::Participant& participant = *participants.Mutable(i);
    const std::string participant_path = Item(path, static_cast<size_t>(i));
    const std::string user_path = Field(participant_path, "user_id");
    if (check.OpaqueId(*participant.mutable_user_id(), user_path, Presence::kRequired)) {
      const auto [it, inserted] =
          first_index.emplace(participant.user_id(), static_cast<size_t>(i));
      if (!inserted) {
        check.Add(user_path, absl::StrCat("duplicates participants[", it->second, "].user_id"));
      }
    }
    check.RequiredEnum(participant.kind(), v1::ParticipantKind_IsValid,
                       Field(participant_path, "kind"));
    check.Text(*participant.mutable_role(), Field(participant_path, "role"), kMaxRoleChars,
               Controls::kNone);
  }
}

void CheckTimes(Checker& check, v1::Touchpoint& touchpoint, std::string_view prefix) {
  const std::string occur_path = Field(prefix, "occur_time");
  absl::Time occur_time;
  bool occur_ok = false;
  if (!touchpoint.has_occur_time()) {
    check.Add(occur_path, "is required");
  } else if (check.Time(touchpoint.occur_time(), occur_path, &occur_time)) {
    if (occur_time < kEarliestOccurTime) {
      check.Add(occur_path,
                absl::StrCat("must not be before ", absl::FormatTime("%Y-%m-%d", kEarliestOccurTime,
                                                                     absl::UTCTimeZone())));
    } else {
      occur_ok = check.NotInFuture(occur_time, occur_path);
    }
  }
  if (!touchpoint.has_record_time()) return;  // the caller fills in `now`
  const std::string record_path = Field(prefix, "record_time");
  absl::Time record_time;
  if (!check.Time(touchpoint.record_time(), record_path, &record_time)) return;
  if (occur_ok && record_time < occur_time) {
    check.Add(record_path, "must not be before occur_time");
    return;
  }
  check.NotInFuture(record_time, record_path);
}

void CheckEmotionLabels(Checker& check, v1::Touchpoint& touchpoint, std::string_view prefix) {
  const std::string path = Field(prefix, "emotion_labels");
  const auto& labels = touchpoint.emotion_labels();
  check.MaxEntries(static_cast<size_t>(labels.size()), path, kMaxEmotionLabels);
  std::map<int, size_t> first_index;
  for (int i = 0; i < labels.size(); ++i) {
    const std::string item_path = Item(path, static_cast<size_t>(i));
    const int label = labels.Get(i);
    if (!check.KnownEnum(label, v1::EmotionLabel_IsValid, item_path)) continue;
    if (label == v1::EMOTION_LABEL_UNSPECIFIED) {
      check.Add(item_path, "must not be EMOTION_LABEL_UNSPECIFIED");
      continue;
    }
    const auto [it, inserted] = first_index.emplace(label, static_cast<size_t>(i));
    if (!inserted) {
      check.Add(item_path, absl::StrCat("duplicates emotion_labels[", it->second, "]"));
    }
  }
}

void CheckBehaviorMetrics(Checker& check, v1::Touchpoint& touchpoint, std::string_view prefix) {
  const std::string path = Field(prefix, "behavior_metrics");
  auto& metrics = *touchpoint.mutable_behavior_metrics();
  check.MaxEntries(metrics.size(), path, kMaxBehaviorMetrics);
  for (const auto* entry : SortedEntries(metrics)) {
    const std::string& key = entry->first;
    const std::string entry_path = Key(path, key);
    // Keys follow the rules of tags; a key cannot be trimmed in place, so padding is an error.
    if (!IsValidUtf8(key)) {
      check.Add(entry_path, "must be valid UTF-8");
    } else if (key.empty()) {
      check.Add(entry_path, "key must not be empty");
    } else if (TrimSpace(key) != key) {
      check.Add(entry_path, "key must not start or end with white space");
    } else if (CodePointCount(key) > kMaxMetricKeyChars) {
      check.Add(entry_path,
                absl::StrCat("key must be at most ", kMaxMetricKeyChars, " characters"));
    } else if (HasForbiddenControl(key, Controls::kNone)) {
      check.Add(entry_path, "key must not contain control characters");
    }
    if (!std::isfinite(entry->second)) check.Add(entry_path, "must be a finite number");
  }
}

void CheckNextAction(Checker& check, v1::Touchpoint& touchpoint, std::string_view prefix) {
  if (!touchpoint.has_next_action()) return;
  const std::string path = Field(prefix, "next_action");
  v1::NextAction& action = *touchpoint.mutable_next_action();
  const std::string description_path = Field(path, "description");
  const bool description_ok = check.Text(*action.mutable_description(), description_path,
                                         kMaxNextActionChars, Controls::kTabAndLineBreaks);
  check.OpaqueId(*action.mutable_owner_id(), Field(path, "owner_id"), Presence::kOptional);
  if (description_ok && action.description().empty() &&
      (!action.owner_id().empty() || action.has_due_time())) {
    check.Add(description_path, "is required");
  }
  if (action.has_due_time()) {
    absl::Time unused;
    check.Time(action.due_time(), Field(path, "due_time"), &unused);
  }
}

void CheckTags(Checker& check, v1::Touchpoint& touchpoint, std::string_view prefix) {
  const std::string path = Field(prefix, "tags");
  auto& tags = *touchpoint.mutable_tags();
  check.MaxEntries(static_cast<size_t>(tags.size()), path, kMaxTags);
  std::map<std::string, size_t> first_index;
  for (int i = 0; i < tags.size(); ++i) {
    const std::string item_path = Item(path, static_cast<size_t>(i));
    if (!check.Text(*tags.Mutable(i), item_path, kMaxTagChars, Controls::kNone, Presence::kRequired,
                    Trim::kYes, "must not be empty")) {
      continue;
    }
    const auto [it, inserted] = first_index.emplace(tags.Get(i), static_cast<size_t>(i));
    if (!inserted) check.Add(item_path, absl::StrCat("duplicates tags[", it->second, "]"));
  }
}

void CheckCustomAttributes(Checker& check, v1::Touchpoint& touchpoint, std::string_view prefix) {
  const std::string path = Field(prefix, "custom_attributes");
  auto& attributes = *touchpoint.mutable_custom_attributes();
  check.MaxEntries(attributes.size(), path, kMaxCustomAttributes);
  for (auto* entry : SortedEntries(attributes)) {
    const std::string entry_path = Key(path, entry->first);
    if (check.Utf8(entry->first, entry_path) && !IsCustomAttributeKey(entry->first)) {
      check.Add(entry_path, "key must be 1 to 64 characters of A-Z, a-z, 0-9 and _");
    }
    check.CustomValue(entry->second, entry_path);
  }
}

void CheckAttachments(Checker& check, v1::Touchpoint& touchpoint, std::string_view prefix) {
  const std::string path = Field(prefix, "attachments");
  auto& attachments = *touchpoint.mutable_attachments();
  check.MaxEntries(static_cast<size_t>(attachments.size()), path, kMaxListItems);
  for (int i = 0; i < attachments.size(); ++i) {
    v1::Attachment& attachment = *attachments.Mutable(i);
    const std::string attachment_path = Item(path, static_cast<size_t>(i));

    const std::string uri_path = Field(attachment_path, "uri");
    if (check.Text(*attachment.mutable_uri(), uri_path, kMaxUriChars, Controls::kNone,
                   Presence::kRequired) &&
        !HasUriScheme(attachment.uri())) {
      check.Add(uri_path, "must be an absolute URI with a scheme, e.g. s3://bucket/key");
    }

    const std::string media_type_path = Field(attachment_path, "media_type");
    if (check.Utf8(attachment.media_type(), media_type_path)) {
      std::string& media_type = *attachment.mutable_media_type();
      media_type = absl::AsciiStrToLower(TrimSpace(media_type));
      if (media_type.empty()) {
        check.Add(media_type_path, "is required");
      } else if (!IsMediaType(media_type)) {
        check.Add(media_type_path,
                  "must be a media type of the form type/subtype, e.g. audio/mpeg");
      }
    }

    if (attachment.size_bytes() <= 0) {
      check.Add(Field(attachment_path, "size_bytes"), "must be positive");
    }

    const std::string sha256_path = Field(attachment_path, "sha256");
    if (check.Utf8(attachment.sha256(), sha256_path)) {
      std::string& sha256 = *attachment.mutable_sha256();
      sha256 = absl::AsciiStrToLower(TrimSpace(sha256));
      if (sha256.empty()) {
        check.Add(sha256_path, "is required");
      } else if (sha256.size() != 64 || !IsHexDigits(sha256)) {
        check.Add(sha256_path, "must be 64 hexadecimal digits");
      }
    }

    check.Text(*attachment.mutable_file_name(), Field(attachment_path, "file_name"),
               kMaxFileNameChars, Controls::kNone);
  }
}

void CheckSource(Checker& check, v1::Touchpoint& touchpoint, std::string_view prefix) {
  const std::string system_path = Field(prefix, "source_system");
  const std::string external_path = Field(prefix, "external_id");
  const bool system_ok = check.Text(*touchpoint.mutable_source_system(), system_path,
                                    kMaxSourceSystemChars, Controls::kNone);
  const bool external_ok = check.Text(*touchpoint.mutable_external_id(), external_path,
                                      kMaxExternalIdChars, Controls::kNone);
  if (!system_ok || !external_ok) return;
  if (touchpoint.source_system().empty() && !touchpoint.external_id().empty()) {
    check.Add(system_path, "is required when external_id is set");
  } else if (!touchpoint.source_system().empty() && touchpoint.external_id().empty()) {
    check.Add(external_path, "is required when source_system is set");
  }
}

}  // namespace

void NormalizeAndValidate(v1::Touchpoint& touchpoint, absl::Time now,
                          const ValidationOptions& options, std::string_view prefix,
                          status::FieldViolations& violations) {
  Checker check(options, now, violations);

  // In field-number order, so violations come out in the order of the contract.
  check.Uuid(*touchpoint.mutable_customer_id(), Field(prefix, "customer_id"));
  CheckContactPersonIds(check, touchpoint, prefix);
  CheckParticipants(check, touchpoint, prefix);
  CheckTimes(check, touchpoint, prefix);
  check.RequiredEnum(touchpoint.channel(), v1::Channel_IsValid, Field(prefix, "channel"));
  check.KnownEnum(touchpoint.direction(), v1::Direction_IsValid, Field(prefix, "direction"));
  check.RequiredEnum(touchpoint.category(), v1::Category_IsValid, Field(prefix, "category"));
  check.Text(*touchpoint.mutable_subject(), Field(prefix, "subject"), kMaxSubjectChars,
             Controls::kNone);
  check.Text(*touchpoint.mutable_summary(), Field(prefix, "summary"), kMaxSummaryChars,
             Controls::kTabAndLineBreaks);
  // Content may be a transcript: kept exactly as sent, leading indentation included.
  check.Text(*touchpoint.mutable_content(), Field(prefix, "content"), kMaxContentChars,
             Controls::kTabAndLineBreaks, Presence::kOptional, Trim::kNo);
  check.TextList(*touchpoint.mutable_needs(), Field(prefix, "needs"));
  check.TextList(*touchpoint.mutable_concerns(), Field(prefix, "concerns"));
  check.TextList(*touchpoint.mutable_interests(), Field(prefix, "interests"));
  check.KnownEnum(touchpoint.outcome(), v1::Outcome_IsValid, Field(prefix, "outcome"));
  check.KnownEnum(touchpoint.sentiment(), v1::Sentiment_IsValid, Field(prefix, "sentiment"));
  CheckEmotionLabels(check, touchpoint, prefix);
  if (touchpoint.has_duration()) {
    check.DurationValue(touchpoint.duration(), Field(prefix, "duration"));
  }
  CheckBehaviorMetrics(check, touchpoint, prefix);
  CheckNextAction(check, touchpoint, prefix);
  check.KnownEnum(touchpoint.customer_status_after(), contacts::v1::LifecycleStatus_IsValid,
                  Field(prefix, "customer_status_after"));
  CheckTags(check, touchpoint, prefix);
  CheckCustomAttributes(check, touchpoint, prefix);
  CheckAttachments(check, touchpoint, prefix);
  CheckSource(check, touchpoint, prefix);
}

}  // namespace touchline::touchpoints
