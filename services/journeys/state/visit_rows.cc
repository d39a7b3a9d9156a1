#include "services/journeys/state/visit_rows.h"

#include <pqxx/binarystring>
#include <string>

#include "google/protobuf/util/time_util.h"

namespace touchline::journeys {

using ::google::protobuf::util::TimeUtil;

absl::Time FromProtoTime(const google::protobuf::Timestamp& time) {
  return absl::FromUnixMicros(TimeUtil::TimestampToMicroseconds(time));
}

google::protobuf::Timestamp ToProtoTime(absl::Time time) {
  return TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(time));
}

absl::Time TimeOfMicros(const pqxx::field& micros) {
  return absl::FromUnixMicros(micros.as<int64_t>());
}

bool ParseBody(const pqxx::field& body, google::protobuf::MessageLite& message) {
  const pqxx::binarystring bytes(body);
  return message.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
}

Visit VisitFromRow(const pqxx::row& row) {
  Visit v;
  v.stage_id = row[2].as<std::string>();
  v.from_stage_id = row[3].as<std::string>();
  v.enter_time = TimeOfMicros(row[4]);
  if (!row[5].is_null()) v.exit_time = TimeOfMicros(row[5]);
  v.cause = static_cast<CauseKind>(row[6].as<int>() - 1);
  v.cause_id = row[7].as<std::string>();
  v.user_id = row[8].as<std::string>();
  v.reason = row[9].as<std::string>();
  return v;
}

int CauseNumber(CauseKind kind) { return static_cast<int>(kind) + 1; }

v1::StageVisit VisitToProto(const v1::Journey& journey, const Visit& visit) {
  v1::StageVisit out;
  out.set_journey_id(journey.journey_id());
  out.set_version(journey.version());
  out.set_stage_id(visit.stage_id);
  out.set_from_stage_id(visit.from_stage_id);
  *out.mutable_enter_time() = ToProtoTime(visit.enter_time);
  if (visit.exit_time != absl::InfiniteFuture()) {
    *out.mutable_exit_time() = ToProtoTime(visit.exit_time);
  }
  v1::TransitionCause* cause = out.mutable_cause();
  switch (visit.cause) {
    case CauseKind::kEntered:
      cause->set_entered(true);
      break;
    case CauseKind::kTouchpoint:
      cause->set_touchpoint_id(visit.cause_id);
      break;
    case CauseKind::kCustomerChange:
      cause->set_event_id(visit.cause_id);
      break;
    case CauseKind::kManual:
      cause->mutable_manual()->set_user_id(visit.user_id);
      cause->mutable_manual()->set_reason(visit.reason);
      break;
  }
  return out;
}

const v1::Stage* StageOf(const v1::Journey& journey, std::string_view stage_id) {
  for (const v1::Stage& stage : journey.stages()) {
    if (stage.stage_id() == stage_id) return &stage;
  }
  return nullptr;
}

bool Terminal(const v1::Journey& journey, std::string_view stage_id) {
  const v1::Stage* stage = StageOf(journey, stage_id);
  return stage != nullptr &&
         (stage->kind() == v1::STAGE_KIND_GOAL || stage->kind() == v1::STAGE_KIND_EXIT);
}

v1::CustomerJourney CustomerJourneyOf(const v1::Journey& journey, std::string_view stage_id,
                                      absl::Time stage_enter_time, absl::Time enter_time) {
  v1::CustomerJourney out;
  out.set_journey_id(journey.journey_id());
  out.set_version(journey.version());
  out.set_journey_display_name(journey.display_name());
  out.set_stage_id(std::string(stage_id));
  if (const v1::Stage* stage = StageOf(journey, stage_id)) out.set_stage_kind(stage->kind());
  *out.mutable_stage_enter_time() = ToProtoTime(stage_enter_time);
  *out.mutable_journey_enter_time() = ToProtoTime(enter_time);
  out.set_completed(Terminal(journey, stage_id));
  return out;
}

}  // namespace touchline::journeys
