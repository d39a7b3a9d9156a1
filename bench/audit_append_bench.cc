// How fast the permissions service's audit consumer (group "permissions-audit") drains the
// "audit" stream into the tenants' hash chains: the same envelopes, the same PostgreSQL and
// Redis, applied one event per transaction and in batches of --batch_size per transaction.
//
//   audit_append_bench [--events=50000] [--tenants=20] [--batch_size=256]
//
// Reads TOUCHLINE_PG_DSN and TOUCHLINE_REDIS_ADDR (scripts/dev-servers.sh). Each run gets a
// schema and a stream of its own, dropped at the end. For each run it pushes --events read
// envelopes (customer.read_sensitive, tenants round robin) into the stream as AuditPublisher
// does, then times one StreamConsumer::PollOnce, which drains the stream, and checks that
// every tenant's chain is intact and holds its events. Prints events per second per run:
//   per-event/read-64    ApplyFromStream, 64 entries per XREADGROUP (the wiring before batching)
//   batched/1            ApplyBatchFromStream with batch_size 1
//   batched/<n>          ApplyBatchFromStream with batch_size --batch_size
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/audit/audit.h"
#include "common/auth/request_context.h"
#include "common/events/consumer.h"
#include "common/events/outbox.h"
#include "common/ids/ids.h"
#include "common/paging/page_token.h"
#include "common/pg/migrator.h"
#include "common/pg/pool.h"
#include "common/redis/pool.h"
#include "common/service_host/service_host.h"
#include "services/permissions/audit/audit_log.h"
#include "services/permissions/migrations.h"

ABSL_FLAG(int, events, 50000, "Audit envelopes pushed into the stream per run");
ABSL_FLAG(int, tenants, 20, "Tenants the envelopes are spread over, round robin");
ABSL_FLAG(int, batch_size, 256, "Entries per read and per transaction of the batched run");

namespace touchline {
namespace {

using ::touchline::events::v1::EventEnvelope;

void Die(const std::string& what, const absl::Status& status) {
  std::fprintf(stderr, "audit_append_bench: %s: %s\n", what.c_str(), status.ToString().c_str());
  std::exit(1);
}

template <typename T>
T OrDie(absl::StatusOr<T> value, const std::string& what) {
  if (!value.ok()) Die(what, value.status());
  return *std::move(value);
}

std::string EnvOrDie(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') {
    std::fprintf(stderr, "audit_append_bench: %s is not set (eval \"$(scripts/dev-servers.sh)\")\n",
                 name);
    std::exit(2);
  }
  return value;
}

struct Run {
  std::string name;
  bool batched;
  int batch_size;
};

// The envelopes of one run: reads of a customer's phones by a rep, as the gateway reports them.
std::vector<EventEnvelope> Envelopes(int count, int tenants) {
  std::vector<EventEnvelope> envelopes;
  envelopes.reserve(count);
  for (int i = 0; i < count; ++i) {
    auth::RequestContext caller;
    caller.tenant_id = absl::StrCat("bench-tenant-", i % tenants);
    caller.caller_id = absl::StrCat("rep-", i % 97);
    caller.request_id = ids::NewUuid();
    caller.client = "gateway";
    envelopes.push_back(audit::MakeAuditEnvelope(caller, "customer.read_sensitive", "customer",
                                                 absl::StrCat("customer-", i), {"phones"}));
  }
  return envelopes;
}

// Pushes `envelopes` with the fields AuditPublisher writes, 1000 per pipelined round trip.
void Push(redis::Pool& redis, const std::string& stream, const std::vector<EventEnvelope>& all) {
  for (size_t start = 0; start < all.size(); start += 1000) {
    std::vector<std::vector<std::string>> commands;
    for (size_t i = start; i < all.size() && i < start + 1000; ++i) {
      const EventEnvelope& envelope = all[i];
      commands.push_back({"XADD", stream, "*", "event_id", envelope.event_id(), "type",
                          envelope.event_type(), "tenant", envelope.tenant_id(), "aggregate",
                          envelope.aggregate_id(), "event", envelope.SerializeAsString()});
    }
    const std::vector<redis::Reply> replies = OrDie(redis.Pipeline(commands), "XADD");
    for (const redis::Reply& reply : replies) {
      if (reply.is_error()) Die("XADD", absl::InternalError(std::string(reply.str())));
    }
  }
}

// Runs `run` in a schema and stream of its own; returns events per second.
double Measure(const Run& run, const std::string& dsn, redis::Pool& redis,
               const std::vector<EventEnvelope>& envelopes, int tenants) {
  const std::string schema =
      absl::StrCat("audit_bench_", absl::StrReplaceAll(ids::NewUuid(), {{"-", ""}}));
  const std::string prefix = absl::StrCat("bench:", ids::NewUuid());
  // The permissions service's schema, migrated as its host does.
  service_host::ServiceOptions service("permissions", "");
  service.migrations = &pg::permissions_migrations();
  service.enforce_scopes = false;
  service.request_ids = true;
  service.customer_read_model = true;
  for (const auto& [component, migrations] : service_host::StandardMigrations(service)) {
    if (absl::Status s = pg::ApplyMigrations(dsn, schema, component, *migrations); !s.ok()) {
      Die("migrating", s);
    }
  }
  pg::PoolOptions pg_options;
  pg_options.dsn = dsn;
  pg_options.search_path = schema;
  pg_options.size = 2;
  pg_options.statement_timeout = absl::Seconds(60);
  std::unique_ptr<pg::Pool> pg = OrDie(pg::Pool::Create(pg_options), "connecting to PostgreSQL");

  const std::string stream = events::StreamKey(prefix, events::kAuditTopic);
  Push(redis, stream, envelopes);

  events::ConsumerOptions options;
  options.stream_prefix = prefix;
  options.topic = events::kAuditTopic;
  options.group = "permissions-audit";
  options.consumer = "bench";
  options.batch_size = run.batch_size;
  std::unique_ptr<events::StreamConsumer> consumer =
      run.batched ? std::make_unique<events::StreamConsumer>(
                        options, &redis, pg.get(), permissions::AuditLog::ApplyBatchFromStream())
                  : std::make_unique<events::StreamConsumer>(
                        options, &redis, pg.get(), permissions::AuditLog::ApplyFromStream());
  const absl::Time start = absl::Now();
  const int applied = OrDie(consumer->PollOnce(), "draining the stream");
  const absl::Duration took = absl::Now() - start;
  if (applied != static_cast<int>(envelopes.size())) {
    Die(run.name, absl::InternalError(absl::StrCat("applied ", applied, " of ", envelopes.size())));
  }

  // Every chain whole and of the right length, or the figure means nothing.
  const permissions::AuditLog log(pg.get(),
                                  OrDie(paging::PageTokens::Load(*pg), "loading page tokens"));
  for (int t = 0; t < tenants; ++t) {
    const std::string tenant = absl::StrCat("bench-tenant-", t);
    const auto verified = OrDie(log.Verify(tenant), "verifying");
    const int count = static_cast<int>(envelopes.size());
    const int64_t expected = count / tenants + (t < count % tenants ? 1 : 0);
    if (!verified.intact() || verified.entries_checked() != expected) {
      Die(run.name, absl::InternalError(absl::StrCat(tenant, ": chain not intact or ",
                                                     verified.entries_checked(), " entries, not ",
                                                     expected, ": ", verified.detail())));
    }
  }

  consumer.reset();
  if (absl::Status s = pg->Transact([&](pqxx::work& txn) {
        txn.exec(absl::StrCat("DROP SCHEMA ", txn.quote_name(schema), " CASCADE"));
        return absl::OkStatus();
      });
      !s.ok()) {
    Die("dropping the schema", s);
  }
  const absl::StatusOr<redis::Reply> deleted = redis.Command(
      {"DEL", stream, events::DeadLetterKey(prefix, events::kAuditTopic, options.group)});
  if (!deleted.ok() || deleted->is_error()) {
    std::fprintf(stderr, "audit_append_bench: could not delete %s\n", stream.c_str());
  }
  const double rate = envelopes.size() / absl::ToDoubleSeconds(took);
  std::printf("%-20s %7zu events in %8.2f s = %9.0f events/s\n", run.name.c_str(), envelopes.size(),
              absl::ToDoubleSeconds(took), rate);
  std::fflush(stdout);
  return rate;
}

}  // namespace
}  // namespace touchline

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  using namespace touchline;  // NOLINT: a benchmark's main.
  const int count = absl::GetFlag(FLAGS_events);
  const int tenants = absl::GetFlag(FLAGS_tenants);
  const int batch_size = absl::GetFlag(FLAGS_batch_size);
  if (count < 1 || tenants < 1 || batch_size < 1) {
    std::fprintf(stderr, "audit_append_bench: --events, --tenants and --batch_size must be >= 1\n");
    return 2;
  }
  const std::string dsn = EnvOrDie("TOUCHLINE_PG_DSN");
  redis::RedisOptions redis_options =
      OrDie(redis::ParseRedisAddress(EnvOrDie("TOUCHLINE_REDIS_ADDR")), "TOUCHLINE_REDIS_ADDR");
  redis_options.timeout = absl::Seconds(10);
  const std::unique_ptr<redis::Pool> redis = OrDie(redis::Pool::Create(redis_options), "Redis");

  const std::vector<EventEnvelope> envelopes = Envelopes(count, tenants);
  std::printf("audit_append_bench: %d envelopes over %d tenants\n", count, tenants);
  const double before = Measure({"per-event/read-64", false, 64}, dsn, *redis, envelopes, tenants);
  const double one = Measure({"batched/1", true, 1}, dsn, *redis, envelopes, tenants);
  const double batched = Measure({absl::StrCat("batched/", batch_size), true, batch_size}, dsn,
                                 *redis, envelopes, tenants);
  std::printf("batched/%d vs per-event/read-64: %.1fx; vs batched/1: %.1fx\n", batch_size,
              batched / before, batched / one);
  return 0;
}
