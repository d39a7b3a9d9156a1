#include "services/automation/engine/triggers.h"

#include <sodium.h>

#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/strip.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "services/automation/rules/conditions.h"
#include "services/automation/rules/run_fields.h"
#include "services/automation/rules/templates.h"
#include "services/automation/tasks/task_change.h"
#include "touchline/events/v1/customer_events.pb.h"
#include "touchline/events/v1/journey_events.pb.h"
#include "touchline/events/v1/touchpoint_events.pb.h"

namespace touchline::automation {
namespace {

type::v1::CustomValue Text(std::string text) {
  type::v1::CustomValue value;
  value.set_string_value(std::move(text));
  return value;
}

// The fact of `event` with its common parts.
TriggerFact FactOf(const events::v1::EventEnvelope& event, v1::Trigger::KindCase kind) {
  TriggerFact fact;
  fact.kind = kind;
  fact.cause = event.event_id();
  fact.customer_id = event.aggregate_id();
  fact.occur_time = FromProtoTime(event.occur_time());
  fact.depth = DepthOf(event.request_id());
  return fact;
}

template <typename Message>
absl::Status Unpack(const events::v1::EventEnvelope& event, Message& message) {
  if (!event.payload().UnpackTo(&message)) {
    return absl::InvalidArgumentError(
        absl::StrCat("event ", event.event_id(), ": ", message.GetTypeName(), " does not parse"));
  }
  return absl::OkStatus();
}

// The values of a customer_changed fact of `field`: change.field, and the customer's values.
TriggerFact ChangeFact(const events::v1::EventEnvelope& cause, const customers::CustomerRow& after,
                       std::string field, FieldValues before, FieldValues now) {
  TriggerFact fact = FactOf(cause, v1::Trigger::kCustomerChanged);
  fact.customer_id = after.customer_id;
  fact.cause = absl::StrCat(cause.event_id(), ":", field);
  fact.changed_field = std::move(field);
  fact.values = std::move(now);
  fact.values["change.field"] = Text(fact.changed_field);
  fact.before = std::move(before);
  return fact;
}

}  // namespace

absl::StatusOr<std::vector<TriggerFact>> TouchpointFacts(const events::v1::EventEnvelope& event) {
  std::vector<TriggerFact> facts;
  if (!event.payload().Is<events::v1::TouchpointRecorded>()) return facts;
  events::v1::TouchpointRecorded recorded;
  if (absl::Status status = Unpack(event, recorded); !status.ok()) return status;
  TriggerFact fact = FactOf(event, v1::Trigger::kTouchpointRecorded);
  fact.customer_id = recorded.touchpoint().customer_id();
  fact.occur_time = FromProtoTime(recorded.touchpoint().occur_time());
  fact.values = TouchpointFieldValues(recorded.touchpoint());
  fact.inbound = recorded.touchpoint().direction() == touchpoints::v1::DIRECTION_INBOUND;
  facts.push_back(std::move(fact));
  return facts;
}

absl::StatusOr<std::vector<TriggerFact>> StageFacts(const events::v1::EventEnvelope& event) {
  std::vector<TriggerFact> facts;
  const journeys::v1::StageVisit* visit = nullptr;
  TriggerFact fact;
  events::v1::StageEntered entered;
  events::v1::StageExited exited;
  if (event.payload().Is<events::v1::StageEntered>()) {
    if (absl::Status status = Unpack(event, entered); !status.ok()) return status;
    fact = FactOf(event, v1::Trigger::kStageEntered);
    visit = &entered.visit();
  } else if (event.payload().Is<events::v1::StageExited>()) {
    if (absl::Status status = Unpack(event, exited); !status.ok()) return status;
    fact = FactOf(event, v1::Trigger::kStageExited);
    visit = &exited.visit();
  } else {
    return facts;
  }
  fact.journey_id = visit->journey_id();
  fact.stage_id = visit->stage_id();
  fact.values["stage.journey_id"] = Text(fact.journey_id);
  fact.values["stage.stage_id"] = Text(fact.stage_id);
  facts.push_back(std::move(fact));
  return facts;
}

FieldValues CustomerRowValues(const customers::CustomerRow& row) {
  FieldValues values;
  const auto* level = contacts::v1::CustomerLevel_descriptor()->FindValueByNumber(row.level);
  if (level != nullptr && row.level != 0) values["customer.level"] = Text(level->name());
  if (row.lifecycle_status != contacts::v1::LIFECYCLE_STATUS_UNSPECIFIED) {
    values["customer.lifecycle_status"] =
        Text(contacts::v1::LifecycleStatus_Name(row.lifecycle_status));
  }
  if (!row.region.empty()) values["customer.region"] = Text(row.region);
  if (!row.owner_id.empty()) values["customer.owner_id"] = Text(row.owner_id);
  if (!row.tags.empty()) values["customer.tags"] = row.tags;
  return values;
}

std::vector<TriggerFact> CustomerChangeFacts(const customers::CustomerRow* before,
                                             const customers::CustomerRow& after,
                                             const events::v1::EventEnvelope* cause) {
  std::vector<TriggerFact> facts;
  if (cause == nullptr) return facts;
  FieldValues now = CustomerRowValues(after);
  events::v1::CustomerUpdated updated;
  const bool carries_customer =
      cause->payload().UnpackTo(&updated) && updated.customer().customer_id() == after.customer_id;
  if (carries_customer) now.merge(CustomerFieldValues(updated.customer()));
  if (before != nullptr) {
    const FieldValues then = CustomerRowValues(*before);
    for (const char* field : {"level", "lifecycle_status", "region", "owner_id", "tags"}) {
      const std::string name = absl::StrCat("customer.", field);
      const FieldValue* was = FindValue(then, name);
      const FieldValue* is = FindValue(now, name);
      if ((was == nullptr) != (is == nullptr) ||
          (was != nullptr && FormatValue(*was) != FormatValue(*is))) {
        facts.push_back(ChangeFact(*cause, after, field, then, now));
      }
    }
  }
  if (carries_customer) {
    // "custom_fields.<key>" names one custom field (set or removed); "custom_fields" all of
    // them, of which only those still set are known.
    constexpr absl::string_view kPrefix = "custom_fields.";
    for (const std::string& path : updated.changed_fields().paths()) {
      if (absl::StartsWith(path, kPrefix)) {
        facts.push_back(ChangeFact(*cause, after, path, {}, now));
      } else if (path == "custom_fields") {
        for (const auto& [key, value] : updated.customer().custom_fields()) {
          facts.push_back(ChangeFact(*cause, after, absl::StrCat(kPrefix, key), {}, now));
        }
      }
    }
  }
  return facts;
}

bool Matches(const v1::Trigger& trigger, const TriggerFact& fact) {
  if (trigger.kind_case() != fact.kind) return false;
  switch (fact.kind) {
    case v1::Trigger::kStageEntered:
    case v1::Trigger::kStageExited: {
      const v1::StageTransition& stage = fact.kind == v1::Trigger::kStageEntered
                                             ? trigger.stage_entered()
                                             : trigger.stage_exited();
      return stage.journey_id() == fact.journey_id &&
             (stage.stage_id().empty() || stage.stage_id() == fact.stage_id);
    }
    case v1::Trigger::kCustomerChanged: {
      const v1::CustomerChanged& changed = trigger.customer_changed();
      return changed.field() == fact.changed_field &&
             Evaluate(ChangeCondition(changed), fact.values, fact.before).holds;
    }
    default:
      return true;
  }
}

int DepthOf(std::string_view request_id) {
  absl::string_view rest(request_id.data(), request_id.size());
  if (!absl::ConsumePrefix(&rest, kEngineRequestIdPrefix)) return 0;
  const size_t colon = rest.find(':');
  int depth = 0;
  if (colon == absl::string_view::npos || !absl::SimpleAtoi(rest.substr(0, colon), &depth) ||
      depth < 0) {
    return 0;
  }
  return depth;
}

std::string EngineRequestId(int depth, std::string_view key) {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(key.data()), key.size());
  return absl::StrCat(kEngineRequestIdPrefix, depth, ":",
                      absl::BytesToHexString(
                          absl::string_view(reinterpret_cast<const char*>(digest), sizeof(digest))));
}

}  // namespace touchline::automation
