// The rules a touchpoint must satisfy before it is stored: required fields, closed enums,
// time bounds, size limits counted in code points, UTF-8, ids and attachment metadata.
// Pure logic: the customer's existence is checked against the read model elsewhere.
#ifndef TOUCHLINE_SERVICES_TOUCHPOINTS_TOUCHPOINT_VALIDATION_H_
#define TOUCHLINE_SERVICES_TOUCHPOINTS_TOUCHPOINT_VALIDATION_H_

#include <string_view>

#include "absl/time/time.h"
#include "common/status/errors.h"
#include "touchline/touchpoints/v1/touchpoint.pb.h"

namespace touchline::touchpoints {

// Limits (see the field comments in touchpoint.proto).
inline constexpr int kMaxSubjectChars = 256;
inline constexpr int kMaxSummaryChars = 4000;
inline constexpr int kMaxContentChars = 65536;
inline constexpr int kMaxListItems = 20;        // needs, concerns, interests, people, files
inline constexpr int kMaxListItemChars = 500;
inline constexpr int kMaxTags = 50;
inline constexpr int kMaxTagChars = 64;
inline constexpr int kMaxEmotionLabels = 10;
inline constexpr int kMaxBehaviorMetrics = 50;
inline constexpr int kMaxCustomAttributes = 100;
inline constexpr int kMaxCustomStringChars = 4096;
inline constexpr int kMaxIdChars = 128;         // user ids, participant ids
inline constexpr int kMaxSourceSystemChars = 64;
inline constexpr int kMaxExternalIdChars = 256;
inline constexpr int kMaxUriChars = 2048;
inline constexpr int kMaxFileNameChars = 256;
inline constexpr absl::Duration kMaxDuration = absl::Hours(24 * 7);
// No touchpoint occurred before this (catches zero and epoch timestamps from buggy clients).
inline constexpr absl::Time kEarliestOccurTime = absl::FromUnixSeconds(946684800);  // 2000-01-01Z

struct ValidationOptions {
  // How far in the future occur_time may be (client clocks run fast).
  absl::Duration max_clock_skew = absl::Minutes(5);
};

// Normalises `touchpoint` in place (trims white space, including U+3000, from the ends of
// subject, summary, every list item, tag, role and id; drops empty list items; lower-cases
// sha256 and media_type; sorts and de-duplicates nothing the user ordered) and then checks
// every client-settable field, adding one violation per problem to `violations` with field
// paths that start with `prefix` (e.g. "touchpoint" -> "touchpoint.subject",
// "touchpoint.tags[3]", "touchpoint.custom_attributes[\"region\"]",
// "touchpoint.attachments[0].sha256"). Output-only fields are ignored (the caller clears
// them). `now` is the server's time; record_time, when unset, is left unset (the caller
// fills it in with `now`).
//
// Rules: customer_id, contact_person_ids and participant user ids are UUIDs or opaque ids of
// at most kMaxIdChars without white space (customer_id and contact_person_ids must be UUIDs);
// occur_time is required, not before kEarliestOccurTime, not after now + max_clock_skew;
// record_time, when set, not before occur_time and not after now + max_clock_skew;
// channel and category required; every enum value is one the proto defines; emotion labels
// unique and not UNSPECIFIED; duration within [0, kMaxDuration]; metrics finite; next_action
// has a description when any of its fields is set; tags unique, non-empty; custom attribute
// keys match [A-Za-z0-9_]{1,64} and values are set and finite; attachments have a uri with a
// scheme, a media type of the form type/subtype, a positive size and a 64-hex-digit sha256;
// source_system and external_id are both set or both empty; all text valid UTF-8 and within
// its limit (oversized input is rejected, never truncated).
//
// Violations come in field-number order (map entries in key order, so the output is
// deterministic). A list item's path carries the index the client sent, before blank items
// were dropped. A duplicate is reported at its later occurrence, naming the first:
// "touchpoint.tags[3]": "duplicates tags[1]". On violations the touchpoint may be partly
// normalised and must not be stored.
void NormalizeAndValidate(v1::Touchpoint& touchpoint, absl::Time now,
                          const ValidationOptions& options, std::string_view prefix,
                          status::FieldViolations& violations);

}  // namespace touchline::touchpoints

#endif  // TOUCHLINE_SERVICES_TOUCHPOINTS_TOUCHPOINT_VALIDATION_H_
