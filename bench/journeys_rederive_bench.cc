// journeys_rederive_bench: what a late touchpoint costs the journeys mapper when the customer
// already has a long path, in-process against PostgreSQL (the mapper's own functions on a pool
// that prepares its statements, as the service runs them), for
// bench/run_journeys_analytics_bench.sh.
//
// In a fresh schema (--schema, dropped first) one customer enters a journey whose rules send it
// back and forth (a phone call to "call", an email to "mail", allow_backward), and --history
// touchpoints, alternately calls and emails one minute apart, applied in time order through
// ApplyTouchpointEvents (100 per transaction) give it --history + 1 visits. Then, each in its
// own transaction and timed with its commit, --repetitions times in turn: an email synced late
// (between the middle call and email: the middle visit of "mail" begins earlier, with another
// cause) and the deletion of that email (back to the path before). Each re-derives the path;
// each is checked (outside the timing) by the visit it changes and, at the end, by the
// StagePathRederived events in the outbox. For comparison, in the same pool: a touchpoint
// later than every other (the path advanced by one visit) and a plain PostgreSQL transaction of
// pgbench's simple-update shape (update one account's balance, read it back, insert a history
// row; 100,000 accounts).
//
//   journeys_rederive_bench --pg_dsn=... [--schema=journeys_rederive] [--history=1000]
//       [--repetitions=200]
#include <algorithm>
#include <cstdio>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/journeys_bench.h"
#include "common/events/outbox.h"
#include "common/ids/ids.h"
#include "services/journeys/definitions/testing/sample_journey.h"
#include "services/journeys/state/journey_mapper.h"
#include "services/journeys/state/visit_rows.h"
#include "services/journeys/testing/migrated_pool.h"
#include "touchline/events/v1/customer_events.pb.h"
#include "touchline/events/v1/touchpoint_events.pb.h"

ABSL_FLAG(std::string, schema, "journeys_rederive", "Schema to create (dropped first) and use");
ABSL_FLAG(int, history, 1000, "Touchpoints (visits) of the customer's path before the late ones");
ABSL_FLAG(int, repetitions, 200, "Late touchpoints and deletions timed, in turn");

namespace touchline::bench {
namespace {

namespace cv1 = ::touchline::contacts::v1;
namespace ev = ::touchline::events::v1;
namespace jv1 = ::touchline::journeys::v1;
namespace tv1 = ::touchline::touchpoints::v1;
using journeys::testing::StageOf;

constexpr char kTenant[] = "rederive";
const absl::Time kStart = absl::FromCivil(absl::CivilDay(2026, 1, 5), absl::UTCTimeZone());

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "journeys_rederive_bench: %s\n", what.c_str());
  std::exit(1);
}

void Check(const absl::Status& status, const std::string& what) {
  if (!status.ok()) Die(absl::StrCat(what, ": ", status.ToString()));
}

// A new lead, then back and forth between a call and a mail with every touchpoint.
jv1::Journey PingPongJourney() {
  jv1::Journey j;
  j.set_display_name("往返跟进");
  j.set_allow_backward(true);
  *j.add_stages() = StageOf("new", "新线索", jv1::STAGE_KIND_ENTRY);
  *j.add_stages() = StageOf("call", "电话沟通", jv1::STAGE_KIND_NORMAL);
  *j.add_stages() = StageOf("mail", "邮件跟进", jv1::STAGE_KIND_NORMAL);
  *j.add_stages() = StageOf("won", "成交", jv1::STAGE_KIND_GOAL);
  TouchpointRule(j, "call")->add_channels(tv1::CHANNEL_PHONE);
  TouchpointRule(j, "mail")->add_channels(tv1::CHANNEL_EMAIL);
  TouchpointRule(j, "won")->add_outcomes(tv1::OUTCOME_WON);
  return j;
}

ev::EventEnvelope Envelope(const google::protobuf::Message& payload, const std::string& aggregate,
                           absl::Time at) {
  ev::EventEnvelope e = events::MakeEnvelope(payload, kTenant, "x", aggregate, "", "bench");
  *e.mutable_occur_time() = journeys::ToProtoTime(at);
  return e;
}

tv1::Touchpoint Touchpoint(const std::string& customer, absl::Time at, tv1::Channel channel) {
  tv1::Touchpoint t;
  t.set_touchpoint_id(ids::NewUuid());
  t.set_customer_id(customer);
  *t.mutable_occur_time() = journeys::ToProtoTime(at);
  t.set_channel(channel);
  t.set_state(tv1::TOUCHPOINT_STATE_ACTIVE);
  return t;
}

ev::EventEnvelope Recorded(const tv1::Touchpoint& t) {
  ev::TouchpointRecorded recorded;
  *recorded.mutable_touchpoint() = t;
  return Envelope(recorded, t.customer_id(), journeys::FromProtoTime(t.occur_time()));
}

ev::EventEnvelope Deleted(tv1::Touchpoint t, absl::Time at) {
  t.set_state(tv1::TOUCHPOINT_STATE_DELETED);
  ev::TouchpointDeleted deleted;
  *deleted.mutable_touchpoint() = t;
  return Envelope(deleted, t.customer_id(), at);
}

// Applies `events` in one transaction of `pool`; returns how long it took with the commit.
absl::Duration Apply(pg::Pool& pool, const std::vector<ev::EventEnvelope>& events) {
  std::vector<const ev::EventEnvelope*> batch;
  for (const ev::EventEnvelope& e : events) batch.push_back(&e);
  const absl::Time start = absl::Now();
  Check(pool.Transact([&](pqxx::work& txn) { return journeys::ApplyTouchpointEvents(txn, batch); }),
        "ApplyTouchpointEvents");
  return absl::Now() - start;
}

int64_t Count(pg::Pool& pool, const std::string& sql, const std::string& customer) {
  int64_t n = 0;
  Check(pool.Query([&](pqxx::nontransaction& txn) {
    n = txn.exec_params1(sql, kTenant, customer)[0].as<int64_t>();
    return absl::OkStatus();
  }),
        sql);
  return n;
}

std::string Text(pg::Pool& pool, const std::string& sql, const std::string& customer, int seq) {
  std::string text;
  Check(pool.Query([&](pqxx::nontransaction& txn) {
    const pqxx::result r = txn.exec_params(sql, kTenant, customer, seq);
    text = r.empty() ? "" : r[0][0].as<std::string>();
    return absl::OkStatus();
  }),
        sql);
  return text;
}

struct Timings {
  std::string name;
  std::vector<double> ms;

  double Percentile(int p) const {
    std::vector<double> sorted = ms;
    std::sort(sorted.begin(), sorted.end());
    return sorted.empty() ? 0 : sorted[std::min(sorted.size() - 1, sorted.size() * p / 100)];
  }
  void Add(absl::Duration d) { ms.push_back(absl::ToDoubleMilliseconds(d)); }
};

void Print(const Timings& t, const Timings& baseline) {
  std::printf("%-44s %6zu %9.2f %9.2f %9.2f %9.2f %8.1fx\n", t.name.c_str(), t.ms.size(),
              t.Percentile(50), t.Percentile(95), t.Percentile(99),
              *std::max_element(t.ms.begin(), t.ms.end()),
              baseline.Percentile(99) > 0 ? t.Percentile(99) / baseline.Percentile(99) : 0.0);
}

// pgbench's simple-update transaction (-N) on `pool`: `n` of them, timed each.
Timings PlainTransactions(pg::Pool& pool, int n) {
  Check(pool.Transact([](pqxx::work& txn) {
    txn.exec0(
        "CREATE TABLE bench_accounts (aid integer PRIMARY KEY, bid integer NOT NULL, abalance "
        "integer NOT NULL, filler char(84)); "
        "CREATE TABLE bench_history (tid integer, bid integer, aid integer, delta integer, mtime "
        "timestamp, filler char(22)); "
        "INSERT INTO bench_accounts SELECT i, 1, 0, '' FROM generate_series(1, 100000) AS i");
    return absl::OkStatus();
  }),
        "creating the pgbench tables");
  Check(pool.Query([](pqxx::nontransaction& txn) {
    txn.exec0("VACUUM ANALYZE bench_accounts");
    return absl::OkStatus();
  }),
        "VACUUM");
  std::mt19937 rng(7);
  Timings t{"plain transaction (pgbench simple-update)", {}};
  for (int i = 0; i < n; ++i) {
    const int aid = 1 + static_cast<int>(rng() % 100000);
    const int delta = static_cast<int>(rng() % 10001) - 5000;
    const absl::Time start = absl::Now();
    Check(pool.Transact([&](pqxx::work& txn) {
      txn.exec_params("UPDATE bench_accounts SET abalance = abalance + $1 WHERE aid = $2", delta,
                      aid);
      txn.exec_params1("SELECT abalance FROM bench_accounts WHERE aid = $1", aid);
      txn.exec_params(
          "INSERT INTO bench_history (tid, bid, aid, delta, mtime) VALUES (1, 1, $1, $2, "
          "CURRENT_TIMESTAMP)",
          aid, delta);
      return absl::OkStatus();
    }),
          "the plain transaction");
    t.Add(absl::Now() - start);
  }
  return t;
}

int Main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const std::string dsn = PgDsn();
  const std::string schema = absl::GetFlag(FLAGS_schema);
  const int history = absl::GetFlag(FLAGS_history);
  const int repetitions = absl::GetFlag(FLAGS_repetitions);
  if (dsn.empty() || history < 4 || repetitions < 2) {
    Die("--pg_dsn, --history >= 4 and --repetitions >= 2 are required");
  }
  {
    pqxx::connection conn(dsn);
    pqxx::nontransaction txn(conn);
    txn.exec0("DROP SCHEMA IF EXISTS " + txn.quote_name(schema) + " CASCADE");
    txn.commit();
  }
  auto pool = journeys::testing::MigratedPool(dsn, schema);
  Check(pool.status(), "migrating");

  // The journey, and the customer on it.
  const std::string customer = ids::NewUuid();
  Check((*pool)->Transact([&](pqxx::work& txn) {
    jv1::Journey journey = PingPongJourney();
    InsertPublishedJourney(txn, kTenant, kStart - absl::Hours(24), journey);
    return absl::OkStatus();
  }),
        "publishing");
  Check((*pool)->Transact([&](pqxx::work& txn) {
    ev::CustomerCreated created;
    cv1::Customer& c = *created.mutable_customer();
    c.set_customer_id(customer);
    c.set_etag("1");
    c.set_state(cv1::CUSTOMER_STATE_ACTIVE);
    c.set_region("上海");
    c.set_owner_id("owner-1");
    c.set_level(cv1::CUSTOMER_LEVEL_KEY);
    return journeys::CustomerReadModel().ApplyEvent(txn, Envelope(created, customer, kStart));
  }),
        "creating the customer");

  // Its history, in time order: touchpoint k at kStart + k + 1 minutes, a call when k is even.
  std::vector<tv1::Touchpoint> touchpoints;
  Timings building{"history, 100 in-order touchpoints a transaction", {}};
  for (int k = 0; k < history; k += 100) {
    std::vector<ev::EventEnvelope> batch;
    for (int i = k; i < std::min(history, k + 100); ++i) {
      touchpoints.push_back(Touchpoint(customer, kStart + absl::Minutes(i + 1),
                                       i % 2 == 0 ? tv1::CHANNEL_PHONE : tv1::CHANNEL_EMAIL));
      batch.push_back(Recorded(touchpoints.back()));
    }
    building.Add(Apply(**pool, batch));
  }
  constexpr char kVisitCount[] =
      "SELECT count(*) FROM stage_visits WHERE tenant_id = $1 AND customer_id = $2::uuid";
  const int64_t visits = Count(**pool, kVisitCount, customer);
  if (visits != history + 1) Die(absl::StrCat(visits, " visits, not ", history + 1));
  std::printf(
      "the customer has %lld stage_visits rows (%d touchpoints in %zu transactions, "
      "p50 %.1f ms each)\n",
      static_cast<long long>(visits), history, building.ms.size(), building.Percentile(50));

  // The late email goes between the middle call (touchpoint `mid`) and the email after it: the
  // visit `mid` + 3 (a "mail", after the entry and `mid` + 1 moves) begins earlier and is caused
  // by the late email; deleting it gives the path back.
  const int mid = (history / 2) & ~1;
  const int changed_seq = mid + 3;
  const absl::Time late_at = kStart + absl::Minutes(mid + 1) + absl::Seconds(30);
  constexpr char kCauseOf[] =
      "SELECT cause_id FROM stage_visits WHERE tenant_id = $1 AND customer_id = $2::uuid "
      "AND seq = $3";
  constexpr char kRederived[] =
      "SELECT count(*) FROM outbox WHERE topic = 'journeys' AND tenant_id = $1 "
      "AND aggregate_id = $2 AND event_type LIKE '%StagePathRederived'";
  const std::string on_time_cause = Text(**pool, kCauseOf, customer, changed_seq);
  if (on_time_cause != touchpoints[mid + 1].touchpoint_id()) {
    Die("the visit the late email changes is not the one expected");
  }
  const int64_t rederived_before = Count(**pool, kRederived, customer);
  Timings record{"late touchpoint recorded (re-derive)", {}};
  Timings remove{"late touchpoint deleted (re-derive)", {}};
  Timings both{"late touchpoint, either (re-derive)", {}};
  for (int r = 0; r < repetitions; r += 2) {
    const tv1::Touchpoint late = Touchpoint(customer, late_at, tv1::CHANNEL_EMAIL);
    const absl::Duration recorded = Apply(**pool, {Recorded(late)});
    if (Text(**pool, kCauseOf, customer, changed_seq) != late.touchpoint_id()) {
      Die("the late email did not change the path");
    }
    const absl::Duration deleted = Apply(**pool, {Deleted(late, kStart + absl::Hours(48))});
    if (Text(**pool, kCauseOf, customer, changed_seq) != on_time_cause) {
      Die("deleting the late email did not give the path back");
    }
    record.Add(recorded);
    remove.Add(deleted);
    both.Add(recorded);
    both.Add(deleted);
  }
  const int64_t rederived = Count(**pool, kRederived, customer) - rederived_before;
  if (rederived != static_cast<int64_t>(both.ms.size())) {
    Die(absl::StrCat(rederived, " StagePathRederived events for ", both.ms.size(), " changes"));
  }
  std::printf("%lld StagePathRederived events for %zu late changes; still %lld visits\n",
              static_cast<long long>(rederived), both.ms.size(),
              static_cast<long long>(Count(**pool, kVisitCount, customer)));

  // For comparison: touchpoints later than every other (each advances the path by one visit).
  Timings advance{"in-order touchpoint (advance)", {}};
  for (int r = 0; r < repetitions; ++r) {
    const int k = history + r;
    advance.Add(Apply(
        **pool, {Recorded(Touchpoint(customer, kStart + absl::Minutes(k + 1),
                                     k % 2 == 0 ? tv1::CHANNEL_PHONE : tv1::CHANNEL_EMAIL))}));
  }
  const Timings plain = PlainTransactions(**pool, std::max(repetitions, 1000));

  std::printf("\n%-44s %6s %9s %9s %9s %9s %9s\n", "transaction (ms, with its commit)", "n", "p50",
              "p95", "p99", "max", "p99/plain");
  const std::vector<const Timings*> rows = {&record, &remove, &both, &advance, &plain};
  for (const Timings* t : rows) Print(*t, plain);
  return 0;
}

}  // namespace
}  // namespace touchline::bench

int main(int argc, char** argv) { return touchline::bench::Main(argc, argv); }
