// A touchpoint as a row of the touchpoints table (migrations/0001_touchpoints.sql) and
// back: the columns that queries filter on are copies of body fields, the search tokens are
// made here, and reading overlays the columns that change without a rewrite of the body
// (customer on merge, state, version) onto the stored message.
#ifndef TOUCHLINE_SERVICES_TOUCHPOINTS_TOUCHPOINT_ROW_H_
#define TOUCHLINE_SERVICES_TOUCHPOINTS_TOUCHPOINT_ROW_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <pqxx/row>
#include <pqxx/transaction>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "touchline/touchpoints/v1/touchpoint.pb.h"

namespace touchline::touchpoints {

// The optional fields whose fill rate GetTouchpointStats reports; bit i of the `filled`
// column is set when field i is filled in.
inline constexpr std::array<const char*, 8> kCompletenessFields = {
    "subject",    "summary",           "outcome",      "sentiment",
    "next_action", "contact_person_ids", "participants", "duration"};
int CompletenessBits(const v1::Touchpoint& touchpoint);

// The values of one row, ready for COPY.
struct TouchpointRow {
  std::string tenant_id;
  std::string touchpoint_id;
  absl::Time occurred_at;
  std::string customer_id;
  std::string origin_customer_id;
  absl::Time recorded_at;
  int channel = 0;
  int category = 0;
  int outcome = 0;
  int sentiment = 0;
  std::vector<std::string> tags;
  std::vector<std::string> participant_ids;
  int filled = 0;
  std::string body;    // The serialized Touchpoint.
  std::string search;  // tsvector literal.
  int64_t version = 1;
  absl::Time update_time;
};

// The row of a touchpoint whose ids, times and etag are set (etag = version). The
// customer it is recorded for is also its origin.
TouchpointRow ToRow(std::string tenant_id, const v1::Touchpoint& touchpoint);

// Writes new rows with COPY (the fastest way in: a batch costs one round trip). change_xid
// and delete_time take their defaults.
void CopyRows(pqxx::work& txn, const std::vector<TouchpointRow>& rows);

// The select list that FromRow reads, for "SELECT <kSelectColumns> FROM touchpoints ...".
inline constexpr char kSelectColumns[] =
    "touchpoint_id, customer_id, floor(extract(epoch FROM occurred_at) * 1000000)::bigint, "
    "floor(extract(epoch FROM recorded_at) * 1000000)::bigint, body, version, "
    "floor(extract(epoch FROM update_time) * 1000000)::bigint, "
    "floor(extract(epoch FROM delete_time) * 1000000)::bigint";
inline constexpr int kSelectColumnCount = 8;

// The touchpoint of a row selected with kSelectColumns (starting at column `first`).
absl::StatusOr<v1::Touchpoint> FromRow(const pqxx::row& row, int first = 0);

// Proto timestamps <-> absl::Time, at the microseconds PostgreSQL keeps.
absl::Time FromProtoTime(const google::protobuf::Timestamp& time);
google::protobuf::Timestamp ToProtoTime(absl::Time time);

// PostgreSQL's text form of a time (UTC, microseconds).
std::string PgTime(absl::Time time);
}  // namespace touchline::touchpoints

#endif  // TOUCHLINE_SERVICES_TOUCHPOINTS_TOUCHPOINT_ROW_H_
