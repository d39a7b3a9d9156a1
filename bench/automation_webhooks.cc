// automation_webhooks (target automation_webhooks_bench): webhook delivery through the rule engine
// against a plain loop of WebhookSender::Send, in-process on PostgreSQL with a receiver on loopback
// (httplib, answering 204 after checking each signature), for bench/run_automation_timers_bench.sh.
//
// In a fresh schema (--schema, dropped first): --customers customers in the read model, one
// webhook endpoint at the receiver (rate_limit_per_second --rate_limit, 1,000 the most the API
// takes) and one published rule: on every recorded touchpoint, a webhook to it (the default
// payload). Then:
//   1. --webhooks TouchpointRecorded events of random customers are applied through
//      Engine::ApplyTouchpoints, 128 a transaction (timed apart): one "run" job each;
//   2. Engine::Start with --workers workers, timed until every run is SUCCEEDED (recorded, its
//      webhook answered and the answer recorded), checked by the receiver: that many distinct
//      webhook-ids, every signature valid; how many action jobs had to wait for the endpoint's
//      rate limit;
//   3. the baseline: --webhooks WebhookSender::Send calls on --workers threads to the same
//      receiver, signed with the same secret, with a body as large as the engine's first.
//
//   automation_webhooks_bench --pg_dsn=... [--webhooks=20000] [--workers=16] [--rate_limit=1000]
//       [--customers=1000] [--schema=automation_webhooks]
#include <atomic>
#include <cstdio>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/automation_bench.h"
#include "bench/bench_ids.h"
#include "common/ids/ids.h"
#include "services/automation/tasks/task_change.h"
#include "services/automation/webhooks/testing/receiver.h"
#include "touchline/events/v1/touchpoint_events.pb.h"

ABSL_FLAG(int, webhooks, 20000, "Webhook actions (and plain sends)");
ABSL_FLAG(int, workers, 16,
          "Engine worker threads (the service's --engine_workers default), and the plain "
          "loop's threads");
ABSL_FLAG(int, rate_limit, 1000, "The endpoint's rate_limit_per_second (1 to 1,000)");
ABSL_FLAG(int, customers, 1000, "Customers in the read model the touchpoints are of");
ABSL_FLAG(std::string, schema, "automation_webhooks", "Schema to create (dropped first) and use");
ABSL_FLAG(absl::Duration, max_wait, absl::Minutes(30), "Give up on the workers after this");

namespace touchline::bench {
namespace {

namespace av1 = ::touchline::automation::v1;
namespace ev = ::touchline::events::v1;
namespace tv1 = ::touchline::touchpoints::v1;

constexpr int kBatch = 128;

// A TouchpointRecorded of `customer` at `at`: an inbound call.
ev::EventEnvelope Recorded(const std::string& customer, absl::Time at) {
  tv1::Touchpoint t;
  t.set_touchpoint_id(ids::NewUuid(at));
  t.set_customer_id(customer);
  t.set_channel(tv1::CHANNEL_PHONE);
  t.set_direction(tv1::DIRECTION_INBOUND);
  t.set_summary("客户来电询问发货时间");
  *t.mutable_occur_time() = automation::ToProtoTime(at);
  return AutomationBench::RecordedEvent(t);
}

int Main() {
  const std::string dsn = AutomationPgDsn();
  const int n = absl::GetFlag(FLAGS_webhooks);
  const int workers = absl::GetFlag(FLAGS_workers);
  const int rate_limit = absl::GetFlag(FLAGS_rate_limit);
  const int customers = absl::GetFlag(FLAGS_customers);
  if (n < 1 || workers < 1 || rate_limit < 1 || rate_limit > 1000 || customers < 1) {
    Die("--webhooks, --workers, --customers >= 1; 1 <= --rate_limit <= 1000");
  }
  automation::EngineOptions options;
  options.worker_id = "bench";
  options.workers = workers;
  AutomationBench bench(dsn, absl::GetFlag(FLAGS_schema), 2 * workers + 2, options);
  automation::testing::WebhookReceiver receiver([&bench] { return bench.Now(); });
  if (!receiver.running()) Die("the receiver did not start");
  std::string secret;
  const std::string endpoint_id = bench.Endpoint(receiver.Url(), rate_limit, &secret);
  receiver.SetSecrets({secret});
  av1::Rule rule;
  rule.set_display_name("来电通知 ERP");
  rule.mutable_trigger()->mutable_touchpoint_recorded();
  av1::Action& action = *rule.add_actions();
  action.set_action_id("notify");
  action.mutable_webhook()->set_endpoint_id(endpoint_id);
  const std::string rule_id = bench.Publish(rule);
  {
    const auto conn = bench.Connect();
    pqxx::work txn(*conn);
    AutomationBench::CopyCustomers(txn, customers);
    txn.commit();
  }

  // 1. The touchpoints in.
  std::mt19937_64 rng(5);
  std::uniform_int_distribution<int64_t> pick(0, customers - 1);
  absl::Time t0 = absl::Now();
  for (int done = 0; done < n; done += kBatch) {
    std::vector<ev::EventEnvelope> events;
    for (int i = done; i < std::min(n, done + kBatch); ++i) {
      events.push_back(Recorded(CustomerId(pick(rng)), bench.Now()));
    }
    std::vector<const ev::EventEnvelope*> batch;
    for (const ev::EventEnvelope& e : events) batch.push_back(&e);
    Check(bench.pool().Transact(
              [&](pqxx::work& txn) { return bench.engine().ApplyTouchpoints(txn, batch); }),
          "ApplyTouchpoints");
  }
  const absl::Duration apply_time = absl::Now() - t0;
  std::printf("rule %s: %d TouchpointRecorded applied in %.2f s (%.0f/s); endpoint limit %d/s\n",
              rule_id.c_str(), n, absl::ToDoubleSeconds(apply_time),
              n / absl::ToDoubleSeconds(apply_time), rate_limit);

  // 2. Through the engine.
  t0 = absl::Now();
  bench.engine().Start();
  int64_t succeeded = 0;
  while (succeeded < n) {
    absl::SleepFor(absl::Milliseconds(50));
    succeeded = bench.Count("SELECT count(*) FROM rule_runs WHERE state = 2");
    if (absl::Now() - t0 > absl::GetFlag(FLAGS_max_wait)) {
      bench.engine().Stop();
      Die(absl::StrCat(succeeded, " of ", n, " runs SUCCEEDED in ",
                       absl::FormatDuration(absl::GetFlag(FLAGS_max_wait))));
    }
  }
  const absl::Duration engine_time = absl::Now() - t0;
  bench.engine().Stop();
  const std::vector<automation::testing::WebhookReceiver::Received> received = receiver.received();
  int verified = 0;
  for (const auto& r : received) verified += r.verified.ok() ? 1 : 0;
  const size_t distinct = receiver.distinct_ids().size();
  const int64_t waited = bench.Count(
      "SELECT count(*) FROM jobs WHERE kind <> 'run' AND last_error LIKE 'waiting for the "
      "endpoint%'");
  const int64_t claims = bench.Count("SELECT coalesce(sum(attempts), 0) FROM jobs");
  if (distinct != static_cast<size_t>(n) || verified != static_cast<int>(received.size())) {
    Die(absl::StrCat("the receiver got ", received.size(), " requests, ", distinct,
                     " distinct ids, ", verified, " verified; expected ", n));
  }
  const size_t body_size = received.front().body.size();
  const double engine_rate = n / absl::ToDoubleSeconds(engine_time);
  std::printf(
      "engine, %d workers: %d runs SUCCEEDED in %.2f s = %.0f webhooks/s (%.0f/min); the "
      "receiver got %zu requests, %zu distinct ids, all signatures valid; body %zu bytes; %lld "
      "action jobs waited for the rate limit; %lld claims for %d runs (2 jobs a run)\n",
      workers, n, absl::ToDoubleSeconds(engine_time), engine_rate, engine_rate * 60,
      received.size(), distinct, body_size, static_cast<long long>(waited),
      static_cast<long long>(claims), n);

  // 3. The plain loop: the same number of signed requests, the same body size, as many threads.
  const std::string body(body_size, 'x');
  std::atomic<int> next{0}, failed{0};
  t0 = absl::Now();
  std::vector<std::thread> threads;
  for (int w = 0; w < workers; ++w) {
    threads.emplace_back([&] {
      for (int i = next++; i < n; i = next++) {
        automation::WebhookRequest request;
        request.url = receiver.Url();
        request.id = absl::StrCat("plain-", i);
        request.timestamp = absl::ToUnixSeconds(bench.Now());
        request.body = body;
        request.secrets = {secret};
        if (!bench.sender().Send(request).succeeded) ++failed;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  const absl::Duration plain_time = absl::Now() - t0;
  if (failed > 0) Die(absl::StrCat(failed.load(), " plain sends failed"));
  const double plain_rate = n / absl::ToDoubleSeconds(plain_time);
  std::printf("plain WebhookSender::Send, %d threads: %d in %.2f s = %.0f webhooks/s\n", workers, n,
              absl::ToDoubleSeconds(plain_time), plain_rate);
  std::printf(
      "engine / plain: %.2f of the plain rate (%.1fx slower); the rate limit's ceiling "
      "%d/s is %s\n",
      engine_rate / plain_rate, plain_rate / engine_rate, rate_limit,
      waited > 0 ? "reached (jobs waited for it)" : "not reached (no job waited)");
  std::printf("result engine_per_s %.0f\nresult plain_per_s %.0f\nresult waited %lld\n",
              engine_rate, plain_rate, static_cast<long long>(waited));
  return 0;
}

}  // namespace
}  // namespace touchline::bench

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return touchline::bench::Main();
}
