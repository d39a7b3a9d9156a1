// Where a customer's facts take it on one journey version: a pure, deterministic fold of the
// facts in (occur_time, fact_id) order through the version's mapping rules, from its entry.
// Whatever order the facts arrived in, the same facts give the same visits; a late fact is
// handled by folding again.
#ifndef TOUCHLINE_SERVICES_JOURNEYS_PATH_PATH_H_
#define TOUCHLINE_SERVICES_JOURNEYS_PATH_PATH_H_

#include <span>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "services/journeys/facts.pb.h"
#include "touchline/contacts/v1/customer.pb.h"
#include "touchline/journeys/v1/journey.pb.h"

namespace touchline::journeys {

// What EntryRule looks at of a customer.
struct CustomerProfile {
  std::string region;
  contacts::v1::CustomerLevel level = contacts::v1::CUSTOMER_LEVEL_UNSPECIFIED;
  contacts::v1::LifecycleStatus lifecycle_status = contacts::v1::LIFECYCLE_STATUS_UNSPECIFIED;
  std::vector<std::string> tags;
};

// Whether `customer` is selected by `rule` (every condition given holds; a repeated condition
// holds for any of its values; no condition: everyone).
bool Selects(const v1::EntryRule& rule, const CustomerProfile& customer);

// Whether the touchpoint matches `condition` (see TouchpointCondition). Custom attributes
// compare by their JSON text: a string's own text, "true"/"false", a number as
// google.protobuf.util writes it, a timestamp in RFC 3339.
bool Matches(const v1::TouchpointCondition& condition, const touchpoints::v1::Touchpoint& touchpoint);

// Whether the change matches `condition` (see CustomerCondition: the value is new).
bool Matches(const v1::CustomerCondition& condition, const internal::CustomerChange& change);

// Why a visit began.
enum class CauseKind { kEntered, kTouchpoint, kCustomerChange, kManual };

// One stay in a stage, as derived.
struct Visit {
  std::string stage_id;
  std::string from_stage_id;  // "" for the entry stage
  absl::Time enter_time;
  absl::Time exit_time = absl::InfiniteFuture();  // InfiniteFuture while in it
  CauseKind cause = CauseKind::kEntered;
  std::string cause_id;  // the fact's id; "" for kEntered
  std::string user_id;   // of a manual move
  std::string reason;    // of a manual move

  bool operator==(const Visit&) const = default;
};

// The visits of a customer who entered `journey` (a published version; its stages and rules
// valid) at `enter_time`, given `facts` (any order; those before enter_time, and manual moves
// of other journeys, are ignored). Facts are taken in (occur_time, fact_id) order; for each:
//  - a manual move of this journey moves the customer to its stage, whatever the stage kinds
//    and allow_backward (an unknown stage is ignored);
//  - otherwise, unless the customer is on a goal or exit stage, the first mapping rule that
//    matches the fact (a touchpoint rule a touchpoint, a customer rule a customer change),
//    whose from_stage_ids allow the current stage, and that leads to another stage (a later
//    one unless allow_backward), moves the customer there.
// The first visit is the entry stage at enter_time (kEntered); a move ends the current
// visit at the fact's time and starts the next.
std::vector<Visit> DerivePath(const v1::Journey& journey, absl::Time enter_time,
                              std::span<const internal::Fact> facts);

// Continues `visits` (a DerivePath result for facts all at or before `fact`'s time and id)
// with one more fact: the same as DerivePath over those facts plus `fact`, without folding
// them again. Returns whether it moved the customer.
bool Advance(const v1::Journey& journey, const internal::Fact& fact, std::vector<Visit>& visits);

}  // namespace touchline::journeys

#endif  // TOUCHLINE_SERVICES_JOURNEYS_PATH_PATH_H_
