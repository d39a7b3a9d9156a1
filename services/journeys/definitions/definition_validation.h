// The rules a journey definition must satisfy before it is stored (journey.proto's comments),
// checked with the shared field checker: one wording per problem, lengths in code points.
// Pure logic.
#ifndef TOUCHLINE_SERVICES_JOURNEYS_DEFINITIONS_DEFINITION_VALIDATION_H_
#define TOUCHLINE_SERVICES_JOURNEYS_DEFINITIONS_DEFINITION_VALIDATION_H_

#include <cstddef>
#include <string_view>

#include "common/status/errors.h"
#include "touchline/journeys/v1/journey.pb.h"

namespace touchline::journeys {

// Limits (see journey.proto).
inline constexpr size_t kMaxJourneyNameChars = 200;
inline constexpr size_t kMaxDescriptionChars = 2000;
inline constexpr int kMinStages = 2;
inline constexpr size_t kMaxStages = 50;
inline constexpr size_t kMaxStageIdChars = 63;
inline constexpr size_t kMaxStageNameChars = 100;
inline constexpr int kMaxStalledAfterDays = 3650;
inline constexpr size_t kMaxMappingRules = 200;
// Regions, tags and custom attribute keys.
inline constexpr size_t kMaxTagChars = 64;
inline constexpr size_t kMaxAttributeValueChars = 256;

// Trims white space (U+3000 too) from both ends of the display names, the description, the
// regions and the tags, then checks every client-settable field of `journey`, adding one
// violation per problem to `violations` with paths under `prefix` ("journey" ->
// "journey.stages[2].stage_id", "journey.mapping_rules[0].touchpoint.channels[1]",
// "journey.mapping_rules[1].touchpoint.custom_attributes[\"plan\"]"). Output-only fields are
// not looked at. Stage ids, custom attribute keys and values are kept exactly as sent.
//
// Rules: display_name 1 to 200 characters, description at most 2,000; 2 to 50 stages, each
// with a unique stage_id of 1 to 63 characters of a-z, 0-9, "_" and "-", a display_name of 1
// to 100 characters and a known kind; exactly one STAGE_KIND_ENTRY stage, the first; at least
// one STAGE_KIND_GOAL; stalled_after_days 0 to 3650, and 0 on goal and exit stages; entry rule
// regions and tags of 1 to 64 characters, its enum values known and not UNSPECIFIED; at most
// 200 mapping rules, each with a to_stage_id naming a stage, from_stage_ids naming stages that
// are neither goal nor exit stages (those are terminal), and one trigger: a touchpoint
// condition with at least one condition (enum values known and not UNSPECIFIED, tags of 1 to
// 64 characters, custom attribute keys of 1 to 64 and values of 1 to 256 characters), or a
// customer condition with at least one condition (enum values known and not UNSPECIFIED,
// tag_added at most 64 characters). Every text valid UTF-8; single-line texts (all but the
// description) without control characters. Violations come in field order (map entries in
// key order). On violations `journey` may be partly normalised and must not be stored.
void NormalizeAndValidate(v1::Journey& journey, std::string_view prefix,
                          status::FieldViolations& violations);

}  // namespace touchline::journeys

#endif  // TOUCHLINE_SERVICES_JOURNEYS_DEFINITIONS_DEFINITION_VALIDATION_H_
