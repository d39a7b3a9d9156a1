// Journeys for the tests: a stage, a small valid journey to start from, the seed's retail
// map, and a rename.
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

// The seed's retail map, as a draft: awareness (entry) -> consideration (a store visit or a
// call) -> purchase (goal: a won deal), and lost (exit: a lost deal while considering), for the
// customers of 华东.
inline v1::Journey RetailJourney() {
  v1::Journey journey;
  journey.set_display_name("零售客户旅程");
  *journey.add_stages() = StageOf("awareness", "认知", v1::STAGE_KIND_ENTRY);
  *journey.add_stages() = StageOf("consideration", "考虑", v1::STAGE_KIND_NORMAL);
  *journey.add_stages() = StageOf("purchase", "购买", v1::STAGE_KIND_GOAL);
  *journey.add_stages() = StageOf("lost", "流失", v1::STAGE_KIND_EXIT);
  journey.mutable_entry_rule()->add_regions("华东");
  v1::MappingRule* consider = journey.add_mapping_rules();
  consider->set_to_stage_id("consideration");
  consider->mutable_touchpoint()->add_channels(touchpoints::v1::CHANNEL_STORE_VISIT);
  consider->mutable_touchpoint()->add_channels(touchpoints::v1::CHANNEL_PHONE);
  v1::MappingRule* won = journey.add_mapping_rules();
  won->set_to_stage_id("purchase");
  won->mutable_touchpoint()->add_outcomes(touchpoints::v1::OUTCOME_WON);
  v1::MappingRule* lost = journey.add_mapping_rules();
  lost->set_to_stage_id("lost");
  lost->add_from_stage_ids("consideration");
  lost->mutable_touchpoint()->add_outcomes(touchpoints::v1::OUTCOME_LOST);
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
