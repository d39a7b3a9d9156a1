#include "services/touchpoints/touchpoint_row.h"

#include <google/protobuf/util/time_util.h>

#include <pqxx/binarystring>
#include <pqxx/stream_to>
#include <tuple>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/pg/array.h"
#include "services/touchpoints/search_text.h"

namespace touchline::touchpoints {

using ::google::protobuf::util::TimeUtil;

int CompletenessBits(const v1::Touchpoint& t) {
  const bool filled[kCompletenessFields.size()] = {
      !t.subject().empty(),
      !t.summary().empty(),
      t.outcome() != v1::OUTCOME_UNSPECIFIED,
      t.sentiment() != v1::SENTIMENT_UNSPECIFIED,
      t.has_next_action(),
      t.contact_person_ids_size() > 0,
      t.participants_size() > 0,
      t.has_duration()};
  int bits = 0;
  for (size_t i = 0; i < kCompletenessFields.size(); ++i) {
    if (filled[i]) bits |= 1 << i;
  }
  return bits;
}

TouchpointRow ToRow(std::string tenant_id, const v1::Touchpoint& t) {
  TouchpointRow row;
  row.tenant_id = std::move(tenant_id);
  row.touchpoint_id = t.touchpoint_id();
  row.occurred_at = FromProtoTime(t.occur_time());
  row.customer_id = t.customer_id();
  row.origin_customer_id = t.customer_id();
  row.recorded_at = FromProtoTime(t.record_time());
  row.channel = t.channel();
  row.category = t.category();
  row.outcome = t.outcome();
  row.sentiment = t.sentiment();
  row.tags.assign(t.tags().begin(), t.tags().end());
  for (const v1::Participant& p : t.participants()) row.participant_ids.push_back(p.user_id());
  row.filled = CompletenessBits(t);
  t.SerializeToString(&row.body);
  row.search = BuildSearchVector(t);
  row.version = std::stoll(t.etag());
  row.update_time = FromProtoTime(t.update_time());
  return row;
}

absl::Time FromProtoTime(const google::protobuf::Timestamp& time) {
  return absl::FromUnixMicros(TimeUtil::TimestampToMicroseconds(time));
}

google::protobuf::Timestamp ToProtoTime(absl::Time time) {
  return TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(time));
}

std::string PgTime(absl::Time time) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%E6S+00", time, absl::UTCTimeZone());
}

void CopyRows(pqxx::work& txn, const std::vector<TouchpointRow>& rows) {
  if (rows.empty()) return;
  pqxx::stream_to copy(txn, "touchpoints",
                       std::vector<std::string>{"tenant_id", "touchpoint_id", "occurred_at",
                                                "customer_id", "origin_customer_id",
                                                "recorded_at", "channel", "category", "outcome",
                                                "sentiment", "tags", "participant_ids", "filled",
                                                "body", "search", "version", "update_time"});
  for (const TouchpointRow& r : rows) {
    copy << std::make_tuple(r.tenant_id, r.touchpoint_id, PgTime(r.occurred_at), r.customer_id,
                            r.origin_customer_id, PgTime(r.recorded_at), r.channel, r.category,
                            r.outcome, r.sentiment, pg::TextArrayLiteral(r.tags),
                            pg::TextArrayLiteral(r.participant_ids), r.filled,
                            absl::StrCat("\\x", absl::BytesToHexString(r.body)), r.search,
                            r.version, PgTime(r.update_time));
  }
  copy.complete();
}

absl::StatusOr<v1::Touchpoint> FromRow(const pqxx::row& row, int first) {
  v1::Touchpoint t;
  const pqxx::binarystring body(row[first + 4]);
  if (!t.ParseFromArray(body.data(), static_cast<int>(body.size()))) {
    return absl::DataLossError(
        absl::StrCat("touchpoint ", row[first].c_str(), ": stored body does not parse"));
  }
  t.set_touchpoint_id(row[first].c_str());
  t.set_customer_id(row[first + 1].c_str());
  *t.mutable_occur_time() = TimeUtil::MicrosecondsToTimestamp(row[first + 2].as<int64_t>());
  *t.mutable_record_time() = TimeUtil::MicrosecondsToTimestamp(row[first + 3].as<int64_t>());
  t.set_etag(row[first + 5].c_str());
  *t.mutable_update_time() = TimeUtil::MicrosecondsToTimestamp(row[first + 6].as<int64_t>());
  if (row[first + 7].is_null()) {
    t.clear_delete_time();
    t.set_state(v1::TOUCHPOINT_STATE_ACTIVE);
  } else {
    *t.mutable_delete_time() = TimeUtil::MicrosecondsToTimestamp(row[first + 7].as<int64_t>());
    t.set_state(v1::TOUCHPOINT_STATE_DELETED);
  }
  return t;
}

}  // namespace touchline::touchpoints
