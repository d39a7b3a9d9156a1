// Rows of the journeys state as the mapper and the store read them: visits (sql.h
// TL_JOURNEYS_VISIT_COLUMNS), their proto form, and times in microseconds.
#ifndef TOUCHLINE_SERVICES_JOURNEYS_STATE_VISIT_ROWS_H_
#define TOUCHLINE_SERVICES_JOURNEYS_STATE_VISIT_ROWS_H_

#include <cstdint>
#include <pqxx/pqxx>
#include <string_view>

#include "absl/time/time.h"
#include "google/protobuf/message_lite.h"
#include "google/protobuf/timestamp.pb.h"
#include "services/journeys/path/path.h"
#include "touchline/journeys/v1/journey.pb.h"

namespace touchline::journeys {

absl::Time FromProtoTime(const google::protobuf::Timestamp& time);
google::protobuf::Timestamp ToProtoTime(absl::Time time);
// A bigint column of microseconds since the epoch.
absl::Time TimeOfMicros(const pqxx::field& micros);

// Parses the bytea `body` into `message`; false when it does not parse.
bool ParseBody(const pqxx::field& body, google::protobuf::MessageLite& message);

// The visit of a row of TL_JOURNEYS_VISIT_COLUMNS (its seq is column 0).
Visit VisitFromRow(const pqxx::row& row);
// stage_visits.cause_kind of `kind`.
int CauseNumber(CauseKind kind);

// `visit` of `journey` (its id and version) as the API shows it.
v1::StageVisit VisitToProto(const v1::Journey& journey, const Visit& visit);

// The stage `stage_id` of `journey`; nullptr when it has none.
const v1::Stage* StageOf(const v1::Journey& journey, std::string_view stage_id);
// Whether `stage_id` is a goal or exit stage of `journey`.
bool Terminal(const v1::Journey& journey, std::string_view stage_id);

// Where a customer stands on `journey`: in stage `stage_id` since `stage_enter_time`, on the
// journey since `enter_time`.
v1::CustomerJourney CustomerJourneyOf(const v1::Journey& journey, std::string_view stage_id,
                                      absl::Time stage_enter_time, absl::Time enter_time);

}  // namespace touchline::journeys

#endif  // TOUCHLINE_SERVICES_JOURNEYS_STATE_VISIT_ROWS_H_
