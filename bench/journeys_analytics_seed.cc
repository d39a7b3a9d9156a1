// journeys_analytics_seed: the journeys schema for bench/run_journeys_analytics_bench.sh at the
// size of the stage-analytics targets, written straight into PostgreSQL (COPY), not through the
// service:
//  - the customer read model: --customers customers (bench_ids.h ids) in ten regions with
//    Chinese names, 200 owners (20 per region), four levels, lifecycle statuses and tags;
//  - three published journeys: the seed's four-stage retail map (B2C), a twelve-stage dealer map
//    in Chinese and a six-stage service map, stored as pg_definition_store stores them;
//  - every customer on every journey (journey_members) with a path (stage_visits, about
//    --history_rows in all): entry days spread over the year before now, stays from half a
//    minute to two months, most customers still in the early stages (a funnel), dealers going
//    back from bargaining to quoting, service customers looping through repairs;
//  - the stage analytics computed in SQL from those rows, as analytics/stage_stats.h defines
//    them for members filed before migration 0003 (journey_members.filed NULL: their visits
//    alone, no touchpoints and no paths): per key (version, owner, region, level, entry day)
//    and stage, reached once per member, current, ended stays, their seconds and the histogram
//    of powers of two minutes; stage_current by the day the stay began; each filed at the
//    three details by day and by month (migrations/0005_stage_rollups.sql).
// Then VACUUM ANALYZE. The customers have no customer_facts: the data is for reads
// (GetStageAnalytics, ListCustomersInStage); a touchpoint of one of them would derive its path
// from that touchpoint alone.
//
//   journeys_analytics_seed --pg_dsn=... [--schema=journeys] [--tenant=bench]
//       [--customers=1000000] [--history_rows=20000000]
// (TOUCHLINE_PG_DSN when --pg_dsn is not given.) Prints "journey <b2c|dealer|service> <id>"
// per journey on stdout, progress on stderr. Refuses a schema that already has members.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <memory>
#include <pqxx/pqxx>
#include <pqxx/stream_to>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/bench_ids.h"
#include "bench/journeys_bench.h"
#include "services/journeys/definitions/testing/sample_journey.h"
#include "services/journeys/testing/migrated_pool.h"
#include "touchline/journeys/v1/journey.pb.h"
#include "touchline/touchpoints/v1/touchpoint.pb.h"

ABSL_FLAG(std::string, schema, "journeys", "Schema of the journeys service");
ABSL_FLAG(std::string, tenant, "bench", "Tenant");
ABSL_FLAG(int64_t, customers, 1000000, "Customers, each on all three journeys");
ABSL_FLAG(int64_t, history_rows, 20000000, "stage_visits rows to aim at, over all journeys");

namespace touchline::bench {
namespace {

namespace jv1 = ::touchline::journeys::v1;
namespace tv1 = ::touchline::touchpoints::v1;
using journeys::testing::StageOf;

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "journeys_analytics_seed: %s\n", what.c_str());
  std::exit(1);
}

void Progress(const std::string& what) {
  std::fprintf(stderr, "%s  %s\n",
               absl::FormatTime("%H:%M:%S", absl::Now(), absl::LocalTimeZone()).c_str(),
               what.c_str());
}

// The customers' regions (territories cover them) and owners: owner k is in region k % 10.
constexpr const char* kRegions[] = {"北京", "上海", "广东", "浙江", "江苏",
                                    "四川", "湖北", "山东", "福建", "河南"};
constexpr int kRegionCount = 10;
constexpr int kOwnersPerRegion = 20;
constexpr const char* kTags[] = {"展会线索", "老客户转介绍", "汽车经销",
                                 "线上留资", "高潜",         "价格敏感"};

uint64_t Mix(uint64_t x) {  // splitmix64
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// A small deterministic generator: a customer's path is the same in every pass over it.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() { return state_ = Mix(state_); }
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  int64_t Below(int64_t n) { return static_cast<int64_t>(Next() % static_cast<uint64_t>(n)); }

 private:
  uint64_t state_;
};

struct Customer {
  int region = 0;
  std::string owner_id;
  int level = 0;  // contacts CustomerLevel: 0 to 3
  int lifecycle = 0;
  std::string tags;  // a PostgreSQL array literal
};

Customer CustomerOf(int64_t i) {
  Rng rng(Mix(static_cast<uint64_t>(i) ^ 0x5eedc0ffeeULL));
  Customer c;
  c.region = static_cast<int>(rng.Below(kRegionCount));
  c.owner_id = absl::StrCat("owner-", c.region + kRegionCount * rng.Below(kOwnersPerRegion));
  const int64_t level = rng.Below(100);  // 10% unspecified, 50% standard, 30% key, 10% VIP
  c.level = level < 10 ? 0 : level < 60 ? 1 : level < 90 ? 2 : 3;
  c.lifecycle = static_cast<int>(1 + rng.Below(6));
  std::vector<std::string> tags;
  for (const char* tag : kTags) {
    if (rng.Below(4) == 0) tags.emplace_back(tag);
  }
  c.tags = absl::StrCat("{", absl::StrJoin(tags, ","), "}");
  return c;
}

// --- The three journeys ----------------------------------------------------------------------

enum JourneyIndex { kB2c = 0, kDealer = 1, kService = 2, kJourneys = 3 };
constexpr const char* kJourneyNames[] = {"b2c", "dealer", "service"};

// The seed's retail map for every region: awareness, consideration, purchase (goal), lost (exit).
jv1::Journey B2cJourney() {
  jv1::Journey j = journeys::testing::RetailJourney();
  j.clear_entry_rule();
  j.mutable_stages(1)->set_stalled_after_days(30);
  return j;
}

// A car dealer's funnel: enquiry to delivery and after-sales (goal), lost (exit) from anywhere;
// a new quote while bargaining goes back to quoting.
jv1::Journey DealerJourney() {
  jv1::Journey j;
  j.set_display_name("经销商旅程");
  j.set_allow_backward(true);
  const std::pair<const char*, const char*> normal[] = {
      {"xunjia", "询价"},  {"xuqiu", "需求确认"}, {"yaoyue", "邀约到店"}, {"daodian", "到店"},
      {"shijia", "试驾"},  {"baojia", "报价"},    {"yijia", "议价"},      {"dingjin", "交订金"},
      {"qianyue", "签约"}, {"jiaoche", "交车"}};
  for (const auto& [id, name] : normal) {
    *j.add_stages() =
        StageOf(id, name, j.stages_size() == 0 ? jv1::STAGE_KIND_ENTRY : jv1::STAGE_KIND_NORMAL);
  }
  j.mutable_stages(1)->set_stalled_after_days(7);
  j.mutable_stages(5)->set_stalled_after_days(14);
  *j.add_stages() = StageOf("zhanbai", "战败", jv1::STAGE_KIND_EXIT);
  *j.add_stages() = StageOf("shouhou", "售后", jv1::STAGE_KIND_GOAL);
  TouchpointRule(j, "xuqiu")->add_outcomes(tv1::OUTCOME_CONNECTED);
  TouchpointRule(j, "yaoyue")->add_tags("邀约成功");
  TouchpointRule(j, "daodian")->add_channels(tv1::CHANNEL_STORE_VISIT);
  TouchpointRule(j, "shijia")->add_tags("试驾");
  TouchpointRule(j, "baojia")->add_outcomes(tv1::OUTCOME_QUOTED);
  TouchpointRule(j, "yijia")->add_tags("议价");
  TouchpointRule(j, "dingjin")->add_tags("交订金");
  TouchpointRule(j, "qianyue")->add_outcomes(tv1::OUTCOME_WON);
  TouchpointRule(j, "jiaoche")->add_tags("交车");
  TouchpointRule(j, "zhanbai")->add_outcomes(tv1::OUTCOME_LOST);
  TouchpointRule(j, "shouhou")->add_categories(tv1::CATEGORY_SERVICE);
  return j;
}

// A subscriber's service life: onboarding, in use, repair requested, in repair (back to in use
// when resolved, back to requested when reopened), renewed (goal), churned (exit).
jv1::Journey ServiceJourney() {
  jv1::Journey j;
  j.set_display_name("售后服务旅程");
  j.set_allow_backward(true);
  *j.add_stages() = StageOf("kaitong", "开通", jv1::STAGE_KIND_ENTRY);
  *j.add_stages() = StageOf("shiyong", "使用中", jv1::STAGE_KIND_NORMAL);
  *j.add_stages() = StageOf("baoxiu", "报修", jv1::STAGE_KIND_NORMAL);
  *j.add_stages() = StageOf("chuli", "处理中", jv1::STAGE_KIND_NORMAL);
  *j.add_stages() = StageOf("xuyue", "续约", jv1::STAGE_KIND_GOAL);
  *j.add_stages() = StageOf("liushi", "流失", jv1::STAGE_KIND_EXIT);
  j.mutable_stages(3)->set_stalled_after_days(3);
  TouchpointRule(j, "shiyong")->add_outcomes(tv1::OUTCOME_RESOLVED);
  TouchpointRule(j, "baoxiu")->add_categories(tv1::CATEGORY_SERVICE);
  TouchpointRule(j, "chuli")->add_tags("已派工");
  TouchpointRule(j, "xuyue")->add_outcomes(tv1::OUTCOME_WON);
  TouchpointRule(j, "liushi")->add_outcomes(tv1::OUTCOME_LOST);
  return j;
}

// The next stage (index) of a customer leaving `stage` of journey `j`, or -1: it stays.
// `service_stay` is the chance a service customer in use stays (calibrated to the history rows
// wanted: each repair loop is three more visits).
int NextStage(int j, int stage, Rng& rng, double service_stay) {
  const double u = rng.Uniform();
  switch (j) {
    case kB2c:
      if (stage == 0) return u < 0.5 ? -1 : 1;
      return u < 0.35 ? -1 : u < 0.6 ? 2 : 3;
    case kDealer:
      if (stage == 8) return 9;
      if (stage == 9) return u < 0.3 ? -1 : 11;
      if (u < 0.22) return -1;
      if (u < 0.32) return 10;                       // 战败
      if (u < 0.44 && stage >= 5) return stage - 1;  // a new quote, a second thought
      if (u < 0.54 && stage == 3) return 5;          // no test drive
      return stage + 1;
    default:
      switch (stage) {
        case 0:
          return u < 0.05 ? -1 : 1;
        case 1:
          if (u < service_stay) return -1;
          return u < service_stay + 0.04 ? 4 : u < service_stay + 0.07 ? 5 : 2;
        case 2:
          return u < 0.03 ? -1 : 3;
        default:
          return u < 0.03 ? -1 : u < 0.13 ? 2 : 1;
      }
  }
}

bool Terminal(const jv1::Journey& journey, int stage) {
  const jv1::StageKind kind = journey.stages(stage).kind();
  return kind == jv1::STAGE_KIND_GOAL || kind == jv1::STAGE_KIND_EXIT;
}

struct Visit {
  int stage = 0;
  int64_t enter = 0;  // unix seconds
  int64_t exit = -1;  // -1: not exited
};

constexpr int64_t kYear = 365 * 86400;

// The path of customer i on journey j as of `now`: entered some time in the year before, each
// stay log-uniform from 30 seconds to 60 days, cut at now.
void PathOf(const std::vector<jv1::Journey>& journeys, int64_t i, int j, int64_t now,
            double service_stay, std::vector<Visit>& path) {
  static const double kShortest = std::log(30.0), kLongest = std::log(60.0 * 86400);
  Rng rng(Mix(static_cast<uint64_t>(i) * kJourneys + j + 1));
  path.clear();
  int stage = 0;
  int64_t at = now - 1 - rng.Below(kYear);
  while (true) {
    path.push_back({stage, at, -1});
    if (Terminal(journeys[j], stage)) return;
    const int next = NextStage(j, stage, rng, service_stay);
    if (next < 0) return;
    const int64_t left =
        at + static_cast<int64_t>(std::exp(kShortest + rng.Uniform() * (kLongest - kShortest)));
    if (left >= now) return;
    path.back().exit = left;
    stage = next;
    at = left;
  }
}

// The chance of staying in use that gives about `history_rows` visits for `customers`,
// measured on a sample of customers.
double CalibrateServiceStay(const std::vector<jv1::Journey>& journeys, int64_t customers,
                            int64_t history_rows, int64_t now) {
  const int64_t sample = std::min<int64_t>(customers, 20000);
  const auto rows = [&](double stay) {
    std::vector<Visit> path;
    int64_t visits = 0;
    for (int64_t i = 0; i < sample; ++i) {
      for (int j = 0; j < kJourneys; ++j) {
        PathOf(journeys, i, j, now, stay, path);
        visits += static_cast<int64_t>(path.size());
      }
    }
    return static_cast<double>(visits) * customers / sample;
  };
  double low = 0.005, high = 0.9;  // more stay, fewer rows
  for (int step = 0; step < 25; ++step) {
    const double mid = (low + high) / 2;
    (rows(mid) > history_rows ? low : high) = mid;
  }
  Progress(absl::StrFormat("service customers in use stay with p = %.3f: about %.0f visits", high,
                           rows(high)));
  return high;
}

// --- Writing ---------------------------------------------------------------------------------

std::string Timestamp(int64_t unix_seconds) {
  const absl::CivilSecond t =
      absl::ToCivilSecond(absl::FromUnixSeconds(unix_seconds), absl::UTCTimeZone());
  char text[64];
  std::snprintf(text, sizeof text, "%04d-%02d-%02d %02d:%02d:%02d+00", static_cast<int>(t.year()),
                t.month(), t.day(), t.hour(), t.minute(), t.second());
  return text;
}

// The touchpoint that moved customer i on journey j into its visit `seq`.
std::string CauseId(int64_t i, int j, int seq) {
  return IdWithHex12("00000000-0000-7003-8000-",
                     (static_cast<uint64_t>(i) * kJourneys + j) * 4096 + seq);
}

// A connection on `schema` for loading: no wait for the WAL flush at commit, memory for the
// sorts, hashes and index builds.
std::unique_ptr<pqxx::connection> Connect(const std::string& dsn, const std::string& schema) {
  auto conn = std::make_unique<pqxx::connection>(dsn);
  pqxx::nontransaction txn(*conn);
  txn.exec0("SET search_path TO " + txn.quote_name(schema));
  txn.exec0("SET synchronous_commit = off");
  txn.exec0("SET work_mem = '512MB'");
  txn.exec0("SET maintenance_work_mem = '1GB'");
  txn.commit();
  return conn;
}

// Runs `sql` outside a transaction (VACUUM, index builds).
void Exec(pqxx::connection& conn, const std::string& sql) {
  pqxx::nontransaction txn(conn);
  txn.exec0(sql);
  txn.commit();
}

struct Seed {
  std::string dsn, schema, tenant;
  int64_t customers = 0;
  int64_t now = 0;
  double service_stay = 0;
  std::vector<jv1::Journey> journeys;
};

void CopyCustomers(const Seed& seed) {
  const auto conn = Connect(seed.dsn, seed.schema);
  pqxx::work txn(*conn);
  pqxx::stream_to copy(
      txn, "customers",
      std::vector<std::string>{"tenant_id", "customer_id", "state", "owner_id", "region", "level",
                               "version", "lifecycle_status", "tags"});
  for (int64_t i = 0; i < seed.customers; ++i) {
    const Customer c = CustomerOf(i);
    copy << std::make_tuple(seed.tenant, CustomerId(i), 1, c.owner_id,
                            std::string(kRegions[c.region]), c.level, 1, c.lifecycle, c.tags);
  }
  copy.complete();
  txn.commit();
}

// Streams journey_members (`members`) or stage_visits (otherwise) of every customer.
void CopyPaths(const Seed& seed, bool members) {
  const auto conn = Connect(seed.dsn, seed.schema);
  pqxx::work txn(*conn);
  const char* table = members ? "journey_members" : "stage_visits";
  pqxx::stream_to copy(
      txn, table,
      members
          ? std::vector<std::string>{"tenant_id", "customer_id", "journey_id", "version",
                                     "selected_time", "enter_time", "stage_id", "stage_enter_time",
                                     "completed", "last_fact_time", "last_fact_id"}
          : std::vector<std::string>{"tenant_id", "customer_id", "journey_id", "seq", "version",
                                     "stage_id", "from_stage_id", "enter_time", "exit_time",
                                     "cause_kind", "cause_id"});
  std::vector<Visit> path;
  int64_t rows = 0;
  const absl::Time start = absl::Now();
  for (int64_t i = 0; i < seed.customers; ++i) {
    const std::string customer = CustomerId(i);
    for (int j = 0; j < kJourneys; ++j) {
      const jv1::Journey& journey = seed.journeys[j];
      PathOf(seed.journeys, i, j, seed.now, seed.service_stay, path);
      const auto stage_id = [&](int seq) { return journey.stages(path[seq].stage).stage_id(); };
      if (members) {
        const Visit& last = path.back();
        const int seq = static_cast<int>(path.size());
        const std::string fact_time = seq > 1 ? Timestamp(last.enter) : "";
        copy << std::make_tuple(
            seed.tenant, customer, journey.journey_id(), 1, Timestamp(path[0].enter),
            Timestamp(path[0].enter), stage_id(seq - 1), Timestamp(last.enter),
            Terminal(journey, last.stage), seq > 1 ? fact_time.c_str() : nullptr,
            seq > 1 ? CauseId(i, j, seq) : std::string());
        ++rows;
        continue;
      }
      for (size_t k = 0; k < path.size(); ++k) {
        const int seq = static_cast<int>(k) + 1;
        const std::string exit = path[k].exit < 0 ? "" : Timestamp(path[k].exit);
        copy << std::make_tuple(seed.tenant, customer, journey.journey_id(), seq, 1,
                                stage_id(static_cast<int>(k)),
                                k == 0 ? std::string() : stage_id(static_cast<int>(k) - 1),
                                Timestamp(path[k].enter), path[k].exit < 0 ? nullptr : exit.c_str(),
                                k == 0 ? 1 : 2, k == 0 ? std::string() : CauseId(i, j, seq));
        ++rows;
      }
    }
    if ((i + 1) % 100000 == 0) {
      Progress(absl::StrFormat("%s: %d customers, %d rows (%.0f rows/s)", table, i + 1, rows,
                               rows / absl::ToDoubleSeconds(absl::Now() - start)));
    }
  }
  copy.complete();
  txn.commit();
  Progress(absl::StrFormat("%s: %d rows copied", table, rows));
}

// The statements that drop `table`'s primary key and indexes, and those that make them again
// as they were (read from the catalogue, so columns or indexes added by later migrations keep
// their definitions): loading without them and building them once is several times faster.
std::pair<std::vector<std::string>, std::vector<std::string>> IndexStatements(
    pqxx::work& txn, const std::string& table) {
  std::vector<std::string> drop, create;
  for (const pqxx::row& row :
       txn.exec_params("SELECT quote_ident(conname), pg_get_constraintdef(oid) FROM pg_constraint "
                       "WHERE conrelid = $1::regclass AND contype IN ('p', 'u')",
                       table)) {
    drop.push_back(absl::StrCat("ALTER TABLE ", table, " DROP CONSTRAINT ", row[0].c_str()));
    create.push_back(absl::StrCat("ALTER TABLE ", table, " ADD CONSTRAINT ", row[0].c_str(), " ",
                                  row[1].c_str()));
  }
  for (const pqxx::row& row : txn.exec_params(
           "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
           "WHERE i.indrelid = $1::regclass AND NOT EXISTS (SELECT 1 FROM pg_constraint c "
           "WHERE c.conindid = i.indexrelid)",
           table)) {
    drop.push_back(absl::StrCat("DROP INDEX ", row[0].c_str()));
    create.push_back(row[1].c_str());
  }
  return {drop, create};
}

// The histogram bucket of a stay of `seconds` (analytics::HistogramBucket): 0 under a minute,
// else the bit width of the whole minutes, at most 31.
constexpr char kBucket[] =
    "CASE WHEN v.exit_time IS NULL THEN NULL "
    "WHEN extract(epoch FROM v.exit_time - v.enter_time) < 60 THEN 0 "
    "ELSE least(31, length(ltrim((floor(extract(epoch FROM v.exit_time - v.enter_time) / 60)"
    "::bigint)::bit(64)::text, '0'))) END";

// ARRAY[<expr with %d as bucket>...] for the 32 buckets.
std::string Buckets(const std::function<std::string(int)>& element) {
  std::vector<std::string> parts;
  for (int b = 0; b < 32; ++b) parts.push_back(element(b));
  return absl::StrCat("ARRAY[", absl::StrJoin(parts, ", "), "]::bigint[]");
}

void ComputeAggregates(const Seed& seed) {
  const auto conn = Connect(seed.dsn, seed.schema);
  const auto run = [&](const std::string& what, const std::string& sql) {
    const absl::Time start = absl::Now();
    pqxx::work txn(*conn);
    const pqxx::result r = txn.exec_params(sql, seed.tenant);
    txn.commit();
    Progress(absl::StrFormat("%s: %d rows in %.0f s", what, r.affected_rows(),
                             absl::ToDoubleSeconds(absl::Now() - start)));
  };
  // Each member's key: its version, its customer's owner, region and level, its entry day.
  Exec(*conn,
       "DROP TABLE IF EXISTS seed_member_keys; CREATE UNLOGGED TABLE seed_member_keys ("
       "customer_id uuid, journey_id uuid, version integer, owner_id text, region text, "
       "level smallint, entry_day date)");
  run("member keys",
      "INSERT INTO seed_member_keys SELECT m.customer_id, m.journey_id, m.version, c.owner_id, "
      "c.region, c.level, (m.enter_time AT TIME ZONE 'UTC')::date FROM journey_members m "
      "JOIN customers c ON c.tenant_id = m.tenant_id AND c.customer_id = m.customer_id "
      "WHERE m.tenant_id = $1");
  Exec(*conn, "ANALYZE seed_member_keys");
  // Per member key and stage first (as migrations 0002 and 0003 kept them), then each key at
  // the three details by day and by month, as migration 0005 refiles those rows.
  Exec(*conn,
       "DROP TABLE IF EXISTS seed_stats, seed_current; "
       "CREATE UNLOGGED TABLE seed_stats (journey_id uuid, version integer, stage_id text, "
       "owner_id text, region text, level smallint, entry_day date, reached bigint, "
       "current bigint, exits bigint, exit_seconds double precision, exit_histogram bigint[]); "
       "CREATE UNLOGGED TABLE seed_current (journey_id uuid, version integer, stage_id text, "
       "owner_id text, region text, level smallint, entry_day date, stage_enter_day date, "
       "current bigint)");
  run("stats per member key",
      absl::StrCat(
          "INSERT INTO seed_stats SELECT k.journey_id, k.version, v.stage_id, k.owner_id, "
          "k.region, k.level, k.entry_day, count(*) FILTER (WHERE v.first), "
          "count(*) FILTER (WHERE v.exit_time IS NULL), "
          "count(*) FILTER (WHERE v.exit_time IS NOT NULL), "
          "coalesce(sum(extract(epoch FROM v.exit_time - v.enter_time)), 0), ",
          Buckets([](int b) { return absl::StrCat("count(*) FILTER (WHERE v.bucket = ", b, ")"); }),
          " FROM (SELECT v.customer_id, v.journey_id, v.stage_id, v.enter_time, v.exit_time, ",
          kBucket,
          " AS bucket, row_number() OVER (PARTITION BY v.customer_id, v.journey_id, v.stage_id "
          "ORDER BY v.seq) = 1 AS first FROM stage_visits v WHERE v.tenant_id = $1) v "
          "JOIN seed_member_keys k ON k.customer_id = v.customer_id "
          "AND k.journey_id = v.journey_id "
          "GROUP BY k.journey_id, k.version, v.stage_id, k.owner_id, k.region, k.level, "
          "k.entry_day"));
  run("current per member key",
      "INSERT INTO seed_current SELECT k.journey_id, k.version, v.stage_id, k.owner_id, "
      "k.region, k.level, k.entry_day, (v.enter_time AT TIME ZONE 'UTC')::date, count(*) "
      "FROM stage_visits v JOIN seed_member_keys k ON k.customer_id = v.customer_id "
      "AND k.journey_id = v.journey_id WHERE v.tenant_id = $1 AND v.exit_time IS NULL "
      "GROUP BY 1, 2, 3, 4, 5, 6, 7, 8");
  // The key columns of a row at detail d.detail and period m.months.
  constexpr char kRollup[] =
      "d.detail, m.months, CASE WHEN d.detail = 2 THEN s.owner_id ELSE '' END, "
      "CASE WHEN d.detail >= 1 THEN s.region ELSE '' END, "
      "CASE WHEN m.months THEN date_trunc('month', s.entry_day)::date ELSE s.entry_day END, "
      "CASE WHEN d.detail >= 1 THEN s.level ELSE 0 END, s.version, s.stage_id";
  constexpr char kDetails[] =
      " (VALUES (0), (1), (2)) d(detail), (VALUES (false), (true)) m(months)";
  run("stage_stats",
      absl::StrCat(
          "INSERT INTO stage_stats (tenant_id, journey_id, detail, months, owner_id, region, "
          "entry_day, level, version, stage_id, reached, current, exits, exit_seconds, "
          "exit_histogram, touchpoints, sentiments, emotions) SELECT $1, s.journey_id, ",
          kRollup, ", sum(s.reached), sum(s.current), sum(s.exits), sum(s.exit_seconds), ",
          Buckets([](int b) { return absl::StrCat("sum(s.exit_histogram[", b + 1, "])"); }),
          ", 0, '{0,0,0}', '{0,0,0,0,0,0}' FROM seed_stats s,", kDetails,
          " GROUP BY 2, 3, 4, 5, 6, 7, 8, 9, 10"));
  run("stage_current",
      absl::StrCat("INSERT INTO stage_current (tenant_id, journey_id, detail, months, owner_id, "
                   "region, entry_day, level, version, stage_id, stage_enter_day, current) "
                   "SELECT $1, s.journey_id, ",
                   kRollup, ", s.stage_enter_day, sum(s.current) FROM seed_current s,", kDetails,
                   " GROUP BY 2, 3, 4, 5, 6, 7, 8, 9, 10, 11"));
  Exec(*conn, "DROP TABLE seed_stats, seed_current");
  Exec(*conn, "DROP TABLE seed_member_keys");
}

int Main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  Seed seed;
  seed.dsn = PgDsn();
  seed.schema = absl::GetFlag(FLAGS_schema);
  seed.tenant = absl::GetFlag(FLAGS_tenant);
  seed.customers = absl::GetFlag(FLAGS_customers);
  const int64_t history_rows = absl::GetFlag(FLAGS_history_rows);
  if (seed.dsn.empty() || seed.customers < 1 || history_rows < 1) {
    Die("--pg_dsn, --customers >= 1 and --history_rows >= 1 are required");
  }
  // The schema as the service host migrates it.
  if (const auto pool = journeys::testing::MigratedPool(seed.dsn, seed.schema); !pool.ok()) {
    Die(absl::StrCat("migrating: ", pool.status().ToString()));
  }
  seed.now = absl::ToUnixSeconds(absl::Now());
  const absl::Time published = absl::FromUnixSeconds(seed.now - kYear - 30 * 86400);
  const auto conn = Connect(seed.dsn, seed.schema);
  std::vector<std::string> create;
  {
    pqxx::work txn(*conn);
    if (txn.exec_params1("SELECT count(*) FROM (SELECT 1 FROM journey_members WHERE tenant_id = "
                         "$1 LIMIT 1) m",
                         seed.tenant)[0]
            .as<int>() > 0) {
      Die("the schema already has members of the tenant: seed a fresh one");
    }
    for (jv1::Journey j : {B2cJourney(), DealerJourney(), ServiceJourney()}) {
      InsertPublishedJourney(txn, seed.tenant, published, j);
      seed.journeys.push_back(std::move(j));
    }
    for (const char* table : {"journey_members", "stage_visits"}) {
      auto [d, c] = IndexStatements(txn, table);
      for (const std::string& statement : d) txn.exec0(statement);
      create.insert(create.end(), c.begin(), c.end());
    }
    txn.commit();
  }
  seed.service_stay = CalibrateServiceStay(seed.journeys, seed.customers, history_rows, seed.now);

  Progress(absl::StrCat("copying ", seed.customers, " customers, their members and visits"));
  CopyCustomers(seed);
  std::thread members([&] { CopyPaths(seed, true); });
  CopyPaths(seed, false);
  members.join();
  for (const std::string& statement : create) {
    const absl::Time start = absl::Now();
    Exec(*conn, statement);
    Progress(absl::StrFormat("%s (%.0f s)", statement, absl::ToDoubleSeconds(absl::Now() - start)));
  }
  // Statistics for the plans of the aggregation.
  Exec(*conn, "ANALYZE customers, journey_members, stage_visits");
  ComputeAggregates(seed);
  for (const char* table : {"customers", "journeys", "journey_members", "stage_visits",
                            "stage_stats", "stage_current"}) {
    const absl::Time start = absl::Now();
    Exec(*conn, absl::StrCat("VACUUM (ANALYZE) ", table));
    Progress(absl::StrFormat("VACUUM (ANALYZE) %s (%.0f s)", table,
                             absl::ToDoubleSeconds(absl::Now() - start)));
  }
  for (int j = 0; j < kJourneys; ++j) {
    std::printf("journey %s %s\n", kJourneyNames[j], seed.journeys[j].journey_id().c_str());
  }
  return 0;
}

}  // namespace
}  // namespace touchline::bench

int main(int argc, char** argv) { return touchline::bench::Main(argc, argv); }
