#include "services/touchpoints/touchpoint_validation.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/status/time_fields.h"
#include "common/text/text.h"
#include "common/validation/field_checker.h"
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
using text::IsValidUtf8;
using text::TrimSpace;
using validation::ControlCharacters;
using validation::FieldChecker;
using validation::FieldPath;
using validation::ItemPath;

// Limits the proto states that the header has no constant for.
constexpr size_t kMaxRoleChars = 64;
constexpr size_t kMaxNextActionChars = 1000;
constexpr size_t kMaxMetricKeyChars = kMaxTagChars;  // "keys as tags"
constexpr size_t kMaxCustomKeyChars = 64;
constexpr size_t kMaxMediaTypeNameChars = 127;  // RFC 6838 restricted-name, each side

// Single-line texts hold no control characters; multi-line ones tabs and line breaks.
constexpr validation::TextRule kSingleLine{.controls = ControlCharacters::kForbidden};
constexpr validation::TextRule kRequiredSingleLine{.required = true,
                                                   .controls = ControlCharacters::kForbidden};
constexpr validation::TextRule kMultiLine{.controls = ControlCharacters::kTabAndLineBreaks};

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

// [A-Za-z0-9_]{1,64}.
constexpr validation::TokenShape kCustomAttributeKey{
    .max_length = kMaxCustomKeyChars, .upper_case = true, .punctuation = "_"};

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

// The shared field checks, and those that need the server's clock or touchpoint limits.
class Checker : public validation::FieldChecker {
 public:
  Checker(const ValidationOptions& options, absl::Time now, status::FieldViolations& violations)
      : FieldChecker(violations), options_(options), now_(now), violations_(violations) {}

  // An opaque id (a user id): one token of at most kMaxIdChars.
  bool OpaqueId(std::string& value, const std::string& path, bool required) {
    return Text(value, path, kMaxIdChars, required ? kRequiredSingleLine : kSingleLine) &&
           NoWhiteSpace(value, path);
  }

  // A required UUID (customer ids, contact person ids), trimmed first.
  bool TrimmedUuid(std::string& value, const std::string& path) {
    return Trim(value, path) && Uuid(value, path);
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
      Text(*items.Mutable(i), ItemPath(path, sent_index[static_cast<size_t>(i)]), kMaxListItemChars,
           kMultiLine);
    }
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
        Text(*value.mutable_string_value(), path, kMaxCustomStringChars, {.trim = false});
        break;
      case type::v1::CustomValue::kDoubleValue:
        Finite(value.double_value(), path);
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
  const std::string path = FieldPath(prefix, "contact_person_ids");
  auto& ids = *touchpoint.mutable_contact_person_ids();
  check.MaxEntries(static_cast<size_t>(ids.size()), path, kMaxListItems);
  validation::DuplicateCheck repeats("contact_person_ids");
  for (int i = 0; i < ids.size(); ++i) {
    const std::string item_path = ItemPath(path, static_cast<size_t>(i));
    if (!check.TrimmedUuid(*ids.Mutable(i), item_path)) continue;
    // UUIDs compare case-insensitively.
    repeats.First(check, absl::AsciiStrToLower(ids.Get(i)), static_cast<size_t>(i), item_path);
  }
}

void CheckParticipants(Checker& check, v1::Touchpoint& touchpoint, std::string_view prefix) {
  const std::string path = FieldPath(prefix, "participants");
  auto& participants = *touchpoint.mutable_participants();
  check.MaxEntries(static_cast<size_t>(participants.size()), path, kMaxListItems);
  validation::DuplicateCheck repeats("participants", ".user_id");
  for (int i = 0; i < participants.size(); ++i) {
    v1::Participant& participant = *participants.Mutable(i);
    const std::string participant_path = ItemPath(path, static_cast<size_t>(i));
    const std::string user_path = FieldPath(participant_path, "user_id");
    if (check.OpaqueId(*participant.mutable_user_id(), user_path, /*required=*/true)) {
      repeats.First(check, participant.user_id(), static_cast<size_t>(i), user_path);
    }
    check.RequiredEnum(participant.kind(), v1::ParticipantKind_IsValid,
                       FieldPath(participant_path, "kind"));
    check.Text(*participant.mutable_role(), FieldPath(participant_path, "role"), kMaxRoleChars,
               kSingleLine);
  }
}

void CheckTimes(Checker& check, v1::Touchpoint& touchpoint, std::string_view prefix) {
  const std::string occur_path = FieldPath(prefix, "occur_time");
  absl::Time occur_time;
  bool occur_ok = false;
  if (check.Required(touchpoint.has_occur_time(), occur_path) &&
      check.Time(touchpoint.occur_time(), occur_path, &occur_time)) {
    if (occur_time < kEarliestOccurTime) {
      check.Add(occur_path,
                absl::StrCat("must not be before ", absl::FormatTime("%Y-%m-%d", kEarliestOccurTime,
                                                                     absl::UTCTimeZone())));
    } else {
      occur_ok = check.NotInFuture(occur_time, occur_path);
    }
  }
  if (!touchpoint.has_record_time()) return;  // the caller fills in `now`
  const std::string record_path = FieldPath(prefix, "record_time");
  absl::Time record_time;
  if (!check.Time(touchpoint.record_time(), record_path, &record_time)) return;
  if (occur_ok && record_time < occur_time) {
    check.Add(record_path, "must not be before occur_time");
    return;
  }
  check.NotInFuture(record_time, record_path);
}

void CheckEmotionLabels(Checker& check, v1::Touchpoint& touchpoint, std::string_view prefix) {
  const std::string path = FieldPath(prefix, "emotion_labels");
  const auto& labels = touchpoint.emotion_labels();
  check.MaxEntries(static_cast<size_t>(labels.size()), path, kMaxEmotionLabels);
  validation::DuplicateCheck repeats("emotion_labels");
  for (int i = 0; i < labels.size(); ++i) {
    const std::string item_path = ItemPath(path, static_cast<size_t>(i));
    const int label = labels.Get(i);
    if (!check.KnownEnum(label, v1::EmotionLabel_IsValid, item_path)) continue;
    if (label == v1::EMOTION_LABEL_UNSPECIFIED) {
      check.Add(item_path, "must not be EMOTION_LABEL_UNSPECIFIED");
      continue;
    }
    repeats.First(check, std::to_string(label), static_cast<size_t>(i), item_path);
  }
}

void CheckBehaviorMetrics(Checker& check, v1::Touchpoint& touchpoint, std::string_view prefix) {
  const std::string path = FieldPath(prefix, "behavior_metrics");
  auto& metrics = *touchpoint.mutable_behavior_metrics();
  check.MaxEntries(metrics.size(), path, kMaxBehaviorMetrics);
  for (const auto* entry : SortedEntries(metrics)) {
    const std::string& key = entry->first;
    const std::string entry_path = validation::EntryPath(path, key);
    // Keys follow the rules of tags; a key cannot be trimmed in place, so padding is an error.
    FieldChecker key_check = check.ForKeys();
    if (check.Encoding(key, entry_path) && key_check.Required(!key.empty(), entry_path)) {
      if (TrimSpace(key) != key) {
        key_check.Add(entry_path, "must not start or end with white space");
      } else if (key_check.MaxChars(key, entry_path, kMaxMetricKeyChars)) {
        key_check.Controls(key, entry_path, ControlCharacters::kForbidden);
      }
    }
    check.Finite(entry->second, entry_path);
  }
}

void CheckNextAction(Checker& check, v1::Touchpoint& touchpoint, std::string_view prefix) {
  if (!touchpoint.has_next_action()) return;
  const std::string path = FieldPath(prefix, "next_action");
  v1::NextAction& action = *touchpoint.mutable_next_action();
  const std::string description_path = FieldPath(path, "description");
  const bool description_ok =
      check.Text(*action.mutable_description(), description_path, kMaxNextActionChars, kMultiLine);
  check.OpaqueId(*action.mutable_owner_id(), FieldPath(path, "owner_id"), /*required=*/false);
  // An empty next_action is the same as none; an owner or a due time needs a description.
  if (description_ok && (!action.owner_id().empty() || action.has_due_time())) {
    check.Required(!action.description().empty(), description_path);
  }
  if (action.has_due_time()) {
    absl::Time unused;
    check.Time(action.due_time(), FieldPath(path, "due_time"), &unused);
  }
}

void CheckTags(Checker& check, v1::Touchpoint& touchpoint, std::string_view prefix) {
  const std::string path = FieldPath(prefix, "tags");
  auto& tags = *touchpoint.mutable_tags();
  check.MaxEntries(static_cast<size_t>(tags.size()), path, kMaxTags);
  validation::DuplicateCheck repeats("tags");
  for (int i = 0; i < tags.size(); ++i) {
    const std::string item_path = ItemPath(path, static_cast<size_t>(i));
    if (check.Text(*tags.Mutable(i), item_path, kMaxTagChars, kRequiredSingleLine)) {
      repeats.First(check, tags.Get(i), static_cast<size_t>(i), item_path);
    }
  }
}

void CheckCustomAttributes(Checker& check, v1::Touchpoint& touchpoint, std::string_view prefix) {
  const std::string path = FieldPath(prefix, "custom_attributes");
  auto& attributes = *touchpoint.mutable_custom_attributes();
  check.MaxEntries(attributes.size(), path, kMaxCustomAttributes);
  for (auto* entry : SortedEntries(attributes)) {
    const std::string entry_path = validation::EntryPath(path, entry->first);
    if (check.Encoding(entry->first, entry_path)) {
      check.ForKeys().Token(entry->first, entry_path, kCustomAttributeKey);
    }
    check.CustomValue(entry->second, entry_path);
  }
}

void CheckAttachments(Checker& check, v1::Touchpoint& touchpoint, std::string_view prefix) {
  const std::string path = FieldPath(prefix, "attachments");
  auto& attachments = *touchpoint.mutable_attachments();
  check.MaxEntries(static_cast<size_t>(attachments.size()), path, kMaxListItems);
  for (int i = 0; i < attachments.size(); ++i) {
    v1::Attachment& attachment = *attachments.Mutable(i);
    const std::string attachment_path = ItemPath(path, static_cast<size_t>(i));

    const std::string uri_path = FieldPath(attachment_path, "uri");
    if (check.Text(*attachment.mutable_uri(), uri_path, kMaxUriChars, kRequiredSingleLine) &&
        !HasUriScheme(attachment.uri())) {
      check.Add(uri_path, "must be an absolute URI with a scheme, e.g. s3://bucket/key");
    }

    const std::string media_type_path = FieldPath(attachment_path, "media_type");
    std::string& media_type = *attachment.mutable_media_type();
    if (check.Trim(media_type, media_type_path)) {
      absl::AsciiStrToLower(&media_type);
      if (check.Required(!media_type.empty(), media_type_path) && !IsMediaType(media_type)) {
        check.Add(media_type_path,
                  "must be a media type of the form type/subtype, e.g. audio/mpeg");
      }
    }

    if (attachment.size_bytes() <= 0) {
      check.Add(FieldPath(attachment_path, "size_bytes"), "must be positive");
    }

    const std::string sha256_path = FieldPath(attachment_path, "sha256");
    std::string& sha256 = *attachment.mutable_sha256();
    if (check.Trim(sha256, sha256_path)) {
      absl::AsciiStrToLower(&sha256);
      if (check.Required(!sha256.empty(), sha256_path) &&
          (sha256.size() != 64 || !IsHexDigits(sha256))) {
        check.Add(sha256_path, "must be 64 hexadecimal digits");
      }
    }

    check.Text(*attachment.mutable_file_name(), FieldPath(attachment_path, "file_name"),
               kMaxFileNameChars, kSingleLine);
  }
}

void CheckSource(Checker& check, v1::Touchpoint& touchpoint, std::string_view prefix) {
  const std::string system_path = FieldPath(prefix, "source_system");
  const std::string external_path = FieldPath(prefix, "external_id");
  const bool system_ok = check.Text(*touchpoint.mutable_source_system(), system_path,
                                    kMaxSourceSystemChars, kSingleLine);
  const bool external_ok = check.Text(*touchpoint.mutable_external_id(), external_path,
                                      kMaxExternalIdChars, kSingleLine);
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
  check.TrimmedUuid(*touchpoint.mutable_customer_id(), FieldPath(prefix, "customer_id"));
  CheckContactPersonIds(check, touchpoint, prefix);
  CheckParticipants(check, touchpoint, prefix);
  CheckTimes(check, touchpoint, prefix);
  check.RequiredEnum(touchpoint.channel(), v1::Channel_IsValid, FieldPath(prefix, "channel"));
  check.KnownEnum(touchpoint.direction(), v1::Direction_IsValid, FieldPath(prefix, "direction"));
  check.RequiredEnum(touchpoint.category(), v1::Category_IsValid, FieldPath(prefix, "category"));
  check.Text(*touchpoint.mutable_subject(), FieldPath(prefix, "subject"), kMaxSubjectChars,
             kSingleLine);
  check.Text(*touchpoint.mutable_summary(), FieldPath(prefix, "summary"), kMaxSummaryChars,
             kMultiLine);
  // Content may be a transcript: kept exactly as sent, leading indentation included.
  check.Text(*touchpoint.mutable_content(), FieldPath(prefix, "content"), kMaxContentChars,
             {.trim = false, .controls = ControlCharacters::kTabAndLineBreaks});
  check.TextList(*touchpoint.mutable_needs(), FieldPath(prefix, "needs"));
  check.TextList(*touchpoint.mutable_concerns(), FieldPath(prefix, "concerns"));
  check.TextList(*touchpoint.mutable_interests(), FieldPath(prefix, "interests"));
  check.KnownEnum(touchpoint.outcome(), v1::Outcome_IsValid, FieldPath(prefix, "outcome"));
  check.KnownEnum(touchpoint.sentiment(), v1::Sentiment_IsValid, FieldPath(prefix, "sentiment"));
  CheckEmotionLabels(check, touchpoint, prefix);
  if (touchpoint.has_duration()) {
    check.DurationValue(touchpoint.duration(), FieldPath(prefix, "duration"));
  }
  CheckBehaviorMetrics(check, touchpoint, prefix);
  CheckNextAction(check, touchpoint, prefix);
  check.KnownEnum(touchpoint.customer_status_after(), contacts::v1::LifecycleStatus_IsValid,
                  FieldPath(prefix, "customer_status_after"));
  CheckTags(check, touchpoint, prefix);
  CheckCustomAttributes(check, touchpoint, prefix);
  CheckAttachments(check, touchpoint, prefix);
  CheckSource(check, touchpoint, prefix);
}

}  // namespace touchline::touchpoints
