// Journeys for the definitions' tests: a stage, a small valid journey to start from, and a
// rename.
#ifndef TOUCHLINE_SERVICES_JOURNEYS_DEFINITIONS_TESTING_SAMPLE_JOURNEY_H_
#define TOUCHLINE_SERVICES_JOURNEYS_DEFINITIONS_TESTING_SAMPLE_JOURNEY_H_

#include <string>
#include <utility>

#include "touchline/journeys/v1/journey.pb.h"
#include "touchline/journeys/v1/journeys_service.pb.h"
#include "touchline/touchpoints/v1/touchpoint.pb.h"

namespace touchline::journeys::testing {

inline v1::Stage StageOf(std::string id, std::string name, v1::StageKind kind) {
  v1::Stage stage;
  stage.set_stage_id(std::move(id));
  stage.set_display_name(std::move(name));
  stage.set_kind(kind);
  return stage;
}

// Entry "lead", "visit", goal "signed", and a phone call moving customers to "visit".
inline v1::Journey SampleJourney(std::string name = "经销商旅程") {
  v1::Journey journey;
  journey.set_display_name(std::move(name));
  *journey.add_stages() = StageOf("lead", "线索", v1::STAGE_KIND_ENTRY);
  *journey.add_stages() = StageOf("visit", "拜访", v1::STAGE_KIND_NORMAL);
  *journey.add_stages() = StageOf("signed", "签约", v1::STAGE_KIND_GOAL);
  v1::MappingRule* rule = journey.add_mapping_rules();
  rule->set_to_stage_id("visit");
  rule->mutable_touchpoint()->add_channels(touchpoints::v1::CHANNEL_PHONE);
  return journey;
}

// An update of the journey's display name, of the version with `etag` when it is set.
inline v1::UpdateJourneyRequest RenameRequest(const std::string& journey_id, std::string name,
                                              std::string etag = "") {
  v1::UpdateJourneyRequest request;
  request.mutable_journey()->set_journey_id(journey_id);
  request.mutable_journey()->set_display_name(std::move(name));
  request.mutable_journey()->set_etag(std::move(etag));
  request.mutable_update_mask()->add_paths("display_name");
  return request;
}

}  // namespace touchline::journeys::testing

#endif  // TOUCHLINE_SERVICES_JOURNEYS_DEFINITIONS_TESTING_SAMPLE_JOURNEY_H_
