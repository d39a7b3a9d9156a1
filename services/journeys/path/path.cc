#include "services/journeys/path/path.h"

#include <algorithm>
#include <optional>
#include <string_view>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "google/protobuf/timestamp.pb.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/wrappers.pb.h"

namespace touchline::journeys {
namespace {

using Stage = v1::Stage;

absl::Time ToTime(const google::protobuf::Timestamp& timestamp) {
  return absl::FromUnixSeconds(timestamp.seconds()) + absl::Nanoseconds(timestamp.nanos());
}

template <typename Values, typename Value>
bool Contains(const Values& values, const Value& value) {
  return std::find(values.begin(), values.end(), value) != values.end();
}

// Whether `values` is empty (the condition is not given) or holds `value`.
template <typename Values, typename Value>
bool AllowsValue(const Values& values, const Value& value) {
  return values.empty() || Contains(values, value);
}

// Whether `wanted` is empty or shares a tag with `tags`; tags compare as bytes.
template <typename Wanted, typename Tags>
bool AllowsTags(const Wanted& wanted, const Tags& tags) {
  if (wanted.empty()) return true;
  return std::any_of(tags.begin(), tags.end(),
                     [&](const std::string& tag) { return Contains(wanted, tag); });
}

// `message` as google.protobuf.util prints it in JSON, without the quotes it puts around an
// int64 or a timestamp; nullopt when it cannot print it (a timestamp out of range).
std::optional<std::string> JsonText(const google::protobuf::Message& message) {
  std::string printed;
  if (!google::protobuf::util::MessageToJsonString(message, &printed).ok()) return std::nullopt;
  if (printed.size() >= 2 && printed.front() == '"' && printed.back() == '"') {
    printed = printed.substr(1, printed.size() - 2);
  }
  return printed;
}

// The custom attribute as TouchpointCondition.custom_attributes writes it: a string's own text
// (not JSON-escaped), otherwise the value's JSON text.
std::optional<std::string> AttributeText(const type::v1::CustomValue& value) {
  switch (value.kind_case()) {
    case type::v1::CustomValue::kStringValue:
      return value.string_value();
    case type::v1::CustomValue::kIntValue: {
      google::protobuf::Int64Value number;
      number.set_value(value.int_value());
      return JsonText(number);
    }
    case type::v1::CustomValue::kDoubleValue: {
      google::protobuf::DoubleValue number;
      number.set_value(value.double_value());
      return JsonText(number);
    }
    case type::v1::CustomValue::kBoolValue:
      return value.bool_value() ? "true" : "false";
    case type::v1::CustomValue::kTimestampValue:
      return JsonText(value.timestamp_value());
    case type::v1::CustomValue::KIND_NOT_SET:
      break;
  }
  return std::nullopt;
}

bool AllowsAttributes(const google::protobuf::Map<std::string, std::string>& wanted,
                      const touchpoints::v1::Touchpoint& touchpoint) {
  for (const auto& [key, text] : wanted) {
    const auto found = touchpoint.custom_attributes().find(key);
    if (found == touchpoint.custom_attributes().end()) return false;
    const std::optional<std::string> shown = AttributeText(found->second);
    if (!shown.has_value() || *shown != text) return false;
  }
  return true;
}

bool IsTerminal(v1::StageKind kind) {
  return kind == v1::STAGE_KIND_GOAL || kind == v1::STAGE_KIND_EXIT;
}

// The journey's stages by id, with their place in the funnel.
class StageOrder {
 public:
  explicit StageOrder(const v1::Journey& journey) : journey_(journey) {
    positions_.reserve(journey.stages_size());
    for (int i = 0; i < journey.stages_size(); ++i) {
      positions_.emplace(journey.stages(i).stage_id(), i);
    }
  }

  std::optional<int> Position(std::string_view stage_id) const {
    const auto found = positions_.find(stage_id);
    if (found == positions_.end()) return std::nullopt;
    return found->second;
  }

  const Stage& At(int position) const { return journey_.stages(position); }

 private:
  const v1::Journey& journey_;
  absl::flat_hash_map<std::string_view, int> positions_;
};

// Whether `rule` is triggered by `fact` (of the same kind, and matching).
bool Triggers(const v1::MappingRule& rule, const internal::Fact& fact) {
  if (rule.has_touchpoint() && fact.has_touchpoint()) {
    return Matches(rule.touchpoint(), fact.touchpoint());
  }
  if (rule.has_customer() && fact.has_customer()) {
    return Matches(rule.customer(), fact.customer());
  }
  return false;
}

// The stage the first rule that moves the customer from `current` on `fact` leads to.
std::optional<std::string_view> RuleTarget(const v1::Journey& journey, const StageOrder& order,
                                           int current, const internal::Fact& fact) {
  const std::string& current_id = order.At(current).stage_id();
  for (const v1::MappingRule& rule : journey.mapping_rules()) {
    if (!AllowsValue(rule.from_stage_ids(), current_id)) continue;
    const std::optional<int> target = order.Position(rule.to_stage_id());
    if (!target.has_value() || *target == current) continue;
    if (*target < current && !journey.allow_backward()) continue;
    if (Triggers(rule, fact)) return rule.to_stage_id();
  }
  return std::nullopt;
}

// Ends the current visit at `next.enter_time` and starts `next` from its stage.
void MoveTo(std::vector<Visit>& visits, Visit next) {
  Visit& current = visits.back();
  current.exit_time = next.enter_time;
  next.from_stage_id = current.stage_id;
  visits.push_back(std::move(next));
}

bool Apply(const v1::Journey& journey, const StageOrder& order, const internal::Fact& fact,
           absl::Time at, std::vector<Visit>& visits) {
  if (visits.empty() || at < visits.front().enter_time) return false;
  const std::string& current_id = visits.back().stage_id;
  Visit next;
  next.enter_time = at;
  switch (fact.kind_case()) {
    case internal::Fact::kManual: {
      const internal::ManualMove& move = fact.manual();
      if (move.journey_id() != journey.journey_id() || move.to_stage_id() == current_id ||
          !order.Position(move.to_stage_id()).has_value()) {
        return false;
      }
      next.stage_id = move.to_stage_id();
      next.cause = CauseKind::kManual;
      next.user_id = move.user_id();
      next.reason = move.reason();
      break;
    }
    case internal::Fact::kTouchpoint:
    case internal::Fact::kCustomer: {
      const std::optional<int> current = order.Position(current_id);
      if (!current.has_value() || IsTerminal(order.At(*current).kind())) return false;
      const std::optional<std::string_view> target = RuleTarget(journey, order, *current, fact);
      if (!target.has_value()) return false;
      next.stage_id = std::string(*target);
      next.cause = fact.has_touchpoint() ? CauseKind::kTouchpoint : CauseKind::kCustomerChange;
      break;
    }
    case internal::Fact::KIND_NOT_SET:
      return false;
  }
  next.cause_id = fact.fact_id();
  MoveTo(visits, std::move(next));
  return true;
}

}  // namespace

bool Selects(const v1::EntryRule& rule, const CustomerProfile& customer) {
  return AllowsValue(rule.regions(), customer.region) &&
         AllowsValue(rule.levels(), customer.level) &&
         AllowsValue(rule.lifecycle_statuses(), customer.lifecycle_status) &&
         AllowsTags(rule.tags(), customer.tags);
}

bool Matches(const v1::TouchpointCondition& condition,
             const touchpoints::v1::Touchpoint& touchpoint) {
  const bool given = !condition.channels().empty() || !condition.directions().empty() ||
                     !condition.categories().empty() || !condition.outcomes().empty() ||
                     !condition.sentiments().empty() || !condition.tags().empty() ||
                     !condition.custom_attributes().empty();
  return given && AllowsValue(condition.channels(), touchpoint.channel()) &&
         AllowsValue(condition.directions(), touchpoint.direction()) &&
         AllowsValue(condition.categories(), touchpoint.category()) &&
         AllowsValue(condition.outcomes(), touchpoint.outcome()) &&
         AllowsValue(condition.sentiments(), touchpoint.sentiment()) &&
         AllowsTags(condition.tags(), touchpoint.tags()) &&
         AllowsAttributes(condition.custom_attributes(), touchpoint);
}

bool Matches(const v1::CustomerCondition& condition, const internal::CustomerChange& change) {
  // A value listed is new when the customer has it after the change and did not before.
  const auto is_new = [](const auto& listed, auto before, auto after) {
    return listed.empty() || (Contains(listed, after) && !Contains(listed, before));
  };
  const bool given = !condition.lifecycle_statuses().empty() || !condition.levels().empty() ||
                     !condition.tag_added().empty();
  return given &&
         is_new(condition.lifecycle_statuses(), change.lifecycle_before(),
                change.lifecycle_after()) &&
         is_new(condition.levels(), change.level_before(), change.level_after()) &&
         (condition.tag_added().empty() || Contains(change.tags_added(), condition.tag_added()));
}

std::vector<Visit> DerivePath(const v1::Journey& journey, absl::Time enter_time,
                              std::span<const internal::Fact> facts) {
  std::vector<Visit> visits;
  if (journey.stages().empty()) return visits;
  Visit entry;
  entry.stage_id = journey.stages(0).stage_id();
  entry.enter_time = enter_time;
  visits.push_back(std::move(entry));

  std::vector<std::pair<absl::Time, const internal::Fact*>> ordered;
  ordered.reserve(facts.size());
  for (const internal::Fact& fact : facts) ordered.emplace_back(ToTime(fact.occur_time()), &fact);
  std::sort(ordered.begin(), ordered.end(), [](const auto& a, const auto& b) {
    if (a.first != b.first) return a.first < b.first;
    return a.second->fact_id() < b.second->fact_id();
  });

  const StageOrder order(journey);
  for (const auto& [at, fact] : ordered) Apply(journey, order, *fact, at, visits);
  return visits;
}

bool Advance(const v1::Journey& journey, const internal::Fact& fact, std::vector<Visit>& visits) {
  return Apply(journey, StageOrder(journey), fact, ToTime(fact.occur_time()), visits);
}

}  // namespace touchline::journeys
