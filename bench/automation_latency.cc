// automation_latency: event-to-action latency of the automation service (issue 15), for
// bench/run_automation_latency_bench.sh.
//
// Setup, as the administrator whose token is --token: --customers customers through contacts
// (owned by the administrator), once the touchpoints and automation read models hold them all;
// a webhook endpoint whose url is a receiver inside this program on 127.0.0.1 (the automation
// service must run with --webhook_allow_private_addresses), at the highest rate limit an
// endpoint may have; and a published rule: on touchpoint_recorded, create_task for the
// customer's owner titled "{{touchpoint.summary}}", then a webhook with the payload
// {"s": "{{touchpoint.summary}}"}. A probe touchpoint, sent again every 2 s, must come out as a
// webhook before the load starts (the engine's copy of the published rules may be a second
// old, and a touchpoint it applies before it sees the rule starts no run).
//
// Load: RecordTouchpoint open loop at --rate per second for --duration, round robin over the
// customers, each touchpoint with a summary of its own (its token), while the automation
// service's gRPC health Check runs closed loop beside it (the same-run baseline: the round
// trip of a call with no work behind it, on the same busy machine).
//
// Latencies from each RecordTouchpoint call's start: to the receipt of its webhook here
// (matched by the token in the body) and to its task's create_time (automation.tasks, the
// rule's tasks with title = token, read from PostgreSQL once every task and webhook came or
// --drain_timeout passed). create_time is the engine's clock when it made the task, a few
// milliseconds before the task's transaction commits. Two stages before the task come with it:
// when the touchpoints consumer enqueued the run's job, and when a worker recorded the run.
// Prints p50/p99/max of each, the target p99 for the task and the webhook, and the counts:
// every touchpoint recorded must give exactly one task and one webhook id (a webhook received
// twice with the same id is a redelivery, with two ids a duplicate action). Exits 3 when a count
// is off, a call failed or a signature did not verify.
#include <google/protobuf/util/time_util.h>
#include <grpcpp/grpcpp.h>
#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <pqxx/pqxx>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/closed_loop.h"
#include "common/pg/sql_time.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "nlohmann/json.hpp"
#include "services/automation/webhooks/signing.h"
#include "touchline/automation/v1/automation_service.grpc.pb.h"
#include "touchline/contacts/v1/contacts_service.grpc.pb.h"
#include "touchline/touchpoints/v1/touchpoints_service.grpc.pb.h"

ABSL_FLAG(std::string, contacts, "", "Address of the contacts service");
ABSL_FLAG(std::string, touchpoints, "", "Address of the touchpoints service");
ABSL_FLAG(std::string, automation, "", "Address of the automation service");
ABSL_FLAG(std::string, tenant, "bench", "Tenant (the token's)");
ABSL_FLAG(std::string, token, "", "The administrator's access token");
ABSL_FLAG(std::string, pg_dsn, "", "The database of touchpoints and automation");
ABSL_FLAG(std::string, touchpoints_schema, "touchpoints", "Schema of the touchpoints service");
ABSL_FLAG(std::string, automation_schema, "automation", "Schema of the automation service");
ABSL_FLAG(int, customers, 200, "Customers created, the touchpoints going round robin over them");
ABSL_FLAG(double, rate, 167, "Touchpoints recorded per second (10,000 a minute: 167)");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(120), "How long the touchpoints are recorded");
ABSL_FLAG(int, health_in_flight, 1, "Health Check calls in flight during the load");
ABSL_FLAG(absl::Duration, ready_timeout, absl::Seconds(120),
          "How long the read models may take to learn the customers, and the probe to arrive");
ABSL_FLAG(absl::Duration, drain_timeout, absl::Seconds(120),
          "How long after the last call the last tasks and webhooks may take to come");
ABSL_FLAG(absl::Duration, target_p99, absl::Seconds(1), "The target p99 of both latencies");

namespace touchline::bench {
namespace {

namespace av1 = ::touchline::automation::v1;
namespace cv1 = ::touchline::contacts::v1;
namespace tv1 = ::touchline::touchpoints::v1;
using grpc::health::v1::Health;

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "automation_latency: %s\n", what.c_str());
  std::exit(1);
}

// Owns the request, response and context of one asynchronous call.
template <typename Request, typename Response>
struct Call {
  grpc::ClientContext context;
  Request request;
  Response response;
};

void Authorize(grpc::ClientContext& context, absl::Duration timeout) {
  context.AddMetadata("x-touchline-tenant", absl::GetFlag(FLAGS_tenant));
  context.AddMetadata("authorization", "Bearer " + absl::GetFlag(FLAGS_token));
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
}

// One webhook as it arrived: when, its headers and its body.
struct Delivery {
  absl::Time time;
  std::string id;
  std::string timestamp;
  std::string signature;
  std::string body;
};

// The endpoint's far side: keeps every POST to /hook with the time it arrived and answers
// 204, counting those whose body holds `load_prefix` (the load's, not the probes'). Signatures
// are checked afterwards (Verify), so that a request costs the receiver no more than its copy.
class Receiver {
 public:
  explicit Receiver(std::string load_prefix) : load_prefix_(std::move(load_prefix)) {
    server_.Post("/hook", [this](const httplib::Request& req, httplib::Response& res) {
      Delivery delivery{absl::Now(), req.get_header_value("webhook-id"),
                        req.get_header_value("webhook-timestamp"),
                        req.get_header_value("webhook-signature"), req.body};
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (absl::StrContains(delivery.body, load_prefix_)) ++load_count_;
        deliveries_.push_back(std::move(delivery));
      }
      res.status = 204;
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    if (port_ <= 0) Die("the webhook receiver could not bind to 127.0.0.1");
    listener_ = std::thread([this] { server_.listen_after_bind(); });
    for (int i = 0; i < 500 && !server_.is_running(); ++i) absl::SleepFor(absl::Milliseconds(2));
  }
  ~Receiver() {
    server_.stop();
    listener_.join();
  }
  Receiver(const Receiver&) = delete;
  Receiver& operator=(const Receiver&) = delete;

  std::string Url() const { return absl::StrCat("http://127.0.0.1:", port_, "/hook"); }
  std::vector<Delivery> deliveries() {
    std::lock_guard<std::mutex> lock(mu_);
    return deliveries_;
  }
  size_t count() {
    std::lock_guard<std::mutex> lock(mu_);
    return deliveries_.size();
  }
  int64_t load_count() {
    std::lock_guard<std::mutex> lock(mu_);
    return load_count_;
  }

 private:
  const std::string load_prefix_;
  httplib::Server server_;
  int port_ = -1;
  std::thread listener_;
  std::mutex mu_;
  std::vector<Delivery> deliveries_;
  int64_t load_count_ = 0;
};

// The token a webhook's body {"s": "<token>"} carries; empty when it has none.
std::string TokenOf(const std::string& body) {
  const nlohmann::json json = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object() || !json.contains("s") || !json["s"].is_string()) return "";
  return json["s"].get<std::string>();
}

// `sorted` at quantile q, in milliseconds (0 when empty).
double At(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  return sorted[std::min(sorted.size() - 1, static_cast<size_t>(sorted.size() * q))];
}

// One latency row; with the target p99 when `target_ms` > 0.
void PrintLatency(const char* what, std::vector<double> ms, double target_ms) {
  std::sort(ms.begin(), ms.end());
  const double p99 = At(ms, 0.99);
  std::printf("%-30s %8zu %9.1f %9.1f %9.1f", what, ms.size(), At(ms, 0.5), p99,
              ms.empty() ? 0.0 : ms.back());
  if (target_ms > 0) {
    std::printf("   target p99 < %.0f ms: %s", target_ms,
                ms.empty()        ? "NO DATA"
                : p99 < target_ms ? "met"
                                  : "MISSED");
  }
  std::printf("\n");
}

// Creates `count` customers owned by the caller; their ids.
std::vector<std::string> CreateCustomers(cv1::ContactsService::Stub& contacts, int count,
                                         const std::string& run) {
  std::vector<std::string> ids;
  for (int i = 0; i < count; ++i) {
    grpc::ClientContext context;
    Authorize(context, absl::Seconds(30));
    cv1::CreateCustomerRequest request;
    cv1::Customer& c = *request.mutable_customer();
    c.set_kind(cv1::CUSTOMER_KIND_ORGANIZATION);
    c.set_display_name(absl::StrCat("自动化压测客户", i, "有限公司"));
    c.set_region("华东");
    c.set_level(cv1::CUSTOMER_LEVEL_KEY);
    request.set_request_id(absl::StrCat(run, "-c", i));
    cv1::CreateCustomerResponse response;
    const grpc::Status status = contacts.CreateCustomer(&context, request, &response);
    if (!status.ok()) Die("CreateCustomer: " + status.error_message());
    ids.push_back(response.customer().customer_id());
  }
  return ids;
}

// Waits until `schema`.customers (a service's customer read model) holds every one of `ids`.
void AwaitReadModel(pqxx::connection& conn, const std::string& schema,
                    const std::vector<std::string>& ids) {
  const std::string sql = absl::StrCat("SELECT count(*) FROM ", conn.quote_name(schema),
                                       ".customers WHERE tenant_id = $1 AND customer_id = "
                                       "ANY($2::uuid[])");
  const std::string array = absl::StrCat("{", absl::StrJoin(ids, ","), "}");
  const absl::Time deadline = absl::Now() + absl::GetFlag(FLAGS_ready_timeout);
  while (true) {
    pqxx::nontransaction txn(conn);
    const auto known = txn.exec_params1(sql, absl::GetFlag(FLAGS_tenant), array)[0].as<int64_t>();
    if (known == static_cast<int64_t>(ids.size())) return;
    if (absl::Now() > deadline) {
      Die(absl::StrCat(schema, ".customers holds ", known, " of the ", ids.size(),
                       " customers after --ready_timeout"));
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
}

// The webhook endpoint pointing at `url`; its secret into `secret`.
std::string CreateEndpoint(av1::AutomationService::Stub& automation, const std::string& url,
                           const std::string& run, std::string* secret) {
  grpc::ClientContext context;
  Authorize(context, absl::Seconds(30));
  av1::CreateWebhookEndpointRequest request;
  av1::WebhookEndpoint& endpoint = *request.mutable_endpoint();
  endpoint.set_display_name("延迟压测接收端");
  endpoint.set_url(url);
  // The most an endpoint may take: the default (10/s) would queue the load's 167/s.
  endpoint.set_rate_limit_per_second(1000);
  request.set_request_id(run + "-endpoint");
  av1::CreateWebhookEndpointResponse response;
  const grpc::Status status = automation.CreateWebhookEndpoint(&context, request, &response);
  if (!status.ok()) Die("CreateWebhookEndpoint: " + status.error_message());
  *secret = response.secret();
  return response.endpoint().endpoint_id();
}

// Creates and publishes the rule; its id.
std::string PublishRule(av1::AutomationService::Stub& automation, const std::string& endpoint_id,
                        const std::string& run) {
  av1::CreateRuleRequest create;
  av1::Rule& rule = *create.mutable_rule();
  rule.set_display_name("每次沟通：建任务并通知 ERP");
  rule.mutable_trigger()->mutable_touchpoint_recorded();
  av1::Action& task = *rule.add_actions();
  task.set_action_id("task");
  task.mutable_create_task()->mutable_assignee()->set_owner(true);
  task.mutable_create_task()->mutable_due_in()->set_seconds(24 * 3600);
  task.mutable_create_task()->set_title_template("{{touchpoint.summary}}");
  av1::Action& hook = *rule.add_actions();
  hook.set_action_id("hook");
  hook.mutable_webhook()->set_endpoint_id(endpoint_id);
  hook.mutable_webhook()->set_payload_template(R"({"s": "{{touchpoint.summary}}"})");
  create.set_request_id(run + "-rule");
  av1::CreateRuleResponse created;
  {
    grpc::ClientContext context;
    Authorize(context, absl::Seconds(30));
    const grpc::Status status = automation.CreateRule(&context, create, &created);
    if (!status.ok()) Die("CreateRule: " + status.error_message());
  }
  av1::PublishRuleRequest publish;
  publish.set_rule_id(created.rule().rule_id());
  av1::PublishRuleResponse published;
  grpc::ClientContext context;
  Authorize(context, absl::Seconds(30));
  const grpc::Status status = automation.PublishRule(&context, publish, &published);
  if (!status.ok()) Die("PublishRule: " + status.error_message());
  if (published.rule().state() != av1::RULE_STATE_PUBLISHED) Die("the rule is not published");
  return published.rule().rule_id();
}

// A touchpoint of `customer` happening now whose summary (and request id) is `token`.
void FillTouchpoint(tv1::RecordTouchpointRequest& request, const std::string& customer,
                    const std::string& token) {
  tv1::Touchpoint& t = *request.mutable_touchpoint();
  t.set_customer_id(customer);
  *t.mutable_occur_time() =
      google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(absl::Now()));
  t.set_channel(tv1::CHANNEL_PHONE);
  t.set_direction(tv1::DIRECTION_OUTBOUND);
  t.set_category(tv1::CATEGORY_SALES);
  t.set_subject("回访");
  t.set_summary(token);
  request.set_request_id(token);
}

// One RecordTouchpoint of the load: when it started and ended, and how it went.
struct Sample {
  absl::Time start;
  absl::Time end;
  bool ok = false;
};

int Main() {
  for (const auto& flag :
       {absl::GetFlag(FLAGS_contacts), absl::GetFlag(FLAGS_touchpoints),
        absl::GetFlag(FLAGS_automation), absl::GetFlag(FLAGS_token), absl::GetFlag(FLAGS_pg_dsn)}) {
    if (flag.empty()) Die("--contacts, --touchpoints, --automation, --token and --pg_dsn");
  }
  const double rate = absl::GetFlag(FLAGS_rate);
  const absl::Duration duration = absl::GetFlag(FLAGS_duration);
  const int customer_count = absl::GetFlag(FLAGS_customers);
  if (rate <= 0 || duration <= absl::ZeroDuration() || customer_count < 1) {
    Die("need --rate > 0, --duration > 0 and --customers >= 1");
  }
  const int64_t total = static_cast<int64_t>(rate * absl::ToDoubleSeconds(duration));
  const std::string run = std::to_string(absl::ToUnixMicros(absl::Now()));
  const std::string prefix = absl::StrCat("latency-", run, "-");

  // RecordTouchpoint waits for no reconnect backoff of a second or more.
  grpc::ChannelArguments channel_args;
  channel_args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 50);
  channel_args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 50);
  channel_args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 200);
  const auto channel = [&](const std::string& target) {
    return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), channel_args);
  };
  const auto contacts = cv1::ContactsService::NewStub(channel(absl::GetFlag(FLAGS_contacts)));
  const auto touchpoints =
      tv1::TouchpointsService::NewStub(channel(absl::GetFlag(FLAGS_touchpoints)));
  const auto automation_channel = channel(absl::GetFlag(FLAGS_automation));
  const auto automation = av1::AutomationService::NewStub(automation_channel);
  const auto health = Health::NewStub(automation_channel);
  pqxx::connection conn(absl::GetFlag(FLAGS_pg_dsn));

  // Setup.
  Receiver receiver(prefix);
  const std::vector<std::string> customers = CreateCustomers(*contacts, customer_count, run);
  AwaitReadModel(conn, absl::GetFlag(FLAGS_touchpoints_schema), customers);
  AwaitReadModel(conn, absl::GetFlag(FLAGS_automation_schema), customers);
  std::string secret;
  const std::string endpoint_id = CreateEndpoint(*automation, receiver.Url(), run, &secret);
  const std::string rule_id = PublishRule(*automation, endpoint_id, run);
  const std::string probe_prefix = absl::StrCat("probe-", run, "-");
  const absl::Time ready_deadline = absl::Now() + absl::GetFlag(FLAGS_ready_timeout);
  int probes = 0;
  for (absl::Time next_probe = absl::Now(); receiver.count() == 0;) {
    if (absl::Now() > ready_deadline) {
      Die(absl::StrCat(probes,
                       " probe touchpoints gave no webhook within --ready_timeout (is "
                       "the engine running, and --webhook_allow_private_addresses set?)"));
    }
    if (absl::Now() >= next_probe) {
      grpc::ClientContext context;
      Authorize(context, absl::Seconds(30));
      tv1::RecordTouchpointRequest request;
      FillTouchpoint(request, customers[0], absl::StrCat(probe_prefix, probes++));
      tv1::RecordTouchpointResponse response;
      const grpc::Status status = touchpoints->RecordTouchpoint(&context, request, &response);
      if (!status.ok()) Die("RecordTouchpoint (a probe): " + status.error_message());
      next_probe = absl::Now() + absl::Seconds(2);
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  std::printf(
      "rule %s (create_task, then webhook to endpoint %s) published; a webhook came "
      "after %d probe touchpoints\n",
      rule_id.c_str(), endpoint_id.c_str(), probes);

  // The load, with the health Check beside it.
  std::vector<Sample> samples(total);
  std::mutex mu;
  std::condition_variable cv;
  int64_t completed = 0;
  std::map<grpc::StatusCode, std::pair<long, std::string>> failures;
  Row health_row;
  std::thread health_thread([&] {
    health_row = RunClosedLoop(HealthCheck(health.get()), absl::GetFlag(FLAGS_health_in_flight),
                               absl::ZeroDuration(), duration);
  });
  const absl::Duration interval = absl::Seconds(1) / rate;
  const absl::Time begin = absl::Now();
  absl::Duration lag_max;
  for (int64_t i = 0; i < total; ++i) {
    const absl::Time due = begin + interval * i;
    absl::SleepFor(due - absl::Now());
    auto* call = new Call<tv1::RecordTouchpointRequest, tv1::RecordTouchpointResponse>();
    Authorize(call->context, absl::Seconds(60));
    FillTouchpoint(call->request, customers[i % customers.size()], absl::StrCat(prefix, i));
    Sample& sample = samples[i];
    sample.start = absl::Now();
    lag_max = std::max(lag_max, sample.start - due);
    touchpoints->async()->RecordTouchpoint(
        &call->context, &call->request, &call->response,
        [call, &sample, &mu, &cv, &completed, &failures](grpc::Status status) {
          sample.end = absl::Now();
          sample.ok = status.ok();
          delete call;
          std::lock_guard<std::mutex> lock(mu);
          if (!status.ok()) {
            auto& kind = failures[status.error_code()];
            if (kind.first++ == 0) kind.second = status.error_message();
          }
          ++completed;
          cv.notify_all();
        });
  }
  const absl::Time sent_all = absl::Now();
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return completed == total; });
  }
  health_thread.join();
  int64_t recorded = 0;
  for (const Sample& sample : samples) recorded += sample.ok ? 1 : 0;

  // Until every recorded touchpoint has its task and its webhook, or --drain_timeout.
  // With each task, the stages before it: when the touchpoints consumer enqueued the run's job
  // (its key as the engine makes it: run/<rule>/<version>/<event id>) and when a worker
  // recorded the run; -1 where that job or run is not found.
  const std::string schema = conn.quote_name(absl::GetFlag(FLAGS_automation_schema));
  const std::string tasks_sql = absl::StrCat(
      "SELECT t.title, ", TL_PG_TO_MICROS("t.create_time"), ", coalesce(",
      TL_PG_TO_MICROS("j.create_time"), ", -1), coalesce(", TL_PG_TO_MICROS("r.create_time"),
      ", -1) FROM ", schema, ".tasks t LEFT JOIN ", schema,
      ".rule_runs r ON r.tenant_id = t.tenant_id AND r.run_id::text = t.run_id LEFT JOIN ", schema,
      ".jobs j ON j.tenant_id = t.tenant_id AND j.key = 'run/' || r.rule_id || '/' || "
      "r.rule_version || '/' || r.cause WHERE t.tenant_id = $1 AND t.title LIKE $2 AND "
      "t.rule_id = $3");
  const std::string count_sql =
      absl::StrCat("SELECT count(*) FROM ", conn.quote_name(absl::GetFlag(FLAGS_automation_schema)),
                   ".tasks WHERE tenant_id = $1 AND title LIKE $2 AND rule_id = $3");
  const absl::Time drain_deadline = absl::Now() + absl::GetFlag(FLAGS_drain_timeout);
  while (absl::Now() < drain_deadline) {
    pqxx::nontransaction txn(conn);
    const auto tasks =
        txn.exec_params1(count_sql, absl::GetFlag(FLAGS_tenant), prefix + "%", rule_id)[0]
            .as<int64_t>();
    if (tasks >= recorded && receiver.load_count() >= recorded) {
      break;
    }
    absl::SleepFor(absl::Milliseconds(200));
  }
  // Stragglers beyond the counts (duplicates) get a moment more to show.
  absl::SleepFor(absl::Seconds(1));
  const absl::Time drained = absl::Now();

  // Matching by token.
  std::map<std::string, int64_t> index;
  for (int64_t i = 0; i < total; ++i) index[absl::StrCat(prefix, i)] = i;
  std::vector<std::vector<absl::Time>> task_times(total);
  // Of the first task of each touchpoint: its run's job enqueued, the run recorded.
  std::vector<std::pair<int64_t, int64_t>> stages(total, {-1, -1});
  int64_t foreign_tasks = 0;
  {
    pqxx::nontransaction txn(conn);
    for (const pqxx::row& row :
         txn.exec_params(tasks_sql, absl::GetFlag(FLAGS_tenant), prefix + "%", rule_id)) {
      const auto it = index.find(row[0].as<std::string>());
      if (it == index.end()) {
        ++foreign_tasks;
        continue;
      }
      if (task_times[it->second].empty())
        stages[it->second] = {row[2].as<int64_t>(), row[3].as<int64_t>()};
      task_times[it->second].push_back(absl::FromUnixMicros(row[1].as<int64_t>()));
    }
  }
  std::vector<std::map<std::string, std::vector<absl::Time>>> hooks(total);  // id -> receipts
  int64_t foreign_hooks = 0, unverified = 0;
  std::string first_unverified;
  const std::vector<Delivery> deliveries = receiver.deliveries();
  for (const Delivery& d : deliveries) {
    const absl::Status verified =
        automation::Verify({d.id, d.timestamp, d.signature}, d.body, {secret}, d.time);
    if (!verified.ok() && unverified++ == 0) first_unverified = verified.ToString();
    const std::string token = TokenOf(d.body);
    const auto it = index.find(token);
    if (it == index.end()) {
      if (!absl::StartsWith(token, probe_prefix)) ++foreign_hooks;
      continue;
    }
    hooks[it->second][d.id].push_back(d.time);
  }

  std::vector<double> record_ms, enqueued_ms, run_ms, task_ms, hook_ms;
  int64_t task_missing = 0, task_duplicates = 0, hook_missing = 0, hook_duplicates = 0,
          redeliveries = 0, from_failed_calls = 0;
  for (int64_t i = 0; i < total; ++i) {
    const Sample& s = samples[i];
    if (!s.ok) {
      // A call that failed may still have recorded its touchpoint (a deadline after commit).
      if (!task_times[i].empty() || !hooks[i].empty()) ++from_failed_calls;
      continue;
    }
    record_ms.push_back(absl::ToDoubleMilliseconds(s.end - s.start));
    if (task_times[i].empty()) {
      ++task_missing;
    } else {
      task_duplicates += static_cast<int64_t>(task_times[i].size()) - 1;
      task_ms.push_back(absl::ToDoubleMilliseconds(task_times[i].front() - s.start));
      const auto since_start = [&](int64_t micros) {
        return absl::ToDoubleMilliseconds(absl::FromUnixMicros(micros) - s.start);
      };
      if (stages[i].first >= 0) enqueued_ms.push_back(since_start(stages[i].first));
      if (stages[i].second >= 0) run_ms.push_back(since_start(stages[i].second));
    }
    if (hooks[i].empty()) {
      ++hook_missing;
      continue;
    }
    hook_duplicates += static_cast<int64_t>(hooks[i].size()) - 1;
    absl::Time first = absl::InfiniteFuture();
    for (const auto& [id, receipts] : hooks[i]) {
      redeliveries += static_cast<int64_t>(receipts.size()) - 1;
      first = std::min(first, *std::min_element(receipts.begin(), receipts.end()));
    }
    hook_ms.push_back(absl::ToDoubleMilliseconds(first - s.start));
  }

  const double seconds = absl::ToDoubleSeconds(sent_all - begin);
  std::printf(
      "recorded %lld of %lld touchpoints in %.1f s (%.1f/s asked, %.1f/s sent; the "
      "latest call started %.1f ms after its time) over %d customers\n",
      static_cast<long long>(recorded), static_cast<long long>(total), seconds, rate,
      static_cast<double>(total) / seconds, absl::ToDoubleMilliseconds(lag_max), customer_count);
  for (const auto& [code, kind] : failures) {
    std::printf("    RecordTouchpoint failed, code %d x%ld: %s\n", static_cast<int>(code),
                kind.first, kind.second.c_str());
  }
  std::printf("drained %.1f s after the last call was sent\n",
              absl::ToDoubleSeconds(drained - sent_all));
  std::printf("\n%-30s %8s %9s %9s %9s\n", "latency from the call's start", "count", "p50_ms",
              "p99_ms", "max_ms");
  const double target_ms = absl::ToDoubleMilliseconds(absl::GetFlag(FLAGS_target_p99));
  PrintLatency("RecordTouchpoint returned", record_ms, target_ms);
  PrintLatency("  run enqueued (consumer)", enqueued_ms, 0);
  PrintLatency("  run recorded (worker)", run_ms, 0);
  PrintLatency("task created (create_time)", task_ms, target_ms);
  PrintLatency("webhook received", hook_ms, target_ms);
  std::printf(
      "%-30s %8.0f %9.3f %9.3f %9s   %d in flight, %ld errors (calls/s in the count "
      "column)\n",
      "baseline: automation health", health_row.qps, health_row.p50_ms, health_row.p99_ms, "-",
      absl::GetFlag(FLAGS_health_in_flight), health_row.errors);
  std::printf("\ntasks:    %lld of %lld, missing %lld, duplicates %lld\n",
              static_cast<long long>(task_ms.size()), static_cast<long long>(recorded),
              static_cast<long long>(task_missing), static_cast<long long>(task_duplicates));
  std::printf(
      "webhooks: %lld of %lld, missing %lld, duplicate ids %lld, redeliveries of an id "
      "%lld, signatures not verified %lld%s%s\n",
      static_cast<long long>(hook_ms.size()), static_cast<long long>(recorded),
      static_cast<long long>(hook_missing), static_cast<long long>(hook_duplicates),
      static_cast<long long>(redeliveries), static_cast<long long>(unverified),
      unverified > 0 ? ": " : "", first_unverified.c_str());
  if (from_failed_calls > 0 || foreign_tasks > 0 || foreign_hooks > 0) {
    std::printf(
        "also: %lld actions of touchpoints whose call failed, %lld tasks and %lld "
        "webhooks matching no touchpoint\n",
        static_cast<long long>(from_failed_calls), static_cast<long long>(foreign_tasks),
        static_cast<long long>(foreign_hooks));
  }
  const bool bad = recorded != total || task_missing > 0 || task_duplicates > 0 ||
                   hook_missing > 0 || hook_duplicates > 0 || unverified > 0 || foreign_tasks > 0 ||
                   foreign_hooks > 0 || health_row.errors > 0;
  std::printf("%s\n", bad ? "COUNTS OFF" : "counts ok");
  return bad ? 3 : 0;
}

}  // namespace
}  // namespace touchline::bench

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return touchline::bench::Main();
}
