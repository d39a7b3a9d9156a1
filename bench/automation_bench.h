// For the automation engine benchmarks (automation_timers, automation_webhooks): the rule engine
// in-process on PostgreSQL as the service's host migrates it, with the real rule, task and
// endpoint stores, a webhook sender that may reach loopback, and a clock the benchmark can move
// forward. Failures end the program (these are programs, not tests).
#ifndef TOUCHLINE_BENCH_AUTOMATION_BENCH_H_
#define TOUCHLINE_BENCH_AUTOMATION_BENCH_H_

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <pqxx/pqxx>
#include <pqxx/stream_to>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/bench_ids.h"
#include "common/config/common_flags.h"
#include "common/events/outbox.h"
#include "common/paging/page_token.h"
#include "common/pg/pool.h"
#include "services/automation/endpoints/endpoint_manager.h"
#include "services/automation/endpoints/pg_endpoint_store.h"
#include "services/automation/endpoints/secret_box.h"
#include "services/automation/engine/engine.h"
#include "services/automation/engine/testing/fake_delegation.h"
#include "services/automation/rules/pg_rule_store.h"
#include "services/automation/rules/rule_manager.h"
#include "services/automation/tasks/pg_task_store.h"
#include "services/automation/tasks/task_change.h"
#include "services/automation/tasks/testing/callers.h"
#include "services/automation/tasks/testing/pg_schema.h"
#include "touchline/events/v1/touchpoint_events.pb.h"

namespace touchline::bench {

[[noreturn]] inline void Die(const std::string& what) {
  std::fprintf(stderr, "%s\n", what.c_str());
  std::exit(1);
}

inline void Check(const absl::Status& status, const std::string& what) {
  if (!status.ok()) Die(absl::StrCat(what, ": ", status.ToString()));
}

// --pg_dsn (the services' common flag), else $TOUCHLINE_PG_DSN.
inline std::string AutomationPgDsn() {
  std::string dsn = absl::GetFlag(FLAGS_pg_dsn);
  if (dsn.empty() && std::getenv("TOUCHLINE_PG_DSN") != nullptr) {
    dsn = std::getenv("TOUCHLINE_PG_DSN");
  }
  if (dsn.empty()) Die("--pg_dsn or TOUCHLINE_PG_DSN is required");
  return dsn;
}

// Milliseconds, for the reports.
inline double Ms(absl::Duration d) { return absl::ToDoubleMilliseconds(d); }

// The p-th percentile (0-100) of `samples`, sorted in place.
inline absl::Duration Percentile(std::vector<absl::Duration>& samples, double p) {
  if (samples.empty()) return absl::ZeroDuration();
  std::sort(samples.begin(), samples.end());
  const size_t i = std::min(samples.size() - 1, static_cast<size_t>(p / 100 * samples.size()));
  return samples[i];
}

// The engine and its parts on a fresh automation schema.
class AutomationBench {
 public:
  static constexpr char kTenant[] = "acme";

  // Drops `schema`, migrates it as the host does, and opens a pool of `pool_size` on it (no
  // statement timeout: seeding and FireInactivity's reads over 1M rows take longer than the
  // service's 5 s only when the machine is very busy, and a benchmark should not fail on it).
  AutomationBench(const std::string& dsn, const std::string& schema, int pool_size,
                  automation::EngineOptions options)
      : dsn_(dsn), schema_(schema) {
    {
      pqxx::connection conn(dsn);
      pqxx::work txn(conn);
      txn.exec(absl::StrCat("DROP SCHEMA IF EXISTS ", txn.quote_name(schema), " CASCADE"));
      txn.commit();
    }
    // MigratedPool's own pool (two connections) only migrates; the engine gets a larger one.
    absl::StatusOr<std::unique_ptr<pg::Pool>> migrated =
        automation::testing::MigratedPool(dsn, schema);
    Check(migrated.status(), "migrating the automation schema");
    pg::PoolOptions pool_options;
    pool_options.dsn = dsn;
    pool_options.search_path = schema;
    pool_options.size = pool_size;
    pool_options.acquire_timeout = absl::Seconds(30);
    pool_options.statement_timeout = absl::ZeroDuration();
    absl::StatusOr<std::unique_ptr<pg::Pool>> pool = pg::Pool::Create(pool_options);
    Check(pool.status(), "opening the pool");
    pool_ = *std::move(pool);
    absl::StatusOr<paging::PageTokens> tokens = paging::PageTokens::Load(*pool_);
    Check(tokens.status(), "page tokens");
    tokens_.emplace(*std::move(tokens));
    rules_ = std::make_unique<automation::PgRuleStore>(pool_.get(), [] {});
    rule_manager_ = std::make_unique<automation::RuleManager>(
        rules_.get(), &*tokens_, [this] { return Now(); },
        [](const auth::RequestContext&,
           const std::string&) -> absl::StatusOr<automation::FieldValues> {
          return absl::NotFoundError("no previews in the benchmark");
        });
    tasks_ = std::make_unique<automation::PgTaskStore>(pool_.get(), [] {});
    endpoints_ = std::make_unique<automation::PgEndpointStore>(pool_.get(), &box_, [] {});
    automation::WebhookSenderOptions sender_options;
    sender_options.allow_private_addresses = true;
    sender_ = std::make_unique<automation::WebhookSender>(sender_options);
    // Rules act for their owner as the running service does, with an administrator's scope
    // (no field policies) and without the round trips to permissions the service makes once
    // per owner and minute.
    actions_ = std::make_unique<automation::ActionRunner>(tasks_.get(), endpoints_.get(),
                                                          sender_.get(), &delegation_);
    engine_ = std::make_unique<automation::Engine>(
        automation::EngineParts{pool_.get(), rules_.get(), actions_.get(),
                                [this] { return Now(); }},
        std::move(options));
  }

  // The engine's clock: the real time plus what Advance added.
  absl::Time Now() const {
    return absl::Now() + absl::Microseconds(offset_micros_.load(std::memory_order_relaxed));
  }
  void Advance(absl::Duration d) {
    offset_micros_.fetch_add(absl::ToInt64Microseconds(d), std::memory_order_relaxed);
  }

  // Creates and publishes `rule` as the tenant's administrator; its id.
  std::string Publish(automation::v1::Rule rule) {
    const auth::RequestContext admin = automation::testing::Admin(kTenant);
    automation::v1::CreateRuleRequest create;
    *create.mutable_rule() = std::move(rule);
    absl::StatusOr<automation::v1::CreateRuleResponse> created =
        rule_manager_->CreateRule(admin, create);
    Check(created.status(), "CreateRule");
    automation::v1::PublishRuleRequest publish;
    publish.set_rule_id(created->rule().rule_id());
    Check(rule_manager_->PublishRule(admin, publish).status(), "PublishRule");
    return created->rule().rule_id();
  }

  // A webhook endpoint at `url` taking up to `per_second` requests a second; its id, and its
  // signing secret in `*secret`.
  std::string Endpoint(const std::string& url, int per_second, std::string* secret) {
    // The receiver is on loopback: allowed as --webhook_allow_private_addresses allows it.
    automation::EndpointManager manager(endpoints_.get(), &*tokens_, [this] { return Now(); },
                                        /*allow_private_addresses=*/true);
    automation::v1::CreateWebhookEndpointRequest request;
    request.mutable_endpoint()->set_display_name("bench receiver");
    request.mutable_endpoint()->set_url(url);
    request.mutable_endpoint()->set_max_attempts(3);
    request.mutable_endpoint()->set_rate_limit_per_second(per_second);
    absl::StatusOr<automation::v1::CreateWebhookEndpointResponse> created =
        manager.CreateWebhookEndpoint(automation::testing::Admin(kTenant), request);
    Check(created.status(), "CreateWebhookEndpoint");
    *secret = created->secret();
    return created->endpoint().endpoint_id();
  }

  // The integer `sql` reads (one row, one column), on a connection of its own.
  int64_t Count(const std::string& sql) {
    int64_t n = 0;
    Check(pool_->Query([&](pqxx::nontransaction& txn) {
      n = txn.exec(sql)[0][0].as<int64_t>();
      return absl::OkStatus();
    }),
          sql);
    return n;
  }

  // A connection on the schema, for COPY.
  std::unique_ptr<pqxx::connection> Connect() const {
    auto conn = std::make_unique<pqxx::connection>(dsn_);
    pqxx::nontransaction(*conn).exec(
        absl::StrCat("SET search_path TO ", conn->quote_name(schema_)));
    return conn;
  }

  // Customers 0 to n-1 (bench_ids.h) in the read model, COPYed in `txn`: state 1 (active),
  // owner u-<i % 200>, region 华南, level 1 to 4.
  static void CopyCustomers(pqxx::work& txn, int64_t n) {
    pqxx::stream_to copy(txn, "customers",
                         std::vector<std::string>{"tenant_id", "customer_id", "state", "owner_id",
                                                  "region", "level", "version"});
    for (int64_t i = 0; i < n; ++i) {
      copy << std::make_tuple(std::string(kTenant), CustomerId(i), 1, absl::StrCat("u-", i % 200),
                              std::string("华南"), 1 + i % 4, 1);
    }
    copy.complete();
  }

  // The TouchpointRecorded event of `touchpoint` (recorded by u-1), of the tenant, occurred at
  // the touchpoint's occur_time.
  static events::v1::EventEnvelope RecordedEvent(const touchpoints::v1::Touchpoint& touchpoint) {
    events::v1::TouchpointRecorded recorded;
    *recorded.mutable_touchpoint() = touchpoint;
    events::v1::EventEnvelope event =
        events::MakeEnvelope(recorded, kTenant, "touchpoint", touchpoint.customer_id(), "", "u-1");
    *event.mutable_occur_time() = touchpoint.occur_time();
    return event;
  }

  pg::Pool& pool() { return *pool_; }
  automation::Engine& engine() { return *engine_; }
  automation::WebhookSender& sender() { return *sender_; }
  const std::string& schema() const { return schema_; }

 private:
  const std::string dsn_;
  const std::string schema_;
  std::atomic<int64_t> offset_micros_{0};
  automation::SecretBox box_ =
      *automation::SecretBox::FromKey(std::string(automation::kSecretKeyBytes, 'k'));
  std::unique_ptr<pg::Pool> pool_;
  std::optional<paging::PageTokens> tokens_;
  std::unique_ptr<automation::PgRuleStore> rules_;
  std::unique_ptr<automation::RuleManager> rule_manager_;
  std::unique_ptr<automation::PgTaskStore> tasks_;
  std::unique_ptr<automation::PgEndpointStore> endpoints_;
  std::unique_ptr<automation::WebhookSender> sender_;
  automation::testing::FakeDelegation delegation_;
  std::unique_ptr<automation::ActionRunner> actions_;
  std::unique_ptr<automation::Engine> engine_;
};

}  // namespace touchline::bench

#endif  // TOUCHLINE_BENCH_AUTOMATION_BENCH_H_
