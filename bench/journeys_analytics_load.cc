// journeys_analytics_load: the read side of the journeys service under a closed loop
// (closed_loop.h), for bench/run_journeys_analytics_bench.sh.
//
// Setup mode (--setup_manager): creates, as the administrator whose token is in
// $TOUCHLINE_ADMIN_TOKEN, the regional manager --manager_username (role regional_manager,
// password $TOUCHLINE_PASSWORD) and the territory that gives it --region; prints its user id.
// Run again, it finds both made (the user by its request id, the territory by its id).
//
// Load mode: first checks the figures once (--check_only: only that): the regional manager's
// `reached` of the entry stage must equal the SQL count of the members of the journey whose
// customers are in --region, the administrator's the count of every member, and the
// administrator's `current` per stage the members in it (printed; exits 1 when one differs).
// Then, per level of --concurrency, the health Check (the baseline) and, as the administrator
// and as the regional manager: GetStageAnalytics over every entry day and over the last 30,
// and the first page (50) of ListCustomersInStage of the entry stage. Prints rate, p50, p95
// and p99 of the successful calls and their ratios to the health Check's at the same level. A
// call slower than a row's measured time completes in no row: its row shows errors or nothing.
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <mutex>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/closed_loop.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "touchline/journeys/v1/journeys_service.grpc.pb.h"
#include "touchline/permissions/v1/permissions_service.grpc.pb.h"

ABSL_FLAG(std::string, target, "127.0.0.1:50051",
          "Address of the journeys service (load) or of the permissions service (setup)");
ABSL_FLAG(bool, setup_manager, false, "Create the regional manager and its territory, and stop");
ABSL_FLAG(std::string, manager_username, "bench_manager", "The regional manager's username");
ABSL_FLAG(std::string, region, "上海", "The region of the regional manager's territory");
ABSL_FLAG(std::string, tenant, "bench", "Tenant (the tokens')");
ABSL_FLAG(std::string, admin_token, "", "The administrator's access token");
ABSL_FLAG(std::string, manager_token, "", "The regional manager's access token");
ABSL_FLAG(std::string, journey, "", "The journey to read");
ABSL_FLAG(std::string, pg_dsn, "", "The journeys database, for the check of the figures");
ABSL_FLAG(std::string, schema, "journeys", "Schema of the journeys service");
ABSL_FLAG(bool, check_only, false, "Only check the figures (one call of each caller)");
ABSL_FLAG(std::string, concurrency, "1,16", "Calls in flight, comma-separated levels");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(10), "Measured time per row");
ABSL_FLAG(absl::Duration, warmup, absl::Seconds(1), "Unmeasured time before each row");

namespace touchline::bench {
namespace {

namespace jv1 = ::touchline::journeys::v1;
namespace pv1 = ::touchline::permissions::v1;
using grpc::health::v1::Health;

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "journeys_analytics_load: %s\n", what.c_str());
  std::exit(1);
}

void Authorize(grpc::ClientContext& context, const std::string& token) {
  context.AddMetadata("x-touchline-tenant", absl::GetFlag(FLAGS_tenant));
  context.AddMetadata("authorization", "Bearer " + token);
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(120));
}

int SetupManager() {
  const char* token = std::getenv("TOUCHLINE_ADMIN_TOKEN");
  const char* password = std::getenv("TOUCHLINE_PASSWORD");
  if (token == nullptr || password == nullptr)
    Die("$TOUCHLINE_ADMIN_TOKEN and $TOUCHLINE_PASSWORD");
  const auto stub = pv1::PermissionsService::NewStub(
      grpc::CreateChannel(absl::GetFlag(FLAGS_target), grpc::InsecureChannelCredentials()));
  const std::string username = absl::GetFlag(FLAGS_manager_username);
  pv1::CreateUserRequest user;
  user.mutable_user()->set_username(username);
  user.mutable_user()->set_display_name("压测大区经理");
  user.mutable_user()->set_role_id("regional_manager");
  user.set_password(password);
  user.set_request_id("bench-create-" + username);
  pv1::CreateUserResponse created;
  grpc::ClientContext user_context;
  Authorize(user_context, token);
  if (const grpc::Status s = stub->CreateUser(&user_context, user, &created); !s.ok()) {
    Die("CreateUser: " + s.error_message());
  }
  pv1::CreateTerritoryRequest territory;
  territory.mutable_territory()->set_territory_id("bench_region");
  territory.mutable_territory()->set_display_name(absl::GetFlag(FLAGS_region) + "大区");
  territory.mutable_territory()->add_regions(absl::GetFlag(FLAGS_region));
  territory.mutable_territory()->add_member_user_ids(created.user().user_id());
  pv1::CreateTerritoryResponse made;
  grpc::ClientContext territory_context;
  Authorize(territory_context, token);
  if (const grpc::Status s = stub->CreateTerritory(&territory_context, territory, &made);
      !s.ok() && s.error_code() != grpc::StatusCode::ALREADY_EXISTS) {
    Die("CreateTerritory: " + s.error_message());
  }
  std::printf("%s\n", created.user().user_id().c_str());
  return 0;
}

// Owns the request, response and context of one asynchronous call.
template <typename Request, typename Response>
struct Call {
  grpc::ClientContext context;
  Request request;
  Response response;
};

// The latencies of the successful calls sent after `from` and finished by `to`: what
// RunClosedLoop measures, kept here for the p95 it does not report.
struct Latencies {
  std::mutex mu;
  std::vector<double> ms;
  absl::Time from, to;

  double Percentile(int p) {
    if (ms.empty()) return 0;
    std::sort(ms.begin(), ms.end());
    return ms[std::min(ms.size() - 1, ms.size() * p / 100)];
  }
};

CallFn Timed(const CallFn& call, Latencies* latencies) {
  return [call, latencies](std::function<void(bool)> done) {
    const absl::Time sent = absl::Now();
    call([latencies, sent, done](bool ok) {
      const absl::Time now = absl::Now();
      if (ok && sent >= latencies->from && now <= latencies->to) {
        std::lock_guard<std::mutex> lock(latencies->mu);
        latencies->ms.push_back(absl::ToDoubleMilliseconds(now - sent));
      }
      done(ok);
    });
  };
}

struct Figures {
  double rate = 0, p50 = 0, p95 = 0, p99 = 0;
  long errors = 0;
};

Figures Measure(const CallFn& call, int in_flight) {
  Latencies latencies;
  const absl::Duration warmup = absl::GetFlag(FLAGS_warmup);
  const absl::Duration duration = absl::GetFlag(FLAGS_duration);
  latencies.from = absl::Now() + warmup;
  latencies.to = latencies.from + duration;
  const Row row = RunClosedLoop(Timed(call, &latencies), in_flight, warmup, duration);
  return Figures{.rate = row.qps,
                 .p50 = latencies.Percentile(50),
                 .p95 = latencies.Percentile(95),
                 .p99 = latencies.Percentile(99),
                 .errors = row.errors};
}

void PrintFigures(const std::string& rpc, const std::string& caller, int in_flight,
                  const Figures& f, const Figures& health) {
  std::printf("%-26s %-8s %8d %9.1f %9.2f %9.2f %9.2f %6ld %10.1fx %10.4f\n", rpc.c_str(),
              caller.c_str(), in_flight, f.rate, f.p50, f.p95, f.p99, f.errors,
              health.p99 > 0 ? f.p99 / health.p99 : 0.0,
              health.rate > 0 ? f.rate / health.rate : 0);
  std::fflush(stdout);
}

jv1::GetStageAnalyticsResponse Analytics(jv1::JourneysService::Stub& stub,
                                         const std::string& token) {
  grpc::ClientContext context;
  Authorize(context, token);
  jv1::GetStageAnalyticsRequest request;
  request.set_journey_id(absl::GetFlag(FLAGS_journey));
  jv1::GetStageAnalyticsResponse response;
  if (const grpc::Status s = stub.GetStageAnalytics(&context, request, &response); !s.ok()) {
    Die("GetStageAnalytics: " + s.error_message());
  }
  if (response.stages().empty()) Die("GetStageAnalytics listed no stage");
  return response;
}

// The check of the figures against SQL counts of the members; false when one differs.
bool CheckFigures(jv1::JourneysService::Stub& stub, const std::string& admin_token,
                  const std::string& manager_token) {
  const jv1::GetStageAnalyticsResponse admin = Analytics(stub, admin_token);
  const jv1::GetStageAnalyticsResponse manager = Analytics(stub, manager_token);
  pqxx::connection conn(absl::GetFlag(FLAGS_pg_dsn));
  pqxx::work txn(conn);
  txn.exec0("SET LOCAL search_path TO " + txn.quote_name(absl::GetFlag(FLAGS_schema)));
  const std::string tenant = absl::GetFlag(FLAGS_tenant);
  const std::string journey = absl::GetFlag(FLAGS_journey);
  const int64_t in_region =
      txn.exec_params1(
             "SELECT count(*) FROM journey_members m JOIN customers c "
             "ON c.tenant_id = m.tenant_id AND c.customer_id = m.customer_id "
             "WHERE m.tenant_id = $1 AND m.journey_id = $2::uuid AND c.region = $3",
             tenant, journey, absl::GetFlag(FLAGS_region))[0]
          .as<int64_t>();
  bool same = true;
  const auto compare = [&](const std::string& what, int64_t service, int64_t sql) {
    std::printf("  %-52s service %9lld  SQL %9lld%s\n", what.c_str(),
                static_cast<long long>(service), static_cast<long long>(sql),
                service == sql ? "" : "  DIFFERENT");
    same = same && service == sql;
  };
  const std::string entry = manager.stages(0).stage_id();
  compare(absl::StrCat("regional manager (", absl::GetFlag(FLAGS_region), "): reached ", entry),
          manager.stages(0).reached(), in_region);
  int64_t members = 0;
  for (const pqxx::row& row :
       txn.exec_params("SELECT stage_id, count(*) FROM journey_members WHERE tenant_id = $1 "
                       "AND journey_id = $2::uuid GROUP BY stage_id",
                       tenant, journey)) {
    members += row[1].as<int64_t>();
    const auto stage = std::find_if(
        admin.stages().begin(), admin.stages().end(),
        [&](const jv1::StageFigures& s) { return s.stage_id() == row[0].as<std::string>(); });
    compare(absl::StrCat("administrator: current ", row[0].c_str()),
            stage == admin.stages().end() ? -1 : stage->current(), row[1].as<int64_t>());
  }
  compare(absl::StrCat("administrator: reached ", entry), admin.stages(0).reached(), members);
  return same;
}

int Load() {
  const std::string admin_token = absl::GetFlag(FLAGS_admin_token);
  const std::string manager_token = absl::GetFlag(FLAGS_manager_token);
  const std::string journey = absl::GetFlag(FLAGS_journey);
  if (admin_token.empty() || manager_token.empty() || journey.empty() ||
      absl::GetFlag(FLAGS_pg_dsn).empty()) {
    Die("--admin_token, --manager_token, --journey and --pg_dsn are required");
  }
  const std::vector<int> levels = ParseLevels(absl::GetFlag(FLAGS_concurrency));
  if (levels.empty()) return 2;
  const auto channel =
      grpc::CreateChannel(absl::GetFlag(FLAGS_target), grpc::InsecureChannelCredentials());
  const auto health = Health::NewStub(channel);
  const auto stub = jv1::JourneysService::NewStub(channel);

  std::printf("== the figures checked against SQL counts of the members\n");
  if (!CheckFigures(*stub, admin_token, manager_token)) Die("the figures differ from SQL");
  if (absl::GetFlag(FLAGS_check_only)) return 0;
  const std::string entry_stage = Analytics(*stub, admin_token).stages(0).stage_id();

  const auto analytics = [&](const std::string& token, bool last_30_days) -> CallFn {
    jv1::GetStageAnalyticsRequest request;
    request.set_journey_id(journey);
    if (last_30_days) {
      request.mutable_entered_after()->set_seconds(
          absl::ToUnixSeconds(absl::Now() - absl::Hours(24 * 30)));
    }
    return [&stub, token, request](std::function<void(bool)> done) {
      auto* call = new Call<jv1::GetStageAnalyticsRequest, jv1::GetStageAnalyticsResponse>();
      Authorize(call->context, token);
      call->request = request;
      stub->async()->GetStageAnalytics(&call->context, &call->request, &call->response,
                                       [call, done](grpc::Status s) {
                                         delete call;
                                         done(s.ok());
                                       });
    };
  };
  const auto first_page = [&](const std::string& token) -> CallFn {
    return [&stub, &journey, &entry_stage, token](std::function<void(bool)> done) {
      auto* call = new Call<jv1::ListCustomersInStageRequest, jv1::ListCustomersInStageResponse>();
      Authorize(call->context, token);
      call->request.set_journey_id(journey);
      call->request.set_stage_id(entry_stage);
      call->request.set_page_size(50);
      stub->async()->ListCustomersInStage(
          &call->context, &call->request, &call->response, [call, done](grpc::Status s) {
            const bool ok = s.ok() && call->response.customers_size() == 50;
            delete call;
            done(ok);
          });
    };
  };
  struct Rpc {
    std::string name, caller;
    CallFn call;
  };
  const std::vector<Rpc> rpcs = {
      {"GetStageAnalytics all", "admin", analytics(admin_token, false)},
      {"GetStageAnalytics 30d", "admin", analytics(admin_token, true)},
      {"ListCustomersInStage 50", "admin", first_page(admin_token)},
      {"GetStageAnalytics all", "manager", analytics(manager_token, false)},
      {"GetStageAnalytics 30d", "manager", analytics(manager_token, true)},
      {"ListCustomersInStage 50", "manager", first_page(manager_token)},
  };
  std::printf(
      "\n== closed loop: %s measured after %s of warm-up per row; ms; ratios to the health "
      "Check at the same level\n",
      absl::FormatDuration(absl::GetFlag(FLAGS_duration)).c_str(),
      absl::FormatDuration(absl::GetFlag(FLAGS_warmup)).c_str());
  std::printf("%-26s %-8s %8s %9s %9s %9s %9s %6s %11s %10s\n", "rpc", "caller", "inflight",
              "rate/s", "p50", "p95", "p99", "errors", "p99/health", "rate/hlth");
  for (const int level : levels) {
    const Figures base = Measure(HealthCheck(health.get()), level);
    PrintFigures("HealthCheck", "-", level, base, base);
    for (const Rpc& rpc : rpcs) {
      PrintFigures(rpc.name, rpc.caller, level, Measure(rpc.call, level), base);
    }
  }
  return 0;
}

}  // namespace
}  // namespace touchline::bench

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return absl::GetFlag(FLAGS_setup_manager) ? touchline::bench::SetupManager()
                                            : touchline::bench::Load();
}
