// For the journeys benchmarks that write the schema directly (journeys_analytics_seed,
// journeys_rederive_bench): where PostgreSQL is, and journeys stored as published versions.
#ifndef TOUCHLINE_BENCH_JOURNEYS_BENCH_H_
#define TOUCHLINE_BENCH_JOURNEYS_BENCH_H_

#include <cstdlib>
#include <pqxx/pqxx>
#include <string>

#include "absl/flags/flag.h"
#include "absl/strings/escaping.h"
#include "absl/time/time.h"
#include "common/config/common_flags.h"
#include "common/ids/ids.h"
#include "touchline/journeys/v1/journey.pb.h"

namespace touchline::bench {

// --pg_dsn (the services' common flag), else $TOUCHLINE_PG_DSN; empty when neither is set.
inline std::string PgDsn() {
  std::string dsn = absl::GetFlag(FLAGS_pg_dsn);
  if (dsn.empty() && std::getenv("TOUCHLINE_PG_DSN") != nullptr) {
    dsn = std::getenv("TOUCHLINE_PG_DSN");
  }
  return dsn;
}

// A rule of `journey` moving customers to `to_stage_id` on the touchpoints its condition (the
// result, to fill in) matches.
inline journeys::v1::TouchpointCondition* TouchpointRule(journeys::v1::Journey& journey,
                                                         const std::string& to_stage_id) {
  journeys::v1::MappingRule* rule = journey.add_mapping_rules();
  rule->set_to_stage_id(to_stage_id);
  return rule->mutable_touchpoint();
}

// Makes `journey` version 1 of a new journey (a new id), published at `at`, etag "1", and
// inserts it for `tenant` in the caller's transaction (search_path on the journeys schema) as
// pg_definition_store stores a version: the whole message, output-only fields included, as the
// body, and the columns queries filter on beside it.
inline void InsertPublishedJourney(pqxx::work& txn, const std::string& tenant, absl::Time at,
                                   journeys::v1::Journey& journey) {
  journey.set_journey_id(ids::NewUuid());
  journey.set_version(1);
  journey.set_state(journeys::v1::JOURNEY_STATE_PUBLISHED);
  journey.set_etag("1");
  for (auto* time : {journey.mutable_create_time(), journey.mutable_update_time(),
                     journey.mutable_publish_time()}) {
    time->set_seconds(absl::ToUnixSeconds(at));
  }
  txn.exec_params(
      "INSERT INTO journeys (tenant_id, journey_id, version, state, display_name, body, "
      "create_time, update_time, publish_time, revision) VALUES ($1, $2::uuid, 1, $3, $4, "
      "decode($5, 'hex'), $6, $6, $6, 1)",
      tenant, journey.journey_id(), static_cast<int>(journey.state()), journey.display_name(),
      absl::BytesToHexString(journey.SerializeAsString()),
      absl::FormatTime(absl::RFC3339_full, at, absl::UTCTimeZone()));
}

}  // namespace touchline::bench

#endif  // TOUCHLINE_BENCH_JOURNEYS_BENCH_H_
