// journeys_seed: the journeys service's schema for bench/run_journeys_bench.sh, as the service
// host migrates it, with the benchmark's customers (bench_ids.h, region 华东, the ones
// touchpoints_gen puts in the touchpoints read model) in the customer read model and one
// published four-stage journey whose entry rule selects them all, its entry pass queued: the
// service, once started, enters every customer, and each touchpoint then moves them on.
//
//   journeys_seed --pg_dsn=... [--schema=journeys] [--tenant=bench] [--customers=10000]
// (--pg_dsn is the services' common flag; TOUCHLINE_PG_DSN when it is not given.)
// Prints the journey id.
#include <cstdio>
#include <pqxx/pqxx>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "bench/bench_ids.h"
#include "common/config/common_flags.h"
#include "common/ids/ids.h"
#include "common/pg/migrator.h"
#include "common/service_host/service_host.h"
#include "services/journeys/migrations.h"
#include "touchline/journeys/v1/journey.pb.h"
#include "touchline/touchpoints/v1/touchpoint.pb.h"

ABSL_FLAG(std::string, schema, "journeys", "Schema of the journeys service");
ABSL_FLAG(std::string, tenant, "bench", "Tenant");
ABSL_FLAG(int64_t, customers, 10000, "Customers (bench_ids.h) put in the read model");

namespace touchline::bench {
namespace {

namespace jv1 = ::touchline::journeys::v1;
namespace tv1 = ::touchline::touchpoints::v1;

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "journeys_seed: %s\n", what.c_str());
  std::exit(1);
}

// Awareness -> consideration (a call, store visit, app or WeCom message) -> purchase (a won
// deal); lost (a lost deal while considering). touchpoints_load's touchpoints hit all three.
jv1::Journey BenchJourney() {
  jv1::Journey j;
  j.set_journey_id(ids::NewUuid());
  j.set_version(1);
  j.set_state(jv1::JOURNEY_STATE_PUBLISHED);
  j.set_display_name("零售客户旅程");
  const auto stage = [&](const char* id, const char* name, jv1::StageKind kind) {
    jv1::Stage* s = j.add_stages();
    s->set_stage_id(id);
    s->set_display_name(name);
    s->set_kind(kind);
  };
  stage("awareness", "认知", jv1::STAGE_KIND_ENTRY);
  stage("consideration", "考虑", jv1::STAGE_KIND_NORMAL);
  stage("purchase", "购买", jv1::STAGE_KIND_GOAL);
  stage("lost", "流失", jv1::STAGE_KIND_EXIT);
  j.mutable_entry_rule()->add_regions("华东");
  jv1::MappingRule* consider = j.add_mapping_rules();
  consider->set_to_stage_id("consideration");
  for (const tv1::Channel c :
       {tv1::CHANNEL_PHONE, tv1::CHANNEL_STORE_VISIT, tv1::CHANNEL_APP, tv1::CHANNEL_WECOM}) {
    consider->mutable_touchpoint()->add_channels(c);
  }
  jv1::MappingRule* won = j.add_mapping_rules();
  won->set_to_stage_id("purchase");
  won->mutable_touchpoint()->add_outcomes(tv1::OUTCOME_WON);
  jv1::MappingRule* lost = j.add_mapping_rules();
  lost->set_to_stage_id("lost");
  lost->add_from_stage_ids("consideration");
  lost->mutable_touchpoint()->add_outcomes(tv1::OUTCOME_LOST);
  return j;
}

int Main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  std::string dsn = absl::GetFlag(FLAGS_pg_dsn);
  if (dsn.empty() && std::getenv("TOUCHLINE_PG_DSN") != nullptr)
    dsn = std::getenv("TOUCHLINE_PG_DSN");
  const std::string schema = absl::GetFlag(FLAGS_schema);
  const std::string tenant = absl::GetFlag(FLAGS_tenant);
  const int64_t customers = absl::GetFlag(FLAGS_customers);
  if (dsn.empty() || customers < 1) Die("--pg_dsn and --customers >= 1 are required");
  service_host::ServiceOptions options("journeys", "");
  options.migrations = &pg::journeys_migrations();
  options.request_ids = true;
  options.customer_read_model = true;
  for (const auto& [component, migrations] : service_host::StandardMigrations(options)) {
    if (const absl::Status s = pg::ApplyMigrations(dsn, schema, component, *migrations); !s.ok()) {
      Die(absl::StrCat("migrating ", component, ": ", s.ToString()));
    }
  }
  pqxx::connection conn(dsn);
  pqxx::work txn(conn);
  txn.exec0(absl::StrCat("SET LOCAL search_path TO ", txn.quote_name(schema)));
  txn.exec_params(
      "INSERT INTO customers (tenant_id, customer_id, state, region, level, version) "
      "SELECT $1, ('00000000-0000-7000-8000-' || lpad(to_hex(i), 12, '0'))::uuid, 1, '华东', 1, 1 "
      "FROM generate_series(0, $2 - 1) AS i ON CONFLICT DO NOTHING",
      tenant, customers);
  if (CustomerId(customers - 1) !=
      txn.exec_params1("SELECT max(customer_id::text) FROM customers WHERE tenant_id = $1",
                       tenant)[0]
          .as<std::string>()) {
    Die("the customer ids do not match bench_ids.h");
  }
  const jv1::Journey journey = BenchJourney();
  txn.exec_params(
      "INSERT INTO journeys (tenant_id, journey_id, version, state, display_name, body, "
      "create_time, update_time, publish_time) VALUES ($1, $2::uuid, 1, 2, $3, "
      "decode($4, 'hex'), now(), now(), now())",
      tenant, journey.journey_id(), journey.display_name(),
      absl::BytesToHexString(journey.SerializeAsString()));
  txn.exec_params(
      "INSERT INTO journey_entry_passes (tenant_id, journey_id, version) VALUES ($1, $2::uuid, 1)",
      tenant, journey.journey_id());
  txn.commit();
  std::printf("%s\n", journey.journey_id().c_str());
  return 0;
}

}  // namespace
}  // namespace touchline::bench

int main(int argc, char** argv) { return touchline::bench::Main(argc, argv); }
