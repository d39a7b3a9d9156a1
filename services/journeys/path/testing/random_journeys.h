// Random journeys and facts for property tests of the path engine and of what is computed
// from paths (the stage analytics): seeded, so a failure replays.
#ifndef TOUCHLINE_SERVICES_JOURNEYS_PATH_TESTING_RANDOM_JOURNEYS_H_
#define TOUCHLINE_SERVICES_JOURNEYS_PATH_TESTING_RANDOM_JOURNEYS_H_

#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "services/journeys/facts.pb.h"
#include "touchline/journeys/v1/journey.pb.h"

namespace touchline::journeys::path_testing {

using internal::Fact;

// A fact `id` at `at`, of no kind yet.
inline Fact FactAt(std::string_view id, absl::Time at) {
  Fact fact;
  fact.set_fact_id(std::string(id));
  fact.mutable_occur_time()->set_seconds(absl::ToUnixSeconds(at));
  fact.mutable_occur_time()->set_nanos(static_cast<int32_t>(
      (at - absl::FromUnixSeconds(absl::ToUnixSeconds(at))) / absl::Nanoseconds(1)));
  return fact;
}

// Journeys of 2 to 8 stages with up to 12 random rules, and up to 40 facts of every kind for
// them, around `enter` (some before it), with few distinct times and ids so that ties are
// common.
class RandomJourneys {
 public:
  RandomJourneys(uint32_t seed, absl::Time enter) : rng_(seed), enter_(enter) {}

  v1::Journey Journey() {
    v1::Journey journey;
    journey.set_journey_id("random");
    journey.set_allow_backward(Chance(2));
    const int stages = Between(2, 8);
    bool goal = false;
    for (int i = 0; i < stages; ++i) {
      v1::Stage& stage = *journey.add_stages();
      stage.set_stage_id(absl::StrCat("s", i));
      stage.set_display_name(absl::StrCat("阶段", i));
      v1::StageKind kind = v1::STAGE_KIND_NORMAL;
      if (i == 0) {
        kind = v1::STAGE_KIND_ENTRY;
      } else if (Chance(4)) {
        kind = Chance(2) ? v1::STAGE_KIND_GOAL : v1::STAGE_KIND_EXIT;
      }
      goal = goal || kind == v1::STAGE_KIND_GOAL;
      stage.set_kind(kind);
    }
    if (!goal) journey.mutable_stages(stages - 1)->set_kind(v1::STAGE_KIND_GOAL);

    const int rules = Between(0, 12);
    for (int i = 0; i < rules; ++i) {
      v1::MappingRule& rule = *journey.add_mapping_rules();
      rule.set_to_stage_id(journey.stages(Between(0, stages - 1)).stage_id());
      if (Chance(2)) {
        for (int n = Between(1, 2); n > 0; --n) {
          rule.add_from_stage_ids(journey.stages(Between(0, stages - 1)).stage_id());
        }
      }
      if (Chance(2)) {
        TouchpointCondition(*rule.mutable_touchpoint());
      } else {
        CustomerCondition(*rule.mutable_customer());
      }
    }
    return journey;
  }

  std::vector<Fact> Facts(const v1::Journey& journey) {
    std::vector<Fact> facts;
    const int count = Between(0, 40);
    for (int i = 0; i < count; ++i) {
      // Few distinct times and ids in random order, so ties are common; some before entry.
      Fact fact = FactAt(absl::StrCat("f", Between(0, 99), "-", i),
                         enter_ + absl::Minutes(Between(-3, 15)));
      const int kind = Between(0, 9);
      if (kind < 5) {
        Touchpoint(*fact.mutable_touchpoint());
      } else if (kind < 8) {
        Change(*fact.mutable_customer());
      } else {
        internal::ManualMove& move = *fact.mutable_manual();
        move.set_journey_id(Chance(5) ? "another" : journey.journey_id());
        move.set_to_stage_id(
            Chance(6) ? "unknown"
                      : journey.stages(Between(0, journey.stages_size() - 1)).stage_id());
        move.set_user_id(absl::StrCat("user-", Between(1, 3)));
        move.set_reason("随机");
      }
      facts.push_back(std::move(fact));
    }
    return facts;
  }

  std::mt19937& rng() { return rng_; }

 private:
  int Between(int low, int high) { return std::uniform_int_distribution<int>(low, high)(rng_); }
  bool Chance(int one_in) { return Between(1, one_in) == 1; }

  void TouchpointCondition(v1::TouchpointCondition& condition) {
    do {
      if (Chance(2)) condition.add_channels(kChannels[Between(0, 2)]);
      if (Chance(3)) condition.add_outcomes(kOutcomes[Between(0, 2)]);
      if (Chance(3)) condition.add_tags(kTags[Between(0, 2)]);
      if (Chance(4)) (*condition.mutable_custom_attributes())["score"] = Chance(2) ? "1" : "2";
    } while (condition.ByteSizeLong() == 0);
  }

  void CustomerCondition(v1::CustomerCondition& condition) {
    do {
      if (Chance(2)) condition.add_lifecycle_statuses(Status());
      if (Chance(3)) condition.add_levels(Level());
      if (Chance(3)) condition.set_tag_added(kTags[Between(0, 2)]);
    } while (condition.ByteSizeLong() == 0);
  }

  void Touchpoint(touchpoints::v1::Touchpoint& touchpoint) {
    touchpoint.set_channel(kChannels[Between(0, 2)]);
    touchpoint.set_outcome(kOutcomes[Between(0, 2)]);
    touchpoint.set_sentiment(static_cast<touchpoints::v1::Sentiment>(Between(0, 3)));
    for (int label = 1; label <= 6; ++label) {
      if (Chance(4))
        touchpoint.add_emotion_labels(static_cast<touchpoints::v1::EmotionLabel>(label));
    }
    if (Chance(2)) touchpoint.add_tags(kTags[Between(0, 2)]);
    if (Chance(2)) {
      (*touchpoint.mutable_custom_attributes())["score"].set_int_value(Between(1, 2));
    }
  }

  void Change(internal::CustomerChange& change) {
    change.set_lifecycle_before(Status());
    change.set_lifecycle_after(Status());
    change.set_level_before(Level());
    change.set_level_after(Level());
    if (Chance(2)) change.add_tags_added(kTags[Between(0, 2)]);
  }

  contacts::v1::LifecycleStatus Status() {
    return static_cast<contacts::v1::LifecycleStatus>(Between(1, 3));
  }
  contacts::v1::CustomerLevel Level() {
    return static_cast<contacts::v1::CustomerLevel>(Between(1, 3));
  }

  static constexpr touchpoints::v1::Channel kChannels[] = {touchpoints::v1::CHANNEL_PHONE,
                                                           touchpoints::v1::CHANNEL_WECOM,
                                                           touchpoints::v1::CHANNEL_STORE_VISIT};
  static constexpr touchpoints::v1::Outcome kOutcomes[] = {touchpoints::v1::OUTCOME_CONNECTED,
                                                           touchpoints::v1::OUTCOME_QUOTED,
                                                           touchpoints::v1::OUTCOME_WON};
  static constexpr const char* kTags[] = {"甲", "乙", "丙"};

  std::mt19937 rng_;
  absl::Time enter_;
};

// Whether `a` folds before `b`: (occur_time, fact_id) order.
inline bool InOrder(const Fact& a, const Fact& b) {
  if (a.occur_time().seconds() != b.occur_time().seconds()) {
    return a.occur_time().seconds() < b.occur_time().seconds();
  }
  if (a.occur_time().nanos() != b.occur_time().nanos()) {
    return a.occur_time().nanos() < b.occur_time().nanos();
  }
  return a.fact_id() < b.fact_id();
}

}  // namespace touchline::journeys::path_testing

#endif  // TOUCHLINE_SERVICES_JOURNEYS_PATH_TESTING_RANDOM_JOURNEYS_H_
